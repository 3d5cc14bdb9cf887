//! Verifying the chain: each line on its own (JSON object, schema,
//! canonical form, its own hash), then `prev` and `seq` against the line
//! before it. [`Verifier`] streams; [`verify`] checks a whole file.

use super::canonical::canonical_top;
use super::io_err;
use super::record::ZERO_HASH;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Why a line does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakKind {
    /// The file does not end with a newline: an interrupted write.
    Torn,
    /// Not a JSON object.
    Json,
    /// A required field is missing or of the wrong type.
    Schema,
    /// A floating-point number.
    Float,
    /// Valid JSON, but not the canonical (sorted, compact) form.
    NotCanonical,
    /// `hash` does not match the record.
    Hash,
    /// `prev` is not the previous record's `hash`.
    Prev,
    /// `seq` is not the previous `seq` + 1.
    Seq,
}

/// The first broken line of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// 1-based line number.
    pub line: u64,
    pub kind: BreakKind,
    pub reason: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Broken(Broken),
}

/// A log that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub records: u64,
    /// `hash` of the last record (64 zeros for an empty log).
    pub head: String,
    pub last_seq: u64,
}

pub(super) struct Checked {
    pub(super) seq: u64,
    prev: String,
    pub(super) hash: String,
}

pub(super) struct LineBreak {
    kind: BreakKind,
    pub(super) reason: String,
}

