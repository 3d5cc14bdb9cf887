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
            | WriteOp::SilenceExpire { provider, id } => (provider, id),
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
