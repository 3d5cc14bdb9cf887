//! PagerDuty incident details, read on demand when the console opens an
//! incident (never on every poll): `GET /incidents/{id}` (assignments and
//! acknowledgements), `GET /incidents/{id}/log_entries?limit=20` (who
//! triggered, acknowledged, escalated, assigned, when) and `GET
//! /incidents/{id}/notes`, the three at once.

use super::PagerDuty;
use crate::model::{IncidentDetails, LogLine, NoteLine, Time};
use crate::providers::ProviderError;
use crate::providers::http;
use crate::text::SafeText;
use serde::Deserialize;

/// Log entries shown of one incident (the newest).
pub const LOG_LIMIT: usize = 20;

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Deserialize)]
struct PdLogEntry {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    created_at: Time,
    #[serde(default)]
    agent: Option<Named>,
}

#[derive(Deserialize)]
struct LogEntries {
    log_entries: Vec<PdLogEntry>,
}

#[derive(Deserialize)]
struct PdNote {
    #[serde(default)]
    content: Option<String>,
    created_at: Time,
    #[serde(default)]
    user: Option<Named>,
}

#[derive(Deserialize)]
struct Notes {
    notes: Vec<PdNote>,
}

#[derive(Deserialize)]
struct Assigned {
    #[serde(default)]
    assignee: Option<Named>,
}

#[derive(Deserialize)]
struct Acked {
    #[serde(default)]
    acknowledger: Option<Named>,
}

#[derive(Deserialize)]
struct People {
    #[serde(default)]
    assignments: Vec<Assigned>,
    #[serde(default)]
    acknowledgements: Vec<Acked>,
}

#[derive(Deserialize)]
struct OnePeople {
    incident: People,
}

fn name(n: &Option<Named>) -> Option<SafeText> {
    n.as_ref()
        .and_then(|n| n.summary.as_deref())
        .filter(|s| !s.trim().is_empty())
        .map(SafeText::line)
}

fn names<'a>(it: impl Iterator<Item = &'a Option<Named>>) -> Vec<SafeText> {
    let mut out: Vec<SafeText> = Vec::new();
    for n in it.filter_map(name) {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

impl PagerDuty {
    pub(super) async fn details(&self, id: &str) -> Result<IncidentDetails, ProviderError> {
        let base = format!("/incidents/{}", http::seg(id));
        let inc_url = self.http.url(&base);
        let log_url = self.http.url(&format!("{base}/log_entries"));
        let notes_url = self.http.url(&format!("{base}/notes"));
        let log_q = [("limit", LOG_LIMIT.to_string())];
        let (inc, log, notes) = futures::join!(
            self.http.get(&inc_url, &[]),
            self.http.get(&log_url, &log_q),
            self.http.get(&notes_url, &[]),
        );
        let people: OnePeople = inc?.json()?;
        let log: LogEntries = log?.json()?;
        let notes: Notes = notes?.json()?;
        let mut log: Vec<LogLine> = log
            .log_entries
            .into_iter()
            .map(|e| LogLine {
                at: e.created_at,
                kind: SafeText::line(e.kind.as_deref().unwrap_or("")),
                agent: name(&e.agent),
                summary: SafeText::line(e.summary.as_deref().unwrap_or("")),
            })
            .collect();
        crate::order::sort_by_key(&mut log, |e| std::cmp::Reverse(e.at));
        log.truncate(LOG_LIMIT);
        let mut notes: Vec<NoteLine> = notes
            .notes
            .into_iter()
            .map(|n| NoteLine {
                at: n.created_at,
                author: name(&n.user),
                text: SafeText::line(n.content.as_deref().unwrap_or("")),
            })
            .collect();
        crate::order::sort_by_key(&mut notes, |n| std::cmp::Reverse(n.at));
        Ok(IncidentDetails {
            log,
            notes,
            assignees: names(people.incident.assignments.iter().map(|a| &a.assignee)),
            responders: names(
                people
                    .incident
                    .acknowledgements
                    .iter()
                    .map(|a| &a.acknowledger),
            ),
        })
    }
}

/// The details decoders' part of [`super::decode_wire`].
pub(super) fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    http::first_error([
        http::decode_json::<LogEntries>("fuzz", "GET /incidents/{id}/log_entries", body).map(drop),
        http::decode_json::<Notes>("fuzz", "GET /incidents/{id}/notes", body).map(drop),
        http::decode_json::<OnePeople>("fuzz", "GET /incidents/{id}", body).map(drop),
    ])
}
