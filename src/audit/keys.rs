//! Signing keys: every record carries `key_id` (the hex Ed25519 public
//! key) and `sig`, an Ed25519 signature over
//! `prev + "\n" + canonical(record without hash and sig)`.
//!
//! One key per installation. Its 32-byte seed lives in the OS keyring
//! (service `sitrep`, entry `audit-signing-key`), created on first use;
//! where no keyring can be used (containers without the keyctl syscalls)
//! it lives in `<config dir>/audit-signing.key` (0600) instead, and
//! `[audit] signing_key = { env = "VAR" }` takes it from the environment
//! (base64 of the seed). The public key is written to
//! `<config dir>/audit-keys/<first 16 hex>.pub`; every key in that
//! directory is trusted by `sitrep audit verify`, with any given by
//! `--key`. See docs/AUDIT.md for what this does and does not defend.

use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The keyring entry that holds the installation's signing seed.
pub const KEYRING_ENTRY: &str = "audit-signing-key";
/// The file that holds the seed where no keyring can be used.
pub const KEY_FILE: &str = "audit-signing.key";
/// The directory of trusted public keys, in the config dir.
pub const PUBLIC_DIR: &str = "audit-keys";

/// A signing key.
pub struct AuditKey {
    pair: Ed25519KeyPair,
    id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey").field("id", &self.id).finish()
    }
}

impl AuditKey {
    pub fn from_seed(seed: &[u8; 32]) -> Result<AuditKey, String> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| "the audit signing seed is not a valid Ed25519 seed".to_string())?;
        let id = hex::encode(pair.public_key().as_ref());
        Ok(AuditKey { pair, id })
    }

    /// A fresh key from the OS's CSPRNG.
    pub fn generate() -> Result<(AuditKey, [u8; 32]), String> {
        let mut seed = [0u8; 32];
        getrandom_seed(&mut seed)?;
        Ok((AuditKey::from_seed(&seed)?, seed))
    }

    /// `key_id`: the public key, 64 lowercase hex.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signature over `msg`, 128 lowercase hex.
    pub fn sign(&self, msg: &[u8]) -> String {
        hex::encode(self.pair.sign(msg).as_ref())
    }

    /// The line of a `.pub` file: `sitrep-audit-ed25519 <key_id>`.
    pub fn public_line(&self) -> String {
        format!("sitrep-audit-ed25519 {}", self.id)
    }
}

fn getrandom_seed(seed: &mut [u8; 32]) -> Result<(), String> {
    use ring::rand::{SecureRandom, SystemRandom};
    SystemRandom::new()
        .fill(seed)
        .map_err(|_| "the system random number generator failed".to_string())
}

/// A signature to check: the key it names, the signed bytes, the
/// signature, as decoded from a record.
pub struct SigCheck {
    key: ed25519_zebra::VerificationKeyBytes,
    sig: ed25519_zebra::Signature,
    msg: Vec<u8>,
}

impl SigCheck {
    /// `None` when `key_id` (64 hex) or `sig` (128 hex) is not hex of the
    /// right length.
    pub fn new(key_id: &str, msg: Vec<u8>, sig: &str) -> Option<Self> {
        let mut key = [0u8; 32];
        let mut s = [0u8; 64];
        hex::decode_to_slice(key_id, &mut key).ok()?;
        hex::decode_to_slice(sig, &mut s).ok()?;
        Some(SigCheck {
            key: key.into(),
            sig: ed25519_zebra::Signature::from(s),
            msg,
        })
    }

    /// Does the signature verify?
    pub fn verify(&self) -> bool {
        ed25519_zebra::VerificationKey::try_from(self.key)
            .is_ok_and(|k| k.verify(&self.sig, &self.msg).is_ok())
    }
}

