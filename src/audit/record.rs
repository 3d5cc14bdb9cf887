//! The audit record: what is stored ([`Record`], SPEC §6), what a caller
//! supplies ([`Entry`]), and sealing an entry into its chained line.

use super::canonical::{canonical, chain_hash};
use super::faults::AuditError;
use super::keys::AuditKey;
use crate::text::SafeText;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `prev` of the first record.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Intent,
    Result,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pending,
    Ok,
    Error,
    DryRun,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::DryRun => "dry-run",
            Outcome::Refused => "refused",
        }
    }
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Intent => "intent",
            Phase::Result => "result",
        }
    }
}

/// The runbook step an action came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookRef {
    pub id: String,
    pub step: u32,
}

/// One audit record, as stored (SPEC §6). Field order here is the sorted
/// key order on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub action: String,
    pub actor: String,
    /// `true` on a record of `--demo` (written to the demo's own log, never
    /// the user's); absent on every other record (SPEC §6, additive).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    pub detail: Value,
    pub hash: String,
    pub host: String,
    pub idempotency_key: Option<String>,
    pub incident: Option<String>,
    /// The Ed25519 public key that signed the record (64 hex); absent only
    /// in records written before signing (docs/AUDIT.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub outcome: Outcome,
    pub phase: Phase,
    pub prev: String,
    pub provider: Option<String>,
    pub reason: String,
    pub runbook: Option<RunbookRef>,
    pub seq: u64,
    /// Ed25519 signature (128 hex) over
    /// `prev + "\n" + canonical(record without hash and sig)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
    pub target: String,
    pub ts: String,
}

impl Record {
    /// The record as text fit for a screen: every string sanitized like
    /// provider text (a log edited by hand may hold escapes, bidi overrides
    /// or zero-width characters). For display only: verification reads
    /// the bytes on disk.
    pub fn inert(mut self) -> Record {
        let line = |s: &mut String| *s = crate::text::SafeText::line(s).into_string();
        let opt = |s: &mut Option<String>| {
            if let Some(v) = s.as_mut() {
                *v = crate::text::SafeText::line(v).into_string();
            }
        };
        line(&mut self.action);
        line(&mut self.actor);
        line(&mut self.host);
        line(&mut self.reason);
        line(&mut self.target);
        line(&mut self.ts);
        line(&mut self.hash);
        line(&mut self.prev);
        opt(&mut self.idempotency_key);
        opt(&mut self.incident);
        opt(&mut self.provider);
        opt(&mut self.key_id);
        opt(&mut self.sig);
        if let Some(rb) = self.runbook.as_mut() {
            line(&mut rb.id);
        }
        self.detail = sanitize_detail(&self.detail);
        self
    }
}

/// What the caller supplies; the writer adds `seq`, `ts`, `prev`, `hash`
/// and sanitizes every string.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub action: String,
    pub actor: String,
    pub detail: Value,
    pub host: String,
    pub idempotency_key: Option<String>,
    pub incident: Option<String>,
    pub outcome: Outcome,
    pub phase: Phase,
    pub provider: Option<String>,
    pub reason: String,
    pub runbook: Option<RunbookRef>,
    pub target: String,
}

/// Make a `detail` value fit for the log: every string sanitized (single
/// line), every float turned into its decimal string, keys sanitized.
pub fn sanitize_detail(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(SafeText::line(s).into_string()),
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            Value::String(n.to_string())
        }
        Value::Array(a) => Value::Array(a.iter().map(sanitize_detail).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (SafeText::line(k).into_string(), sanitize_detail(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn line_text(s: &str) -> String {
    SafeText::line(s).into_string()
}

impl Entry {
    /// Seal the entry into a record at `seq` after `prev`, signed with
    /// `key`: returns the record and its line (canonical JSON + `\n`).
    #[cfg(test)]
    pub(super) fn seal(
        &self,
        seq: u64,
        prev: &str,
        ts: String,
        key: &AuditKey,
    ) -> Result<(Record, Vec<u8>), AuditError> {
        self.seal_marked(seq, prev, ts, key, false)
    }

    /// [`Entry::seal`], marked `demo: true` when `demo`.
    pub(super) fn seal_marked(
        &self,
        seq: u64,
        prev: &str,
        ts: String,
        key: &AuditKey,
        demo: bool,
    ) -> Result<(Record, Vec<u8>), AuditError> {
        let mut rec = Record {
            action: line_text(&self.action),
            actor: line_text(&self.actor),
            demo,
            detail: sanitize_detail(&self.detail),
            hash: String::new(),
            host: line_text(&self.host),
            idempotency_key: self.idempotency_key.as_deref().map(line_text),
            incident: self.incident.as_deref().map(line_text),
            key_id: Some(key.id().to_string()),
            outcome: self.outcome,
            phase: self.phase,
            prev: prev.to_string(),
            provider: self.provider.as_deref().map(line_text),
            reason: line_text(&self.reason),
            runbook: self.runbook.as_ref().map(|r| RunbookRef {
                id: line_text(&r.id),
                step: r.step,
            }),
            seq,
            sig: None,
            target: line_text(&self.target),
            ts,
        };
        let mut v = serde_json::to_value(&rec)
            .map_err(|e| AuditError::Encode(format!("cannot encode record: {e}")))?;
        if let Value::Object(m) = &mut v {
            m.remove("hash");
        }
        let float = |_| AuditError::Encode("a float reached the audit record".into());
        // The signature covers everything but `hash` and `sig`; the hash
        // covers the signature.
        let mut signed = Vec::with_capacity(prev.len() + 1 + 512);
        signed.extend_from_slice(prev.as_bytes());
        signed.push(b'\n');
        signed.extend_from_slice(&canonical(&v).map_err(float)?);
        let sig = key.sign(&signed);
        if let Value::Object(m) = &mut v {
            m.insert("sig".into(), Value::String(sig.clone()));
        }
        rec.sig = Some(sig);
        let body = canonical(&v).map_err(float)?;
        rec.hash = chain_hash(prev, &body);
        if let Value::Object(m) = &mut v {
            m.insert("hash".into(), Value::String(rec.hash.clone()));
        }
        let mut line = canonical(&v).map_err(float)?;
        line.push(b'\n');
        Ok((rec, line))
    }
}

/// RFC 3339 UTC with milliseconds and `Z`.
pub fn now_ts() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