fn lb(kind: BreakKind, reason: impl Into<String>) -> LineBreak {
    LineBreak {
        kind,
        reason: reason.into(),
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Check one line on its own: JSON object, schema, canonical form, its own
/// hash. `scratch` is reused across lines.
pub(super) fn check_line(line: &[u8], scratch: &mut Vec<u8>) -> Result<Checked, LineBreak> {
    let mut v: Value = serde_json::from_slice(line)
        .map_err(|e| lb(BreakKind::Json, format!("not valid JSON ({e})")))?;
    let Value::Object(m) = &mut v else {
        return Err(lb(BreakKind::Json, "not a JSON object"));
    };
    for (key, ok) in [
        ("action", m.get("action").is_some_and(Value::is_string)),
        ("actor", m.get("actor").is_some_and(Value::is_string)),
        ("detail", m.contains_key("detail")),
        ("host", m.get("host").is_some_and(Value::is_string)),
        ("outcome", m.get("outcome").is_some_and(Value::is_string)),
        ("phase", m.get("phase").is_some_and(Value::is_string)),
        ("reason", m.get("reason").is_some_and(Value::is_string)),
        ("target", m.get("target").is_some_and(Value::is_string)),
        ("ts", m.get("ts").is_some_and(Value::is_string)),
        (
            "idempotency_key",
            m.get("idempotency_key")
                .is_some_and(|v| v.is_null() || v.is_string()),
        ),
        (
            "incident",
            m.get("incident")
                .is_some_and(|v| v.is_null() || v.is_string()),
        ),
        (
            "provider",
            m.get("provider")
                .is_some_and(|v| v.is_null() || v.is_string()),
        ),
        (
            "runbook",
            m.get("runbook")
                .is_some_and(|v| v.is_null() || v.is_object()),
        ),
    ] {
        if !ok {
            return Err(lb(
                BreakKind::Schema,
                format!("field {key:?} is missing or has the wrong type"),
            ));
        }
    }
    let seq = m.get("seq").and_then(Value::as_u64).ok_or_else(|| {
        lb(
            BreakKind::Schema,
            "field \"seq\" is missing or not an integer",
        )
    })?;
    let prev = match m.get("prev") {
        Some(Value::String(s)) if is_hex64(s) => s.clone(),
        _ => {
            return Err(lb(
                BreakKind::Schema,
                "field \"prev\" is not 64 lowercase hex",
            ));
        }
    };
    let hash = match m.get("hash") {
        Some(Value::String(s)) if is_hex64(s) => s.clone(),
        _ => {
            return Err(lb(
                BreakKind::Schema,
                "field \"hash\" is not 64 lowercase hex",
            ));
        }
    };
    scratch.clear();
    let member = canonical_top(&v, scratch)
        .map_err(|_| lb(BreakKind::Float, "holds a floating-point number"))?;
    if scratch.as_slice() != line {
        return Err(lb(
            BreakKind::NotCanonical,
            "not in canonical form (sorted keys, compact, minimal escapes)",
        ));
    }
    // The line is canonical, so the record without `hash` is the line with
    // the `hash` member cut out: no second serialization.
    let Some((a, b)) = member else {
        return Err(lb(BreakKind::Schema, "field \"hash\" is missing"));
    };
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(&line[..a]);
    h.update(&line[b..]);
    if hex::encode(h.finalize()) != hash {
        return Err(lb(
            BreakKind::Hash,
            "hash does not match the record (the line was changed)",
        ));
    }
    Ok(Checked { seq, prev, hash })
}

/// A streaming verifier: feed lines (without `\n`) in order.
pub struct Verifier {
    line: u64,
    seq: u64,
    head: String,
    scratch: Vec<u8>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    pub fn new() -> Self {
        Verifier {
            line: 0,
            seq: 0,
            head: ZERO_HASH.to_string(),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Continue after `lines` verified lines whose last record had `seq`
    /// and `head` (e.g. to verify only what was appended since the last
    /// check; the caller vouches for the prefix).
    pub fn resume(lines: u64, seq: u64, head: &str) -> Self {
        Verifier {
            line: lines,
            seq,
            head: head.to_string(),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Check the next line.
    pub fn push(&mut self, line: &[u8]) -> Result<(), Broken> {
        self.line += 1;
        let n = self.line;
        let c = check_line(line, &mut self.scratch).map_err(|b| Broken {
            line: n,
            kind: b.kind,
            reason: b.reason,
        })?;
        if c.prev != self.head {
            return Err(Broken {
                line: n,
                kind: BreakKind::Prev,
                reason: if self.line == 1 {
                    "first record's prev is not 64 zeros (records before it are missing)".into()
                } else {
                    format!(
                        "prev does not match the hash of line {} (a record was removed, inserted or reordered)",
                        n - 1
                    )
                },
            });
        }
        if c.seq != self.seq + 1 {
            return Err(Broken {
                line: n,
                kind: BreakKind::Seq,
                reason: format!(
                    "seq {} follows seq {} (expected {})",
                    c.seq,
                    self.seq,
                    self.seq + 1
                ),
            });
        }
        self.seq = c.seq;
        self.head = c.hash;
        Ok(())
    }

    /// The file ended without a newline after `fragment`.
    pub fn torn(&mut self) -> Broken {
        self.line += 1;
        Broken {
            line: self.line,
            kind: BreakKind::Torn,
            reason: "incomplete last line (an interrupted write; the next append moves it aside)"
                .into(),
        }
    }

    pub fn finish(self) -> Verified {
        Verified {
            records: self.line,
            head: self.head,
            last_seq: self.seq,
        }
    }
}

/// Verify a whole log from a reader, streaming.
pub fn verify_reader(r: impl Read) -> Result<Verified, VerifyError> {
    verify_stream(Verifier::new(), r)
}

/// Feed every line of `r` to `v`.
pub fn verify_stream(v: Verifier, r: impl Read) -> Result<Verified, VerifyError> {
    stream_counted(v, r).map(|(ok, _)| ok)
}

/// [`verify_stream`], also returning how many bytes the verified lines
/// took (newlines included).
fn stream_counted(mut v: Verifier, r: impl Read) -> Result<(Verified, u64), VerifyError> {
    let mut r = BufReader::with_capacity(256 * 1024, r);
    let mut buf = Vec::with_capacity(1024);
    let mut bytes = 0u64;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| VerifyError::Io(format!("cannot read the audit log: {e}")))?;
        if n == 0 {
            return Ok((v.finish(), bytes));
        }
        if buf.last() != Some(&b'\n') {
            return Err(VerifyError::Broken(v.torn()));
        }
        buf.pop();
        v.push(&buf).map_err(VerifyError::Broken)?;
        bytes += n as u64;
    }
}

/// Verify the log at `path`. A missing file is an empty, valid log.
pub fn verify(path: &Path) -> Result<Verified, VerifyError> {
    match File::open(path) {
        Ok(f) => verify_reader(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Verifier::new().finish()),
        Err(e) => Err(VerifyError::Io(io_err("cannot open", path, &e))),
    }
}

// ---------------------------------------------------------------------------
// Resumable verification

/// Where a verification ended, so that the next one can check only the
/// lines appended since (see [`verify_from`]). Take it from the result of
/// [`verify_from`]; it means nothing for another file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyCursor {
    /// Byte offset just past the newline of the last verified line.
    pub offset: u64,
    /// `hash` of the last verified record ([`ZERO_HASH`] for none).
    pub head: String,
    /// Records verified up to `offset`. In a verified log, line `n` holds
    /// seq `n`, so this is also the last `seq`.
    pub records: u64,
}

/// How much before the cursor is read, at first, to find the line that ends
/// there.
const ANCHOR_WINDOW: u64 = 16 * 1024;

/// Verify the log at `path`, checking only the lines after `cursor` when
/// that is safe; returns the same [`Verified`] a full [`verify`] would,
/// and the cursor for next time.
///
/// With a cursor, the line that ends at `cursor.offset` is read back and
/// must still be a well-formed record with hash `cursor.head` and seq
/// `cursor.records` (the anchor); the lines after it are then verified as
/// a continuation of the chain ([`Verifier::resume`]). Everything else is a
/// full verify from the first line:
/// - no cursor, or a cursor at offset 0;
/// - the file is now shorter than `cursor.offset` (rewritten or replaced);
/// - the anchor does not hold (the file changed before the cursor: any
///   edit that changed a length there moves the anchor line);
/// - the resumed part does not verify: the full verify then reports the
///   first broken line of the whole log, exactly as [`verify`] would.
///
/// What resume cannot see: an edit strictly before the anchor line that
/// keeps every byte length (a same-length rewrite of an earlier record's
/// text, say) leaves the anchor in place, so it is not re-checked; only a
/// full [`verify`] finds it. A missing file is an empty, valid log, as for
/// [`verify`].
pub fn verify_from(
    path: &Path,
    cursor: Option<&VerifyCursor>,
) -> Result<(Verified, VerifyCursor), VerifyError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let ok = Verifier::new().finish();
            let c = cursor_after(&ok, 0);
            return Ok((ok, c));
        }
        Err(e) => return Err(VerifyError::Io(io_err("cannot open", path, &e))),
    };
    if let Some(c) = cursor.filter(|c| c.offset > 0) {
        let len = f
            .metadata()
            .map_err(|e| VerifyError::Io(io_err("cannot stat", path, &e)))?
            .len();
        if c.offset <= len && anchor_holds(&mut f, c) {
            f.seek(SeekFrom::Start(c.offset))
                .map_err(|e| VerifyError::Io(io_err("cannot read", path, &e)))?;
            match stream_counted(Verifier::resume(c.records, c.records, &c.head), &mut f) {
                Ok((ok, n)) => {
                    let next = cursor_after(&ok, c.offset + n);
                    return Ok((ok, next));
                }
                Err(VerifyError::Broken(_)) => {}
                Err(e) => return Err(e),
            }
        }
        f.seek(SeekFrom::Start(0))
            .map_err(|e| VerifyError::Io(io_err("cannot read", path, &e)))?;
    }
    let (ok, n) = stream_counted(Verifier::new(), &mut f)?;
    let next = cursor_after(&ok, n);
    Ok((ok, next))
}

