//! Help, modals, toasts and the first-run screen.

use super::*;
use ratatui::widgets::{Clear, Wrap};
use std::path::Path;

pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn help(f: &mut Frame, area: Rect, state: &State) {
    let t = &state.theme;
    let rows = keymap::help_rows();
    // Flow the bindings into as many columns as fit (2 at 80 columns).
    let col_w: u16 = 38;
    let cols = ((area.width.saturating_sub(4)) / col_w).clamp(1, 3) as usize;
    let per_col = rows.len().div_ceil(cols);
    let h = (per_col as u16 + 3).min(area.height);
    let w = (col_w * cols as u16 + 2).min(area.width);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = panel(
        "Help — keys · ? Esc q close · the mouse selects and scrolls",
        t,
        true,
    );
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [grid, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let col_areas = Layout::horizontal(vec![Constraint::Length(col_w); cols]).split(grid);
    for (c, chunk) in rows.chunks(per_col).enumerate() {
        let Some(ca) = col_areas.get(c) else { break };
        let lines: Vec<Line> = chunk
            .iter()
            .map(|(keys, desc, scope)| {
                let mut spans = vec![
                    Span::styled(format!("{keys:>6} "), t.key),
                    Span::styled(desc.to_string(), t.text),
                ];
                if scope != "everywhere" {
                    spans.push(Span::styled(format!(" ({scope})"), t.muted));
                }
                Line::from(spans)
            })
            .collect();
        f.render_widget(Paragraph::new(lines), *ca);
    }
    let line = Line::from(vec![
        Span::styled("log file ", t.muted),
        Span::styled(state.log_path.display().to_string(), t.text),
    ]);
    f.render_widget(Paragraph::new(line), foot);
}

/// At most this many messages are shown, newest last.
const TOASTS_SHOWN: usize = 3;
/// Rows one message may take; a longer one ends in `…`.
const TOAST_ROWS: usize = 3;

/// The messages as the rows they take at `width`: each word-wrapped under
/// its mark (✓ done, ✗ failed, · info), at most [`TOAST_ROWS`] rows each.
pub fn toast_lines(state: &State, width: u16) -> Vec<Line<'static>> {
    let t = &state.theme;
    let text_w = (width as usize).saturating_sub(4).max(1);
    let shown = state.ui.toasts.len().saturating_sub(TOASTS_SHOWN);
    let mut out = Vec::new();
    for toast in &state.ui.toasts[shown..] {
        let (mark, style) = match toast.kind {
            ToastKind::Ok => ("✓", t.ok),
            ToastKind::Error => ("✗", t.crit),
            ToastKind::Info => ("·", t.info),
        };
        let mut rows: Vec<String> =
            crate::present::markdown::wrap(&[(toast.text.as_str(), t.text)], text_w)
                .into_iter()
                .map(|runs| runs.into_iter().map(|(s, _)| s).collect())
                .collect();
        if rows.len() > TOAST_ROWS {
            let rest = rows.split_off(TOAST_ROWS - 1).join(" ");
            rows.push(crate::text::truncate(&rest, text_w));
        }
        for (n, row) in rows.into_iter().enumerate() {
            let lead = if n == 0 {
                format!(" {mark} ")
            } else {
                "   ".into()
            };
            out.push(Line::from(vec![
                Span::styled(lead, style),
                Span::styled(row, t.text),
            ]));
        }
    }
    out
}

pub fn toasts(f: &mut Frame, area: Rect, state: &State) {
    if area.height == 0 {
        return;
    }
    let lines = toast_lines(state, area.width);
    // Newest last: when the rows are short, the oldest give way.
    let skip = lines.len().saturating_sub(area.height as usize);
    f.render_widget(
        Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()).style(state.theme.header),
        area,
    );
}

pub fn first_run(f: &mut Frame, area: Rect, state: &State, path: &Path) {
    let t = &state.theme;
    let r = centered(area, 76, 18);
    let block = panel("Welcome to sitrep", t, true);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let lines = vec![
        Line::from(Span::styled("No configuration yet.", t.title)),
        Line::from(""),
        Line::from(vec![
            Span::styled("sitrep looked for ", t.text),
            Span::styled(path.display().to_string(), t.focus),
        ]),
        Line::from(""),
        Line::from(Span::styled("To connect your providers:", t.text)),
        Line::from(vec![
            Span::styled("  sitrep config init", t.key),
            Span::styled("    write a commented example", t.muted),
        ]),
        Line::from(vec![
            Span::styled("  $EDITOR ", t.key),
            Span::styled(path.display().to_string(), t.key),
        ]),
        Line::from(vec![
            Span::styled("  sitrep config check", t.key),
            Span::styled("   validate it", t.muted),
        ]),
        Line::from(vec![
            Span::styled("  sitrep auth set NAME", t.key),
            Span::styled("  store a token in the keyring", t.muted),
        ]),
        Line::from(""),
        Line::from(vec![
            Span::styled("Press ", t.text),
            Span::styled("d", t.key),
            Span::styled(
                " to try the demo (vendors simulated here, nothing leaves), ",
                t.text,
            ),
            Span::styled("q", t.key),
            Span::styled(" to quit.", t.text),
        ]),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
