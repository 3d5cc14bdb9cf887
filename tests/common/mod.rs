//! Shared test helpers: config + secrets for providers, fast HTTP settings,
//! a real Alertmanager process (started on a free loopback port, killed on
//! drop), and `have`, which decides whether a test that needs a program from
//! the host runs, skips or fails.

#![allow(dead_code)]

pub mod audit_entry;
pub mod fault;
pub mod gate;
pub mod pg;
pub mod screen;
pub mod tmux;

use sitrep::config::{Config, SecretRef};
use sitrep::providers::BuildCtx;
use sitrep::providers::http::{HttpConfig, Sleeper};
use sitrep::secrets::{Secret, SecretSource};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A program from the host that some tests drive: the real servers, tmux
/// and the independent audit verifier's interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Prometheus,
    Promtool,
    Alertmanager,
    Tmux,
    Python3,
    Postgres,
}

impl Tool {
    /// (what the message calls it, where it is: an absolute path or a name
    /// looked up in PATH, the Debian package that has it)
    fn spec(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Tool::Prometheus => ("prometheus", "/usr/bin/prometheus", "prometheus"),
            Tool::Promtool => ("promtool", "/usr/bin/promtool", "prometheus"),
            Tool::Alertmanager => ("prometheus-alertmanager", AM_BIN, "prometheus-alertmanager"),
            Tool::Tmux => ("tmux", "tmux", "tmux"),
            Tool::Python3 => ("python3", "python3", "python3"),
            Tool::Postgres => ("postgresql", "/usr/lib/postgresql", "postgresql"),
        }
    }

    fn installed(self) -> bool {
        if self == Tool::Postgres {
            return pg::bin_dir().is_some();
        }
        let (_, at, _) = self.spec();
        let runnable = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        };
        if at.starts_with('/') {
            return runnable(Path::new(at));
        }
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| runnable(&d.join(at))))
    }
}

/// The one place that decides what a test does when a program it needs is
/// missing: `false` (the caller returns early) after one line on stderr
/// under plain `cargo test` (the test then shows as passed); a failure when `SITREP_REQUIRE_REAL_TESTS=1`
/// (what `scripts/test` and CI set), so nothing is skipped silently there.
///
/// ```ignore
/// if !common::have(&[Tool::Tmux]) {
///     return;
/// }
/// ```
pub fn have(tools: &[Tool]) -> bool {
    for &tool in tools {
        if tool.installed() {
            continue;
        }
        let (name, _, package) = tool.spec();
        let why =
            format!("{name} not installed (apt-get install {package}, or run ./scripts/test)");
        if std::env::var_os("SITREP_REQUIRE_REAL_TESTS").is_some_and(|v| v == "1") {
            panic!("{why}; SITREP_REQUIRE_REAL_TESTS=1 does not allow skipping");
        }
        // Straight to the process's stderr: libtest captures `eprintln!`
        // and shows it only for a failing test.
        let _ = writeln!(std::io::stderr(), "skipped: {why}");
        return false;
    }
    true
}

pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Secrets from a map keyed by env var / keyring name.
#[derive(Default)]
pub struct MapSecrets(pub BTreeMap<String, String>);

