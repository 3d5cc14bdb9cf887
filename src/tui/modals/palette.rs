//! The command palette (`:`): a fuzzy query over views, services,
//! runbooks and actions; Enter runs the selected entry.

use super::centered;
use crate::tui::keymap::{self, Layer, LayerKey};
use crate::tui::state::*;
use crate::tui::ui::{muted_line, panel};
use crate::tui::update::Effect;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

pub fn on_key(state: &mut State, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    let Modal::Palette {
        mut query,
        mut selected,
    } = modal
    else {
        return vec![];
    };
    match keymap::lookup_layer(Layer::Palette, &k) {
        Some(LayerKey::Cancel) => return vec![],
        Some(LayerKey::Submit) => {
            let m = crate::tui::palette::matches(state, &query);
            return match m.into_iter().nth(selected) {
                Some(e) => crate::tui::update::run_palette(state, e),
                None => vec![],
            };
        }
        Some(LayerKey::Next) => selected += 1,
        Some(LayerKey::Prev) => selected = selected.saturating_sub(1),
        Some(LayerKey::Erase) => {
            query.pop();
            selected = 0;
        }
        _ if let KeyCode::Char(c) = k.code
            && query.chars().count() < 120 =>
        {
            query.push(c);
            selected = 0;
        }
        _ => {}
    }
    let n = crate::tui::palette::matches(state, &query).len();
    selected = selected.min(n.saturating_sub(1));
    state.ui.modal = Some(Modal::Palette { query, selected });
    vec![]
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    let t = &state.theme;
    let Modal::Palette { query, selected } = m else {
        return;
    };
    let items = crate::tui::palette::matches(state, query);
    let h = (items.len() as u16 + 4).clamp(6, area.height.saturating_sub(4).max(6));
    let r = centered(area, 90, h);
    f.render_widget(Clear, r);
    let block = panel("Command palette", t, true);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let rows = inner.height.saturating_sub(1) as usize;
    let off = crate::tui::ui::scroll_offset(*selected, rows);
    let mut lines = vec![Line::from(vec![
        Span::styled(": ", t.key),
        Span::styled(query.clone(), t.title),
        Span::styled("▏", t.focus),
    ])];
    if items.is_empty() {
        lines.push(muted_line("nothing matches", t));
    }
    let w = inner.width as usize;
    for (i, e) in items.iter().enumerate().skip(off).take(rows) {
        let sel = i == *selected;
        let label = crate::text::truncate(&e.label, w.saturating_sub(2).min(48));
        let hint_w = w.saturating_sub(label.chars().count() + 4);
        let mut line = Line::from(vec![
            Span::styled(format!(" {label}"), if sel { t.selection } else { t.text }),
            Span::styled(
                format!("  {}", crate::text::truncate(&e.hint, hint_w)),
                if sel { t.selection } else { t.muted },
            ),
        ]);
        if sel {
            line = line.style(t.selection);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}
