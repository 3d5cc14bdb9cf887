//! Which provider owns an action: an id as sitrep prints it
//! (`provider/id`) goes to that provider, and an action its owner cannot
//! do is refused with what to do instead.

use super::{ActionRequest, ExecError, Executor};
use crate::ops::WriteOp;
use crate::text::SafeText;

impl Executor {
    /// Route an id as sitrep prints it, `provider/id`, to that provider
    /// (when the prefix names a configured provider and none was named),
    /// and refuse an action the owning provider cannot do with what to do
    /// instead. Call before [`Executor::plan`] and use the result for both
    /// `plan` and `execute`.
    pub fn resolve_owner(&self, mut req: ActionRequest) -> Result<ActionRequest, ExecError> {
        let (provider, id) = match &mut req.op {
            WriteOp::IncidentAck { provider, id }
            | WriteOp::IncidentResolve { provider, id }
            | WriteOp::IncidentNote { provider, id, .. }
            | WriteOp::IncidentEscalate { provider, id }
            | WriteOp::IncidentSnooze { provider, id, .. }
            | WriteOp::IncidentReassign { provider, id, .. }
            | WriteOp::IncidentAddResponders { provider, id, .. }
            | WriteOp::SilenceExpire { provider, id } => (provider, id),
            WriteOp::IncidentBulkAck { provider, ids } => {
                // `provider/id` for every id, one provider: route to it.
                if provider.is_none()
                    && let Some((name, _)) = ids.first().and_then(|i| i.split_once('/'))
                    && self.registry.get(name).is_some()
                    && ids.iter().all(|i| {
                        i.split_once('/')
                            .is_some_and(|(n, rest)| n == name && !rest.is_empty())
                    })
                {
                    *provider = Some(name.to_string());
                    for i in ids.iter_mut() {
                        if let Some((_, rest)) = i.split_once('/') {
                            *i = rest.to_string();
                        }
                    }
                }
                return self.refuse_unsupported(req);
            }
            _ => return Ok(req),
        };
        if provider.is_none()
            && let Some((name, rest)) = id.split_once('/')
            && !rest.is_empty()
            && self.registry.get(name).is_some()
        {
            *provider = Some(name.to_string());
            *id = rest.to_string();
        }
        self.refuse_unsupported(req)
    }

    /// Refuse an action the named provider cannot do, with what to do
    /// instead.
    fn refuse_unsupported(&self, req: ActionRequest) -> Result<ActionRequest, ExecError> {
        if let Some(p) = req.op.provider().and_then(|n| self.registry.get(n))
            && p.build_error().is_none()
            && !p.supports(&req.op)
            && let Some(instead) = instead_of(p.kind(), &req.op)
        {
            return Err(ExecError::Refused(format!(
                "{} ({}): {instead}",
                SafeText::line(p.name()),
                p.kind().as_str()
            )));
        }
        Ok(req)
    }
}

/// Which incident actions a provider can carry out: `None` where it can,
/// the refusal (with what to do instead) where it cannot. Asked of the
/// provider once, so the console offers only what can run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentActions {
    pub ack: Option<String>,
    pub resolve: Option<String>,
    pub note: Option<String>,
    pub silence: Option<String>,
    /// Expiring one of its silences (`silence.expire`).
    pub expire: Option<String>,
    pub escalate: Option<String>,
    pub snooze: Option<String>,
    pub reassign: Option<String>,
    pub add_responders: Option<String>,
    pub bulk_ack: Option<String>,
}

