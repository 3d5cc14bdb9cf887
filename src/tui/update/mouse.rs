//! Mouse: scroll and click to select.

use super::*;

pub(crate) fn on_mouse(state: &mut State, m: MouseEvent) -> (Vec<Effect>, bool) {
    if state.ui.modal.is_some() || state.ui.help || state.first_run.is_some() {
        return (vec![], false);
    }
    let view = state.ui.view;
    match m.kind {
        MouseEventKind::ScrollDown => {
            move_sel(state, view, 1);
            (vec![], true)
        }
        MouseEventKind::ScrollUp => {
            move_sel(state, view, -1);
            (vec![], true)
        }
        MouseEventKind::Down(_) => {
            if let Some(row) = crate::tui::ui::row_at(state, m.column, m.row) {
                let n = state.len(view);
                if row < n {
                    state.list_mut(view).selected = row;
                    return (vec![], true);
                }
            }
            (vec![], false)
        }
        _ => (vec![], false),
    }
}
