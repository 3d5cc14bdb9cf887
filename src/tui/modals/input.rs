//! Free-text input: the reason for an action, a note's text, a silence's
//! matchers. Enter submits (a reason is required), Esc cancels.

use super::centered;
use crate::ops::WriteOp;
use crate::tui::keymap::{self, Layer, LayerKey};
use crate::tui::state::*;
use crate::tui::ui::{muted_line, panel};
use crate::tui::update::Effect;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

pub fn on_key(state: &mut State, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    let Modal::Input {
        title,
        prompt,
        mut text,
        purpose,
    } = modal
    else {
        return vec![];
    };
    match keymap::lookup_layer(Layer::Input, &k) {
        Some(LayerKey::Cancel) => return vec![],
        Some(LayerKey::Submit) => {
            return submit_input(state, text.trim().to_string(), purpose);
        }
        Some(LayerKey::Erase) => {
            text.pop();
        }
        _ if let KeyCode::Char(c) = k.code
            && text.chars().count() < 500
            && !c.is_control() =>
        {
            text.push(c);
        }
        _ => {}
    }
    // Still open: put it back with the text typed so far.
    state.ui.modal = Some(Modal::Input {
        title,
        prompt,
        text,
        purpose,
    });
    vec![]
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, m: &Modal) {
    let t = &state.theme;
    let Modal::Input {
        title,
        prompt,
        text,
        purpose,
    } = m
    else {
        return;
    };
    let mut lines = vec![
        muted_line(prompt, t),
        Line::from(""),
        Line::from(vec![
            Span::styled("> ", t.key),
            Span::styled(text.clone(), t.title),
            Span::styled("▏", t.focus),
        ]),
    ];
    // Whether the action can be done at all, checked while this is typed.
    if let InputPurpose::Reason(op) = purpose
        && let Some(p) = state.ui.probe.as_ref().filter(|p| p.op == *op)
    {
        lines.push(Line::from(""));
        lines.push(match &p.summary {
            None => muted_line("checking that it can be done…", t),
            Some(s) => Line::from(vec![
                Span::styled("✓ ", t.ok),
                Span::styled(crate::text::SafeText::line(s).to_string(), t.text),
            ]),
        });
    }
    let r = centered(area, 76, lines.len() as u16 + 4);
    f.render_widget(Clear, r);
    let block = panel(title, t, true);
    let inner = block.inner(r);
    f.render_widget(block, r);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn submit_input(state: &mut State, text: String, purpose: InputPurpose) -> Vec<Effect> {
    match purpose {
        InputPurpose::Reason(op) => {
            if text.is_empty() {
                state.ui.modal = Some(Modal::Input {
                    title: format!("{} {}", op.action_name(), op.target()),
                    prompt: "A reason is required (it is recorded in the audit log)".into(),
                    text,
                    purpose: InputPurpose::Reason(op),
                });
                return vec![];
            }
            state.ui.modal = Some(Modal::Planning {
                what: format!("planning: {} {}", op.action_name(), op.target()),
            });
            vec![Effect::Plan { op, reason: text }]
        }
        InputPurpose::Binding { name } => {
            if text.is_empty() {
                return vec![];
            }
            crate::tui::update::walk::bind_typed(state, &name, &text)
        }
        InputPurpose::NoteText { provider, id } => {
            if text.is_empty() {
                return vec![];
            }
            state.ui.modal = Some(Modal::Planning {
                what: format!("planning: note on {id}"),
            });
            vec![Effect::Plan {
                op: WriteOp::IncidentNote {
                    provider: Some(provider),
                    id,
                    text,
                },
                reason: String::new(),
            }]
        }
        InputPurpose::SilenceMatchers { provider } => {
            let mut matchers = Vec::new();
            let mut duration = None;
            for word in text.split_whitespace() {
                if word.contains('=') || word.contains('~') {
                    match word.parse() {
                        Ok(m) => matchers.push(m),
                        Err(e) => {
                            state.ui.modal = Some(Modal::Error {
                                title: "Bad matcher".into(),
                                text: e,
                            });
                            return vec![];
                        }
                    }
                } else {
                    match crate::config::parse_duration(word) {
                        Ok(d) => duration = Some(d),
                        Err(e) => {
                            state.ui.modal = Some(Modal::Error {
                                title: "Bad duration".into(),
                                text: e,
                            });
                            return vec![];
                        }
                    }
                }
            }
            if matchers.is_empty() {
                state.ui.modal = Some(Modal::Error {
                    title: "Bad silence".into(),
                    text: "at least one matcher label=value is needed".into(),
                });
                return vec![];
            }
            let op = WriteOp::SilenceCreate {
                provider: Some(provider),
                matchers,
                duration_secs: duration.map(|d| d.as_secs()).unwrap_or(3600),
            };
            crate::tui::update::ask_reason(state, op)
        }
    }
}
