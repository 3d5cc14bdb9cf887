//! Providers fetch and normalize; they own nothing of the UI. Each one is a
//! `Provider` trait object; the poller runs each on its own tokio task.

/// `new(pc, ctx)` of an HTTP provider: its `with_http_config` with the
/// HTTP settings of the configured `timeout`.
macro_rules! new_with_default_http {
    () => {
        /// Build from the config (`build_one`).
        pub fn new(
            pc: &$crate::config::ProviderConfig,
            ctx: &$crate::providers::BuildCtx<'_>,
        ) -> Result<Self, ProviderError> {
            let cfg = $crate::providers::http::HttpConfig::from_timeout(pc.timeout());
            Self::with_http_config(pc, ctx, cfg)
        }
    };
}

/// The `Provider` methods every provider answers from its [`Basics`]
/// (`self.basics`): `name`, `kind` and `poll_interval`. With
/// `fetch_requests: N`, also `fetch_deadline` for a fetch of at most `N`
/// sequential reads on `self.http`. With `fetch: field <- method`, also a
/// `fetch` that returns `self.method()` as the `field` of `Fetched`.
macro_rules! provider_basics {
    () => {
        fn name(&self) -> &str {
            &self.basics.name
        }
        fn kind(&self) -> $crate::config::ProviderKind {
            self.basics.kind
        }
        fn poll_interval(&self) -> std::time::Duration {
            self.basics.poll
        }
    };
    (fetch_requests: $n:expr) => {
        provider_basics!();
        fn fetch_deadline(&self) -> std::time::Duration {
            self.http.config().fetch_deadline($n)
        }
    };
    (fetch_requests: $n:expr, fetch: $field:ident <- $method:ident) => {
        provider_basics!(fetch_requests: $n);
        provider_basics!(@fetch $field <- $method);
    };
    (fetch: $field:ident <- $method:ident) => {
        provider_basics!();
        provider_basics!(@fetch $field <- $method);
    };
    (@fetch $field:ident <- $method:ident) => {
        fn fetch(
            &self,
        ) -> $crate::providers::BoxFut<'_, Result<$crate::model::Fetched, ProviderError>> {
            Box::pin(async move {
                Ok($crate::model::Fetched {
                    $field: self.$method().await?,
                    ..Default::default()
                })
            })
        }
    };
}

/// `Provider::plan` and `Provider::execute` handed to the provider's own
/// `async fn $plan(&self, &WriteOp, &PlanCtx)` and
/// `async fn $exec(&self, &Plan, idempotency_key: &str)`.
macro_rules! delegate_writes {
    ($plan:ident, $exec:ident) => {
        fn plan<'a>(
            &'a self,
            op: &'a $crate::ops::WriteOp,
            ctx: &'a $crate::ops::PlanCtx,
        ) -> $crate::providers::BoxFut<'a, Result<$crate::ops::Plan, ProviderError>> {
            Box::pin(self.$plan(op, ctx))
        }
        fn execute<'a>(
            &'a self,
            plan: &'a $crate::ops::Plan,
            idempotency_key: &'a str,
        ) -> $crate::providers::BoxFut<'a, Result<$crate::ops::ExecResult, ProviderError>> {
            Box::pin(self.$exec(plan, idempotency_key))
        }
    };
}

pub mod alertmanager;
pub mod datadog;
pub mod flagd;
pub mod github;
pub mod http;
pub mod launchdarkly;
pub mod opsgenie;
pub mod pagerduty;
pub mod poller;
pub mod prometheus;
pub mod rollback;
pub mod sentry;
pub mod slo_defs;

/// For `flag on` on a provider whose flags are just on or off: the state
/// to restore, from the kill switch recorded in `ctx` (see
/// [`PlanCtx::restore`]) — what the flag was (`was_on`) when that kill
/// switch ran — and a line for the plan saying so. `None`: no kill switch
/// to undo, so `flag on` turns it on.
pub fn recorded_restore(ctx: &crate::ops::PlanCtx, provider: &str) -> Option<(bool, String)> {
    let r = ctx.restore.get(provider)?;
    let was_on = r.get("result")?.get("was_on")?.as_bool()?;
    let note = format!(
        "as before the kill switch of {} (audit record {}): it was {} then",
        r.get("ts")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?"),
        r.get("seq")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0),
        if was_on { "ON" } else { "OFF" }
    );
    Some((was_on, note))
}
pub mod unleash;
pub mod vercel;

