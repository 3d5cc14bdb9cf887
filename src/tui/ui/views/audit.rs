//! The Audit view: the newest records and the chain's state.

use super::*;

fn outcome_style(o: crate::audit::Outcome, t: &crate::theme::Theme) -> Style {
    use crate::audit::Outcome;
    match o {
        Outcome::Ok => t.ok,
        Outcome::Error => t.crit,
        Outcome::Refused => t.warn,
        Outcome::Pending => t.info,
        Outcome::DryRun => t.muted,
    }
}

pub fn audit(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let rows = state.audit_rows();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Audit).filter.clone();
    let wide = ta.width >= 110;
    let mut title = title_with_count("Audit log", rows.len(), state.audit.records.len(), &filter);
    match &state.audit.chain {
        Some(Ok(s)) => title.push_str(&format!(" · {s}")),
        Some(Err(e)) => title.push_str(&format!(" · BROKEN: {}", crate::text::truncate(e, 60))),
        None if !state.audit.loaded => title.push_str(" · reading…"),
        None => {}
    }
    table(
        f,
        ta,
        state,
        View::Audit,
        title,
        if wide {
            vec![
                "SEQ", "TIME", "ACTION", "OUTCOME", "TARGET", "ACTOR", "REASON",
            ]
        } else {
            vec!["SEQ", "TIME", "ACTION", "OUTCOME", "TARGET", "REASON"]
        },
        if wide {
            vec![
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(16),
                Constraint::Length(8),
                Constraint::Min(14),
                Constraint::Length(18),
                Constraint::Min(12),
            ]
        } else {
            vec![
                Constraint::Length(4),
                Constraint::Length(8),
                Constraint::Length(16),
                Constraint::Length(8),
                Constraint::Min(12),
                Constraint::Min(10),
            ]
        },
        rows.len(),
        if state.audit.loaded {
            "no actions recorded yet"
        } else {
            "reading the audit log…"
        },
        |i| {
            let r = rows[i];
            // ts is RFC 3339: show the time of day.
            let time = r.ts.get(11..19).unwrap_or(&r.ts).to_string();
            let mut cells = vec![
                Cell::from(Span::styled(r.seq.to_string(), t.muted)),
                Cell::from(Span::styled(time, t.muted)),
                Cell::from(r.action.clone()),
                Cell::from(Span::styled(
                    r.outcome.as_str(),
                    outcome_style(r.outcome, t),
                )),
                Cell::from(r.target.clone()),
            ];
            if wide {
                cells.push(Cell::from(r.actor.clone()));
            }
            cells.push(Cell::from(r.reason.clone()));
            Row::new(cells)
        },
    );
    if let Some(da) = da {
        let sel = state.list(View::Audit).selected;
        let lines = match rows.get(sel) {
            None => {
                let mut l = vec![muted_line("nothing selected", t)];
                if state.audit.unreadable > 0 {
                    l.push(Line::from(Span::styled(
                        format!(
                            "{} unreadable line(s): run `sitrep audit verify`",
                            state.audit.unreadable
                        ),
                        t.crit,
                    )));
                }
                l
            }
            Some(r) => {
                let mut l = vec![
                    Line::from(vec![
                        Span::styled(format!("#{} {} ", r.seq, r.action), t.title),
                        Span::styled(r.outcome.as_str(), outcome_style(r.outcome, t)),
                    ]),
                    kv("when", r.ts.clone(), t),
                    kv("who", format!("{} on {}", r.actor, r.host), t),
                    kv(
                        "provider",
                        r.provider.clone().unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv("target", r.target.clone(), t),
                    kv(
                        "reason",
                        if r.reason.is_empty() {
                            "-".into()
                        } else {
                            r.reason.clone()
                        },
                        t,
                    ),
                    kv(
                        "incident",
                        r.incident.clone().unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "runbook",
                        r.runbook
                            .as_ref()
                            .map(|rb| format!("{} step {}", rb.id, rb.step))
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "key",
                        r.idempotency_key.clone().unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv("hash", r.hash.get(..16).unwrap_or(&r.hash).to_string(), t),
                ];
                let detail = serde_json::to_string(&r.detail).unwrap_or_default();
                l.push(kv(
                    "detail",
                    crate::text::SafeText::line(&detail).to_string(),
                    t,
                ));
                l
            }
        };
        details(f, da, state, "Record", lines);
    }
}
