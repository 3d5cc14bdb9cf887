//! The two block kinds laid out whole: fenced code (framed, labelled with
//! its markers) and tables (fitted to the width).

use super::*;

impl Renderer<'_> {
    pub(super) fn code_block(&mut self, lang: &str, text: &str) {
        // `lang` is the label: the language plus the block's markers.
        self.flush();
        self.blank_if_needed();
        let selected = self.opt.selected_block == Some(self.block_no);
        self.block_no += 1;
        self.work(text.len());
        let is_action = lang == "sitrep";
        let verdict = is_action.then(|| crate::runbooks::action::parse_action(text));
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

    pub(super) fn finish_table(&mut self, t: TableState) {
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
}

/// The label of a fenced block: its language, then what its markers say
/// (`sh · on old-primary, not here`), so a block meant for another host or
/// a prompt is never mistaken for one to paste on this machine.
pub(super) fn block_label(info: &str) -> String {
    let mut words = info.split_whitespace();
    let lang = words.next().unwrap_or("").to_string();
    if lang == "sitrep" {
        return lang;
    }
    let marks: Vec<String> = words
        .filter_map(|w| match w {
            "run" => Some("runnable here".to_string()),
            "interactive" => Some("interactive: run it yourself".to_string()),
            w => w.strip_prefix("on=").map(|h| format!("on {h}, not here")),
        })
        .collect();
    if marks.is_empty() {
        lang
    } else {
        format!("{lang} · {}", marks.join(" · "))
    }
}
