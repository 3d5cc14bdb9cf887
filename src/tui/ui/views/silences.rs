//! The Silences view: Alertmanager silences, active, then pending, then
//! expired (the last 24 h), with what they match, who made them and why,
//! and when they start and end; `x` expires the selected one.

use super::*;
use crate::model::Silence;

/// "in 2h" or "3h ago".
fn when(now: Time, t: Time) -> String {
    if t > now {
        util::until(now, t)
    } else {
        format!("{} ago", util::age(now, t))
    }
}

fn state_span(s: &Silence, t: &crate::theme::Theme) -> Span<'static> {
    let (word, style) = match s.state.as_str() {
        "active" => ("ACTIVE", t.warn),
        "pending" => ("PENDING", t.text),
        "expired" => ("EXPIRED", t.muted),
        other => (other, t.muted),
    };
    Span::styled(word.to_uppercase(), style)
}

pub fn silences(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let list = state.silences();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Silences).filter.clone();
    let wide = ta.width >= 96;
    let mut header = vec!["STATE", "ENDS", "BY", "MATCHERS"];
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Min(20),
    ];
    if wide {
        header.insert(1, "STARTED");
        widths.insert(1, Constraint::Length(9));
        header.push("COMMENT");
        widths.push(Constraint::Length(24));
    }
    let empty = if state.store.slots.iter().any(|s| s.kind == "alertmanager") {
        state.empty_reason(
            Supplies::Silences,
            "no silences (active, pending or ended in the last 24 h)",
        )
    } else {
        "no silences: only Alertmanager has them, and no alertmanager provider is configured"
            .to_string()
    };
    table(
        f,
        ta,
        state,
        View::Silences,
        title_with_count("Silences", list.len(), state.snap.silences.len(), &filter),
        header,
        widths,
        list.len(),
        &empty,
        |i| {
            let s = list[i];
            let mut cells = vec![
                Cell::from(state_span(s, t)),
                Cell::from(Span::styled(when(state.now, s.ends_at), t.muted)),
                Cell::from(s.created_by.to_string()),
                Cell::from(
                    s.matchers
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            ];
            if wide {
                cells.insert(
                    1,
                    Cell::from(Span::styled(when(state.now, s.starts_at), t.muted)),
                );
                cells.push(Cell::from(Span::styled(s.comment.to_string(), t.muted)));
            }
            Row::new(cells)
        },
    );
    if let Some(da) = da {
        let lines = match state.selected_silence() {
            None => vec![muted_line("nothing selected", t)],
            Some(s) => {
                let mut l = vec![
                    Line::from(vec![
                        state_span(s, t),
                        Span::raw(" "),
                        Span::styled(s.id.to_string(), t.title),
                    ]),
                    kv("by", s.created_by.to_string(), t),
                    kv("why", s.comment.to_string(), t),
                    kv(
                        "starts",
                        format!(
                            "{} ({})",
                            when(state.now, s.starts_at),
                            s.starts_at.format("%Y-%m-%d %H:%MZ")
                        ),
                        t,
                    ),
                    kv(
                        "ends",
                        format!(
                            "{} ({})",
                            when(state.now, s.ends_at),
                            s.ends_at.format("%Y-%m-%d %H:%MZ")
                        ),
                        t,
                    ),
                    kv("provider", s.provider.to_string(), t),
                ];
                for (n, m) in s.matchers.iter().enumerate() {
                    l.push(kv(if n == 0 { "matchers" } else { "" }, m.to_string(), t));
                }
                let muted: Vec<String> = state
                    .snap
                    .incidents
                    .iter()
                    .filter(|i| i.provider == s.provider && s.muting.contains(&i.id))
                    .map(|i| i.title.to_string())
                    .collect();
                l.push(kv(
                    "mutes",
                    if muted.is_empty() {
                        "no listed alert".to_string()
                    } else {
                        muted.join("; ")
                    },
                    t,
                ));
                if state.read_only {
                    l.push(muted_line("read-only: actions disabled", t));
                } else if state.expire_refusal(s).is_none() {
                    l.push(Line::from(vec![
                        Span::styled("x", t.key),
                        Span::styled(" expire  ", t.muted),
                        Span::styled("d", t.key),
                        Span::styled(" JSON", t.muted),
                    ]));
                }
                l
            }
        };
        details(f, da, state, "Details", lines);
    }
}
