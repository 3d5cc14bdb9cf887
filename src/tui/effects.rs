//! Runs the effects `update` returns, off the UI loop: planning and
//! executing on tasks through the audited executor, disk reads and writes
//! on blocking threads (the offline cache and walk progress through one
//! ordered writer), context loads, the browser. Each reports back as a
//! `Msg`; nothing here writes the console's state.

use super::state::{ActionCtx, AuditView, State, ToastKind};
use super::update::{Done, Effect, Msg};
use crate::actions::{ActionRequest, ExecError, Executor, Mode};
use crate::app::{AppContext, Console};
use crate::cache::Cache;
use crate::ops::{Plan, WriteOp};
use crate::providers::Registry;
use crate::providers::poller::{PollEvent, Poller};
use tokio::sync::mpsc;

/// One job for the ordered disk writer.
enum DiskJob {
    Cache {
        cache: Cache,
        provider: String,
        kind: String,
        at: crate::model::Time,
        data: Box<crate::model::Fetched>,
    },
    Progress {
        progress: Box<crate::runbooks::progress::Progress>,
        data_dir: std::path::PathBuf,
    },
}

/// The providers, cache and executor of the context in use.
struct Session {
    /// How far the audit log was verified: the view after an action reads
    /// the tail and verifies only what was appended.
    verified: std::sync::Arc<std::sync::Mutex<Option<crate::audit::VerifyCursor>>>,
    ctx: AppContext,
    registry: Registry,
    cache: Option<Cache>,
    executor: Executor,
    poller: Option<Poller>,
    /// Team mode: pushes unsynced records and reports the database's
    /// status every few seconds; stopped with the session.
    _team_sync: Option<TeamSync>,
    /// Team mode: the listener, shared ticks and presence.
    live: Option<super::team_live::Live>,
}

/// The team sync task of a session (aborted when the session goes).
struct TeamSync(tokio::task::JoinHandle<()>);

impl Drop for TeamSync {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often the console pushes unsynced records (and ticks) and checks
/// the team database.
const TEAM_SYNC_EVERY: std::time::Duration = crate::team::RETRY_EVERY;

/// The loop's side of the console: what effects need beyond the state.
pub struct Engine {
    tx: mpsc::Sender<Msg>,
    poll_tx: mpsc::Sender<PollEvent>,
    session: Option<Session>,
    /// Writes run one after another, in the order asked (two saves of the
    /// same progress file never race).
    disk: mpsc::UnboundedSender<DiskJob>,
    first_frame: bool,
}

impl Engine {
    pub fn new(tx: mpsc::Sender<Msg>, poll_tx: mpsc::Sender<PollEvent>) -> Engine {
        let (disk, mut jobs) = mpsc::unbounded_channel::<DiskJob>();
        let warn = tx.clone();
        crate::spawn::task(async move {
            while let Some(job) = jobs.recv().await {
                let r = crate::spawn::blocking(move || write(job)).await;
                if let Ok(Some(w)) = r {
                    let _ = warn.send(Msg::Warn(w)).await;
                }
            }
        });
        Engine {
            tx,
            poll_tx,
            session: None,
            disk,
            first_frame: false,
        }
    }

    /// Called after every frame: the first starts polling and the audit read.
    pub fn first_frame_drawn(&mut self) {
        if !self.first_frame {
            self.first_frame = true;
            self.start_session();
        }
    }

    fn start_session(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.poller.is_none() && !s.registry.providers.is_empty() {
            s.poller = Some(Poller::start(&s.registry, self.poll_tx.clone()));
        }
        self.load_audit(true);
    }

    fn install(&mut self, console: Box<Console>) {
        // Dropping the old session stops its pollers.
        let Console {
            ctx,
            config,
            registry,
            cache,
            ..
        } = *console;
        let executor = Executor::from_config(
            registry.clone(),
            &config,
            &ctx.paths.data_dir,
            ctx.opts.read_only,
            &crate::secrets::SystemSecrets,
            ctx.signer(&config),
        );
        let team_sync = executor.team().cloned().map(|team| {
            let ex = executor.clone();
            let tx = self.tx.clone();
            TeamSync(crate::spawn::task(async move {
                loop {
                    let _ = ex.sync_team().await;
                    let _ = team.flush_ticks().await;
                    if tx.send(Msg::TeamStatus(team.status())).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(TEAM_SYNC_EVERY).await;
                }
            }))
        });
        let live = executor.team().cloned().map(|team| {
            super::team_live::Live::start(team, executor.actor(), executor.host(), self.tx.clone())
        });
        self.session = Some(Session {
            verified: Default::default(),
            ctx,
            registry,
            cache,
            executor,
            poller: None,
            _team_sync: team_sync,
            live,
        });
        if self.first_frame {
            self.start_session();
        }
    }