use self::http::Auth;
use crate::config::{Config, ProviderConfig, ProviderKind};
use crate::model::Fetched;
use crate::ops::{ExecResult, Plan, PlanCtx, WriteOp};
use crate::secrets::Secret;
use crate::text::SafeText;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The cached data of [`Provider::seed_later`], when it has been read.
pub type SeedLater = tokio::sync::oneshot::Receiver<Fetched>;

/// Why a provider call failed. Every variant is named in the message a
/// responder sees; none carries a secret.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// The request did not finish within the timeout.
    Timeout,
    /// Connection refused or unreachable.
    Connect,
    /// 401/403.
    Unauthorized {
        status: u16,
    },
    NotFound,
    /// 429, with the wait the provider asked for.
    RateLimited {
        retry_after: Option<Duration>,
    },
    /// 5xx.
    Server {
        status: u16,
    },
    /// Any other unexpected HTTP status (4xx).
    Http {
        status: u16,
    },
    /// The body is not valid or complete JSON.
    Malformed,
    /// Valid JSON of the wrong shape.
    Shape,
    /// The body exceeded the size cap.
    TooLarge,
    /// The provider refused the change (409 conflict, 405 approval required...).
    Conflict {
        status: u16,
    },
    /// The operation is not supported by this provider.
    Unsupported,
    /// The provider is misconfigured (missing token, bad path...).
    Config,
    /// The circuit breaker is open: calls fail fast.
    CircuitOpen,
    /// Local I/O (flagd files).
    Io,
    /// The request may or may not have been carried out (write cut off).
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    pub provider: String,
    pub kind: ErrorKind,
    /// Sanitized detail (an excerpt of the error body, the cause...).
    pub detail: SafeText,
}

impl ProviderError {
    pub fn new(provider: &str, kind: ErrorKind, detail: impl AsRef<str>) -> Self {
        ProviderError {
            provider: provider.to_string(),
            kind,
            detail: SafeText::line(detail.as_ref()),
        }
    }

    pub fn config(provider: &str, detail: impl AsRef<str>) -> Self {
        Self::new(provider, ErrorKind::Config, detail)
    }

    pub fn unsupported(provider: &str, what: impl AsRef<str>) -> Self {
        Self::new(provider, ErrorKind::Unsupported, what)
    }

    /// `op` is nothing `vendor` can do: "silence is not supported by PagerDuty".
    pub fn op_unsupported(provider: &str, vendor: &str, op: &WriteOp) -> Self {
        let what = op.action_name();
        Self::unsupported(provider, format!("{what} is not supported by {vendor}"))
    }

    /// `text`, followed by this error's detail in parentheses when it has
    /// one: a vendor's explanation of an error of the shared layer.
    pub fn explained(&self, text: String) -> String {
        if self.detail.is_empty() {
            text
        } else {
            format!("{text} ({})", self.detail)
        }
    }

    /// The cause and its detail, without the provider's name: what a
    /// column headed by the provider shows ("configuration: no API token:
    /// environment variable PAGERDUTY_TOKEN is not set").
    pub fn cause_line(&self) -> String {
        if self.detail.is_empty() {
            self.cause()
        } else {
            format!("{}: {}", self.cause(), self.detail)
        }
    }

    /// The cause in the fewest words that say what to fix, for a one-line
    /// column: "PAGERDUTY_TOKEN is not set", "cannot resolve host
    /// api.example.com", "no such file /etc/flagd/flags.json", "token
    /// rejected (401)"; else [`Self::cause_line`].
    pub fn headline(&self) -> String {
        let d = self.detail.as_str();
        match &self.kind {
            ErrorKind::Config => match d.find("environment variable ") {
                Some(at) => d[at + "environment variable ".len()..].to_string(),
                None => self.cause_line(),
            },
            ErrorKind::Connect
                if d.starts_with("cannot resolve host") || d.starts_with("connection refused") =>
            {
                d.to_string()
            }
            ErrorKind::Io
                if d.starts_with("no such file") || d.starts_with("permission denied") =>
            {
                d.to_string()
            }
            ErrorKind::Unauthorized { .. } => self.cause(),
            _ => self.cause_line(),
        }
    }

