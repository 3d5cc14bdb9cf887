//! The deploy and SLO depth of the console on demo data: the SLO charts
//! (burn history against the page and ticket thresholds, the budget
//! burndown over the window) at 160x45 and 80x24, the rollback target
//! picker (the live deploy, the candidates, the suspect marked, Vercel
//! previews to promote), and a deploy's log URL and commit range read by
//! the real GitHub provider from the demo's simulator. The promote the
//! picker offers goes through the audited executor like every action.

use crate::common::screen::{now, state, text};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::actions::{ActionRequest, Executor, Mode};
use sitrep::audit::{self, AuditLog, Outcome, Phase};
use sitrep::ops::WriteOp;
use sitrep::tui::state::{Modal, State, View, demo_state};
use sitrep::tui::update::{Effect, Msg, update};
use std::sync::Arc;

fn key(s: &mut State, c: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))).0
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

fn select_slo(s: &mut State, name: &str) {
    key(s, KeyCode::Char('3'));
    let idx = s
        .slos()
        .iter()
        .position(|x| x.name.as_str() == name)
        .unwrap();
    s.list_mut(View::Slos).selected = idx;
}

/// 160x45: the numbers, then the burn history with all four thresholds
/// named, then the budget burndown from 100 % at the window's start to
/// the figure shown beside it.
#[test]
fn both_slo_charts_at_160x45() {
    let mut s = state();
    select_slo(&mut s, "checkout-availability");
    let slo = s.selected_slo().unwrap().clone();
    assert_eq!(slo.budget_history.len(), 31, "{:?}", slo.budget_history);
    assert_eq!(slo.budget_history[0], 1.0);
    assert_eq!(
        slo.budget_history.last().copied(),
        slo.error_budget_remaining
    );
    let out = text(&mut s, 160, 45);
    for want in [
        "1h burn, last 24h",
        "14.4x 6x page",
        "3x 1x ticket",
        "-24h",
        "budget left over the 30d window, now -12%",
        "-30d",
        "-15d",
        "100%",
        "0% = spent",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    snap!("slo_charts_160x45", out);
}

/// 80x24: the numbers beside one chart; `c` shows the other.
#[test]
fn one_slo_chart_beside_the_numbers_at_80x24_and_c_switches() {
    let mut s = state();
    select_slo(&mut s, "checkout-availability");
    let out = text(&mut s, 80, 24);
    for want in ["1h burn", "page", "-24h", "now", "c budget", "PAGE FROZEN"] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    snap!("slo_burn_chart_80x24", out);
    key(&mut s, KeyCode::Char('c'));
    let out = text(&mut s, 80, 24);
    for want in ["budget left over the 30d", "-30d", "100%", "c burn"] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    assert!(!out.contains("-24h"), "{out}");
    snap!("slo_budget_chart_80x24", out);
}

/// An SLO without data says so where the charts would be.
#[test]
fn an_slo_without_data_says_why_it_has_no_chart() {
    let mut s = state();
    select_slo(&mut s, "search-indexing-freshness");
    let out = text(&mut s, 160, 45);
    assert!(out.contains("no burn history"), "{out}");
    assert!(out.contains("no budget history"), "{out}");
}

fn select_deploy(s: &mut State, pred: impl Fn(&sitrep::model::Deploy) -> bool) {
    key(s, KeyCode::Char('4'));
    let idx = s.deploys().iter().position(|d| pred(d)).unwrap();
    s.list_mut(View::Deploys).selected = idx;
}

/// `b` on the live checkout deploy: the live one is named (and marked
/// suspect: it went out shortly before the checkout incident), the first
/// row leaves the choice to the provider, the older good deploys follow
/// with the likely one marked `default`; j/Enter picks one, Esc keeps
/// production as it is.
#[test]
fn the_rollback_picker_lists_the_candidates_and_marks_the_suspect() {
    let mut s = state();
    // The suspects come from the timeline, built while Deploys is shown.
    select_deploy(&mut s, |d| d.service.as_str() == "checkout" && d.current);
    assert!(key(&mut s, KeyCode::Char('b')).is_empty());
    let Some(Modal::RollbackPick(p)) = &s.ui.modal else {
        panic!("no picker: {:?}", s.ui.modal);
    };
    let p = p.clone();
    assert!(
        p.live.as_ref().unwrap().1.is_some(),
        "live not suspect: {p:?}"
    );
    assert_eq!(p.rows[0].id, None);
    assert!(p.rows.iter().filter(|c| c.default).count() == 1, "{p:?}");
    assert!(p.rows.iter().all(|c| !c.promote));
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&mut s, w, h);
        for want in [
            "Roll back checkout / production",
            "live now",
            "⚠ suspect",
            "default",
        ] {
            assert!(out.contains(want), "{w}x{h}: {want} missing:\n{out}");
        }
        snap!(format!("rollback_picker_{w}x{h}"), out);
    }
    // j moves to the first explicit deploy; Enter asks the reason for it.
    key(&mut s, KeyCode::Char('j'));
    let fx = key(&mut s, KeyCode::Enter);
    let [Effect::Probe(op)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        op,
        &WriteOp::Rollback {
            provider: Some("gh".into()),
            service: "checkout".into(),
            environment: "production".into(),
            to: p.rows[1].id.clone(),
        }
    );
    // Esc in the picker sends nothing.
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('b'));
    assert!(key(&mut s, KeyCode::Esc).is_empty());
    assert!(s.ui.modal.is_none());
}

