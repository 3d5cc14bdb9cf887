//! Write actions as values. A `WriteOp` says what the responder wants; a
//! provider turns it into a `Plan` (a human summary plus the exact HTTP
//! requests); the executor confirms, audits and carries it out.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An Alertmanager matcher `name=value` (`=~` regex, `!=`, `!~` also accepted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    #[serde(rename = "isEqual")]
    pub is_equal: bool,
}

impl std::str::FromStr for Matcher {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        for (op, is_regex, is_equal) in [
            ("=~", true, true),
            ("!~", true, false),
            ("!=", false, false),
            ("=", false, true),
        ] {
            if let Some((n, v)) = s.split_once(op) {
                let n = n.trim();
                if n.is_empty() {
                    return Err(format!("matcher {s:?} has no label name"));
                }
                return Ok(Matcher {
                    name: n.to_string(),
                    value: v.trim().trim_matches('"').to_string(),
                    is_regex,
                    is_equal,
                });
            }
        }
        Err(format!("matcher {s:?} is not of the form name=value"))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (true, false) => "!~",
        };
        write!(f, "{}{}{:?}", self.name, op, self.value)
    }
}

/// A typed write action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WriteOp {
    IncidentAck {
        provider: Option<String>,
        id: String,
    },
    IncidentResolve {
        provider: Option<String>,
        id: String,
    },
    IncidentNote {
        provider: Option<String>,
        id: String,
        text: String,
    },
    /// Escalate to the next level of the incident's escalation policy (the
    /// level is read when planning: current + 1).
    IncidentEscalate {
        provider: Option<String>,
        id: String,
    },
    /// Snooze an acknowledged incident for `duration_secs`.
    IncidentSnooze {
        provider: Option<String>,
        id: String,
        duration_secs: u64,
    },
    /// Reassign to these users (vendor user ids), replacing the assignees.
    IncidentReassign {
        provider: Option<String>,
        id: String,
        users: Vec<String>,
    },
    /// Ask these users (vendor user ids) to join as responders.
    IncidentAddResponders {
        provider: Option<String>,
        id: String,
        users: Vec<String>,
        message: String,
    },
    /// Acknowledge several incidents of one provider at once.
    IncidentBulkAck {
        provider: Option<String>,
        ids: Vec<String>,
    },
    SilenceCreate {
        provider: Option<String>,
        matchers: Vec<Matcher>,
        /// Seconds.
        duration_secs: u64,
    },
    SilenceExpire {
        provider: Option<String>,
        id: String,
    },
    Rollback {
        provider: Option<String>,
        service: String,
        environment: String,
        /// A deploy id to roll back to; default: the previous good one.
        to: Option<String>,
    },
    FlagSet {
        provider: Option<String>,
        key: String,
        environment: Option<String>,
        on: bool,
    },
    RunbookStep {
        runbook: String,
        step: u32,
        item: Option<u32>,
        checked: bool,
    },
    RunbookExec {
        runbook: String,
        step: u32,
        command: String,
    },
    /// The verdict of a watch after an action (`watch`, an extension of
    /// SPEC §6): recorded only, nothing outside sitrep changes.
    Watch {
        /// What was watched after: `service/env` of a rollback, a flag key.
        target: String,
        service: String,
        /// `recovering`, `no change` or `worse`.
        verdict: String,
        /// Numbers and incidents behind the verdict (recorded as `detail`).
        detail: serde_json::Value,
    },
}

