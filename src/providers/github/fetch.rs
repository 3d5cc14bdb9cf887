//! Reads: deployments, their latest statuses, and the deploy workflow's runs.
//!
//! Per repository × environment: `GET /repos/{o}/{r}/deployments?
//! environment=…&per_page=100`, all pages up to `max_pages` through the
//! shared `Link` page loop: once the first page's `Link` names the last
//! page, every other page is requested at once. The statuses the first
//! page already shows to be needed (see [`super::status_cache`]: the live
//! deploy, the rollback candidates, the newest few) are read while the
//! other pages load; any still needed after. Every request goes through
//! the provider's [`HttpClient`](crate::providers::http::HttpClient),
//! conditionally (`If-None-Match`): an unchanged refresh is answered with
//! 304s, which GitHub does not count against its rate limit.

use super::status_cache::StatusInfo;
use super::wire::{
    GhDeployment, GhRun, GhRuns, GhStatus, map_run, map_state, payload_from_sha, runs_environment,
};
use super::{Github, Repo};
use crate::model::{Deploy, DeployState, Fetched};
use crate::providers::http::{LinkPage, seg};
use crate::providers::{ErrorKind, ProviderError, rollback};
use crate::text::SafeText;
use futures::StreamExt;
use std::collections::HashSet;

/// The shas earlier sitrep rollbacks moved away from (never a candidate).
pub(super) fn rolled_back_from<'a>(
    list: impl IntoIterator<Item = &'a GhDeployment>,
) -> Vec<String> {
    let mut skip: Vec<String> = list
        .into_iter()
        .filter_map(|d| payload_from_sha(&d.payload))
        .collect();
    crate::order::sort(&mut skip);
    skip.dedup();
    skip
}

fn newest_first(a: &GhDeployment, b: &GhDeployment) -> std::cmp::Ordering {
    b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id))
}

