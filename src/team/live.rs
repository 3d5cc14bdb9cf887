//! Shared runbook progress and presence (docs/TEAM.md): checklist ticks
//! per team + incident + runbook + step + item, and who is looking at or
//! acting on an incident. Every write NOTIFYs [`CHANNEL`] with what
//! changed; a console's listener ([`super::listen`]) hands it to the
//! console.
//!
//! Ticks made while the database is unreachable wait in the handle's
//! queue (the newest per item) and are pushed on the next success; the
//! last tick to reach the database wins (database time).

use super::Team;
use crate::model::Time;
use crate::text::SafeText;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio_postgres::Client;

/// The one LISTEN/NOTIFY channel of team mode (rows say their team).
pub const CHANNEL: &str = "sitrep_team";

/// How long a presence row counts after its last heartbeat.
pub const PRESENCE_TTL: Duration = Duration::from_secs(30);

/// How often a console renews its presence (and reads the others').
pub const PRESENCE_EVERY: Duration = Duration::from_secs(10);

/// The longest incident id, runbook id, actor or host a row may hold (a
/// notification carries the row and must stay under PostgreSQL's 8000
/// bytes).
pub const MAX_FIELD: usize = 256;

/// One checklist item's state, as ticked by someone.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub incident: String,
    pub runbook: String,
    pub step: u32,
    pub item: u32,
    pub checked: bool,
    /// Who ticked it (read back sanitized).
    pub actor: SafeText,
    pub host: SafeText,
    /// The ticking console's session.
    pub session: String,
    /// Database time of the write (`None` before it reached the database).
    pub at: Option<Time>,
    /// Ticked by this console (set by the receiver).
    pub own: bool,
}

impl Tick {
    /// `✓ dana@host 14:02` (UTC), or `✗ …` for an untick.
    pub fn by_line(&self) -> String {
        let mark = if self.checked { '✓' } else { '✗' };
        let at = self
            .at
            .map(|t| format!(" {}", t.format("%H:%M")))
            .unwrap_or_default();
        format!("{mark} {}@{}{at}", self.actor, self.host)
    }

    fn key(&self) -> (String, String, u32, u32) {
        (
            self.incident.clone(),
            self.runbook.clone(),
            self.step,
            self.item,
        )
    }
}

/// Another console on an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Presence {
    pub actor: SafeText,
    pub host: SafeText,
    /// `viewing` or `acting`.
    pub what: SafeText,
    /// What it is doing when acting (the action's name).
    pub detail: SafeText,
}

impl Presence {
    /// `dana@host (viewing)`, `lee@host (acting: rollback)`.
    pub fn label(&self) -> String {
        if self.detail.is_empty() {
            format!("{}@{} ({})", self.actor, self.host, self.what)
        } else {
            format!(
                "{}@{} ({}: {})",
                self.actor, self.host, self.what, self.detail
            )
        }
    }
}

/// What this console is doing on an incident (its presence row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub incident: String,
    /// `viewing` or `acting`.
    pub what: &'static str,
    pub detail: String,
}

