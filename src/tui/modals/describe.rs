//! Describe (`d`): the selected row's record as pretty JSON, the model's
//! own serialization (the provider text in it already made safe where it
//! entered), wrapped to the screen and scrolled with j/k, PgDn/PgUp.

use crate::tui::keymap::{self, Layer, LayerKey};
use crate::tui::state::*;
use crate::tui::ui::{areas, muted_line, panel};
use crate::tui::update::Effect;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

/// Where the JSON is drawn: the body, inside a border, above a hint row.
fn inner(state: &State, area: Rect) -> Rect {
    let body = areas(area, state).body;
    Rect::new(
        body.x + 1,
        body.y + 1,
        body.width.saturating_sub(2),
        body.height.saturating_sub(3),
    )
}

/// `lines` cut to `width` columns (a long value continues on the next row).
pub fn wrapped(lines: &[String], width: u16) -> Vec<String> {
    let width = usize::from(width.max(1));
    let mut out = Vec::new();
    for l in lines {
        let mut row = String::new();
        let mut cols = 0;
        for c in l.chars() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if cols + w > width && !row.is_empty() {
                out.push(std::mem::take(&mut row));
                cols = 0;
            }
            row.push(c);
            cols += w;
        }
        out.push(row);
    }
    out
}

/// The last scroll position that still fills the screen.
fn max_scroll(state: &State, lines: &[String]) -> u16 {
    let area = Rect::new(0, 0, state.ui.size.0, state.ui.size.1);
    let r = inner(state, area);
    let rows = wrapped(lines, r.width).len();
    rows.saturating_sub(usize::from(r.height)) as u16
}

pub fn on_key(state: &mut State, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    let Modal::Describe {
        title,
        lines,
        mut scroll,
    } = modal
    else {
        return vec![];
    };
    let page = state.ui.size.1.saturating_sub(7).max(1);
    let max = max_scroll(state, &lines);
    match keymap::lookup_layer(Layer::Describe, &k) {
        Some(LayerKey::Cancel) => return vec![],
        Some(LayerKey::ScrollDown) => scroll = scroll.saturating_add(1).min(max),
        Some(LayerKey::ScrollUp) => scroll = scroll.saturating_sub(1),
        Some(LayerKey::PageDown) => scroll = scroll.saturating_add(page).min(max),
        Some(LayerKey::PageUp) => scroll = scroll.saturating_sub(page),
        _ => {}
    }
    state.ui.modal = Some(Modal::Describe {
        title,
        lines,
        scroll,
    });
    vec![]
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    let t = &state.theme;
    let Modal::Describe {
        title,
        lines,
        scroll,
    } = m
    else {
        return;
    };
    let body = areas(area, state).body;
    f.render_widget(Clear, body);
    let block = panel(title, t, true);
    f.render_widget(block, body);
    let r = inner(state, area);
    let rows = wrapped(lines, r.width);
    let top = usize::from(*scroll).min(rows.len().saturating_sub(usize::from(r.height)));
    let shown: Vec<Line> = rows
        .iter()
        .skip(top)
        .take(usize::from(r.height))
        .map(|l| Line::from(Span::styled(l.clone(), t.text)))
        .collect();
    f.render_widget(Paragraph::new(shown), r);
    let end = (top + usize::from(r.height)).min(rows.len());
    let hint = format!(
        "j/k scroll · PgDn/PgUp · Esc closes · lines {}-{end} of {}",
        (top + 1).min(end),
        rows.len()
    );
    let hint_row = Rect::new(r.x, r.y + r.height, r.width, 1);
    f.render_widget(Paragraph::new(muted_line(&hint, t)), hint_row);
}
