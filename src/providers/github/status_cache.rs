//! The latest status of each deployment, remembered between polls.
//!
//! A first poll reads the latest status of every deployment listed; later
//! polls read only the ones that can still change: no status yet, not
//! settled (`error`, `failure`, `inactive` never change again), or a
//! `success` among the newest `refresh_window` deployments of its
//! environment (a live deploy can still turn failed or inactive). A new
//! process seeds the cache from the offline cache of the last fetch, so it
//! is a later poll too.

use super::wire::GhDeployment;
use crate::model::Fetched;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

/// What we remember of a deployment's latest status.
#[derive(Clone, Debug, Default)]
pub(super) struct StatusInfo {
    /// None = the deployment has no status yet.
    pub state: Option<String>,
    pub url: Option<String>,
}

impl StatusInfo {
    fn settled(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("error" | "failure" | "inactive")
        )
    }
}

/// Latest statuses by deployment id.
#[derive(Debug, Default)]
pub(super) struct StatusCache {
    map: Mutex<HashMap<u64, StatusInfo>>,
}

impl StatusCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, StatusInfo>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The deployments of a newest-first list whose latest status must be
    /// read: not known yet, not settled, or a success among the newest
    /// `refresh_window` of its environment (it may have gone inactive).
    pub fn needed<'a>(
        &self,
        list: impl IntoIterator<Item = &'a GhDeployment>,
        refresh_window: usize,
    ) -> Vec<u64> {
        let cache = self.lock();
        let mut newest_per_env: HashMap<&str, usize> = HashMap::new();
        list.into_iter()
            .filter(|d| {
                let e = d.environment.as_deref().unwrap_or_default();
                let rank = newest_per_env.entry(e).or_insert(0);
                *rank += 1;
                match cache.get(&d.id) {
                    None => true,
                    Some(s) if s.settled() => false,
                    Some(s) if s.state.as_deref() == Some("success") => *rank <= refresh_window,
                    Some(_) => true,
                }
            })
            .map(|d| d.id)
            .collect()
    }

    pub fn remember(&self, got: Vec<(u64, StatusInfo)>) {
        self.lock().extend(got);
    }

    /// The remembered status of `id` (none yet when unknown).
    pub fn get(&self, id: u64) -> StatusInfo {
        self.lock().get(&id).cloned().unwrap_or_default()
    }

    /// Forget the deployments no longer listed.
    pub fn retain(&self, ids: &HashSet<u64>) {
        self.lock().retain(|id, _| ids.contains(id));
    }

    /// Fill an empty cache from the deploys provider `name` fetched last
    /// (not the workflow runs listed under `runs_env`).
    pub fn seed(&self, cached: &Fetched, name: &str, runs_env: Option<&str>) {
        let mut cache = self.lock();
        if !cache.is_empty() {
            return;
        }
        for d in &cached.deploys {
            if d.provider.as_str() != name || runs_env == Some(d.environment.as_str()) {
                continue;
            }
            let Ok(id) = d.id.as_str().parse::<u64>() else {
                continue;
            };
            let raw = d.provider_state.as_str();
            if raw == "none" || raw.is_empty() {
                continue;
            }
            cache.insert(
                id,
                StatusInfo {
                    state: Some(raw.to_string()),
                    url: d.url.as_ref().map(|u| u.as_str().to_string()),
                },
            );
        }
    }
}