    /// The short cause, e.g. "token rejected (401)".
    pub fn cause(&self) -> String {
        match &self.kind {
            ErrorKind::Timeout => "timed out".into(),
            ErrorKind::Connect => "connection failed".into(),
            ErrorKind::Unauthorized { status } => format!("token rejected ({status})"),
            ErrorKind::NotFound => "not found (404)".into(),
            ErrorKind::RateLimited { retry_after } => match retry_after {
                Some(d) => format!("rate limited (429), retry in {}s", d.as_secs()),
                None => "rate limited (429)".into(),
            },
            ErrorKind::Server { status } => format!("server error ({status})"),
            ErrorKind::Http { status } => format!("HTTP {status}"),
            ErrorKind::Malformed => "malformed JSON".into(),
            ErrorKind::Shape => "unexpected response shape".into(),
            ErrorKind::TooLarge => "response too large".into(),
            ErrorKind::Conflict { status } => format!("refused by provider ({status})"),
            ErrorKind::Unsupported => "not supported".into(),
            ErrorKind::Config => "configuration".into(),
            ErrorKind::CircuitOpen => "circuit open after repeated failures".into(),
            ErrorKind::Io => "file error".into(),
            ErrorKind::Unknown => "outcome unknown".into(),
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.provider, self.cause())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}

/// One source of incidents, on-call, SLOs, deploys and/or flags.
pub trait Provider: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> ProviderKind;
    /// How often to poll.
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(30)
    }
    /// The hard upper bound of one fetch (the poller cancels it after this).
    fn fetch_deadline(&self) -> Duration {
        Duration::from_secs(60)
    }
    /// Read everything this provider knows. Must never panic.
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>>;
    /// Incidents resolved since `since` (`incidents --all`). Default: none
    /// (the provider cannot list what is over, e.g. Alertmanager forgets
    /// resolved alerts).
    fn resolved_since(
        &self,
        _since: crate::model::Time,
    ) -> BoxFut<'_, Result<Vec<crate::model::Incident>, ProviderError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// What this provider returned last time (the offline cache), offered
    /// before the first fetch so that it can skip re-reading what cannot
    /// have changed. Default: ignored.
    fn seed(&self, _cached: &Fetched) {}
    /// [`Provider::seed`] for the cache still being read: the CLI reads it
    /// on a thread of its own while the first fetch is under way, and the
    /// provider waits for it only where it uses it. A closed channel is no
    /// seed (no cache, or an unreadable one). Default: ignored.
    fn seed_later(&self, _cached: SeedLater) {}
    /// Whether [`Provider::seed`] does anything (the CLI then reads this
    /// provider's cache beside its first fetch; others only when the fetch
    /// fails).
    fn wants_seed(&self) -> bool {
        false
    }
    /// Can this provider carry out `op`?
    fn supports(&self, _op: &WriteOp) -> bool {
        false
    }
    /// Why this provider could not be built (a missing token, a bad
    /// setting), for a [`Broken`] provider: a write aimed at it says so
    /// instead of "not supported".
    fn build_error(&self) -> Option<&ProviderError> {
        None
    }
    /// Work out the exact request(s) for `op`, with who asks and why
    /// (`ctx`) in the vendor's own fields. May read current state (e.g.
    /// which deploy to roll back to). Sends no write.
    fn plan<'a>(
        &'a self,
        op: &'a WriteOp,
        _ctx: &'a PlanCtx,
    ) -> BoxFut<'a, Result<Plan, ProviderError>> {
        let err = ProviderError::op_unsupported(self.name(), "this provider", op);
        Box::pin(async move { Err(err) })
    }
    /// Carry out a plan. Called by the executor only, after the intent
    /// record is durable. Never retried blindly.
    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        _idempotency_key: &'a str,
    ) -> BoxFut<'a, Result<ExecResult, ProviderError>> {
        let err = ProviderError::op_unsupported(self.name(), "this provider", &plan.op);
        Box::pin(async move { Err(err) })
    }
    /// Whether [`Provider::deploy_commits`] can answer.
    fn has_commits(&self) -> bool {
        false
    }
    /// The commits of `service`'s repository from `base` to `head` (a
    /// deploy's range: the previous deploy's sha to its own), read on
    /// demand for the console's details pane.
    fn deploy_commits<'a>(
        &'a self,
        _service: &'a str,
        _base: &'a str,
        _head: &'a str,
    ) -> BoxFut<'a, Result<crate::model::CommitRange, ProviderError>> {
        let err = ProviderError::unsupported(self.name(), "commit ranges are not supported");
        Box::pin(async move { Err(err) })
    }
    /// Whether [`Provider::incident_details`] can answer.
    fn has_details(&self) -> bool {
        false
    }
    /// An incident's history, notes and responders, read on demand (the
    /// console's details pane).
    fn incident_details<'a>(
        &'a self,
        _id: &'a str,
    ) -> BoxFut<'a, Result<crate::model::IncidentDetails, ProviderError>> {
        let err = ProviderError::unsupported(self.name(), "incident details are not supported");
        Box::pin(async move { Err(err) })
    }
}

