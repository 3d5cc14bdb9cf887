//! `--demo`: the demo company's vendors, simulated on loopback, and the
//! config that points the real providers at them. What the demo reads,
//! plans, shows in a confirm dialog and sends is the real providers' code;
//! only the vendors are simulated.
//!
//! The company is `sim/world.toml` (times relative to the moment the demo
//! starts). PagerDuty, Alertmanager, Prometheus, GitHub (with the
//! company's CD), Vercel, LaunchDarkly and Unleash are simulators; flagd's
//! flags are a file in a directory of the demo's own, removed when the
//! demo ends. The world moves: a deploy going live or a flag changing is
//! told to its [`Health`], which the simulated Prometheus answers from, so
//! a rollback away from the faulty deploy or its kill switch turned off
//! makes the burn rate fall from that moment on.

use super::alertmanager::{self, Alertmanager};
use super::github::{self, Github};
use super::launchdarkly::{self, LaunchDarkly};
use super::pagerduty::{self, PagerDuty};
use super::prometheus::Prometheus;
use super::unleash::{self, Unleash};
use super::vercel::{self, Vercel};
use super::world::{Health, World};
use super::{Background, Handler};
use crate::config::{Config, SecretRef};
use crate::model::{DeployState, IncidentStatus, Severity, Time};
use crate::providers::Registry;
use crate::secrets::{Secret, SecretSource};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The token every demo vendor accepts (and the demo's providers send).
pub const TOKEN: &str = "sitrep-demo-token";
/// Who the demo's PagerDuty writes are from.
pub const FROM: &str = "you@acme.example";
/// The LaunchDarkly project and the Unleash project of the demo.
pub const LD_PROJECT: &str = "acme";
pub const UNLEASH_PROJECT: &str = "default";
/// The Vercel project (the search service's web front).
pub const VERCEL_PROJECT: &str = "search";

/// Every secret reference resolves to [`TOKEN`]: the demo reads no
/// environment variable and no keyring.
pub struct DemoSecrets;

impl SecretSource for DemoSecrets {
    fn get(&self, _r: &SecretRef) -> Result<Secret, String> {
        Ok(Secret::new(TOKEN))
    }
}

/// The running demo: its simulators, the config that names them and the
/// registry of real providers built from it.
pub struct Demo {
    pub registry: Registry,
    pub config: Config,
    pub pagerduty: Arc<PagerDuty>,
    pub alertmanager: Arc<Alertmanager>,
    pub github: Arc<Github>,
    pub vercel: Arc<Vercel>,
    pub launchdarkly: Arc<LaunchDarkly>,
    pub unleash: Arc<Unleash>,
    /// The services' error ratios, as the simulated Prometheus serves them.
    pub health: Arc<Health>,
    /// The flagd flag file.
    pub flagd_file: PathBuf,
}

/// How long a deployment (or an alias change) the demo makes takes to go
/// live.
pub const DEPLOY_TIME: std::time::Duration = std::time::Duration::from_secs(4);

/// Keeps the simulators running and the flag file's directory in place as
/// long as a registry holds it.
struct Running {
    _servers: Background,
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        // The directory is the demo's own (made by `flag_dir`).
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PagerDuty's service ids of the demo services (`[[service]]
/// pagerduty_services` maps them back to the names).
fn pd_service_id(service: &str) -> String {
    format!("PD{}", service.to_ascii_uppercase())
}

fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Sev1 => "P1",
        Severity::Sev2 => "P2",
        Severity::Sev3 => "P3",
        _ => "P4",
    }
}

/// The `severity` label Alertmanager's alerts carry (the config's default
/// `alert_values` read it back).
fn alert_severity(s: Severity) -> &'static str {
    match s {
        Severity::Sev1 => "critical",
        Severity::Sev2 => "error",
        Severity::Sev3 => "warning",
        _ => "info",
    }
}

/// The demo's services: name, runbooks.
const SERVICES: &[(&str, &[&str])] = &[
    ("checkout", &["rollback"]),
    ("payments", &["db-failover"]),
    ("auth", &["auth-outage"]),
    ("search", &[]),
];

/// Where each simulator listens.
pub struct Urls<'a> {
    pub pagerduty: &'a str,
    pub alertmanager: &'a str,
    pub prometheus: &'a str,
    pub github: &'a str,
    pub vercel: &'a str,
    pub launchdarkly: &'a str,
    pub unleash: &'a str,
    pub flagd_file: &'a Path,
}

