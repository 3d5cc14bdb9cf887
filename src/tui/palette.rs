//! The command palette (`:`): fuzzy over views, services, flags, deploys,
//! incidents and actions. Every action still goes through the confirmation
//! modal; the palette only chooses what to plan.

use super::keymap::Action;
use super::state::{State, View};
use crate::fuzzy::Fuzzy;
use crate::ops::WriteOp;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    View(View),
    Key(Action),
    /// Show a service everywhere: filter incidents and deploys by it.
    Service(String),
    Op(WriteOp),
    /// Switch to another context (config) at run time.
    Context(String),
    /// Open a runbook in walk mode.
    Runbook(String),
    /// Nothing to run: the entry says something (its hint is shown).
    Say(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// What is matched and shown, e.g. "rollback checkout production".
    pub label: String,
    /// A hint shown dimmed beside it.
    pub hint: String,
    pub command: Command,
}

/// Everything the palette can do right now.
pub fn entries(state: &State) -> Vec<Entry> {
    let mut v = Vec::new();
    for view in View::ALL {
        v.push(Entry {
            label: format!("go {}", view.title().to_lowercase()),
            hint: "view".into(),
            command: Command::View(view),
        });
    }
    for (label, hint, a) in [
        ("refresh", "fetch every provider now", Action::Refresh),
        ("help", "all keys", Action::Help),
        ("quit", "leave sitrep", Action::Quit),
    ] {
        v.push(Entry {
            label: label.into(),
            hint: hint.into(),
            command: Command::Key(a),
        });
    }
    // The switches; `:ctx` lists them all (and says when there are none).
    v.extend(
        contexts(state)
            .into_iter()
            .filter(|e| matches!(e.command, Command::Context(_))),
    );
    for rb in &state.runbooks.catalog.runbooks {
        v.push(Entry {
            label: format!("runbook {}", rb.id),
            hint: rb.title.to_string(),
            command: Command::Runbook(rb.id.as_str().to_string()),
        });
    }
    let mut services: Vec<String> = state
        .snap
        .incidents
        .iter()
        .filter_map(|i| i.service.as_ref().map(|s| s.as_str().to_string()))
        .chain(
            state
                .snap
                .deploys
                .iter()
                .map(|d| d.service.as_str().to_string()),
        )
        .collect();
    crate::order::sort(&mut services);
    services.dedup();
    for s in services {
        v.push(Entry {
            label: format!("service {s}"),
            hint: "incidents and deploys of this service".into(),
            command: Command::Service(s),
        });
    }
    if !state.read_only {
        for ((svc, env), ds) in state.snap.deploy_groups() {
            let Some(provider) = ds.first().map(|d| d.provider.as_str().to_string()) else {
                continue;
            };
            let live = ds
                .iter()
                .find(|d| d.current)
                .map(|d| format!("live {}", d.git_ref))
                .unwrap_or_else(|| "nothing live".into());
            v.push(Entry {
                label: format!("rollback {svc} {env}"),
                hint: live,
                command: Command::Op(WriteOp::Rollback {
                    provider: Some(provider),
                    service: svc,
                    environment: env,
                    to: None,
                }),
            });
        }
        for f in &state.snap.flags {
            let (verb, on) = if f.on { ("off", false) } else { ("on", true) };
            v.push(Entry {
                label: format!("flag {verb} {}", f.key),
                hint: format!(
                    "{}{}",
                    if f.kill_switch { "kill switch, " } else { "" },
                    if f.on { "now ON" } else { "now OFF" }
                ),
                command: Command::Op(WriteOp::FlagSet {
                    provider: Some(f.provider.as_str().to_string()),
                    key: f.key.as_str().to_string(),
                    environment: f.environment.as_ref().map(|e| e.as_str().to_string()),
                    on,
                }),
            });
        }
        for i in state.snap.incidents.iter().filter(|i| i.status.is_open()) {
            let provider = Some(i.provider.as_str().to_string());
            let id = i.id.as_str().to_string();
            let can = |a| state.incident_refusal(i, a).is_none();
            if i.status.is_unacked() && can(Action::Ack) {
                v.push(Entry {
                    label: format!("ack {id}"),
                    hint: format!("{} {}", i.severity, i.title),
                    command: Command::Op(WriteOp::IncidentAck {
                        provider: provider.clone(),
                        id: id.clone(),
                    }),
                });
            }
            if can(Action::Resolve) {
                v.push(Entry {
                    label: format!("resolve {id}"),
                    hint: format!("{} {}", i.severity, i.title),
                    command: Command::Op(WriteOp::IncidentResolve { provider, id }),
                });
            }
        }
        super::depth::palette_entries(state, &mut v);
    }
    v
}

