//! The `sitrep` action blocks of a runbook: one command in the CLI grammar
//! of SPEC §2, parsed into an `ops::WriteOp` plus the reason.
//!
//! Grammar (a leading `sitrep` word is optional; `#` lines are comments;
//! a line ending in `\` continues on the next):
//!
//! ```text
//! flag off|on KEY --reason R [--provider P] [--env E]
//! rollback SERVICE --env ENV [--to ID] --reason R [--provider P]
//! incident ack|resolve ID [--reason R] [--provider P]
//! incident note ID TEXT [--provider P]
//! silence --matcher k=v [--matcher k=v ...] [--duration D] --reason R [--provider P]
//! ```
//!
//! Words are split like a POSIX shell does, without expansion: `'…'` is
//! literal, `"…"` honours `\"` and `\\`, a bare `\` escapes the next char.
//! `--flag=value` is the same as `--flag value`. `{incident}`, `{service}`,
//! `{env}`, `{flag}`, ... are placeholders bound from the context the
//! runbook is walked in (see [`super::bind`] and [`Action::bind`]); an
//! unknown `{name}` is an error. `--yes` and `--dry-run` are refused: a
//! runbook action is always shown and confirmed in the TUI.

use crate::ops::{Matcher, WriteOp};
use serde::Serialize;

/// Longest action text accepted (one command).
const ACTION_CAP: usize = 4 * 1024;

/// One parsed action.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Action {
    pub op: WriteOp,
    /// The `--reason`, recorded in the audit log (empty when optional and absent).
    pub reason: String,
    /// The command, normalized to one line (for display and the audit detail).
    pub command: String,
    /// The command's words (`sitrep` dropped), placeholders unbound.
    #[serde(skip)]
    pub words: Vec<String>,
}

/// Why an action cannot run as written.
#[derive(Clone, Debug, PartialEq)]
pub enum BindError {
    /// These placeholders have no value (ask for them).
    Unbound(Vec<String>),
    /// The bound command does not parse.
    Invalid(String),
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindError::Unbound(v) => {
                let names: Vec<String> = v.iter().map(|n| format!("{{{n}}}")).collect();
                write!(f, "unbound: {}", names.join(", "))
            }
            BindError::Invalid(e) => f.write_str(e),
        }
    }
}

