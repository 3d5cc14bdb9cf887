//! Team mode (docs/TEAM.md): with `[team]`, the consoles of a team share
//! one PostgreSQL database: the shared audit log (`log`) and action
//! leases (`lease`); the schema is sitrep's own, migrated at connect
//! (`db`).
//!
//! [`Team`] is one console's handle: one connection, opened on first use
//! and again after any failure. While the database cannot be reached,
//! nothing waits on it: records stay in the local log (unsynced, pushed
//! in order on the next success), leases are unavailable (said), and
//! [`Team::status`] tells the console and the CLI so.

pub mod db;
pub mod lease;
pub mod listen;
pub mod live;
pub mod log;

use crate::config::TeamConfig;
use crate::secrets::{Secret, SecretSource};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use tokio_postgres::Client;

pub use lease::{Acquired, Holder};
pub use live::{Presence, Seen, Tick};
pub use log::{Pushed, TeamVerified};

/// How often team mode tries the database again after a failure (the
/// console's sync, the listener's reconnect).
pub const RETRY_EVERY: Duration = Duration::from_secs(5);

/// A lease outlives its holder's last heartbeat by this, unless
/// `[team] lease_ttl` says otherwise.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(120);

/// What the console shows about the team database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// `None` before the first attempt.
    pub reachable: Option<bool>,
    /// Why it is unreachable (sanitized, no secret).
    pub error: Option<String>,
    /// Local records not yet in the shared log.
    pub unsynced: u64,
}

impl Status {
    /// The banner line while the team log is unreachable.
    pub fn banner(&self) -> Option<String> {
        (self.reachable == Some(false)).then(|| {
            format!(
                "team log unreachable ({}); {} record(s) kept locally, synced on reconnect",
                self.error.as_deref().unwrap_or("no answer"),
                self.unsynced
            )
        })
    }
}

/// One console's handle on the team database.
pub struct Team {
    url: Result<Secret, String>,
    name: String,
    ttl: Duration,
    /// This console's lease session (a random id).
    session: String,
    client: tokio::sync::Mutex<Option<Client>>,
    status: Mutex<Status>,
    /// Ticks not yet in the database, oldest first, one per item.
    pending: Mutex<Vec<live::Tick>>,
    /// How long this console's presence counts after a heartbeat.
    presence_ttl: Duration,
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Team")
            .field("name", &self.name)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Team {
    /// The handle for `[team]`; a URL that cannot be resolved (env var
    /// unset, no keyring entry) leaves the team log unreachable, said.
    pub fn from_config(cfg: &TeamConfig, secrets: &dyn SecretSource) -> Team {
        let url = secrets
            .get(&cfg.database_url)
            .map_err(|e| format!("[team] database_url: {e}"));
        Team::new(url, &cfg.name, cfg.lease_ttl.unwrap_or(DEFAULT_LEASE_TTL))
    }

    pub fn new(url: Result<Secret, String>, name: &str, ttl: Duration) -> Team {
        Team {
            url,
            name: name.to_string(),
            ttl,
            session: uuid::Uuid::new_v4().to_string(),
            client: tokio::sync::Mutex::new(None),
            status: Mutex::new(Status::default()),
            pending: Mutex::new(Vec::new()),
            presence_ttl: live::PRESENCE_TTL,
        }
    }

    /// Presence rows of this console count this long after a heartbeat.
    pub fn with_presence_ttl(mut self, ttl: Duration) -> Team {
        self.presence_ttl = ttl;
        self
    }

    /// This console's session (a random id, the same for leases,
    /// ticks and presence).
    pub fn session(&self) -> &str {
        &self.session
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn lease_ttl(&self) -> Duration {
        self.ttl
    }

    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn set_status(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    fn scrubbed(&self, msg: &str) -> String {
        match &self.url {
            Ok(u) => db::scrub(msg, u),
            Err(_) => msg.to_string(),
        }
    }

    /// Run `f` on the connection (opened if needed). On failure the
    /// connection is dropped (the next call opens a new one) and the
    /// status says unreachable.
    async fn with_client<T>(
        &self,
        f: impl AsyncFnOnce(&mut Client) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut guard = self.client.lock().await;
        if guard.is_none() {
            let url = match &self.url {
                Ok(u) => u,
                Err(e) => {
                    let e = e.clone();
                    self.set_status(|s| {
                        s.reachable = Some(false);
                        s.error = Some(e.clone());
                    });
                    return Err(e);
                }
            };
            match db::connect(url).await {
                Ok(c) => *guard = Some(c),
                Err(e) => {
                    self.set_status(|s| {
                        s.reachable = Some(false);
                        s.error = Some(e.clone());
                    });
                    return Err(e);
                }
            }
        }
        let Some(client) = guard.as_mut() else {
            return Err("team database: no connection".into());
        };
        match f(client).await {
            Ok(v) => {
                self.set_status(|s| {
                    s.reachable = Some(true);
                    s.error = None;
                });
                Ok(v)
            }
            Err(e) => {
                let e = self.scrubbed(&e);
                // A dead connection is replaced on the next call; a live
                // one that answered with an error is replaced too (cheap,
                // and never reused in an unknown state).
                let closed = client.is_closed();
                *guard = None;
                self.set_status(|s| {
                    if closed {
                        s.reachable = Some(false);
                    }
                    s.error = Some(e.clone());
                });
                if closed {
                    Err(format!("team database unreachable: {e}"))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Append this console's unsynced local records to the shared log, in
    /// order. The unsynced count is updated either way.
    pub async fn sync(&self, audit: &Path) -> Result<Pushed, String> {
        let team = self.name.clone();
        let r = self
            .with_client(async |c| log::push(c, &team, audit).await)
            .await;
        let left = match &r {
            Ok(p) => p.unsynced,
            Err(_) => log::count_unsynced(audit, &self.name),
        };
        self.set_status(|s| s.unsynced = left);
        r
    }

    /// The newest `limit` shared records (all with `None`), oldest first,
    /// and the rows that could not be read.
    pub async fn records(
        &self,
        limit: Option<usize>,
    ) -> Result<(Vec<crate::audit::Record>, usize), String> {
        let team = self.name.clone();
        let limit = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = self
            .with_client(async |c| log::rows(c, &team, limit).await)
            .await?;
        Ok(log::records(&rows))
    }

    /// Verify the shared log (docs/TEAM.md).
    pub async fn verify(&self) -> Result<TeamVerified, String> {
        let team = self.name.clone();
        self.with_client(async |c| log::verify(c, &team).await)
            .await
    }

    /// Take the lease on a target for an action.
    #[allow(clippy::too_many_arguments)]
    pub async fn acquire(
        &self,
        target: &str,
        holder: &str,
        host: &str,
        action: &str,
        reason: &str,
        incident: Option<&str>,
        take_over: bool,
    ) -> Result<Acquired, String> {
        let ask = lease::Ask {
            team: &self.name,
            target,
            holder,
            host,
            session: &self.session,
            action,
            reason,
            incident,
            ttl_ms: i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX),
            take_over,
        };
        self.with_client(async |c| lease::acquire(c, &ask).await)
            .await
    }

    /// Keep this console's lease on `target` alive.
    pub async fn heartbeat(&self, target: &str) -> Result<bool, String> {
        let (team, session) = (self.name.clone(), self.session.clone());
        self.with_client(async |c| lease::heartbeat(c, &team, target, &session).await)
            .await
    }

    /// The live lease on a target, if any.
    pub async fn holder(&self, target: &str) -> Result<Option<Holder>, String> {
        let team = self.name.clone();
        self.with_client(async |c| lease::holder(c, &team, target).await)
            .await
    }
}
