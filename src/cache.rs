//! The offline cache: each provider's last good snapshot, one JSON file per
//! provider under `<data dir>/cache/`. Shown at start (marked stale) until
//! fresh data arrives. A corrupt or foreign file is ignored with a warning,
//! never trusted; every string read back is sanitized again by `SafeText`.

use crate::model::{Fetched, Time};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    provider: String,
    kind: String,
    fetched_at: Time,
    data: Fetched,
}

/// [`Entry`] as written: the same fields in the same order, borrowed (no
/// copy of the data just to serialize it).
#[derive(Serialize)]
struct EntryRef<'a> {
    format: u32,
    provider: &'a str,
    kind: &'a str,
    fetched_at: Time,
    data: &'a Fetched,
}

impl<'a> EntryRef<'a> {
    fn new(provider: &'a str, kind: &'a str, fetched_at: Time, data: &'a Fetched) -> Self {
        EntryRef {
            format: FORMAT,
            provider,
            kind,
            fetched_at,
            data,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

/// SHA-256 of a cache file's bytes.
pub type Digest = [u8; 32];

/// What the cache held for a provider.
#[derive(Debug)]
pub struct Cached {
    pub fetched_at: Time,
    pub data: Fetched,
}

impl Cache {
    pub fn new(data_dir: &Path) -> Self {
        Cache {
            dir: data_dir.join("cache"),
        }
    }

    fn file(&self, provider: &str) -> PathBuf {
        // Provider names are validated ([A-Za-z0-9._-]); keep it safe anyway.
        let safe: String = provider
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// Load a provider's cache. `Err` carries a warning to show (corrupt,
    /// foreign); `Ok(None)` = nothing cached.
    pub fn load(&self, provider: &str, kind: &str) -> Result<Option<Cached>, String> {
        Ok(self.read(provider, kind)?.map(|(c, _)| c))
    }

    /// [`Cache::load`] that hands what it read to `take` as soon as it is
    /// decoded, then returns its time and the digest of the file as read:
    /// the same as [`Cache::digest`] of what it holds, so that a fresh
    /// fetch can tell whether writing it would change the file.
    pub fn load_then_digest(
        &self,
        provider: &str,
        kind: &str,
        take: impl FnOnce(Cached),
    ) -> Result<Option<(Time, Digest)>, String> {
        use sha2::Digest as _;
        let Some((cached, bytes)) = self.read(provider, kind)? else {
            return Ok(None);
        };
        let at = cached.fetched_at;
        take(cached);
        Ok(Some((at, sha2::Sha256::digest(&bytes).into())))
    }

    /// The cache of `provider` and the file's bytes.
    fn read(&self, provider: &str, kind: &str) -> Result<Option<(Cached, Vec<u8>)>, String> {
        let path = self.file(provider);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cache {}: {e}", path.display())),
        };
        if bytes.len() > 64 * 1024 * 1024 {
            return Err(format!("cache {} is too large; ignored", path.display()));
        }
        let e: Entry = serde_json::from_slice(&bytes)
            .map_err(|e| format!("cache {} is corrupt ({e}); ignored", path.display()))?;
        if e.format != FORMAT || e.provider != provider || e.kind != kind {
            return Err(format!(
                "cache {} belongs to another provider or version; ignored",
                path.display()
            ));
        }
        Ok(Some((
            Cached {
                fetched_at: e.fetched_at,
                data: e.data,
            },
            bytes,
        )))
    }

    /// The digest of the file [`Cache::store`] would write (SHA-256 of its
    /// bytes), made without writing it. `None` if it cannot be encoded.
    pub fn digest(provider: &str, kind: &str, fetched_at: Time, data: &Fetched) -> Option<Digest> {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        let entry = EntryRef::new(provider, kind, fetched_at, data);
        serde_json::to_writer(std::io::BufWriter::with_capacity(64 * 1024, &mut h), &entry).ok()?;
        Some(h.finalize().into())
    }

    /// Write atomically ([`crate::fsutil::write_atomic_with`]: temp file, fsync,
    /// rename, fsync of the directory; owner-only permissions). Errors are
    /// returned for logging; a failed cache write never fails a fetch.
    pub fn store(
        &self,
        provider: &str,
        kind: &str,
        fetched_at: Time,
        data: &Fetched,
    ) -> std::io::Result<()> {
        crate::fsutil::create_private_dir_all(&self.dir)?;
        let entry = EntryRef::new(provider, kind, fetched_at, data);
        // Serialized straight into the file: the JSON of 5,000 incidents is
        // never held whole (it is the size of the answer printed beside it).
        crate::fsutil::write_atomic_with(&self.file(provider), 0o600, |w| {
            serde_json::to_writer(w, &entry).map_err(std::io::Error::other)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::text::SafeText;

    #[test]
    fn roundtrip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::new(dir.path());
        assert!(c.load("pd", "pagerduty").unwrap().is_none());
        let mut f = Fetched::default();
        f.oncall.push(OnCall {
            provider: SafeText::line("pd"),
            policy: SafeText::line("p"),
            level: 1,
            user: SafeText::line("u"),
            until: None,
        });
        let at = chrono::Utc::now();
        c.store("pd", "pagerduty", at, &f).unwrap();
        let got = c.load("pd", "pagerduty").unwrap().unwrap();
        assert_eq!(got.data, f);
        assert!(
            c.load("pd", "opsgenie").is_err(),
            "foreign kind must be refused"
        );
        std::fs::write(dir.path().join("cache/pd.json"), b"{\"format\":1,\"prov").unwrap();
        let e = c.load("pd", "pagerduty").unwrap_err();
        assert!(e.contains("corrupt"), "{e}");
    }

    #[test]
    fn cached_strings_are_sanitized_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cache")).unwrap();
        std::fs::write(
            dir.path().join("cache/pd.json"),
            r#"{"format":1,"provider":"pd","kind":"pagerduty","fetched_at":"2026-11-22T03:00:00Z","data":{"oncall":[{"provider":"pd","policy":"\u001b]0;evil\u0007P","level":1,"user":"u","until":null}]}}"#,
        )
        .unwrap();
        let got = Cache::new(dir.path())
            .load("pd", "pagerduty")
            .unwrap()
            .unwrap();
        assert_eq!(got.data.oncall[0].policy.as_str(), "P");
    }
}
