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
    // Tall enough for the whole text (a long URL is shown whole).
    let w = area.width.saturating_sub(4).min(100);
    let mut lines: Vec<Line> = text
        .split('\n')
        .map(|l| {
            Line::from(Span::styled(
                crate::text::SafeText::line(l).to_string(),
                t.text,
            ))
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(muted_line("any key closes", t));
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let rows: usize = text
        .split('\n')
        .map(|l| {
            let cols = unicode_width::UnicodeWidthStr::width(l);
            cols.div_ceil(usize::from(w.saturating_sub(2)).max(1))
                .max(1)
        })
        .sum();
    // Word wrap may take a row more here and there.
    let h = (rows as u16 + rows as u16 / 3 + 4).clamp(6, area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = panel(title, t, true).border_style(t.crit);
    let inner = block.inner(r);
    f.render_widget(block, r);
    f.render_widget(para, inner);
}
