//! Team mode's live side of the console (docs/TEAM.md): the listener
//! (ticks and presence changes heard through NOTIFY, handed to `update`
//! as messages), shared ticks, and this console's presence row (written
//! when the incident in view changes, while an action runs on it, and
//! every [`live::PRESENCE_EVERY`]; the others on it read each time).
//! Everything stops with the session.

use super::update::Msg;
use crate::team::listen::{self, Heard};
use crate::team::live::{self, Event};
use crate::team::{Seen, Team, Tick};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// What this console is on.
#[derive(Default)]
struct Here {
    focus: Mutex<Option<String>>,
    /// An action running on an incident: (incident, action).
    acting: Mutex<Option<(String, String)>>,
    kick: Notify,
}

impl Here {
    fn focus(&self) -> Option<String> {
        self.focus.lock().ok().and_then(|f| f.clone())
    }

    fn current(&self) -> Option<Seen> {
        if let Some((incident, action)) = self.acting.lock().ok().and_then(|a| a.clone()) {
            return Some(Seen {
                incident,
                what: "acting",
                detail: action,
            });
        }
        self.focus().map(|incident| Seen {
            incident,
            what: "viewing",
            detail: String::new(),
        })
    }
}

/// Sets this console's "acting" presence (from the action's task).
pub(super) struct Acting(Arc<Here>);

impl Acting {
    /// An action runs on `(incident, action)`; `None`: it finished.
    pub(super) fn set(&self, act: Option<(String, String)>) {
        if let Ok(mut a) = self.0.acting.lock() {
            *a = act;
        }
        self.0.kick.notify_one();
    }
}

/// The live tasks of one session (aborted when it goes).
pub(super) struct Live {
    team: Arc<Team>,
    actor: String,
    host: String,
    here: Arc<Here>,
    tx: mpsc::Sender<Msg>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Live {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // Leave the incident (best effort: else the row expires).
        if let Some(seen) = self.here.current()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let team = self.team.clone();
            rt.spawn(futures::FutureExt::boxed(async move {
                let _ = team.clear_presence(&seen.incident).await;
            }));
        }
    }
}

impl Live {
    pub(super) fn start(team: Arc<Team>, actor: &str, host: &str, tx: mpsc::Sender<Msg>) -> Live {
        let here = Arc::new(Here::default());
        let (htx, hrx) = mpsc::channel(256);
        let listener = listen::spawn(team.clone(), htx, crate::team::RETRY_EVERY);
        let forward = crate::spawn::task(forward(team.clone(), hrx, here.clone(), tx.clone()));
        let presence = crate::spawn::task(presence(
            team.clone(),
            actor.to_string(),
            host.to_string(),
            here.clone(),
            tx.clone(),
        ));
        Live {
            team,
            actor: actor.to_string(),
            host: host.to_string(),
            here,
            tx,
            tasks: vec![listener, forward, presence],
        }
    }

    /// The incident in view changed.
    pub(super) fn focus(&self, incident: Option<String>) {
        if let Ok(mut f) = self.here.focus.lock() {
            *f = incident;
        }
        self.here.kick.notify_one();
    }

    /// Say that an action runs on an incident, and when it finished.
    pub(super) fn acting_handle(&self) -> Acting {
        Acting(self.here.clone())
    }

    /// Share a checklist tick (queued while the database is away).
    pub(super) fn share(
        &self,
        incident: String,
        runbook: String,
        step: u32,
        item: u32,
        checked: bool,
    ) {
        let t = Tick {
            incident,
            runbook,
            step,
            item,
            checked,
            actor: crate::text::SafeText::line(&self.actor),
            host: crate::text::SafeText::line(&self.host),
            session: self.team.session().to_string(),
            at: None,
            own: true,
        };
        let (team, tx) = (self.team.clone(), self.tx.clone());
        crate::spawn::task(async move {
            if team.tick(t).await.is_err() {
                let _ = tx.send(Msg::TeamStatus(team.status())).await;
            }
        });
    }