fn cursor_after(ok: &Verified, offset: u64) -> VerifyCursor {
    VerifyCursor {
        offset,
        head: ok.head.clone(),
        records: ok.records,
    }
}

/// Is the line that ends at `c.offset` still the record `c` was taken at?
/// Any read error counts as no (the caller then verifies in full and
/// reports errors itself).
fn anchor_holds(f: &mut File, c: &VerifyCursor) -> bool {
    let mut win = ANCHOR_WINDOW.min(c.offset);
    loop {
        let start = c.offset - win;
        let mut buf = vec![0u8; win as usize];
        if f.seek(SeekFrom::Start(start))
            .and_then(|_| f.read_exact(&mut buf))
            .is_err()
        {
            return false;
        }
        let Some((&b'\n', body)) = buf.split_last() else {
            return false;
        };
        let line = match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => &body[i + 1..],
            None if start == 0 => body,
            None => {
                // The line is longer than the window: read more.
                win = (win * 2).min(c.offset);
                continue;
            }
        };
        let mut scratch = Vec::new();
        return matches!(
            check_line(line, &mut scratch),
            Ok(ch) if ch.hash == c.head && ch.seq == c.records
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_error_shows_the_cause_or_the_break() {
        assert_eq!(
            VerifyError::Io("cannot read the audit log: denied".into()).to_string(),
            "cannot read the audit log: denied"
        );
        let b = Broken {
            line: 4,
            kind: BreakKind::Hash,
            reason: "hash mismatch".into(),
        };
        assert_eq!(VerifyError::Broken(b).to_string(), "line 4: hash mismatch");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// The verifier never panics on arbitrary bytes, and never
            /// accepts a non-empty log of garbage.
            #[test]
            fn verify_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
                let r = verify_reader(&bytes[..]);
                if !bytes.is_empty() {
                    prop_assert!(r.is_err());
                }
            }
        }
    }
}