    /// Read the audit log off the loop; at the start of a session
    /// (`reconcile`), first close the intents a previous run left without a
    /// result, and say so.
    fn load_audit(&self, reconcile: bool) {
        let Some(s) = &self.session else {
            return;
        };
        let ex = s.executor.clone();
        let cursor = s.verified.clone();
        let tx = self.tx.clone();
        crate::spawn::task(async move {
            let local = {
                let (ex, tx) = (ex.clone(), tx.clone());
                crate::spawn::blocking(move || {
                    if reconcile && let Some(note) = ex.reconcile_at_start() {
                        let _ = tx.blocking_send(Msg::Notice(ToastKind::Error, note));
                    }
                    load_audit(&ex, &cursor)
                })
                .await
            };
            let Ok(mut v) = local else { return };
            // Team mode: the shared log, while it can be read.
            if let Some(team) = ex.team() {
                super::team_live::team_audit(team, &mut v).await;
            }
            let _ = tx.send(Msg::AuditLoaded(Box::new(v))).await;
        });
    }

    fn load_console(&self, switch: Option<String>, ctx: Result<AppContext, String>) {
        let tx = self.tx.clone();
        crate::spawn::blocking(move || {
            let result =
                ctx.and_then(|c| c.load_console())
                    .map(Box::new)
                    .map_err(|e| match &switch {
                        Some(name) => format!("context {name}: {e}"),
                        None => e,
                    });
            let _ = tx.blocking_send(Msg::ConsoleLoaded { switch, result });
        });
    }

    /// Run one effect. `state` is read (the action's context, a fresh
    /// slot's data), never written.
    pub fn run(&mut self, effect: Effect, state: &State) {
        match effect {
            Effect::Quit => {}
            Effect::Install(i) => {
                let console = i.0.lock().ok().and_then(|mut c| c.take());
                if let Some(c) = console {
                    self.install(c);
                }
            }
            Effect::StartDemo => {
                if let Some(s) = &self.session {
                    self.load_console(None, Ok(s.ctx.demo()));
                }
            }
            Effect::SwitchContext(name) => {
                if let Some(s) = &self.session {
                    let ctx = s.ctx.for_context(&name);
                    self.load_console(Some(name), ctx);
                }
            }
            Effect::Refresh => {
                if let Some(p) = self.session.as_ref().and_then(|s| s.poller.as_ref()) {
                    p.refresh_all();
                }
            }
            Effect::Plan { op, reason } => self.plan(op, reason, state.ui.action_ctx.clone()),
            Effect::Probe(op) => self.probe(op, state.ui.action_ctx.clone()),
            Effect::Execute {
                plan,
                reason,
                take_over,
            } => self.execute(*plan, reason, state.ui.action_ctx.clone(), take_over),
            Effect::RecordStep(op) => {
                let ctx = ActionCtx {
                    incident: state
                        .runbooks
                        .walk
                        .as_ref()
                        .and_then(|w| w.incident().map(str::to_string)),
                    runbook: None,
                };
                if let Some(live) = self.live()
                    && let Some(incident) = ctx.incident.clone()
                    && let WriteOp::RunbookStep {
                        runbook,
                        step,
                        item: Some(item),
                        checked,
                    } = &op
                {
                    live.share(incident, runbook.clone(), *step, *item, *checked);
                }
                self.record(op, ctx);
            }
            Effect::LoadTicks { incident, runbook } => {
                if let Some(live) = self.live() {
                    live.load_ticks(incident, runbook);
                }
            }
            Effect::Focus(incident) => {
                if let Some(live) = self.live() {
                    live.focus(incident);
                }
            }
            Effect::LoadAudit => self.load_audit(false),
            Effect::OpenWalk {
                runbook,
                incident,
                data_dir,
                bindings,
            } => {
                let tx = self.tx.clone();
                crate::spawn::blocking(move || {
                    let w =
                        crate::runbooks::walk::Walk::open(&data_dir, &runbook, incident.as_deref())
                            .with_bindings(&bindings);
                    let _ = tx.blocking_send(Msg::WalkOpened(Box::new(w)));
                });
            }
            Effect::SaveProgress { progress, data_dir } => {
                let _ = self.disk.send(DiskJob::Progress { progress, data_dir });
            }
            Effect::WriteCache(provider) => {
                let Some(cache) = self.session.as_ref().and_then(|s| s.cache.clone()) else {
                    return;
                };
                if let Some(slot) = state.store.slots.iter().find(|s| s.name == provider)
                    && let Some(at) = slot.fetched_at
                {
                    let _ = self.disk.send(DiskJob::Cache {
                        cache,
                        provider,
                        kind: slot.kind.clone(),
                        at,
                        data: Box::new(slot.data.clone()),
                    });
                }
            }
            Effect::RecordWatch(w, v) => {
                let Some(s) = &self.session else {
                    return;
                };
                let ex = s.executor.clone();
                let tx = self.tx.clone();
                crate::spawn::task(async move {
                    if let Err(e) = crate::actions::watch::record(&ex, &w, &v, None).await {
                        let _ = tx
                            .send(Msg::Warn(format!("watch verdict not recorded: {e}")))
                            .await;
                    }
                });
            }
            Effect::OpenUrl(url) => {
                let tx = self.tx.clone();
                crate::spawn::blocking(move || {
                    let _ = tx.blocking_send(open_url(&url));
                });
            }
            Effect::Copy(text) => super::clipboard::copy(&text),
            Effect::LoadDetails { provider, id } => {
                let Some(ex) = self.executor() else { return };
                let tx = self.tx.clone();
                crate::spawn::task(async move {
                    let result = match ex.registry().get(&provider) {
                        Some(p) => p.incident_details(&id).await.map_err(|e| e.to_string()),
                        None => Err(format!("no provider named {provider}")),
                    };
                    let _ = tx
                        .send(Msg::IncidentDetails {
                            provider,
                            id,
                            result,
                        })
                        .await;
                });
            }
            Effect::LoadCommits {
                provider,
                service,
                base,
                head,
            } => {
                let Some(ex) = self.executor() else { return };
                let tx = self.tx.clone();
                crate::spawn::task(async move {
                    let result = match ex.registry().get(&provider) {
                        Some(p) => p
                            .deploy_commits(&service, &base, &head)
                            .await
                            .map_err(|e| e.to_string()),
                        None => Err(format!("no provider named {provider}")),
                    };
                    let key = (provider, base, head);
                    let _ = tx.send(Msg::DeployCommits { key, result }).await;
                });
            }
        }
    }

