//! The one pass over pulldown-cmark events: containers, lists, tasks,
//! tables laid out to fit, framed code blocks, links as `label <url>`.

use super::*;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, LinkType, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

mod blocks;
use blocks::block_label;

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

pub(crate) struct Renderer<'t> {
    theme: &'t Theme,
    opt: &'t RenderOptions,
    width: usize,
    pub(super) lines: Vec<Line<'static>>,
    /// Set for [`render_plain`]: lines are written here as text (what
    /// [`lines_to_string`] would make of them) instead of into `lines`.
    pub(super) text_out: Option<String>,
    /// Length of `text_out` before this renderer wrote to it.
    pub(super) text_start: usize,
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
    /// Who ticked the task item being read (shown after its text).
    task_by: Option<String>,
    block_no: usize,
    image: usize,
    /// Steps of work done (events, container visits, bytes wrapped): the
    /// linear-time property is checked on it (see [`render_work`]).
    pub(super) ops: std::cell::Cell<usize>,
}

impl<'t> Renderer<'t> {
    pub(super) fn new(theme: &'t Theme, opt: &'t RenderOptions) -> Self {
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
            task_by: None,
            block_no: 0,
            image: 0,
            ops: std::cell::Cell::new(0),
        }
    }

    pub(super) fn work(&self, n: usize) {
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
        if let Some(by) = self.task_by.take() {
            let st = self.st(self.theme.muted);
            self.inline.push((format!("  {}", clean_line(&by)), st));
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

    pub(super) fn event(&mut self, ev: Event<'_>) {
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
                self.task_by = self
                    .opt
                    .ticked_by
                    .as_ref()
                    .and_then(|v| v.get(n).cloned().flatten());
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
                    CodeBlockKind::Fenced(info) => block_label(&info),
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
                // An item with no text of its own: the name is not
                // carried to the next line.
                self.task_by = None;
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

    pub(super) fn finish(&mut self) {
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
