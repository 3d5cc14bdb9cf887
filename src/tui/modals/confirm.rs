//! The confirmation of a planned action: the exact requests, the stakes,
//! production in red; `y`/Enter, or the target's name typed for a rollback
//! or kill switch. The run/cancel controls stay pinned at the bottom; a
//! request taller than the screen scrolls above them (↑/↓), and Tab shows
//! the whole request (headers, bodies pretty-printed) instead of the
//! one-line summary of each.

use super::centered;
use crate::ops::Plan;
use crate::tui::keymap::{self, Layer, LayerKey};
use crate::tui::state::*;
use crate::tui::ui::{muted_line, panel};
use crate::tui::update::Effect;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// The dialog's width at most (it is narrower on a narrow screen).
const WIDTH: u16 = 96;

pub fn on_key(state: &mut State, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    let Modal::Confirm {
        plan,
        reason,
        need,
        mut typed,
        production,
        burn,
        error,
        mut scroll,
        mut full,
        take_over,
    } = modal
    else {
        return vec![];
    };
    // With a name to type, `y` and `n` are letters of it.
    let bound = keymap::lookup_layer(Layer::Confirm, &k)
        .filter(|l| need.is_none() || !matches!(l, LayerKey::Yes | LayerKey::No));
    let mut error_out = None;
    match bound {
        Some(LayerKey::Cancel | LayerKey::No) => {
            state.toast(ToastKind::Info, "cancelled: nothing was sent");
            return vec![];
        }
        Some(LayerKey::Submit) if need.as_ref().is_none_or(|n| typed == *n) => {
            return run(state, plan, reason, take_over);
        }
        Some(LayerKey::Submit) => {
            error_out = Some(format!(
                "type {:?} exactly to confirm",
                need.as_deref().unwrap_or_default()
            ));
        }
        Some(LayerKey::Yes) => return run(state, plan, reason, take_over),
        Some(LayerKey::Erase) => {
            typed.pop();
        }
        Some(LayerKey::ScrollDown | LayerKey::ScrollUp) => {
            let step = if matches!(k.code, KeyCode::PageDown | KeyCode::PageUp) {
                10
            } else {
                1
            };
            let (w, h) = state.ui.size;
            let view = Dialog::new(state, &plan, &reason, &burn, production, full);
            let max = view.max_scroll(Rect::new(0, 0, w, h), need.is_some(), error.is_some());
            scroll = if bound == Some(LayerKey::ScrollDown) {
                scroll.saturating_add(step).min(max)
            } else {
                scroll.saturating_sub(step)
            };
            error_out = error;
        }
        Some(LayerKey::Full) => {
            full = !full;
            scroll = 0;
            error_out = error;
        }
        _ if let KeyCode::Char(c) = k.code
            && need.is_some() =>
        {
            if typed.len() < 200 {
                typed.push(c);
            }
        }
        _ => error_out = error,
    }
    state.ui.modal = Some(Modal::Confirm {
        plan,
        reason,
        need,
        typed,
        production,
        burn,
        error: error_out,
        scroll,
        full,
        take_over,
    });
    vec![]
}

fn run(state: &mut State, plan: Box<Plan>, reason: String, take_over: bool) -> Vec<Effect> {
    let what = plan.summary.clone();
    state.ui.modal = Some(Modal::Running { what });
    vec![Effect::Execute {
        plan,
        reason,
        take_over,
    }]
}

/// What the dialog shows above its pinned controls.
struct Dialog {
    body: Vec<Line<'static>>,
}

impl Dialog {
    fn new(
        state: &State,
        plan: &Plan,
        reason: &str,
        burn: &Option<String>,
        production: bool,
        full: bool,
    ) -> Self {
        let t = &state.theme;
        let mut lines: Vec<Line<'static>> = Vec::new();
        if production {
            // One label: "PRODUCTION", or "PRODUCTION (prod-eu)" when the
            // environment has another name.
            let env = plan.target_environment().unwrap_or("production");
            let label = if env.eq_ignore_ascii_case("production") {
                " PRODUCTION ".to_string()
            } else {
                format!(" PRODUCTION ({env}) ")
            };
            lines.push(Line::from(Span::styled(label, t.prod)));
        }
        // Team mode without the database: no lease will keep others off.
        if let Some(st) = &state.team
            && st.reachable == Some(false)
        {
            lines.push(Line::from(Span::styled(
                "team database unreachable: no lease is taken, other responders are not kept off this target",
                t.warn,
            )));
        }
        lines.push(Line::from(Span::styled(plan.summary.clone(), t.title)));
        lines.push(Line::from(vec![
            Span::styled("provider ", t.muted),
            Span::styled(plan.provider.clone(), t.text),
            Span::styled("   target ", t.muted),
            Span::styled(plan.op.target(), t.text),
        ]));
        for (k, v) in &plan.stakes {
            lines.push(Line::from(vec![
                Span::styled(format!("{k:<8} "), t.muted),
                Span::styled(v.clone(), t.text),
            ]));
        }
        if let Some(b) = burn {
            lines.push(Line::from(vec![
                Span::styled("burn     ", t.muted),
                Span::styled(b.clone(), t.warn),
            ]));
        }
        if !reason.is_empty() {
            lines.push(Line::from(vec![
                Span::styled("reason   ", t.muted),
                Span::styled(reason.to_string(), t.text),
            ]));
        }
        lines.push(Line::from(""));
        lines.push(muted_line("will send:", t));
        for req in &plan.requests {
            lines.push(Line::from(Span::styled(
                format!("  {} {}", req.method, req.url),
                t.info,
            )));
            if full {
                for (h, v) in &req.headers {
                    lines.push(Line::from(Span::styled(format!("  {h}: {v}"), t.muted)));
                }
            }
            if let Some(b) = &req.body {
                if full {
                    let body = serde_json::to_string_pretty(b).unwrap_or_default();
                    for l in body.lines() {
                        let l = crate::text::SafeText::line(l);
                        lines.push(Line::from(Span::styled(format!("  {l}"), t.text)));
                    }
                } else {
                    let body = serde_json::to_string(b).unwrap_or_default();
                    let body = crate::text::SafeText::line(&body);
                    lines.push(Line::from(Span::styled(
                        format!("  {}", crate::text::truncate(body.as_str(), 200)),
                        t.muted,
                    )));
                }
            }
        }
        Dialog { body: lines }
    }

