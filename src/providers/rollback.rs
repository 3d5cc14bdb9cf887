//! Rules shared by the deploy providers (GitHub, Vercel): which deploy is
//! live, which one a rollback goes to, and how the stakes read.
//!
//! - **Live** (`current`): per service and environment, the newest deploy
//!   whose state is `success`.
//! - **Rollback target** without `--to`: the newest deploy older than the
//!   live one that succeeded (`success`, or `inactive` = succeeded and was
//!   superseded) and whose sha differs from the live sha (a deploy without
//!   a known sha counts as different). None → refused.
//! - **`--to ID`**: must be a deploy of that service and environment, must
//!   have succeeded, and must not be the live deploy.

use super::{ErrorKind, ProviderError};
use crate::model::{Deploy, DeployState, Time};
use crate::ops::WriteOp;
use crate::util;

/// What a rollback asks for: the service, the environment and, when named,
/// the deploy to roll back to.
pub struct Requested<'a> {
    pub service: &'a str,
    pub environment: &'a str,
    pub to: Option<&'a str>,
}

/// The rollback `op` asks for, or "`op` is not supported by `vendor`" for
/// any other write (the deploy providers carry out rollbacks only).
pub fn requested<'a>(
    provider: &str,
    vendor: &str,
    op: &'a WriteOp,
) -> Result<Requested<'a>, ProviderError> {
    match op {
        WriteOp::Rollback {
            service,
            environment,
            to,
            ..
        } => Ok(Requested {
            service,
            environment,
            to: to.as_deref(),
        }),
        other => Err(ProviderError::op_unsupported(provider, vendor, other)),
    }
}

/// Mark the newest successful deploy of each (service, environment) as
/// `current`; every other one is not current.
pub fn mark_current(deploys: &mut [Deploy]) {
    let mut order: Vec<usize> = (0..deploys.len()).collect();
    crate::order::sort_by(&mut order, |&a, &b| newest_first(&deploys[a], &deploys[b]));
    let mut seen: std::collections::HashSet<(String, String)> = Default::default();
    for i in order {
        let d = &mut deploys[i];
        d.current = false;
        if d.state == DeployState::Success {
            let k = (
                d.service.as_str().to_string(),
                d.environment.as_str().to_string(),
            );
            if !seen.contains(&k) {
                seen.insert(k);
                d.current = true;
            }
        }
    }
}

/// Newest first: by creation time, then by id (numeric when both are numbers).
pub fn newest_first(a: &Deploy, b: &Deploy) -> std::cmp::Ordering {
    b.created_at.cmp(&a.created_at).then_with(|| {
        match (
            a.id.as_str().parse::<u64>().ok(),
            b.id.as_str().parse::<u64>().ok(),
        ) {
            (Some(x), Some(y)) => y.cmp(&x),
            _ => b.id.cmp(&a.id),
        }
    })
}

/// Succeeded: live now (`success`) or superseded after succeeding
/// (`inactive`); what a rollback may go to.
pub fn good(d: &Deploy) -> bool {
    matches!(d.state, DeployState::Success | DeployState::Inactive)
}

/// Pick the deploy to roll back to among `group` (the deploys of one service
/// in one environment, any order). Returns (live, target).
pub fn pick<'a>(
    provider: &str,
    service: &str,
    environment: &str,
    group: &'a [Deploy],
    to: Option<&str>,
) -> Result<(Option<&'a Deploy>, &'a Deploy), ProviderError> {
    pick_skipping(provider, service, environment, group, to, &[])
}

/// [`pick`], never choosing on its own a deploy whose sha is in `skip`
/// (shas an earlier rollback moved away from: after a redeploy-style
/// rollback the bad deploy is older than the new live one, and a second
/// rollback must not bring it back). `--to` may still name one.
pub fn pick_skipping<'a>(
    provider: &str,
    service: &str,
    environment: &str,
    group: &'a [Deploy],
    to: Option<&str>,
    skip: &[String],
) -> Result<(Option<&'a Deploy>, &'a Deploy), ProviderError> {
    let mut sorted: Vec<&Deploy> = group.iter().collect();
    crate::order::sort_by(&mut sorted, |a, b| newest_first(a, b));
    if sorted.is_empty() {
        return Err(ProviderError::new(
            provider,
            ErrorKind::NotFound,
            format!("no deploys of {service} in {environment}"),
        ));
    }
    let live = sorted.iter().find(|d| d.current).copied();
    let target = match to {
        Some(id) => {
            let t = sorted
                .iter()
                .find(|d| d.id.as_str() == id)
                .copied()
                .ok_or_else(|| {
                    ProviderError::new(
                        provider,
                        ErrorKind::NotFound,
                        format!(
                            "no deploy {id} of {service} in {environment} (see `sitrep deploys --service {service} --env {environment}`)"
                        ),
                    )
                })?;
            if live.is_some_and(|l| l.id == t.id) {
                return Err(ProviderError::new(
                    provider,
                    ErrorKind::Conflict { status: 409 },
                    format!(
                        "deploy {id} is already live in {service}/{environment}; nothing to roll back"
                    ),
                ));
            }
            if !good(t) {
                return Err(ProviderError::new(
                    provider,
                    ErrorKind::Conflict { status: 409 },
                    format!(
                        "deploy {id} of {service} in {environment} is {}; roll back only to a deploy that succeeded",
                        t.state.label()
                    ),
                ));
            }
            t
        }
        None => sorted
            .iter()
            .find(|d| {
                good(d)
                    && !d.current
                    && !skip.iter().any(|s| !s.is_empty() && s == d.sha.as_str())
                    && live.is_none_or(|l| {
                        d.created_at < l.created_at && (d.sha != l.sha || d.sha.is_empty())
                    })
            })
            .copied()
            .ok_or_else(|| {
                ProviderError::new(
                    provider,
                    ErrorKind::Conflict { status: 409 },
                    format!(
                        "no earlier good deploy of {service} in {environment} to roll back to{}{}",
                        match live {
                            Some(l) => format!(
                                " (live: {} {}; no older successful deploy of another sha)",
                                l.git_ref,
                                util::short_sha(l.sha.as_str())
                            ),
                            None => " (nothing is live)".into(),
                        },
                        if skip.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; skipped, rolled back from earlier: {}",
                                skip.iter()
                                    .map(|s| util::short_sha(s))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }
                    ),
                )
            })?,
    };
    Ok((live, target))
}