impl Action {
    /// The placeholders the action names, in order, once each.
    pub fn placeholders(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in &self.words {
            for (n, _) in super::bind::find(w) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// Does the action name the `{incident}` placeholder?
    pub fn needs_incident(&self) -> bool {
        self.placeholders().iter().any(|n| n == "incident")
    }

    /// Bind every placeholder and parse the result again. An action with
    /// a placeholder left unbound cannot run.
    pub fn bind(&self, b: &super::Bindings) -> Result<Action, BindError> {
        let mut unbound: Vec<String> = Vec::new();
        let words: Vec<String> = self
            .words
            .iter()
            .map(|w| {
                let (t, u) = super::bind::substitute(w, b);
                for n in u {
                    if !unbound.contains(&n) {
                        unbound.push(n);
                    }
                }
                t
            })
            .collect();
        if !unbound.is_empty() {
            return Err(BindError::Unbound(unbound));
        }
        parse_words(words).map_err(BindError::Invalid)
    }

    /// Replace `{incident}` with the id of the incident being worked (the
    /// other placeholders are left as they are).
    pub fn bind_incident(&self, incident: &str) -> Action {
        let mut b = super::Bindings::default();
        if b.set("incident", incident, super::Origin::Incident)
            .is_err()
        {
            return self.clone();
        }
        let words: Vec<String> = self
            .words
            .iter()
            .map(|w| super::bind::substitute(w, &b).0)
            .collect();
        parse_words(words).unwrap_or_else(|_| self.clone())
    }
}

/// Split a command line into words, shell-style (no expansion).
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("trailing backslash".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Join the lines of an action block into one command: drop comments and
/// blank lines, join `\`-continued lines. More than one command is an error.
fn one_command(block: &str) -> Result<String, String> {
    let mut cmds: Vec<String> = Vec::new();
    let mut cont = false;
    for line in block.lines() {
        let t = line.trim();
        if !cont && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        let (body, more) = match t.strip_suffix('\\') {
            Some(b) if !b.ends_with('\\') => (b, true),
            _ => (t, false),
        };
        if cont {
            if let Some(last) = cmds.last_mut() {
                last.push(' ');
                last.push_str(body.trim());
            }
        } else {
            cmds.push(body.trim().to_string());
        }
        cont = more;
    }
    match cmds.len() {
        0 => Err("empty action block".into()),
        1 => Ok(cmds.remove(0)),
        n => Err(format!(
            "an action block holds one command, this one holds {n} (split it into {n} blocks)"
        )),
    }
}

/// Options a command takes, and whether each takes a value.
struct Opts {
    pos: Vec<String>,
    vals: Vec<(String, String)>,
}

impl Opts {
    fn parse(words: &[String], allowed: &[&str]) -> Result<Opts, String> {
        let mut pos = Vec::new();
        let mut vals = Vec::new();
        let mut i = 0;
        let mut only_pos = false;
        while i < words.len() {
            let w = &words[i];
            i += 1;
            if only_pos || !w.starts_with('-') || w == "-" {
                pos.push(w.clone());
                continue;
            }
            if w == "--" {
                only_pos = true;
                continue;
            }
            let (name, inline) = match w.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (w.clone(), None),
            };
            let name = match name.as_str() {
                "-m" => "--matcher".to_string(),
                _ => name,
            };
            match name.as_str() {
                "--yes" | "-y" | "--dry-run" | "--i-know-this-is-production" => {
                    return Err(format!(
                        "{name} is not allowed in a runbook: the action is always shown and confirmed"
                    ));
                }
                _ => {}
            }
            let bare = name.trim_start_matches('-');
            if !allowed.contains(&bare) {
                let list: Vec<String> = allowed.iter().map(|a| format!("--{a}")).collect();
                return Err(format!(
                    "unknown option {name} (expected {})",
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                ));
            }
            let v = match inline {
                Some(v) => v,
                None => {
                    let Some(v) = words.get(i) else {
                        return Err(format!("{name} needs a value"));
                    };
                    i += 1;
                    v.clone()
                }
            };
            vals.push((bare.to_string(), v));
        }
        Ok(Opts { pos, vals })
    }

    fn one(&self, name: &str) -> Result<Option<String>, String> {
        let mut it = self.vals.iter().filter(|(n, _)| n == name);
        let first = it.next().map(|(_, v)| v.clone());
        if it.next().is_some() {
            return Err(format!("--{name} given more than once"));
        }
        Ok(first)
    }

    fn required(&self, name: &str, cmd: &str) -> Result<String, String> {
        match self.one(name)? {
            Some(v) if !v.trim().is_empty() => Ok(v),
            Some(_) => Err(format!("`{cmd}`: --{name} must not be empty")),
            None => Err(format!("`{cmd}` needs --{name}")),
        }
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.vals
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn positionals(&self, cmd: &str, names: &[&str]) -> Result<Vec<String>, String> {
        if self.pos.len() != names.len() {
            return Err(format!(
                "`{cmd}` takes {} ({}), got {}",
                names.len(),
                names.join(" "),
                if self.pos.is_empty() {
                    "none".to_string()
                } else {
                    self.pos.join(" ")
                }
            ));
        }
        Ok(self.pos.clone())
    }
}

/// Parse the text of one `sitrep` block.
pub fn parse_action(block: &str) -> Result<Action, String> {
    if block.len() > ACTION_CAP {
        return Err(format!("action longer than {ACTION_CAP} bytes"));
    }
    let line = one_command(block)?;
    let mut words = split_words(&line)?;
    if words.first().map(String::as_str) == Some("sitrep") {
        words.remove(0);
    }
    for w in &words {
        if let Some(p) = super::walk::angle_placeholder(w) {
            return Err(format!(
                "{p} cannot be filled in at run time: use a {{placeholder}} sitrep binds, or leave it out"
            ));
        }
        if let Some(n) = super::bind::unknown_in(w).first() {
            return Err(format!(
                "{{{n}}} is not a placeholder sitrep binds ({})",
                super::bind::known_list()
            ));
        }
    }
    parse_words(words)
}

/// Parse the words of one command (`sitrep` already dropped).
fn parse_words(words: Vec<String>) -> Result<Action, String> {
    let Some(cmd) = words.first().cloned() else {
        return Err("empty action".into());
    };
    let rest = &words[1..];
    let sub = |rest: &[String]| rest.first().cloned().unwrap_or_default();
    let (op, reason) = match cmd.as_str() {
        "flag" => {
            let on = match sub(rest).as_str() {
                "off" => false,
                "on" => true,
                other => {
                    return Err(format!(
                        "`flag` takes `off` or `on`, got {:?}",
                        if other.is_empty() { "nothing" } else { other }
                    ));
                }
            };
            let name = if on { "flag on" } else { "flag off" };
            let o = Opts::parse(&rest[1..], &["reason", "provider", "env"])?;
            let [key] = <[String; 1]>::try_from(o.positionals(name, &["KEY"])?)
                .map_err(|_| format!("`{name}` takes one KEY"))?;
            let reason = o.required("reason", name)?;
            (
                WriteOp::FlagSet {
                    provider: o.one("provider")?,
                    key,
                    environment: o.one("env")?,
                    on,
                },
                reason,
            )
        }
        "rollback" => {
            let o = Opts::parse(rest, &["env", "to", "reason", "provider"])?;
            let [service] = <[String; 1]>::try_from(o.positionals("rollback", &["SERVICE"])?)
                .map_err(|_| "`rollback` takes one SERVICE".to_string())?;
            let environment = o.required("env", "rollback")?;
            let reason = o.required("reason", "rollback")?;
            (
                WriteOp::Rollback {
                    provider: o.one("provider")?,
                    service,
                    environment,
                    to: o.one("to")?,
                },
                reason,
            )
        }
        "incident" => {
            let verb = sub(rest);
            match verb.as_str() {
                "ack" | "resolve" => {
                    let name = format!("incident {verb}");
                    let o = Opts::parse(&rest[1..], &["reason", "provider"])?;
                    let [id] = <[String; 1]>::try_from(o.positionals(&name, &["ID"])?)
                        .map_err(|_| format!("`{name}` takes one ID"))?;
                    let provider = o.one("provider")?;
                    let reason = o.one("reason")?.unwrap_or_default();
                    let op = if verb == "ack" {
                        WriteOp::IncidentAck { provider, id }
                    } else {
                        WriteOp::IncidentResolve { provider, id }
                    };
                    (op, reason)
                }
                "note" => {
                    let o = Opts::parse(&rest[1..], &["provider"])?;
                    let [id, text] =
                        <[String; 2]>::try_from(o.positionals("incident note", &["ID", "TEXT"])?)
                            .map_err(|_| "`incident note` takes ID TEXT".to_string())?;
                    if text.trim().is_empty() {
                        return Err("`incident note`: TEXT must not be empty".into());
                    }
                    (
                        WriteOp::IncidentNote {
                            provider: o.one("provider")?,
                            id,
                            text,
                        },
                        String::new(),
                    )
                }
                other => {
                    return Err(format!(
                        "`incident` takes `ack`, `resolve` or `note`, got {:?}",
                        if other.is_empty() { "nothing" } else { other }
                    ));
                }
            }
        }
        "silence" => {
            let o = Opts::parse(rest, &["matcher", "duration", "reason", "provider"])?;
            o.positionals("silence", &[])?;
            let raw = o.all("matcher");
            if raw.is_empty() {
                return Err("`silence` needs at least one --matcher name=value".into());
            }
            let matchers = raw
                .iter()
                .map(|m| m.parse::<Matcher>())
                .collect::<Result<Vec<_>, _>>()?;
            let duration = o.one("duration")?.unwrap_or_else(|| "1h".to_string());
            let d = crate::config::parse_duration(&duration)?;
            if d.as_secs() == 0 {
                return Err("`silence`: --duration must be at least one second".into());
            }
            let reason = o.required("reason", "silence")?;
            (
                WriteOp::SilenceCreate {
                    provider: o.one("provider")?,
                    matchers,
                    duration_secs: d.as_secs(),
                },
                reason,
            )
        }
        other => {
            return Err(format!(
                "unknown action {other:?} (expected flag, rollback, incident or silence)"
            ));
        }
    };
    Ok(Action {
        op,
        reason,
        command: words.join(" "),
        words,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"flag off k --reason "db failover""#).unwrap(),
            ["flag", "off", "k", "--reason", "db failover"]
        );
        assert_eq!(
            split_words(r#"a 'b "c"' "d \"e\" \\" f\ g"#).unwrap(),
            ["a", "b \"c\"", "d \"e\" \\", "f g"]
        );
        assert_eq!(split_words("''").unwrap(), [""]);
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
    }

    #[test]
    fn flag_off_parses() {
        let a = parse_action("flag off checkout-writes --reason \"db failover\"\n").unwrap();
        assert_eq!(
            a.op,
            WriteOp::FlagSet {
                provider: None,
                key: "checkout-writes".into(),
                environment: None,
                on: false
            }
        );
        assert_eq!(a.reason, "db failover");
        let a =
            parse_action("sitrep flag on k --reason=back --env production --provider ld").unwrap();
        assert!(
            matches!(a.op, WriteOp::FlagSet { on: true, ref environment, ref provider, .. }
            if environment.as_deref() == Some("production") && provider.as_deref() == Some("ld"))
        );
    }

    #[test]
    fn rollback_silence_incident_parse() {
        let a = parse_action(
            "# roll back\nrollback checkout --env production \\\n  --to 1871 --reason 'bad deploy'",
        )
        .unwrap();
        assert_eq!(
            a.op,
            WriteOp::Rollback {
                provider: None,
                service: "checkout".into(),
                environment: "production".into(),
                to: Some("1871".into())
            }
        );
        let a = parse_action(
            "silence --matcher alertname=X -m service=auth --duration 2h --reason \"known\"",
        )
        .unwrap();
        match a.op {
            WriteOp::SilenceCreate {
                matchers,
                duration_secs,
                ..
            } => {
                assert_eq!(matchers.len(), 2);
                assert_eq!(duration_secs, 7200);
            }
            _ => panic!("not a silence"),
        }
        let a = parse_action("incident ack {incident}").unwrap();
        assert!(a.needs_incident());
        let b = a.bind_incident("Q1CHK5XZ01");
        assert_eq!(
            b.op,
            WriteOp::IncidentAck {
                provider: None,
                id: "Q1CHK5XZ01".into()
            }
        );
        let a = parse_action("incident note {incident} \"failover started\"").unwrap();
        assert!(
            matches!(a.op, WriteOp::IncidentNote { ref text, .. } if text == "failover started")
        );
    }

    #[test]
    fn bad_actions_say_why() {
        for (src, why) in [
            ("", "empty"),
            ("flag off k", "--reason"),
            ("flag sideways k --reason r", "`off` or `on`"),
            ("flag off --reason r", "KEY"),
            ("rollback checkout --reason r", "--env"),
            (
                "rollback checkout --env production --reason r --yes",
                "not allowed",
            ),
            ("silence --duration 1h --reason r", "--matcher"),
            ("silence -m novalue --reason r", "name=value"),
            ("silence -m a=b --duration soon --reason r", "duration"),
            ("incident ack", "ID"),
            ("incident note X", "TEXT"),
            ("rm -rf /", "unknown action"),
            (
                "flag off a --reason r\nflag off b --reason r",
                "one command",
            ),
            ("flag off a --reason r --reason s", "more than once"),
            ("flag off a --bogus 1 --reason r", "unknown option"),
        ] {
            let e = parse_action(src).unwrap_err();
            assert!(e.contains(why), "{src:?}: {e}");
        }
    }
}
