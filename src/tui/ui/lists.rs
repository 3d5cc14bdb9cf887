//! The list views: Incidents, SLOs, Deploys, Flags. Only the visible rows
//! are built (virtualized), so 10,000 incidents cost what a screenful does.

use super::*;
use ratatui::widgets::{Cell, Row, Table, Wrap};

/// Split the body into the table and the details pane. Side by side when
/// wide; stacked when narrow, the table only as tall as its rows need so the
/// details get the rest.
fn split(state: &State, body: Rect) -> (Rect, Option<Rect>) {
    if state.view == View::Runbooks {
        // The list and a preview of the selected runbook.
        return if body.width >= 120 {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                    .areas(body);
            (a, Some(b))
        } else if body.height >= 18 {
            let h = (state.len(View::Runbooks) as u16 + 3).clamp(6, body.height / 2);
            let [a, b] = Layout::vertical([Constraint::Length(h), Constraint::Min(6)]).areas(body);
            (a, Some(b))
        } else {
            (body, None)
        };
    }
    if !state.show_details {
        return (body, None);
    }
    if body.width >= 120 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
            .areas(body);
        (a, Some(b))
    } else if body.height >= 18 {
        let rows = state.len(state.view) as u16 + 3;
        let table_h = rows.clamp(6, body.height.saturating_sub(8));
        let [a, b] =
            Layout::vertical([Constraint::Length(table_h), Constraint::Min(8)]).areas(body);
        (a, Some(b))
    } else {
        (body, None)
    }
}

/// The data rows of the current view's table (inside border, below header).
pub fn rows_area(state: &State, body: Rect) -> Rect {
    let (table, _) = split(state, body);
    Rect::new(
        table.x + 1,
        table.y + 2,
        table.width.saturating_sub(2),
        table.height.saturating_sub(3),
    )
}

fn title_with_count(name: &str, shown: usize, total: usize, filter: &str) -> String {
    if filter.is_empty() {
        format!("{name} ({total})")
    } else {
        format!("{name} ({shown} of {total}, /{filter})")
    }
}

/// Draw a virtualized table: `build(i)` makes row `i`.
#[allow(clippy::too_many_arguments)]
fn table<'a>(
    f: &mut Frame,
    area: Rect,
    state: &State,
    view: View,
    title: String,
    header: Vec<&'static str>,
    widths: Vec<Constraint>,
    len: usize,
    empty: &str,
    build: impl Fn(usize) -> Row<'a>,
) {
    let t = &state.theme;
    let block = panel(&title, t, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if len == 0 {
        f.render_widget(Paragraph::new(muted_line(empty, t)), inner);
        return;
    }
    let h = inner.height.saturating_sub(1) as usize;
    let sel = state.list(view).selected;
    let off = scroll_offset(sel, h);
    let rows: Vec<Row> = (off..(off + h).min(len))
        .map(|i| {
            let r = build(i);
            if i == sel { r.style(t.selection) } else { r }
        })
        .collect();
    let header = Row::new(
        header
            .into_iter()
            .map(|h| Cell::from(Span::styled(h, t.muted.add_modifier(Modifier::BOLD)))),
    );
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
    if len > h && inner.width > 12 {
        let pos = format!(" {}/{} ", sel + 1, len);
        let r = Rect::new(
            area.x + area.width.saturating_sub(pos.len() as u16 + 2),
            area.y + area.height - 1,
            pos.len() as u16,
            1,
        );
        f.render_widget(Paragraph::new(Span::styled(pos, t.muted)), r);
    }
}

fn details(f: &mut Frame, area: Rect, state: &State, title: &str, lines: Vec<Line<'static>>) {
    let t = &state.theme;
    let block = panel(title, t, false);
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn kv(k: &str, v: impl Into<String>, t: &crate::theme::Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{k:<10}"), t.muted),
        Span::styled(v.into(), t.text),
    ])
}

