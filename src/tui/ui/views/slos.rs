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
    // BUDGET is 7 wide: room for the sort mark (`BUDGET▲`).
    let mut widths = if narrow {
        vec![Constraint::Min(10), Constraint::Length(7)]
    } else {
        vec![
            Constraint::Min(14),
            Constraint::Length(7),
            Constraint::Length(7),
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
        slo_details(f, inner, state, s);
    }
}

/// Rows a chart needs to read (legend, plot, axis and labels).
const CHART_MIN: u16 = 8;
/// The text column beside a single chart on short screens.
const TEXT_COL: u16 = 36;

/// The selected SLO: its numbers, then both charts stacked where they fit
/// (160x45), else the numbers beside one chart (80x24; `c` switches it).
fn slo_details(f: &mut Frame, inner: Rect, state: &State, s: &Slo) {
    let t = &state.theme;
    let beside = inner.width >= TEXT_COL + 30;
    let full = slo_lines(s, t, false);
    let text_h = full.len() as u16;
    if inner.height >= text_h + 2 * CHART_MIN {
        let [ta, burn, budget] = Layout::vertical([
            Constraint::Length(text_h),
            Constraint::Fill(1),
            Constraint::Fill(1),
        ])
        .areas(inner);
        f.render_widget(Paragraph::new(full), ta);
        chart_with_legend(f, burn, state, s, false, false);
        chart_with_legend(f, budget, state, s, true, false);
    } else if beside && inner.height >= 6 {
        let [ta, _, ca] = Layout::horizontal([
            Constraint::Length(TEXT_COL),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(inner);
        f.render_widget(Paragraph::new(slo_lines(s, t, true)), ta);
        chart_with_legend(f, ca, state, s, state.ui.slo_budget_chart, true);
    } else {
        let text_h = text_h.min(inner.height);
        let [ta, ca] =
            Layout::vertical([Constraint::Length(text_h), Constraint::Min(0)]).areas(inner);
        f.render_widget(Paragraph::new(full), ta);
        if ca.height >= CHART_MIN {
            chart_with_legend(f, ca, state, s, state.ui.slo_budget_chart, true);
        }
    }
}

/// One chart under its legend; `switch` adds the key that shows the other.
fn chart_with_legend(
    f: &mut Frame,
    area: Rect,
    state: &State,
    s: &Slo,
    budget: bool,
    switch: bool,
) {
    let t = &state.theme;
    let mut legend = if budget {
        budget_legend(s, t)
    } else {
        // Beside the numbers (80x24) the legend is kept short.
        let what = if switch {
            "1h burn"
        } else {
            "1h burn, last 24h"
        };
        burn_legend(vec![Span::styled(what, t.muted)], s, t)
    };
    if switch {
        legend.spans.push(Span::styled("  c ", t.key));
        legend.spans.push(Span::styled(
            if budget { "burn" } else { "budget" },
            t.muted,
        ));
    }
    let need = (legend.width() as u16)
        .div_ceil(area.width.max(1))
        .clamp(1, 3);
    let [la, ca] = Layout::vertical([Constraint::Length(need), Constraint::Min(0)]).areas(area);
    f.render_widget(
        Paragraph::new(legend).wrap(ratatui::widgets::Wrap { trim: true }),
        la,
    );
    let empty = if budget {
        s.budget_history.len() < 2
    } else {
        s.history.is_empty()
    };
    if empty {
        let why = if budget {
            "no budget history (the provider has no daily data for this SLO)"
        } else {
            "no burn history (the provider has no data for the last 24h)"
        };
        f.render_widget(
            Paragraph::new(muted_line(why, t)).wrap(ratatui::widgets::Wrap { trim: true }),
            ca,
        );
    } else if budget {
        budget_chart(f, ca, s, t);
    } else {
        burn_chart(f, ca, s, t);
    }
}

/// The numbers: name, service, objective, budget, 7 days, gate, alerts;
/// `narrow` for the column beside a chart.
fn slo_lines(s: &Slo, t: &crate::theme::Theme, narrow: bool) -> Vec<Line<'static>> {
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
            match (s.gate == Gate::Frozen, narrow) {
                (false, _) => "",
                (true, false) => "  deploys frozen; rollback allowed",
                (true, true) => "  rollback allowed",
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
    lines
}
