//! An error that needs reading (a plan that failed, a bad matcher): any
//! key closes it.

use super::centered;
use crate::tui::state::*;
use crate::tui::ui::{muted_line, panel};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

pub fn draw(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    let t = &state.theme;
    let Modal::Error { title, text } = m else {
        return;
    };
    let r = centered(area, 76, 10);
    f.render_widget(Clear, r);
    let block = panel(title, t, true).border_style(t.crit);
    let inner = block.inner(r);
    f.render_widget(block, r);
    f.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(
                crate::text::SafeText::line(text).to_string(),
                t.text,
            )),
            Line::from(""),
            muted_line("any key closes", t),
        ])
        .wrap(Wrap { trim: false }),
        inner,
    );
}