/// Do all of `checks` verify? One batch (the terms of one key summed), a
/// few times faster than one by one for a log's records; accepts exactly
/// what [`SigCheck::verify`] accepts of each (ZIP 215 rules for both).
/// `false` says some failed, not which: check those one by one.
pub fn verify_all(checks: &[SigCheck]) -> bool {
    match checks {
        [] => true,
        [one] => one.verify(),
        _ => {
            let mut batch = ed25519_zebra::batch::Verifier::new();
            for c in checks {
                batch.queue((c.key, c.sig, c.msg.as_slice()));
            }
            // 16 random bytes a signature (its 128-bit coefficient).
            let mut rng = Drawn::new(checks.len() * 16);
            let ok = batch.verify(&mut rng).is_ok();
            if rng.failed {
                // No randomness: the batch proved nothing. One by one.
                return checks.iter().all(SigCheck::verify);
            }
            ok
        }
    }
}

/// The batch's random coefficients, read from the OS's random source in
/// one call for the whole batch (`OsRng` makes a system call for each,
/// 100,000 of them for a log of 100,000 records). If the source fails,
/// `failed` is set and the batch's verdict must not be used.
struct Drawn {
    buf: Vec<u8>,
    at: usize,
    failed: bool,
}

impl Drawn {
    fn new(bytes: usize) -> Self {
        let mut d = Drawn {
            buf: vec![0; bytes.max(16)],
            at: 0,
            failed: false,
        };
        d.refill();
        d
    }

    fn refill(&mut self) {
        use rand_core::RngCore;
        self.at = 0;
        if rand_core::OsRng.try_fill_bytes(&mut self.buf).is_err() {
            self.failed = true;
        }
    }
}

impl rand_core::RngCore for Drawn {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            if self.at == self.buf.len() {
                self.refill();
            }
            *b = self.buf[self.at];
            self.at += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The bytes are the OS's random source's, used once each.
impl rand_core::CryptoRng for Drawn {}

/// Does `sig` (128 hex) verify `msg` under `key_id` (64 hex)?
pub fn verify_sig(key_id: &str, msg: &[u8], sig: &str) -> bool {
    SigCheck::new(key_id, msg.to_vec(), sig).is_some_and(|c| c.verify())
}

/// The short form of a key id shown to people (and the `.pub` file name).
pub fn short_id(key_id: &str) -> &str {
    key_id.get(..16).unwrap_or(key_id)
}

/// The public keys `audit verify` trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    keys: BTreeSet<String>,
}

impl TrustedKeys {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, key_id: &str) -> Self {
        self.keys.insert(key_id.to_ascii_lowercase());
        self
    }

    pub fn contains(&self, key_id: &str) -> bool {
        self.keys.contains(key_id)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Add the keys of one `.pub` file (lines `sitrep-audit-ed25519 <hex>`,
    /// or a bare 64-hex key; `#` comments and blank lines skipped).
    pub fn add_file(&mut self, path: &Path) -> Result<usize, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the public key {}: {e}", path.display()))?;
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = line
                .strip_prefix("sitrep-audit-ed25519")
                .map(str::trim)
                .unwrap_or(line);
            let key = key.split_whitespace().next().unwrap_or("");
            if !is_key_hex(key) {
                return Err(format!(
                    "{}:{}: not a sitrep audit public key (expected `sitrep-audit-ed25519 <64 hex>`)",
                    path.display(),
                    i + 1
                ));
            }
            self.keys.insert(key.to_ascii_lowercase());
            n += 1;
        }
        Ok(n)
    }

    /// Every `*.pub` file in `dir` (a missing directory holds none).
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, String> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pub"))
            .collect();
        crate::order::sort(&mut files);
        let mut n = 0;
        for f in files {
            n += self.add_file(&f)?;
        }
        Ok(n)
    }
}

fn is_key_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where the installation's key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// This OS keyring entry (default [`KEYRING_ENTRY`]), falling back to
    /// `<config dir>/audit-signing.key` where no keyring can be used.
    Keyring(String),
    /// Base64 of the 32-byte seed in this environment variable.
    Env(String),
}

