//! Secrets: tokens come from an environment variable or the OS keyring,
//! never from the config file. A `Secret` never prints itself.

use crate::config::SecretRef;
use std::fmt;

/// A token. `Debug`/`Display` print `<redacted>`; use [`Secret::expose`]
/// only where the value goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best-effort wipe of the token bytes.
        // SAFETY-free version: overwrite through a mutable String API.
        let len = self.0.len();
        self.0.clear();
        self.0.extend(std::iter::repeat_n('\0', len));
        self.0.clear();
    }
}

/// Where secrets are looked up. Tests pass their own.
pub trait SecretSource: Send + Sync {
    /// Resolve a reference; the error names where it looked, never a value.
    fn get(&self, r: &SecretRef) -> Result<Secret, String>;
}

/// The keyring service name under which sitrep stores tokens.
pub const KEYRING_SERVICE: &str = "sitrep";

/// Environment variables and the OS keyring.
#[derive(Default)]
pub struct SystemSecrets;

impl SecretSource for SystemSecrets {
    fn get(&self, r: &SecretRef) -> Result<Secret, String> {
        match r {
            SecretRef::Env(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
                Ok(_) => Err(format!("environment variable {var} is empty")),
                Err(_) => Err(format!("environment variable {var} is not set")),
            },
            SecretRef::Keyring(name) => keyring_get(name),
        }
    }
}

fn keyring_get(name: &str) -> Result<Secret, String> {
    ensure_default_store()?;
    let entry = keyring_core::Entry::new(KEYRING_SERVICE, name)
        .map_err(|e| format!("keyring entry {name:?}: {e}"))?;
    match entry.get_password() {
        Ok(p) => Ok(Secret::new(p)),
        Err(keyring_core::Error::NoEntry) => Err(format!(
            "no token in the keyring for {name:?} (run `sitrep auth set {name}`)"
        )),
        Err(e) => Err(format!("keyring lookup for {name:?} failed: {e}")),
    }
}

/// Select the credential store once: the kernel keyutils store on Linux
/// (works without D-Bus on headless machines).
pub fn ensure_default_store() -> Result<(), String> {
    use std::sync::OnceLock;
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        // A store chosen by the embedding program (tests: the mock store).
        if keyring_core::get_default_store().is_some() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            let store = linux_keyutils_keyring_store::Store::new().map_err(|e| {
                format!(
                    "the kernel keyring is not available ({e}); use token = {{ env = \"VAR\" }} instead, \
                     or allow the keyctl syscalls in your container"
                )
            })?;
            keyring_core::set_default_store(store);
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err("no OS keyring store is built in for this platform; use token = { env = \"VAR\" }".into())
        }
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("tok-ABCDEF123");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "tok-ABCDEF123");
    }

    #[test]
    fn env_secret_missing_names_the_variable() {
        let e = SystemSecrets
            .get(&SecretRef::Env("SITREP_TEST_SURELY_UNSET_VAR".into()))
            .unwrap_err();
        assert!(e.contains("SITREP_TEST_SURELY_UNSET_VAR is not set"));
    }
}