/// A provider that could not be built (missing token, unsupported kind...).
/// It stays on screen with its error, so nothing is silently dropped.
pub struct Broken {
    pub name: String,
    pub kind: ProviderKind,
    pub error: ProviderError,
}

impl Provider for Broken {
    fn build_error(&self) -> Option<&ProviderError> {
        Some(&self.error)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProviderKind {
        self.kind
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        let e = self.error.clone();
        Box::pin(async move { Err(e) })
    }
}

/// Everything a provider constructor may need besides its own config.
pub struct BuildCtx<'a> {
    pub config: &'a Config,
    pub secrets: &'a dyn crate::secrets::SecretSource,
}

impl BuildCtx<'_> {
    /// The secret `r` of provider `pc`; a failure is a configuration error
    /// "`what`: <where it looked>".
    pub fn secret(
        &self,
        pc: &ProviderConfig,
        r: &crate::config::SecretRef,
        what: &str,
    ) -> Result<Secret, ProviderError> {
        self.secrets
            .get(r)
            .map_err(|e| ProviderError::config(&pc.name, format!("{what}: {e}")))
    }

    /// The provider's token (`token`, or the kind's default reference).
    pub fn token(&self, pc: &ProviderConfig, what: &str) -> Result<Secret, ProviderError> {
        self.secret(pc, &pc.token_ref(), what)
    }

    /// For an API with no auth of its own: a bearer token only when one is
    /// configured explicitly (a proxy in front), else none.
    pub fn optional_bearer(&self, pc: &ProviderConfig) -> Result<Auth, ProviderError> {
        match &pc.token {
            Some(r) => self.secret(pc, r, "token").map(Auth::Bearer),
            None => Ok(Auth::None),
        }
    }
}

/// How an HTTP provider sends its token.
pub enum TokenUse {
    /// A token is required: a missing one is the configuration error
    /// "`what`: <where it looked>"; `send` says how it goes on the wire.
    Required(&'static str, fn(Secret) -> Auth),
    /// An API with no auth of its own: a bearer token only when one is
    /// configured (a proxy in front).
    OptionalBearer,
}

/// The steps every HTTP provider's constructor shares: `base_url` (else the
/// configuration error `no_base_url`), then the token, then the client.
pub fn http_client(
    pc: &ProviderConfig,
    ctx: &BuildCtx<'_>,
    cfg: self::http::HttpConfig,
    no_base_url: &str,
    token: TokenUse,
) -> Result<self::http::HttpClient, ProviderError> {
    let base = require_base_url(pc, no_base_url)?;
    let auth = match token {
        TokenUse::Required(what, send) => send(ctx.token(pc, what)?),
        TokenUse::OptionalBearer => ctx.optional_bearer(pc)?,
    };
    // `user:password@` in base_url: basic auth, out of the URL.
    let auth = match (auth, pc.url_credentials()) {
        (self::http::Auth::None, Some((user, pass))) => self::http::Auth::Basic(
            crate::secrets::Secret::new(format!("{user}:{}", pass.expose())),
        ),
        (a, _) => a,
    };
    self::http::HttpClient::new(&pc.name, &base, auth, cfg)
}

/// `pc.base_url`, or the configuration error `missing`.
pub fn require_base_url(pc: &ProviderConfig, missing: &str) -> Result<String, ProviderError> {
    pc.base_url()
        .ok_or_else(|| ProviderError::config(&pc.name, missing))
}

/// The `[[service]]` of each flag key its `flags` or `kill_switch` names
/// (the first service that names a key wins): flag providers whose vendor
/// has no notion of a service take it from here.
pub fn flag_services(config: &crate::config::Config) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for s in &config.service {
        for k in s.flags.iter().chain(s.kill_switch.iter()) {
            out.entry(k.clone()).or_insert_with(|| s.name.clone());
        }
    }
    out
}

