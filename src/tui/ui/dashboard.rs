//! The dashboard: four panels a responder reads at a glance.

use super::*;

/// Below this width the panels stack (incidents full width), so a wider
/// screen never shows fewer incident columns than a narrow one.
const WIDE: u16 = 140;
/// From this height (and [`WIDE`]) a fifth panel shows what changed.
const TALL: u16 = 50;

/// [incidents, SLOs, deploys, flags] and, on a tall wide screen, the
/// timeline. Wide: a 2x2 grid (over the timeline when tall). Narrow:
/// incidents and SLOs full width, deploys and flags side by side.
fn grid(body: Rect) -> ([Rect; 4], Option<Rect>) {
    if body.width < WIDE {
        let [inc, slo, bottom] = Layout::vertical([
            Constraint::Percentage(40),
            Constraint::Percentage(30),
            Constraint::Percentage(30),
        ])
        .areas(body);
        let [bl, br] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(bottom);
        return ([inc, slo, bl, br], None);
    }
    let (grid, changes) = if body.height >= TALL {
        let [g, c] =
            Layout::vertical([Constraint::Percentage(70), Constraint::Percentage(30)]).areas(body);
        (g, Some(c))
    } else {
        (body, None)
    };
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(grid);
    let [tl, tr] =
        Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(top);
    let [bl, br] =
        Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(bottom);
    ([tl, tr, bl, br], changes)
}

/// Where the incident rows are (for the mouse): inside the border, below
/// the severity counts line.
pub fn incident_rows_area(body: Rect) -> Rect {
    rows_in_panel(grid(body).0[0])
}

fn rows_in_panel(tl: Rect) -> Rect {
    Rect::new(
        tl.x + 1,
        tl.y + 2,
        tl.width.saturating_sub(2),
        tl.height.saturating_sub(3),
    )
}

pub fn render(f: &mut Frame, body: Rect, state: &State) {
    let ([tl, tr, bl, br], more) = grid(body);
    incidents(f, tl, state);
    slos(f, tr, state);
    deploys(f, bl, state);
    flags(f, br, state);
    if let Some(area) = more {
        changes(f, area, state);
    }
}

