//! Pure render functions: `render(frame, &state)`. Nothing here changes
//! state or does I/O. Every string drawn is `SafeText` or our own.

mod charts;
mod dashboard;
mod overlays;
mod views;

pub(crate) use overlays::centered;

use super::keymap;
use super::state::*;
use crate::model::*;
use crate::util;
pub use charts::{budget_chart, budget_legend, burn_chart, burn_legend};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

pub const MIN_W: u16 = 60;
pub const MIN_H: u16 = 16;

/// The areas of the screen.
pub struct Areas {
    pub header: Rect,
    pub body: Rect,
    /// The messages (toasts): rows of their own between the body and the
    /// footer, so they never cover a border or a row of content.
    pub toasts: Rect,
    pub footer: Rect,
}

pub fn areas(area: Rect, state: &State) -> Areas {
    let rows = overlays::toast_lines(state, area.width).len() as u16;
    // The body keeps at least half the screen.
    let rows = rows.min(area.height.saturating_sub(3) / 2);
    let [header, body, toasts, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(rows),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        header,
        body,
        toasts,
        footer,
    }
}

pub fn render(f: &mut Frame, state: &State) {
    let area = f.area();
    let t = &state.theme;
    f.render_widget(Block::new().style(t.text), area);
    if area.width < MIN_W || area.height < MIN_H {
        let msg = vec![
            Line::from(Span::styled("terminal too small", t.crit)),
            Line::from(format!(
                "{}x{} — sitrep needs at least {MIN_W}x{MIN_H}",
                area.width, area.height
            )),
            Line::from("q quits"),
        ];
        f.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    if let Some(path) = &state.first_run {
        overlays::first_run(f, area, state, path);
        return;
    }
    let a = areas(area, state);
    header(f, a.header, state);
    match state.ui.view {
        View::Dashboard => dashboard::render(f, a.body, state),
        View::Incidents => views::incidents(f, a.body, state),
        View::Slos => views::slos(f, a.body, state),
        View::Deploys => views::deploys(f, a.body, state),
        View::Flags => views::flags(f, a.body, state),
        View::Audit => views::audit(f, a.body, state),
        View::Timeline => views::timeline(f, a.body, state),
        View::Runbooks => views::runbooks(f, a.body, state),
        View::Providers => views::providers(f, a.body, state),
        View::Silences => views::silences(f, a.body, state),
    }
    footer(f, a.footer, state);
    overlays::toasts(f, a.toasts, state);
    if state.ui.help {
        overlays::help(f, area, state);
    }
    if let Some(m) = &state.ui.modal {
        crate::tui::modals::draw(f, area, state, m);
    }
}

/// Which list row is at a screen position (for the mouse).
pub fn row_at(state: &State, col: u16, row: u16) -> Option<usize> {
    let area = Rect::new(0, 0, state.ui.size.0, state.ui.size.1);
    let body = areas(area, state).body;
    let list = match state.ui.view {
        View::Dashboard => dashboard::incident_rows_area(body),
        View::Incidents
        | View::Slos
        | View::Deploys
        | View::Flags
        | View::Audit
        | View::Timeline
        | View::Providers
        | View::Silences => views::rows_area(state, body),
        View::Runbooks if state.runbooks.walk.is_none() => views::rows_area(state, body),
        _ => return None,
    };
    if col < list.x || col >= list.x + list.width || row < list.y || row >= list.y + list.height {
        return None;
    }
    let offset = scroll_offset(state.list(state.ui.view).selected, list.height as usize);
    Some(offset + (row - list.y) as usize)
}

/// First visible row so that `selected` is on screen (pure: no stored offset).
pub fn scroll_offset(selected: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    if selected < height {
        0
    } else {
        selected + 1 - height
    }
}

pub fn sev_span(sev: Severity, t: &crate::theme::Theme) -> Span<'static> {
    Span::styled(format!(" {} ", sev.label()), t.sev(sev))
}

pub fn status_span(s: IncidentStatus, t: &crate::theme::Theme) -> Span<'static> {
    let style = match s {
        IncidentStatus::Triggered | IncidentStatus::Firing => t.crit,
        IncidentStatus::Acknowledged => t.warn,
        IncidentStatus::Silenced | IncidentStatus::Resolved => t.muted,
    };
    Span::styled(s.word(), style)
}

pub fn deploy_state_span(d: DeployState, t: &crate::theme::Theme) -> Span<'static> {
    let style = match d {
        DeployState::Success => t.ok,
        DeployState::Failure => t.crit,
        DeployState::InProgress | DeployState::Queued => t.info,
        DeployState::Inactive | DeployState::Canceled | DeployState::Unknown => t.muted,
    };
    Span::styled(d.word(), style)
}