impl MapSecrets {
    pub fn with(pairs: &[(&str, &str)]) -> Self {
        MapSecrets(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl SecretSource for MapSecrets {
    fn get(&self, r: &SecretRef) -> Result<Secret, String> {
        let k = match r {
            SecretRef::Env(k) | SecretRef::Keyring(k) => k,
        };
        self.0
            .get(k)
            .map(|v| Secret::new(v.clone()))
            .ok_or_else(|| format!("no secret {k}"))
    }
}

pub fn config(toml: &str) -> Config {
    sitrep::config::parse(toml, Path::new("test.toml")).unwrap()
}

pub fn ctx<'a>(config: &'a Config, secrets: &'a MapSecrets) -> BuildCtx<'a> {
    BuildCtx { config, secrets }
}

/// A secret store that resolves every reference to the same token.
pub struct FixedSecret(pub &'static str);

impl SecretSource for FixedSecret {
    fn get(&self, _r: &SecretRef) -> Result<Secret, String> {
        Ok(Secret::new(self.0))
    }
}

/// The build context of a provider whose token is `token`.
pub fn token_ctx<'a>(config: &'a Config, token: &'a FixedSecret) -> BuildCtx<'a> {
    BuildCtx {
        config,
        secrets: token,
    }
}

/// Small waits so retry tests take milliseconds; the clamps stay real
/// (Retry-After minimum 1 s).
pub fn fast_http() -> HttpConfig {
    let mut c = HttpConfig::from_timeout(Duration::from_secs(2));
    c.retry.base = Duration::from_millis(10);
    c.retry.cap = Duration::from_millis(50);
    c.retry.max_inline_wait = Duration::from_secs(5);
    // Loopback fakes answer at once: read them as a far server (the fan-out
    // under test), unless a test sets otherwise.
    c.near_rtt = Duration::ZERO;
    c
}

/// The retry waits a [`recorded_http`] client asked for, in order.
#[derive(Clone, Default)]
pub struct Waits(Arc<Mutex<Vec<Duration>>>);

impl Waits {
    pub fn get(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

/// [`fast_http`] whose retry waits are recorded instead of slept (they
/// return at once), with no jitter added (`base` 0), so a test asserts
/// the exact wait a response asked for, instantly.
pub fn recorded_http() -> (HttpConfig, Waits) {
    let waits = Waits::default();
    let mut c = fast_http();
    c.retry.base = Duration::ZERO;
    let w = waits.clone();
    c.sleeper = Sleeper::custom(move |d| {
        w.0.lock().unwrap().push(d);
        Box::pin(std::future::ready(()))
    });
    (c, waits)
}

/// A real `prometheus-alertmanager` (Debian package) on 127.0.0.1.
pub struct AmServer {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

const AM_BIN: &str = "/usr/bin/prometheus-alertmanager";
const AM_CONFIG: &str = "route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: blackhole\n";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

impl AmServer {
    pub async fn start() -> AmServer {
        assert!(
            Path::new(AM_BIN).exists(),
            "{AM_BIN} is missing: apt-get install -y prometheus-alertmanager"
        );
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let cfg = dir.path().join("alertmanager.yml");
            std::fs::write(&cfg, AM_CONFIG).unwrap();
            let port = free_port();
            let child = Command::new(AM_BIN)
                .arg(format!("--config.file={}", cfg.display()))
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut server = AmServer {
                child,
                url: format!("http://127.0.0.1:{port}"),
                _dir: dir,
            };
            match server.wait_ready(Duration::from_secs(20)).await {
                Ok(()) => return server,
                Err(e) => last = e, // dropped → killed; try another port
            }
        }
        panic!("alertmanager did not become ready: {last}");
    }

    async fn wait_ready(&mut self, within: Duration) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            if let Ok(r) = client.get(format!("{}/-/ready", self.url)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("timed out".into())
    }

    /// POST /api/v2/alerts (what Prometheus does).
    pub async fn post_alerts(&self, alerts: serde_json::Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&alerts)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for AmServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the CLI's production guard did with one write on a real provider.
pub struct Guarded {
    /// Exit code with `--yes` alone, no terminal.
    pub yes_only: i32,
    /// Exit code with `--yes --i-know-this-is-production`.
    pub acknowledged: i32,
    pub records: Vec<sitrep::audit::Record>,
}

/// Run `op` on `provider` through the CLI's write path twice: `--yes` with
/// no terminal (refused when the plan writes to production), then with
/// `--i-know-this-is-production` too.
pub async fn production_guard(
    provider: Arc<dyn sitrep::providers::Provider>,
    op: sitrep::ops::WriteOp,
) -> Guarded {
    use sitrep::actions::{ActionRequest, Executor};
    use sitrep::cli::WriteFlags;
    use sitrep::cli::actions::run_write_with;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let registry = sitrep::providers::Registry {
        providers: vec![provider],
        demo: false,
        keep: Vec::new(),
    };
    let ex = Executor::new(
        registry,
        Arc::new(sitrep::audit::AuditLog::new(
            &path,
            sitrep::audit::Signer::ephemeral(),
        )),
    );
    let req = || ActionRequest::new(op.clone(), "guard test");
    let mut flags = WriteFlags {
        yes: true,
        ..WriteFlags::default()
    };
    let mut none = std::io::Cursor::new("");
    let yes_only = run_write_with(&ex, req(), &flags, false, &mut none).await;
    flags.i_know_this_is_production = true;
    let acknowledged = run_write_with(&ex, req(), &flags, false, &mut none).await;
    let records = sitrep::audit::read(&path).map(|r| r.0).unwrap_or_default();
    Guarded {
        yes_only,
        acknowledged,
        records,
    }
}
