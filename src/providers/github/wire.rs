//! GitHub's answers as sitrep reads them, and what their states mean.
//!
//! Our own wire types, not `octocrab::models`: octocrab's `Deployment`
//! holds `payload` as a `serde_json::Value` (a team's arbitrary payload
//! would be built into a tree many times its size; we keep only the
//! `payload.sitrep` record, see [`sitrep_payload`]), requires fields we
//! never use (`url`, `node_id`, `statuses_url`... must parse as URLs), its
//! `DeploymentStatus` state is a closed enum (a state GitHub adds later
//! would fail the whole list; here it is kept raw and counts as queued),
//! and its workflow `Run` has no `actor` or `display_title` and requires
//! `head_commit` and `repository`. Only the fields used are declared;
//! everything else is skipped while decoding.

use crate::model::{DeployState, Time};
use crate::providers::ProviderError;
use crate::providers::http::{decode_json, first_error};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct GhUser {
    #[serde(default)]
    pub login: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhDeployment {
    pub id: u64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub creator: Option<GhUser>,
    /// An object, or a string holding JSON. Only its `sitrep` record is
    /// kept (see [`sitrep_payload`]).
    #[serde(default, deserialize_with = "sitrep_payload")]
    pub payload: serde_json::Value,
    pub created_at: Time,
}

/// The largest `payload.sitrep` record read (ours are a few hundred bytes).
const SITREP_RECORD_CAP: usize = 4096;

/// Keep only `{"sitrep": …}` of a deployment payload (an object, or a
/// string holding one), `Null` otherwise. Anything else in a payload —
/// teams put arbitrary data there — is skipped while decoding, never built
/// into a `serde_json::Value` tree (which costs many times the text).
fn sitrep_payload<'de, D: serde::Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
    d.deserialize_any(SitrepPayload)
        .map(|v| v.unwrap_or_default())
}

struct SitrepPayload;

/// `SitrepPayload` as a type, to parse a payload held in a string.
struct SitrepOnly(Option<serde_json::Value>);

impl<'de> Deserialize<'de> for SitrepOnly {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SitrepPayload).map(SitrepOnly)
    }
}