    /// Read the shared ticks of a walk.
    pub(super) fn load_ticks(&self, incident: String, runbook: String) {
        let (team, tx) = (self.team.clone(), self.tx.clone());
        crate::spawn::task(async move {
            if let Ok(ticks) = team.ticks(&incident, &runbook).await {
                let _ = tx.send(Msg::SharedTicks(ticks)).await;
            }
        });
    }
}

/// Hand what the listener heard to the console.
async fn forward(
    team: Arc<Team>,
    mut rx: mpsc::Receiver<Heard>,
    here: Arc<Here>,
    tx: mpsc::Sender<Msg>,
) {
    while let Some(h) = rx.recv().await {
        let msg = match h {
            Heard::Connected => {
                // Back: the ticks made meanwhile go now (not at the next
                // retry), presence is written again.
                let t = team.clone();
                crate::spawn::task(async move {
                    let _ = t.flush_ticks().await;
                });
                here.kick.notify_one();
                Msg::TeamListening(true)
            }
            Heard::Lost(_) => Msg::TeamListening(false),
            Heard::Event(Event::Tick(t)) => Msg::SharedTicks(vec![t]),
            Heard::Event(Event::Presence { incident }) => {
                if here.focus().as_deref() == Some(incident.as_str()) {
                    here.kick.notify_one();
                }
                continue;
            }
        };
        if tx.send(msg).await.is_err() {
            return;
        }
    }
}

