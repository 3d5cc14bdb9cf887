//! A runbook drawn: its header (facts, STALE review), the whole document,
//! one step of a walk (ticks, cursor), and the plain text of `runbook show`.

use super::markdown::*;
use crate::model::Time;
use crate::runbooks::Focus;
use crate::runbooks::Runbook;
use crate::runbooks::walk::Walk;
use crate::text::SafeText;
use crate::theme::Theme;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};

/// The header of a runbook: title, then its facts (id, severities, owner,
/// review date with STALE, RTO/RPO, services, tags, source).
pub fn header_lines(
    rb: &Runbook,
    theme: &Theme,
    width: usize,
    now: Time,
    plain: bool,
) -> Vec<Line<'static>> {
    let st = |s: Style| if plain { Style::new() } else { s };
    let join = |v: &[SafeText]| {
        v.iter()
            .map(SafeText::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let t = st(theme.text);
    let mut groups: Vec<Vec<(String, String, Style)>> = Vec::new();
    let mut g1 = vec![("id".to_string(), rb.id.to_string(), t)];
    if !rb.severity.is_empty() {
        g1.push(("severity".into(), join(&rb.severity), t));
    }
    if let Some(o) = &rb.owner {
        g1.push(("owner".into(), o.to_string(), t));
    }
    groups.push(g1);
    let reviewed = match rb.last_reviewed {
        Some(d) => d.to_string(),
        None => "never".into(),
    };
    let mut g2 = Vec::new();
    if rb.is_stale(now) {
        g2.push((
            "reviewed".into(),
            format!(
                "{reviewed} STALE (over {} days)",
                crate::runbooks::STALE_DAYS
            ),
            st(theme.stale.patch(theme.warn)),
        ));
    } else {
        g2.push(("reviewed".into(), reviewed, t));
    }
    if let Some(r) = &rb.rto {
        g2.push(("RTO".into(), r.to_string(), t));
    }
    if let Some(r) = &rb.rpo {
        g2.push(("RPO".into(), r.to_string(), t));
    }
    groups.push(g2);
    let mut g3 = Vec::new();
    if !rb.services.is_empty() {
        g3.push(("services".into(), join(&rb.services), t));
    }
    if !rb.tags.is_empty() {
        g3.push(("tags".into(), join(&rb.tags), t));
    }
    groups.push(g3);
    groups.push(vec![(
        "source".into(),
        rb.path.to_string(),
        st(theme.muted),
    )]);
    let width = width.max(MIN_TEXT_WIDTH);
    let mut out = Vec::new();
    let to_line = |l: Vec<(String, Style)>| {
        Line::from(
            l.into_iter()
                .map(|(t, s)| Span::styled(t, s))
                .collect::<Vec<_>>(),
        )
    };
    for l in wrap(
        &[(
            rb.title.to_string(),
            st(theme.title.add_modifier(Modifier::BOLD)),
        )],
        width,
    ) {
        out.push(to_line(l));
    }
    for g in groups.into_iter().filter(|g| !g.is_empty()) {
        let mut spans: Vec<(String, Style)> = Vec::new();
        for (i, (k, v, vs)) in g.into_iter().enumerate() {
            if i > 0 {
                spans.push((" · ".into(), st(theme.muted)));
            }
            spans.push((format!("{k}: "), st(theme.muted)));
            spans.push((v, vs));
        }
        for l in wrap(&spans, width) {
            out.push(to_line(l));
        }
    }
    out
}

/// Header, then the whole body, for the reader.
pub fn render_runbook(rb: &Runbook, theme: &Theme, width: usize, now: Time) -> Text<'static> {
    let mut lines = header_lines(rb, theme, width, now, false);
    lines.push(Line::default());
    lines.extend(markdown_lines(
        rb.body.as_str(),
        theme,
        &RenderOptions::width(width),
    ));
    Text::from(lines)
}

/// Walk mode: one step, its task items drawn from `progress`, with the
/// cursor on `selected_item` (a task) or `selected_block` (a fenced block),
/// both counted from 0 within the step.
pub fn render_step(
    rb: &Runbook,
    step: u32,
    progress: &crate::runbooks::Progress,
    theme: &Theme,
    width: usize,
    selected_item: Option<usize>,
    selected_block: Option<usize>,
) -> Text<'static> {
    let Some(s) = rb.step(step) else {
        return Text::default();
    };
    let checked = s
        .items
        .iter()
        .map(|i| progress.is_checked(step, i.index))
        .collect();
    let opt = RenderOptions {
        width,
        plain: false,
        checked: Some(checked),
        ticked_by: None,
        selected_item,
        selected_block,
    };
    Text::from(markdown_lines(s.markdown(rb), theme, &opt))
}

/// Plain text of a whole runbook (`sitrep runbook show`): sanitized, no
/// escape sequences, code blocks fenced and unwrapped so they copy cleanly.
pub fn render_plain(rb: &Runbook, width: usize, now: Time) -> String {
    let theme = Theme::no_color();
    let mut lines = header_lines(rb, &theme, width, now, true);
    lines.push(Line::default());
    let opt = RenderOptions {
        width,
        plain: true,
        ..Default::default()
    };
    markdown_text(lines_to_string(&lines), rb.body.as_str(), &theme, &opt)
}

/// The open step of a walk: ticks from the progress, the cursor highlighted.
pub fn render_walk(w: &Walk, theme: &Theme, width: usize) -> Text<'static> {
    let (item, block) = match w.focus() {
        Some(Focus::Item(i)) => (Some(i), None),
        Some(Focus::Block(b)) => (None, Some(b)),
        None => (None, None),
    };
    let step = w.progress.current_step;
    let Some(s) = w.runbook.step(step) else {
        return Text::default();
    };
    let checked = s
        .items
        .iter()
        .map(|i| w.progress.is_checked(step, i.index))
        .collect();
    let opt = RenderOptions {
        width,
        plain: false,
        checked: Some(checked),
        ticked_by: (!w.shared.is_empty()).then(|| w.ticked_by(step)),
        selected_item: item,
        selected_block: block,
    };
    // The step as it will run: bound placeholders show their values
    // (checked values: no markup, no shell syntax), unbound ones stay
    // `{name}` and are asked for when the block is run.
    let md = crate::runbooks::bind::substitute(s.markdown(&w.runbook), &w.bindings).0;
    Text::from(markdown_lines(&md, theme, &opt))
}
