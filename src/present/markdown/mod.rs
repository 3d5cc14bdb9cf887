//! Markdown → ratatui `Text` (the reader and walk mode) and → plain text
//! (`sitrep runbook show`), in one pass over pulldown-cmark events.
//!
//! - headings keep their `#` marks (level is visible without colour);
//! - emphasis, strong and strikethrough become modifiers;
//! - lists are indented with `•`/`◦`/`▪` or `N.`; task items show `[ ]` / `[x]`;
//! - tables are laid out in columns that fit the width, cells wrapped;
//! - code blocks get a visible frame (plain: kept fenced, so they copy
//!   cleanly); a `sitrep` block is labelled as an action, with the reason
//!   when it does not parse;
//! - links are `label <url>` — never OSC 8; raw HTML is shown as text.
//!
//! Every piece of text is sanitized again here (entities like `&#x1b;`
//! decode to control characters), tabs are expanded, and the work is linear
//! in the input: nesting deeper than [`MAX_DEPTH`] is drawn at that depth.

mod render;
#[cfg(test)]
mod tests;
mod wrap;

use crate::runbooks::nesting::defuse_nesting;
use crate::text::SafeText;
use crate::theme::Theme;
use pulldown_cmark::{Options, Parser};
use ratatui::text::{Line, Text};
use render::Renderer;
use unicode_width::UnicodeWidthChar;
pub(crate) use wrap::*;

/// Containers (quotes, list items) drawn; deeper ones share the last indent.
pub const MAX_DEPTH: usize = 8;
pub(crate) const MIN_TEXT_WIDTH: usize = 12;

/// How to render.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Columns available (0 = 80).
    pub width: usize,
    /// Plain text for `runbook show`: code blocks fenced and never wrapped,
    /// inline code in backticks, no styles.
    pub plain: bool,
    /// Walk mode: the state of each task item, in document order (it
    /// overrides the `[ ]`/`[x]` written in the file).
    pub checked: Option<Vec<bool>>,
    /// Walk mode (team): who ticked each task item, in document order,
    /// shown after the item's text (`✓ dana@host 14:02`).
    pub ticked_by: Option<Vec<Option<String>>>,
    /// Walk mode: the task item under the cursor (document order).
    pub selected_item: Option<usize>,
    /// Walk mode: the fenced block under the cursor (document order).
    pub selected_block: Option<usize>,
}

impl RenderOptions {
    pub fn width(width: usize) -> Self {
        RenderOptions {
            width,
            ..Default::default()
        }
    }
}

pub(crate) fn clean_line(s: &str) -> String {
    SafeText::line(s).into_string()
}

pub(crate) fn clean_block(s: &str) -> String {
    SafeText::block(s).into_string().replace('\t', "    ")
}

pub(crate) fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Columns of one character (printable ASCII without a table lookup).
pub(crate) fn char_width(c: char) -> usize {
    if (' '..='~').contains(&c) {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

pub(crate) fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

/// Render markdown to lines (see the module docs).
pub fn markdown_lines(md: &str, theme: &Theme, opt: &RenderOptions) -> Vec<Line<'static>> {
    render_work(md, theme, opt).0
}

/// Render and count the work done: parser events, container visits,
/// bytes wrapped, plus the cells of the output. Linear in the input is the
/// property the tests check (time on a shared machine is noisy).
pub fn render_work(md: &str, theme: &Theme, opt: &RenderOptions) -> (Vec<Line<'static>>, usize) {
    let mut r = Renderer::new(theme, opt);
    let md = defuse_nesting(md);
    r.work(md.len());
    for ev in Parser::new_ext(&md, options()) {
        r.event(ev);
    }
    // Work is counted up to the end of the input (as before `finish`).
    let ops = r.ops.get();
    r.finish();
    let lines = r.lines;
    let cells: usize = lines.iter().map(Line::width).sum();
    (lines, ops + cells)
}

/// Render markdown to a ratatui `Text` wrapped to `width`.
pub fn render_markdown(md: &str, theme: &Theme, width: usize) -> Text<'static> {
    Text::from(markdown_lines(md, theme, &RenderOptions::width(width)))
}

/// `lines_to_string(&markdown_lines(md, …))` appended to `out`, written
/// straight as text (no spans or lines in between).
pub(crate) fn markdown_text(out: String, md: &str, theme: &Theme, opt: &RenderOptions) -> String {
    let mut r = Renderer::new(theme, opt);
    r.text_start = out.len();
    r.text_out = Some(out);
    let md = defuse_nesting(md);
    for ev in Parser::new_ext(&md, options()) {
        r.event(ev);
    }
    r.finish();
    r.text_out.unwrap_or_default()
}

/// Join lines into text, trailing spaces trimmed.
pub fn lines_to_string(lines: &[Line<'_>]) -> String {
    let mut out = String::new();
    for l in lines {
        let s: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        out.push_str(s.trim_end());
        out.push('\n');
    }
    out
}