    fn live(&self) -> Option<&super::team_live::Live> {
        self.session.as_ref().and_then(|s| s.live.as_ref())
    }

    fn executor(&self) -> Option<Executor> {
        self.session.as_ref().map(|s| s.executor.clone())
    }

    fn plan(&self, op: WriteOp, reason: String, ctx: ActionCtx) {
        let Some(ex) = self.executor() else { return };
        let tx = self.tx.clone();
        crate::spawn::task(async move {
            let req = request(op, reason.clone(), &ctx);
            let result = ex.plan(&req).await;
            let _ = tx.send(Msg::Planned { result, reason }).await;
        });
    }

    /// Plan `op` without its reason, only to learn whether it can be done.
    fn probe(&self, op: WriteOp, ctx: ActionCtx) {
        let Some(ex) = self.executor() else { return };
        let tx = self.tx.clone();
        crate::spawn::task(async move {
            let req = request(op.clone(), String::new(), &ctx);
            let result = match ex.plan(&req).await {
                Ok(plan) => Ok(plan.summary),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Msg::Probed { op, result }).await;
        });
    }

    /// Record a runbook checklist tick (`runbook.step`, local: no provider,
    /// no confirmation). Only a failure is reported back.
    fn record(&self, op: WriteOp, ctx: ActionCtx) {
        let Some(ex) = self.executor() else { return };
        let tx = self.tx.clone();
        crate::spawn::task(async move {
            let req = request(op, String::new(), &ctx);
            let r = match ex.plan(&req).await {
                Ok(plan) => ex.execute(&req, &plan, Mode::Live).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                let _ = tx
                    .send(Msg::Warn(format!("checklist tick not recorded: {e}")))
                    .await;
            }
        });
    }