    /// The dialog's outer rectangle in `area`, and the inner width.
    fn rect(&self, area: Rect, controls: u16) -> (Rect, u16) {
        let w = WIDTH.min(area.width);
        let inner_w = w.saturating_sub(2).max(1);
        let body = wrapped_height(&self.body, inner_w);
        let h = (body + controls + 2).min(area.height);
        (centered(area, w, h), inner_w)
    }

    fn max_scroll(&self, area: Rect, typed: bool, error: bool) -> u16 {
        let controls = controls_height(typed, error);
        let (r, inner_w) = self.rect(area, controls);
        let room = r.height.saturating_sub(2 + controls);
        wrapped_height(&self.body, inner_w).saturating_sub(room)
    }
}

/// Lines the run/cancel controls take: the blank line above them, the
/// prompt (and the typed name), an error, the scroll and Tab hint.
fn controls_height(typed: bool, error: bool) -> u16 {
    1 + 1 + u16::from(typed) + u16::from(error) + 1
}

/// Rows `lines` take when wrapped at `width` cells (hard wrap: the same
/// count the renderer below draws).
fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    lines.iter().map(|l| wrap(l, width).len() as u16).sum()
}

/// Cut a line into rows of at most `width` cells, keeping span styles.
fn wrap(line: &Line, width: u16) -> Vec<Line<'static>> {
    use unicode_width::UnicodeWidthChar;
    let width = usize::from(width.max(1));
    let mut rows: Vec<Line<'static>> = vec![Line::default()];
    let mut used = 0usize;
    for span in &line.spans {
        let mut cur = String::new();
        for c in span.content.chars() {
            let cw = UnicodeWidthChar::width(c).unwrap_or(0);
            if used + cw > width {
                if !cur.is_empty() {
                    push_span(&mut rows, std::mem::take(&mut cur), span.style);
                }
                rows.push(Line::default());
                used = 0;
            }
            cur.push(c);
            used += cw;
        }
        if !cur.is_empty() {
            push_span(&mut rows, cur, span.style);
        }
    }
    rows
}

fn push_span(rows: &mut [Line<'static>], text: String, style: Style) {
    if let Some(last) = rows.last_mut() {
        last.spans.push(Span::styled(text, style));
    }
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    let t = &state.theme;
    let Modal::Confirm {
        plan,
        reason,
        need,
        typed,
        production,
        burn,
        error,
        scroll,
        full,
        ..
    } = m
    else {
        return;
    };
    let view = Dialog::new(state, plan, reason, burn, *production, *full);
    let controls_h = controls_height(need.is_some(), error.is_some());
    let (r, inner_w) = view.rect(area, controls_h);

    let mut controls: Vec<Line> = vec![Line::from("")];
    match need {
        Some(n) => {
            controls.push(Line::from(vec![
                Span::styled("Type ", t.text),
                Span::styled(n.clone(), t.title.add_modifier(Modifier::UNDERLINED)),
                Span::styled(" to confirm, Enter to run, Esc to cancel", t.text),
            ]));
            controls.push(Line::from(vec![
                Span::styled("> ", t.key),
                Span::styled(typed.clone(), if typed == n { t.ok } else { t.title }),
                Span::styled("▏", t.focus),
            ]));
        }
        None => controls.push(Line::from(vec![
            Span::styled("y", t.key),
            Span::styled("/Enter run   ", t.text),
            Span::styled("n", t.key),
            Span::styled("/Esc cancel", t.text),
        ])),
    }
    if let Some(e) = error {
        controls.push(Line::from(Span::styled(e.clone(), t.crit)));
    }

    f.render_widget(Clear, r);
    let title = format!("Confirm {}", plan.op.action_name());
    let block = panel(&title, t, true).border_style(if *production { t.crit } else { t.focus });
    let inner = block.inner(r);
    f.render_widget(block, r);

    let room = inner.height.saturating_sub(controls_h);
    let rows: Vec<Line> = view.body.iter().flat_map(|l| wrap(l, inner_w)).collect();
    let max = (rows.len() as u16).saturating_sub(room);
    let top = (*scroll).min(max);
    let shown: Vec<Line> = rows
        .into_iter()
        .skip(usize::from(top))
        .take(usize::from(room))
        .collect();
    f.render_widget(
        Paragraph::new(shown),
        Rect::new(inner.x, inner.y, inner.width, room),
    );
    {
        let below = max.saturating_sub(top);
        let mut spans = vec![];
        if top > 0 || below > 0 {
            spans.push(Span::styled(
                format!("{top} lines above, {below} below · "),
                t.muted,
            ));
            spans.push(Span::styled("↑↓", t.key));
            spans.push(Span::styled(" scroll · ", t.muted));
        }
        spans.push(Span::styled("Tab", t.key));
        spans.push(Span::styled(
            if *full {
                " back to the summary"
            } else {
                " the whole request"
            },
            t.muted,
        ));
        controls.push(Line::from(spans));
    }
    f.render_widget(
        Paragraph::new(controls),
        Rect::new(inner.x, inner.y + room, inner.width, controls_h),
    );
}
