//! A deploy's commit range: `GET /repos/{o}/{r}/compare/{base}...{head}`
//! (GitHub REST "Compare two commits"), read when the console shows a
//! deploy's details. One page of 100 commits (oldest first, as GitHub
//! lists them) with the range's totals: `ahead_by` commits came with the
//! deploy, `behind_by` went away (a rollback's range reads `behind`).

use super::Github;
use super::wire::GhCompare;
use crate::model::CommitRange;
use crate::providers::ProviderError;
use crate::providers::http::seg;
use crate::text::SafeText;

/// Commits read per range (one page).
pub const COMMITS_PER_RANGE: usize = 100;

impl Github {
    pub(super) async fn compare(
        &self,
        service: &str,
        base: &str,
        head: &str,
    ) -> Result<CommitRange, ProviderError> {
        let repo = self.repo_for(service)?;
        let url = self.http.url(&format!(
            "{}/compare/{}...{}",
            repo.route(),
            seg(base),
            seg(head)
        ));
        let c: GhCompare = self
            .http
            .get_json(&url, &[("per_page", COMMITS_PER_RANGE.to_string())])
            .await
            .map_err(|e| self.explain(e, false))?;
        Ok(CommitRange {
            base: SafeText::line(base),
            head: SafeText::line(head),
            status: SafeText::line(c.status.as_deref().unwrap_or("unknown")),
            ahead_by: c.ahead_by,
            behind_by: c.behind_by,
            total: c.total_commits,
            commits: c
                .commits
                .iter()
                .map(|k| {
                    let author = k
                        .author
                        .as_ref()
                        .and_then(|a| a.login.clone())
                        .or_else(|| k.commit.author.as_ref().and_then(|a| a.name.clone()));
                    (
                        SafeText::line(crate::util::short_sha(&k.sha)),
                        author.as_deref().map(SafeText::line),
                        SafeText::line(k.commit.message.lines().next().unwrap_or("")),
                    )
                })
                .collect(),
            url: c
                .html_url
                .as_deref()
                .filter(|u| crate::util::is_web_url(u))
                .map(SafeText::line),
        })
    }
}