fn opt(s: &Option<crate::text::SafeText>) -> String {
    s.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn incidents(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let list = state.filtered_incidents(View::Incidents).rows;
    let total: usize = state.snap.open_counts().iter().sum();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Incidents).filter.clone();
    table(
        f,
        ta,
        state,
        View::Incidents,
        title_with_count("Incidents", list.len(), total, &filter),
        vec!["SEV", "STATUS", "AGE", "SERVICE", "TITLE"],
        vec![
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Min(20),
        ],
        list.len(),
        &if filter.is_empty() {
            state.empty_incidents_message().0
        } else {
            "nothing matches the filter".to_string()
        },
        |i| {
            let inc = &state.snap.incidents[list[i]];
            Row::new(vec![
                Cell::from(sev_span(inc.severity, t)),
                Cell::from(status_span(inc.status, t)),
                Cell::from(Span::styled(util::age(state.now, inc.created_at), t.muted)),
                Cell::from(opt(&inc.service)),
                Cell::from(inc.title.to_string()),
            ])
        },
    );
    if let Some(da) = da {
        let lines = match state.selected_incident() {
            None => vec![muted_line("nothing selected", t)],
            Some(i) => {
                let mut l = vec![
                    Line::from(vec![
                        sev_span(i.severity, t),
                        Span::raw(" "),
                        status_span(i.status, t),
                    ]),
                    Line::from(Span::styled(i.title.to_string(), t.title)),
                    kv("id", format!("{}/{}", i.provider, i.id), t),
                    kv("service", opt(&i.service), t),
                    kv("assignee", opt(&i.assignee), t),
                    kv(
                        "opened",
                        format!(
                            "{} ago ({})",
                            util::age(state.now, i.created_at),
                            i.created_at.format("%Y-%m-%d %H:%MZ")
                        ),
                        t,
                    ),
                    kv("runbook", opt(&i.runbook), t),
                    kv("url", opt(&i.url), t),
                ];
                if state.read_only {
                    l.push(muted_line("read-only: actions disabled", t));
                } else {
                    l.push(Line::from(vec![
                        Span::styled("a", t.key),
                        Span::styled(" ack  ", t.muted),
                        Span::styled("R", t.key),
                        Span::styled(" resolve  ", t.muted),
                        Span::styled("n", t.key),
                        Span::styled(" note  ", t.muted),
                        Span::styled("s", t.key),
                        Span::styled(" silence", t.muted),
                    ]));
                }
                l
            }
        };
        details(f, da, state, "Details", lines);
    }
}