/// `pc.<field>` when set and not blank, or the configuration error `missing`.
pub fn require(
    pc: &ProviderConfig,
    field: &Option<String>,
    missing: impl AsRef<str>,
) -> Result<String, ProviderError> {
    field
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ProviderError::config(&pc.name, missing))
}

/// Acknowledge, resolve or note an incident: the writes of the paging
/// services (PagerDuty, Opsgenie).
pub fn is_incident_write(op: &WriteOp) -> bool {
    matches!(
        op,
        WriteOp::IncidentAck { .. }
            | WriteOp::IncidentResolve { .. }
            | WriteOp::IncidentNote { .. }
    )
}

/// Set a flag on or off: the one write of the flag services.
pub fn is_flag_set(op: &WriteOp) -> bool {
    matches!(op, WriteOp::FlagSet { .. })
}

/// What every provider answers the same way (see `provider_basics!`).
#[derive(Clone, Debug)]
pub struct Basics {
    pub name: String,
    pub kind: ProviderKind,
    pub poll: Duration,
}

impl Basics {
    /// The configured name and poll interval of a provider of `kind`.
    pub fn new(pc: &ProviderConfig, kind: ProviderKind) -> Self {
        Basics {
            name: pc.name.clone(),
            kind,
            poll: pc.poll(),
        }
    }
}

/// The fetch deadline of an SLO provider (Datadog, Prometheus): `per_slo`
/// queries for each of `slos` SLOs, `in_flight` at once, plus `extra`
/// sequential reads (listing, clock...).
pub fn slo_fetch_deadline(
    http: &self::http::HttpConfig,
    slos: usize,
    per_slo: usize,
    in_flight: usize,
    extra: usize,
) -> Duration {
    let rounds = (slos * per_slo).div_ceil(in_flight) + extra;
    http.fetch_deadline(rounds as u32)
}

/// An SLO of provider `provider` that could not be read: its configured
/// name, service, objective and window, and why (Datadog, Prometheus).
pub fn placeholder_slo(
    provider: &str,
    name: &str,
    service: Option<&str>,
    objective: f64,
    window: &str,
    error: &str,
) -> crate::model::Slo {
    use crate::model::BurnRates;
    crate::model::Slo {
        name: SafeText::line(name),
        service: service.map(SafeText::line),
        objective,
        window: window.to_string(),
        error_budget_remaining: None,
        budget_burned_7d: None,
        burn_rates: BurnRates::default(),
        alerts: crate::slo::mwmbr_alerts(&BurnRates::default()),
        gate: crate::slo::gate(None, &[]),
        provider: SafeText::line(provider),
        history: Vec::new(),
        budget_history: Vec::new(),
        error: Some(SafeText::line(error)),
    }
}

/// How each provider kind is built: the same constructor for every one.
type Builder = fn(&ProviderConfig, &BuildCtx<'_>) -> Result<Arc<dyn Provider>, ProviderError>;

fn shared<P: Provider + 'static>(
    built: Result<P, ProviderError>,
) -> Result<Arc<dyn Provider>, ProviderError> {
    built.map(|p| Arc::new(p) as Arc<dyn Provider>)
}

/// `(kind, constructor)` rows: each type's `new(pc, ctx)`, shared.
macro_rules! builders {
    ($($kind:ident => $ty:ty),* $(,)?) => {
        &[$((ProviderKind::$kind, |pc, ctx| shared(<$ty>::new(pc, ctx)))),*]
    };
}

const BUILDERS: &[(ProviderKind, Builder)] = builders![
    Github => github::Github,
    Vercel => vercel::Vercel,
    Flagd => flagd::Flagd,
    Launchdarkly => launchdarkly::LaunchDarkly,
    Unleash => unleash::Unleash,
    Pagerduty => pagerduty::PagerDuty,
    Alertmanager => alertmanager::Alertmanager,
    Opsgenie => opsgenie::Opsgenie,
    Sentry => sentry::Sentry,
    Prometheus => prometheus::Prometheus,
    Datadog => datadog::Datadog,
];

