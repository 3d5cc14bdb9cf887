//! The rollback target picker (`b` in Deploys): which deploy production
//! goes back to, chosen on screen instead of by id. It lists the live
//! deploy (what is rolled back from) and the candidates, newest first:
//! every deploy of the same service and environment that succeeded and
//! is not live, and for Vercel the ready preview deployments, which are
//! promoted. The first row leaves the choice to the provider, exactly as
//! `sitrep rollback` without `--to` (it also skips shas an earlier
//! rollback moved away from, which only the provider knows); the deploy
//! that is likely to be is marked `default`. A change the timeline
//! suspects (a deploy shortly before an incident on its service) is
//! marked with why. The choice becomes a `Rollback { to }` and goes
//! through the same reason → plan → confirm → audit path as every
//! action; the provider checks it again when planning, and the
//! confirmation names the deploy it will go to.

use super::state::State;
use crate::model::{Deploy, DeployState};
use crate::ops::WriteOp;
use crate::providers::rollback;

/// Preview deployments offered for promotion, newest first.
const PREVIEWS: usize = 5;

#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    /// The rollback asked for, without its target.
    pub op: WriteOp,
    /// The live deploy, described, and why it is suspect (if it is).
    pub live: Option<(String, Option<String>)>,
    pub rows: Vec<Choice>,
    pub selected: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// `None`: the provider's own choice (no `--to`).
    pub id: Option<String>,
    /// "v2.14.0 9f3c2ab, 11m ago by bob (#1893)".
    pub label: String,
    /// What `sitrep rollback` without `--to` would choose.
    pub default: bool,
    /// A preview deployment: choosing it promotes it.
    pub promote: bool,
    /// Why the timeline suspects this deploy.
    pub suspect: Option<String>,
}

impl Pick {
    /// The rollback to the selected candidate.
    pub fn chosen(&self) -> Option<WriteOp> {
        let c = self.rows.get(self.selected)?;
        let WriteOp::Rollback {
            provider,
            service,
            environment,
            ..
        } = &self.op
        else {
            return None;
        };
        Some(WriteOp::Rollback {
            provider: provider.clone(),
            service: service.clone(),
            environment: environment.clone(),
            to: c.id.clone(),
        })
    }
}

/// The picker for the deploy `d` selected in the Deploys view, or why
/// there is nothing to choose.
pub fn for_deploy(state: &State, d: &Deploy) -> Result<Pick, String> {
    let provider = d.provider.as_str();
    let vercel = state
        .snap
        .providers
        .iter()
        .any(|p| p.name.as_str() == provider && p.kind == "vercel");
    // A Vercel preview row stands for "promote this to production".
    let environment = if vercel && d.environment.as_str() != "production" {
        "production"
    } else {
        d.environment.as_str()
    };
    let same = |x: &&Deploy| x.provider == d.provider && x.service == d.service;
    let mut group: Vec<Deploy> = state
        .snap
        .deploys
        .iter()
        .filter(same)
        .filter(|x| x.environment.as_str() == environment)
        .cloned()
        .collect();
    crate::order::sort_by(&mut group, rollback::newest_first);
    let live = group.iter().find(|x| x.current);
    let default = rollback::pick(provider, d.service.as_str(), environment, &group, None)
        .ok()
        .map(|(_, t)| t.id.clone());
    let suspect = |x: &Deploy| {
        state
            .suspects()
            .deploys
            .get(&format!("{}/{}", x.provider, x.id))
            .cloned()
    };
    let mut rows: Vec<Choice> = group
        .iter()
        .filter(|x| rollback::good(x) && !x.current)
        .map(|x| Choice {
            id: Some(x.id.as_str().to_string()),
            label: rollback::describe(x, state.now),
            default: default.as_ref() == Some(&x.id),
            promote: false,
            suspect: suspect(x),
        })
        .collect();
    if vercel {
        let mut previews: Vec<&Deploy> = state
            .snap
            .deploys
            .iter()
            .filter(same)
            .filter(|x| x.environment.as_str() != "production" && x.state == DeployState::Success)
            .collect();
        crate::order::sort_by(&mut previews, |a, b| rollback::newest_first(a, b));
        rows.extend(previews.into_iter().take(PREVIEWS).map(|x| Choice {
            id: Some(x.id.as_str().to_string()),
            label: format!("{} ({})", rollback::describe(x, state.now), x.environment),
            default: false,
            promote: true,
            suspect: suspect(x),
        }));
    }
    if rows.is_empty() {
        return Err(format!(
            "no deploy of {} in {environment} to roll back to: none other than the live one succeeded",
            d.service
        ));
    }
    // First: the provider's own choice, when it has one to make.
    if default.is_some() {
        rows.insert(
            0,
            Choice {
                id: None,
                label: "the previous good deploy, as `sitrep rollback` chooses".into(),
                default: false,
                promote: false,
                suspect: None,
            },
        );
    }
    // The row the responder stood on, else the provider's choice.
    let selected = rows
        .iter()
        .position(|c| c.id.as_deref() == Some(d.id.as_str()))
        .unwrap_or(0);
    Ok(Pick {
        op: WriteOp::Rollback {
            provider: Some(provider.to_string()),
            service: d.service.as_str().to_string(),
            environment: environment.to_string(),
            to: None,
        },
        live: live.map(|l| (rollback::describe(l, state.now), suspect(l))),
        rows,
        selected,
    })
}
