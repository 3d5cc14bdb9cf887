//! Action leases: one row per target per team. A lease is live while
//! `heartbeat + ttl` is in the future (database time, so consoles' clocks
//! do not matter); its holder heartbeats while the action runs, and the
//! lease then lives one TTL more, so a second responder learns that the
//! target was just acted on instead of repeating the action blindly.

use super::log::db_text;
use serde_json::{Value, json};
use tokio_postgres::Client;

/// Who holds a lease, and for what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub holder: String,
    pub host: String,
    pub action: String,
    pub target: String,
    pub reason: String,
    pub incident: Option<String>,
    /// Seconds since the lease was taken.
    pub age_secs: i64,
}

/// The `-ing` form of an action, for "dana is rolling back …".
fn doing(action: &str) -> &str {
    match action {
        "rollback" => "rolling back",
        "flag.off" => "turning off",
        "flag.on" => "turning on",
        "incident.ack" => "acknowledging",
        "incident.resolve" => "resolving",
        "incident.note" => "adding a note to",
        "incident.escalate" => "escalating",
        "incident.snooze" => "snoozing",
        "incident.reassign" => "reassigning",
        "incident.add_responders" => "adding responders to",
        "incident.bulk_ack" => "acknowledging",
        "silence.create" => "silencing",
        _ => "acting on",
    }
}

impl Holder {
    /// "dana@laptop is rolling back checkout/production for INC-42
    /// ("bad deploy"), 40 s ago" (sanitized).
    pub fn describe(&self) -> String {
        let s = |x: &str| crate::text::SafeText::line(x).into_string();
        let mut out = format!(
            "{} is {} {}",
            s(&self.holder),
            doing(&self.action),
            s(&self.target)
        );
        if let Some(i) = &self.incident {
            out.push_str(&format!(" for {}", s(i)));
        }
        if !self.reason.is_empty() {
            out.push_str(&format!(" ({:?})", s(&self.reason)));
        }
        out.push_str(&format!(
            ", {} ago",
            crate::util::span(self.age_secs.max(0))
        ));
        if !self.holder.contains(&self.host) {
            out.push_str(&format!(" (on {})", s(&self.host)));
        }
        out
    }

    /// The audit detail of a takeover.
    pub fn detail(&self) -> Value {
        json!({
            "holder": self.holder,
            "host": self.host,
            "action": self.action,
            "reason": self.reason,
            "incident": self.incident,
            "age_secs": self.age_secs,
        })
    }
}

/// What asking for a lease gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// Taken (or renewed); `took_over` names the live holder it replaced.
    Taken { took_over: Option<Holder> },
    /// Held by someone else.
    Held(Holder),
}

/// What the console asks a lease for.
#[derive(Clone, Debug)]
pub struct Ask<'a> {
    pub team: &'a str,
    pub target: &'a str,
    pub holder: &'a str,
    pub host: &'a str,
    pub session: &'a str,
    pub action: &'a str,
    pub reason: &'a str,
    pub incident: Option<&'a str>,
    pub ttl_ms: i64,
    pub take_over: bool,
}

const SELECT_HOLDER: &str = "SELECT holder, host, action, target, reason, incident,
        extract(epoch FROM now() - since)::bigint,
        heartbeat + ttl_ms * interval '1 millisecond' > now()
    FROM sitrep_leases WHERE team = $1 AND target = $2";

fn holder_of(r: &tokio_postgres::Row) -> Result<(Holder, bool), tokio_postgres::Error> {
    Ok((
        Holder {
            holder: r.try_get(0)?,
            host: r.try_get(1)?,
            action: r.try_get(2)?,
            target: r.try_get(3)?,
            reason: r.try_get(4)?,
            incident: r.try_get(5)?,
            age_secs: r.try_get(6)?,
        },
        r.try_get(7)?,
    ))
}

/// Take the lease on `ask.target`, unless someone else holds it live (or
/// take it over when asked to). One transaction; a concurrent taker
/// either waits for this one and then sees it live, or wins and this one
/// sees it.
pub async fn acquire(client: &mut Client, ask: &Ask<'_>) -> Result<Acquired, String> {
    let db = |e: tokio_postgres::Error| format!("team leases: {}", db_text(&e));
    let tx = client.transaction().await.map_err(db)?;
    let before = tx
        .query_opt(
            &format!("{SELECT_HOLDER} FOR UPDATE"),
            &[&ask.team, &ask.target],
        )
        .await
        .map_err(db)?;
    let before = match before {
        Some(r) => Some(holder_of(&r).map_err(db)?),
        None => None,
    };
    let other_live = before
        .as_ref()
        .filter(|(h, live)| *live && h.holder != ask.holder)
        .map(|(h, _)| h.clone());
    if let Some(h) = &other_live
        && !ask.take_over
    {
        tx.commit().await.map_err(db)?;
        return Ok(Acquired::Held(h.clone()));
    }
    let got = tx
        .query_opt(
            "INSERT INTO sitrep_leases
                (team, target, holder, host, session, action, reason, incident, since, heartbeat, ttl_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now(), $9)
             ON CONFLICT (team, target) DO UPDATE SET
                holder = EXCLUDED.holder, host = EXCLUDED.host, session = EXCLUDED.session,
                action = EXCLUDED.action, reason = EXCLUDED.reason, incident = EXCLUDED.incident,
                since = now(), heartbeat = now(), ttl_ms = EXCLUDED.ttl_ms
             WHERE $10
                OR sitrep_leases.holder = EXCLUDED.holder
                OR sitrep_leases.heartbeat + sitrep_leases.ttl_ms * interval '1 millisecond' <= now()
             RETURNING session",
            &[
                &ask.team,
                &ask.target,
                &ask.holder,
                &ask.host,
                &ask.session,
                &ask.action,
                &ask.reason,
                &ask.incident,
                &ask.ttl_ms,
                &ask.take_over,
            ],
        )
        .await
        .map_err(db)?;
    if got.is_none() {
        // Someone inserted it between our look and our write.
        let now = tx
            .query_opt(SELECT_HOLDER, &[&ask.team, &ask.target])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        return match now {
            Some(r) => Ok(Acquired::Held(holder_of(&r).map_err(db)?.0)),
            None => Err("team leases: the lease vanished while it was taken; try again".into()),
        };
    }
    tx.commit().await.map_err(db)?;
    Ok(Acquired::Taken {
        took_over: other_live,
    })
}

/// Keep a held lease alive; `false` when it is no longer this session's.
pub async fn heartbeat(
    client: &Client,
    team: &str,
    target: &str,
    session: &str,
) -> Result<bool, String> {
    client
        .execute(
            "UPDATE sitrep_leases SET heartbeat = now()
             WHERE team = $1 AND target = $2 AND session = $3",
            &[&team, &target, &session],
        )
        .await
        .map(|n| n == 1)
        .map_err(|e| format!("team leases: {}", db_text(&e)))
}

/// The live lease on a target, if any.
pub async fn holder(client: &Client, team: &str, target: &str) -> Result<Option<Holder>, String> {
    let db = |e: tokio_postgres::Error| format!("team leases: {}", db_text(&e));
    let r = client
        .query_opt(SELECT_HOLDER, &[&team, &target])
        .await
        .map_err(db)?;
    match r {
        Some(r) => {
            let (h, live) = holder_of(&r).map_err(db)?;
            Ok(live.then_some(h))
        }
        None => Ok(None),
    }
}