pub fn slos(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let list = state.slos();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Slos).filter.clone();
    // Narrow terminals drop the objective and 7-day columns and the `x`.
    let narrow = ta.width < 110;
    let mut header = if narrow {
        vec!["SLO", "BUDGET"]
    } else {
        vec!["SLO", "OBJ", "BUDGET", "7D"]
    };
    header.extend(BURN_WINDOWS);
    header.push("STATE");
    let mut widths = if narrow {
        vec![Constraint::Min(10), Constraint::Length(6)]
    } else {
        vec![
            Constraint::Min(14),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(4),
        ]
    };
    widths.extend([Constraint::Length(if narrow { 5 } else { 6 }); 7]);
    widths.push(Constraint::Length(if narrow { 11 } else { 12 }));
    table(
        f,
        ta,
        state,
        View::Slos,
        title_with_count("SLOs", list.len(), state.snap.slos.len(), &filter),
        header,
        widths,
        list.len(),
        "no SLOs configured",
        |i| {
            let s = list[i];
            let budget = Cell::from(Span::styled(
                util::share(s.error_budget_remaining),
                match s.error_budget_remaining {
                    Some(r) if r <= 0.0 => t.crit,
                    Some(r) if r < 0.25 => t.warn,
                    Some(_) => t.ok,
                    None => t.stale,
                },
            ));
            let mut cells = if narrow {
                vec![Cell::from(s.name.to_string()), budget]
            } else {
                vec![
                    Cell::from(s.name.to_string()),
                    Cell::from(util::pct(s.objective)),
                    budget,
                    Cell::from(util::share(s.budget_burned_7d)),
                ]
            };
            for (w, v) in s.burn_rates.iter() {
                // Highlight the windows whose alert pair fires.
                let hot = s
                    .alerts
                    .iter()
                    .any(|a| a.firing && (a.long == w || a.short == w));
                let mut text = util::burn(v);
                if narrow {
                    text = text.trim_end_matches('x').to_string();
                }
                cells.push(Cell::from(Span::styled(
                    text,
                    if hot { t.crit } else { t.text },
                )));
            }
            cells.push(Cell::from(slo_state_span(s, t)));
            Row::new(cells)
        },
    );
    if let Some(da) = da {
        let Some(s) = state.selected_slo() else {
            details(
                f,
                da,
                state,
                "Details",
                vec![muted_line("nothing selected", t)],
            );
            return;
        };
        let block = panel("Burn", t, false);
        let inner = block.inner(da);
        f.render_widget(block, da);
        let mut lines = vec![
            Line::from(Span::styled(s.name.to_string(), t.title)),
            kv("service", opt(&s.service), t),
            kv(
                "objective",
                format!("{} over {}", util::pct(s.objective), s.window),
                t,
            ),
        ];
        if let Some(e) = &s.error {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<10}", "error"), t.muted),
                Span::styled(e.to_string(), t.crit),
            ]));
        }
        let mut budget = vec![Span::styled(format!("{:<10}", "budget"), t.muted)];
        budget.extend(budget_bar(s.error_budget_remaining, 16, t));
        lines.push(Line::from(budget));
        lines.push(kv("7d burned", util::share(s.budget_burned_7d), t));
        lines.push(Line::from(vec![
            Span::styled(format!("{:<10}", "gate"), t.muted),
            gate_span(Some(s.gate), t),
            Span::styled(
                if s.gate == Gate::Frozen {
                    "  deploys frozen; rollback allowed"
                } else {
                    ""
                },
                t.muted,
            ),
        ]));
        for a in &s.alerts {
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        "{:<7}{:>3}/{:<4} ×{:<5}",
                        format!("{:?}", a.severity).to_lowercase(),
                        a.long,
                        a.short,
                        a.factor
                    ),
                    t.muted,
                ),
                if a.firing {
                    Span::styled("FIRING", t.crit)
                } else if !s.has_data() {
                    // Unknown is not "ok".
                    Span::styled("no data", t.stale)
                } else {
                    Span::styled("ok", t.ok)
                },
            ]));
        }
        let text_h = (lines.len() as u16).min(inner.height);
        let [ta2, chart] =
            Layout::vertical([Constraint::Length(text_h), Constraint::Min(0)]).areas(inner);
        f.render_widget(Paragraph::new(lines), ta2);
        if chart.height >= 2 && !s.history.is_empty() {
            let [label, sp] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(chart);
            f.render_widget(Paragraph::new(muted_line("1h burn rate history", t)), label);
            burn_sparkline(f, sp, &s.history, t);
        }
    }
}

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
            Constraint::Length(9),
            Constraint::Length(4),
            Constraint::Min(8),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(12),
            Constraint::Length(6),
        ],
        list.len(),
        "no deploys",
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