impl Github {
    /// The URL and query of a deployments list.
    fn deployments_query(
        &self,
        repo: &Repo,
        env: Option<&str>,
        sha: Option<&str>,
    ) -> (String, Vec<(&'static str, String)>) {
        let mut q = Vec::new();
        if let Some(e) = env {
            q.push(("environment", e.to_string()));
        }
        if let Some(s) = sha {
            q.push(("sha", s.to_string()));
        }
        q.push(("per_page", "100".to_string()));
        (self.http.url(&format!("{}/deployments", repo.route())), q)
    }

    /// The first page of a deployments list.
    async fn first_deployments(
        &self,
        repo: &Repo,
        env: Option<&str>,
        sha: Option<&str>,
    ) -> Result<LinkPage<GhDeployment>, ProviderError> {
        let (url, q) = self.deployments_query(repo, env, sha);
        let q: Vec<(&str, String)> = q.into_iter().collect();
        self.http
            .get_link_page(&url, &q)
            .await
            .map_err(|e| self.explain(e, false))
    }

    /// The items of a list's first page and of the pages after it, up to
    /// `max_pages` in all.
    async fn rest_of<T: serde::de::DeserializeOwned>(
        &self,
        first: LinkPage<T>,
        max_pages: usize,
    ) -> Result<Vec<T>, ProviderError> {
        self.http
            .link_pages_after(first, max_pages)
            .await
            .map_err(|e| self.explain(e, false))
    }

    /// Deployments of `repo` (one environment and sha when given), up to
    /// `max_pages` pages of 100.
    pub(super) async fn list_deployments(
        &self,
        repo: &Repo,
        env: Option<&str>,
        sha: Option<&str>,
        max_pages: usize,
    ) -> Result<Vec<GhDeployment>, ProviderError> {
        let first = self.first_deployments(repo, env, sha).await?;
        self.rest_of(first, max_pages).await
    }

    /// The latest status of deployment `id` (GitHub lists statuses newest
    /// first); a deployment deleted since it was listed has none.
    async fn latest_status(
        &self,
        repo: &Repo,
        id: u64,
    ) -> Result<(u64, StatusInfo), ProviderError> {
        let url = self
            .http
            .url(&format!("{}/deployments/{id}/statuses", repo.route()));
        match self
            .http
            .get_link_page::<GhStatus>(&url, &[("per_page", "1".to_string())])
            .await
        {
            Ok(p) => {
                let s = p.items.into_iter().next();
                let web = |urls: &[&Option<String>]| {
                    urls.iter()
                        .copied()
                        .flatten()
                        .find(|u| crate::util::is_web_url(u))
                        .cloned()
                };
                let info = StatusInfo {
                    url: s
                        .as_ref()
                        .and_then(|s| web(&[&s.log_url, &s.target_url, &s.environment_url])),
                    log_url: s.as_ref().and_then(|s| web(&[&s.log_url, &s.target_url])),
                    state: s.map(|s| s.state),
                };
                Ok((id, info))
            }
            // Deleted between the list and this call.
            Err(e) if e.kind == ErrorKind::NotFound => Ok((id, StatusInfo::default())),
            Err(e) => Err(self.explain(e, false)),
        }
    }

    /// Deployments of one repository (one environment, or all when none is
    /// configured), newest first, each with its latest status when it was
    /// read (`None`: not read, see [`super::status_cache`]). `want`: ids
    /// whose status is read whatever the rules say (a rollback's `--to`).
    pub(super) async fn group(
        &self,
        repo: &Repo,
        env: Option<&str>,
        want: &[u64],
    ) -> Result<Vec<(GhDeployment, Option<StatusInfo>)>, ProviderError> {
        let window = self.opts.refresh_window;
        let first = self.first_deployments(repo, env, None).await?;
        // The cache of the last fetch, read beside the first page, tells
        // which statuses are known already.
        let runs_env = self.workflow.as_deref().map(runs_environment);
        self.statuses
            .settle(&self.basics.name, runs_env.as_deref())
            .await;
        // The statuses the first page already shows to be needed are read
        // while the remaining pages load: GitHub lists newest first, so the
        // first page holds the newest deploys. Only when the page is in that
        // order: a server listing oldest first would have the newest on the
        // last page, and reading ahead would only cost requests.
        let in_order = first
            .items
            .windows(2)
            .all(|w| newest_first(&w[0], &w[1]) != std::cmp::Ordering::Greater);
        let early: Vec<u64> = if in_order {
            let skip = rolled_back_from(&first.items);
            let mut ids = self.statuses.needed(&first.items, window, window, &skip);
            for id in want {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
            ids
        } else {
            Vec::new()
        };
        let (list, got) = futures::join!(
            self.rest_of(first, self.opts.max_pages),
            self.read_statuses(repo, &early, self.opts.status_concurrency)
        );
        let mut list = list?;
        self.statuses.remember(got?);
        // Newest-first order is not documented: sort.
        crate::order::sort_by(&mut list, newest_first);
        let skip = rolled_back_from(&list);
        let mut read: HashSet<u64> = early.into_iter().collect();
        // Rounds: each reads the statuses still needed, reaching twice as
        // far past the newest as the one before; usually the first (read
        // beside the pages) found the live deploy and a candidate.
        let mut reach = window.max(1);
        loop {
            let ids: Vec<u64> = self
                .statuses
                .needed(&list, window, reach, &skip)
                .into_iter()
                .chain(want.iter().copied().filter(|id| !self.statuses.knows(*id)))
                .filter(|id| read.insert(*id))
                .collect();
            if ids.is_empty() {
                break;
            }
            let got = self
                .read_statuses(repo, &ids, self.opts.status_concurrency)
                .await?;
            self.statuses.remember(got);
            reach = reach.saturating_mul(2);
        }
        Ok(list
            .into_iter()
            .map(|d| {
                let s = self.statuses.get(d.id);
                (d, s)
            })
            .collect())
    }

    /// The latest status of each deployment in `ids`, a few at a time.
    async fn read_statuses(
        &self,
        repo: &Repo,
        ids: &[u64],
        at_once: usize,
    ) -> Result<Vec<(u64, StatusInfo)>, ProviderError> {
        let futs: Vec<_> = ids
            .iter()
            .copied()
            .map(|id| self.latest_status(repo, id))
            .collect();
        futures::stream::iter(futs)
            .buffer_unordered(at_once.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    async fn group_deploys(
        &self,
        repo: &Repo,
        env: Option<&str>,
    ) -> Result<Vec<Deploy>, ProviderError> {
        let g = self.group(repo, env, &[]).await?;
        Ok(g.iter()
            .map(|(d, s)| self.to_deploy(repo, env, d, s.as_ref()))
            .collect())
    }

    pub(super) fn to_deploy(
        &self,
        repo: &Repo,
        env: Option<&str>,
        d: &GhDeployment,
        s: Option<&StatusInfo>,
    ) -> Deploy {
        let (state, raw) = match s {
            Some(s) => (
                map_state(s.state.as_deref()),
                s.state.as_deref().unwrap_or("none"),
            ),
            None => (DeployState::Unknown, "unknown"),
        };
        let environment = d
            .environment
            .as_deref()
            .or(env)
            .unwrap_or("production")
            .to_string();
        let url = s.and_then(|s| s.url.clone()).unwrap_or_else(|| {
            format!(
                "{}/{}/{}/deployments/{}",
                self.web,
                repo.owner,
                repo.name,
                seg(&environment)
            )
        });
        Deploy {
            provider: SafeText::line(&self.basics.name),
            service: SafeText::line(&repo.service),
            environment: SafeText::line(&environment),
            id: SafeText::line(&d.id.to_string()),
            git_ref: SafeText::line(&d.git_ref),
            sha: SafeText::line(&d.sha),
            state,
            provider_state: SafeText::line(raw),
            created_at: d.created_at,
            // A rollback sitrep made names the responder (in its payload),
            // not the token's owner that GitHub records as creator.
            creator: d
                .payload
                .pointer("/sitrep/actor")
                .and_then(|a| a.as_str())
                .filter(|_| {
                    d.payload.pointer("/sitrep/action").and_then(|a| a.as_str()) == Some("rollback")
                })
                .or_else(|| d.creator.as_ref().and_then(|c| c.login.as_deref()))
                .map(SafeText::line),
            url: Some(SafeText::line(&url)),
            log_url: s.and_then(|s| s.log_url.as_deref()).map(SafeText::line),
            current: false,
            description: d
                .description
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(SafeText::line),
        }
    }

    pub(super) fn envs(&self) -> Vec<Option<&str>> {
        if self.environments.is_empty() {
            vec![None]
        } else {
            self.environments.iter().map(|e| Some(e.as_str())).collect()
        }
    }

    pub(super) async fn fetch_all(&self) -> Result<Fetched, ProviderError> {
        let mut jobs = Vec::new();
        for repo in &self.repos {
            for env in self.envs() {
                jobs.push((repo, env));
            }
        }
        // Every repository and environment at once, and the workflow runs
        // beside them: the client bounds what is in flight (MAX_IN_FLIGHT).
        let groups = futures::future::join_all(
            jobs.into_iter()
                .map(|(repo, env)| self.group_deploys(repo, env)),
        );
        let runs = async {
            match &self.workflow {
                Some(wf) => {
                    futures::future::join_all(
                        self.repos.iter().map(|repo| self.workflow_runs(repo, wf)),
                    )
                    .await
                }
                None => Vec::new(),
            }
        };
        let (results, run_results) = futures::join!(groups, runs);
        let mut deploys = Vec::new();
        for r in results {
            deploys.extend(r?);
        }
        let mut runs = Vec::new();
        for r in run_results {
            runs.extend(r?);
        }
        // Keep the status cache to what is still listed.
        let ids: HashSet<u64> = deploys
            .iter()
            .filter_map(|d| d.id.as_str().parse().ok())
            .collect();
        self.statuses.retain(&ids);
        rollback::mark_current(&mut deploys);
        // Workflow runs are shown for information; none of them is "live".
        deploys.extend(runs);
        crate::order::sort_by(&mut deploys, rollback::newest_first);
        Ok(Fetched {
            deploys,
            ..Fetched::default()
        })
    }

    /// The newest runs (one page of 30) of the deploy workflow.
    async fn workflow_runs(
        &self,
        repo: &Repo,
        workflow: &str,
    ) -> Result<Vec<Deploy>, ProviderError> {
        let url = self.http.url(&format!(
            "{}/actions/workflows/{}/runs",
            repo.route(),
            seg(workflow)
        ));
        let page: GhRuns = self
            .http
            .get_json_retried(&url, &[("per_page", "30".to_string())])
            .await
            .map_err(|e| self.explain(e, false))?;
        let env = runs_environment(workflow);
        Ok(page
            .workflow_runs
            .into_iter()
            .map(|r| self.run_deploy(repo, &env, r))
            .collect())
    }

    fn run_deploy(&self, repo: &Repo, env: &str, r: GhRun) -> Deploy {
        let (state, raw) = map_run(r.status.as_deref(), r.conclusion.as_deref());
        let page = r
            .html_url
            .as_deref()
            .filter(|u| crate::util::is_web_url(u))
            .map(SafeText::line);
        Deploy {
            provider: SafeText::line(&self.basics.name),
            service: SafeText::line(&repo.service),
            environment: SafeText::line(env),
            id: SafeText::line(&r.id.to_string()),
            git_ref: SafeText::line(r.head_branch.as_deref().unwrap_or("-")),
            sha: SafeText::line(r.head_sha.as_deref().unwrap_or_default()),
            state,
            provider_state: SafeText::line(&raw),
            created_at: r.created_at,
            creator: r
                .actor
                .as_ref()
                .and_then(|a| a.login.as_deref())
                .map(SafeText::line),
            url: page.clone(),
            // The run's page is where its logs are.
            log_url: page,
            current: false,
            description: r
                .display_title
                .as_deref()
                .or(r.name.as_deref())
                .map(SafeText::line),
        }
    }
}