    fn execute(&self, plan: Plan, reason: String, ctx: ActionCtx, take_over: bool) {
        let Some(ex) = self.executor() else { return };
        let ex = ex.with_take_over(take_over);
        let tx = self.tx.clone();
        // Team mode: the others see this console acting on the incident.
        let acting = ctx
            .incident
            .clone()
            .zip(self.live().map(|l| l.acting_handle()));
        if let Some((incident, h)) = &acting {
            h.set(Some((incident.clone(), plan.op.action_name().to_string())));
        }
        crate::spawn::task(async move {
            let req = request(plan.op.clone(), reason.clone(), &ctx);
            let result = ex.execute(&req, &plan, Mode::Live).await.map(|done| Done {
                message: done.message.to_string(),
                warnings: done.warnings.iter().map(|w| w.to_string()).collect(),
            });
            if let Some((_, h)) = &acting {
                h.set(None);
            }
            if let Some(t) = ex.team() {
                let _ = tx.send(Msg::TeamStatus(t.status())).await;
            }
            if let Err(ExecError::Leased(holder)) = &result {
                let _ = tx
                    .send(Msg::Leased {
                        plan: Box::new(plan),
                        reason,
                        holder: holder.clone(),
                    })
                    .await;
                return;
            }
            let acted = result.is_ok().then(|| plan.op.clone());
            let _ = tx.send(Msg::Executed(result)).await;
            if let Some(op) = acted {
                let runbook = ctx.runbook.clone();
                let _ = tx.send(Msg::Acted { op, runbook }).await;
            }
        });
    }
}

fn request(op: WriteOp, reason: String, ctx: &ActionCtx) -> ActionRequest {
    let mut req = ActionRequest::new(op, reason);
    req.incident = ctx.incident.clone();
    req.runbook = ctx.runbook.clone();
    req
}

/// Carry out one disk job; a failure is returned for the responder to see
/// (progress), or logged (the cache: a cache that cannot be written must
/// not toast on every poll).
fn write(job: DiskJob) -> Option<String> {
    match job {
        DiskJob::Cache {
            cache,
            provider,
            kind,
            at,
            data,
        } => {
            if let Err(e) = cache.store(&provider, &kind, at, &data) {
                tracing::warn!("cache write for {provider} failed: {e}");
            }
            None
        }
        DiskJob::Progress {
            mut progress,
            data_dir,
        } => {
            // A runbook opened and closed without a tick leaves no open
            // checklist behind (an existing one is kept up to date).
            if progress.checked.is_empty() && !progress.path(&data_dir).exists() {
                return None;
            }
            progress
                .save(&data_dir, chrono::Utc::now())
                .err()
                .map(|e| format!("progress not saved: {e}"))
        }
    }
}

/// Read the newest records (from the end of the log) and verify the chain
/// from where it was last verified (blocking; run it off the loop).
pub fn load_audit(
    ex: &Executor,
    cursor: &std::sync::Mutex<Option<crate::audit::VerifyCursor>>,
) -> AuditView {
    let mut v = AuditView {
        loaded: true,
        ..Default::default()
    };
    match ex.recent(500) {
        Ok((records, bad)) => {
            // Read back inert: the log is a file anyone with access edits.
            v.records = records
                .into_iter()
                .map(crate::audit::Record::inert)
                .collect();
            v.unreadable = bad;
        }
        Err(e) => v.chain = Some(Err(e)),
    }
    if v.chain.is_none() {
        let mut last = cursor.lock().unwrap_or_else(|p| p.into_inner());
        v.chain = Some(match ex.verify_from(last.as_ref()) {
            Ok((ok, next)) => {
                *last = Some(next);
                let unsigned = if ok.unsigned > 0 {
                    format!(" ({} unsigned, from before signing)", ok.unsigned)
                } else {
                    String::new()
                };
                Ok(format!(
                    "chain verified: {} records{unsigned}, head {}",
                    ok.records,
                    ok.head.get(..12).unwrap_or(&ok.head)
                ))
            }
            Err(e) => Err(e.to_string()),
        });
    }
    v
}

/// Open a web URL in the browser (blocking: run it off the loop). With
/// no browser (no display, or the opener failed) the answer is
/// [`Msg::NoBrowser`]: the console then shows the whole URL to copy.
fn open_url(url: &str) -> Msg {
    if !crate::util::is_web_url(url) {
        return Msg::Notice(ToastKind::Info, format!("not a web URL: {url}"));
    }
    let macos = cfg!(target_os = "macos");
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if !macos && !display {
        return Msg::NoBrowser(url.to_string());
    }
    let opener = if macos { "open" } else { "xdg-open" };
    let child = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Msg::NoBrowser(url.to_string());
    };
    // The opener hands the URL over and exits; one that fails says so by
    // its status within moments. Still running after that: it opened.
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(3) {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => break,
            Ok(Some(_)) | Err(_) => return Msg::NoBrowser(url.to_string()),
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    Msg::Notice(ToastKind::Ok, format!("opened {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditLog;
    use std::sync::{Arc, Mutex};

    /// After an action the audit view reads the tail and resumes the
    /// verification where it stopped; it still reports the whole chain,
    /// and a record forged after the cursor is caught.
    #[tokio::test]
    async fn the_audit_view_resumes_verification() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let ex = Executor::new(
            Registry::demo(chrono::Utc::now()),
            Arc::new(AuditLog::new(
                path.clone(),
                crate::audit::Signer::ephemeral(),
            )),
        )
        .with_actor("alice", "box");
        let flip = |on| {
            ActionRequest::new(
                WriteOp::FlagSet {
                    provider: None,
                    key: "checkout-payments-v3".into(),
                    environment: None,
                    on,
                },
                "test",
            )
        };
        for on in [false, true] {
            let r = flip(on);
            let plan = ex.plan(&r).await.unwrap();
            ex.execute(&r, &plan, Mode::Live).await.unwrap();
        }
        let cursor = Mutex::new(None);
        let v = load_audit(&ex, &cursor);
        let first = v.chain.clone().unwrap().unwrap();
        assert!(first.starts_with("chain verified: 4 records"), "{first}");
        assert_eq!(cursor.lock().unwrap().as_ref().map(|c| c.records), Some(4));
        let r = flip(false);
        let plan = ex.plan(&r).await.unwrap();
        ex.execute(&r, &plan, Mode::Live).await.unwrap();
        let v = load_audit(&ex, &cursor);
        let resumed = v.chain.clone().unwrap().unwrap();
        let full = ex.verify().unwrap();
        assert!(
            resumed.starts_with("chain verified: 6 records"),
            "{resumed}"
        );
        assert!(
            resumed.ends_with(&full.head[..12]),
            "{resumed} vs {}",
            full.head
        );
        assert_eq!(v.records.len(), 6);
        assert_eq!(v.records[0].seq, 6, "newest first");
        // A record appended by hand with a wrong chain fails the resume.
        let mut text = std::fs::read_to_string(&path).unwrap();
        let last = text.lines().last().unwrap().to_string();
        text.push_str(&last.replace("\"seq\":6", "\"seq\":7"));
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let v = load_audit(&ex, &cursor);
        assert!(matches!(v.chain, Some(Err(_))), "{:?}", v.chain);
    }

    /// Records read back from the log are inert on screen: a reason edited
    /// by hand to hold a bidi override, a zero-width space and an escape
    /// sequence is shown with those made visible, never raw.
    #[test]
    fn audit_records_are_read_back_inert() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let ex = Executor::new(
            Registry::demo(chrono::Utc::now()),
            Arc::new(AuditLog::new(
                path.clone(),
                crate::audit::Signer::ephemeral(),
            )),
        );
        let forged = serde_json::json!({
            "action": "flag.off", "actor": "eve\u{202e}", "detail": {"x": "\u{1b}]52;c;AAAA\u{7}"},
            "hash": "0", "host": "h", "idempotency_key": null, "incident": null,
            "outcome": "ok", "phase": "result", "prev": "0", "provider": "ld",
            "reason": "fine\u{200b}\u{1b}[2Jreally", "runbook": null, "seq": 1,
            "target": "checkout", "ts": "2026-12-04T00:00:00Z"
        });
        let line = serde_json::to_string(&forged).unwrap();
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let v = load_audit(&ex, &Mutex::new(None));
        assert_eq!(v.records.len(), 1, "{:?}", v.chain);
        let r = &v.records[0];
        for text in [&r.actor, &r.reason, &r.detail.to_string()] {
            assert!(
                !text
                    .chars()
                    .any(|c| matches!(c, '\u{1b}' | '\u{7}' | '\u{202e}' | '\u{200b}')),
                "{text:?}"
            );
        }
        assert!(r.reason.starts_with("fine"), "{}", r.reason);
        assert!(
            matches!(v.chain, Some(Err(_))),
            "a forged record does not verify"
        );
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    /// Opening a runbook and leaving without a tick creates no open
    /// checklist; once ticked it is saved, and unticking is saved too.
    #[test]
    fn an_untouched_walk_leaves_no_checklist() {
        let dir = tempfile::tempdir().unwrap();
        let save = |p: &crate::runbooks::progress::Progress| {
            write(DiskJob::Progress {
                progress: Box::new(p.clone()),
                data_dir: dir.path().to_path_buf(),
            })
        };
        let mut p = crate::runbooks::progress::Progress::new("rollback", Some("Q1"));
        assert_eq!(save(&p), None);
        assert!(
            !p.path(dir.path()).exists(),
            "no file for an untouched walk"
        );
        p.toggle(1, 0);
        assert_eq!(save(&p), None);
        assert!(p.path(dir.path()).exists());
        p.toggle(1, 0);
        save(&p);
        let back =
            crate::runbooks::progress::Progress::load(dir.path(), "rollback", Some("Q1")).unwrap();
        assert!(back.checked.is_empty(), "the untick was saved");
    }
}