pub fn flags(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let list = state.flags();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Flags).filter.clone();
    table(
        f,
        ta,
        state,
        View::Flags,
        title_with_count("Flags", list.len(), state.snap.flags.len(), &filter),
        vec!["STATE", "KILL", "KEY", "ENV", "CHANGED", "PROVIDER"],
        vec![
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Min(16),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(8),
        ],
        list.len(),
        "no flags",
        |i| {
            let fl = list[i];
            Row::new(vec![
                Cell::from(flag_span(fl.on, t)),
                Cell::from(Span::styled(if fl.kill_switch { "KS" } else { "" }, t.warn)),
                Cell::from(fl.key.to_string()),
                Cell::from(opt(&fl.environment)),
                Cell::from(Span::styled(
                    fl.updated_at
                        .map(|u| util::age(state.now, u))
                        .unwrap_or_else(|| "-".into()),
                    t.muted,
                )),
                Cell::from(Span::styled(fl.provider.to_string(), t.muted)),
            ])
        },
    );
    if let Some(da) = da {
        let lines = match state.selected_flag() {
            None => vec![muted_line("nothing selected", t)],
            Some(fl) => vec![
                Line::from(vec![
                    flag_span(fl.on, t),
                    Span::raw(" "),
                    Span::styled(fl.key.to_string(), t.title),
                ]),
                kv("name", fl.name.to_string(), t),
                kv(
                    "kind",
                    if fl.kill_switch {
                        "kill switch".to_string()
                    } else {
                        "feature flag".to_string()
                    },
                    t,
                ),
                kv("env", opt(&fl.environment), t),
                kv(
                    "changed",
                    fl.updated_at
                        .map(|u| format!("{} ago", util::age(state.now, u)))
                        .unwrap_or_else(|| "-".into()),
                    t,
                ),
                kv("provider", fl.provider.to_string(), t),
                kv("url", opt(&fl.url), t),
                Line::from(vec![
                    Span::styled("K", t.key),
                    Span::styled(" turn off (kill switch)  ", t.muted),
                    Span::styled("O", t.key),
                    Span::styled(" turn on", t.muted),
                ]),
            ],
        };
        details(f, da, state, "Details", lines);
    }
}

fn outcome_style(o: crate::audit::Outcome, t: &crate::theme::Theme) -> Style {
    use crate::audit::Outcome;
    match o {
        Outcome::Ok => t.ok,
        Outcome::Error => t.crit,
        Outcome::Refused => t.warn,
        Outcome::Pending => t.info,
        Outcome::DryRun => t.muted,
    }
}