/// `:ctx`: every context, the one in use marked; with none, one entry
/// saying how to make one.
pub fn contexts(state: &State) -> Vec<Entry> {
    let dir = state
        .contexts_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "<config dir>/contexts".into());
    if state.contexts.is_empty() {
        let hint = format!(
            "no contexts: add {dir}/NAME.toml (a config), then :ctx NAME or sitrep --context NAME"
        );
        return vec![Entry {
            label: "ctx".into(),
            hint: hint.clone(),
            command: Command::Say(hint),
        }];
    }
    state
        .contexts
        .iter()
        .map(|c| {
            let here = state.context.as_deref() == Some(c.as_str());
            Entry {
                label: format!("ctx {c}"),
                hint: if here {
                    "in use".into()
                } else {
                    format!("switch to this context ({dir}/{c}.toml)")
                },
                command: if here {
                    Command::Say(format!("context {c} is in use"))
                } else {
                    Command::Context(c.clone())
                },
            }
        })
        .collect()
}

/// Entries matching `query`, best first; an empty query lists the history
/// first, then everything in order. `ctx` (and `ctx NAME…`) lists the
/// contexts only.
pub fn matches(state: &State, query: &str) -> Vec<Entry> {
    let q = query.trim_start();
    if q == "ctx" || q.starts_with("ctx ") {
        let name = q["ctx".len()..].trim().to_lowercase();
        return contexts(state)
            .into_iter()
            .filter(|e| name.is_empty() || e.label.to_lowercase().contains(&name))
            .collect();
    }
    let all = entries(state);
    if query.trim().is_empty() {
        let mut out: Vec<Entry> = state
            .ui
            .palette_history
            .iter()
            .rev()
            .filter_map(|h| all.iter().find(|e| &e.label == h).cloned())
            .collect();
        for e in all {
            if !out.iter().any(|o| o.label == e.label) {
                out.push(e);
            }
        }
        return out;
    }
    let labels: Vec<&str> = all.iter().map(|e| e.label.as_str()).collect();
    let scored = Fuzzy::new(query).rank(labels);
    scored
        .into_iter()
        .filter_map(|(label, _)| all.iter().find(|e| e.label == label).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn state() -> State {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
            .single()
            .unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(super::super::state::demo_state(now))
    }

    #[test]
    fn typed_command_finds_the_action() {
        let s = state();
        let m = matches(&s, "rollback checkout production");
        assert_eq!(m[0].label, "rollback checkout production");
        assert!(matches!(
            m[0].command,
            Command::Op(WriteOp::Rollback { .. })
        ));
        let m = matches(&s, "flag off checkout-payments");
        assert_eq!(m[0].label, "flag off checkout-payments-v3");
        let m = matches(&s, "rbchk");
        assert!(
            m.iter().any(|e| e.label.starts_with("rollback checkout")),
            "fuzzy"
        );
    }

    #[test]
    fn read_only_offers_no_writes() {
        let mut s = state();
        s.read_only = true;
        assert!(
            entries(&s)
                .iter()
                .all(|e| !matches!(e.command, Command::Op(_)))
        );
    }

    #[test]
    fn ctx_lists_the_contexts_or_says_how_to_make_one() {
        let mut s = state();
        s.contexts_dir = Some("/home/oncall/.config/sitrep/contexts".into());
        let m = matches(&s, "ctx");
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].hint
                .starts_with("no contexts: add /home/oncall/.config/sitrep/contexts/NAME.toml"),
            "{}",
            m[0].hint
        );
        assert!(matches!(m[0].command, Command::Say(_)));
        s.contexts = vec!["prod".into(), "staging".into()];
        s.context = Some("prod".into());
        let m = matches(&s, "ctx");
        let labels: Vec<&str> = m.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["ctx prod", "ctx staging"]);
        assert_eq!(m[0].hint, "in use");
        assert_eq!(m[1].command, Command::Context("staging".into()));
        let m = matches(&s, "ctx sta");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].label, "ctx staging");
    }

    #[test]
    fn history_comes_first() {
        let mut s = state();
        s.ui.palette_history.push("go flags".into());
        assert_eq!(matches(&s, "")[0].label, "go flags");
    }
}
