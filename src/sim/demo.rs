//! `--demo`: the demo company's vendors, simulated on loopback, and the
//! config that points the real providers at them. What the demo reads,
//! plans, shows in a confirm dialog and sends is then the real providers'
//! code; only the vendors are simulated.
//!
//! The company is `providers/demo/world.toml` (times relative to the
//! moment the demo starts). PagerDuty ([`super::pagerduty`]) and GitHub
//! ([`super::github`], with the company's CD) are simulated;
//! the other vendors are still served by the in-memory demo providers
//! (`providers::demo`) until their simulators exist.

use super::github::{self, Github};
use super::pagerduty::{self, PagerDuty};
use super::{Background, Handler};
use crate::config::{Config, SecretRef};
use crate::model::{Severity, Time};
use crate::providers::Registry;
use crate::secrets::{Secret, SecretSource};
use std::sync::Arc;

/// The token every demo vendor accepts (and the demo's providers send).
pub const TOKEN: &str = "sitrep-demo-token";
/// Who the demo's PagerDuty writes are from.
pub const FROM: &str = "you@acme.example";

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
    pub github: Arc<Github>,
}

/// How long a deployment the demo creates takes to go live.
pub const DEPLOY_TIME: std::time::Duration = std::time::Duration::from_secs(4);

/// Keeps the simulators running as long as a registry holds it.
struct Running(#[allow(dead_code)] Background);

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

/// The demo's services: name, runbooks, flags (`[[service]]`).
const SERVICES: &[(&str, &[&str], &[&str])] = &[
    ("checkout", &["rollback"], &[]),
    ("payments", &["db-failover"], &[]),
    ("auth", &["auth-outage"], &[]),
    ("search", &[], &[]),
];

/// The config of the demo, pointing at the simulators' URLs.
pub fn config_text(pd_url: &str, gh_url: &str) -> String {
    let mut s = format!(
        r#"# The demo company, as sitrep's config would describe it.
[[provider]]
name = "pd"
kind = "pagerduty"
base_url = "{pd_url}"
from = "{FROM}"
poll = "15s"

[[provider]]
name = "gh"
kind = "github"
base_url = "{gh_url}"
repos = ["acme/checkout", "acme/payments", "acme/auth", "acme/search"]
environments = ["production", "staging"]
poll = "15s"
"#
    );
    for (name, runbooks, flags) in SERVICES {
        let quoted = |v: &[&str]| {
            v.iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!(
            "\n[[service]]\nname = {name:?}\npagerduty_services = [{:?}]\nrunbooks = [{}]\nflags = [{}]\ndeploys = {{ provider = \"gh\", repo = \"acme/{name}\" }}\n",
            pd_service_id(name),
            quoted(runbooks),
            quoted(flags)
        ));
    }
    s
}

/// Start the demo at `now`: load the company, start its simulators,
/// build the real providers against them.
pub fn start(now: Time) -> Result<Demo, String> {
    // Whole seconds, as the vendors' timestamps are.
    let now = chrono::DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let world = crate::providers::demo::World::load(now)?;
    let pd = Arc::new(PagerDuty::new(TOKEN));
    for i in world
        .incidents
        .iter()
        .filter(|i| i.provider.as_str() == "pd")
    {
        let service = i.service.as_ref().map(|s| s.as_str()).unwrap_or("-");
        pd.add_incident(&pagerduty::Incident {
            id: i.id.to_string(),
            title: i.title.to_string(),
            status: match i.status {
                crate::model::IncidentStatus::Acknowledged => "acknowledged",
                crate::model::IncidentStatus::Resolved => "resolved",
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
            service_id: pd_service_id(service),
            service_name: service.to_string(),
            created_at: i.created_at,
            assignee: i.assignee.as_ref().map(|a| a.to_string()),
        });
    }
    for o in &world.oncall {
        pd.add_oncall(&pagerduty::OnCall {
            policy: o.policy.to_string(),
            level: o.level,
            user: o.user.to_string(),
            end: o.until,
        });
    }
    let gh = Arc::new(Github::new(TOKEN, DEPLOY_TIME));
    for d in &world.deploys {
        gh.add(&github::Deployment {
            repo: format!("acme/{}", d.service),
            environment: d.environment.to_string(),
            id: d.id.as_str().parse().unwrap_or(0),
            git_ref: d.git_ref.to_string(),
            sha: d.sha.to_string(),
            state: match d.state {
                crate::model::DeployState::Success => "success",
                crate::model::DeployState::Failure => "failure",
                crate::model::DeployState::InProgress => "in_progress",
                crate::model::DeployState::Inactive => "inactive",
                _ => "queued",
            }
            .into(),
            created_at: d.created_at,
            creator: d
                .creator
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            description: d
                .description
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
        });
    }
    let handlers: Vec<Arc<dyn Handler>> = vec![pd.clone(), gh.clone()];
    let bg = Background::start(handlers)
        .map_err(|e| format!("cannot start the demo's simulators: {e}"))?;
    let pd_url = bg.url(0).unwrap_or_default();
    let gh_url = bg.url(1).unwrap_or_default();
    let config = crate::config::parse(
        &config_text(&pd_url, &gh_url),
        std::path::Path::new("demo.toml"),
    )
    .map_err(|e| format!("the demo's config is malformed: {e}"))?;
    let mut registry = Registry::from_config(&config, &DemoSecrets);
    registry.providers.extend(
        crate::providers::demo::providers(now)
            .into_iter()
            .filter(|p| !matches!(p.name(), "pd" | "gh")),
    );
    // The order the demo has always shown them in.
    let order = ["pd", "am", "prom", "gh", "ld"];
    registry
        .providers
        .sort_by_key(|p| order.iter().position(|n| *n == p.name()));
    registry.demo = true;
    registry.keep.push(Arc::new(Running(bg)));
    Ok(Demo {
        registry,
        config,
        pagerduty: pd,
        github: gh,
    })
}
