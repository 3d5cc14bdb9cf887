//! The SLOs view: budget, burn rates over the windows, alerts and gate.

use super::*;

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
        &state.empty_reason(Supplies::Slos, "no SLOs configured"),
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
            f.render_widget(
                Paragraph::new(burn_legend(
                    vec![Span::styled("1h burn rate, last 24h", t.muted)],
                    t,
                )),
                label,
            );
            burn_chart(f, sp, &s.history, t);
        }
    }
}
