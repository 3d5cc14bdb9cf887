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
                    kv("url", opt(&d.url), t),
                ];
                if let Some(b) = state.burn_for(d.service.as_str()) {
                    l.push(kv("SLO", b, t));
                }
                l.push(Line::from(vec![
                    Span::styled("b", t.key),
                    Span::styled(
                        if d.current {
                            " roll back to the previous good deploy"
                        } else {
                            " roll back (to this deploy if it is older and good)"
                        },
                        t.muted,
                    ),
                ]));
                l
            }
        };
        details(f, da, state, "Details", lines);
    }
}
