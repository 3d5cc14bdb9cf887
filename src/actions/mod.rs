//! The audited executor: the one path every write action takes, from the
//! CLI and the TUI alike.
//!
//! `plan` resolves the provider and asks it for the exact request(s);
//! `execute` refuses in read-only mode (recording `refused`), records
//! `dry-run` without sending, or, live: makes an idempotency key, makes the
//! `intent` record durable, calls the provider exactly once, and records the
//! `result`. If the intent cannot be recorded, nothing is sent (fail closed).
//! Never retries a write.

mod command;
mod error;
mod identity;
mod lease;
mod local;
use local::{is_local, local_plan};
mod owner;
pub use owner::IncidentActions;
mod reconcile;
mod restore;
#[cfg(test)]
mod tests;
pub mod watch;

pub use reconcile::{RECONCILE_WINDOW, reconcile_min_age};

use crate::audit::webhook::Webhook;
use crate::audit::{self, AuditError, AuditLog, Entry, Outcome, Phase, RunbookRef};
use crate::config::Config;
use crate::ops::{ExecResult, Plan, PlanCtx, WriteOp};
use crate::providers::{ErrorKind, Provider, ProviderError, Registry};
use crate::secrets::SecretSource;
use crate::text::SafeText;
pub use error::ExecError;
pub use identity::{default_actor, hostname, new_idempotency_key};
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The longest a provider may take to plan.
pub const PLAN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a provider may take to execute; after it the outcome is unknown.
pub const EXECUTE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a runbook shell command may run.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(600);
/// How many of the newest audit records `flag on` searches for the kill
/// switch it undoes.
const RESTORE_LOOKBACK: usize = 20_000;

/// Bytes of runbook command output kept in the audit record.
pub const OUTPUT_EXCERPT: usize = 2048;
/// The longest webhook delivery may delay the return of `execute`.
pub const WEBHOOK_WAIT: Duration = Duration::from_secs(8);

/// What the responder asked for, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRequest {
    pub op: WriteOp,
    /// Free text; sanitized before it is recorded.
    pub reason: String,
    pub incident: Option<String>,
    pub runbook: Option<RunbookRef>,
}

