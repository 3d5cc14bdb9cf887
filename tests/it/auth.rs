//! `sitrep auth` against the keyring mock store. The default store is
//! process-global: it is set once for this test binary and the tests are
//! serialized.

use keyring_core::mock;
use sitrep::cli::actions::{auth_rm, auth_set, auth_status_text};
use sitrep::config::{self, SecretRef};
use sitrep::secrets::{KEYRING_SERVICE, SecretSource, SystemSecrets};
use std::io::Cursor;
use std::path::Path;
use std::sync::{Mutex, Once};

static INIT: Once = Once::new();
static SERIAL: Mutex<()> = Mutex::new(());

fn mock_store() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    INIT.call_once(|| keyring_core::set_default_store(mock::Store::new().unwrap()));
    g
}

const TOKEN: &str = "tok-AUTHTEST-91c2f7";

fn cfg() -> config::Config {
    config::parse(
        r#"
[[provider]]
name = "pd"
kind = "pagerduty"

[[provider]]
name = "gh"
kind = "github"
repos = ["acme/checkout"]
token = { env = "SITREP_AUTH_TEST_SURELY_UNSET" }

[[provider]]
name = "am"
kind = "alertmanager"
base_url = "http://127.0.0.1:9093"
"#,
        Path::new("config.toml"),
    )
    .unwrap()
}

fn row<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
}

#[test]
fn set_status_get_rm_round_trip() {
    let _g = mock_store();
    let before = auth_status_text(&cfg());
    assert!(row(&before, "pd").contains("keyring sitrep/pd"), "{before}");
    assert!(row(&before, "pd").ends_with("missing"), "{before}");
    assert!(row(&before, "gh").contains("env SITREP_AUTH_TEST_SURELY_UNSET"));
    assert!(row(&before, "gh").ends_with("missing"));
    assert!(row(&before, "am").ends_with("not needed"));
    let e = SystemSecrets
        .get(&SecretRef::Keyring("pd".into()))
        .unwrap_err();
    assert!(e.contains("sitrep auth set pd"), "{e}");

    // A token from a pipe: the first line, trimmed.
    assert_eq!(
        auth_set("pd", false, &mut Cursor::new(format!("{TOKEN}\n"))),
        0
    );
    let got = SystemSecrets.get(&SecretRef::Keyring("pd".into())).unwrap();
    assert_eq!(got.expose(), TOKEN);
    assert_eq!(format!("{got:?}"), "<redacted>");
    let entry = keyring_core::Entry::new(KEYRING_SERVICE, "pd").unwrap();
    assert_eq!(entry.get_password().unwrap(), TOKEN);
    let after = auth_status_text(&cfg());
    assert!(row(&after, "pd").ends_with("present"), "{after}");
    assert!(!after.contains(TOKEN));

    assert_eq!(auth_rm("pd"), 0);
    assert!(matches!(
        entry.get_password(),
        Err(keyring_core::Error::NoEntry)
    ));
    assert!(row(&auth_status_text(&cfg()), "pd").ends_with("missing"));
    // Removing again is not an error.
    assert_eq!(auth_rm("pd"), 0);
}

#[test]
fn bad_input_is_refused_and_nothing_stored() {
    let _g = mock_store();
    assert_eq!(auth_set("empty", false, &mut Cursor::new("\n")), 2);
    assert_eq!(auth_set("empty", false, &mut Cursor::new("")), 2);
    let e = keyring_core::Entry::new(KEYRING_SERVICE, "empty").unwrap();
    assert!(matches!(
        e.get_password(),
        Err(keyring_core::Error::NoEntry)
    ));
    // `@` would collide in keyutils descriptions; spaces and controls are not names.
    for bad in ["a@b", "", "a b", "x\u{1b}[2J"] {
        assert_eq!(
            auth_set(bad, false, &mut Cursor::new("tok\n")),
            2,
            "{bad:?}"
        );
        assert_eq!(auth_rm(bad), 2);
    }
}

#[test]
fn a_keyring_failure_is_a_clear_error_without_the_token() {
    let _g = mock_store();
    assert_eq!(
        auth_set("flaky", false, &mut Cursor::new(format!("{TOKEN}\n"))),
        0
    );
    let entry = keyring_core::Entry::new(KEYRING_SERVICE, "flaky").unwrap();
    let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
    cred.set_error(keyring_core::Error::PlatformFailure("dbus is down".into()));
    let e = SystemSecrets
        .get(&SecretRef::Keyring("flaky".into()))
        .unwrap_err();
    assert!(e.contains("flaky") && e.contains("failed"), "{e}");
    assert!(!e.contains(TOKEN));
    // The error was one-shot; the token is still there.
    assert_eq!(
        SystemSecrets
            .get(&SecretRef::Keyring("flaky".into()))
            .unwrap()
            .expose(),
        TOKEN
    );
    assert_eq!(auth_rm("flaky"), 0);
}

/// The audit signing key lives in the keyring, is created once, and a
/// keyring that lost it (a reboot empties the kernel keyring) gets a new
/// key while the old public key stays trusted for what it signed.
#[test]
fn the_audit_signing_key_is_kept_in_the_keyring() {
    use sitrep::audit::keys::{KEYRING_ENTRY, KeyOrigin, load_installation_key};
    use sitrep::audit::{KeySource, TrustedKeys};
    let _g = mock_store();
    let dir = tempfile::tempdir().unwrap();
    let a = load_installation_key(&KeySource::default(), dir.path()).unwrap();
    assert_eq!(a.origin, KeyOrigin::Keyring(KEYRING_ENTRY.into()));
    assert!(
        a.notes[0].contains("created the audit signing key"),
        "{:?}",
        a.notes
    );
    let entry = keyring_core::Entry::new(KEYRING_SERVICE, KEYRING_ENTRY).unwrap();
    let stored = entry.get_password().unwrap();
    assert!(
        !stored.contains(a.key.id()),
        "the keyring holds the seed, not the public key"
    );
    // No key file beside it: the keyring worked.
    assert!(!dir.path().join(sitrep::audit::keys::KEY_FILE).exists());
    let b = load_installation_key(&KeySource::default(), dir.path()).unwrap();
    assert_eq!(a.key.id(), b.key.id());
    assert!(b.notes.is_empty());
    entry.delete_credential().unwrap();
    let c = load_installation_key(&KeySource::default(), dir.path()).unwrap();
    assert_ne!(a.key.id(), c.key.id());
    assert!(
        c.notes[0].contains("1 earlier key(s) stay trusted"),
        "{:?}",
        c.notes
    );
    let mut t = TrustedKeys::new();
    t.add_dir(&dir.path().join("audit-keys")).unwrap();
    assert!(t.contains(a.key.id()) && t.contains(c.key.id()));
    entry.delete_credential().unwrap();
}
