//! The embedded demo: deterministic, realistic data for four services,
//! served through the same `Provider` trait as the real providers. Its
//! write actions change the demo state in memory, so the whole flow
//! (confirm, execute, audit, see the change) can be tried with `--demo`.
//!
//! - [`world`] loads the data (`world.toml`, embedded) relative to "now";
//! - `plan` plans and applies the write actions on it.

mod plan;
mod world;

pub use world::World;

use super::{BoxFut, ErrorKind, Provider, ProviderError};
use crate::config::ProviderKind;
use crate::model::*;
use crate::ops::{ExecResult, Plan, PlanCtx, WriteOp};
use crate::text::SafeText;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn t(s: &str) -> SafeText {
    SafeText::line(s)
}

fn ot(s: &str) -> Option<SafeText> {
    Some(SafeText::line(s))
}

/// One named demo provider serving a slice of the world.
pub struct Demo {
    name: &'static str,
    serves: Serves,
    /// The shared world, or why the embedded data did not load.
    world: Result<Arc<Mutex<World>>, String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Serves {
    Incidents,
    Alerts,
    Slos,
    Deploys,
    Flags,
}

/// The demo providers: pd, am, prom, gh, ld, sharing one world.
pub fn providers(now: Time) -> Vec<Arc<dyn Provider>> {
    let world = World::load(now).map(|w| Arc::new(Mutex::new(w)));
    [
        ("pd", Serves::Incidents),
        ("am", Serves::Alerts),
        ("prom", Serves::Slos),
        ("gh", Serves::Deploys),
        ("ld", Serves::Flags),
    ]
    .into_iter()
    .map(|(name, serves)| {
        Arc::new(Demo {
            name,
            serves,
            world: world.clone(),
        }) as Arc<dyn Provider>
    })
    .collect()
}

impl Demo {
    fn world(&self) -> Result<std::sync::MutexGuard<'_, World>, ProviderError> {
        let world = self
            .world
            .as_ref()
            .map_err(|e| ProviderError::new(self.name, ErrorKind::Malformed, e))?;
        world
            .lock()
            .map_err(|_| ProviderError::new(self.name, ErrorKind::Unknown, "demo state poisoned"))
    }

    fn snapshot(&self) -> Result<Fetched, ProviderError> {
        let w = self.world()?;
        let mut f = Fetched::default();
        match self.serves {
            Serves::Incidents => {
                f.incidents = w
                    .incidents
                    .iter()
                    .filter(|i| i.provider.as_str() == "pd")
                    .cloned()
                    .collect();
                f.oncall = w.oncall.clone();
            }
            Serves::Alerts => {
                f.incidents = w
                    .incidents
                    .iter()
                    .filter(|i| i.provider.as_str() == "am")
                    .cloned()
                    .collect();
            }
            Serves::Slos => f.slos = w.slos.clone(),
            Serves::Deploys => f.deploys = w.deploys.clone(),
            Serves::Flags => f.flags = w.flags.clone(),
        }
        Ok(f)
    }

    fn url(&self, path: &str) -> String {
        format!("demo://{}{}", self.name, path)
    }
}

impl Provider for Demo {
    fn name(&self) -> &str {
        self.name
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Demo
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(15)
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async move { self.snapshot() })
    }
    fn supports(&self, op: &WriteOp) -> bool {
        matches!(
            (self.serves, op),
            (
                Serves::Incidents,
                WriteOp::IncidentAck { .. }
                    | WriteOp::IncidentResolve { .. }
                    | WriteOp::IncidentNote { .. },
            ) | (Serves::Alerts, WriteOp::SilenceCreate { .. })
                | (Serves::Deploys, WriteOp::Rollback { .. })
                | (Serves::Flags, WriteOp::FlagSet { .. })
        )
    }
    fn plan<'a>(
        &'a self,
        op: &'a WriteOp,
        _ctx: &'a PlanCtx,
    ) -> BoxFut<'a, Result<Plan, ProviderError>> {
        Box::pin(async move {
            if !self.supports(op) {
                return Err(ProviderError::op_unsupported(self.name, "the demo", op));
            }
            self.make_plan(op)
        })
    }
    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        _key: &'a str,
    ) -> BoxFut<'a, Result<ExecResult, ProviderError>> {
        Box::pin(async move { self.apply(plan) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> Time {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
            .single()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn demo_has_every_kind_of_data() {
        let ps = providers(now());
        let mut all = Vec::new();
        for p in &ps {
            all.push(p.fetch().await.unwrap());
        }
        let s = Snapshot::assemble(now(), vec![], all.iter());
        assert_eq!(s.open_counts()[0], 1);
        assert!(
            s.incidents
                .iter()
                .any(|i| i.status == IncidentStatus::Acknowledged)
        );
        assert!(
            s.slos
                .iter()
                .any(|s| s.gate == Gate::Frozen && s.page_firing())
        );
        assert!(s.slos.iter().any(|s| s.gate == Gate::Open && s.has_data()));
        assert!(s.slos.iter().any(|s| !s.has_data()));
        assert!(s.deploys.iter().any(|d| d.state == DeployState::Failure));
        assert!(s.flags.iter().any(|f| f.kill_switch));
        assert!(!s.oncall.is_empty());
    }

    #[tokio::test]
    async fn demo_rollback_picks_previous_good_and_applies() {
        let ps = providers(now());
        let gh = ps.iter().find(|p| p.name() == "gh").unwrap();
        let op = WriteOp::Rollback {
            provider: None,
            service: "checkout".into(),
            environment: "production".into(),
            to: None,
        };
        let plan = gh.plan(&op, &PlanCtx::default()).await.unwrap();
        assert_eq!(plan.detail["to_id"], "1871");
        gh.execute(&plan, "k").await.unwrap();
        let f = gh.fetch().await.unwrap();
        let live: Vec<_> = f
            .deploys
            .iter()
            .filter(|d| {
                d.current
                    && d.service.as_str() == "checkout"
                    && d.environment.as_str() == "production"
            })
            .collect();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].sha.as_str(), "4e1d09c3aa87b210");
        // Only one good deploy left before the failed newest: payments.
        let op = WriteOp::Rollback {
            provider: None,
            service: "payments".into(),
            environment: "production".into(),
            to: None,
        };
        let e = gh.plan(&op, &PlanCtx::default()).await.unwrap_err();
        assert!(e.to_string().contains("no earlier good deploy"), "{e}");
    }

    #[tokio::test]
    async fn demo_flag_off_changes_state() {
        let ps = providers(now());
        let ld = ps.iter().find(|p| p.name() == "ld").unwrap();
        let op = WriteOp::FlagSet {
            provider: None,
            key: "checkout-payments-v3".into(),
            environment: None,
            on: false,
        };
        assert!(!ps[0].supports(&op));
        let plan = ld.plan(&op, &PlanCtx::default()).await.unwrap();
        ld.execute(&plan, "k").await.unwrap();
        let f = ld.fetch().await.unwrap();
        assert!(
            !f.flags
                .iter()
                .find(|f| f.key.as_str() == "checkout-payments-v3")
                .unwrap()
                .on
        );
    }
}