fn quoted(v: &[&str]) -> String {
    v.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML basic string: quoted, with `"`, `\` and control characters
/// escaped (TOML 1.0, "Basic strings").
fn toml_str(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The config of the demo, pointing at the simulators.
pub fn config_text(world: &World, u: &Urls<'_>) -> String {
    let gh_repos: Vec<String> = SERVICES
        .iter()
        .filter(|(s, _)| *s != VERCEL_PROJECT)
        .map(|(s, _)| format!("acme/{s}"))
        .collect();
    let gh_repos: Vec<&str> = gh_repos.iter().map(String::as_str).collect();
    let mut s = format!(
        r#"# The demo company, as sitrep's config would describe it.
[[provider]]
name = "pd"
kind = "pagerduty"
base_url = "{pd}"
from = "{FROM}"
poll = "15s"

[[provider]]
name = "am"
kind = "alertmanager"
base_url = "{am}"
token = {{ env = "SITREP_DEMO_TOKEN" }}
poll = "15s"

[[provider]]
name = "prom"
kind = "prometheus"
base_url = "{prom}"
token = {{ env = "SITREP_DEMO_TOKEN" }}
poll = "15s"

[[provider]]
name = "gh"
kind = "github"
base_url = "{gh}"
repos = [{repos}]
environments = ["production", "staging"]
poll = "15s"

[[provider]]
name = "vercel"
kind = "vercel"
base_url = "{vc}"
project = "{VERCEL_PROJECT}"
poll = "15s"

[[provider]]
name = "ld"
kind = "launchdarkly"
base_url = "{ld}"
project = "{LD_PROJECT}"
environment = "production"
poll = "15s"

[[provider]]
name = "unleash"
kind = "unleash"
base_url = "{un}"
project = "{UNLEASH_PROJECT}"
environment = "production"
poll = "15s"

[[provider]]
name = "flagd"
kind = "flagd"
path = {fd}
environment = "production"
poll = "15s"
"#,
        pd = u.pagerduty,
        am = u.alertmanager,
        prom = u.prometheus,
        gh = u.github,
        vc = u.vercel,
        ld = u.launchdarkly,
        un = u.unleash,
        repos = quoted(&gh_repos),
        fd = toml_str(&u.flagd_file.to_string_lossy()),
    );
    for slo in &world.slos {
        s.push_str(&format!(
            "\n[[slo]]\nname = {}\nservice = {}\nprovider = \"prom\"\nobjective = {}\nerrors = {}\ntotal = {}\n",
            toml_str(&slo.name),
            toml_str(&slo.service),
            slo.objective,
            toml_str(&slo.errors),
            toml_str(&slo.total),
        ));
    }
    for (name, runbooks) in SERVICES {
        let flags: Vec<&str> = world
            .flags
            .iter()
            .filter(|f| f.service == *name)
            .map(|f| f.key.as_str())
            .collect();
        let kill_switch = world
            .faults
            .iter()
            .find(|f| f.service == *name)
            .and_then(|f| f.flag.as_deref())
            .map(|k| format!("kill_switch = {k:?}\n"))
            .unwrap_or_default();
        let deploys = if *name == VERCEL_PROJECT {
            format!("{{ provider = \"vercel\", project = \"{VERCEL_PROJECT}\" }}")
        } else {
            format!("{{ provider = \"gh\", repo = \"acme/{name}\" }}")
        };
        s.push_str(&format!(
            "\n[[service]]\nname = {name:?}\npagerduty_services = [{:?}]\nrunbooks = [{}]\nflags = [{}]\n{kill_switch}deploys = {deploys}\n",
            pd_service_id(name),
            quoted(runbooks),
            quoted(&flags),
        ));
    }
    s
}

/// The flagd file of the world's `flagd` flags.
fn flagd_json(world: &World) -> String {
    let mut flags = serde_json::Map::new();
    for f in world.flags.iter().filter(|f| f.provider == "flagd") {
        let mut meta = serde_json::json!({"name": f.name});
        if f.kill_switch {
            meta["killSwitch"] = serde_json::json!(true);
        }
        flags.insert(
            f.key.clone(),
            serde_json::json!({
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": if f.on { "on" } else { "off" },
                "metadata": meta,
            }),
        );
    }
    let doc =
        serde_json::json!({"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": flags});
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// Write the flagd file, dated when its newest flag last changed (flagd's
/// flags are as old as the file).
fn write_flag_file(path: &Path, world: &World) -> std::io::Result<()> {
    std::fs::write(path, flagd_json(world))?;
    if let Some(t) = world
        .flags
        .iter()
        .filter(|f| f.provider == "flagd")
        .map(|f| f.updated_at)
        .max()
    {
        let f = std::fs::File::options().write(true).open(path)?;
        f.set_modified(t.into())?;
    }
    Ok(())
}

/// The prefix of the demo's directories under the temp dir
/// (`sitrep-demo-<pid>-<random>`).
const DIR_PREFIX: &str = "sitrep-demo-";

/// Remove the directories of demos whose process is gone (one that ended
/// without unwinding: killed, or the benchmark hook's immediate exit).
/// Only where a process can be looked up (`/proc`).
fn sweep_stale_dirs(base: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rd) = std::fs::read_dir(base) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists();
        if !alive && e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A new directory of the demo's own under the temp dir (0700 where
/// modes exist).
fn flag_dir() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    sweep_stale_dirs(&base);
    for _ in 0..8 {
        let dir = base.join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        match b.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free directory name"))
}

fn gh_state(s: DeployState) -> &'static str {
    match s {
        DeployState::Success => "success",
        DeployState::Failure => "failure",
        DeployState::InProgress => "in_progress",
        DeployState::Inactive => "inactive",
        DeployState::Canceled => "error",
        DeployState::Queued | DeployState::Unknown => "queued",
    }
}

fn vercel_state(s: DeployState) -> &'static str {
    match s {
        DeployState::Success | DeployState::Inactive => "READY",
        DeployState::Failure => "ERROR",
        DeployState::InProgress => "BUILDING",
        DeployState::Canceled => "CANCELED",
        DeployState::Queued | DeployState::Unknown => "QUEUED",
    }
}

/// The vendors' state, seeded from the world.
struct Sims {
    pd: Arc<PagerDuty>,
    am: Arc<Alertmanager>,
    prom: Arc<Prometheus>,
    gh: Arc<Github>,
    vc: Arc<Vercel>,
    ld: Arc<LaunchDarkly>,
    un: Arc<Unleash>,
}

fn seed(world: &World, health: &Arc<Health>, now: Time) -> Sims {
    let pd = Arc::new(PagerDuty::new(TOKEN));
    let am = Arc::new(Alertmanager::new(Some(TOKEN)));
    am.set_now(now);
    for i in &world.incidents {
        match i.provider.as_str() {
            "pd" => pd.add_incident(&pagerduty::Incident {
                id: i.id.clone(),
                title: i.title.clone(),
                status: match i.status {
                    IncidentStatus::Acknowledged => "acknowledged",
                    IncidentStatus::Resolved => "resolved",
                    _ => "triggered",
                }
                .into(),
                priority: Some(priority(i.severity).into()),
                urgency: if i.severity <= Severity::Sev2 {
                    "high"
                } else {
                    "low"
                }
                .into(),
                service_id: pd_service_id(&i.service),
                service_name: i.service.clone(),
                created_at: i.created_at,
                assignee: i.assignee.clone(),
            }),
            _ => {
                let (name, summary) = i.title.split_once(": ").unwrap_or((&i.title, ""));
                let mut labels = i.labels.clone();
                labels.extend([
                    ("alertname".to_string(), name.to_string()),
                    ("service".to_string(), i.service.clone()),
                    (
                        "severity".to_string(),
                        alert_severity(i.severity).to_string(),
                    ),
                ]);
                let mut annotations = BTreeMap::new();
                if !summary.is_empty() {
                    annotations.insert("summary".to_string(), summary.to_string());
                }
                if let Some(r) = &i.runbook {
                    annotations.insert("runbook".to_string(), r.clone());
                }
                am.add_alert(&alertmanager::Alert {
                    labels,
                    annotations,
                    starts_at: i.created_at,
                });
                if i.status == IncidentStatus::Silenced {
                    am.add_silence(
                        vec![alertmanager::Matcher {
                            name: "alertname".into(),
                            value: name.to_string(),
                            is_regex: false,
                            is_equal: true,
                        }],
                        i.created_at,
                        i.created_at + chrono::Duration::days(14),
                        "raj.patel",
                        "renewal ticket SEC-412 open; cert is replaced on Thursday",
                    );
                }
            }
        }
    }
    demo_silences(&am, now);
    for o in &world.oncall {
        pd.add_oncall(&pagerduty::OnCall {
            policy: o.policy.clone(),
            level: o.level,
            user: o.user.clone(),
            end: Some(o.until),
        });
    }
    let h = health.clone();
    let gh = Arc::new(Github::new(TOKEN, DEPLOY_TIME).on_live(Box::new(
        move |repo, env, sha, at| {
            let service = repo.rsplit('/').next().unwrap_or(repo);
            h.deployed(service, env, sha, at);
        },
    )));
    let h = health.clone();
    let vc = Arc::new(
        Vercel::new(TOKEN, VERCEL_PROJECT, DEPLOY_TIME).on_live(Box::new(
            move |project, env, sha, at| h.deployed(project, env, sha, at),
        )),
    );
    for d in &world.deploys {
        if d.provider == "vercel" {
            vc.add(&vercel::Deployment {
                uid: d.id.clone(),
                target: if d.environment == "production" {
                    "production"
                } else {
                    "preview"
                }
                .into(),
                state: vercel_state(d.state).into(),
                created_at: d.created_at,
                creator: d.creator.clone(),
                git_ref: d.git_ref.clone(),
                sha: d.sha.clone(),
                message: d.description.clone(),
            });
        } else {
            gh.add(&github::Deployment {
                repo: format!("acme/{}", d.service),
                environment: d.environment.clone(),
                id: d.id.parse().unwrap_or(0),
                git_ref: d.git_ref.clone(),
                sha: d.sha.clone(),
                state: gh_state(d.state).into(),
                created_at: d.created_at,
                creator: d.creator.clone(),
                description: d.description.clone(),
            });
        }
    }
    let h = health.clone();
    let ld = Arc::new(
        LaunchDarkly::new(TOKEN, LD_PROJECT, "production")
            .on_change(Box::new(move |key, on, at| h.flag_set(key, on, at))),
    );
    let h = health.clone();
    let un = Arc::new(
        Unleash::new(TOKEN, UNLEASH_PROJECT, &["production", "development"])
            .on_change(Box::new(move |key, on, at| h.flag_set(key, on, at))),
    );
    for f in &world.flags {
        match f.provider.as_str() {
            "unleash" => un.add(&unleash::Feature {
                name: f.key.clone(),
                description: f.name.clone(),
                kind: if f.kill_switch {
                    "kill-switch"
                } else {
                    "release"
                }
                .into(),
                enabled: f.on,
                created_at: f.updated_at,
            }),
            "launchdarkly" => ld.add(&launchdarkly::Flag {
                key: f.key.clone(),
                name: f.name.clone(),
                on: f.on,
                kill_switch: f.kill_switch,
                updated_at: f.updated_at,
            }),
            // flagd: the file (`flagd_json`).
            _ => {}
        }
    }
    let prom = Arc::new(Prometheus::new(Some(TOKEN), health.clone()));
    Sims {
        pd,
        am,
        prom,
        gh,
        vc,
        ld,
        un,
    }
}

/// Silences beside the one on the certificate alert: a maintenance window
/// that has not started and one that ended an hour ago.
fn demo_silences(am: &Alertmanager, now: Time) {
    let m = |name: &str, value: &str, is_regex: bool| alertmanager::Matcher {
        name: name.into(),
        value: value.into(),
        is_regex,
        is_equal: true,
    };
    am.add_silence(
        vec![
            m("service", "payments-db", false),
            m("alertname", "Replication.*", true),
        ],
        now + chrono::Duration::hours(2),
        now + chrono::Duration::hours(4),
        "mia.chen",
        "planned failover drill CHG-2291",
    );
    am.add_silence(
        vec![m("instance", "search-indexer-1:9100", false)],
        now - chrono::Duration::hours(3),
        now - chrono::Duration::hours(1),
        "dana.kim",
        "kernel patch reboot",
    );
}

/// Start the demo at `now`: load the company, start its simulators,
/// build the real providers against them.
pub fn start(now: Time) -> Result<Demo, String> {
    // Whole seconds, as the vendors' timestamps are.
    let now = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let world = World::load(now)?;
    let health = Arc::new(Health::new(&world, chrono::Utc::now()));
    let sims = seed(&world, &health, now);
    let dir = flag_dir().map_err(|e| format!("cannot make the demo's flag directory: {e}"))?;
    let flagd_file = dir.join("flags.json");
    if let Err(e) = write_flag_file(&flagd_file, &world) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!("cannot write the demo's flag file: {e}"));
    }
    let handlers: Vec<Arc<dyn Handler>> = vec![
        sims.pd.clone(),
        sims.am.clone(),
        sims.prom.clone(),
        sims.gh.clone(),
        sims.vc.clone(),
        sims.ld.clone(),
        sims.un.clone(),
    ];
    let bg = match Background::start(handlers) {
        Ok(bg) => bg,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!("cannot start the demo's simulators: {e}"));
        }
    };
    let url = |i: usize| bg.url(i).unwrap_or_default();
    let (pd, am, prom, gh, vc, ld, un) = (url(0), url(1), url(2), url(3), url(4), url(5), url(6));
    let text = config_text(
        &world,
        &Urls {
            pagerduty: &pd,
            alertmanager: &am,
            prometheus: &prom,
            github: &gh,
            vercel: &vc,
            launchdarkly: &ld,
            unleash: &un,
            flagd_file: &flagd_file,
        },
    );
    let running = Running { _servers: bg, dir };
    let config = crate::config::parse(&text, Path::new("demo.toml"))
        .map_err(|e| format!("the demo's config is malformed: {e}"))?;
    let mut registry = Registry::from_config(&config, &DemoSecrets);
    registry.demo = true;
    registry.keep.push(Arc::new(running));
    Ok(Demo {
        registry,
        config,
        pagerduty: sims.pd,
        alertmanager: sims.am,
        github: sims.gh,
        vercel: sims.vc,
        launchdarkly: sims.ld,
        unleash: sims.un,
        health,
        flagd_file,
    })
}

/// What the demo shows at `now`: every provider fetched once (as of
/// `now`), the snapshot assembled and its incidents linked to the bundled
/// runbooks through the demo's `[[service]]` entries, as the CLI does (the
/// demo stops again when this returns).
pub async fn snapshot(now: Time) -> Result<crate::model::Snapshot, String> {
    let demo = start(now)?;
    let mut store = crate::store::Store::fetch_all_unsaved(&demo.registry, None).await;
    for s in &mut store.slots {
        s.fetched_at = s.fetched_at.map(|_| now);
    }
    let mut snap = store.snapshot(now);
    let catalog = crate::runbooks::Catalog::bundled();
    crate::runbooks::link_incidents(&mut snap.incidents, &demo.config.service, &catalog.runbooks);
    Ok(snap)
}

/// [`snapshot`] on a runtime of its own, for code that is not async.
pub fn snapshot_blocking(now: Time) -> Result<crate::model::Snapshot, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(snapshot(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any path or name the demo writes reads back the same.
        #[test]
        fn a_toml_string_reads_back_the_same(s in "\\PC*|[\\x00-\\x7f]*") {
            #[derive(serde::Deserialize)]
            struct One {
                v: String,
            }
            let text = format!("v = {}\n", toml_str(&s));
            let one: One = toml::from_str(&text).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}: {text:?}")))?;
            proptest::prop_assert_eq!(one.v, s);
        }
    }

    #[test]
    fn the_flag_file_lives_in_a_private_directory_gone_with_the_demo() {
        let demo = start(chrono::Utc::now()).unwrap_or_else(|e| panic!("{e}"));
        let dir = demo
            .flagd_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        assert!(demo.flagd_file.is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o700);
        }
        drop(demo);
        assert!(!dir.exists(), "{}", dir.display());
    }

    #[test]
    fn the_directories_of_demos_that_are_gone_are_swept() {
        let base = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let gone = base.path().join("sitrep-demo-4294967295-abc");
        let mine = base
            .path()
            .join(format!("sitrep-demo-{}-def", std::process::id()));
        let other = base.path().join("sitrep-demo-notapid");
        for d in [&gone, &mine, &other] {
            std::fs::create_dir(d).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(gone.join("flags.json"), "{}").unwrap_or_else(|e| panic!("{e}"));
        sweep_stale_dirs(base.path());
        assert!(!gone.exists());
        assert!(mine.exists() && other.exists());
    }

    #[test]
    fn every_provider_of_the_demo_config_is_a_real_one() {
        let world = World::load(chrono::Utc::now()).unwrap_or_else(|e| panic!("{e}"));
        let text = config_text(
            &world,
            &Urls {
                pagerduty: "http://127.0.0.1:1",
                alertmanager: "http://127.0.0.1:2",
                prometheus: "http://127.0.0.1:3",
                github: "http://127.0.0.1:4",
                vercel: "http://127.0.0.1:5",
                launchdarkly: "http://127.0.0.1:6",
                unleash: "http://127.0.0.1:7",
                flagd_file: Path::new("/tmp/x \"y\"/flags.json"),
            },
        );
        let config = crate::config::parse(&text, Path::new("demo.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let kinds: Vec<&str> = config.providers().map(|p| p.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "pagerduty",
                "alertmanager",
                "prometheus",
                "github",
                "vercel",
                "launchdarkly",
                "unleash",
                "flagd"
            ]
        );
        assert_eq!(config.slo.len(), world.slos.len());
        let checkout = config.service.iter().find(|s| s.name == "checkout");
        assert_eq!(
            checkout.and_then(|s| s.kill_switch.as_deref()),
            Some("checkout-payments-v3")
        );
    }
}
