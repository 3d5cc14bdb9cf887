//! Who acts, from where, and the idempotency key of one write: the one
//! identity the executor records and providers put into vendor fields.

use crate::config::Config;

/// A fresh idempotency key: a random UUID v4 in its usual text form.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// This machine's host name (best effort).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}

/// `[identity] name`, else `$USER@hostname`.
pub fn default_actor(cfg: &Config, host: &str) -> String {
    match cfg.identity.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            let user = std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown".into());
            format!("{user}@{host}")
        }
    }
}