impl<'de> serde::de::Visitor<'de> for SitrepPayload {
    type Value = Option<serde_json::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a deployment payload")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        use serde::de::IgnoredAny;
        let mut out = None;
        while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            if k == "sitrep" {
                let raw: Box<serde_json::value::RawValue> = m.next_value()?;
                if raw.get().len() <= SITREP_RECORD_CAP {
                    out = serde_json::from_str::<serde_json::Value>(raw.get()).ok();
                }
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out.map(|s| serde_json::json!({ "sitrep": s })))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(serde_json::from_str::<SitrepOnly>(v).ok().and_then(|p| p.0))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
        while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GhStatus {
    pub state: String,
    #[serde(default)]
    pub log_url: Option<String>,
    #[serde(default)]
    pub target_url: Option<String>,
    #[serde(default)]
    pub environment_url: Option<String>,
}

/// `GET /repos/{o}/{r}/compare/{base}...{head}` (the fields read).
#[derive(Debug, Deserialize)]
pub(super) struct GhCompare {
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub ahead_by: u32,
    #[serde(default)]
    pub behind_by: u32,
    #[serde(default)]
    pub total_commits: u32,
    #[serde(default)]
    pub commits: Vec<GhCommit>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhCommit {
    pub sha: String,
    pub commit: GhCommitBody,
    #[serde(default)]
    pub author: Option<GhUser>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhCommitBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub author: Option<GhGitAuthor>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhGitAuthor {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GhRun {
    pub id: u64,
    #[serde(default)]
    pub display_title: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub actor: Option<GhUser>,
    pub created_at: Time,
}

/// `GET …/runs`: `{"total_count", "workflow_runs": [...]}`.
#[derive(Debug, Deserialize)]
pub(super) struct GhRuns {
    pub workflow_runs: Vec<GhRun>,
}

/// The pseudo-environment under which runs of the deploy workflow are listed.
pub fn runs_environment(workflow: &str) -> String {
    format!("actions:{workflow}")
}

/// A workflow run's `status` / `conclusion` → SPEC §4 state; the raw value
/// (conclusion when completed, else status) goes to `provider_state`.
pub fn map_run(status: Option<&str>, conclusion: Option<&str>) -> (DeployState, String) {
    match (status, conclusion) {
        (Some("completed"), Some(c)) => (
            match c {
                "success" => DeployState::Success,
                "cancelled" => DeployState::Canceled,
                "skipped" | "neutral" | "stale" => DeployState::Inactive,
                // failure, timed_out, startup_failure, action_required...
                _ => DeployState::Failure,
            },
            c.to_string(),
        ),
        (Some("in_progress"), _) => (DeployState::InProgress, "in_progress".into()),
        (s, _) => (DeployState::Queued, s.unwrap_or("queued").to_string()),
    }
}

/// SPEC §4 state mapping. Unknown states count as queued (the raw value is
/// kept in `provider_state`).
pub fn map_state(raw: Option<&str>) -> DeployState {
    match raw {
        Some("error" | "failure") => DeployState::Failure,
        Some("in_progress") => DeployState::InProgress,
        Some("success") => DeployState::Success,
        Some("inactive") => DeployState::Inactive,
        _ => DeployState::Queued,
    }
}

/// The `sitrep` record of a deployment payload (an object, or a string
/// holding JSON).
fn sitrep_record(payload: &serde_json::Value) -> Option<serde_json::Value> {
    let p = match payload {
        serde_json::Value::String(s) => serde_json::from_str::<serde_json::Value>(s).ok()?,
        v => v.clone(),
    };
    p.get("sitrep").cloned()
}

/// A string field of the `sitrep` record in a deployment payload.
fn payload_field(payload: &serde_json::Value, field: &str) -> Option<String> {
    sitrep_record(payload)?
        .get(field)?
        .as_str()
        .map(str::to_string)
}

/// The idempotency key a deployment was created with by sitrep, if any.
pub(super) fn payload_key(payload: &serde_json::Value) -> Option<String> {
    payload_field(payload, "idempotency_key")
}

pub(super) fn payload_action(payload: &serde_json::Value) -> Option<String> {
    payload_field(payload, "action")
}

/// The sha a sitrep rollback moved away from.
pub(super) fn payload_from_sha(payload: &serde_json::Value) -> Option<String> {
    let s = sitrep_record(payload)?;
    if s.get("action")?.as_str()? != "rollback" {
        return None;
    }
    s.get("from")?.get("sha")?.as_str().map(str::to_string)
}

/// This provider's part of [`crate::providers::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    first_error([
        decode_json::<Vec<GhDeployment>>("fuzz", "GET deployments", body).map(drop),
        decode_json::<Vec<GhStatus>>("fuzz", "GET statuses", body).map(drop),
        decode_json::<GhRuns>("fuzz", "GET workflow runs", body).map(drop),
        decode_json::<GhCompare>("fuzz", "GET compare", body).map(drop),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_spec() {
        assert_eq!(map_state(Some("error")), DeployState::Failure);
        assert_eq!(map_state(Some("failure")), DeployState::Failure);
        assert_eq!(map_state(Some("pending")), DeployState::Queued);
        assert_eq!(map_state(Some("queued")), DeployState::Queued);
        assert_eq!(map_state(Some("in_progress")), DeployState::InProgress);
        assert_eq!(map_state(Some("success")), DeployState::Success);
        assert_eq!(map_state(Some("inactive")), DeployState::Inactive);
        assert_eq!(map_state(None), DeployState::Queued);
    }

    #[test]
    fn workflow_runs_map() {
        assert_eq!(
            map_run(Some("completed"), Some("success")),
            (DeployState::Success, "success".into())
        );
        assert_eq!(
            map_run(Some("completed"), Some("timed_out")).0,
            DeployState::Failure
        );
        assert_eq!(
            map_run(Some("completed"), Some("cancelled")).0,
            DeployState::Canceled
        );
        assert_eq!(
            map_run(Some("completed"), Some("skipped")).0,
            DeployState::Inactive
        );
        assert_eq!(
            map_run(Some("in_progress"), None).0,
            DeployState::InProgress
        );
        assert_eq!(
            map_run(Some("waiting"), None),
            (DeployState::Queued, "waiting".into())
        );
    }

    #[test]
    fn payloads_keep_only_the_sitrep_record() {
        let list: Vec<GhDeployment> = serde_json::from_str(
            r#"[
              {"id":1,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":{"big":[1,2,3],"sitrep":{"idempotency_key":"k1","action":"rollback","from":{"sha":"s0"}}}},
              {"id":2,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":"{\"sitrep\":{\"idempotency_key\":\"k2\"}}"},
              {"id":3,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":[1,{"sitrep":{}}]},
              {"id":4,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":{"sitrep":5}},
              {"id":5,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":"not json"},
              {"id":6,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z","payload":null},
              {"id":7,"sha":"a","ref":"r","created_at":"2026-11-22T01:00:00Z"}
            ]"#,
        )
        .unwrap();
        assert_eq!(payload_key(&list[0].payload).as_deref(), Some("k1"));
        assert_eq!(payload_from_sha(&list[0].payload).as_deref(), Some("s0"));
        assert!(list[0].payload.get("big").is_none(), "the rest is not kept");
        assert_eq!(payload_key(&list[1].payload).as_deref(), Some("k2"));
        for d in &list[2..] {
            assert_eq!(payload_key(&d.payload), None, "{}", d.id);
        }
    }

    #[test]
    fn payload_key_reads_objects_and_strings() {
        let o = serde_json::json!({"sitrep": {"idempotency_key": "k1"}});
        assert_eq!(payload_key(&o).as_deref(), Some("k1"));
        let s = serde_json::Value::String(r#"{"sitrep":{"idempotency_key":"k2"}}"#.into());
        assert_eq!(payload_key(&s).as_deref(), Some("k2"));
        assert_eq!(payload_key(&serde_json::json!("")), None);
        assert_eq!(payload_key(&serde_json::json!({})), None);
    }
}
