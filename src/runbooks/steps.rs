//! Step extraction: a second markdown pass over a runbook body that turns
//! each `##` heading into a [`Step`] with its checklist items and blocks.

use super::{Block, ChecklistItem, Focus, Step, parse_action};
use crate::text::SafeText;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// `3. Promote` → `Promote`; `Step 3: Promote` → `Promote`.
fn strip_number(t: &str) -> &str {
    let s = t.trim();
    let s2 = s
        .strip_prefix("Step ")
        .or_else(|| s.strip_prefix("step "))
        .unwrap_or(s);
    let digits = s2.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return s;
    }
    let rest = &s2[digits..];
    match rest.strip_prefix(['.', ')', ':']) {
        Some(r) if r.starts_with(' ') => r.trim_start(),
        _ => s,
    }
}

fn md_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

/// Walk the markdown once: each `##` heading opens a step; task-list items
/// and fenced blocks are attached to the open step.
pub(crate) fn extract_steps(body: &str, body_line: usize) -> Vec<Step> {
    let line_of = {
        // Byte offset → line, via a sorted table of line starts (linear build, log lookup).
        let starts: Vec<usize> = std::iter::once(0)
            .chain(body.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        move |off: usize| starts.partition_point(|&s| s <= off) + body_line - 1
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut heading: Option<(usize, String)> = None;
    // Task item being read: (checked, text, depth of nested lists inside it).
    let mut task: Option<(bool, String)> = None;
    let mut item_depth: Vec<bool> = Vec::new();
    let mut code: Option<(String, String)> = None;
    let mut code_line = 0;
    for (ev, range) in Parser::new_ext(body, md_options()).into_offset_iter() {
        match ev {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) => {
                if let Some(last) = steps.last_mut() {
                    last.range.end = range.start;
                }
                heading = Some((range.start, String::new()));
            }
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                if let Some((start, text)) = heading.take() {
                    steps.push(Step {
                        index: steps.len() as u32 + 1,
                        title: SafeText::line(strip_number(&text)),
                        items: Vec::new(),
                        blocks: Vec::new(),
                        order: Vec::new(),
                        line: line_of(start),
                        range: start..body.len(),
                    });
                }
            }
            Event::Start(Tag::Item) => item_depth.push(false),
            Event::TaskListMarker(checked) => {
                if let Some(top) = item_depth.last_mut() {
                    *top = true;
                }
                task = Some((checked, String::new()));
            }
            Event::End(TagEnd::Item) => {
                if item_depth.pop() == Some(true)
                    && let Some((checked, text)) = task.take()
                    && let Some(step) = steps.last_mut()
                {
                    step.order.push(Focus::Item(step.items.len()));
                    step.items.push(ChecklistItem {
                        index: step.items.len() as u32,
                        text: SafeText::line(text.trim()),
                        checked_in_source: checked,
                    });
                }
            }
            // A nested list ends the task's own text.
            Event::Start(Tag::List(_)) => {
                if let Some((checked, text)) = task.take()
                    && let Some(step) = steps.last_mut()
                {
                    step.order.push(Focus::Item(step.items.len()));
                    step.items.push(ChecklistItem {
                        index: step.items.len() as u32,
                        text: SafeText::line(text.trim()),
                        checked_in_source: checked,
                    });
                    if let Some(top) = item_depth.last_mut() {
                        *top = false;
                    }
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((info, String::new()));
                code_line = line_of(range.start);
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((info, text)) = code.take()
                    && let Some(step) = steps.last_mut()
                {
                    let text = text.trim_end_matches('\n');
                    let mut words = info.split_whitespace();
                    let lang = words.next().unwrap_or("").to_string();
                    let attrs: Vec<&str> = words.collect();
                    let block = if lang == "sitrep" {
                        match parse_action(text) {
                            Ok(a) => Block::Action {
                                line: code_line,
                                text: SafeText::block(text),
                                action: Some(a),
                                error: None,
                            },
                            Err(e) => Block::Action {
                                line: code_line,
                                text: SafeText::block(text),
                                action: None,
                                error: Some(SafeText::line(&format!(
                                    "line {}: {e}",
                                    // The command starts after the fence line.
                                    line_of(range.start) + 1
                                ))),
                            },
                        }
                    } else {
                        Block::Code {
                            lang: SafeText::line(&lang),
                            text: SafeText::block(text),
                            run: attrs.contains(&"run"),
                            host: attrs
                                .iter()
                                .find_map(|a| a.strip_prefix("on="))
                                .map(SafeText::line),
                            interactive: attrs.contains(&"interactive"),
                            attrs: attrs.iter().map(|a| SafeText::line(a)).collect(),
                            line: code_line,
                        }
                    };
                    step.order.push(Focus::Block(step.blocks.len()));
                    step.blocks.push(block);
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, h)) = heading.as_mut() {
                    h.push_str(&t);
                } else if let Some((_, c)) = code.as_mut() {
                    c.push_str(&t);
                } else if let Some((_, s)) = task.as_mut()
                    && s.len() < crate::text::LINE_CAP
                {
                    s.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, s)) = task.as_mut() {
                    s.push(' ');
                }
            }
            _ => {}
        }
    }
    steps
}