/// What changed (the timeline, newest first), suspects marked: the space
/// a tall screen has.
fn changes(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let events = state.timeline();
    let suspects = events.iter().filter(|e| e.suspect.is_some()).count();
    let mut title = format!(
        "What changed, {}h ({})",
        crate::timeline::DEFAULT_SINCE_HOURS,
        events.len()
    );
    if suspects > 0 {
        title.push_str(&format!(" · {suspects} suspect"));
    }
    title.push_str(" · 8 for all");
    let block = panel(&title, t, false);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if events.is_empty() {
        f.render_widget(
            Paragraph::new(muted_line(
                &format!(
                    "nothing changed in the last {} hours",
                    crate::timeline::DEFAULT_SINCE_HOURS
                ),
                t,
            )),
            inner,
        );
        return;
    }
    let w = inner.width as usize;
    let lines: Vec<Line> = events
        .iter()
        .take(inner.height as usize)
        .map(|e| {
            let when = crate::timeline::when(e, state.now);
            let service = e
                .service
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default();
            let mut spans = vec![
                Span::styled(format!("{when:<10}"), t.muted),
                Span::raw(format!("{:<8} ", e.kind.label())),
                Span::raw(format!("{:<10} ", crate::text::truncate(&service, 10))),
                if e.suspect.is_some() {
                    Span::styled("◆ SUSPECT ", t.crit)
                } else {
                    Span::raw("          ")
                },
            ];
            let used: usize = spans.iter().map(|s| s.width()).sum();
            spans.push(Span::raw(crate::text::truncate(
                e.summary.as_str(),
                w.saturating_sub(used),
            )));
            Line::from(spans)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn incidents(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let filtered = state.filtered_incidents(View::Dashboard);
    let list = &filtered.rows;
    let block = panel("Incidents", t, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let c = state.snap.open_counts();
    let mut counts = Vec::new();
    for s in Severity::ALL {
        let n = c[s.index()];
        let style = if n > 0 { t.sev(s) } else { t.muted };
        counts.push(Span::styled(format!(" {} {} ", s.label(), n), style));
        counts.push(Span::raw(" "));
    }
    let unacked = filtered.unacked;
    counts.push(Span::styled(
        format!("{unacked} unacked"),
        if unacked > 0 { t.crit } else { t.ok },
    ));
    let rows = rows_in_panel(area);
    // The selected incident's runbook and suspect change, under the list.
    let hint = state
        .selected_incident()
        .map(|i| incident_hint(i, state, inner.width as usize))
        .unwrap_or_default();
    let h = (rows.height as usize).saturating_sub(hint.len()).max(1);
    let mut lines = vec![Line::from(counts)];
    if list.is_empty() {
        let (msg, calm) = state.empty_incidents_message();
        lines.push(Line::from(Span::styled(
            msg,
            if calm { t.ok } else { t.warn },
        )));
    }
    let sel = state.list(View::Dashboard).selected;
    let off = scroll_offset(sel, h);
    let w = inner.width as usize;
    let show_service = w >= 70;
    let show_assignee = w >= 100;
    for (i, &n) in list.iter().enumerate().skip(off).take(h) {
        let Some(inc) = state.snap.incidents.get(n) else {
            continue;
        };
        let selected = i == sel;
        let base = style_if(selected, t.selection, t.text);
        let mut spans = vec![
            sev_span(inc.severity, t),
            Span::raw(" "),
            status_span(inc.status, t),
        ];
        let used: usize = spans.iter().map(|s| s.width()).sum();
        spans.push(Span::raw(" ".repeat(19usize.saturating_sub(used))));
        spans.push(Span::styled(
            format!("{:>5} ", util::age(state.now, inc.created_at)),
            t.muted,
        ));
        if show_service {
            let svc = inc.service.as_ref().map(|s| s.as_str()).unwrap_or("-");
            spans.push(Span::styled(
                format!("{:<10} ", crate::text::truncate(svc, 10)),
                t.muted,
            ));
        }
        let who = if show_assignee {
            inc.assignee
                .as_ref()
                .map(|a| format!(" @{}", crate::text::truncate(a.as_str(), 14)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        if state.suspects().incidents.contains_key(inc.id.as_str()) {
            spans.push(Span::styled("◆ ", t.warn));
        }
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let room = w.saturating_sub(used + who.chars().count());
        let title = crate::text::truncate(inc.title.as_str(), room);
        let pad = room.saturating_sub(unicode_width::UnicodeWidthStr::width(title.as_str()));
        spans.push(Span::styled(title, base));
        if !who.is_empty() {
            spans.push(Span::raw(" ".repeat(pad)));
            spans.push(Span::styled(who, t.muted));
        }
        let mut line = Line::from(spans);
        if selected {
            line = line.style(t.selection);
        }
        lines.push(line);
    }
    if hint.is_empty() {
        f.render_widget(Paragraph::new(lines), inner);
    } else {
        let top = inner.height.saturating_sub(hint.len() as u16);
        let body = Rect::new(inner.x, inner.y, inner.width, top);
        f.render_widget(Paragraph::new(lines), body);
        let foot = Rect::new(inner.x, inner.y + top, inner.width, inner.height - top);
        f.render_widget(Paragraph::new(hint), foot);
    }
    // The selected row stays readable whatever its cells' colours.
    if sel >= off && sel < off + h && !list.is_empty() {
        let y = inner.y + 1 + (sel - off) as u16;
        t.fix_selection(f.buffer_mut(), Rect::new(inner.x, y, inner.width, 1));
    }
}

/// What to do with the selected incident: the runbook that Enter walks
/// (or that none is linked), and the change suspected for it.
fn incident_hint(i: &Incident, state: &State, w: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let mut out = Vec::new();
    let mut spans = vec![Span::styled("▸ ", t.muted)];
    match &i.runbook {
        Some(rb) => {
            spans.push(Span::styled("Enter", t.key));
            spans.push(Span::styled(" walks runbook ", t.muted));
            spans.push(Span::styled(rb.to_string(), t.text));
        }
        None => spans.push(Span::styled(
            "no runbook linked ([[service]] runbooks, or the alert's runbook annotation)",
            t.muted,
        )),
    }
    out.push(truncate_line(spans, w));
    if let Some(why) = state
        .suspects()
        .incidents
        .get(i.id.as_str())
        .and_then(|v| v.first())
    {
        let spans = vec![
            Span::styled("◆ SUSPECT ", t.warn),
            Span::styled(why.clone(), t.text),
        ];
        out.push(truncate_line(spans, w));
    }
    out
}

/// Cut spans to `w` cells (the last one shortened with an ellipsis).
fn truncate_line(spans: Vec<Span<'static>>, w: usize) -> Line<'static> {
    let mut used = 0;
    let mut out = Vec::new();
    for s in spans {
        let sw = s.width();
        if used + sw <= w {
            used += sw;
            out.push(s);
        } else {
            let room = w.saturating_sub(used);
            if room > 1 {
                out.push(Span::styled(
                    crate::text::truncate(&s.content, room),
                    s.style,
                ));
            }
            break;
        }
    }
    Line::from(out)
}

fn slos(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let block = panel("SLO burn", t, false);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let slos = &state.snap.slos;
    if slos.is_empty() {
        f.render_widget(
            Paragraph::new(muted_line(
                &state.empty_reason(Supplies::Slos, "no SLOs configured"),
                t,
            ))
            .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let w = inner.width as usize;
    let rows_needed = slos.len() as u16 + 1;
    let chart_h = if inner.height >= rows_needed + 3 {
        (inner.height - rows_needed).min(10)
    } else {
        0
    };
    let [list_area, chart_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(chart_h)]).areas(inner);
    let bar = if w >= 56 { 10 } else { 5 };
    let name_w = w.saturating_sub(bar + 6 + 8 + 9 + 3).clamp(8, 30);
    let mut lines = Vec::new();
    for s in slos.iter().take(list_area.height as usize) {
        let mut spans = vec![Span::styled(
            format!(
                "{:<name_w$} ",
                crate::text::truncate(s.name.as_str(), name_w)
            ),
            t.text,
        )];
        spans.extend(budget_bar(s.error_budget_remaining, bar, t));
        spans.push(Span::styled(
            format!(" {:>7}", util::burn(s.burn_rates.h1)),
            t.text,
        ));
        spans.push(Span::raw(" "));
        spans.push(slo_state_span(s, t));
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), list_area);
    if chart_h > 0 {
        // The worst SLO's 1h burn history.
        if let Some(worst) = slos.iter().find(|s| !s.history.is_empty()) {
            let [label, spark] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(chart_area);
            f.render_widget(
                Paragraph::new(burn_legend(
                    vec![
                        Span::styled(worst.name.to_string(), t.text),
                        Span::styled(
                            format!(" 1h burn {}", util::burn(worst.burn_rates.h1)),
                            t.muted,
                        ),
                    ],
                    worst,
                    t,
                )),
                label,
            );
            burn_chart(f, spark, worst, t);
        }
    }
}

fn deploys(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let block = panel("Deploys", t, false);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let groups = state.snap.deploy_groups();
    if groups.is_empty() {
        f.render_widget(
            Paragraph::new(muted_line(
                &state.empty_reason(Supplies::Deploys, "no deploys"),
                t,
            ))
            .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let w = inner.width as usize;
    let svc_w = groups
        .keys()
        .map(|(s, _)| s.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(6, 14);
    let env_w = if w >= 60 {
        groups
            .keys()
            .map(|(_, e)| e.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 12)
    } else {
        4
    };
    let wide = w >= 70;
    let mut lines = Vec::new();
    // What needs attention first: a failed or running newest deploy, a
    // frozen production gate; then the rest in name order.
    let mut ordered: Vec<_> = groups.iter().collect();
    crate::order::sort_by_key(&mut ordered, |((svc, env), ds)| {
        let newest = ds.first().map(|d| d.state);
        let attention = matches!(newest, Some(DeployState::Failure)) as u8 * 4
            + matches!(newest, Some(DeployState::InProgress | DeployState::Queued)) as u8 * 2
            + (state.snap.gate_for(svc) == Some(Gate::Frozen) && state.is_production(env)) as u8;
        std::cmp::Reverse(attention)
    });
    for ((svc, env), ds) in ordered.into_iter().take(inner.height as usize) {
        let live = ds.iter().find(|d| d.current);
        // A newer deploy that is not live (failed, running, queued): what
        // it tried to ship must show, or "v5.1.9 2d FAILED" reads as the
        // live release having failed two days ago.
        let attempt = ds.first().filter(|n| !n.current);
        let prod = state.is_production(env);
        let mut spans = vec![
            Span::styled(
                format!("{:<svc_w$}", crate::text::truncate(svc, svc_w)),
                t.title,
            ),
            Span::styled(
                format!(" {:<env_w$}", crate::text::truncate(env, env_w)),
                if prod { t.warn } else { t.muted },
            ),
        ];
        match live {
            Some(d) => {
                spans.push(Span::styled(
                    format!(" {:<8}", crate::text::truncate(d.git_ref.as_str(), 8)),
                    t.text,
                ));
                if wide {
                    spans.push(Span::styled(
                        format!(" {}", util::short_sha(d.sha.as_str())),
                        t.muted,
                    ));
                }
                // In a narrow panel the attempt's ref takes the live age's place.
                if w > 44 || attempt.is_none() {
                    spans.push(Span::styled(
                        format!(" {:>5}", util::age(state.now, d.created_at)),
                        t.muted,
                    ));
                }
                if wide {
                    let by = d.creator.as_ref().map(|c| c.as_str()).unwrap_or("-");
                    spans.push(Span::styled(
                        format!(" {:<12}", crate::text::truncate(by, 12)),
                        t.muted,
                    ));
                }
            }
            None => spans.push(Span::styled(" nothing live   ", t.warn)),
        }
        if let Some(n) = attempt {
            spans.push(Span::raw(" "));
            spans.push(deploy_state_span(n.state, t));
            spans.push(Span::styled(
                format!(" {}", crate::text::truncate(n.git_ref.as_str(), 8)),
                t.muted,
            ));
        }
        if state.snap.gate_for(svc) == Some(Gate::Frozen) && prod {
            spans.push(Span::raw(" "));
            spans.push(Span::styled("gate FROZEN", t.crit));
        }
        let suspect = ds.iter().any(|d| {
            state
                .suspects()
                .deploys
                .contains_key(&format!("{}/{}", d.provider, d.id))
        });
        if suspect {
            let used: usize = spans.iter().map(|s| s.width()).sum();
            let mark = if used + 10 <= w {
                " ◆ SUSPECT"
            } else {
                " ◆"
            };
            spans.push(Span::styled(mark, t.warn));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn flags(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    // What OFF means, in the title: the feature is off.
    let title = if area.width >= 52 {
        "Kill switches & flags · OFF = feature off"
    } else {
        "Flags · OFF = feature off"
    };
    let block = panel(title, t, false);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if state.snap.flags.is_empty() {
        f.render_widget(
            Paragraph::new(muted_line(
                &state.empty_reason(Supplies::Flags, "no flags"),
                t,
            ))
            .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let w = inner.width as usize;
    let mut lines = Vec::new();
    let mut ordered: Vec<&Flag> = state.snap.flags.iter().collect();
    // Abnormal first: kill switches that are off.
    crate::order::sort_by_key(&mut ordered, |f| !f.kill_switch || f.on);
    for fl in ordered.into_iter().take(inner.height as usize) {
        let mut spans = vec![flag_span(fl.on, t), Span::raw(" ")];
        spans.push(Span::styled(
            if fl.kill_switch { "KS " } else { "   " },
            if fl.kill_switch { t.warn } else { t.muted },
        ));
        let age = fl
            .updated_at
            .map(|u| format!(" {:>5}", util::age(state.now, u)))
            .unwrap_or_default();
        let suspect = state.suspects().flags.contains_key(fl.key.as_str());
        let mark = if suspect { " ◆" } else { "" };
        let key_w = w.saturating_sub(4 + 1 + 3 + age.len() + mark.chars().count());
        spans.push(Span::styled(
            format!("{:<key_w$}", crate::text::truncate(fl.key.as_str(), key_w)),
            t.text,
        ));
        spans.push(Span::styled(mark, t.warn));
        spans.push(Span::styled(age, t.muted));
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