/// A notification for this team, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Tick(Tick),
    /// Someone's presence on this incident changed: read it again.
    Presence {
        incident: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Payload {
    kind: String,
    team: String,
    incident: String,
    #[serde(default)]
    runbook: String,
    #[serde(default)]
    step: i64,
    #[serde(default)]
    item: i64,
    #[serde(default)]
    checked: bool,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    at_ms: i64,
}

fn time_ms(ms: i64) -> Option<Time> {
    chrono::DateTime::from_timestamp_millis(ms)
}

/// A notification's payload for `team` (others' teams and anything
/// unreadable: `None`), names sanitized.
pub fn parse(team: &str, own_session: &str, payload: &str) -> Option<Event> {
    let p: Payload = serde_json::from_str(payload).ok()?;
    if p.team != team {
        return None;
    }
    match p.kind.as_str() {
        "tick" => Some(Event::Tick(Tick {
            incident: p.incident,
            runbook: p.runbook,
            step: u32::try_from(p.step).ok()?,
            item: u32::try_from(p.item).ok()?,
            checked: p.checked,
            actor: SafeText::line(&p.actor),
            host: SafeText::line(&p.host),
            own: p.session == own_session,
            session: p.session,
            at: time_ms(p.at_ms),
        })),
        "presence" => Some(Event::Presence {
            incident: p.incident,
        }),
        _ => None,
    }
}

fn check_len(field: &str, v: &str) -> Result<(), String> {
    if v.len() > MAX_FIELD {
        Err(format!(
            "team database: {field} is longer than {MAX_FIELD} bytes, not shared"
        ))
    } else {
        Ok(())
    }
}

fn int(field: &str, v: u32) -> Result<i32, String> {
    i32::try_from(v).map_err(|_| format!("team database: {field} {v} is out of range"))
}

/// A tick the database can hold: its fields' sizes, step and item as
/// PostgreSQL integers.
fn check_tick(t: &Tick) -> Result<(i32, i32), String> {
    for (f, v) in [
        ("incident", t.incident.as_str()),
        ("runbook", t.runbook.as_str()),
        ("actor", t.actor.as_str()),
        ("host", t.host.as_str()),
    ] {
        check_len(f, v)?;
    }
    Ok((int("step", t.step)?, int("item", t.item)?))
}

/// Write a tick (the newer write wins: database time) and NOTIFY it;
/// returns the database time of the write.
pub async fn push_tick(c: &Client, team: &str, t: &Tick) -> Result<Time, String> {
    let (step, item) = check_tick(t)?;
    let row = c
        .query_one(
            "WITH up AS (
                INSERT INTO sitrep_ticks
                    (team, incident, runbook, step, item, checked, actor, host, session, at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp())
                ON CONFLICT (team, incident, runbook, step, item) DO UPDATE SET
                    checked = EXCLUDED.checked, actor = EXCLUDED.actor,
                    host = EXCLUDED.host, session = EXCLUDED.session,
                    at = greatest(EXCLUDED.at, sitrep_ticks.at)
                RETURNING (extract(epoch FROM at) * 1000)::bigint AS at_ms
            )
            SELECT at_ms, pg_notify($10, json_build_object(
                'kind', 'tick', 'team', $1::text, 'incident', $2::text,
                'runbook', $3::text, 'step', $4::int4, 'item', $5::int4,
                'checked', $6::bool, 'actor', $7::text, 'host', $8::text,
                'session', $9::text, 'at_ms', at_ms)::text)
            FROM up",
            &[
                &team,
                &t.incident,
                &t.runbook,
                &step,
                &item,
                &t.checked,
                &t.actor.as_str(),
                &t.host.as_str(),
                &t.session,
                &CHANNEL,
            ],
        )
        .await
        .map_err(|e| format!("team database: tick not shared: {e}"))?;
    let ms: i64 = row
        .try_get(0)
        .map_err(|e| format!("team database: sitrep_ticks.at: {e}"))?;
    time_ms(ms).ok_or_else(|| "team database: sitrep_ticks.at is out of range".to_string())
}

/// Every tick of a walk (an incident's runbook), names sanitized.
pub async fn ticks(
    c: &Client,
    team: &str,
    own_session: &str,
    incident: &str,
    runbook: &str,
) -> Result<Vec<Tick>, String> {
    let rows = c
        .query(
            "SELECT step, item, checked, actor, host, session,
                    (extract(epoch FROM at) * 1000)::bigint
             FROM sitrep_ticks WHERE team = $1 AND incident = $2 AND runbook = $3
             ORDER BY at",
            &[&team, &incident, &runbook],
        )
        .await
        .map_err(|e| format!("team database: ticks not read: {e}"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let bad = |e: tokio_postgres::Error| format!("team database: sitrep_ticks row: {e}");
        let step: i32 = r.try_get(0).map_err(bad)?;
        let item: i32 = r.try_get(1).map_err(bad)?;
        let (Ok(step), Ok(item)) = (u32::try_from(step), u32::try_from(item)) else {
            continue;
        };
        let session: String = r.try_get(5).map_err(bad)?;
        out.push(Tick {
            incident: incident.to_string(),
            runbook: runbook.to_string(),
            step,
            item,
            checked: r.try_get(2).map_err(bad)?,
            actor: SafeText::line(r.try_get::<_, &str>(3).map_err(bad)?),
            host: SafeText::line(r.try_get::<_, &str>(4).map_err(bad)?),
            own: session == own_session,
            session,
            at: time_ms(r.try_get(6).map_err(bad)?),
        });
    }
    Ok(out)
}

async fn notify_presence(c: &Client, team: &str, incident: &str) -> Result<(), String> {
    c.execute(
        "SELECT pg_notify($1, json_build_object('kind', 'presence',
            'team', $2::text, 'incident', $3::text)::text)",
        &[&CHANNEL, &team, &incident],
    )
    .await
    .map(|_| ())
    .map_err(|e| format!("team database: presence not announced: {e}"))
}

