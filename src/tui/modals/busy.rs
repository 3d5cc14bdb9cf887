//! The Planning and Running modals: a spinner while the provider plans or
//! the action runs. Esc hides it (a sent action cannot be recalled).

use super::centered;
use crate::tui::keymap::{self, Layer, LayerKey};
use crate::tui::state::*;
use crate::tui::ui::{muted_line, panel};
use crate::tui::update::Effect;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

pub fn on_key(state: &mut State, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    if !matches!(modal, Modal::Planning { .. } | Modal::Running { .. }) {
        return vec![];
    }
    // Nothing to do but wait; Esc hides the spinner (the action
    // itself cannot be recalled once sent).
    if keymap::lookup_layer(Layer::Busy, &k) != Some(LayerKey::Cancel) {
        state.ui.modal = Some(modal);
    }
    vec![]
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    let t = &state.theme;
    let (Modal::Planning { what } | Modal::Running { what }) = m else {
        return;
    };
    let r = centered(area, 64, 5);
    f.render_widget(Clear, r);
    let title = if matches!(m, Modal::Running { .. }) {
        "Running"
    } else {
        "Planning"
    };
    let block = panel(title, t, true);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let spin = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'][state.ui.spinner % 10];
    f.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(format!("{spin} "), t.info),
                Span::styled(what.clone(), t.text),
            ]),
            muted_line("Esc hides this; the result arrives as a notice", t),
        ])
        .wrap(Wrap { trim: false }),
        inner,
    );
}
