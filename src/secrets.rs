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

/// The forms a secret takes on the wire or in an echo of a request: as it
/// is, percent-encoded (URL and form encoding), and base64 (standard and
/// URL-safe alphabets, at each of the three alignments a secret can have
/// inside a longer encoded text, e.g. `Basic base64(user:secret)`).
/// Secrets shorter than 4 bytes are not looked for (they would match
/// everywhere).
pub fn secret_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    if secret.len() < 4 {
        return Vec::new();
    }
    let mut v = vec![secret.to_string()];
    let pct = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    v.push(pct.clone());
    v.push(pct.replace("%20", "+"));
    // Lower-case hex escapes (some encoders emit them).
    v.push(
        pct.split('%')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 || part.len() < 2 {
                    part.to_string()
                } else {
                    format!("{}{}", part[..2].to_ascii_lowercase(), &part[2..])
                }
            })
            .collect::<Vec<_>>()
            .join("%"),
    );
    let b = secret.as_bytes();
    for skip in 0..3usize {
        let rest = &b[skip.min(b.len())..];
        let whole = rest.len() / 3 * 3;
        if whole >= 3 {
            v.push(STANDARD_NO_PAD.encode(&rest[..whole]));
            v.push(URL_SAFE_NO_PAD.encode(&rest[..whole]));
        }
    }
    crate::order::sort(&mut v);
    v.dedup();
    // Longest first, so a form is never half replaced by a shorter one.
    crate::order::sort_by_key(&mut v, |s| std::cmp::Reverse(s.len()));
    v.retain(|s| s.len() >= 4);
    v
}

/// `text` with every form of every secret ([`secret_forms`]) replaced by
/// `<redacted>`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        for f in secret_forms(s) {
            if out.contains(&f) {
                out = out.replace(&f, "<redacted>");
            }
        }
    }
    out
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

    /// A token echoed back URL-encoded, form-encoded or inside a base64
    /// `Basic` header is redacted like the token itself.
    #[test]
    fn encoded_forms_of_a_secret_are_redacted() {
        use base64::Engine as _;
        let tok = "s3cr3t/t0k+en=value with space";
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let url = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        for prefix in ["", "u:", "ab:", "abc:"] {
            let echoed = format!(
                "Authorization: Basic {} and ?token={} and form token={} raw {tok}",
                b64(&format!("{prefix}{tok}")),
                url(tok),
                url(tok).replace("%20", "+"),
            );
            let r = redact(&echoed, &[tok]);
            assert!(!r.contains(tok), "{r}");
            assert!(!r.contains(&url(tok)), "{r}");
            // No run of the base64 text long enough to decode to the token
            // is left: the encoded token is gone.
            let basic = r
                .split("Basic ")
                .nth(1)
                .and_then(|x| x.split(" and").next())
                .unwrap_or("");
            let left = basic.replace("<redacted>", "").len();
            assert!(
                basic.contains("<redacted>") && left <= 12,
                "prefix {prefix:?}: {r}"
            );
            assert!(r.matches("<redacted>").count() >= 4, "{r}");
        }
        // Short secrets are not looked for.
        assert_eq!(redact("abc", &["abc"]), "abc");
    }

    #[test]
    fn env_secret_missing_names_the_variable() {
        let e = SystemSecrets
            .get(&SecretRef::Env("SITREP_TEST_SURELY_UNSET_VAR".into()))
            .unwrap_err();
        assert!(e.contains("SITREP_TEST_SURELY_UNSET_VAR is not set"));
    }
}
