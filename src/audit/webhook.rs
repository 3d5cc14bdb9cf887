//! `[audit] webhook`: every durable audit record is also POSTed, as the
//! exact JSON line, with `X-Sitrep-Signature: sha256=<hex HMAC-SHA256 of the
//! body>`. Delivery never blocks or undoes an action: records go to a small
//! on-disk queue (`<data dir>/webhook-queue.jsonl`) first, and each flush
//! delivers the queue in order, stopping at the first failure; what is left
//! is retried on the next flush. Delivery is at least once.
//!
//! Error texts never include the URL (webhook URLs are often secrets
//! themselves) or the signing secret.

use crate::fsutil::{LockError, lock_with_timeout};
use crate::secrets::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Sitrep-Signature";
/// The chain head after this record, `<seq> <hash>`: what a receiver saves
/// as the anchor for `sitrep audit verify --anchor` (the body itself, the
/// record, works as an anchor too).
pub const HEAD_HEADER: &str = "X-Sitrep-Head";

/// `<seq> <hash>` of an audit line, if it has both.
pub fn head_of(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        seq: u64,
        hash: String,
    }
    let h: Head = serde_json::from_str(line).ok()?;
    let hex = h.hash.len() == 64 && h.hash.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| format!("{} {}", h.seq, h.hash))
}
/// Records kept in the queue at most; the oldest are dropped beyond this
/// (they stay in the audit log itself).
pub const QUEUE_CAP: usize = 10_000;

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    match <Hmac<Sha256> as Mac>::new_from_slice(secret) {
        Ok(mut m) => {
            m.update(body);
            format!("sha256={}", hex::encode(m.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// What a flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flush {
    pub delivered: usize,
    pub pending: usize,
    /// Why delivery stopped (no URL, no secret).
    pub error: Option<String>,
}

pub struct Webhook {
    url: String,
    secret: Result<Option<Secret>, String>,
    queue: PathBuf,
    client: Result<reqwest::Client, String>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

fn open_locked(path: &Path, wait: Duration) -> Result<File, String> {
    if let Some(d) = path.parent() {
        let _ = crate::fsutil::create_private_dir_all(d);
    }
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match lock_with_timeout(&f, wait) {
        Ok(()) => Ok(f),
        Err(LockError::TimedOut) => Err(format!("{} is busy", path.display())),
        Err(LockError::Io(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

fn read_lines(f: &mut File) -> Result<Vec<String>, String> {
    let mut s = String::new();
    f.seek(SeekFrom::Start(0))
        .and_then(|_| f.read_to_string(&mut s))
        .map_err(|e| format!("cannot read the webhook queue: {e}"))?;
    // A torn last line (no newline) is dropped: its record is in the log.
    let complete = match s.rfind('\n') {
        Some(i) => &s[..i],
        None => "",
    };
    Ok(complete
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

fn write_lines(f: &mut File, lines: &[String]) -> Result<(), String> {
    let mut buf = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        buf.push_str(l);
        buf.push('\n');
    }
    f.set_len(0)
        .and_then(|_| f.seek(SeekFrom::Start(0)))
        .and_then(|_| f.write_all(buf.as_bytes()))
        .and_then(|_| f.sync_data())
        .map_err(|e| format!("cannot write the webhook queue: {e}"))
}

impl Webhook {
    /// `secret`: `Ok(None)` = unsigned; `Err` = configured but unavailable
    /// (records are queued, not delivered).
    pub fn new(url: &str, secret: Result<Option<Secret>, String>, queue: PathBuf) -> Self {
        // reqwest is built without a default TLS provider and panics without
        // one; main installs ring, this covers library users and tests.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|_| "cannot build the HTTP client for the webhook".to_string());
        Webhook {
            url: url.to_string(),
            secret,
            queue,
            client,
        }
    }

    pub fn queue_path(&self) -> &Path {
        &self.queue
    }

    /// Queue one record line (blocking; short).
    pub fn enqueue(&self, line: &str) -> Result<(), String> {
        let mut f = open_locked(&self.queue, Duration::from_secs(2))?;
        let mut lines = read_lines(&mut f)?;
        lines.push(line.to_string());
        if lines.len() > QUEUE_CAP {
            let drop = lines.len() - QUEUE_CAP;
            tracing::warn!("webhook queue full: dropping the {drop} oldest records");
            lines.drain(..drop);
        }
        let r = write_lines(&mut f, &lines);
        let _ = f.unlock();
        r
    }

    /// Deliver the queue in order. Only one flusher at a time (others
    /// return at once); stops at the first failure.
    pub async fn flush(&self) -> Flush {
        let flock_path = self.queue.with_extension("lock");
        let flock = match open_locked(&flock_path, Duration::ZERO) {
            Ok(f) => f,
            Err(_) => {
                return Flush {
                    error: Some("another sitrep is delivering the webhook queue".into()),
                    ..Flush::default()
                };
            }
        };
        let r = self.flush_locked().await;
        let _ = flock.unlock();
        r
    }

    async fn flush_locked(&self) -> Flush {
        let snapshot = match open_locked(&self.queue, Duration::from_secs(2)).and_then(|mut f| {
            let l = read_lines(&mut f);
            let _ = f.unlock();
            l
        }) {
            Ok(l) => l,
            Err(e) => {
                return Flush {
                    error: Some(e),
                    ..Flush::default()
                };
            }
        };
        let mut out = Flush::default();
        if !snapshot.is_empty() {
            match (&self.secret, &self.client) {
                (Err(e), _) => out.error = Some(format!("webhook secret unavailable: {e}")),
                (_, Err(e)) => out.error = Some(e.clone()),
                (Ok(secret), Ok(client)) => {
                    for line in &snapshot {
                        match self.post(client, secret.as_ref(), line).await {
                            Ok(()) => out.delivered += 1,
                            Err(e) => {
                                out.error = Some(e);
                                break;
                            }
                        }
                    }
                }
            }
        }
        if out.delivered > 0 {
            // Only this flusher removes lines; enqueuers only append, so the
            // first `delivered` lines are still the ones sent.
            match open_locked(&self.queue, Duration::from_secs(2)) {
                Ok(mut f) => {
                    match read_lines(&mut f) {
                        Ok(mut now) => {
                            now.drain(..out.delivered.min(now.len()));
                            out.pending = now.len();
                            if let Err(e) = write_lines(&mut f, &now) {
                                out.error.get_or_insert(e);
                            }
                        }
                        Err(e) => {
                            out.error.get_or_insert(e);
                        }
                    }
                    let _ = f.unlock();
                }
                Err(e) => {
                    out.error.get_or_insert(e);
                }
            }
        } else {
            out.pending = snapshot.len();
        }
        if let Some(e) = &out.error {
            tracing::warn!(
                "webhook: {e}; {} record(s) queued for the next delivery",
                out.pending
            );
        }
        out
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        secret: Option<&Secret>,
        line: &str,
    ) -> Result<(), String> {
        let mut req = client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(line.to_string());
        if let Some(head) = head_of(line) {
            req = req.header(HEAD_HEADER, head);
        }
        if let Some(s) = secret {
            req = req.header(
                SIGNATURE_HEADER,
                signature(s.expose().as_bytes(), line.as_bytes()),
            );
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!(
                "webhook delivery failed: HTTP {}",
                r.status().as_u16()
            )),
            Err(e) if e.is_timeout() => Err("webhook delivery failed: timed out".into()),
            Err(e) if e.is_connect() => Err("webhook delivery failed: connection failed".into()),
            Err(_) => Err("webhook delivery failed".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc4231_case_2() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn queue_keeps_order_and_drops_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("webhook-queue.jsonl");
        let w = Webhook::new("http://127.0.0.1:9/", Ok(None), q.clone());
        w.enqueue("{\"a\":1}").unwrap();
        w.enqueue("{\"a\":2}").unwrap();
        let mut f = OpenOptions::new().append(true).open(&q).unwrap();
        f.write_all(b"{\"a\":").unwrap();
        w.enqueue("{\"a\":3}").unwrap();
        assert_eq!(
            std::fs::read_to_string(&q).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"
        );
    }
}