impl WriteOp {
    /// The audit `action` name (SPEC §6).
    pub fn action_name(&self) -> &'static str {
        match self {
            Self::IncidentAck { .. } => "incident.ack",
            Self::IncidentResolve { .. } => "incident.resolve",
            Self::IncidentNote { .. } => "incident.note",
            Self::IncidentEscalate { .. } => "incident.escalate",
            Self::IncidentSnooze { .. } => "incident.snooze",
            Self::IncidentReassign { .. } => "incident.reassign",
            Self::IncidentAddResponders { .. } => "incident.add_responders",
            Self::IncidentBulkAck { .. } => "incident.bulk_ack",
            Self::SilenceCreate { .. } => "silence.create",
            Self::SilenceExpire { .. } => "silence.expire",
            Self::Rollback { .. } => "rollback",
            Self::FlagSet { on: false, .. } => "flag.off",
            Self::FlagSet { on: true, .. } => "flag.on",
            Self::RunbookStep { .. } => "runbook.step",
            Self::RunbookExec { .. } => "runbook.exec",
            Self::Watch { .. } => "watch",
        }
    }

    /// The provider named by the responder, if any.
    pub fn provider(&self) -> Option<&str> {
        match self {
            Self::IncidentAck { provider, .. }
            | Self::IncidentResolve { provider, .. }
            | Self::IncidentNote { provider, .. }
            | Self::IncidentEscalate { provider, .. }
            | Self::IncidentSnooze { provider, .. }
            | Self::IncidentReassign { provider, .. }
            | Self::IncidentAddResponders { provider, .. }
            | Self::IncidentBulkAck { provider, .. }
            | Self::SilenceCreate { provider, .. }
            | Self::SilenceExpire { provider, .. }
            | Self::Rollback { provider, .. }
            | Self::FlagSet { provider, .. } => provider.as_deref(),
            Self::RunbookStep { .. } | Self::RunbookExec { .. } | Self::Watch { .. } => None,
        }
    }

    pub fn set_provider(&mut self, name: &str) {
        match self {
            Self::IncidentAck { provider, .. }
            | Self::IncidentResolve { provider, .. }
            | Self::IncidentNote { provider, .. }
            | Self::IncidentEscalate { provider, .. }
            | Self::IncidentSnooze { provider, .. }
            | Self::IncidentReassign { provider, .. }
            | Self::IncidentAddResponders { provider, .. }
            | Self::IncidentBulkAck { provider, .. }
            | Self::SilenceCreate { provider, .. }
            | Self::SilenceExpire { provider, .. }
            | Self::Rollback { provider, .. }
            | Self::FlagSet { provider, .. } => *provider = Some(name.to_string()),
            Self::RunbookStep { .. } | Self::RunbookExec { .. } | Self::Watch { .. } => {}
        }
    }

    /// An id or name of this action that cannot go into a request path as
    /// planned: empty, `.` or `..` (URL parsing folds dot segments, encoded
    /// or not, so `/incidents/..` would write somewhere else than the plan
    /// and the audit log say). A `/` inside an id is percent-encoded.
    pub fn unsafe_path_id(&self) -> Option<&str> {
        let ids: Vec<&str> = match self {
            WriteOp::IncidentAck { id, .. }
            | WriteOp::IncidentResolve { id, .. }
            | WriteOp::IncidentNote { id, .. }
            | WriteOp::IncidentEscalate { id, .. }
            | WriteOp::IncidentSnooze { id, .. }
            | WriteOp::IncidentReassign { id, .. }
            | WriteOp::IncidentAddResponders { id, .. }
            | WriteOp::SilenceExpire { id, .. } => vec![id],
            WriteOp::IncidentBulkAck { ids, .. } => ids.iter().map(String::as_str).collect(),
            WriteOp::Rollback {
                service,
                environment,
                to,
                ..
            } => [
                Some(service.as_str()),
                Some(environment.as_str()),
                to.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect(),
            WriteOp::FlagSet {
                key, environment, ..
            } => [Some(key.as_str()), environment.as_deref()]
                .into_iter()
                .flatten()
                .collect(),
            _ => vec![],
        };
        ids.into_iter()
            .find(|s| matches!(s.trim(), "" | "." | ".."))
    }

    /// The target as recorded in the audit log and typed to confirm.
    pub fn target(&self) -> String {
        match self {
            Self::IncidentAck { id, .. }
            | Self::IncidentResolve { id, .. }
            | Self::IncidentNote { id, .. }
            | Self::IncidentEscalate { id, .. }
            | Self::IncidentSnooze { id, .. }
            | Self::IncidentReassign { id, .. }
            | Self::IncidentAddResponders { id, .. }
            | Self::SilenceExpire { id, .. } => id.clone(),
            Self::IncidentBulkAck { ids, .. } => ids.join(","),
            Self::SilenceCreate { matchers, .. } => matchers
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(","),
            Self::Rollback {
                service,
                environment,
                ..
            } => format!("{service}/{environment}"),
            Self::FlagSet { key, .. } => key.clone(),
            Self::RunbookStep { runbook, step, .. } | Self::RunbookExec { runbook, step, .. } => {
                format!("{runbook}#{step}")
            }
            Self::Watch { target, .. } => target.clone(),
        }
    }

    /// What the responder must type to confirm, for high-blast-radius actions.
    /// Rollback: the service name; kill switch: the flag key.
    pub fn typed_confirmation(&self) -> Option<String> {
        match self {
            Self::Rollback { service, .. } => Some(service.clone()),
            Self::FlagSet { key, .. } => Some(key.clone()),
            Self::RunbookExec { .. } => None,
            _ => None,
        }
    }

    /// The environment touched, when the action has one.
    pub fn environment(&self) -> Option<&str> {
        match self {
            Self::Rollback { environment, .. } => Some(environment),
            Self::FlagSet { environment, .. } => environment.as_deref(),
            _ => None,
        }
    }
}

/// A request as it will be sent, secrets redacted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedRequest {
    pub method: String,
    pub url: String,
    /// Header name and value; credential headers carry `<redacted>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