/// Build one provider from its config. A failure becomes a `Broken`
/// provider carrying the error.
pub fn build_one(pc: &ProviderConfig, ctx: &BuildCtx<'_>) -> Arc<dyn Provider> {
    let built = match BUILDERS.iter().find(|(k, _)| *k == pc.kind) {
        Some((_, build)) => build(pc, ctx),
        None => Err(ProviderError::unsupported(
            &pc.name,
            format!(
                "provider kind {} is not available in this build yet",
                pc.kind
            ),
        )),
    };
    match built {
        Ok(p) => p,
        Err(error) => Arc::new(Broken {
            name: pc.name.clone(),
            kind: pc.kind,
            error,
        }),
    }
}

/// The provider kinds whose wire decoders [`decode_wire`] covers.
pub const WIRE_KINDS: &[ProviderKind] = &[
    ProviderKind::Pagerduty,
    ProviderKind::Alertmanager,
    ProviderKind::Opsgenie,
    ProviderKind::Sentry,
    ProviderKind::Prometheus,
    ProviderKind::Datadog,
    ProviderKind::Github,
    ProviderKind::Vercel,
    ProviderKind::Launchdarkly,
    ProviderKind::Unleash,
    ProviderKind::Flagd,
];

/// Decode `body` with every wire type the provider kind reads: a value or a
/// `ProviderError`, never a panic. For the fuzz targets (fuzz/) and the
/// property tests (tests/it/decoders.rs); the fetch paths use the same types.
pub fn decode_wire(kind: ProviderKind, body: &[u8]) -> Result<(), ProviderError> {
    match kind {
        ProviderKind::Pagerduty => pagerduty::decode_wire(body),
        ProviderKind::Alertmanager => alertmanager::decode_wire(body),
        ProviderKind::Opsgenie => opsgenie::decode_wire(body),
        ProviderKind::Sentry => sentry::decode_wire(body),
        ProviderKind::Prometheus => prometheus::decode_wire(body),
        ProviderKind::Datadog => datadog::decode_wire(body),
        ProviderKind::Github => github::decode_wire(body),
        ProviderKind::Vercel => vercel::decode_wire(body),
        ProviderKind::Launchdarkly => launchdarkly::decode_wire(body),
        ProviderKind::Unleash => unleash::decode_wire(body),
        ProviderKind::Flagd => {
            flagd::Doc::parse("fuzz", std::path::Path::new("fuzz.json"), body.to_vec()).map(drop)
        }
    }
}

/// All configured providers, in config order.
#[derive(Clone, Default)]
pub struct Registry {
    pub providers: Vec<Arc<dyn Provider>>,
    /// Demo mode (the real providers against the demo's simulators).
    pub demo: bool,
    /// What the providers need kept alive (the demo's simulators).
    pub keep: Vec<Arc<dyn std::any::Any + Send + Sync>>,
}

impl Registry {
    pub fn from_config(config: &Config, secrets: &dyn crate::secrets::SecretSource) -> Self {
        let ctx = BuildCtx { config, secrets };
        Registry {
            providers: config.providers().map(|pc| build_one(pc, &ctx)).collect(),
            demo: false,
            keep: Vec::new(),
        }
    }

    /// The demo company: its simulators started, the real providers
    /// pointed at them (`sim::demo`). If they cannot start, the demo's
    /// one provider is on screen with the reason.
    pub fn demo(now: crate::model::Time) -> Self {
        match crate::sim::demo::start(now) {
            Ok(d) => d.registry,
            Err(e) => Registry {
                providers: vec![Arc::new(Broken {
                    name: "demo".into(),
                    kind: ProviderKind::Pagerduty,
                    error: ProviderError::new("demo", ErrorKind::Connect, e),
                })],
                demo: true,
                keep: Vec::new(),
            },
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.iter().find(|p| p.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsupported_action_names_the_provider_the_action_and_the_vendor() {
        let op = WriteOp::SilenceExpire {
            provider: Some("pd".into()),
            id: "s1".into(),
        };
        let e = ProviderError::op_unsupported("pd", "PagerDuty", &op);
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "pd: not supported: silence.expire is not supported by PagerDuty"
        );
    }
}
