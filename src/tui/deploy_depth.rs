//! A deploy's depth in the console: what it changed (the commits from the
//! previous good deploy of another sha to its own, read on demand from
//! providers that can, one [`Effect::LoadCommits`] when the deploy is
//! first shown in the details pane, the answer back as
//! [`Msg::DeployCommits`](super::update::Msg::DeployCommits), kept per
//! range) and where its logs are.

pub use super::depth::Loaded;
use super::state::{State, View};
use super::update::Effect;
use crate::model::{CommitRange, Deploy};
use std::collections::BTreeMap;

/// `(provider, base sha, head sha)`.
pub type Key = (String, String, String);

#[derive(Clone, Debug, Default)]
pub struct Commits {
    pub ranges: BTreeMap<Key, Loaded<CommitRange>>,
}

/// The deploy `d` follows: the newest older deploy of the same provider,
/// service and environment that succeeded, with another (known) sha.
pub fn base_of<'a>(state: &'a State, d: &Deploy) -> Option<&'a Deploy> {
    if d.sha.is_empty() {
        return None;
    }
    state
        .snap
        .deploys
        .iter()
        .filter(|x| {
            x.provider == d.provider
                && x.service == d.service
                && x.environment == d.environment
                && x.created_at < d.created_at
                && crate::providers::rollback::good(x)
                && !x.sha.is_empty()
                && x.sha != d.sha
        })
        .max_by(|a, b| crate::providers::rollback::newest_first(b, a))
}

pub fn key_of(base: &Deploy, d: &Deploy) -> Key {
    (
        d.provider.as_str().to_string(),
        base.sha.as_str().to_string(),
        d.sha.as_str().to_string(),
    )
}

fn reads_commits(state: &State, provider: &str) -> bool {
    state
        .store
        .slots
        .iter()
        .any(|s| s.name == provider && s.commits)
}

/// The read to start now: the range of the deploy open in the Deploys
/// view's details pane, when its provider reads ranges and nothing is
/// known or in flight for it yet.
pub fn wanted(state: &mut State) -> Option<Effect> {
    if state.ui.view != View::Deploys || !state.ui.show_details || state.ui.modal.is_some() {
        return None;
    }
    let d = state.selected_deploy()?;
    if !reads_commits(state, d.provider.as_str()) {
        return None;
    }
    let base = base_of(state, d)?;
    let key = key_of(base, d);
    if state.commits.ranges.contains_key(&key) {
        return None;
    }
    let service = d.service.as_str().to_string();
    state.commits.ranges.insert(key.clone(), Loaded::Loading);
    Some(Effect::LoadCommits {
        provider: key.0,
        service,
        base: key.1,
        head: key.2,
    })
}

/// The answer of a read.
pub fn loaded(state: &mut State, key: Key, result: Result<CommitRange, String>) {
    state
        .commits
        .ranges
        .insert(key, Loaded::from_result(result));
}