/// This console's presence on an incident (a heartbeat when it is
/// unchanged: then nobody is told).
pub struct Here<'a> {
    pub team: &'a str,
    pub session: &'a str,
    pub actor: &'a str,
    pub host: &'a str,
    pub seen: &'a Seen,
    pub ttl_ms: i64,
    pub changed: bool,
}

pub async fn upsert_presence(c: &Client, h: &Here<'_>) -> Result<(), String> {
    for (f, v) in [
        ("incident", h.seen.incident.as_str()),
        ("actor", h.actor),
        ("host", h.host),
        ("detail", h.seen.detail.as_str()),
    ] {
        check_len(f, v)?;
    }
    c.execute(
        "INSERT INTO sitrep_presence
            (team, incident, session, actor, host, what, detail, heartbeat, ttl_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8)
         ON CONFLICT (team, incident, session) DO UPDATE SET
            actor = EXCLUDED.actor, host = EXCLUDED.host, what = EXCLUDED.what,
            detail = EXCLUDED.detail, heartbeat = now(), ttl_ms = EXCLUDED.ttl_ms",
        &[
            &h.team,
            &h.seen.incident,
            &h.session,
            &h.actor,
            &h.host,
            &h.seen.what,
            &h.seen.detail,
            &h.ttl_ms,
        ],
    )
    .await
    .map_err(|e| format!("team database: presence not written: {e}"))?;
    if h.changed {
        notify_presence(c, h.team, &h.seen.incident).await?;
    }
    Ok(())
}

/// Leave an incident (the row goes; the others are told).
pub async fn clear_presence(
    c: &Client,
    team: &str,
    session: &str,
    incident: &str,
) -> Result<(), String> {
    c.execute(
        "DELETE FROM sitrep_presence WHERE team = $1 AND incident = $2 AND session = $3",
        &[&team, &incident, &session],
    )
    .await
    .map_err(|e| format!("team database: presence not cleared: {e}"))?;
    notify_presence(c, team, incident).await
}

