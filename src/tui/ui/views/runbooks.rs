//! The Runbooks view: the catalog, and a walk one step at a time.

use super::*;

pub fn runbooks(f: &mut Frame, body: Rect, state: &State) {
    if let Some(w) = &state.runbooks.walk {
        return walk(f, body, state, w);
    }
    let t = &state.theme;
    let rows = state.runbook_rows();
    let filter = state.list(View::Runbooks).filter.clone();
    let (ta, da) = split(state, body);
    let mut title = title_with_count(
        "Runbooks",
        rows.len(),
        state.runbooks.catalog.runbooks.len(),
        &filter,
    );
    if !state.runbooks.catalog.broken.is_empty() {
        title.push_str(&format!(
            " · {} broken",
            state.runbooks.catalog.broken.len()
        ));
    }
    table(
        f,
        ta,
        state,
        View::Runbooks,
        title,
        vec!["ID", "TITLE", "STEPS", "REVIEWED"],
        vec![
            Constraint::Length(18),
            Constraint::Min(16),
            Constraint::Length(5),
            Constraint::Length(11),
        ],
        rows.len(),
        "no runbooks",
        |i| {
            let rb = rows[i];
            let stale = rb.is_stale(state.now);
            Row::new(vec![
                Cell::from(Span::styled(rb.id.to_string(), t.title)),
                Cell::from(rb.title.to_string()),
                Cell::from(rb.steps.len().to_string()),
                Cell::from(Span::styled(
                    match (rb.last_reviewed, stale) {
                        (Some(d), false) => d.to_string(),
                        (Some(_), true) => "STALE".into(),
                        (None, _) => "never".into(),
                    },
                    if stale { t.warn } else { t.muted },
                )),
            ])
        },
    );
    if let Some(da) = da {
        let block = panel("Preview — Enter walks it step by step", t, false);
        let inner = block.inner(da);
        f.render_widget(block, da);
        match state.selected_runbook() {
            Some(rb) => {
                let text = crate::present::render_runbook(rb, t, inner.width as usize, state.now);
                f.render_widget(Paragraph::new(text), inner);
            }
            None => {
                let mut lines = vec![muted_line("nothing selected", t)];
                for b in &state.runbooks.catalog.broken {
                    lines.push(Line::from(Span::styled(
                        format!("{}: {}", b.path, b.error),
                        t.crit,
                    )));
                }
                f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
            }
        }
    }
}

fn walk(f: &mut Frame, body: Rect, state: &State, w: &crate::runbooks::walk::Walk) {
    let t = &state.theme;
    let title = match w.incident() {
        Some(i) => format!("{} — for incident {i}", w.runbook.title),
        None => w.runbook.title.to_string(),
    };
    let block = panel(&title, t, true);
    let inner = block.inner(body);
    f.render_widget(block, body);
    let [head, text_area, keys] = Layout::vertical([
        Constraint::Length(if w.warning.is_some() { 2 } else { 1 }),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut head_lines = vec![Line::from(Span::styled(w.status_line(), t.focus))];
    if let Some(warn) = &w.warning {
        head_lines.push(Line::from(Span::styled(warn.to_string(), t.warn)));
    }
    f.render_widget(Paragraph::new(head_lines), head);
    let text = crate::present::render_walk(w, t, text_area.width as usize);
    // Keep the cursor on screen: scroll to the highlighted line.
    let cursor_line = text
        .lines
        .iter()
        .position(|l| l.spans.iter().any(|s| s.style == t.selection) || l.style == t.selection)
        .unwrap_or(0);
    let h = text_area.height as usize;
    let scroll = (cursor_line + 2).saturating_sub(h);
    f.render_widget(Paragraph::new(text).scroll((scroll as u16, 0)), text_area);
    let mut spans = Vec::new();
    for (k, d) in [
        ("j/k", " move  "),
        ("Space", " tick  "),
        ("x", " run action  "),
        ("y", " copy  "),
        ("h/l", " step  "),
        ("Esc", " back"),
    ] {
        spans.push(Span::styled(k, t.key));
        spans.push(Span::styled(d, t.muted));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), keys);
}