pub fn gate_span(g: Option<Gate>, t: &crate::theme::Theme) -> Span<'static> {
    match g {
        Some(Gate::Frozen) => Span::styled("FROZEN", t.crit),
        Some(Gate::Open) => Span::styled("open", t.ok),
        None => Span::styled("-", t.muted),
    }
}

pub fn flag_span(on: bool, t: &crate::theme::Theme) -> Span<'static> {
    if on {
        Span::styled(" ON ", t.on)
    } else {
        Span::styled(" OFF", t.off)
    }
}

/// The SLO state as text + style: PAGE / TICKET / FROZEN / ok / NO DATA.
pub fn slo_state_span(s: &Slo, t: &crate::theme::Theme) -> Span<'static> {
    let text = s.state_label();
    let style = if !s.has_data() && s.error.is_some() {
        t.crit
    } else if !s.has_data() {
        t.stale
    } else if s.page_firing() || s.gate == Gate::Frozen {
        t.crit
    } else if s.ticket_firing() {
        t.warn
    } else {
        t.ok
    };
    Span::styled(text, style)
}

/// A text budget bar: `[██████░░░░] 62%`; negative shows as overspent.
pub fn budget_bar(rem: Option<f64>, width: usize, t: &crate::theme::Theme) -> Vec<Span<'static>> {
    let Some(r) = rem else {
        return vec![Span::styled(
            format!("{:<w$}", "no data", w = width + 6),
            t.stale,
        )];
    };
    let filled = ((r.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    let style = if r <= 0.0 {
        t.crit
    } else if r < 0.25 {
        t.warn
    } else {
        t.gauge
    };
    vec![
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(width - filled), t.muted),
        Span::styled(format!(" {:>4}", util::share(Some(r))), style),
    ]
}

pub fn panel<'a>(title: &'a str, t: &crate::theme::Theme, focused: bool) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(if focused { t.focus } else { t.border })
        .title(Span::styled(format!(" {title} "), t.title))
}

fn header(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let [l1, l2] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    // Line 1: name, mode badges, view tabs, clock.
    let mut spans = vec![Span::styled(
        " sitrep ",
        t.header.add_modifier(Modifier::BOLD),
    )];
    if state.demo {
        spans.push(Span::styled(
            " DEMO ",
            t.stale.add_modifier(Modifier::REVERSED),
        ));
    }
    if let Some(c) = &state.context {
        spans.push(Span::styled(
            format!(" ctx {c} "),
            t.focus.add_modifier(Modifier::REVERSED),
        ));
    }
    if state.read_only {
        spans.push(Span::styled(" READ-ONLY ", t.readonly));
    }
    // Team mode: loud while the team log cannot be reached.
    if let Some(st) = &state.team
        && st.reachable == Some(false)
    {
        spans.push(Span::styled(
            format!(" TEAM LOG UNREACHABLE · {} unsynced ", st.unsynced),
            t.crit.add_modifier(Modifier::REVERSED),
        ));
    }
    spans.push(Span::raw(" "));
    let compact = l1.width < 130;
    // Where even the short names do not fit beside the badges and the
    // clock, only the current view is named; the others are their keys.
    let prefix: usize = spans.iter().map(|s| s.width()).sum();
    let short_tabs: usize = View::ALL
        .iter()
        .map(|v| format!("{}{} ", v.key(), v.short()).len())
        .sum();
    let keys_only = prefix + short_tabs + " 00:00Z ".len() > l1.width as usize;
    for v in View::ALL.iter() {
        let label = if keys_only && *v != state.ui.view {
            format!("{} ", v.key())
        } else if compact {
            format!("{}{} ", v.key(), v.short())
        } else {
            format!(" {} {} ", v.key(), v.title())
        };
        if *v == state.ui.view {
            spans.push(Span::styled(label, t.selection));
        } else {
            spans.push(Span::styled(label, t.muted));
        }
    }
    let clock = state.now.format(" %H:%MZ ").to_string();
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (l1.width as usize).saturating_sub(used + clock.len());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(clock, t.header));
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.header), l1);

    // Line 2: who is on call, provider health, data age.
    let mut spans = vec![Span::styled(" on call ", t.muted)];
    let primary: Vec<&OnCall> = state.snap.oncall.iter().filter(|o| o.level == 1).collect();
    if primary.is_empty() {
        spans.push(Span::styled("unknown", t.muted));
    }
    for (i, o) in primary.iter().take(3).enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.muted));
        }
        spans.push(Span::styled(o.user.to_string(), t.title));
        spans.push(Span::styled(format!(" ({})", o.policy), t.muted));
    }
    let mut right = vec![Span::styled("  ", t.muted)];
    let spin = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    for s in &state.store.slots {
        let (mark, style) = if s.in_flight {
            (spin[state.ui.spinner % spin.len()].to_string(), t.info)
        } else if s.error.is_some() {
            ("✗".to_string(), t.crit)
        } else if s.stale {
            ("~".to_string(), t.stale)
        } else if s.fetched_at.is_some() {
            ("✓".to_string(), t.ok)
        } else {
            ("·".to_string(), t.muted)
        };
        right.push(Span::styled(format!(" {}", s.name), t.text));
        right.push(Span::styled(mark, style));
        if (s.error.is_some() || s.stale)
            && let Some(at) = s.fetched_at
        {
            right.push(Span::styled(
                format!(" {}", util::age(state.now, at)),
                style,
            ));
        }
    }
    // The age of the oldest data, once it is a minute old (fresh data
    // needs no number; per-provider ages show above when one fails).
    let oldest = state.store.slots.iter().filter_map(|s| s.fetched_at).min();
    if let Some(o) = oldest.filter(|o| (state.now - *o).num_seconds() >= 60) {
        right.push(Span::styled(
            format!("  data {} old ", util::age(state.now, o)),
            t.muted,
        ));
    }
    let rw: usize = right.iter().map(|s| s.width()).sum();
    let lw: usize = spans.iter().map(|s| s.width()).sum();
    let avail = l2.width as usize;
    if lw + rw > avail {
        // Keep provider health whole: it is the more urgent half.
        let keep = avail.saturating_sub(rw);
        let mut acc = 0;
        let mut cut = Vec::new();
        for s in spans {
            let w = s.width();
            if acc + w > keep {
                let room = keep.saturating_sub(acc);
                if room > 1 {
                    cut.push(Span::styled(
                        crate::text::truncate(&s.content, room),
                        s.style,
                    ));
                }
                break;
            }
            acc += w;
            cut.push(s);
        }
        spans = cut;
    }
    let lw: usize = spans.iter().map(|s| s.width()).sum();
    spans.push(Span::raw(" ".repeat(avail.saturating_sub(lw + rw))));
    spans.extend(right);
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.footer), l2);
}

