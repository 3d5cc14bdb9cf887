//! Styled word wrap to a column width (no allocation per word), and hard
//! wrap of plain lines.

use super::*;
use ratatui::style::Style;
use ratatui::text::Span;

/// Greedy word wrap of styled text to `width` columns. `\n` breaks a line;
/// runs of spaces are one break (in the style of the first); a word may
/// change style inside (`**bold**text`) and is kept whole; words longer
/// than the width are split by columns. Spaces at the start and end of a
/// line are dropped.
///
/// Each line is handed to `line` (its index and its pieces, borrowed from
/// `spans`, adjacent ones possibly in the same style); nothing is
/// allocated per word or character.
pub(crate) fn wrap_with<'a, S: AsRef<str>>(
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
pub(crate) fn merge_pieces(pieces: &[(&str, Style)]) -> Vec<(String, Style)> {
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
pub(crate) fn spans_of(pieces: &[(&str, Style)]) -> Vec<Span<'static>> {
    merge_pieces(pieces)
        .into_iter()
        .map(|(t, s)| Span::styled(t, s))
        .collect()
}

/// [`wrap_with`], collected: each line as owned runs of one style.
pub(crate) fn wrap<S: AsRef<str>>(spans: &[(S, Style)], width: usize) -> Vec<Vec<(String, Style)>> {
    let mut lines = Vec::new();
    wrap_with(spans, width, |_, pieces| lines.push(merge_pieces(pieces)));
    lines
}

/// Hard wrap one line of code by columns (no word breaking).
pub(crate) fn hard_wrap(line: &str, width: usize) -> Vec<String> {
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