pub fn audit(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let rows = state.audit_rows();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Audit).filter.clone();
    let wide = ta.width >= 110;
    let mut title = title_with_count("Audit log", rows.len(), state.audit.records.len(), &filter);
    match &state.audit.chain {
        Some(Ok(s)) => title.push_str(&format!(" · {s}")),
        Some(Err(e)) => title.push_str(&format!(" · BROKEN: {}", crate::text::truncate(e, 60))),
        None if !state.audit.loaded => title.push_str(" · reading…"),
        None => {}
    }
    table(
        f,
        ta,
        state,
        View::Audit,
        title,
        if wide {
            vec![
                "SEQ", "TIME", "ACTION", "OUTCOME", "TARGET", "ACTOR", "REASON",
            ]
        } else {
            vec!["SEQ", "TIME", "ACTION", "OUTCOME", "TARGET", "REASON"]
        },
        if wide {
            vec![
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(16),
                Constraint::Length(8),
                Constraint::Min(14),
                Constraint::Length(18),
                Constraint::Min(12),
            ]
        } else {
            vec![
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(16),
                Constraint::Length(8),
                Constraint::Min(12),
                Constraint::Min(10),
            ]
        },
        rows.len(),
        if state.audit.loaded {
            "no actions recorded yet"
        } else {
            "reading the audit log…"
        },
        |i| {
            let r = rows[i];
            // ts is RFC 3339: show the time of day.
            let time = r.ts.get(11..19).unwrap_or(&r.ts).to_string();
            let mut cells = vec![
                Cell::from(Span::styled(r.seq.to_string(), t.muted)),
                Cell::from(Span::styled(time, t.muted)),
                Cell::from(r.action.clone()),
                Cell::from(Span::styled(
                    r.outcome.as_str(),
                    outcome_style(r.outcome, t),
                )),
                Cell::from(r.target.clone()),
            ];
            if wide {
                cells.push(Cell::from(r.actor.clone()));
            }
            cells.push(Cell::from(r.reason.clone()));
            Row::new(cells)
        },
    );
    if let Some(da) = da {
        let sel = state.list(View::Audit).selected;
        let lines = match rows.get(sel) {
            None => {
                let mut l = vec![muted_line("nothing selected", t)];
                if state.audit.unreadable > 0 {
                    l.push(Line::from(Span::styled(
                        format!(
                            "{} unreadable line(s): run `sitrep audit verify`",
                            state.audit.unreadable
                        ),
                        t.crit,
                    )));
                }
                l
            }
            Some(r) => {
                let mut l = vec![
                    Line::from(vec![
                        Span::styled(format!("#{} {} ", r.seq, r.action), t.title),
                        Span::styled(r.outcome.as_str(), outcome_style(r.outcome, t)),
                    ]),
                    kv("when", r.ts.clone(), t),
                    kv("who", format!("{} on {}", r.actor, r.host), t),
                    kv(
                        "provider",
                        r.provider.clone().unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv("target", r.target.clone(), t),
                    kv(
                        "reason",
                        if r.reason.is_empty() {
                            "-".into()
                        } else {
                            r.reason.clone()
                        },
                        t,
                    ),
                    kv(
                        "incident",
                        r.incident.clone().unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "runbook",
                        r.runbook
                            .as_ref()
                            .map(|rb| format!("{} step {}", rb.id, rb.step))
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "key",
                        r.idempotency_key.clone().unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv("hash", r.hash.get(..16).unwrap_or(&r.hash).to_string(), t),
                ];
                let detail = serde_json::to_string(&r.detail).unwrap_or_default();
                l.push(kv(
                    "detail",
                    crate::text::SafeText::line(&detail).to_string(),
                    t,
                ));
                l
            }
        };
        details(f, da, state, "Record", lines);
    }
}

pub fn runbooks(f: &mut Frame, body: Rect, state: &State) {
    if let Some(w) = &state.runbooks.walk {
        return walk(f, body, state, w);
    }
    let t = &state.theme;
    let rows = state.runbook_rows();
    let filter = state.list(View::Runbooks).filter.clone();
    let (ta, da) = split(state, body);
    let mut title = title_with_count(
        "Runbooks",
        rows.len(),
        state.runbooks.catalog.runbooks.len(),
        &filter,
    );
    if !state.runbooks.catalog.broken.is_empty() {
        title.push_str(&format!(
            " · {} broken",
            state.runbooks.catalog.broken.len()
        ));
    }
    table(
        f,
        ta,
        state,
        View::Runbooks,
        title,
        vec!["ID", "TITLE", "STEPS", "REVIEWED"],
        vec![
            Constraint::Length(18),
            Constraint::Min(16),
            Constraint::Length(5),
            Constraint::Length(11),
        ],
        rows.len(),
        "no runbooks",
        |i| {
            let rb = rows[i];
            let stale = rb.is_stale(state.now);
            Row::new(vec![
                Cell::from(Span::styled(rb.id.to_string(), t.title)),
                Cell::from(rb.title.to_string()),
                Cell::from(rb.steps.len().to_string()),
                Cell::from(Span::styled(
                    match (rb.last_reviewed, stale) {
                        (Some(d), false) => d.to_string(),
                        (Some(_), true) => "STALE".into(),
                        (None, _) => "never".into(),
                    },
                    if stale { t.warn } else { t.muted },
                )),
            ])
        },
    );
    if let Some(da) = da {
        let block = panel("Preview — Enter walks it step by step", t, false);
        let inner = block.inner(da);
        f.render_widget(block, da);
        match state.selected_runbook() {
            Some(rb) => {
                let text =
                    crate::runbooks::render::render_runbook(rb, t, inner.width as usize, state.now);
                f.render_widget(Paragraph::new(text), inner);
            }
            None => {
                let mut lines = vec![muted_line("nothing selected", t)];
                for b in &state.runbooks.catalog.broken {
                    lines.push(Line::from(Span::styled(
                        format!("{}: {}", b.path, b.error),
                        t.crit,
                    )));
                }
                f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            }
        }
    }
}

fn walk(f: &mut Frame, body: Rect, state: &State, w: &crate::runbooks::walk::Walk) {
    let t = &state.theme;
    let title = match w.incident() {
        Some(i) => format!("{} — for incident {i}", w.runbook.title),
        None => w.runbook.title.to_string(),
    };
    let block = panel(&title, t, true);
    let inner = block.inner(body);
    f.render_widget(block, body);
    let [head, text_area, keys] = Layout::vertical([
        Constraint::Length(if w.warning.is_some() { 2 } else { 1 }),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut head_lines = vec![Line::from(Span::styled(w.status_line(), t.focus))];
    if let Some(warn) = &w.warning {
        head_lines.push(Line::from(Span::styled(warn.to_string(), t.warn)));
    }
    f.render_widget(Paragraph::new(head_lines), head);
    let text = w.render(t, text_area.width as usize);
    // Keep the cursor on screen: scroll to the highlighted line.
    let cursor_line = text
        .lines
        .iter()
        .position(|l| l.spans.iter().any(|s| s.style == t.selection) || l.style == t.selection)
        .unwrap_or(0);
    let h = text_area.height as usize;
    let scroll = (cursor_line + 2).saturating_sub(h);
    f.render_widget(Paragraph::new(text).scroll((scroll as u16, 0)), text_area);
    let mut spans = Vec::new();
    for (k, d) in [
        ("j/k", " move  "),
        ("Space", " tick  "),
        ("x", " run action  "),
        ("y", " copy  "),
        ("h/l", " step  "),
        ("Esc", " back"),
    ] {
        spans.push(Span::styled(k, t.key));
        spans.push(Span::styled(d, t.muted));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), keys);
}

pub fn timeline(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let rows = state.timeline_rows();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Timeline).filter.clone();
    let suspects = state
        .timeline()
        .iter()
        .filter(|e| e.suspect.is_some())
        .count();
    let mut title = title_with_count(
        "What changed, 12h",
        rows.len(),
        state.timeline().len(),
        &filter,
    );
    if suspects > 0 {
        title.push_str(&format!(" · {suspects} suspect"));
    }
    table(
        f,
        ta,
        state,
        View::Timeline,
        title,
        vec!["WHEN", "KIND", "SERVICE", "", "WHAT"],
        vec![
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Min(20),
        ],
        rows.len(),
        "nothing changed in the last 12 hours",
        |i| {
            let e = rows[i];
            Row::new(vec![
                Cell::from(Span::styled(crate::timeline::when(e, state.now), t.muted)),
                Cell::from(e.kind.label()),
                Cell::from(
                    e.service
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                ),
                Cell::from(if e.suspect.is_some() {
                    Span::styled("SUSPECT", t.crit)
                } else {
                    Span::raw("")
                }),
                Cell::from(e.summary.to_string()),
            ])
        },
    );
    if let Some(da) = da {
        let sel = state.list(View::Timeline).selected;
        let lines = match rows.get(sel) {
            None => vec![muted_line("nothing selected", t)],
            Some(e) => {
                let mut l = vec![
                    Line::from(Span::styled(e.summary.to_string(), t.title)),
                    kv(
                        "when",
                        format!(
                            "{} ({})",
                            crate::timeline::when(e, state.now),
                            e.ts.format("%Y-%m-%d %H:%MZ")
                        ),
                        t,
                    ),
                    kv("kind", e.kind.label(), t),
                    kv(
                        "service",
                        e.service
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "provider",
                        e.provider
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "ref",
                        e.reference
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                ];
                if let Some(s) = &e.suspect {
                    l.push(Line::from(vec![
                        Span::styled(format!("{:<10}", "suspect"), t.muted),
                        Span::styled(s.reason.to_string(), t.crit),
                    ]));
                }
                l
            }
        };
        details(f, da, state, "Change", lines);
    }
}