/// A Vercel preview row: the picker is for production, and the preview
/// is offered to promote. Chosen, it is planned by the real Vercel
/// provider (the promote endpoint) against the demo's simulator,
/// executed and recorded in the audit log, intent before result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vercel_preview_is_promoted_through_the_picker_and_audited() {
    let mut s = demo_state(now()).await;
    select_deploy(&mut s, |d| d.environment.as_str() == "preview");
    key(&mut s, KeyCode::Char('b'));
    let Some(Modal::RollbackPick(p)) = &s.ui.modal else {
        panic!("no picker: {:?}", s.ui.modal);
    };
    let WriteOp::Rollback { environment, .. } = &p.op else {
        panic!()
    };
    assert_eq!(environment, "production");
    let row = &p.rows[p.selected];
    assert!(row.promote, "{p:?}");
    assert_eq!(row.id.as_deref(), Some("dpl_5PrvWq2HsT8yLm4NcJ7xKd3B"));
    let out = text(&mut s, 160, 45);
    assert!(
        out.contains("promote") && out.contains("fix/search-timeouts"),
        "{out}"
    );
    snap!("promote_picker_160x45", out);
    key(&mut s, KeyCode::Enter);
    for c in "ship the timeout fix".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let fx = key(&mut s, KeyCode::Enter);
    let Some(Effect::Plan { op, reason }) =
        fx.into_iter().find(|f| matches!(f, Effect::Plan { .. }))
    else {
        panic!("no plan")
    };
    // The real provider against the simulator, through the executor.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let reg = sitrep::providers::Registry::demo(chrono::Utc::now());
    let ex = Executor::new(
        reg,
        Arc::new(AuditLog::new(&path, sitrep::audit::Signer::ephemeral())),
    )
    .with_actor("sam@example.com", "laptop");
    let req = ActionRequest {
        op,
        reason,
        incident: None,
        runbook: None,
    };
    let plan = ex.plan(&req).await.unwrap();
    assert_eq!(plan.detail["action"], "promote", "{:?}", plan.detail);
    assert!(
        plan.summary.starts_with("promote search/production"),
        "{}",
        plan.summary
    );
    assert!(
        plan.requests[0]
            .url
            .contains("/promote/dpl_5PrvWq2HsT8yLm4NcJ7xKd3B"),
        "{:?}",
        plan.requests[0].url
    );
    let done = ex.execute(&req, &plan, Mode::Live).await.unwrap();
    assert_eq!(done.outcome, Outcome::Ok);
    let (recs, _) = audit::read(&path).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].phase, Phase::Intent);
    assert_eq!(recs[1].phase, Phase::Result);
    assert_eq!(recs[0].reason, "ship the timeout fix");
    assert!(audit::verify(&path).is_ok());
}