/// Where a key was found, for `sitrep audit key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    Keyring(String),
    File(PathBuf),
    Env(String),
    /// A key made for this process only (tests, `--demo`).
    Ephemeral,
}

impl Default for KeySource {
    fn default() -> Self {
        KeySource::Keyring(KEYRING_ENTRY.into())
    }
}

impl KeySource {
    /// From `[audit] signing_key` (unset: the default keyring entry).
    pub fn from_config(r: Option<&crate::config::SecretRef>) -> KeySource {
        match r {
            None => KeySource::default(),
            Some(crate::config::SecretRef::Env(v)) => KeySource::Env(v.clone()),
            Some(crate::config::SecretRef::Keyring(n)) => KeySource::Keyring(n.clone()),
        }
    }
}

impl std::fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyOrigin::Keyring(entry) => write!(
                f,
                "OS keyring (service {}, entry {entry})",
                crate::secrets::KEYRING_SERVICE
            ),
            KeyOrigin::File(p) => write!(f, "file {} (no OS keyring available)", p.display()),
            KeyOrigin::Env(v) => write!(f, "environment variable {v}"),
            KeyOrigin::Ephemeral => f.write_str("this process only"),
        }
    }
}

/// A loaded key and what loading it did.
#[derive(Clone, Debug)]
pub struct LoadedKey {
    pub key: Arc<AuditKey>,
    pub origin: KeyOrigin,
    /// Things a person should know (a key created, a keyring that lost its
    /// key).
    pub notes: Vec<String>,
}

/// Signs records: holds the key, loaded on the first append (reading the
/// keyring costs time, and read-only use never needs it).
#[derive(Clone)]
pub struct Signer(Arc<SignerInner>);

struct SignerInner {
    spec: Spec,
    loaded: OnceLock<Result<LoadedKey, String>>,
}

enum Spec {
    Fixed,
    Installation {
        source: KeySource,
        config_dir: PathBuf,
    },
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer")
    }
}

impl Signer {
    /// A key of this process only: tests and the demo.
    pub fn ephemeral() -> Signer {
        let loaded = AuditKey::generate().map(|(k, _)| LoadedKey {
            key: Arc::new(k),
            origin: KeyOrigin::Ephemeral,
            notes: Vec::new(),
        });
        Signer(Arc::new(SignerInner {
            spec: Spec::Fixed,
            loaded: OnceLock::from(loaded),
        }))
    }

    /// Sign with this key.
    pub fn fixed(key: AuditKey) -> Signer {
        Signer(Arc::new(SignerInner {
            spec: Spec::Fixed,
            loaded: OnceLock::from(Ok(LoadedKey {
                key: Arc::new(key),
                origin: KeyOrigin::Ephemeral,
                notes: Vec::new(),
            })),
        }))
    }

    /// The installation's key, from `source`, its public key kept in
    /// `<config_dir>/audit-keys/`.
    pub fn installation(source: KeySource, config_dir: &Path) -> Signer {
        Signer(Arc::new(SignerInner {
            spec: Spec::Installation {
                source,
                config_dir: config_dir.to_path_buf(),
            },
            loaded: OnceLock::new(),
        }))
    }

    /// The keys a log written by this signer is verified against: the
    /// `.pub` files of the installation (read now, so a key created since
    /// is included), or this signer's own key.
    pub fn trust(&self) -> Result<TrustedKeys, String> {
        match &self.0.spec {
            Spec::Installation { config_dir, .. } => installation_trust(config_dir),
            Spec::Fixed => Ok(match self.key() {
                Ok(k) => TrustedKeys::new().with(k.key.id()),
                Err(_) => TrustedKeys::new(),
            }),
        }
    }