impl ActionRequest {
    pub fn new(op: WriteOp, reason: impl Into<String>) -> Self {
        ActionRequest {
            op,
            reason: reason.into(),
            incident: None,
            runbook: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Live,
    DryRun,
}

/// A finished action.
#[derive(Clone, Debug)]
pub struct Executed {
    /// `Ok` or `DryRun`.
    pub outcome: Outcome,
    /// One line for the toast / the terminal (sanitized).
    pub message: SafeText,
    pub provider: Option<String>,
    pub idempotency_key: Option<String>,
    pub result: Option<ExecResult>,
    /// `seq` of the records written.
    pub records: Vec<u64>,
    /// Things the responder should know (a torn tail recovered, the result
    /// record could not be written, webhook delivery pending...).
    pub warnings: Vec<SafeText>,
}

/// The audited write pipeline. Cheap to clone; share it with spawned tasks.
#[derive(Clone)]
pub struct Executor {
    registry: Registry,
    audit: Arc<AuditLog>,
    read_only: bool,
    actor: String,
    host: String,
    production_envs: crate::model::ProductionEnvs,
    allow_exec: bool,
    webhook: Option<Arc<Webhook>>,
    /// Team mode: the shared audit log and leases (docs/TEAM.md).
    team: Option<Arc<crate::team::Team>>,
    /// Take over a lease another responder holds (`--take-over`).
    take_over: bool,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("audit", &self.audit)
            .field("read_only", &self.read_only)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// Rank of a planning error when no provider succeeded: the most specific wins.
fn specificity(e: &ProviderError) -> u8 {
    match e.kind {
        ErrorKind::Unsupported => 0,
        ErrorKind::NotFound => 1,
        _ => 2,
    }
}

fn plan_detail(plan: &Plan) -> Value {
    json!({
        "summary": plan.summary,
        "stakes": plan.stakes.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "requests": plan.requests.iter().map(|r| json!({
            "method": r.method,
            "url": r.url,
            "body": r.body,
        })).collect::<Vec<_>>(),
        "plan": plan.detail,
    })
}

impl Executor {
    pub fn new(registry: Registry, audit: Arc<AuditLog>) -> Self {
        let host = hostname();
        let actor = default_actor(&Config::default(), &host);
        Executor {
            registry,
            audit,
            read_only: false,
            actor,
            host,
            production_envs: Default::default(),
            allow_exec: false,
            webhook: None,
            team: None,
            take_over: false,
        }
    }

    /// The executor for a config: audit path, identity, production
    /// environments, runbook exec and webhook. `audit_default` is
    /// `<data dir>/audit.jsonl`; the webhook queue lives beside it in
    /// `data_dir`.
    pub fn from_config(
        registry: Registry,
        cfg: &Config,
        data_dir: &std::path::Path,
        read_only: bool,
        secrets: &dyn SecretSource,
        signer: crate::audit::Signer,
    ) -> Self {
        // The demo writes its own log in its own data dir, marked, and
        // sends no webhook: nothing of it reaches the user's records.
        let demo = registry.demo;
        let path = match &cfg.audit.path {
            Some(p) if !demo => p.clone(),
            _ => data_dir.join("audit.jsonl"),
        };
        let log = AuditLog::new(path, signer);
        let log = if demo { log.marking_demo() } else { log };
        let mut ex = Executor::new(registry, Arc::new(log));
        ex.actor = default_actor(cfg, &ex.host);
        ex.read_only = read_only;
        ex.production_envs = cfg.production_envs();
        ex.allow_exec = cfg.runbooks.allow_exec;
        // The demo never writes to a team's database.
        if let Some(t) = cfg.team.as_ref().filter(|_| !demo) {
            ex.team = Some(Arc::new(crate::team::Team::from_config(t, secrets)));
        }
        if let Some(w) = cfg.audit.webhook.as_ref().filter(|_| !demo) {
            let secret = match &w.secret {
                None => Ok(None),
                Some(r) => secrets.get(r).map(Some),
            };
            ex.webhook = Some(Arc::new(Webhook::new(
                &w.url,
                secret,
                data_dir.join("webhook-queue.jsonl"),
            )));
        }
        ex
    }

    pub fn with_read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    pub fn with_actor(mut self, actor: impl Into<String>, host: impl Into<String>) -> Self {
        self.actor = actor.into();
        self.host = host.into();
        self
    }

    pub fn with_allow_exec(mut self, on: bool) -> Self {
        self.allow_exec = on;
        self
    }

    pub fn with_webhook(mut self, w: Option<Webhook>) -> Self {
        self.webhook = w.map(Arc::new);
        self
    }

    pub fn with_team(mut self, team: Option<Arc<crate::team::Team>>) -> Self {
        self.team = team;
        self
    }

    /// Take over a lease held by another responder (audited).
    pub fn with_take_over(mut self, on: bool) -> Self {
        self.take_over = on;
        self
    }

    /// The team handle, with `[team]`.
    pub fn team(&self) -> Option<&Arc<crate::team::Team>> {
        self.team.as_ref()
    }

    /// Push the local records the team log lacks (team mode; a no-op
    /// otherwise). The error says the team log is unreachable.
    pub async fn sync_team(&self) -> Result<(), String> {
        match &self.team {
            Some(t) => t.sync(self.audit.path()).await.map(|_| ()),
            None => Ok(()),
        }
    }

    pub fn with_production_envs(mut self, envs: Option<Vec<String>>) -> Self {
        self.production_envs = crate::model::ProductionEnvs::new(envs);
        self
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The newest `limit` records, newest first, and the number of lines
    /// that could not be read (for the Audit view; blocking file I/O, run it
    /// with `spawn_blocking` from the UI).
    pub fn recent(&self, limit: usize) -> Result<(Vec<audit::Record>, usize), String> {
        // Read from the end: memory and time follow `limit`, not the log.
        let (mut recs, bad) = audit::read::tail(self.audit.path(), limit)?;
        recs.reverse();
        Ok((recs, bad))
    }

    /// Verify the whole log (blocking): every signature must be by a key
    /// the installation trusts.
    pub fn verify(&self) -> Result<audit::Verified, audit::VerifyError> {
        let trust = self
            .audit
            .signer()
            .trust()
            .map_err(audit::VerifyError::Io)?;
        audit::verify_trusted(self.audit.path(), &trust, false)
    }

    /// Verify what was appended since `cursor` (the whole log without
    /// one, or when the verified part changed); blocking.
    pub fn verify_from(
        &self,
        cursor: Option<&audit::VerifyCursor>,
    ) -> Result<(audit::Verified, audit::VerifyCursor), audit::VerifyError> {
        let trust = self
            .audit
            .signer()
            .trust()
            .map_err(audit::VerifyError::Io)?;
        audit::verify_from(self.audit.path(), cursor, Some(&trust))
    }

    /// Does the action touch a production environment (production guard)?
    pub fn is_production(&self, op: &WriteOp) -> bool {
        let Some(env) = op.environment() else {
            return false;
        };
        self.production_envs.contains(env)
    }

    /// Does the plan write to production? Decided from where the plan
    /// actually writes (a flag provider's configured environment when the
    /// op names none), the one answer the CLI's guard and the console's
    /// red banner use.
    pub fn plan_is_production(&self, plan: &Plan) -> bool {
        plan.target_environment()
            .is_some_and(|env| self.production_envs.contains(env))
    }

    /// Resolve the provider and work out the exact request(s). Sends no write.
    pub async fn plan(&self, req: &ActionRequest) -> Result<Plan, ExecError> {
        let op = &req.op;
        if is_local(op) {
            return Ok(local_plan(op));
        }
        if let Some(bad) = op.unsafe_path_id() {
            return Err(ExecError::Refused(format!(
                "{:?} is not an id sitrep can put into a request path ({} {}); nothing was planned",
                bad,
                op.action_name(),
                op.target()
            )));
        }
        // Who acts and why: the provider puts them into its own vendor
        // fields, so the confirmed plan is exactly what is sent.
        let restore = match op {
            WriteOp::FlagSet { key, on: true, .. } => self.kill_switches_to_undo(key).await,
            _ => Default::default(),
        };
        let ctx = PlanCtx {
            actor: self.actor.clone(),
            reason: req.reason.clone(),
            host: self.host.clone(),
            restore,
        };
        let plan_one = |p: Arc<dyn Provider>| {
            let op = op.clone();
            let ctx = ctx.clone();
            async move {
                let name = p.name().to_string();
                match tokio::time::timeout(PLAN_TIMEOUT, p.plan(&op, &ctx)).await {
                    Ok(r) => r,
                    Err(_) => Err(ProviderError::new(
                        &name,
                        ErrorKind::Timeout,
                        "planning took too long",
                    )),
                }
            }
        };
        let mut plan = if let Some(name) = op.provider() {
            let p = self
                .registry
                .get(name)
                .ok_or_else(|| ExecError::UnknownProvider(name.to_string()))?;
            if let Some(e) = p.build_error() {
                // A missing token says so, not "not supported".
                return Err(ExecError::Plan(e.clone()));
            }
            if !p.supports(op) {
                let kind = p.kind().as_str();
                return Err(ExecError::Plan(ProviderError::op_unsupported(
                    name, kind, op,
                )));
            }
            plan_one(p.clone()).await.map_err(ExecError::Plan)?
        } else {
            let cands: Vec<Arc<dyn Provider>> = self
                .registry
                .providers
                .iter()
                .filter(|p| p.supports(op))
                .cloned()
                .collect();
            if cands.is_empty() {
                return Err(ExecError::NoProvider {
                    action: op.action_name().into(),
                });
            }
            let results = futures::future::join_all(cands.into_iter().map(plan_one)).await;
            let (mut ok, errs): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
            match ok.len() {
                1 => match ok.pop() {
                    Some(Ok(p)) => p,
                    _ => {
                        return Err(ExecError::NoProvider {
                            action: op.action_name().into(),
                        });
                    }
                },
                0 => {
                    let best = errs
                        .into_iter()
                        .filter_map(Result::err)
                        .max_by_key(specificity);
                    return Err(match best {
                        Some(e) => ExecError::Plan(e),
                        None => ExecError::NoProvider {
                            action: op.action_name().into(),
                        },
                    });
                }
                _ => {
                    return Err(ExecError::Ambiguous {
                        action: op.action_name().into(),
                        target: op.target(),
                        providers: ok
                            .into_iter()
                            .filter_map(Result::ok)
                            .map(|p| p.provider)
                            .collect(),
                    });
                }
            }
        };
        let prov = plan.provider.clone();
        plan.op.set_provider(&prov);
        Ok(plan)
    }

    fn entry(
        &self,
        req: &ActionRequest,
        plan: &Plan,
        phase: Phase,
        outcome: Outcome,
        key: Option<&str>,
        detail: Value,
    ) -> Entry {
        Entry {
            action: req.op.action_name().into(),
            actor: self.actor.clone(),
            detail,
            host: self.host.clone(),
            idempotency_key: key.map(str::to_string),
            incident: req.incident.clone(),
            outcome,
            phase,
            provider: (!is_local(&req.op)).then(|| plan.provider.clone()),
            reason: req.reason.clone(),
            runbook: req.runbook.clone().or_else(|| match &req.op {
                WriteOp::RunbookStep { runbook, step, .. }
                | WriteOp::RunbookExec { runbook, step, .. } => Some(RunbookRef {
                    id: runbook.clone(),
                    step: *step,
                }),
                _ => None,
            }),
            target: req.op.target(),
        }
    }

    /// Append a record off the async runtime; queue it for the webhook.
    async fn record(&self, e: Entry, warnings: &mut Vec<SafeText>) -> Result<u64, AuditError> {
        let log = self.audit.clone();
        let appended = crate::spawn::blocking(move || log.append(&e))
            .await
            .map_err(|_| AuditError::Write("the audit writer task failed".into()))??;
        if let Some(r) = &appended.recovered {
            warnings.push(SafeText::line(&r.to_string()));
        }
        // Team mode: the record goes to the shared log too; while the
        // database is away it waits in the local log, unsynced.
        if let Some(t) = &self.team
            && let Err(e) = t.sync(self.audit.path()).await
        {
            let n = t.status().unsynced;
            warnings.push(SafeText::line(&format!(
                "team log not updated ({e}); {n} record(s) kept in the local log, appended when the database answers again"
            )));
        }
        if let Some(w) = self.webhook.clone() {
            let line = appended.line.clone();
            match crate::spawn::blocking(move || w.enqueue(&line)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    warnings.push(SafeText::line(&format!("webhook: record not queued: {e}")))
                }
                Err(_) => warnings.push(SafeText::line("webhook: record not queued")),
            }
        }
        Ok(appended.record.seq)
    }

    async fn deliver(&self, warnings: &mut Vec<SafeText>) {
        if let Some(w) = &self.webhook {
            match tokio::time::timeout(WEBHOOK_WAIT, w.flush()).await {
                Ok(f) => {
                    if let Some(e) = f.error
                        && f.pending > 0
                    {
                        warnings.push(SafeText::line(&format!(
                            "{e}; {} record(s) will be retried",
                            f.pending
                        )));
                    }
                }
                Err(_) => warnings.push(SafeText::line(
                    "webhook delivery is slow; queued records will be retried",
                )),
            }
        }
    }

    /// Record a refusal decided outside the executor (confirmation declined,
    /// production guard). Best effort: the action is refused either way.
    pub async fn record_refusal(&self, req: &ActionRequest, plan: Option<&Plan>, why: &str) {
        let fallback;
        let p = match plan {
            Some(p) => p,
            None => {
                fallback = local_plan(&req.op);
                &fallback
            }
        };
        let mut w = Vec::new();
        let detail = json!({"refused": why, "summary": p.summary});
        let mut e = self.entry(req, p, Phase::Result, Outcome::Refused, None, detail);
        if plan.is_none() && !is_local(&req.op) {
            e.provider = req.op.provider().map(str::to_string);
        }
        if let Err(err) = self.record(e, &mut w).await {
            tracing::warn!("could not record a refused action: {err}");
        }
        self.deliver(&mut w).await;
    }

    /// Carry out a plan made by [`Executor::plan`] for `req`.
    pub async fn execute(
        &self,
        req: &ActionRequest,
        plan: &Plan,
        mode: Mode,
    ) -> Result<Executed, ExecError> {
        let mut warnings = Vec::new();
        // The plan must be for this very action.
        let mut expected = req.op.clone();
        if !is_local(&req.op) {
            expected.set_provider(&plan.provider);
        }
        if expected != plan.op {
            return Err(ExecError::Refused(
                "the plan does not match the action; plan it again".into(),
            ));
        }
        // Recorded-only operations (a tick, a watch verdict) change nothing
        // outside sitrep: allowed in read-only mode.
        let local_step = matches!(req.op, WriteOp::RunbookStep { .. } | WriteOp::Watch { .. });
        if self.read_only && !local_step {
            let e = self.entry(
                req,
                plan,
                Phase::Result,
                Outcome::Refused,
                None,
                json!({"refused": "read-only mode", "summary": plan.summary}),
            );
            if let Err(err) = self.record(e, &mut warnings).await {
                tracing::warn!("could not record a read-only refusal: {err}");
            }
            self.deliver(&mut warnings).await;
            return Err(ExecError::ReadOnly);
        }
        if mode == Mode::DryRun {
            let e = self.entry(
                req,
                plan,
                Phase::Result,
                Outcome::DryRun,
                None,
                plan_detail(plan),
            );
            let seq = self
                .record(e, &mut warnings)
                .await
                .map_err(ExecError::Audit)?;
            self.deliver(&mut warnings).await;
            return Ok(Executed {
                outcome: Outcome::DryRun,
                message: SafeText::line(&format!("dry run: {}", plan.summary)),
                provider: (!is_local(&req.op)).then(|| plan.provider.clone()),
                idempotency_key: None,
                result: None,
                records: vec![seq],
                warnings,
            });
        }
        match &req.op {
            WriteOp::RunbookStep { .. } | WriteOp::Watch { .. } => {
                let e = self.entry(
                    req,
                    plan,
                    Phase::Result,
                    Outcome::Ok,
                    None,
                    plan.detail.clone(),
                );
                let seq = self
                    .record(e, &mut warnings)
                    .await
                    .map_err(ExecError::Audit)?;
                self.deliver(&mut warnings).await;
                Ok(Executed {
                    outcome: Outcome::Ok,
                    message: SafeText::line(&plan.summary),
                    provider: None,
                    idempotency_key: None,
                    result: None,
                    records: vec![seq],
                    warnings,
                })
            }
            WriteOp::RunbookExec { command, .. } => {
                self.run_command(req, plan, command, warnings).await
            }
            _ => self.run_provider(req, plan, warnings).await,
        }
    }

    async fn run_provider(
        &self,
        req: &ActionRequest,
        plan: &Plan,
        mut warnings: Vec<SafeText>,
    ) -> Result<Executed, ExecError> {
        let provider = self
            .registry
            .get(&plan.provider)
            .cloned()
            .ok_or_else(|| ExecError::UnknownProvider(plan.provider.clone()))?;
        // Team mode: the lease on the target first.
        let mut detail = plan_detail(plan);
        let leased = self
            .take_lease(req, plan, &mut detail, &mut warnings)
            .await?;
        let key = new_idempotency_key();
        let intent = self.entry(
            req,
            plan,
            Phase::Intent,
            Outcome::Pending,
            Some(&key),
            detail,
        );
        // Fail closed: no durable intent, no request.
        let intent_seq = self
            .record(intent, &mut warnings)
            .await
            .map_err(ExecError::Audit)?;
        // The lease is kept alive while the provider works.
        // (stopped when this future ends or is dropped).
        let beat = leased.then(|| self.heartbeat(req.op.target())).flatten();
        // Exactly one call; never retried here.
        let res = tokio::time::timeout(EXECUTE_TIMEOUT, provider.execute(plan, &key)).await;
        drop(beat);
        let res = match res {
            Ok(r) => r,
            Err(_) => Err(ProviderError::new(
                &plan.provider,
                ErrorKind::Unknown,
                format!(
                    "no answer within {}s; check the current state before retrying",
                    EXECUTE_TIMEOUT.as_secs()
                ),
            )),
        };
        let (outcome, detail) = match &res {
            Ok(r) => (
                Outcome::Ok,
                json!({"message": r.message, "result": r.detail}),
            ),
            Err(e) => (
                Outcome::Error,
                json!({"error": e.to_string(), "cause": e.cause()}),
            ),
        };
        let result = self.entry(req, plan, Phase::Result, outcome, Some(&key), detail);
        let mut records = vec![intent_seq];
        match self.record(result, &mut warnings).await {
            Ok(s) => records.push(s),
            Err(cause) => {
                // Never silent: the caller exits non-zero and says so.
                self.deliver(&mut warnings).await;
                let e = ExecError::Unrecorded {
                    done: res.is_ok(),
                    intent: intent_seq,
                    cause,
                };
                tracing::error!("{e}");
                return Err(e);
            }
        }
        self.deliver(&mut warnings).await;
        match res {
            Ok(r) => Ok(Executed {
                outcome: Outcome::Ok,
                message: SafeText::line(&r.message),
                provider: Some(plan.provider.clone()),
                idempotency_key: Some(key),
                result: Some(r),
                records,
                warnings,
            }),
            Err(e) => {
                for w in &warnings {
                    tracing::warn!("{w}");
                }
                Err(ExecError::Provider(e))
            }
        }
    }
}