/// The live checkout deploy's details: its log URL, and the commits
/// since the deploy before it, read by the real GitHub provider from the
/// demo's simulator (`GET /repos/{o}/{r}/compare/{base}...{head}`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploys_details_show_its_logs_and_its_commits() {
    let mut s = demo_state(now()).await;
    key(&mut s, KeyCode::Char('4'));
    let idx = s
        .deploys()
        .iter()
        .position(|d| d.service.as_str() == "checkout" && d.current)
        .unwrap();
    s.list_mut(View::Deploys).selected = idx;
    // Moving onto the row asks for its range once.
    let fx = key(&mut s, KeyCode::Char('j'));
    let fx2 = key(&mut s, KeyCode::Char('k'));
    let load = fx
        .iter()
        .chain(&fx2)
        .find_map(|f| match f {
            Effect::LoadCommits {
                provider,
                service,
                base,
                head,
            } if head.starts_with("9f3c2ab") => Some((
                provider.clone(),
                service.clone(),
                base.clone(),
                head.clone(),
            )),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no range read: {fx:?} {fx2:?}"));
    assert_eq!(load.0, "gh");
    let again = key(&mut s, KeyCode::Char('j'));
    let again2 = key(&mut s, KeyCode::Char('k'));
    assert!(
        !again
            .iter()
            .chain(&again2)
            .any(|f| matches!(f, Effect::LoadCommits { head, .. } if *head == load.3)),
        "read twice"
    );
    let out = text(&mut s, 160, 45);
    assert!(out.contains("(reading…)"), "{out}");
    let reg = sitrep::providers::Registry::demo(chrono::Utc::now());
    let result = reg
        .get("gh")
        .unwrap()
        .deploy_commits(&load.1, &load.2, &load.3)
        .await
        .map_err(|e| e.to_string());
    let range = result.clone().unwrap();
    assert_eq!(range.status.as_str(), "ahead");
    assert!(range.total >= 1 && !range.commits.is_empty(), "{range:?}");
    update(
        &mut s,
        Msg::DeployCommits {
            key: (load.0.clone(), load.2.clone(), load.3.clone()),
            result,
        },
    );
    let out = text(&mut s, 160, 45);
    for want in [
        "logs",
        "https://github.com/acme/checkout/actions/runs/1893",
        "commits   4e1d09c..9f3c2ab: 1 commit",
        "9f3c2ab payments client: switch to gateway v3 API —",
        "https://github.com/acme/checkout/compare/",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    snap!("deploy_commits_160x45", out);
}

/// `S` in SLOs: by name, then the least budget left first, then the
/// hottest 1h burn first (no data last), then the state; the header marks it.
#[test]
fn slos_sort_by_budget_burn_and_state() {
    let mut s = state();
    key(&mut s, KeyCode::Char('3'));
    key(&mut s, KeyCode::Char('S'));
    let names: Vec<String> = s.slos().iter().map(|x| x.name.to_string()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    key(&mut s, KeyCode::Char('S'));
    let budgets: Vec<Option<f64>> = s.slos().iter().map(|x| x.error_budget_remaining).collect();
    let known: Vec<f64> = budgets.iter().flatten().copied().collect();
    assert!(known.windows(2).all(|w| w[0] <= w[1]), "{budgets:?}");
    assert_eq!(budgets.last(), Some(&None), "{budgets:?}");
    assert!(text(&mut s, 160, 45).contains("BUDGET▲"));
    key(&mut s, KeyCode::Char('S'));
    let burns: Vec<f64> = s.slos().iter().filter_map(|x| x.burn_rates.h1).collect();
    assert!(burns.windows(2).all(|w| w[0] >= w[1]), "{burns:?}");
    key(&mut s, KeyCode::Char('S'));
    assert_eq!(
        s.slos()[0].gate,
        sitrep::model::Gate::Frozen,
        "frozen first by state"
    );
}

/// A range that could not be read is said in words in the pane; the rest
/// of the details stay.
#[test]
fn a_failed_commit_range_is_said_in_the_pane() {
    let mut s = state();
    select_deploy(&mut s, |d| d.service.as_str() == "checkout" && d.current);
    let d = s.selected_deploy().unwrap().clone();
    let base = sitrep::tui::deploy_depth::base_of(&s, &d).unwrap().clone();
    let key = sitrep::tui::deploy_depth::key_of(&base, &d);
    update(
        &mut s,
        Msg::DeployCommits {
            key,
            result: Err("gh: rate limited (429), retry in 41s".into()),
        },
    );
    let out = text(&mut s, 160, 45);
    assert!(
        out.contains("4e1d09c..9f3c2ab: gh: rate limited (429)"),
        "{out}"
    );
    assert!(out.contains("v2.14.0"), "{out}");
}

/// `d` describes a row of any list: a deploy (with its log URL), a flag,
/// an SLO (the SPEC shape, without the chart series).
#[test]
fn d_describes_deploys_flags_and_slos() {
    let mut s = state();
    select_deploy(&mut s, |d| d.service.as_str() == "checkout" && d.current);
    key(&mut s, KeyCode::Char('d'));
    let Some(Modal::Describe { title, lines, .. }) = &s.ui.modal else {
        panic!("no describe: {:?}", s.ui.modal);
    };
    assert_eq!(title, "deploy gh/1893 · JSON");
    let json = lines.join("\n");
    assert!(
        json.contains("\"log_url\": \"https://github.com/acme/checkout/actions/runs/1893\""),
        "{json}"
    );
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char('5'));
    key(&mut s, KeyCode::Char('d'));
    let Some(Modal::Describe { title, .. }) = &s.ui.modal else {
        panic!("no describe: {:?}", s.ui.modal);
    };
    assert!(title.starts_with("flag "), "{title}");
    key(&mut s, KeyCode::Esc);
    select_slo(&mut s, "checkout-availability");
    key(&mut s, KeyCode::Char('d'));
    let Some(Modal::Describe { title, lines, .. }) = &s.ui.modal else {
        panic!("no describe: {:?}", s.ui.modal);
    };
    assert_eq!(title, "SLO prom/checkout-availability · JSON");
    let json = lines.join("\n");
    assert!(json.contains("\"burn_rates\""), "{json}");
    assert!(!json.contains("history"), "{json}");
}
