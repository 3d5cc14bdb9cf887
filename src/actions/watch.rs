//! The watch after an action, on the executor's side: [`drive`] polls a
//! [`Watch`] until it concludes, and [`record`] writes its verdict to the
//! audit log as a result-only `watch` record. The verdict rule itself is
//! the pure core in `crate::watch`.

use super::{ActionRequest, ExecError, Executed, Executor, Mode};
use crate::model::Snapshot;
use crate::ops::WriteOp;
use crate::watch::{Verdict, Watch};
use chrono::Duration;

/// The audited request recording `verdict` (a result-only `watch` record).
pub fn audit_request(watch: &Watch, verdict: &Verdict, incident: Option<String>) -> ActionRequest {
    let mut detail = verdict.detail();
    if let Some(o) = detail.as_object_mut() {
        o.insert("after".into(), serde_json::json!(watch.after_action()));
        o.insert("service".into(), serde_json::json!(watch.service()));
        o.insert(
            "window_secs".into(),
            serde_json::json!(watch.config().window.num_seconds()),
        );
    }
    ActionRequest {
        op: WriteOp::Watch {
            target: watch.target().to_string(),
            service: watch.service().to_string(),
            verdict: verdict.kind.label().to_string(),
            detail,
        },
        reason: verdict.summary.as_str().to_string(),
        incident,
        runbook: None,
    }
}

/// Write the verdict to the audit log through the executor (allowed in
/// read-only mode, like a runbook tick: it changes nothing outside sitrep).
pub async fn record(
    ex: &Executor,
    watch: &Watch,
    verdict: &Verdict,
    incident: Option<String>,
) -> Result<Executed, ExecError> {
    let req = audit_request(watch, verdict, incident);
    let plan = ex.plan(&req).await?;
    ex.execute(&req, &plan, Mode::Live).await
}

/// Poll `fetch` every `poll` until the watch concludes (at the latest at
/// its deadline) and return the final verdict. `progress` sees every
/// provisional assessment. Time is the watch's start plus the elapsed
/// monotonic time, so a paused tokio clock drives it in tests.
pub async fn drive<F, Fut>(
    watch: &mut Watch,
    poll: std::time::Duration,
    mut fetch: F,
    mut progress: impl FnMut(&Verdict),
) -> Verdict
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Snapshot>,
{
    let t0 = tokio::time::Instant::now();
    let started = watch.started();
    let poll = poll.max(std::time::Duration::from_millis(10));
    loop {
        let now = started + Duration::from_std(t0.elapsed()).unwrap_or(Duration::zero());
        let left = (watch.deadline() - now).to_std().unwrap_or_default();
        tokio::time::sleep(poll.min(left)).await;
        let snap = fetch().await;
        let now = started + Duration::from_std(t0.elapsed()).unwrap_or(Duration::zero());
        if let Some(v) = watch.observe(&snap, now) {
            return v;
        }
        if let Some(v) = watch.latest() {
            progress(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::VerdictKind;
    use crate::watch::tests::{at, snap, t0};

    #[test]
    fn audit_request_is_a_local_watch_record_without_floats() {
        let mut w = Watch::new("checkout", &snap(Some(31.0), &["I1"]), t0())
            .after("rollback", "checkout/production");
        w.observe(&snap(Some(5.0), &["I1"]), at(10));
        let v = w.verdict().cloned().expect("verdict");
        let req = audit_request(&w, &v, Some("Q1".into()));
        assert_eq!(req.op.action_name(), "watch");
        assert_eq!(req.op.target(), "checkout/production");
        assert_eq!(req.incident.as_deref(), Some("Q1"));
        let WriteOp::Watch { detail, .. } = &req.op else {
            panic!("not a watch op");
        };
        assert!(crate::audit::canonical(detail).is_ok(), "{detail}");
        assert_eq!(detail["burn_5m_before"], "31.000");
        assert_eq!(detail["after"], "rollback");
    }

    #[tokio::test(start_paused = true)]
    async fn driver_polls_until_the_deadline_and_records() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("audit.jsonl");
        let ex = Executor::new(
            crate::providers::Registry::default(),
            std::sync::Arc::new(crate::audit::AuditLog::new(
                &path,
                crate::audit::Signer::ephemeral(),
            )),
        )
        .with_read_only(true);
        let mut w = Watch::new("checkout", &snap(Some(31.0), &["I1"]), t0())
            .with_window(Duration::minutes(3))
            .after("flag.off", "checkout-payments-v3");
        let mut burns = vec![31.0, 20.0, 10.0, 5.0, 5.0, 5.0].into_iter();
        let mut seen = 0;
        let v = drive(
            &mut w,
            std::time::Duration::from_secs(60),
            || {
                let b = burns.next().unwrap_or(5.0);
                async move { snap(Some(b), &["I1"]) }
            },
            |_| seen += 1,
        )
        .await;
        assert_eq!(v.kind, VerdictKind::Recovering);
        assert_eq!(v.elapsed_secs, 180);
        assert_eq!(seen, 2);
        let done = record(&ex, &w, &v, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(done.records.len(), 1);
        let (recs, bad) = crate::audit::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((recs.len(), bad), (1, 0));
        assert_eq!(recs[0].action, "watch");
        assert_eq!(recs[0].phase, crate::audit::Phase::Result);
        assert_eq!(recs[0].outcome, crate::audit::Outcome::Ok);
        assert_eq!(recs[0].target, "checkout-payments-v3");
        assert_eq!(recs[0].provider, None);
        assert_eq!(recs[0].detail["verdict"], "recovering");
        assert!(
            recs[0]
                .reason
                .starts_with("checkout recovering: 5m burn 31.0x -> 10.0x")
        );
        assert!(crate::audit::verify(&path).is_ok());
    }
}
