//! The latest status of each deployment, remembered between polls.
//!
//! Statuses are read only for what the console shows as live and what a
//! rollback needs, never one request per deployment listed. Per
//! environment, newest first:
//! - the newest `refresh_window` deployments whose status can still change
//!   (none known yet, or not settled: `error`, `failure`, `inactive` never
//!   change again; a `success` can still turn failed or inactive);
//! - older ones only while the environment's live deploy (its newest
//!   `success`) or a rollback candidate (an older `success`/`inactive` of
//!   another sha, not one a rollback moved away from) is not known yet: the
//!   next unknown ones, twice as many each round ([`StatusCache::needed`]).
//!
//! Older statuses are never read: those deploys show as `unknown` unless a
//! status is remembered. A new process seeds the cache from the offline
//! cache of the last fetch, so it is a later poll too. The reads are
//! conditional (`If-None-Match`), so a status that did not change costs
//! none of GitHub's rate limit.

use super::wire::GhDeployment;
use crate::model::{DeployState, Fetched};
use crate::providers::SeedLater;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

/// What we remember of a deployment's latest status.
#[derive(Clone, Debug, Default)]
pub(super) struct StatusInfo {
    /// None = the deployment has no status yet.
    pub state: Option<String>,
    pub url: Option<String>,
    /// `log_url` (or `target_url`, its older name).
    pub log_url: Option<String>,
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
    /// The seed still being read ([`StatusCache::seed_later`]).
    pending: Mutex<Option<SeedLater>>,
    /// Set once the pending seed, if any, has been waited for.
    settled: tokio::sync::OnceCell<()>,
}

impl StatusCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, StatusInfo>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep a seed that is still being read; [`StatusCache::settle`] waits
    /// for it.
    pub fn seed_later(&self, cached: SeedLater) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(cached);
    }

    /// Wait for the seed given to [`StatusCache::seed_later`] and apply it,
    /// once: every caller returns after it is applied (or known to be
    /// none). Immediate when no seed is pending.
    pub async fn settle(&self, name: &str, runs_env: Option<&str>) {
        self.settled
            .get_or_init(|| async {
                let pending = self
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take();
                if let Some(rx) = pending
                    && let Ok(cached) = rx.await
                {
                    self.seed(&cached, name, runs_env);
                }
            })
            .await;
    }

    /// The deployments of a newest-first list whose latest status must be
    /// read now (see the module's rules): among the newest
    /// `refresh_window` of an environment, those not known or not settled;
    /// beyond them (once the window's are all known), up to `reach` not
    /// known yet, while the live deploy or a rollback candidate of the
    /// environment is not known. `skip`: shas
    /// an earlier rollback moved away from (never a candidate).
    pub fn needed<'a>(
        &self,
        list: impl IntoIterator<Item = &'a GhDeployment>,
        refresh_window: usize,
        reach: usize,
        skip: &[String],
    ) -> Vec<u64> {
        #[derive(Default)]
        struct Walk<'s> {
            rank: usize,
            /// A deploy of the window has no status known yet: wait for it
            /// before reaching further.
            window_unknown: bool,
            live: Option<&'s str>,
            candidate: bool,
            unknown_beyond: usize,
        }
        let cache = self.lock();
        let mut envs: HashMap<&str, Walk<'_>> = HashMap::new();
        let mut out = Vec::new();
        for d in list {
            let w = envs
                .entry(d.environment.as_deref().unwrap_or_default())
                .or_default();
            w.rank += 1;
            let known = cache.get(&d.id).and_then(|s| s.state.as_deref());
            let wanted = if w.rank <= refresh_window {
                w.window_unknown |= !cache.contains_key(&d.id);
                !cache.get(&d.id).is_some_and(StatusInfo::settled)
            } else if known.is_none() && !w.window_unknown && !(w.live.is_some() && w.candidate) {
                w.unknown_beyond += 1;
                w.unknown_beyond <= reach
            } else {
                false
            };
            if wanted {
                out.push(d.id);
            }
            match known {
                Some("success") if w.live.is_none() => w.live = Some(d.sha.as_str()),
                Some("success" | "inactive")
                    if w.live.is_some_and(|l| l != d.sha || d.sha.is_empty())
                        && !skip.iter().any(|s| !s.is_empty() && *s == d.sha) =>
                {
                    w.candidate = true
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the status of `id` is remembered (read, or seeded).
    pub fn knows(&self, id: u64) -> bool {
        self.lock().contains_key(&id)
    }

    pub fn remember(&self, got: Vec<(u64, StatusInfo)>) {
        self.lock().extend(got);
    }

    /// The remembered status of `id`; `None` when it was never read.
    pub fn get(&self, id: u64) -> Option<StatusInfo> {
        self.lock().get(&id).cloned()
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
            if raw == "none" || raw.is_empty() || d.state == DeployState::Unknown {
                continue;
            }
            cache.insert(
                id,
                StatusInfo {
                    state: Some(raw.to_string()),
                    url: d.url.as_ref().map(|u| u.as_str().to_string()),
                    log_url: d.log_url.as_ref().map(|u| u.as_str().to_string()),
                },
            );
        }
    }
}
