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

use super::Runbook;
use crate::model::Time;
use crate::text::SafeText;
use crate::theme::Theme;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use unicode_width::UnicodeWidthChar;

/// Containers (quotes, list items) drawn; deeper ones share the last indent.
pub const MAX_DEPTH: usize = 8;
const MIN_TEXT_WIDTH: usize = 12;

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

fn clean_line(s: &str) -> String {
    SafeText::line(s).into_string()
}

fn clean_block(s: &str) -> String {
    SafeText::block(s).into_string().replace('\t', "    ")
}

fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Columns of one character (printable ASCII without a table lookup).
fn char_width(c: char) -> usize {
    if (' '..='~').contains(&c) {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

/// Greedy word wrap of styled text to `width` columns. `\n` breaks a line;
/// runs of spaces are one break (in the style of the first); a word may
/// change style inside (`**bold**text`) and is kept whole; words longer
/// than the width are split by columns. Spaces at the start and end of a
/// line are dropped.
///
/// Each line is handed to `line` (its index and its pieces, borrowed from
/// `spans`, adjacent ones possibly in the same style); nothing is
/// allocated per word or character.
fn wrap_with<'a, S: AsRef<str>>(
    spans: &'a [(S, Style)],
    width: usize,
    mut line: impl FnMut(usize, &[(&'a str, Style)]),
) {
    /// The line being filled.
    struct Cur<'a> {
        pieces: Vec<(&'a str, Style)>,
        col: usize,
        /// The space before the next word, if any (its style).
        space: Option<Style>,
        done: usize,
    }
    impl<'a> Cur<'a> {
        fn end(&mut self, line: &mut impl FnMut(usize, &[(&'a str, Style)])) {
            line(self.done, &self.pieces);
            self.done += 1;
            self.pieces.clear();
            self.col = 0;
            self.space = None;
        }
        fn word(
            &mut self,
            word: &[(&'a str, Style)],
            w: usize,
            width: usize,
            line: &mut impl FnMut(usize, &[(&'a str, Style)]),
        ) {
            let sp = usize::from(self.space.is_some());
            if self.col > 0 && self.col + sp + w > width {
                self.end(line);
            }
            if let Some(sst) = self.space.take() {
                self.pieces.push((" ", sst));
                self.col += 1;
            }
            if self.col + w <= width {
                self.pieces.extend_from_slice(word);
                self.col += w;
                return;
            }
            // Longer than a line: split by columns.
            for &(t, st) in word {
                let mut from = 0;
                for (i, ch) in t.char_indices() {
                    let cw = char_width(ch);
                    if self.col + cw > width && self.col > 0 {
                        if from < i {
                            self.pieces.push((&t[from..i], st));
                        }
                        from = i;
                        self.end(line);
                    }
                    self.col += cw;
                }
                if from < t.len() {
                    self.pieces.push((&t[from..], st));
                }
            }
        }
    }
    let width = width.max(1);
    let mut cur = Cur {
        pieces: Vec::new(),
        col: 0,
        space: None,
        done: 0,
    };
    // The word being read: its pieces and width.
    let mut word: Vec<(&'a str, Style)> = Vec::new();
    let mut ww = 0usize;
    // The last thing read was a space (a run of spaces is one break).
    let mut after_space = false;
    for (text, st) in spans {
        let (text, st) = (text.as_ref(), *st);
        // Start of the part of the current word that lies in this span.
        let mut start: Option<usize> = None;
        for (i, ch) in text.char_indices() {
            match ch {
                ' ' | '\n' => {
                    if let Some(s) = start.take() {
                        word.push((&text[s..i], st));
                    }
                    if !word.is_empty() {
                        cur.word(&word, ww, width, &mut line);
                        word.clear();
                        ww = 0;
                        after_space = false;
                    }
                    if ch == '\n' {
                        cur.end(&mut line);
                        after_space = false;
                    } else if !after_space {
                        if cur.col > 0 {
                            cur.space = Some(st);
                        }
                        after_space = true;
                    }
                }
                c => {
                    start.get_or_insert(i);
                    ww += char_width(c);
                    after_space = false;
                }
            }
        }
        if let Some(s) = start {
            word.push((&text[s..], st));
        }
    }
    if !word.is_empty() {
        cur.word(&word, ww, width, &mut line);
    }
    if !cur.pieces.is_empty() || cur.done == 0 {
        cur.end(&mut line);
    }
}

/// Pieces of a line as owned runs, adjacent pieces of one style merged.
fn merge_pieces(pieces: &[(&str, Style)]) -> Vec<(String, Style)> {
    let mut out: Vec<(String, Style)> = Vec::new();
    for &(t, st) in pieces {
        match out.last_mut() {
            Some((s, lst)) if *lst == st => s.push_str(t),
            _ => out.push((t.to_string(), st)),
        }
    }
    out
}

/// Pieces of a line as spans, adjacent pieces of one style merged.
fn spans_of(pieces: &[(&str, Style)]) -> Vec<Span<'static>> {
    merge_pieces(pieces)
        .into_iter()
        .map(|(t, s)| Span::styled(t, s))
        .collect()
}

/// [`wrap_with`], collected: each line as owned runs of one style.
fn wrap<S: AsRef<str>>(spans: &[(S, Style)], width: usize) -> Vec<Vec<(String, Style)>> {
    let mut lines = Vec::new();
    wrap_with(spans, width, |_, pieces| lines.push(merge_pieces(pieces)));
    lines
}

/// Hard wrap one line of code by columns (no word breaking).
fn hard_wrap(line: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut col = 0;
    for ch in line.chars() {
        let cw = ch.width().unwrap_or(0);
        if col + cw > width && col > 0 {
            out.push(std::mem::take(&mut cur));
            col = 0;
        }
        cur.push(ch);
        col += cw;
    }
    out.push(cur);
    out
}

enum Container {
    Quote,
    Item {
        indent: usize,
        marker: Option<(String, Style)>,
    },
}

struct TableState {
    aligns: Vec<pulldown_cmark::Alignment>,
    rows: Vec<Vec<String>>,
    cell: String,
    in_head: bool,
    head_rows: usize,
}

struct Renderer<'t> {
    theme: &'t Theme,
    opt: &'t RenderOptions,
    width: usize,
    lines: Vec<Line<'static>>,
    /// Set for [`render_plain`]: lines are written here as text (what
    /// [`lines_to_string`] would make of them) instead of into `lines`.
    text_out: Option<String>,
    /// Length of `text_out` before this renderer wrote to it.
    text_start: usize,
    inline: Vec<(String, Style)>,
    styles: Vec<Style>,
    containers: Vec<Container>,
    /// Ordered list counters (None = bullet).
    lists: Vec<Option<u64>>,
    links: Vec<(String, LinkType)>,
    code: Option<(String, String)>,
    table: Option<TableState>,
    heading: Option<HeadingLevel>,
    need_blank: bool,
    /// List items open (kept as a count: scanning `containers` would be
    /// quadratic on deep nesting).
    items_open: usize,
    task_no: usize,
    block_no: usize,
    image: usize,
    /// Steps of work done (events, container visits, bytes wrapped): the
    /// linear-time property is checked on it (see [`render_work`]).
    ops: std::cell::Cell<usize>,
}

impl<'t> Renderer<'t> {
    fn new(theme: &'t Theme, opt: &'t RenderOptions) -> Self {
        let width = if opt.width == 0 { 80 } else { opt.width };
        Renderer {
            theme,
            opt,
            width,
            lines: Vec::new(),
            text_out: None,
            text_start: 0,
            inline: Vec::new(),
            styles: vec![theme.text],
            containers: Vec::new(),
            lists: Vec::new(),
            links: Vec::new(),
            code: None,
            table: None,
            heading: None,
            need_blank: false,
            items_open: 0,
            task_no: 0,
            block_no: 0,
            image: 0,
            ops: std::cell::Cell::new(0),
        }
    }

    fn work(&self, n: usize) {
        self.ops.set(self.ops.get() + n);
    }

    fn st(&self, s: Style) -> Style {
        if self.opt.plain { Style::new() } else { s }
    }

    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, patch: Style) {
        let s = self.style().patch(patch);
        self.styles.push(s);
    }

    fn pop_style(&mut self) {
        if self.styles.len() > 1 {
            self.styles.pop();
        }
    }

    fn text(&mut self, s: String, st: Style) {
        if let Some(t) = self.table.as_mut() {
            t.cell.push_str(&s);
            return;
        }
        let st = self.st(st);
        self.inline.push((s, st));
    }

    /// The prefix of the next line, piece by piece; `first` consumes
    /// pending item markers. Runs of indentation come as one `Pad` (fewer
    /// allocations per line on deep nesting).
    fn prefix_with(&mut self, first: bool, mut f: impl FnMut(Pre)) {
        let n = self.containers.len();
        let skip = n.saturating_sub(MAX_DEPTH);
        let mut pad = 0usize;
        self.work(n - skip);
        for c in self.containers.iter_mut().skip(skip) {
            match c {
                Container::Quote => {
                    if pad > 0 {
                        f(Pre::Pad(pad));
                        pad = 0;
                    }
                    f(Pre::Quote);
                }
                Container::Item { indent, marker } => {
                    let m = if first { marker.take() } else { None };
                    match m {
                        Some((m, st)) => {
                            if pad > 0 {
                                f(Pre::Pad(pad));
                            }
                            pad = indent.saturating_sub(str_width(&m));
                            f(Pre::Marker(m, st));
                        }
                        None => pad += *indent,
                    }
                }
            }
        }
        if pad > 0 {
            f(Pre::Pad(pad));
        }
    }

    /// The prefix of the next line as spans.
    fn prefix(&mut self, first: bool) -> Vec<Span<'static>> {
        let quote = self.st(self.theme.muted);
        let mut out: Vec<Span<'static>> = Vec::new();
        self.prefix_with(first, |p| {
            out.push(match p {
                Pre::Quote => Span::styled("│ ", quote),
                Pre::Marker(m, st) => Span::styled(m, st),
                Pre::Pad(n) => Span::raw(" ".repeat(n)),
            })
        });
        out
    }

    fn prefix_width(&self) -> usize {
        let skip = self.containers.len().saturating_sub(MAX_DEPTH);
        self.work(self.containers.len() - skip);
        self.containers
            .iter()
            .skip(skip)
            .map(|c| match c {
                Container::Quote => 2,
                Container::Item { indent, .. } => *indent,
            })
            .sum()
    }

    fn avail(&self) -> usize {
        self.width
            .saturating_sub(self.prefix_width())
            .max(MIN_TEXT_WIDTH.min(self.width))
    }

    fn blank_if_needed(&mut self) {
        if self.need_blank
            && let Some(out) = self.text_out.as_mut()
        {
            if out.len() > self.text_start {
                let skip = self.containers.len().saturating_sub(MAX_DEPTH);
                for c in self.containers.iter().skip(skip) {
                    if matches!(c, Container::Quote) {
                        out.push('│');
                    }
                }
                out.push('\n');
            }
        } else if self.need_blank && !self.lines.is_empty() {
            let p: Vec<Span<'static>> = {
                let quote = self.st(self.theme.muted);
                let skip = self.containers.len().saturating_sub(MAX_DEPTH);
                self.containers
                    .iter()
                    .skip(skip)
                    .filter(|c| matches!(c, Container::Quote))
                    .map(|_| Span::styled("│", quote))
                    .collect()
            };
            self.lines.push(Line::from(p));
        }
        self.need_blank = false;
    }

    /// Text output: the next line, its prefix then what `body` writes,
    /// trailing whitespace trimmed.
    fn emit_text(&mut self, out: &mut String, first: bool, body: impl FnOnce(&mut String)) {
        let start = out.len();
        self.prefix_with(first, |p| match p {
            Pre::Quote => out.push_str("│ "),
            Pre::Marker(m, _) => out.push_str(&m),
            Pre::Pad(n) => out.extend(std::iter::repeat_n(' ', n)),
        });
        body(out);
        let keep = out[start..].trim_end().len();
        out.truncate(start + keep);
        out.push('\n');
    }

    fn emit(&mut self, first: bool, body: Vec<Span<'static>>) {
        if let Some(mut out) = self.text_out.take() {
            self.emit_text(&mut out, first, |o| {
                body.iter().for_each(|s| o.push_str(&s.content));
            });
            self.text_out = Some(out);
            return;
        }
        let mut spans = self.prefix(first);
        spans.extend(body);
        self.lines.push(Line::from(spans));
    }

    /// [`Renderer::emit`] of borrowed pieces (adjacent ones of one style
    /// become one span): text output copies them once, without spans.
    fn emit_pieces(&mut self, first: bool, pieces: &[(&str, Style)]) {
        if let Some(mut out) = self.text_out.take() {
            self.emit_text(&mut out, first, |o| {
                pieces.iter().for_each(|(t, _)| o.push_str(t));
            });
            self.text_out = Some(out);
            return;
        }
        self.emit(first, spans_of(pieces));
    }

    /// Wrap and emit the pending inline text.
    fn flush(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let mut inline = std::mem::take(&mut self.inline);
        if inline.iter().all(|(t, _)| t.trim().is_empty()) {
            inline.clear();
            self.inline = inline;
            return;
        }
        self.blank_if_needed();
        let avail = self.avail();
        self.work(inline.iter().map(|(t, _)| t.len()).sum());
        wrap_with(&inline, avail, |i, pieces| self.emit_pieces(i == 0, pieces));
        // Keep the buffer (not its strings) for the next paragraph.
        inline.clear();
        self.inline = inline;
    }

    fn code_block(&mut self, lang: &str, text: &str) {
        self.flush();
        self.blank_if_needed();
        let selected = self.opt.selected_block == Some(self.block_no);
        self.block_no += 1;
        self.work(text.len());
        let is_action = lang == "sitrep";
        let verdict = is_action.then(|| super::action::parse_action(text));
        let lines: Vec<&str> = text.split('\n').collect();
        if self.opt.plain {
            let fence = if text.contains("```") { "~~~" } else { "```" };
            let raw = Style::new();
            self.emit_pieces(true, &[(fence, raw), (lang, raw)]);
            for l in &lines {
                self.emit_pieces(false, &[(l, raw)]);
            }
            self.emit_pieces(false, &[(fence, raw)]);
        } else {
            let border = if selected {
                self.theme.focus
            } else if is_action {
                self.theme.key
            } else {
                self.theme.border
            };
            let body_st = if is_action {
                self.theme.key
            } else {
                self.theme.info
            };
            let label = match (is_action, lang.is_empty()) {
                (true, _) => " ▶ sitrep action ".to_string(),
                (false, true) => String::new(),
                (false, false) => format!(" {lang} "),
            };
            let avail = self.avail().max(6);
            let inner = avail.saturating_sub(4).max(1);
            let top_fill = avail.saturating_sub(3 + str_width(&label));
            self.emit(
                true,
                vec![
                    Span::styled("┌─", border),
                    Span::styled(label, border.add_modifier(Modifier::BOLD)),
                    Span::styled(format!("{}┐", "─".repeat(top_fill)), border),
                ],
            );
            let cont = self.theme.muted;
            for l in &lines {
                // Continuation pieces start with `↪` so a wrapped command
                // is not read as two.
                let first = hard_wrap(l, inner);
                let mut pieces = first.into_iter();
                let head = pieces.next().unwrap_or_default();
                let rest: String = pieces.collect();
                let mut rows = vec![(false, head)];
                if !rest.is_empty() {
                    rows.extend(
                        hard_wrap(&rest, inner.saturating_sub(1).max(1))
                            .into_iter()
                            .map(|p| (true, p)),
                    );
                }
                for (is_cont, piece) in rows {
                    let used = str_width(&piece) + usize::from(is_cont);
                    let pad = inner.saturating_sub(used);
                    let mut spans = vec![Span::styled("│ ", border)];
                    if is_cont {
                        spans.push(Span::styled("↪", cont));
                    }
                    spans.push(Span::styled(piece, body_st));
                    spans.push(Span::raw(" ".repeat(pad)));
                    spans.push(Span::styled(" │", border));
                    self.emit(false, spans);
                }
            }
            self.emit(
                false,
                vec![Span::styled(
                    format!("└{}┘", "─".repeat(avail.saturating_sub(2))),
                    border,
                )],
            );
        }
        if let Some(Err(e)) = verdict {
            let st = self.st(self.theme.crit);
            let msg = format!("⚠ not a valid sitrep action: {}", clean_line(&e));
            let avail = self.avail();
            for l in wrap(&[(msg, st)], avail) {
                let body = l.into_iter().map(|(t, s)| Span::styled(t, s)).collect();
                self.emit(false, body);
            }
        }
        self.need_blank = true;
    }

    fn finish_table(&mut self, t: TableState) {
        self.flush();
        self.blank_if_needed();
        self.work(t.rows.iter().flatten().map(|c| c.len() + 1).sum());
        let ncol = t.rows.iter().map(Vec::len).max().unwrap_or(0);
        if ncol == 0 {
            return;
        }
        let mut widths = vec![1usize; ncol];
        for r in &t.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(str_width(c));
            }
        }
        // Fit: separators take 3 columns each; shrink the widest columns
        // (water filling) until the table fits.
        let avail = self.avail();
        let budget = avail.saturating_sub(3 * (ncol - 1)).max(ncol);
        if widths.iter().sum::<usize>() > budget {
            let mut sorted = widths.clone();
            sorted.sort_unstable();
            let mut cap = budget / ncol;
            let mut used = 0;
            for (k, w) in sorted.iter().enumerate() {
                let left = ncol - k;
                let share = (budget - used) / left;
                if *w <= share {
                    used += w;
                } else {
                    cap = share;
                    break;
                }
            }
            for w in &mut widths {
                *w = (*w).min(cap.max(1));
            }
        }
        let border = self.st(self.theme.border);
        let head = self.st(self.theme.title);
        let text = self.st(self.theme.text);
        for (ri, row) in t.rows.iter().enumerate() {
            let st = if ri < t.head_rows { head } else { text };
            let cells: Vec<Vec<String>> = (0..ncol)
                .map(|i| {
                    let c = row.get(i).map(String::as_str).unwrap_or("");
                    let mut lines = Vec::new();
                    wrap_with(&[(c, st)], widths[i], |_, pieces| {
                        lines.push(pieces.iter().map(|(s, _)| *s).collect::<String>());
                    });
                    lines
                })
                .collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(1);
            for h in 0..height {
                let mut spans = Vec::new();
                for (i, c) in cells.iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::styled(" │ ", border));
                    }
                    let s = c.get(h).cloned().unwrap_or_default();
                    let pad = widths[i].saturating_sub(str_width(&s));
                    let (before, after) = match t.aligns.get(i) {
                        Some(pulldown_cmark::Alignment::Right) => (pad, 0),
                        Some(pulldown_cmark::Alignment::Center) => (pad / 2, pad - pad / 2),
                        _ => (0, pad),
                    };
                    if before > 0 {
                        spans.push(Span::raw(" ".repeat(before)));
                    }
                    spans.push(Span::styled(s, st));
                    if i + 1 < ncol && after > 0 {
                        spans.push(Span::raw(" ".repeat(after)));
                    }
                }
                self.emit(ri == 0 && h == 0, spans);
            }
            if ri + 1 == t.head_rows {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.emit(false, vec![Span::styled(rule.join("─┼─"), border)]);
            }
        }
        self.need_blank = true;
    }

    fn item_marker(&mut self) -> String {
        let depth = self.lists.len();
        match self.lists.last_mut() {
            Some(Some(n)) => {
                let m = format!("{n}. ");
                *n += 1;
                m
            }
            _ => match depth % 3 {
                1 => "• ".into(),
                2 => "◦ ".into(),
                _ => "▪ ".into(),
            },
        }
    }

    fn event(&mut self, ev: Event<'_>) {
        self.work(1);
        if let Some((_, buf)) = self.code.as_mut() {
            match ev {
                Event::Text(t) => buf.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    if let Some((lang, text)) = self.code.take() {
                        let text = clean_block(text.trim_end_matches('\n'));
                        self.code_block(&clean_line(&lang), &text);
                    }
                }
                _ => {}
            }
            return;
        }
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                let st = self.style();
                self.text(clean_line(&t), st);
            }
            Event::Code(t) => {
                let s = clean_line(&t);
                let s = if self.opt.plain || self.table.is_some() {
                    format!("`{s}`")
                } else {
                    s
                };
                let st = self.style().patch(self.theme.info);
                self.text(s, st);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => {
                let st = self.style();
                self.text(clean_line(&t), st);
            }
            Event::Html(t) | Event::InlineHtml(t) => {
                let st = self.style().patch(self.theme.muted);
                let s = clean_block(&t);
                // Raw HTML is shown as it was written, line by line.
                let s = s.trim_end_matches('\n').to_string();
                if self.table.is_some() {
                    let one = s.replace('\n', " ");
                    self.text(one, st);
                } else {
                    self.text(s, st);
                }
            }
            Event::FootnoteReference(t) => {
                let st = self.style();
                self.text(format!("[^{}]", clean_line(&t)), st);
            }
            Event::SoftBreak => {
                let st = self.style();
                self.text(" ".into(), st);
            }
            Event::HardBreak => {
                let st = self.style();
                if self.table.is_some() {
                    self.text(" ".into(), st);
                } else {
                    self.text("\n".into(), st);
                }
            }
            Event::Rule => {
                self.flush();
                self.blank_if_needed();
                let w = self.avail();
                let st = self.st(self.theme.border);
                self.emit(true, vec![Span::styled("─".repeat(w), st)]);
                self.need_blank = true;
            }
            Event::TaskListMarker(checked) => {
                let n = self.task_no;
                self.task_no += 1;
                let checked = self
                    .opt
                    .checked
                    .as_ref()
                    .and_then(|v| v.get(n).copied())
                    .unwrap_or(checked);
                let mut st = if checked {
                    self.theme.ok
                } else {
                    self.theme.warn
                };
                if self.opt.selected_item == Some(n) {
                    st = st.patch(self.theme.selection);
                }
                let st = self.st(st);
                let m = if checked { "[x] " } else { "[ ] " };
                if let Some(Container::Item { indent, marker }) = self.containers.last_mut() {
                    *marker = Some((m.to_string(), st));
                    *indent = 4;
                } else {
                    self.text(m.to_string(), st);
                }
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {}
            Tag::Heading { level, .. } => {
                self.flush();
                self.need_blank = true;
                self.heading = Some(level);
                let (marks, st) = match level {
                    HeadingLevel::H1 => (
                        "# ",
                        self.theme
                            .title
                            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                    ),
                    HeadingLevel::H2 => ("## ", self.theme.title.add_modifier(Modifier::BOLD)),
                    HeadingLevel::H3 => ("### ", self.theme.text.add_modifier(Modifier::BOLD)),
                    HeadingLevel::H4 => ("#### ", self.theme.text.add_modifier(Modifier::BOLD)),
                    HeadingLevel::H5 => ("##### ", self.theme.text.add_modifier(Modifier::ITALIC)),
                    HeadingLevel::H6 => ("###### ", self.theme.text.add_modifier(Modifier::ITALIC)),
                };
                let m = self.theme.muted;
                self.text(marks.to_string(), m);
                self.push_style(st);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                // The blank line before a quote belongs outside it.
                self.blank_if_needed();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::HtmlBlock => self.flush(),
            Tag::List(start) => {
                self.flush();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let m = self.item_marker();
                let st = self.st(self.theme.muted);
                let indent = str_width(&m);
                self.containers.push(Container::Item {
                    indent,
                    marker: Some((m, st)),
                });
                self.items_open += 1;
            }
            Tag::Table(aligns) => {
                self.flush();
                self.table = Some(TableState {
                    aligns,
                    rows: Vec::new(),
                    cell: String::new(),
                    in_head: false,
                    head_rows: 0,
                });
            }
            Tag::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.in_head = true;
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableRow => {
                if let Some(t) = self.table.as_mut() {
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableCell => {
                if let Some(t) = self.table.as_mut() {
                    t.cell.clear();
                }
            }
            Tag::Emphasis => self.push_style(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(Style::new().add_modifier(Modifier::CROSSED_OUT)),
            Tag::Superscript | Tag::Subscript => self.push_style(Style::new()),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                self.links.push((clean_line(&dest_url), link_type));
                self.push_style(Style::new().add_modifier(Modifier::UNDERLINED));
            }
            Tag::Image { dest_url, .. } => {
                self.links.push((clean_line(&dest_url), LinkType::Inline));
                self.image += 1;
                let st = self.style().patch(self.theme.muted);
                self.text("[image: ".into(), st);
                self.push_style(Style::new());
            }
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => self.flush(),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                if !matches!(self.containers.last(), Some(Container::Item { .. })) {
                    self.need_blank = true;
                }
            }
            TagEnd::Heading(_) => {
                self.pop_style();
                self.flush();
                self.heading = None;
                self.need_blank = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                if matches!(self.containers.last(), Some(Container::Quote)) {
                    self.containers.pop();
                }
                self.need_blank = true;
            }
            TagEnd::CodeBlock => {}
            TagEnd::HtmlBlock => {
                self.flush();
                self.need_blank = true;
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                if self.items_open == 0 {
                    self.need_blank = true;
                }
            }
            TagEnd::Item => {
                self.flush();
                if matches!(self.containers.last(), Some(Container::Item { .. })) {
                    self.containers.pop();
                    self.items_open = self.items_open.saturating_sub(1);
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    self.finish_table(t);
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = self.table.as_mut() {
                    t.in_head = false;
                    t.head_rows = t.rows.len();
                }
            }
            TagEnd::TableRow => {}
            TagEnd::TableCell => {
                if let Some(t) = self.table.as_mut() {
                    let c = std::mem::take(&mut t.cell);
                    if let Some(r) = t.rows.last_mut() {
                        r.push(c.trim().to_string());
                    }
                }
            }
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript => self.pop_style(),
            TagEnd::Link => {
                self.pop_style();
                if let Some((url, kind)) = self.links.pop()
                    && !url.is_empty()
                    && !matches!(kind, LinkType::Autolink | LinkType::Email)
                {
                    let st = self.style().patch(self.theme.muted);
                    self.text(format!(" <{url}>"), st);
                }
            }
            TagEnd::Image => {
                self.pop_style();
                let st = self.style().patch(self.theme.muted);
                let url = self.links.pop().map(|(u, _)| u).unwrap_or_default();
                self.text(format!("] <{url}>"), st);
            }
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::MetadataBlock(_) => self.flush(),
        }
    }

    fn finish(&mut self) {
        if let Some((lang, text)) = self.code.take() {
            let text = clean_block(text.trim_end_matches('\n'));
            self.code_block(&clean_line(&lang), &text);
        }
        if let Some(t) = self.table.take() {
            self.finish_table(t);
        }
        self.flush();
    }
}

/// A piece of a line's prefix (see [`Renderer::prefix_with`]).
enum Pre {
    Quote,
    Marker(String, Style),
    Pad(usize),
}

/// Most list/quote markers honoured at the start of one line.
pub const MAX_LINE_NESTING: usize = 32;

/// pulldown-cmark spends more than linear time on many containers opened
/// on one line (`- - - - … x`). Past [`MAX_LINE_NESTING`] markers on a
/// line, the next marker is backslash-escaped so it reads as text. Lines
/// that nest normally are left alone; the pass is linear and idempotent.
pub fn defuse_nesting(md: &str) -> std::borrow::Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut done = 0;
    let mut line_start = 0;
    let bytes = md.as_bytes();
    while line_start < bytes.len() {
        let line_end = md[line_start..]
            .find('\n')
            .map(|i| line_start + i + 1)
            .unwrap_or(bytes.len());
        let mut i = line_start;
        let mut count = 0;
        let mut cut = None;
        loop {
            while i < line_end && (bytes[i] == b' ' || bytes[i] == b'\t') {
                i += 1;
            }
            if i >= line_end {
                break;
            }
            let marker_at = i;
            let is_marker = match bytes[i] {
                b'>' => {
                    i += 1;
                    true
                }
                b'-' | b'*' | b'+'
                    if i + 1 < line_end && (bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') =>
                {
                    i += 1;
                    true
                }
                b'0'..=b'9' => {
                    let mut j = i;
                    while j < line_end && j - i < 9 && bytes[j].is_ascii_digit() {
                        j += 1;
                    }
                    if j + 1 < line_end
                        && (bytes[j] == b'.' || bytes[j] == b')')
                        && (bytes[j + 1] == b' ' || bytes[j + 1] == b'\t')
                    {
                        i = j + 1;
                        true
                    } else {
                        false
                    }
                }
                _ => false,
            };
            if !is_marker {
                break;
            }
            count += 1;
            if count > MAX_LINE_NESTING {
                // Escape this marker: for an ordered one, its delimiter.
                let at = if bytes[marker_at].is_ascii_digit() {
                    i - 1
                } else {
                    marker_at
                };
                cut = Some(at);
                break;
            }
        }
        if let Some(at) = cut {
            let o = out.get_or_insert_with(|| String::with_capacity(md.len() + 16));
            o.push_str(&md[done..at]);
            o.push('\\');
            done = at;
        }
        line_start = line_end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(md),
        Some(mut o) => {
            o.push_str(&md[done..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

fn options() -> Options {
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
            format!("{reviewed} STALE (over {} days)", super::STALE_DAYS),
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
    progress: &super::Progress,
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

/// `lines_to_string(&markdown_lines(md, …))` appended to `out`, written
/// straight as text (no spans or lines in between).
fn markdown_text(out: String, md: &str, theme: &Theme, opt: &RenderOptions) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(md: &str, width: usize) -> String {
        let t = Theme::no_color();
        let opt = RenderOptions {
            width,
            plain: true,
            ..Default::default()
        };
        lines_to_string(&markdown_lines(md, &t, &opt))
    }

    fn tui(md: &str, width: usize) -> String {
        lines_to_string(&markdown_lines(
            md,
            &Theme::default_theme(),
            &RenderOptions::width(width),
        ))
    }

    #[test]
    fn wraps_words_and_splits_long_ones() {
        let l = wrap(&[("aaa bbb ccc", Style::new())], 7);
        let s: Vec<String> = l
            .iter()
            .map(|l| l.iter().map(|(t, _)| t.as_str()).collect())
            .collect();
        assert_eq!(s, ["aaa bbb", "ccc"]);
        let l = wrap(&[("abcdefghij", Style::new())], 4);
        assert_eq!(l.len(), 3);
    }

    /// The word wrap as first written (a `String` per word and per
    /// character run): `wrap` must give the same lines.
    fn reference_wrap(spans: &[(String, Style)], width: usize) -> Vec<Vec<(String, Style)>> {
        enum Tok {
            Word(Vec<(String, Style)>, usize),
            Space(Style),
            Newline,
        }
        let mut toks = Vec::new();
        let mut word: Vec<(String, Style)> = Vec::new();
        let mut ww = 0usize;
        for (text, st) in spans {
            for ch in text.chars() {
                match ch {
                    ' ' | '\n' => {
                        if !word.is_empty() {
                            toks.push(Tok::Word(std::mem::take(&mut word), ww));
                            ww = 0;
                        }
                        if ch == '\n' {
                            toks.push(Tok::Newline);
                        } else if !matches!(toks.last(), Some(Tok::Space(_))) {
                            toks.push(Tok::Space(*st));
                        }
                    }
                    c => {
                        match word.last_mut() {
                            Some((t, s)) if s == st => t.push(c),
                            _ => word.push((c.to_string(), *st)),
                        }
                        ww += c.width().unwrap_or(0);
                    }
                }
            }
        }
        if !word.is_empty() {
            toks.push(Tok::Word(word, ww));
        }
        let width = width.max(1);
        let mut lines = Vec::new();
        let mut cur: Vec<(String, Style)> = Vec::new();
        let mut col = 0usize;
        let mut space: Option<Style> = None;
        fn push(cur: &mut Vec<(String, Style)>, s: &str, st: Style) {
            match cur.last_mut() {
                Some((t, lst)) if *lst == st => t.push_str(s),
                _ => cur.push((s.to_string(), st)),
            }
        }
        for tok in toks {
            match tok {
                Tok::Newline => {
                    lines.push(std::mem::take(&mut cur));
                    col = 0;
                    space = None;
                }
                Tok::Space(st) => {
                    if col > 0 {
                        space = Some(st);
                    }
                }
                Tok::Word(frags, w) => {
                    let sp = usize::from(space.is_some());
                    if col > 0 && col + sp + w > width {
                        lines.push(std::mem::take(&mut cur));
                        col = 0;
                        space = None;
                    }
                    if let Some(sst) = space.take() {
                        push(&mut cur, " ", sst);
                        col += 1;
                    }
                    if col + w <= width {
                        for (t, st) in &frags {
                            push(&mut cur, t, *st);
                        }
                        col += w;
                        continue;
                    }
                    for (t, st) in &frags {
                        for ch in t.chars() {
                            let cw = ch.width().unwrap_or(0);
                            if col + cw > width && col > 0 {
                                lines.push(std::mem::take(&mut cur));
                                col = 0;
                            }
                            let mut b = [0u8; 4];
                            push(&mut cur, ch.encode_utf8(&mut b), *st);
                            col += cw;
                        }
                    }
                }
            }
        }
        if !cur.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    #[test]
    fn wrap_edge_cases() {
        let b = Style::new().add_modifier(Modifier::BOLD);
        let n = Style::new();
        let text = |l: &Vec<Vec<(String, Style)>>| -> Vec<String> {
            l.iter()
                .map(|l| l.iter().map(|(t, _)| t.as_str()).collect())
                .collect()
        };
        // A word whose style changes (and continues in the next span) is
        // kept whole and its runs merged by style.
        let l = wrap(&[("ab ", n), ("cd", b), ("e", n), ("f gh", n)], 5);
        assert_eq!(text(&l), ["ab", "cdef", "gh"]);
        assert_eq!(l[1], [("cd".to_string(), b), ("ef".to_string(), n)]);
        // A run of spaces across spans is one space, in the first one's style.
        let l = wrap(&[("a ", b), ("  b", n)], 10);
        assert_eq!(l, [vec![("a ".to_string(), b), ("b".to_string(), n)]]);
        // Spaces at the edges of lines go; `\n` keeps empty lines.
        assert_eq!(text(&wrap(&[("  a  \n\n b ", n)], 10)), ["a", "", "b"]);
        assert_eq!(text(&wrap(&[("", n)], 10)), [""]);
        assert_eq!(text(&wrap(&[("a\n", n)], 10)), ["a"]);
        // An over-long word is split by columns, wide characters kept whole;
        // one wider than the line still gets a line.
        assert_eq!(text(&wrap(&[("x 日本語テ", n)], 4)), ["x", "日本", "語テ"]);
        assert_eq!(text(&wrap(&[("日本", n)], 1)), ["日", "本"]);
        // A split crossing a style change keeps both styles.
        let l = wrap(&[("abc", n), ("def", b)], 4);
        assert_eq!(
            l,
            [
                vec![("abc".to_string(), n), ("d".to_string(), b)],
                vec![("ef".to_string(), b)]
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn wrap_agrees_with_the_reference(
            spans in proptest::collection::vec(("[ab \n日\u{301}-]{0,12}", 0u8..3), 0..6),
            width in 0usize..12,
        ) {
            let styles = [
                Style::new(),
                Style::new().add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::ITALIC),
            ];
            let spans: Vec<(String, Style)> = spans
                .into_iter()
                .map(|(t, s)| (t, styles[usize::from(s)]))
                .collect();
            proptest::prop_assert_eq!(wrap(&spans, width), reference_wrap(&spans, width));
        }
    }

    #[test]
    fn text_output_is_the_lines_joined() {
        let mut docs: Vec<String> = super::super::BUNDLED
            .iter()
            .map(|(_, t)| t.to_string())
            .collect();
        docs.extend(
            [
                "Intro *em* **strong** [site](https://x.example) <https://auto.example>\n\n- a\n  - b\n- [ ] todo\n- [x] done\n\n1. one\n2. two\n\n> quoted\n",
                "```sh\necho hi  \n\n```\n\n```sitrep\nnope\n```\n\n~~~\na ``` b\n~~~\n",
                "| Left | Right |\n|:--|--:|\n| a | 1 |\n\n- a\n\n> q\n> > n\n>\n> - x\n>   > y\n",
                "<b>bold</b> &#x1b;[2J &#x9b;31m &#x202e;x\n\n<div onclick=x>\n  text\n</div>\n",
                "a  \nhard break\\\nagain\n\n---\n\n![img](u) [^1] `code`\n\n   \n",
                "- > - > - x\n  continued\n\n  - [ ] t\n\n    ```\n    in item\n    ```\n",
                "# H1\n## H2 ##\n###### h6\n\ntext\u{a0} \n",
            ]
            .map(String::from),
        );
        docs.push(format!("{}x\n", "> - ".repeat(30)));
        let theme = Theme::no_color();
        for md in &docs {
            for width in [0, 1, 20, 100] {
                let opt = RenderOptions {
                    width,
                    plain: true,
                    ..Default::default()
                };
                let want = lines_to_string(&markdown_lines(md, &theme, &opt));
                let got = markdown_text("head\n".into(), md, &theme, &opt);
                assert_eq!(got, format!("head\n{want}"), "width {width}: {md:?}");
            }
        }
    }

    #[test]
    fn lists_tasks_quotes_and_links() {
        let out = plain(
            "Intro *em* **strong** [site](https://x.example) <https://auto.example>\n\n- a\n  - b\n- [ ] todo\n- [x] done\n\n1. one\n2. two\n\n> quoted\n",
            80,
        );
        assert!(
            out.contains("Intro em strong site <https://x.example> https://auto.example"),
            "{out}"
        );
        assert!(out.contains("• a\n  ◦ b\n"), "{out}");
        assert!(
            out.contains("[ ] todo") && out.contains("[x] done"),
            "{out}"
        );
        assert!(out.contains("1. one\n2. two"), "{out}");
        assert!(out.contains("│ quoted"), "{out}");
    }

    #[test]
    fn code_blocks_framed_in_tui_fenced_in_plain() {
        let md = "```sh\necho hi\n```\n\n```sitrep\nflag off k --reason r\n```\n\n```sitrep\nnope\n```\n";
        let p = plain(md, 40);
        assert!(p.contains("```sh\necho hi\n```"), "{p}");
        assert!(p.contains("not a valid sitrep action"), "{p}");
        let t = tui(md, 40);
        assert!(t.contains("┌─ sh ─"), "{t}");
        assert!(t.contains("│ echo hi"), "{t}");
        assert!(t.contains("▶ sitrep action"), "{t}");
        for l in t.lines() {
            assert!(str_width(l) <= 40, "{l:?} too wide");
        }
    }

    #[test]
    fn tables_fit_the_width() {
        let md = "| Sev | Meaning | Examples |\n|---|---|---|\n| SEV1 | Critical customer impact across the board | checkout down, data loss, security breach |\n| SEV4 | Minor | cosmetic |\n";
        for w in [30, 60, 120] {
            let t = tui(md, w);
            assert!(t.contains("SEV1"), "{t}");
            assert!(t.contains("─┼─"), "{t}");
            for l in t.lines() {
                assert!(str_width(l) <= w, "{l:?} wider than {w}");
            }
        }
    }

    #[test]
    fn table_alignment_and_quote_spacing() {
        let out = plain("| L | R |\n|:--|--:|\n| a | 1 |\n", 40);
        assert!(out.contains("a │ 1"), "{out}");
        let out = plain("| Left | Right |\n|:--|--:|\n| a | 1 |\n", 40);
        assert!(out.contains("a    │     1"), "{out}");
        let out = plain("- a\n\n> q\n> > n\n", 40);
        assert_eq!(out, "• a\n\n│ q\n│\n│ │ n\n", "{out}");
    }

    #[test]
    fn html_is_text_and_entities_are_sanitized() {
        let out = plain(
            "<b>bold</b> &#x1b;[2J &#x9b;31m &#x202e;x\n\n<div onclick=x>\n",
            80,
        );
        assert!(out.contains("<b>bold</b>"), "{out}");
        assert!(out.contains("<div onclick=x>"), "{out}");
        assert!(
            !out.chars()
                .any(|c| c == '\u{1b}' || c == '\u{9b}' || c == '\u{202e}'),
            "{out:?}"
        );
    }

    #[test]
    fn walk_mode_uses_progress() {
        let md = "## s\n- [ ] a\n- [ ] b\n";
        let t = Theme::default_theme();
        let opt = RenderOptions {
            width: 40,
            checked: Some(vec![false, true]),
            selected_item: Some(1),
            ..Default::default()
        };
        let out = lines_to_string(&markdown_lines(md, &t, &opt));
        assert!(out.contains("[ ] a") && out.contains("[x] b"), "{out}");
    }

    #[test]
    fn defuse_only_touches_deep_lines() {
        let normal = "- a\n  - b\n> > q\n1. x\n";
        assert!(matches!(
            defuse_nesting(normal),
            std::borrow::Cow::Borrowed(_)
        ));
        let deep = format!("{}x\n- ok\n", "- ".repeat(40));
        let d = defuse_nesting(&deep);
        assert_eq!(d.matches('\\').count(), 1);
        assert_eq!(defuse_nesting(&d), d, "idempotent");
        let deep = format!("{}x\n", "1. ".repeat(40));
        assert!(defuse_nesting(&deep).contains("1\\. "));
    }

    #[test]
    fn deep_nesting_is_capped() {
        let md = format!("{}x\n", "> ".repeat(200));
        let out = tui(&md, 60);
        assert!(out.lines().all(|l| str_width(l) <= 60), "{out}");
        let md = format!("{}x\n", "- ".repeat(200));
        let out = tui(&md, 60);
        assert!(out.lines().all(|l| str_width(l) <= 60), "{out}");
    }
}
