//! The SLO charts: the 1h burn rate over the last 24 h against the
//! SLO's own page and ticket thresholds, and the error budget left over
//! the SLO window (the burndown). Each has a time axis ending at now and
//! a scale; a legend line above names what the lines are.

use crate::model::{AlertSeverity, Slo};
use crate::providers::prometheus::HISTORY_STEP_SECS;
use crate::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType};

/// The factors of the SLO's page and ticket alerts (14.4x and 6x page,
/// 3x and 1x ticket for a 30-day window; scaled for other windows), each
/// with the long window it belongs to.
fn thresholds(s: &Slo) -> Vec<(AlertSeverity, f64, String)> {
    let mut out: Vec<(AlertSeverity, f64, String)> = s
        .alerts
        .iter()
        .filter(|a| a.factor.is_finite() && a.factor > 0.0)
        .map(|a| (a.severity, a.factor, a.long.clone()))
        .collect();
    if out.is_empty() {
        out = crate::slo::MWMBR
            .iter()
            .map(|(sev, long, _, f)| (*sev, *f, (*long).to_string()))
            .collect();
    }
    out
}

/// "14.4": a factor as the alert table shows it.
fn factor(f: f64) -> String {
    let s = format!("{f:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Page lines in the alarm colours, ticket lines in the calm one.
fn threshold_style(sev: AlertSeverity, first: bool, t: &Theme) -> Style {
    match (sev, first) {
        (AlertSeverity::Page, true) => t.crit,
        (AlertSeverity::Page, false) => t.warn,
        (AlertSeverity::Ticket, _) => t.info,
    }
}

/// The line over a burn chart: what it shows, then its threshold lines
/// ("━ 14.4x 6x page ━ 3x 1x ticket").
pub fn burn_legend(what: Vec<Span<'static>>, s: &Slo, t: &Theme) -> Line<'static> {
    let mut spans = what;
    let ths = thresholds(s);
    for sev in [AlertSeverity::Page, AlertSeverity::Ticket] {
        let mine: Vec<&(AlertSeverity, f64, String)> =
            ths.iter().filter(|(v, _, _)| *v == sev).collect();
        if mine.is_empty() {
            continue;
        }
        spans.push(Span::styled("  ━ ", threshold_style(sev, true, t)));
        let names: Vec<String> = mine
            .iter()
            .map(|(_, f, _)| format!("{}x", factor(*f)))
            .collect();
        let word = match sev {
            AlertSeverity::Page => "page",
            AlertSeverity::Ticket => "ticket",
        };
        spans.push(Span::styled(format!("{} {word}", names.join(" ")), t.muted));
    }
    Line::from(spans)
}

/// Axis labels at the start, the middle and the end of a span.
fn time_labels(span: f64, unit: &str, t: &Theme) -> Vec<Line<'static>> {
    [span, span / 2.0, 0.0]
        .iter()
        .map(|v| {
            let label = if *v == 0.0 {
                "now".to_string()
            } else {
                format!("-{}{unit}", v.round())
            };
            Line::from(Span::styled(label, t.muted))
        })
        .collect()
}

/// A horizontal line across [x0, 0].
fn level(x0: f64, y: f64) -> [(f64, f64); 2] {
    [(x0, y), (0.0, y)]
}

fn line<'a>(data: &'a [(f64, f64)], style: Style) -> Dataset<'a> {
    Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(style)
        .data(data)
}

/// The burn-rate chart: 1h burn over the history's span (one point every
/// [`HISTORY_STEP_SECS`], newest at "now"), with a time axis, a burn
/// scale, and the SLO's page and ticket thresholds drawn as lines so a
/// rise reads against them.
pub fn burn_chart(f: &mut Frame, area: Rect, s: &Slo, t: &Theme) {
    let history = &s.history;
    if history.is_empty() || area.height < 3 || area.width < 16 {
        return;
    }
    let step_h = HISTORY_STEP_SECS / 3600.0;
    let n = history.len();
    let span_h = step_h * (n.saturating_sub(1)) as f64;
    let points: Vec<(f64, f64)> = history
        .iter()
        .enumerate()
        .map(|(i, v)| (-(span_h - step_h * i as f64), v.max(0.0)))
        .collect();
    let ths = thresholds(s);
    let peak = history.iter().copied().fold(0.0_f64, f64::max);
    let highest = ths.iter().map(|x| x.1).fold(0.0_f64, f64::max);
    let top = (peak.max(highest) * 1.15).ceil().max(1.0);
    let x0 = -span_h.max(step_h);
    let levels: Vec<([(f64, f64); 2], Style)> = ths
        .iter()
        .enumerate()
        .map(|(i, (sev, f, _))| {
            let first = !ths[..i].iter().any(|x| x.0 == *sev);
            (level(x0, *f), threshold_style(*sev, first, t))
        })
        .collect();
    let mut datasets: Vec<Dataset> = levels.iter().map(|(d, st)| line(d, *st)).collect();
    datasets.push(line(&points, t.chart));
    // Axis labels are spread evenly, so they name even values; the
    // thresholds are named by [`burn_legend`].
    let y_labels: Vec<Line> = [0.0, top / 2.0, top]
        .into_iter()
        .map(|v| Line::from(Span::styled(format!("{v:.0}x"), t.muted)))
        .collect();
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([x0, 0.0])
                .labels(time_labels(span_h, "h", t))
                .style(t.border),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(y_labels)
                .style(t.border),
        );
    f.render_widget(chart, area);
}

/// The line over a budget chart: the window, the level now, and the zero line.
pub fn budget_legend(s: &Slo, t: &Theme) -> Line<'static> {
    let now = crate::util::share(s.error_budget_remaining);
    Line::from(vec![
        Span::styled(
            format!("budget left over the {} window, now ", s.window),
            t.muted,
        ),
        Span::styled(
            now,
            match s.error_budget_remaining {
                Some(r) if r <= 0.0 => t.crit,
                Some(r) if r < 0.25 => t.warn,
                _ => t.ok,
            },
        ),
        Span::styled("  ━ ", t.crit),
        Span::styled("0% = spent", t.muted),
    ])
}

/// The budget burndown: the share of the error budget left at each day
/// of the SLO window (100 % at its start, the window's figure at now),
/// with the 0 % line where deploys freeze.
pub fn budget_chart(f: &mut Frame, area: Rect, s: &Slo, t: &Theme) {
    let b = &s.budget_history;
    if b.len() < 2 || area.height < 3 || area.width < 16 {
        return;
    }
    let days = (b.len() - 1) as f64;
    let points: Vec<(f64, f64)> = b
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 - days, v * 100.0))
        .collect();
    let low = b.iter().copied().fold(0.0_f64, f64::min) * 100.0;
    let bottom = if low < 0.0 {
        (low / 10.0).floor() * 10.0
    } else {
        0.0
    };
    let zero = level(-days, 0.0);
    let style = match s.error_budget_remaining {
        Some(r) if r <= 0.0 => t.crit,
        Some(r) if r < 0.25 => t.warn,
        _ => t.chart,
    };
    let datasets = vec![line(&zero, t.crit), line(&points, style)];
    let y_labels: Vec<Line> = [bottom, (bottom + 100.0) / 2.0, 100.0]
        .into_iter()
        .map(|v| Line::from(Span::styled(format!("{v:.0}%"), t.muted)))
        .collect();
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([-days, 0.0])
                .labels(time_labels(days, "d", t))
                .style(t.border),
        )
        .y_axis(
            Axis::default()
                .bounds([bottom, 100.0])
                .labels(y_labels)
                .style(t.border),
        );
    f.render_widget(chart, area);
}