/// Keep this console's presence row and read the others'.
async fn presence(
    team: Arc<Team>,
    actor: String,
    host: String,
    here: Arc<Here>,
    tx: mpsc::Sender<Msg>,
) {
    let mut last: Option<Seen> = None;
    loop {
        let cur = here.current();
        if let Some(old) = &last
            && cur.as_ref().map(|c| &c.incident) != Some(&old.incident)
        {
            let _ = team.clear_presence(&old.incident).await;
        }
        if let Some(seen) = &cur {
            let changed = last.as_ref() != Some(seen);
            let written = team
                .set_presence(&actor, &host, seen, changed)
                .await
                .is_ok();
            if let Ok(others) = team.present(&seen.incident).await {
                let msg = Msg::Presence {
                    incident: seen.incident.clone(),
                    others,
                };
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
            // Not written: say it changed next time (the others are told then).
            last = written.then_some(seen.clone());
        } else {
            last = None;
        }
        tokio::select! {
            _ = here.kick.notified() => {}
            _ = tokio::time::sleep(live::PRESENCE_EVERY) => {}
        }
    }
}

/// The Audit view in team mode: the newest records of the shared log
/// (read back inert) and its verification; while it cannot be read, the
/// local log `v` already holds, said in its chain line.
pub(super) async fn team_audit(team: &Team, v: &mut crate::tui::state::AuditView) {
    let name = crate::text::SafeText::line(team.name());
    let (records, bad) = match team.records(Some(500)).await {
        Ok(r) => r,
        Err(e) => {
            let why = crate::text::SafeText::line(&e);
            v.chain = v.chain.take().map(|c| {
                c.map(|ok| format!("team log unreachable ({why}): this console's log, {ok}"))
            });
            return;
        }
    };
    v.records = records
        .into_iter()
        .rev()
        .map(crate::audit::Record::inert)
        .collect();
    v.unreadable = bad;
    v.chain = Some(match team.verify().await {
        Ok(ok) => Ok(format!(
            "team log {name}: chain verified: {} records, head {}",
            ok.records,
            ok.head.get(..12).unwrap_or(&ok.head)
        )),
        Err(e) => Err(format!(
            "team log {name}: {}",
            crate::text::SafeText::line(&e)
        )),
    });
}

#[cfg(test)]
#[path = "../../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

#[cfg(test)]
mod tests {
    //! Two in-process consoles on a real PostgreSQL (skipped without it,
    //! unless SITREP_REQUIRE_REAL_TESTS=1): what one does reaches the
    //! other's update loop as messages.

    use super::*;
    use crate::secrets::Secret;
    use crate::tui::state::State;
    use crate::tui::update::update;
    use std::time::Duration;

    const BOUND: Duration = Duration::from_secs(10);

    fn server() -> Option<pg::PgServer> {
        if pg::bin_dir().is_none() {
            assert!(
                std::env::var_os("SITREP_REQUIRE_REAL_TESTS").is_none(),
                "postgresql is not installed"
            );
            return None;
        }
        Some(pg::PgServer::start())
    }

    async fn wait_for(rx: &mut mpsc::Receiver<Msg>, want: impl Fn(&Msg) -> bool) -> Msg {
        loop {
            match tokio::time::timeout(BOUND, rx.recv()).await {
                Ok(Some(m)) if want(&m) => return m,
                Ok(Some(_)) => {}
                Ok(None) => panic!("channel closed"),
                Err(_) => panic!("not received within {BOUND:?}"),
            }
        }
    }

    fn labels(m: &Msg) -> Vec<String> {
        match m {
            Msg::Presence { others, .. } => others.iter().map(|p| p.label()).collect(),
            _ => Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_consoles_share_ticks_and_presence_through_the_update_loop() {
        let Some(server) = server() else { return };
        let url = server.url();
        let team = || {
            Arc::new(Team::new(
                Ok(Secret::new(url.clone())),
                "ops",
                Duration::from_secs(120),
            ))
        };
        let (atx, mut arx) = mpsc::channel(256);
        let (btx, mut brx) = mpsc::channel(256);
        let a = Live::start(team(), "dana", "dana-laptop", atx);
        let b = Live::start(team(), "lee", "lee-box", btx);
        wait_for(&mut arx, |m| matches!(m, Msg::TeamListening(true))).await;
        wait_for(&mut brx, |m| matches!(m, Msg::TeamListening(true))).await;

        // Both on INC-7: each sees the other, never itself.
        a.focus(Some("INC-7".into()));
        b.focus(Some("INC-7".into()));
        let m = wait_for(&mut brx, |m| !labels(m).is_empty()).await;
        assert_eq!(labels(&m), vec!["dana@dana-laptop (viewing)"]);
        let m = wait_for(&mut arx, |m| !labels(m).is_empty()).await;
        assert_eq!(labels(&m), vec!["lee@lee-box (viewing)"]);

        // A ticks; B's walk of the same incident follows, naming A.
        a.share("INC-7".into(), "rollback".into(), 1, 0, true);
        let m = wait_for(&mut brx, |m| matches!(m, Msg::SharedTicks(_))).await;
        let dir = tempfile::tempdir().unwrap();
        let rb = crate::runbooks::Catalog::bundled()
            .get("rollback")
            .cloned()
            .unwrap();
        let mut s = State::new(
            crate::store::Store::default(),
            crate::theme::Theme::default_theme(),
            chrono::Utc::now(),
        );
        s.runbooks.walk = Some(Box::new(crate::runbooks::walk::Walk::open(
            dir.path(),
            &rb,
            Some("INC-7"),
        )));
        update(&mut s, m);
        let w = s.runbooks.walk.as_ref().unwrap();
        assert!(w.progress.is_checked(1, 0));
        let by = w.ticked_by(1)[0].clone().unwrap_or_default();
        assert!(by.starts_with("✓ dana@dana-laptop "), "{by}");

        // A acts on the incident, then closes: B sees both.
        a.acting_handle()
            .set(Some(("INC-7".into(), "rollback".into())));
        wait_for(&mut brx, |m| {
            labels(m) == vec!["dana@dana-laptop (acting: rollback)".to_string()]
        })
        .await;
        drop(a);
        wait_for(
            &mut brx,
            |m| matches!(m, Msg::Presence { others, .. } if others.is_empty()),
        )
        .await;
        drop(b);
    }

    /// The Audit view reads the shared log in team mode: records another
    /// console pushed are listed, the team chain verified; unreachable,
    /// the local view stays and says so.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_audit_view_reads_the_shared_log() {
        use crate::audit::{AuditLog, Entry, Outcome, Phase, Signer};
        use crate::tui::state::AuditView;
        let local = || AuditView {
            loaded: true,
            chain: Some(Ok("chain verified: 0 records, head 000000000000".into())),
            ..Default::default()
        };
        let away = Team::new(
            Err("SITREP_TEAM_DATABASE_URL is not set".into()),
            "ops",
            Duration::from_secs(1),
        );
        let mut v = local();
        team_audit(&away, &mut v).await;
        let chain = v.chain.clone().unwrap().unwrap();
        assert!(
            chain.starts_with("team log unreachable (SITREP_TEAM_DATABASE_URL is not set): this console's log, chain verified"),
            "{chain}"
        );

        let Some(server) = server() else { return };
        let other = Team::new(
            Ok(Secret::new(server.url())),
            "ops",
            Duration::from_secs(120),
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path, Signer::ephemeral());
        log.append(&Entry {
            action: "flag.off".into(),
            actor: "dana".into(),
            detail: serde_json::json!({}),
            host: "dana-laptop".into(),
            idempotency_key: None,
            incident: None,
            outcome: Outcome::Ok,
            phase: Phase::Result,
            provider: Some("ff".into()),
            reason: "kill switch".into(),
            runbook: None,
            target: "checkout-v3".into(),
        })
        .unwrap();
        other.sync(&path).await.unwrap();
        let me = Team::new(
            Ok(Secret::new(server.url())),
            "ops",
            Duration::from_secs(120),
        );
        let mut v = local();
        team_audit(&me, &mut v).await;
        assert_eq!(v.records.len(), 1, "{:?}", v.chain);
        assert_eq!(v.records[0].actor, "dana");
        let chain = v.chain.clone().unwrap().unwrap();
        assert!(
            chain.starts_with("team log ops: chain verified: 1 records"),
            "{chain}"
        );
    }

    /// A tick made while the database is down reaches the other console
    /// once it is back: pushed when the ticking console's listener
    /// reconnects, heard (or read again on the other's reconnect).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tick_made_offline_reaches_the_other_console_on_reconnect() {
        let Some(mut server) = server() else { return };
        let url = server.url();
        let team = || {
            Arc::new(Team::new(
                Ok(Secret::new(url.clone())),
                "ops",
                Duration::from_secs(120),
            ))
        };
        let (atx, mut arx) = mpsc::channel(256);
        let (btx, mut brx) = mpsc::channel(256);
        let a = Live::start(team(), "dana", "dana-laptop", atx);
        let b = Live::start(team(), "lee", "lee-box", btx);
        wait_for(&mut arx, |m| matches!(m, Msg::TeamListening(true))).await;
        wait_for(&mut brx, |m| matches!(m, Msg::TeamListening(true))).await;

        server.stop();
        wait_for(&mut brx, |m| matches!(m, Msg::TeamListening(false))).await;
        a.share("INC-9".into(), "rollback".into(), 1, 2, true);
        wait_for(
            &mut arx,
            |m| matches!(m, Msg::TeamStatus(st) if st.reachable == Some(false)),
        )
        .await;
        assert_eq!(a.team.unshared_ticks(), 1, "the tick waits");

        server.resume();
        // B's console reads the walk again when its listener is back
        // (update's answer to TeamListening(true)); A's tick arrives
        // either way.
        wait_for(&mut brx, |m| matches!(m, Msg::TeamListening(true))).await;
        b.load_ticks("INC-9".into(), "rollback".into());
        let heard = |m: &Msg| {
            matches!(m, Msg::SharedTicks(v) if v.iter().any(|t| {
                t.incident == "INC-9" && t.item == 2 && t.checked && t.actor.as_str() == "dana"
            }))
        };
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let m = wait_for(&mut brx, |m| matches!(m, Msg::SharedTicks(_))).await;
                if heard(&m) {
                    break;
                }
            }
        })
        .await
        .expect("the offline tick never reached the other console");
        // B can read the tick from the database before A has taken the
        // database's answer off its queue: wait for A's bookkeeping.
        tokio::time::timeout(Duration::from_secs(10), async {
            while a.team.unshared_ticks() != 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the shared tick stayed in A's queue");
        drop((a, b));
    }
}