    /// The key, loading (or creating) it on first use.
    pub fn key(&self) -> Result<&LoadedKey, String> {
        self.0
            .loaded
            .get_or_init(|| match &self.0.spec {
                Spec::Fixed => Err("no signing key".into()),
                Spec::Installation { source, config_dir } => {
                    load_installation_key(source, config_dir)
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn decode_seed(b64: &str, whence: &str) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| format!("{whence} does not hold a base64 audit signing seed"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{whence} does not hold a 32-byte audit signing seed"))
}

fn encode_seed(seed: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(seed)
}

/// Load the installation's key, creating it if there is none, and make sure
/// its public key is in `<config_dir>/audit-keys/`.
pub fn load_installation_key(source: &KeySource, config_dir: &Path) -> Result<LoadedKey, String> {
    let mut notes = Vec::new();
    let (key, origin) = match source {
        KeySource::Env(var) => {
            let v = std::env::var(var).map_err(|_| {
                format!(
                    "[audit] signing_key: environment variable {var} is not set (it holds the base64 seed of the audit signing key)"
                )
            })?;
            let seed = decode_seed(&v, &format!("environment variable {var}"))?;
            (AuditKey::from_seed(&seed)?, KeyOrigin::Env(var.clone()))
        }
        KeySource::Keyring(entry) => match keyring_seed(entry) {
            Ok(Some(seed)) => (
                AuditKey::from_seed(&seed)?,
                KeyOrigin::Keyring(entry.clone()),
            ),
            Ok(None) => {
                let (key, seed) = AuditKey::generate()?;
                keyring_store(entry, &seed)?;
                notes.push(created_note(&key, config_dir, "in the OS keyring"));
                (key, KeyOrigin::Keyring(entry.clone()))
            }
            Err(why) => {
                let path = config_dir.join(KEY_FILE);
                let (key, created) = file_key(&path)?;
                if created {
                    notes.push(created_note(
                        &key,
                        config_dir,
                        &format!("in {} ({why})", path.display()),
                    ));
                }
                (key, KeyOrigin::File(path))
            }
        },
    };
    publish(&key, config_dir)?;
    for n in &notes {
        tracing::warn!("{n}");
    }
    Ok(LoadedKey {
        key: Arc::new(key),
        origin,
        notes,
    })
}

fn created_note(key: &AuditKey, config_dir: &Path, where_: &str) -> String {
    let mut others = TrustedKeys::new();
    let _ = others.add_dir(&config_dir.join(PUBLIC_DIR));
    let mut s = format!(
        "created the audit signing key {} {where_}",
        short_id(key.id())
    );
    if !others.is_empty() {
        s.push_str(&format!(
            "; {} earlier key(s) stay trusted for the records they signed (a keyring that lost its key, e.g. after a reboot)",
            others.len()
        ));
    }
    s
}

fn keyring_entry(name: &str) -> Result<keyring_core::Entry, String> {
    crate::secrets::ensure_default_store()?;
    keyring_core::Entry::new(crate::secrets::KEYRING_SERVICE, name)
        .map_err(|e| format!("keyring entry {name}: {e}"))
}

/// `Ok(None)`: the keyring works and has no key. `Err`: no usable keyring.
fn keyring_seed(name: &str) -> Result<Option<[u8; 32]>, String> {
    let entry = keyring_entry(name)?;
    match entry.get_password() {
        Ok(p) => decode_seed(&p, &format!("the keyring entry {name}")).map(Some),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(format!("the OS keyring cannot be used: {e}")),
    }
}

fn keyring_store(name: &str, seed: &[u8; 32]) -> Result<(), String> {
    keyring_entry(name)?
        .set_password(&encode_seed(seed))
        .map_err(|e| format!("cannot store the audit signing key in the OS keyring: {e}"))
}

/// Read the seed file, or create it (0600, exclusively: two processes
/// starting at once agree on one key).
fn file_key(path: &Path) -> Result<(AuditKey, bool), String> {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let seed = decode_seed(&s, &path.display().to_string())?;
            return Ok((AuditKey::from_seed(&seed)?, false));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    if let Some(dir) = path.parent() {
        crate::fsutil::create_private_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let (key, seed) = AuditKey::generate()?;
    let tmp = path.with_extension(format!("key.{}.tmp", std::process::id()));
    crate::fsutil::write_atomic(&tmp, format!("{}\n", encode_seed(&seed)).as_bytes(), 0o600)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    // Link, not rename: the first process to get there wins, the others
    // read its key.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok((key, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => file_key(path),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

/// Write the key's `.pub` file if it is not there.
fn publish(key: &AuditKey, config_dir: &Path) -> Result<(), String> {
    let dir = config_dir.join(PUBLIC_DIR);
    let path = dir.join(format!("{}.pub", short_id(key.id())));
    let mut have = TrustedKeys::new();
    if path.exists() && have.add_file(&path).is_ok() && have.contains(key.id()) {
        return Ok(());
    }
    crate::fsutil::create_private_dir_all(&dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    crate::fsutil::write_atomic(&path, format!("{}\n", key.public_line()).as_bytes(), 0o644)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The keys `audit verify` trusts: every `.pub` in `<config_dir>/audit-keys/`.
pub fn installation_trust(config_dir: &Path) -> Result<TrustedKeys, String> {
    let mut t = TrustedKeys::new();
    t.add_dir(&config_dir.join(PUBLIC_DIR))?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let (k, seed) = AuditKey::generate().unwrap();
        let sig = k.sign(b"hello");
        assert_eq!(sig.len(), 128);
        assert!(verify_sig(k.id(), b"hello", &sig));
        assert!(!verify_sig(k.id(), b"hellp", &sig));
        let again = AuditKey::from_seed(&seed).unwrap();
        assert_eq!(again.id(), k.id());
        let (other, _) = AuditKey::generate().unwrap();
        assert!(!verify_sig(other.id(), b"hello", &sig));
        assert!(!verify_sig("zz", b"hello", &sig));
    }

    /// A batch verifies only when every signature in it does, whichever
    /// one is forged, with the coefficients drawn for the whole batch.
    #[test]
    fn a_batch_fails_for_any_one_forged_signature() {
        let (k, _) = AuditKey::generate().unwrap();
        let checks = |forged: Option<usize>| -> Vec<SigCheck> {
            (0..40)
                .map(|i| {
                    let msg = format!("record {i}").into_bytes();
                    let sig = k.sign(if forged == Some(i) { b"other" } else { &msg });
                    SigCheck::new(k.id(), msg, &sig).unwrap()
                })
                .collect()
        };
        assert!(verify_all(&checks(None)));
        for i in [0, 17, 39] {
            assert!(!verify_all(&checks(Some(i))), "forged {i}");
        }
    }

    /// The coefficients are fresh bytes: a draw past the first buffer
    /// refills it rather than repeating it.
    #[test]
    fn drawn_bytes_do_not_repeat_across_refills() {
        use rand_core::RngCore;
        let mut d = Drawn::new(32);
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        d.fill_bytes(&mut a);
        d.fill_bytes(&mut b);
        assert!(!d.failed);
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }

    #[test]
    fn the_file_key_is_private_created_once_and_published() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let (a, created) = file_key(&path).unwrap();
        assert!(created);
        let (b, created) = file_key(&path).unwrap();
        assert!(!created);
        assert_eq!(a.id(), b.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        publish(&a, dir.path()).unwrap();
        let t = installation_trust(dir.path()).unwrap();
        assert!(t.contains(a.id()));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_bad_public_key_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pub");
        std::fs::write(&p, "# mine\nsitrep-audit-ed25519 abc\n").unwrap();
        let e = TrustedKeys::new().add_file(&p).unwrap_err();
        assert!(e.contains("x.pub:2:"), "{e}");
    }

    #[test]
    fn an_env_seed_is_checked() {
        let e = decode_seed("not base64!", "environment variable K").unwrap_err();
        assert!(e.contains("environment variable K"), "{e}");
        let e = decode_seed("AAAA", "environment variable K").unwrap_err();
        assert!(e.contains("32-byte"), "{e}");
    }
}
