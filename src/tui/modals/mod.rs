//! The console's modals, one component a file, each with `on_key` (the
//! modal's keys; only `update` calls it) and `draw` (pure). This file
//! routes a key or a frame to the open modal's component.

pub mod busy;
pub mod confirm;
pub mod describe;
pub mod error;
pub mod input;
pub mod palette;
pub mod pick;

use super::state::{Modal, State};
use super::update::Effect;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

pub(crate) use super::ui::centered;

/// A key while a modal is open. The modal is taken out of the state; its
/// component puts it back (changed) unless the key closed it.
pub fn on_key(state: &mut State, k: KeyEvent) -> Vec<Effect> {
    let Some(modal) = state.ui.modal.take() else {
        return vec![];
    };
    match modal {
        Modal::Planning { .. } | Modal::Running { .. } => busy::on_key(state, modal, k),
        // Any key closes these.
        Modal::Details | Modal::Error { .. } => vec![],
        Modal::Palette { .. } => palette::on_key(state, modal, k),
        Modal::Input { .. } => input::on_key(state, modal, k),
        Modal::Confirm { .. } => confirm::on_key(state, modal, k),
        Modal::Describe { .. } => describe::on_key(state, modal, k),
        Modal::RollbackPick(_) => pick::on_key(state, modal, k),
    }
}

/// Draw the open modal over `area`.
pub fn draw(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    match m {
        Modal::Planning { .. } | Modal::Running { .. } => busy::draw(f, area, state, m),
        Modal::Error { .. } => error::draw(f, area, state, m),
        Modal::Input { .. } => input::draw(f, area, state, m),
        Modal::Details => {}
        Modal::Palette { .. } => palette::draw(f, area, state, m),
        Modal::Confirm { .. } => confirm::draw(f, area, state, m),
        Modal::Describe { .. } => describe::draw(f, area, state, m),
        Modal::RollbackPick(p) => pick::draw(f, area, state, p),
    }
}
