//! The confirmation of a planned action: the exact requests, the stakes,
//! production in red; `y`/Enter, or the target's name typed for a rollback
//! or kill switch.

use super::centered;
use crate::tui::keymap::{self, Layer, LayerKey};
use crate::tui::state::*;
use crate::tui::ui::{muted_line, panel};
use crate::tui::update::Effect;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

pub fn on_key(state: &mut State, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    let Modal::Confirm {
        plan,
        reason,
        need,
        mut typed,
        production,
        burn,
        error: _,
    } = modal
    else {
        return vec![];
    };
    let keep =
        |state: &mut State, typed: String, error: Option<String>, plan, reason, need, burn| {
            state.ui.modal = Some(Modal::Confirm {
                plan,
                reason,
                need,
                typed,
                production,
                burn,
                error,
            });
        };
    // With a name to type, `y` and `n` are letters of it.
    let bound = keymap::lookup_layer(Layer::Confirm, &k)
        .filter(|l| need.is_none() || !matches!(l, LayerKey::Yes | LayerKey::No));
    match bound {
        Some(LayerKey::Cancel | LayerKey::No) => {
            state.toast(ToastKind::Info, "cancelled: nothing was sent");
            vec![]
        }
        Some(LayerKey::Submit) => {
            let ok = match &need {
                Some(n) => typed == *n,
                None => true,
            };
            if ok {
                let what = plan.summary.clone();
                state.ui.modal = Some(Modal::Running { what });
                vec![Effect::Execute { plan, reason }]
            } else {
                let msg = format!(
                    "type {:?} exactly to confirm",
                    need.as_deref().unwrap_or_default()
                );
                keep(state, typed, Some(msg), plan, reason, need, burn);
                vec![]
            }
        }
        Some(LayerKey::Yes) => {
            let what = plan.summary.clone();
            state.ui.modal = Some(Modal::Running { what });
            vec![Effect::Execute { plan, reason }]
        }
        Some(LayerKey::Erase) => {
            typed.pop();
            keep(state, typed, None, plan, reason, need, burn);
            vec![]
        }
        _ if let KeyCode::Char(c) = k.code
            && need.is_some() =>
        {
            if typed.len() < 200 {
                typed.push(c);
            }
            keep(state, typed, None, plan, reason, need, burn);
            vec![]
        }
        _ => {
            keep(state, typed, None, plan, reason, need, burn);
            vec![]
        }
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
    } = m
    else {
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    if *production {
        lines.push(Line::from(Span::styled(
            format!(
                " PRODUCTION: {} ",
                plan.target_environment().unwrap_or("production")
            ),
            t.prod,
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
            Span::styled(reason.clone(), t.text),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(muted_line("will send:", t));
    for req in &plan.requests {
        lines.push(Line::from(Span::styled(
            format!("  {} {}", req.method, req.url),
            t.info,
        )));
        if let Some(b) = &req.body {
            let body = serde_json::to_string(b).unwrap_or_default();
            lines.push(Line::from(Span::styled(
                format!(
                    "  {}",
                    crate::text::truncate(crate::text::SafeText::line(&body).as_str(), 200)
                ),
                t.muted,
            )));
        }
    }
    lines.push(Line::from(""));
    match need {
        Some(n) => {
            lines.push(Line::from(vec![
                Span::styled("Type ", t.text),
                Span::styled(n.clone(), t.title.add_modifier(Modifier::UNDERLINED)),
                Span::styled(" to confirm, Enter to run, Esc to cancel", t.text),
            ]));
            lines.push(Line::from(vec![
                Span::styled("> ", t.key),
                Span::styled(typed.clone(), if typed == n { t.ok } else { t.title }),
                Span::styled("▏", t.focus),
            ]));
        }
        None => lines.push(Line::from(vec![
            Span::styled("y", t.key),
            Span::styled("/Enter run   ", t.text),
            Span::styled("n", t.key),
            Span::styled("/Esc cancel", t.text),
        ])),
    }
    if let Some(e) = error {
        lines.push(Line::from(Span::styled(e.clone(), t.crit)));
    }
    let h = (lines.len() as u16 + 4).min(area.height);
    let r = centered(area, 96, h);
    f.render_widget(Clear, r);
    let title = format!("Confirm {}", plan.op.action_name());
    let block = panel(&title, t, true).border_style(if *production { t.crit } else { t.focus });
    let inner = block.inner(r);
    f.render_widget(block, r);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