fn footer(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let mut spans = vec![Span::raw(" ")];
    if state.ui.filter_editing {
        spans.push(Span::styled("filter: ", t.key));
        spans.push(Span::styled(
            state.list(state.ui.view).filter.clone(),
            t.title,
        ));
        spans.push(Span::styled("▏ Enter apply · Esc clear", t.muted));
    } else if matches!(state.ui.modal, Some(Modal::Describe { .. })) {
        // The view's keys do nothing under the JSON: its own do, as many
        // as fit whole.
        let mut room = (area.width as usize).saturating_sub(1);
        for b in keymap::LAYER_BINDINGS
            .iter()
            .filter(|b| b.layers.contains(&keymap::Layer::Describe))
        {
            let w = unicode_width::UnicodeWidthStr::width(b.label) + b.desc.len() + 3;
            if w > room {
                break;
            }
            room -= w;
            spans.push(Span::styled(b.label, t.key));
            spans.push(Span::styled(format!(" {}  ", b.desc), t.footer));
        }
    } else {
        let filter = &state.list(state.ui.view).filter;
        if !filter.is_empty() {
            spans.push(Span::styled(format!("[/{filter}] "), t.focus));
        }
        // By priority: the view's own keys, then the global ones, as many
        // as fit whole; `? help` (which lists them all) always shows.
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let help = keymap::footer(state.ui.view)
            .into_iter()
            .find(|b| b.action == keymap::Action::Help);
        let help_w = help.map_or(0, |b| b.label.len() + b.desc.len() + 3);
        let mut room = (area.width as usize).saturating_sub(used + help_w);
        for b in keymap::footer(state.ui.view) {
            if !state.offers(b.action) || b.action == keymap::Action::Help {
                continue;
            }
            let w = unicode_width::UnicodeWidthStr::width(b.label) + b.desc.len() + 3;
            if w > room {
                continue;
            }
            room -= w;
            let disabled = b.write && state.read_only;
            let ks = if disabled {
                t.muted.add_modifier(Modifier::CROSSED_OUT)
            } else {
                t.key
            };
            spans.push(Span::styled(b.label, ks));
            spans.push(Span::styled(
                format!(" {}  ", b.desc),
                if disabled { t.muted } else { t.footer },
            ));
        }
        if let Some(b) = help {
            spans.push(Span::styled(b.label, t.key));
            spans.push(Span::styled(format!(" {}", b.desc), t.footer));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.footer), area);
}

/// Bold-less muted placeholder line.
pub fn muted_line(text: &str, t: &crate::theme::Theme) -> Line<'static> {
    Line::from(Span::styled(text.to_string(), t.muted))
}

pub fn style_if(cond: bool, a: Style, b: Style) -> Style {
    if cond { a } else { b }
}