/// "v2.14.0 9f3c2ab, 11m ago by bob (#1893)".
pub fn describe(d: &Deploy, now: Time) -> String {
    format!(
        "{} {}, {} ago by {} (#{})",
        d.git_ref,
        util::short_sha(d.sha.as_str()),
        util::age(now, d.created_at),
        d.creator.as_ref().map(|c| c.as_str()).unwrap_or("?"),
        d.id
    )
}

/// The (label, value) stakes of a rollback plan.
pub fn stakes(live: Option<&Deploy>, target: &Deploy, now: Time) -> Vec<(String, String)> {
    vec![
        (
            "from".into(),
            live.map(|l| describe(l, now))
                .unwrap_or_else(|| "nothing live".into()),
        ),
        ("to".into(), describe(target, now)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::SafeText;
    use chrono::TimeZone;

    fn d(id: &str, sha: &str, st: DeployState, mins: i64) -> Deploy {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 0, 0)
            .single()
            .unwrap_or_default();
        Deploy {
            provider: SafeText::line("gh"),
            service: SafeText::line("svc"),
            environment: SafeText::line("production"),
            id: SafeText::line(id),
            git_ref: SafeText::line("main"),
            sha: SafeText::line(sha),
            state: st,
            provider_state: SafeText::line(st.label()),
            created_at: now - chrono::Duration::minutes(mins),
            creator: None,
            url: None,
            current: false,
            log_url: None,
            description: None,
        }
    }

    proptest::proptest! {
        /// Whatever the history, an automatic rollback target is a deploy
        /// that succeeded, is older than the live one and carries another
        /// sha; and a refusal means no such deploy exists.
        #[test]
        fn target_is_always_an_older_good_deploy_of_another_sha(
            hist in proptest::collection::vec((0u8..4, 0u8..6, 0i64..500), 0..25),
            skipped in proptest::collection::vec(0u8..4, 0..2)
        ) {
            let skip: Vec<String> = skipped.iter().map(|s| format!("sha{s}")).collect();
            use DeployState::*;
            let states = [Success, Failure, Inactive, InProgress, Queued, Canceled];
            let mut g: Vec<Deploy> = hist
                .iter()
                .enumerate()
                .map(|(i, (sha, st, mins))| {
                    d(&i.to_string(), &format!("sha{sha}"), states[*st as usize], *mins)
                })
                .collect();
            mark_current(&mut g);
            let live = g.iter().find(|x| x.current).cloned();
            proptest::prop_assert!(g.iter().filter(|x| x.current).count() <= 1);
            match pick_skipping("gh", "svc", "production", &g, None, &skip) {
                Ok((l, t)) => {
                    proptest::prop_assert_eq!(l.cloned(), live.clone());
                    proptest::prop_assert!(good(t) && !t.current);
                    proptest::prop_assert!(!skip.contains(&t.sha.as_str().to_string()));
                    if let Some(l) = &live {
                        proptest::prop_assert!(t.created_at < l.created_at);
                        proptest::prop_assert!(t.sha != l.sha);
                    }
                }
                Err(_) => {
                    let any = g.iter().any(|x| {
                        good(x)
                            && !x.current
                            && !skip.contains(&x.sha.as_str().to_string())
                            && live.as_ref().is_none_or(|l| x.created_at < l.created_at && x.sha != l.sha)
                    });
                    proptest::prop_assert!(!any);
                }
            }
        }
    }

    #[test]
    fn picks_previous_good_of_another_sha() {
        use DeployState::*;
        let mut g = vec![
            d("5", "eee", Failure, 1),
            d("4", "ddd", Success, 10),
            d("3", "ddd", Success, 20),
            d("2", "bbb", Inactive, 30),
            d("1", "aaa", Success, 40),
        ];
        mark_current(&mut g);
        assert!(g[1].current && !g[2].current);
        let (live, t) = pick("gh", "svc", "production", &g, None).unwrap();
        assert_eq!(live.unwrap().id.as_str(), "4");
        assert_eq!(t.id.as_str(), "2");
        let e = pick("gh", "svc", "production", &g, Some("5")).unwrap_err();
        assert!(e.to_string().contains("is failure"), "{e}");
        let e = pick("gh", "svc", "production", &g, Some("4")).unwrap_err();
        assert!(e.to_string().contains("already live"), "{e}");
        let e = pick("gh", "svc", "production", &g, Some("99")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }
}
