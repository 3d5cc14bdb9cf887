//! Help, modals, toasts and the first-run screen.

use super::*;
use ratatui::widgets::{Clear, Wrap};
use std::path::Path;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
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
    let h = (per_col as u16 + 5).min(area.height);
    let w = (col_w * cols as u16 + 2).min(area.width);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = panel("Help — keys", t, true);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [grid, foot] = Layout::vertical([Constraint::Min(1), Constraint::Length(3)]).areas(inner);
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
    let lines = vec![
        Line::from(vec![
            Span::styled("log file ", t.muted),
            Span::styled(state.log_path.display().to_string(), t.text),
        ]),
        Line::from(Span::styled(
            "The mouse selects and scrolls. ? / Esc / q closes this help.",
            t.muted,
        )),
    ];
    f.render_widget(Paragraph::new(lines), foot);
}

pub fn toasts(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let mut y = body.y + body.height;
    for toast in state.toasts.iter().rev().take(3) {
        let (mark, style) = match toast.kind {
            ToastKind::Ok => ("✓ ", t.ok),
            ToastKind::Error => ("✗ ", t.crit),
            ToastKind::Info => ("· ", t.info),
        };
        let text =
            crate::text::truncate(&toast.text, (body.width as usize).saturating_sub(8).min(90));
        let w = (text.chars().count() as u16 + 4).min(body.width);
        if y <= body.y + 1 {
            break;
        }
        y -= 1;
        let r = Rect::new(body.x + body.width - w, y, w, 1);
        f.render_widget(Clear, r);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!(" {mark}"), style),
                Span::styled(text, t.text),
            ]))
            .style(t.header),
            r,
        );
    }
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
                " to try the demo (embedded data, nothing is sent), ",
                t.text,
            ),
            Span::styled("q", t.key),
            Span::styled(" to quit.", t.text),
        ]),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub fn modal(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    let t = &state.theme;
    match m {
        Modal::Planning { what } | Modal::Running { what } => {
            let r = centered(area, 64, 5);
            f.render_widget(Clear, r);
            let title = if matches!(m, Modal::Running { .. }) {
                "Running"
            } else {
                "Planning"
            };
            let block = panel(title, t, true);
            let inner = block.inner(r);
            f.render_widget(block, r);
            let spin = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'][state.spinner % 10];
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(vec![
                        Span::styled(format!("{spin} "), t.info),
                        Span::styled(what.clone(), t.text),
                    ]),
                    muted_line("Esc hides this; the result arrives as a notice", t),
                ])
                .wrap(Wrap { trim: false }),
                inner,
            );
        }
        Modal::Error { title, text } => {
            let r = centered(area, 76, 10);
            f.render_widget(Clear, r);
            let block = panel(title, t, true).border_style(t.crit);
            let inner = block.inner(r);
            f.render_widget(block, r);
            f.render_widget(
                Paragraph::new(vec![
                    Line::from(Span::styled(
                        crate::text::SafeText::line(text).to_string(),
                        t.text,
                    )),
                    Line::from(""),
                    muted_line("any key closes", t),
                ])
                .wrap(Wrap { trim: false }),
                inner,
            );
        }
        Modal::Input {
            title,
            prompt,
            text,
            ..
        } => {
            let r = centered(area, 76, 7);
            f.render_widget(Clear, r);
            let block = panel(title, t, true);
            let inner = block.inner(r);
            f.render_widget(block, r);
            f.render_widget(
                Paragraph::new(vec![
                    muted_line(prompt, t),
                    Line::from(""),
                    Line::from(vec![
                        Span::styled("> ", t.key),
                        Span::styled(text.clone(), t.title),
                        Span::styled("▏", t.focus),
                    ]),
                ])
                .wrap(Wrap { trim: false }),
                inner,
            );
        }
        Modal::Details => {}
        Modal::Palette { query, selected } => {
            let items = crate::tui::palette::matches(state, query);
            let h = (items.len() as u16 + 4).clamp(6, area.height.saturating_sub(4).max(6));
            let r = centered(area, 90, h);
            f.render_widget(Clear, r);
            let block = panel("Command palette", t, true);
            let inner = block.inner(r);
            f.render_widget(block, r);
            let rows = inner.height.saturating_sub(1) as usize;
            let off = scroll_offset(*selected, rows);
            let mut lines = vec![Line::from(vec![
                Span::styled(": ", t.key),
                Span::styled(query.clone(), t.title),
                Span::styled("▏", t.focus),
            ])];
            if items.is_empty() {
                lines.push(muted_line("nothing matches", t));
            }
            let w = inner.width as usize;
            for (i, e) in items.iter().enumerate().skip(off).take(rows) {
                let sel = i == *selected;
                let label = crate::text::truncate(&e.label, w.saturating_sub(2).min(48));
                let hint_w = w.saturating_sub(label.chars().count() + 4);
                let mut line = Line::from(vec![
                    Span::styled(format!(" {label}"), if sel { t.selection } else { t.text }),
                    Span::styled(
                        format!("  {}", crate::text::truncate(&e.hint, hint_w)),
                        if sel { t.selection } else { t.muted },
                    ),
                ]);
                if sel {
                    line = line.style(t.selection);
                }
                lines.push(line);
            }
            f.render_widget(Paragraph::new(lines), inner);
        }
        Modal::Confirm {
            plan,
            reason,
            need,
            typed,
            production,
            burn,
            error,
        } => {
            let mut lines: Vec<Line> = Vec::new();
            if *production {
                lines.push(Line::from(Span::styled(
                    format!(
                        " PRODUCTION: {} ",
                        plan.op.environment().unwrap_or("production")
                    ),
                    t.prod,
                )));
            }
            lines.push(Line::from(Span::styled(plan.summary.clone(), t.title)));
            lines.push(Line::from(vec![
                Span::styled("provider ", t.muted),
                Span::styled(plan.provider.clone(), t.text),
                Span::styled("   target ", t.muted),
                Span::styled(plan.op.target(), t.text),
            ]));
            for (k, v) in &plan.stakes {
                lines.push(Line::from(vec![
                    Span::styled(format!("{k:<8} "), t.muted),
                    Span::styled(v.clone(), t.text),
                ]));
            }
            if let Some(b) = burn {
                lines.push(Line::from(vec![
                    Span::styled("burn     ", t.muted),
                    Span::styled(b.clone(), t.warn),
                ]));
            }
            if !reason.is_empty() {
                lines.push(Line::from(vec![
                    Span::styled("reason   ", t.muted),
                    Span::styled(reason.clone(), t.text),
                ]));
            }
            lines.push(Line::from(""));
            lines.push(muted_line("will send:", t));
            for req in &plan.requests {
                lines.push(Line::from(Span::styled(
                    format!("  {} {}", req.method, req.url),
                    t.info,
                )));
                if let Some(b) = &req.body {
                    let body = serde_json::to_string(b).unwrap_or_default();
                    lines.push(Line::from(Span::styled(
                        format!(
                            "  {}",
                            crate::text::truncate(crate::text::SafeText::line(&body).as_str(), 200)
                        ),
                        t.muted,
                    )));
                }
            }
            lines.push(Line::from(""));
            match need {
                Some(n) => {
                    lines.push(Line::from(vec![
                        Span::styled("Type ", t.text),
                        Span::styled(n.clone(), t.title.add_modifier(Modifier::UNDERLINED)),
                        Span::styled(" to confirm, Enter to run, Esc to cancel", t.text),
                    ]));
                    lines.push(Line::from(vec![
                        Span::styled("> ", t.key),
                        Span::styled(typed.clone(), if typed == n { t.ok } else { t.title }),
                        Span::styled("▏", t.focus),
                    ]));
                }
                None => lines.push(Line::from(vec![
                    Span::styled("y", t.key),
                    Span::styled("/Enter run   ", t.text),
                    Span::styled("n", t.key),
                    Span::styled("/Esc cancel", t.text),
                ])),
            }
            if let Some(e) = error {
                lines.push(Line::from(Span::styled(e.clone(), t.crit)));
            }
            let h = (lines.len() as u16 + 4).min(area.height);
            let r = centered(area, 96, h);
            f.render_widget(Clear, r);
            let title = format!("Confirm {}", plan.op.action_name());
            let block =
                panel(&title, t, true).border_style(if *production { t.crit } else { t.focus });
            let inner = block.inner(r);
            f.render_widget(block, r);
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
    }
}