/// Who else is on an incident now (expired rows ignored), names
/// sanitized, in a stable order.
pub async fn present(
    c: &Client,
    team: &str,
    own_session: &str,
    incident: &str,
) -> Result<Vec<Presence>, String> {
    let rows = c
        .query(
            "SELECT actor, host, what, detail FROM sitrep_presence
             WHERE team = $1 AND incident = $2 AND session <> $3
               AND heartbeat + ttl_ms * interval '1 millisecond' > now()
             ORDER BY actor, host, session",
            &[&team, &incident, &own_session],
        )
        .await
        .map_err(|e| format!("team database: presence not read: {e}"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let bad = |e: tokio_postgres::Error| format!("team database: sitrep_presence row: {e}");
        let text = |i: usize| r.try_get::<_, &str>(i).map(SafeText::line).map_err(bad);
        out.push(Presence {
            actor: text(0)?,
            host: text(1)?,
            what: text(2)?,
            detail: text(3)?,
        });
    }
    Ok(out)
}

impl Team {
    /// Share a tick: queued (the newest per item), then the queue is
    /// pushed in order. While the database is unreachable it waits there
    /// (see [`Team::flush_ticks`]); the error says so.
    pub async fn tick(&self, t: Tick) -> Result<usize, String> {
        // One that can never be written must not hold the queue up.
        check_tick(&t)?;
        if let Ok(mut q) = self.pending.lock() {
            q.retain(|p| p.key() != t.key());
            q.push(t);
        }
        self.flush_ticks().await
    }

    /// Push the queued ticks, oldest first; returns how many went. A
    /// failure stops the push (the rest wait for the next one).
    pub async fn flush_ticks(&self) -> Result<usize, String> {
        let mut sent = 0;
        loop {
            let next = self.pending.lock().ok().and_then(|q| q.first().cloned());
            let Some(t) = next else {
                return Ok(sent);
            };
            let team = self.name.clone();
            let pushed = t.clone();
            self.with_client(async |c| push_tick(c, &team, &pushed).await)
                .await?;
            if let Ok(mut q) = self.pending.lock()
                && q.first() == Some(&t)
            {
                q.remove(0);
            }
            sent += 1;
        }
    }

    /// Ticks waiting for the database.
    pub fn unshared_ticks(&self) -> usize {
        self.pending.lock().map(|q| q.len()).unwrap_or(0)
    }

    /// Every shared tick of an incident's runbook.
    pub async fn ticks(&self, incident: &str, runbook: &str) -> Result<Vec<Tick>, String> {
        let (team, session) = (self.name.clone(), self.session.clone());
        self.with_client(async |c| ticks(c, &team, &session, incident, runbook).await)
            .await
    }

    /// Write (or renew) this console's presence.
    pub async fn set_presence(
        &self,
        actor: &str,
        host: &str,
        seen: &Seen,
        changed: bool,
    ) -> Result<(), String> {
        let h = Here {
            team: &self.name,
            session: &self.session,
            actor,
            host,
            seen,
            ttl_ms: i64::try_from(self.presence_ttl.as_millis()).unwrap_or(i64::MAX),
            changed,
        };
        self.with_client(async |c| upsert_presence(c, &h).await)
            .await
    }

    /// Remove this console's presence on an incident.
    pub async fn clear_presence(&self, incident: &str) -> Result<(), String> {
        let (team, session) = (self.name.clone(), self.session.clone());
        self.with_client(async |c| clear_presence(c, &team, &session, incident).await)
            .await
    }

    /// The other consoles on an incident.
    pub async fn present(&self, incident: &str) -> Result<Vec<Presence>, String> {
        let (team, session) = (self.name.clone(), self.session.clone());
        self.with_client(async |c| present(c, &team, &session, incident).await)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_of_other_teams_and_junk_are_ignored_names_sanitized() {
        let p = r#"{"kind":"tick","team":"a","incident":"I1","runbook":"rb","step":2,"item":1,
            "checked":true,"actor":"dana\u001b[2J","host":"h","session":"s1","at_ms":0}"#;
        assert_eq!(parse("b", "s1", p), None);
        assert_eq!(parse("a", "s1", "not json"), None);
        let Some(Event::Tick(t)) = parse("a", "s1", p) else {
            panic!("not a tick")
        };
        assert!(t.own && t.checked && t.step == 2 && t.item == 1);
        assert!(!t.actor.as_str().contains('\u{1b}'), "{:?}", t.actor);
        assert_eq!(t.by_line(), format!("✓ {}@h 00:00", t.actor));
        let neg = p.replace("\"step\":2", "\"step\":-1");
        assert_eq!(parse("a", "s1", &neg), None);
        assert_eq!(
            parse(
                "a",
                "x",
                r#"{"kind":"presence","team":"a","incident":"I1"}"#
            ),
            Some(Event::Presence {
                incident: "I1".into()
            })
        );
    }

    /// A tick that can never be written is refused, not queued (it
    /// would hold up every later one).
    #[tokio::test]
    async fn an_unwritable_tick_is_refused_not_queued() {
        let team = Team::new(Err("no url".into()), "ops", Duration::from_secs(1));
        let t = Tick {
            incident: "I".repeat(MAX_FIELD + 1),
            runbook: "rb".into(),
            step: 1,
            item: 0,
            checked: true,
            actor: SafeText::line("dana"),
            host: SafeText::line("h"),
            session: "s".into(),
            at: None,
            own: true,
        };
        let err = team.tick(t.clone()).await.unwrap_err();
        assert!(err.contains("incident is longer than 256 bytes"), "{err}");
        assert_eq!(team.unshared_ticks(), 0);
        let ok = Tick {
            incident: "I1".into(),
            ..t
        };
        assert_eq!(team.tick(ok).await.unwrap_err(), "no url");
        assert_eq!(team.unshared_ticks(), 1, "kept for the reconnect");
    }

    #[test]
    fn presence_labels() {
        let p = |what: &str, detail: &str| Presence {
            actor: SafeText::line("lee"),
            host: SafeText::line("box"),
            what: SafeText::line(what),
            detail: SafeText::line(detail),
        };
        assert_eq!(p("viewing", "").label(), "lee@box (viewing)");
        assert_eq!(
            p("acting", "rollback").label(),
            "lee@box (acting: rollback)"
        );
    }
}
