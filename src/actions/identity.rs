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

/// `[identity] name`, else `<login>@hostname` (see [`login_name`]).
pub fn default_actor(cfg: &Config, host: &str) -> String {
    match cfg.identity.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("{}@{host}", login_name()),
    }
}

/// Who is logged in: `$USER`, `$LOGNAME`, else the password database's
/// name for this process's user (containers, cron, systemd and `sudo -i`
/// often set neither variable), else `uid<N>`, else `unknown`.
pub fn login_name() -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    env("USER")
        .or_else(|| env("LOGNAME"))
        .or_else(passwd_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The name `/etc/passwd` gives this process's real uid (`uid<N>` when it
/// has none).
#[cfg(unix)]
fn passwd_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // The owner of /proc/self is this process's uid, without unsafe code.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    Some(name_for_uid(&passwd, uid).unwrap_or_else(|| format!("uid{uid}")))
}

#[cfg(not(unix))]
fn passwd_name() -> Option<String> {
    None
}

/// The user name of `uid` in passwd(5) text.
fn name_for_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        let id: u32 = f.next()?.trim().parse().ok()?;
        (id == uid && !name.is_empty()).then(|| crate::text::SafeText::line(name).into_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_name_comes_from_the_password_database() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\ndana:x:1000:1000:Dana:/home/dana:/bin/sh\n";
        assert_eq!(name_for_uid(passwd, 1000).as_deref(), Some("dana"));
        assert_eq!(name_for_uid(passwd, 0).as_deref(), Some("root"));
        assert_eq!(name_for_uid(passwd, 42), None);
        // This process: never "unknown" on a unix machine.
        #[cfg(unix)]
        assert!(passwd_name().is_some_and(|n| !n.is_empty()));
    }
}
