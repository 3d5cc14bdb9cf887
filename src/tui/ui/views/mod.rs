//! The list views, one file each (Incidents, SLOs, Deploys, Flags, Audit,
//! Runbooks, Timeline, Providers, Silences), and what they share: the table, the details pane.
//! Only the visible rows are built (virtualized), so 10,000 incidents cost
//! what a screenful does.

use super::*;

mod audit;
mod deploys;
mod flags;
mod incidents;
mod providers;
mod runbooks;
mod silences;
mod slos;
mod timeline;

pub use audit::audit;
pub use deploys::deploys;
pub use flags::flags;
pub use incidents::incidents;
pub use providers::providers;
pub(super) use ratatui::widgets::{Cell, Row, Table, Wrap};
pub use runbooks::runbooks;
pub use silences::silences;
pub use slos::slos;
pub use timeline::timeline;

/// Split the body into the table and the details pane. Side by side when
/// wide; stacked when narrow, the table only as tall as its rows need so the
/// details get the rest.
pub(super) fn split(state: &State, body: Rect) -> (Rect, Option<Rect>) {
    if state.ui.view == View::Runbooks {
        // The list and a preview of the selected runbook.
        return if body.width >= 120 {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                    .areas(body);
            (a, Some(b))
        } else if body.height >= 18 {
            let h = (state.len(View::Runbooks) as u16 + 3).clamp(6, body.height / 2);
            let [a, b] = Layout::vertical([Constraint::Length(h), Constraint::Min(6)]).areas(body);
            (a, Some(b))
        } else {
            (body, None)
        };
    }
    if !state.ui.show_details {
        return (body, None);
    }
    if body.width >= 120 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
            .areas(body);
        (a, Some(b))
    } else if body.height >= 18 {
        let rows = state.len(state.ui.view) as u16 + 3;
        let table_h = rows.clamp(6, body.height.saturating_sub(8));
        let [a, b] =
            Layout::vertical([Constraint::Length(table_h), Constraint::Min(8)]).areas(body);
        (a, Some(b))
    } else {
        (body, None)
    }
}

/// The data rows of the current view's table (inside border, below header).
pub fn rows_area(state: &State, body: Rect) -> Rect {
    let (table, _) = split(state, body);
    Rect::new(
        table.x + 1,
        table.y + 2,
        table.width.saturating_sub(2),
        table.height.saturating_sub(3),
    )
}

pub(super) fn title_with_count(name: &str, shown: usize, total: usize, filter: &str) -> String {
    if filter.is_empty() {
        format!("{name} ({total})")
    } else {
        format!("{name} ({shown} of {total}, /{filter})")
    }
}

/// Draw a virtualized table: `build(i)` makes row `i`.
#[allow(clippy::too_many_arguments)]
pub(super) fn table<'a>(
    f: &mut Frame,
    area: Rect,
    state: &State,
    view: View,
    title: String,
    header: Vec<&'static str>,
    widths: Vec<Constraint>,
    len: usize,
    empty: &str,
    build: impl Fn(usize) -> Row<'a>,
) {
    let t = &state.theme;
    let block = panel(&title, t, true);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if len == 0 {
        f.render_widget(Paragraph::new(muted_line(empty, t)), inner);
        return;
    }
    let h = inner.height.saturating_sub(1) as usize;
    let sel = state.list(view).selected;
    let off = scroll_offset(sel, h);
    let rows: Vec<Row> = (off..(off + h).min(len))
        .map(|i| {
            let r = build(i);
            if i == sel { r.style(t.selection) } else { r }
        })
        .collect();
    let header = Row::new(header.into_iter().map(|h| {
        Cell::from(Span::styled(
            crate::tui::sort::header(state, view, h),
            t.muted.add_modifier(Modifier::BOLD),
        ))
    }));
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
    // The selected row stays readable whatever its cells' colours.
    let y = inner.y + 1 + (sel - off) as u16;
    t.fix_selection(f.buffer_mut(), Rect::new(inner.x, y, inner.width, 1));
    if len > h && inner.width > 12 {
        let pos = format!(" {}/{} ", sel + 1, len);
        let r = Rect::new(
            area.x + area.width.saturating_sub(pos.len() as u16 + 2),
            area.y + area.height - 1,
            pos.len() as u16,
            1,
        );
        f.render_widget(Paragraph::new(Span::styled(pos, t.muted)), r);
    }
}

pub(super) fn details(
    f: &mut Frame,
    area: Rect,
    state: &State,
    title: &str,
    lines: Vec<Line<'static>>,
) {
    let t = &state.theme;
    let block = panel(title, t, false);
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub(super) fn kv(k: &str, v: impl Into<String>, t: &crate::theme::Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{k:<10}"), t.muted),
        Span::styled(v.into(), t.text),
    ])
}

pub(super) fn opt(s: &Option<crate::text::SafeText>) -> String {
    s.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}