impl IncidentActions {
    /// Ask `p` (a sample id; Sentry ignores take `issue=<id>`).
    pub fn of(p: &dyn crate::providers::Provider) -> Self {
        let name = Some(p.name().to_string());
        let id = "1".to_string();
        let why = |op: WriteOp| {
            if p.build_error().is_some() || p.supports(&op) {
                return None;
            }
            let instead = instead_of(p.kind(), &op)
                .unwrap_or("this provider cannot do it: act at the provider itself");
            Some(format!(
                "{} ({}): {instead}",
                SafeText::line(p.name()),
                p.kind().as_str()
            ))
        };
        let matcher = |n: &str| crate::ops::Matcher {
            name: n.to_string(),
            value: id.clone(),
            is_regex: false,
            is_equal: true,
        };
        let silence_ok = [matcher("alertname"), matcher("issue")]
            .into_iter()
            .any(|m| {
                p.supports(&WriteOp::SilenceCreate {
                    provider: name.clone(),
                    matchers: vec![m],
                    duration_secs: 3600,
                })
            });
        IncidentActions {
            ack: why(WriteOp::IncidentAck {
                provider: name.clone(),
                id: id.clone(),
            }),
            resolve: why(WriteOp::IncidentResolve {
                provider: name.clone(),
                id: id.clone(),
            }),
            note: why(WriteOp::IncidentNote {
                provider: name.clone(),
                id: id.clone(),
                text: String::new(),
            }),
            escalate: why(WriteOp::IncidentEscalate {
                provider: name.clone(),
                id: id.clone(),
            }),
            snooze: why(WriteOp::IncidentSnooze {
                provider: name.clone(),
                id: id.clone(),
                duration_secs: 3600,
            }),
            reassign: why(WriteOp::IncidentReassign {
                provider: name.clone(),
                id: id.clone(),
                users: vec![],
            }),
            add_responders: why(WriteOp::IncidentAddResponders {
                provider: name.clone(),
                id: id.clone(),
                users: vec![],
                message: String::new(),
            }),
            bulk_ack: why(WriteOp::IncidentBulkAck {
                provider: name.clone(),
                ids: vec![id.clone()],
            }),
            silence: if silence_ok || p.build_error().is_some() {
                None
            } else {
                why(WriteOp::SilenceCreate {
                    provider: name.clone(),
                    matchers: vec![],
                    duration_secs: 3600,
                })
            },
            expire: why(WriteOp::SilenceExpire {
                provider: name.clone(),
                id: id.clone(),
            }),
        }
    }
}

/// What to do instead of an action a provider of `kind` cannot do.
fn instead_of(kind: crate::config::ProviderKind, op: &WriteOp) -> Option<&'static str> {
    use crate::config::ProviderKind as K;
    match (kind, op) {
        (K::Alertmanager, WriteOp::IncidentAck { .. } | WriteOp::IncidentResolve { .. }) => Some(
            "Alertmanager alerts cannot be acknowledged or resolved: silence the alert (`s` in the console, `sitrep silence --matcher alertname=…`); it resolves when its condition clears",
        ),
        (K::Alertmanager, WriteOp::IncidentNote { .. }) => Some(
            "Alertmanager alerts take no notes: put the note in a silence's comment, or on the paging incident",
        ),
        (K::Pagerduty | K::Opsgenie, WriteOp::SilenceCreate { .. }) => Some(
            "paging incidents are not silenced: acknowledge it (`a`, `sitrep incident ack`) so it stops escalating, or silence the alert behind it at Alertmanager",
        ),
        (K::Sentry, WriteOp::IncidentAck { .. } | WriteOp::IncidentNote { .. }) => Some(
            "Sentry issues cannot be acknowledged or noted: ignore it for a while (`s`, matcher issue=<id>) or resolve it (`R`)",
        ),
        (
            K::Pagerduty,
            WriteOp::IncidentEscalate { .. }
            | WriteOp::IncidentSnooze { .. }
            | WriteOp::IncidentReassign { .. }
            | WriteOp::IncidentAddResponders { .. }
            | WriteOp::IncidentBulkAck { .. },
        ) => None,
        (
            _,
            WriteOp::IncidentEscalate { .. }
            | WriteOp::IncidentSnooze { .. }
            | WriteOp::IncidentReassign { .. }
            | WriteOp::IncidentAddResponders { .. },
        ) => Some(
            "sitrep escalates, snoozes, reassigns and adds responders on PagerDuty incidents only: do it at the provider itself",
        ),
        (_, WriteOp::IncidentBulkAck { .. }) => Some(
            "sitrep acknowledges several at once on PagerDuty only: acknowledge each (`a`, `sitrep incident ack`)",
        ),
        (_, WriteOp::SilenceExpire { .. }) => {
            Some("only Alertmanager has silences: expire it on the Alertmanager provider")
        }
        (
            _,
            WriteOp::IncidentAck { .. }
            | WriteOp::IncidentResolve { .. }
            | WriteOp::IncidentNote { .. },
        ) => Some(
            "this provider has no incidents to act on: act on the incident at its paging provider",
        ),
        _ => None,
    }
}
