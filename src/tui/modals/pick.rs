//! The rollback target picker's keys and frame (the choices are made in
//! `tui::pick`). Enter hands the chosen rollback to the reason dialog,
//! then it is planned and confirmed like any action; Esc sends nothing.

use super::centered;
use crate::tui::keymap::{self, Layer, LayerKey};
use crate::tui::pick::Pick;
use crate::tui::state::*;
use crate::tui::ui::{muted_line, panel};
use crate::tui::update::{Effect, ask_reason};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

pub fn on_key(state: &mut State, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    let Modal::RollbackPick(mut p) = modal else {
        return vec![];
    };
    let n = p.rows.len();
    match keymap::lookup_layer(Layer::Pick, &k) {
        Some(LayerKey::Cancel) => return vec![],
        Some(LayerKey::Submit) => {
            return match p.chosen() {
                Some(op) => ask_reason(state, op),
                None => vec![],
            };
        }
        Some(LayerKey::Next) if n > 0 => p.selected = (p.selected + 1).min(n - 1),
        Some(LayerKey::Prev) => p.selected = p.selected.saturating_sub(1),
        _ => {}
    }
    state.ui.modal = Some(Modal::RollbackPick(p));
    vec![]
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, p: &Pick) {
    let t = &state.theme;
    let crate::ops::WriteOp::Rollback {
        service,
        environment,
        ..
    } = &p.op
    else {
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    match &p.live {
        Some((desc, suspect)) => {
            lines.push(Line::from(vec![
                Span::styled("live now  ", t.muted),
                Span::styled(desc.clone(), t.text),
            ]));
            if let Some(why) = suspect {
                lines.push(Line::from(Span::styled(
                    format!("          ⚠ suspect: {why}"),
                    t.crit,
                )));
            }
        }
        None => lines.push(muted_line("live now  nothing", t)),
    }
    lines.push(muted_line("roll back to:", t));
    let w = area.width.saturating_sub(4).min(110);
    // Room for the rows: the box less borders, the two lines above and
    // the hint below.
    let room = usize::from(area.height.saturating_sub(8)).max(1);
    let top = p.selected.saturating_sub(room.saturating_sub(1));
    for (i, c) in p.rows.iter().enumerate().skip(top).take(room) {
        let sel = i == p.selected;
        let mut l = vec![Span::styled(
            format!("{} {}", if sel { "▸" } else { " " }, c.label),
            if sel { t.selection } else { t.text },
        )];
        if c.promote {
            l.push(Span::styled("  promote", t.warn));
        }
        if c.default {
            l.push(Span::styled("  default", t.ok));
        }
        if let Some(why) = &c.suspect {
            l.push(Span::styled(format!("  ⚠ suspect: {why}"), t.crit));
        }
        lines.push(Line::from(l));
    }
    lines.push(Line::from(""));
    let hint = if w >= 100 {
        "j/k choose · Enter: reason, then the plan to confirm · Esc keeps production"
    } else {
        "j/k choose · Enter: reason, plan · Esc keeps production"
    };
    lines.push(muted_line(
        &format!("{hint} · {} of {}", p.selected + 1, p.rows.len()),
        t,
    ));
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let title = format!("Roll back {service} / {environment}");
    let block = panel(&title, t, true);
    let inner = block.inner(r);
    f.render_widget(block, r);
    f.render_widget(Paragraph::new(lines), inner);
}