impl fmt::Display for PlannedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        for (k, v) in &self.headers {
            writeln!(f, "{k}: {v}")?;
        }
        if let Some(b) = &self.body {
            let s = serde_json::to_string_pretty(b).map_err(|_| fmt::Error)?;
            writeln!(f)?;
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

/// Who asks for a write and why, given to the provider when it plans: it
/// fills its own vendor fields with them (Alertmanager's `createdBy` and
/// `comment`, Opsgenie's `user` and `note`, PagerDuty's resolution,
/// LaunchDarkly's comment, GitHub's deployment payload), so the plan the
/// responder confirms is byte for byte what is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanCtx {
    /// `[identity] name`, else `$USER@host`.
    pub actor: String,
    /// The responder's reason (may be empty for ack/note).
    pub reason: String,
    pub host: String,
    /// For `flag on`: per provider name, the kill switch to undo — the
    /// newest `flag.off` of this flag that succeeded, when no `flag.on`
    /// succeeded after it, as `{"seq", "ts", "result"}` (`result` = what
    /// the provider recorded). Filled from the audit log by the executor.
    pub restore: std::collections::BTreeMap<String, serde_json::Value>,
}

impl PlanCtx {
    pub fn new(actor: impl Into<String>, reason: impl Into<String>) -> PlanCtx {
        PlanCtx {
            actor: actor.into(),
            reason: reason.into(),
            host: String::new(),
            restore: Default::default(),
        }
    }

    /// The reason, or `default` when none was given.
    pub fn reason_or(&self, default: impl FnOnce() -> String) -> String {
        let r = self.reason.trim();
        if r.is_empty() {
            default()
        } else {
            r.to_string()
        }
    }
}

/// What a provider checked when it planned and checks again right before
/// it writes (the state the responder confirmed): passed from `plan` to
/// `execute` typed, never through the audit detail.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Precondition {
    #[default]
    None,
    /// flagd: the file still has this SHA-256, and the edit still makes
    /// these changes.
    FileUnchanged {
        sha256: String,
        changes: serde_json::Value,
    },
    /// Vercel: the production alias still points where it did.
    AliasUnchanged { aliased: Option<String> },
}

impl Precondition {
    pub fn is_none(&self) -> bool {
        *self == Precondition::None
    }
}

/// What an action will do, before it does it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub op: WriteOp,
    /// The provider that will carry it out (resolved).
    pub provider: String,
    /// One line a responder reads in the confirmation modal.
    pub summary: String,
    /// Facts at stake: (label, value), e.g. ("from", "v1.4.2 abc123, 2h ago by bob").
    #[serde(default)]
    pub stakes: Vec<(String, String)>,
    /// The exact requests.
    pub requests: Vec<PlannedRequest>,
    /// Extra detail recorded in the audit `detail` (no secrets).
    #[serde(default)]
    pub detail: serde_json::Value,
    /// What `execute` checks before it writes.
    #[serde(default, skip_serializing_if = "Precondition::is_none")]
    pub precondition: Precondition,
    /// The environment the plan writes to when the provider decides it (a
    /// flag provider's configured environment when the op names none): the
    /// production guard checks this, not only what the op names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl Plan {
    /// The plan, writing to `env` (the provider's answer).
    pub fn in_environment(mut self, env: Option<String>) -> Plan {
        self.environment = env;
        self
    }

    /// Where the plan writes: the provider's answer, else the op's.
    pub fn target_environment(&self) -> Option<&str> {
        self.environment.as_deref().or(self.op.environment())
    }
}

/// What came back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecResult {
    /// One line for the toast, e.g. "rolled back checkout/production to abc123".
    pub message: String,
    /// Extra detail recorded in the audit `detail` (provider request id, status...).
    #[serde(default)]
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_parse() {
        let m: Matcher = "alertname=HighLatency".parse().unwrap();
        assert_eq!((m.is_regex, m.is_equal), (false, true));
        let m: Matcher = "job=~api.*".parse().unwrap();
        assert_eq!(
            (m.name.as_str(), m.value.as_str(), m.is_regex),
            ("job", "api.*", true)
        );
        let m: Matcher = "env!=dev".parse().unwrap();
        assert!(!m.is_equal && !m.is_regex);
        assert!("novalue".parse::<Matcher>().is_err());
        assert!("=x".parse::<Matcher>().is_err());
    }

    #[test]
    fn action_names_follow_the_spec() {
        let f = WriteOp::FlagSet {
            provider: None,
            key: "k".into(),
            environment: None,
            on: false,
        };
        assert_eq!(f.action_name(), "flag.off");
        assert_eq!(f.typed_confirmation().as_deref(), Some("k"));
        let r = WriteOp::Rollback {
            provider: None,
            service: "checkout".into(),
            environment: "production".into(),
            to: None,
        };
        assert_eq!(r.target(), "checkout/production");
        assert_eq!(r.typed_confirmation().as_deref(), Some("checkout"));
    }
}
