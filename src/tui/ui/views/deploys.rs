//! The Deploys view: grouped by service and environment, newest first.

use super::*;

pub fn deploys(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let list = state.deploys();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Deploys).filter.clone();
    table(
        f,
        ta,
        state,
        View::Deploys,
        title_with_count("Deploys", list.len(), state.snap.deploys.len(), &filter),
        vec![
            "SERVICE", "ENV", "STATE", "LIVE", "REF", "SHA", "AGE", "BY", "GATE",
        ],
        vec![
            Constraint::Length(10),
            Constraint::Length(11),
            Constraint::Length(11),
            Constraint::Length(4),
            Constraint::Min(8),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(12),
            Constraint::Length(6),
        ],
        list.len(),
        &state.empty_reason(Supplies::Deploys, "no deploys"),
        |i| {
            let d = list[i];
            let first = i == 0
                || list[i - 1].service != d.service
                || list[i - 1].environment != d.environment;
            let env = d.environment.to_string();
            let prod = state.is_production(&env);
            Row::new(vec![
                Cell::from(Span::styled(
                    if first {
                        d.service.to_string()
                    } else {
                        String::new()
                    },
                    t.title,
                )),
                Cell::from(Span::styled(
                    if first { env.clone() } else { String::new() },
                    if prod { t.warn } else { t.muted },
                )),
                Cell::from(deploy_state_span(d.state, t)),
                Cell::from(Span::styled(if d.current { "LIVE" } else { "" }, t.ok)),
                Cell::from(d.git_ref.to_string()),
                Cell::from(Span::styled(
                    util::short_sha(d.sha.as_str()).to_string(),
                    t.muted,
                )),
                Cell::from(Span::styled(util::age(state.now, d.created_at), t.muted)),
                Cell::from(opt(&d.creator)),
                Cell::from(if first {
                    gate_span(state.snap.gate_for(d.service.as_str()), t)
                } else {
                    Span::raw("")
                }),
            ])
        },
    );
    if let Some(da) = da {
        let lines = match state.selected_deploy() {
            None => vec![muted_line("nothing selected", t)],
            Some(d) => {
                let mut l = vec![
                    Line::from(vec![
                        Span::styled(format!("{} / {}", d.service, d.environment), t.title),
                        Span::raw("  "),
                        deploy_state_span(d.state, t),
                        Span::styled(if d.current { "  LIVE" } else { "" }, t.ok),
                    ]),
                    kv("ref", d.git_ref.to_string(), t),
                    kv("sha", d.sha.to_string(), t),
                    kv("by", opt(&d.creator), t),
                    kv(
                        "when",
                        format!("{} ago", util::age(state.now, d.created_at)),
                        t,
                    ),
                    kv("change", opt(&d.description), t),
                    kv("raw state", d.provider_state.to_string(), t),
                    kv("logs", opt(&d.log_url), t),
                ];
                if d.url.is_some() && d.url != d.log_url {
                    l.push(kv("url", opt(&d.url), t));
                }
                if let Some(why) = state
                    .suspects()
                    .deploys
                    .get(&format!("{}/{}", d.provider, d.id))
                {
                    l.push(Line::from(vec![
                        Span::styled(format!("{:<10}", "suspect"), t.muted),
                        Span::styled(format!("⚠ {why}"), t.crit),
                    ]));
                }
                if let Some(b) = state.burn_for(d.service.as_str()) {
                    l.push(kv("SLO", b, t));
                }
                l.extend(commit_lines(state, d));
                l.push(Line::from(vec![
                    Span::styled("b", t.key),
                    Span::styled(
                        " roll back: choose the target (Vercel previews are promoted)",
                        t.muted,
                    ),
                ]));
                l
            }
        };
        details(f, da, state, "Details", lines);
    }
}

/// What the deploy changed: the range from the deploy it followed, and
/// its commits when the provider read them (newest first).
fn commit_lines(state: &State, d: &Deploy) -> Vec<Line<'static>> {
    use crate::tui::deploy_depth::{Loaded, base_of, key_of};
    let t = &state.theme;
    let Some(base) = base_of(state, d) else {
        return vec![kv(
            "commits",
            "- (no earlier good deploy of another sha)",
            t,
        )];
    };
    let range = format!(
        "{}..{}",
        util::short_sha(base.sha.as_str()),
        util::short_sha(d.sha.as_str())
    );
    let mut out = Vec::new();
    match state.commits.ranges.get(&key_of(base, d)) {
        None => out.push(kv("commits", range, t)),
        Some(Loaded::Loading) => out.push(kv("commits", format!("{range} (reading…)"), t)),
        Some(Loaded::Failed(e)) => out.push(Line::from(vec![
            Span::styled(format!("{:<10}", "commits"), t.muted),
            Span::styled(format!("{range}: "), t.text),
            Span::styled(e.clone(), t.warn),
        ])),
        Some(Loaded::Ready(r)) => {
            let what = match r.status.as_str() {
                "behind" => format!("{range}: takes back {} commit(s)", r.behind_by),
                "identical" => format!("{range}: the same code"),
                "diverged" => format!("{range}: {} in, {} out (diverged)", r.ahead_by, r.behind_by),
                _ => {
                    let n = r.total.max(r.ahead_by);
                    format!("{range}: {n} commit{}", if n == 1 { "" } else { "s" })
                }
            };
            out.push(kv("commits", what, t));
            for (sha, author, msg) in r.commits.iter().rev().take(8) {
                out.push(Line::from(vec![
                    Span::styled(format!("  {sha} "), t.muted),
                    Span::styled(msg.to_string(), t.text),
                    Span::styled(
                        author
                            .as_ref()
                            .map(|a| format!(" — {a}"))
                            .unwrap_or_default(),
                        t.muted,
                    ),
                ]));
            }
            let shown = r.commits.len().min(8);
            if (r.total as usize) > shown {
                out.push(muted_line(
                    &format!("  … {} more", r.total as usize - shown),
                    t,
                ));
            }
            if let Some(u) = &r.url {
                out.push(kv("compare", u.to_string(), t));
            }
        }
    }
    out
}
