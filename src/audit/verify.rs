//! Verifying the chain: each line on its own (JSON object, schema,
//! canonical form, its own hash), then `prev` and `seq` against the line
//! before it. [`Verifier`] streams; [`verify`] checks a whole file.

use super::batch::RecordIds;
use super::canonical::canonical_top;
use super::io_err;
use super::keys::{SigCheck, TrustedKeys, short_id};
use super::record::ZERO_HASH;
use super::stream::stream_counted;
use super::writer::MAX_RECORD;
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
    /// `sig` does not verify under `key_id`: changed or forged without the
    /// key.
    Signature,
    /// Unsigned, after signed records.
    Unsigned,
    /// Signed by a key that is not trusted.
    Untrusted,
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
    /// Records before the first signed one (written before signing).
    pub unsigned: u64,
    /// The keys that signed records, in the order they first did.
    pub signers: Vec<String>,
}

pub(super) struct Checked {
    pub(super) seq: u64,
    pub(super) prev: String,
    pub(super) hash: String,
    pub(super) key_id: Option<String>,
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

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_hex64(s: &str) -> bool {
    is_hex(s, 64)
}

/// Check one line on its own: JSON object, schema, canonical form, its own
/// hash and its signature. `scratch` is reused across lines.
pub(super) fn check_line(line: &[u8], scratch: &mut Vec<u8>) -> Result<Checked, LineBreak> {
    let (c, sig) = check_unsigned(line, scratch)?;
    match sig {
        Some(sig) if !sig.verify() => Err(bad_signature(&c)),
        _ => Ok(c),
    }
}

/// The break of a line whose signature does not verify.
pub(super) fn bad_signature(c: &Checked) -> LineBreak {
    lb(
        BreakKind::Signature,
        format!(
            "signature does not verify under key {} (the record was changed, or forged without the key)",
            short_id(c.key_id.as_deref().unwrap_or_default())
        ),
    )
}

/// [`check_line`] but for the signature, which is returned to be checked
/// (many at once: [`super::keys::verify_all`]).
pub(super) fn check_unsigned(
    line: &[u8],
    scratch: &mut Vec<u8>,
) -> Result<(Checked, Option<SigCheck>), LineBreak> {
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
    let signed = match (m.get("key_id"), m.get("sig")) {
        (None, None) => None,
        (Some(Value::String(k)), Some(Value::String(s))) if is_hex64(k) && is_hex(s, 128) => {
            Some((k.clone(), s.clone()))
        }
        _ => {
            return Err(lb(
                BreakKind::Schema,
                "fields \"key_id\" (64 lowercase hex) and \"sig\" (128 lowercase hex) must both be present, or neither",
            ));
        }
    };
    scratch.clear();
    let members = canonical_top(&v, scratch)
        .map_err(|_| lb(BreakKind::Float, "holds a floating-point number"))?;
    if scratch.as_slice() != line {
        return Err(lb(
            BreakKind::NotCanonical,
            "not in canonical form (sorted keys, compact, minimal escapes)",
        ));
    }
    // The line is canonical, so the record without `hash` is the line with
    // the `hash` member cut out: no second serialization.
    let Some((a, b)) = members.hash else {
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
    let (key_id, sig) = match signed {
        None => (None, None),
        Some((key_id, sig)) => {
            let (c, d) = members.sig.unwrap_or((b, b));
            let mut msg = Vec::with_capacity(prev.len() + 1 + line.len());
            msg.extend_from_slice(prev.as_bytes());
            msg.push(b'\n');
            // The record without `hash` and `sig`: `hash` sorts first.
            msg.extend_from_slice(&line[..a]);
            msg.extend_from_slice(&line[b..c]);
            msg.extend_from_slice(&line[d..]);
            // Both are hex of the right length (checked above); fail
            // closed all the same.
            let Some(check) = SigCheck::new(&key_id, msg, &sig) else {
                return Err(lb(
                    BreakKind::Schema,
                    "fields \"key_id\" and \"sig\" are not hex",
                ));
            };
            (Some(key_id), Some(check))
        }
    };
    let c = Checked {
        seq,
        prev,
        hash,
        key_id,
    };
    Ok((c, sig))
}

/// A record line checked on its own, wherever it is stored (the team's
/// shared log keeps each console's lines as written): JSON object,
/// schema, canonical form, its own hash, and its signature under the key
/// it names. `Ok((prev, hash, key_id))`, or why not.
pub fn check_record(line: &[u8]) -> Result<RecordIds, String> {
    let mut scratch = Vec::new();
    match check_line(line, &mut scratch) {
        Ok(c) => Ok((c.prev, c.hash, c.key_id)),
        Err(b) => Err(b.reason),
    }
}

/// A streaming verifier: feed lines (without `\n`) in order.
pub struct Verifier {
    line: u64,
    seq: u64,
    head: String,
    scratch: Vec<u8>,
    /// Keys whose signatures are accepted; `None`: any valid signature.
    trust: Option<TrustedKeys>,
    /// Unsigned records before the first signed one are accepted (a log
    /// begun before signing). Off, an unsigned record is an error: a
    /// whole log re-chained without signatures looks just like that.
    allow_unsigned_prefix: bool,
    /// Records before the first signed one.
    unsigned: u64,
    signed_seen: bool,
    signers: Vec<String>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// Checks every signature against the key it names, whatever the key.
    pub fn new() -> Self {
        Verifier {
            line: 0,
            seq: 0,
            head: ZERO_HASH.to_string(),
            scratch: Vec::with_capacity(1024),
            trust: None,
            allow_unsigned_prefix: true,
            unsigned: 0,
            signed_seen: false,
            signers: Vec::new(),
        }
    }

    /// Also requires every signing key to be one of `keys`.
    pub fn trusting(mut self, keys: Option<TrustedKeys>) -> Self {
        self.trust = keys;
        self
    }

    /// Whether unsigned records before the first signed one are accepted
    /// (default yes).
    pub fn allow_unsigned_prefix(mut self, yes: bool) -> Self {
        self.allow_unsigned_prefix = yes;
        self
    }

    /// Continue after `lines` verified lines whose last record had `seq`
    /// and `head` (e.g. to verify only what was appended since the last
    /// check; the caller vouches for the prefix).
    pub fn resume(lines: u64, seq: u64, head: &str) -> Self {
        Verifier {
            line: lines,
            seq,
            head: head.to_string(),
            ..Verifier::new()
        }
    }

    /// Continue after a prefix described by `c` (see [`verify_from`]).
    fn resume_at(c: &VerifyCursor) -> Self {
        Verifier {
            unsigned: c.unsigned,
            signed_seen: !c.signers.is_empty(),
            signers: c.signers.clone(),
            ..Verifier::resume(c.records, c.records, &c.head)
        }
    }

    /// Check the next line.
    pub fn push(&mut self, line: &[u8]) -> Result<(), Broken> {
        let c = check_line(line, &mut self.scratch);
        self.accept(c)
    }

    /// Take the next line's own check ([`check_line`], which needs nothing
    /// of the lines before it, so it may run elsewhere) and check it
    /// against the chain so far.
    pub(super) fn accept(&mut self, c: Result<Checked, LineBreak>) -> Result<(), Broken> {
        self.line += 1;
        let n = self.line;
        let c = c.map_err(|b| Broken {
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
        match &c.key_id {
            None if self.signed_seen => {
                return Err(Broken {
                    line: n,
                    kind: BreakKind::Unsigned,
                    reason: "record is not signed, but the records before it are (written without the key, or its signature removed)".into(),
                });
            }
            None if !self.allow_unsigned_prefix => {
                return Err(Broken {
                    line: n,
                    kind: BreakKind::Unsigned,
                    reason: "record is not signed (written before signing, or its signature stripped; if this log predates signing, pass --allow-unsigned-prefix)".into(),
                });
            }
            None => self.unsigned += 1,
            Some(k) => {
                if let Some(t) = &self.trust
                    && !t.contains(k)
                {
                    return Err(Broken {
                        line: n,
                        kind: BreakKind::Untrusted,
                        reason: format!(
                            "signed by key {}, which is not trusted here (not in the config dir's audit-keys/, nor given with --key)",
                            short_id(k)
                        ),
                    });
                }
                self.signed_seen = true;
                if !self.signers.iter().any(|s| s == k) {
                    self.signers.push(k.clone());
                }
            }
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

    /// The next line is longer than any record can be.
    pub(super) fn too_long(&mut self) -> Broken {
        self.line += 1;
        Broken {
            line: self.line,
            kind: BreakKind::Json,
            reason: format!(
                "longer than {} MiB, which no record is (not read further)",
                MAX_RECORD / (1024 * 1024)
            ),
        }
    }

    pub fn finish(self) -> Verified {
        Verified {
            records: self.line,
            head: self.head,
            last_seq: self.seq,
            unsigned: self.unsigned,
            signers: self.signers,
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

/// Verify the log at `path`: every signature must verify under the key it
/// names, whatever that key. A missing file is an empty, valid log.
pub fn verify(path: &Path) -> Result<Verified, VerifyError> {
    verify_with(path, Verifier::new())
}

/// [`verify`], also requiring every signing key to be one of `trust`
/// (`sitrep audit verify`), and every record to be signed unless
/// `allow_unsigned_prefix` (then only the records before the first signed
/// one may be unsigned).
pub fn verify_trusted(
    path: &Path,
    trust: &TrustedKeys,
    allow_unsigned_prefix: bool,
) -> Result<Verified, VerifyError> {
    let v = Verifier::new()
        .trusting(Some(trust.clone()))
        .allow_unsigned_prefix(allow_unsigned_prefix);
    verify_with(path, v)
}

fn verify_with(path: &Path, v: Verifier) -> Result<Verified, VerifyError> {
    match File::open(path) {
        Ok(f) => verify_stream(v, f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(v.finish()),
        Err(e) => Err(VerifyError::Io(io_err("cannot open", path, &e))),
    }
}

// ---------------------------------------------------------------------------
// Anchors: heads saved outside the log

/// A chain head saved somewhere the log's writer cannot reach: the output
/// of `sitrep audit head`, the last record a webhook receiver got, or its
/// `X-Sitrep-Head` value (`<seq> <hash>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
}

impl Anchor {
    /// The anchor in `text`: its last non-blank line, a JSON object with
    /// `seq` and `hash`, or `<seq> <hash>`.
    pub fn parse(text: &str) -> Result<Anchor, String> {
        let line = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .ok_or("the anchor file is empty")?;
        let (seq, hash) = if line.starts_with('{') {
            let v: Value = serde_json::from_str(line)
                .map_err(|_| "the anchor's last line is not valid JSON".to_string())?;
            (
                v.get("seq").and_then(Value::as_u64),
                v.get("hash").and_then(Value::as_str).map(str::to_string),
            )
        } else {
            let mut it = line.split_whitespace();
            (
                it.next().and_then(|s| s.parse().ok()),
                it.next().map(str::to_string),
            )
        };
        match (seq, hash) {
            (Some(seq), Some(hash)) if seq > 0 && is_hex64(&hash) => Ok(Anchor { seq, hash }),
            _ => Err(
                "the anchor's last line has no seq and hash (expected the output of `sitrep audit head`, an audit record, or `<seq> <hash>`)"
                    .into(),
            ),
        }
    }
}

/// Does the verified log at `path` still hold the anchor's record? A log
/// that ends before it was cut; a record with another hash was rewritten.
pub fn check_anchor(path: &Path, v: &Verified, a: &Anchor) -> Result<(), String> {
    if a.seq > v.last_seq {
        return Err(format!(
            "the log ends at seq {} but the anchor saved seq {}: records {}..={} were cut off the end",
            v.last_seq,
            a.seq,
            v.last_seq + 1,
            a.seq
        ));
    }
    // In a verified log, line n holds seq n.
    let f = File::open(path).map_err(|e| io_err("cannot open", path, &e))?;
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let mut buf = Vec::with_capacity(1024);
    for _ in 0..a.seq {
        buf.clear();
        r.read_until(b'\n', &mut buf)
            .map_err(|e| io_err("cannot read", path, &e))?;
    }
    let hash = serde_json::from_slice::<Value>(&buf)
        .ok()
        .and_then(|v| v.get("hash").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    if hash != a.hash {
        return Err(format!(
            "record seq {} has hash {} but the anchor saved {}: the log was rewritten at or before seq {}",
            a.seq,
            short_id(&hash),
            short_id(&a.hash),
            a.seq
        ));
    }
    Ok(())
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
    /// [`Verified::unsigned`] and [`Verified::signers`] up to `offset`.
    pub unsigned: u64,
    pub signers: Vec<String>,
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
    trust: Option<&TrustedKeys>,
) -> Result<(Verified, VerifyCursor), VerifyError> {
    let fresh = || Verifier::new().trusting(trust.cloned());
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let ok = fresh().finish();
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
            match stream_counted(Verifier::resume_at(c).trusting(trust.cloned()), &mut f) {
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
    let (ok, n) = stream_counted(fresh(), &mut f)?;
    let next = cursor_after(&ok, n);
    Ok((ok, next))
}

fn cursor_after(ok: &Verified, offset: u64) -> VerifyCursor {
    VerifyCursor {
        offset,
        head: ok.head.clone(),
        records: ok.records,
        unsigned: ok.unsigned,
        signers: ok.signers.clone(),
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
