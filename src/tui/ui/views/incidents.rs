//! The Incidents view: open incidents, worst first, with details.

use super::*;

pub fn incidents(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let list = state.filtered_incidents(View::Incidents).rows;
    let total: usize = state.snap.open_counts().iter().sum();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Incidents).filter.clone();
    table(
        f,
        ta,
        state,
        View::Incidents,
        title_with_count("Incidents", list.len(), total, &filter),
        vec!["SEV", "STATUS", "AGE", "SERVICE", "TITLE"],
        vec![
            Constraint::Length(6),
            Constraint::Length(12),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Min(20),
        ],
        list.len(),
        &if filter.is_empty() {
            state.empty_incidents_message().0
        } else {
            "nothing matches the filter".to_string()
        },
        |i| {
            let inc = &state.snap.incidents[list[i]];
            Row::new(vec![
                Cell::from(sev_span(inc.severity, t)),
                Cell::from(status_span(inc.status, t)),
                Cell::from(Span::styled(util::age(state.now, inc.created_at), t.muted)),
                Cell::from(opt(&inc.service)),
                Cell::from(
                    if state.depth.marked.contains(&crate::tui::depth::key_of(inc)) {
                        format!("[x] {}", inc.title)
                    } else {
                        inc.title.to_string()
                    },
                ),
            ])
        },
    );
    if let Some(da) = da {
        let lines = match state.selected_incident() {
            None => vec![muted_line("nothing selected", t)],
            Some(i) => {
                let mut l = vec![
                    Line::from(vec![
                        sev_span(i.severity, t),
                        Span::raw(" "),
                        status_span(i.status, t),
                    ]),
                    Line::from(Span::styled(i.title.to_string(), t.title)),
                    kv("id", format!("{}/{}", i.provider, i.id), t),
                    kv("service", opt(&i.service), t),
                    kv("assignee", opt(&i.assignee), t),
                    kv(
                        "opened",
                        format!(
                            "{} ago ({})",
                            util::age(state.now, i.created_at),
                            i.created_at.format("%Y-%m-%d %H:%MZ")
                        ),
                        t,
                    ),
                    kv("runbook", opt(&i.runbook), t),
                    kv("url", opt(&i.url), t),
                ];
                // The alert's labels (the title already names alertname):
                // the instance a runbook's {instance} binds to.
                let labels: Vec<String> = i
                    .labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != "alertname")
                    .map(|(k, v)| format!("{}={v}", crate::text::SafeText::line(k)))
                    .collect();
                if !labels.is_empty() {
                    l.insert(l.len() - 2, kv("labels", labels.join(" "), t));
                }
                // Team mode: the other consoles on this incident.
                if state.presence.focus.as_deref() == Some(i.id.as_str())
                    && !state.presence.others.is_empty()
                {
                    // One console a line: "dana@host (viewing)".
                    for (n, p) in state.presence.others.iter().enumerate() {
                        let k = if n == 0 { "also here" } else { "" };
                        l.insert(2 + n, kv(k, p.label(), t));
                    }
                }
                // What mutes a silenced alert, and why (the Silences view, 0).
                for sil in state.silences_muting(i) {
                    l.insert(
                        2,
                        Line::from(Span::styled(
                            format!(
                                "silenced by {} ({}: {})",
                                sil.id, sil.created_by, sil.comment
                            ),
                            t.warn,
                        )),
                    );
                }
                if state.read_only {
                    l.push(muted_line("read-only: actions disabled", t));
                } else {
                    // Only what this incident's provider can do.
                    use crate::tui::keymap::Action;
                    let mut keys = Vec::new();
                    for (key, what, action) in [
                        ("a", " ack  ", Action::Ack),
                        ("R", " resolve  ", Action::Resolve),
                        ("n", " note  ", Action::Note),
                        ("s", " silence  ", Action::Silence),
                    ] {
                        if state.offers(action) {
                            keys.push(Span::styled(key, t.key));
                            keys.push(Span::styled(what, t.muted));
                        }
                    }
                    if !keys.is_empty() {
                        l.push(Line::from(keys));
                    }
                    let marked = state.depth.marked.len();
                    if marked > 0 {
                        l.push(muted_line(
                            &format!("{marked} marked (Space): a acks them all"),
                            t,
                        ));
                    }
                    if state
                        .store
                        .slots
                        .iter()
                        .any(|s| s.name == i.provider.as_str() && s.actions.escalate.is_none())
                    {
                        let mut k = vec![
                            Span::styled("Space", t.key),
                            Span::styled(" mark  ", t.muted),
                            Span::styled("E", t.key),
                            Span::styled(" escalate  ", t.muted),
                        ];
                        if i.status == crate::model::IncidentStatus::Acknowledged {
                            k.push(Span::styled("z", t.key));
                            k.push(Span::styled(" snooze 1h", t.muted));
                        }
                        l.push(Line::from(k));
                    }
                }
                let depth = crate::tui::depth::lines(state, i);
                let room = usize::from(da.height.saturating_sub(2));
                if crate::tui::depth::is_read(state, i) && l.len() + depth.len() > room {
                    // A short pane: the history before when, runbook, URL.
                    l.retain(|line| {
                        let k = line.spans.first().map(|s| s.content.trim()).unwrap_or("");
                        !matches!(
                            k,
                            "opened"
                                | "labels"
                                | "runbook"
                                | "url"
                                | "service"
                                | "assignee"
                                | "Space"
                        )
                    });
                }
                l.extend(depth);
                l
            }
        };
        details(f, da, state, "Details", lines);
    }
}
