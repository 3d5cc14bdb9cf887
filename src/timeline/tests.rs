//! The timeline, end to end: ordering, the correlation rule, deduplication.

use super::*;
use chrono::TimeZone;

fn now() -> Time {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 0, 0)
        .single()
        .unwrap_or_default()
}

fn ago(m: i64) -> Time {
    now() - Duration::minutes(m)
}

fn deploy(svc: &str, id: &str, mins: i64) -> Deploy {
    Deploy {
        provider: SafeText::line("gh"),
        service: SafeText::line(svc),
        environment: SafeText::line("production"),
        id: SafeText::line(id),
        git_ref: SafeText::line("v1"),
        sha: SafeText::line("abcdef0123"),
        state: DeployState::Success,
        provider_state: SafeText::line("success"),
        created_at: ago(mins),
        creator: Some(SafeText::line("bob")),
        url: None,
        current: true,
        log_url: None,
        description: None,
    }
}

fn incident(svc: &str, id: &str, sev: Severity, mins: i64) -> Incident {
    Incident {
        provider: SafeText::line("pd"),
        id: SafeText::line(id),
        labels: Default::default(),
        title: SafeText::line("it broke"),
        severity: sev,
        status: IncidentStatus::Triggered,
        service: Some(SafeText::line(svc)),
        created_at: ago(mins),
        url: None,
        assignee: None,
        runbook: None,
    }
}

fn flag(key: &str, svc: &str, mins: i64) -> Flag {
    Flag {
        provider: SafeText::line("ld"),
        key: SafeText::line(key),
        name: SafeText::line(key),
        environment: Some(SafeText::line("production")),
        on: true,
        kill_switch: true,
        updated_at: Some(ago(mins)),
        url: None,
        service: Some(SafeText::line(svc)),
    }
}

fn record(seq: u64, action: &str, target: &str, mins: i64, outcome: Outcome) -> Record {
    Record {
        action: action.into(),
        actor: "alice".into(),
        demo: false,
        detail: serde_json::Value::Null,
        hash: String::new(),
        host: "box".into(),
        idempotency_key: None,
        incident: None,
        key_id: None,
        outcome,
        phase: Phase::Result,
        prev: String::new(),
        provider: Some("ld".into()),
        reason: "why".into(),
        runbook: None,
        seq,
        sig: None,
        target: target.into(),
        ts: ago(mins).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    }
}

fn opts() -> Options {
    Options::new(now(), now() - Duration::hours(24))
}

fn find<'a>(ev: &'a [Event], r: &str) -> &'a Event {
    ev.iter()
        .find(|e| e.reference.as_ref().map(|x| x.as_str()) == Some(r))
        .unwrap_or_else(|| panic!("no event {r}"))
}

#[test]
fn newest_first_with_slo_state_on_top() {
    let mut snap = Snapshot {
        deploys: vec![deploy("a", "1", 50), deploy("b", "2", 5)],
        incidents: vec![incident("c", "I1", Severity::Sev3, 20)],
        flags: vec![flag("f", "d", 70)],
        ..Default::default()
    };
    let mut burning = crate::sim::demo::snapshot_blocking(now())
        .unwrap_or_else(|e| panic!("{e}"))
        .slos;
    burning.retain(|s| s.page_firing());
    assert!(!burning.is_empty());
    snap.slos = burning;
    let recs = vec![record(3, "rollback", "a/production", 1, Outcome::Ok)];
    let ev = build(&snap, &recs, &opts());
    let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Slo,
            EventKind::Action,
            EventKind::Deploy,
            EventKind::Incident,
            EventKind::Deploy,
            EventKind::Flag
        ]
    );
    assert!(ev.windows(2).skip(1).all(|w| w[0].ts >= w[1].ts));
    assert_eq!(when(&ev[0], now()), "now");
    assert_eq!(when(&ev[1], now()), "1m ago");
}

/// The events' references, in the timeline's order.
fn refs(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| e.reference.as_ref().map(|r| r.as_str().to_string()))
        .collect()
}

#[test]
fn since_leaves_old_events_out_but_same_time_ties_are_stable() {
    let snap = Snapshot {
        deploys: vec![
            deploy("a", "2", 10),
            deploy("a", "1", 10),
            deploy("a", "0", 300),
        ],
        ..Default::default()
    };
    let o = Options::new(now(), now() - Duration::hours(2));
    let ev = build(&snap, &[], &o);
    assert_eq!(refs(&ev), ["gh/1", "gh/2"]);
}

/// Every source is cut at `since` before its events are made (the
/// console's cached incidents are mostly older than a day): what is left
/// is what the full build would show, suspects included.
#[test]
fn since_applies_to_incidents_flags_and_deploys_alike() {
    let snap = Snapshot {
        deploys: vec![
            deploy("checkout", "old", 300),
            deploy("checkout", "new", 11),
        ],
        incidents: vec![
            incident("checkout", "QOLD", Severity::Sev1, 299),
            incident("checkout", "QNEW", Severity::Sev2, 7),
        ],
        flags: vec![
            flag("old-flag", "checkout", 400),
            flag("new-flag", "search", 5),
        ],
        ..Default::default()
    };
    let o = Options::new(now(), now() - Duration::hours(2));
    let ev = build(&snap, &[], &o);
    let refs = refs(&ev);
    assert!(refs.contains(&"gh/new".to_string()), "{refs:?}");
    assert!(refs.contains(&"pd/QNEW".to_string()), "{refs:?}");
    assert!(
        !refs.iter().any(|r| r.contains("old") || r.contains("OLD")),
        "{refs:?}"
    );
    let s = find(&ev, "gh/new").suspect.as_ref().expect("suspect");
    assert_eq!(s.incident.as_ref().map(|x| x.as_str()), Some("QNEW"));
}

#[test]
fn deploy_shortly_before_an_incident_on_the_same_service_is_suspect() {
    let snap = Snapshot {
        deploys: vec![deploy("checkout", "1893", 11)],
        incidents: vec![incident("checkout", "Q1CHK5XZ01", Severity::Sev1, 7)],
        ..Default::default()
    };
    let ev = build(&snap, &[], &opts());
    let s = find(&ev, "gh/1893").suspect.as_ref().expect("suspect");
    assert_eq!(
        s.reason.as_str(),
        "deployed 4m before SEV1 Q1CHK5XZ01 on checkout"
    );
    assert_eq!(s.incident.as_ref().map(|x| x.as_str()), Some("Q1CHK5XZ01"));
    // The incident itself is no suspect.
    assert!(find(&ev, "pd/Q1CHK5XZ01").suspect.is_none());
}

#[test]
fn other_service_is_not_correlated() {
    let snap = Snapshot {
        deploys: vec![deploy("search", "1", 11)],
        incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
        flags: vec![flag("search-x", "search", 10)],
        ..Default::default()
    };
    let ev = build(&snap, &[], &opts());
    assert!(ev.iter().all(|e| e.suspect.is_none()));
}

#[test]
fn outside_the_window_is_not_correlated() {
    let snap = Snapshot {
        deploys: vec![
            deploy("checkout", "old", 45),
            deploy("checkout", "edge", 37),
        ],
        incidents: vec![incident("checkout", "I1", Severity::Sev2, 7)],
        ..Default::default()
    };
    let ev = build(&snap, &[], &opts());
    assert!(find(&ev, "gh/old").suspect.is_none());
    // Exactly the window (30m) still counts.
    assert!(find(&ev, "gh/edge").suspect.is_some());
    // A narrower window leaves it out.
    let ev = build(&snap, &[], &opts().with_window(Duration::minutes(10)));
    assert!(find(&ev, "gh/edge").suspect.is_none());
}

#[test]
fn after_the_incident_is_not_correlated() {
    let snap = Snapshot {
        deploys: vec![deploy("checkout", "late", 3)],
        incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
        flags: vec![flag("checkout-x", "checkout", 2)],
        ..Default::default()
    };
    let ev = build(&snap, &[], &opts());
    assert!(ev.iter().all(|e| e.suspect.is_none()), "{ev:#?}");
}

#[test]
fn closest_incident_is_named_then_worst_severity() {
    let snap = Snapshot {
        deploys: vec![deploy("checkout", "1", 20)],
        incidents: vec![
            incident("checkout", "LATER", Severity::Sev1, 5),
            incident("checkout", "SOON3", Severity::Sev3, 15),
            incident("checkout", "SOON2", Severity::Sev2, 15),
        ],
        ..Default::default()
    };
    let ev = build(&snap, &[], &opts());
    let s = find(&ev, "gh/1").suspect.as_ref().expect("suspect");
    assert_eq!(s.incident.as_ref().map(|x| x.as_str()), Some("SOON2"));
}

#[test]
fn flag_flips_from_data_and_audit_are_correlated_and_deduplicated() {
    let snap = Snapshot {
        incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
        flags: vec![
            flag("checkout-v3", "checkout", 10),
            flag("checkout-y", "checkout", 12),
        ],
        ..Default::default()
    };
    // An audited flip of checkout-v3 1m after what the provider reports.
    let recs = vec![
        record(1, "flag.off", "checkout-v3", 9, Outcome::Ok),
        record(2, "flag.off", "checkout-y", 9, Outcome::Refused),
    ];
    let ev = build(&snap, &recs, &opts());
    assert!(
        ev.iter()
            .all(|e| e.reference.as_ref().map(|r| r.as_str()) != Some("ld/checkout-v3"))
    );
    let audited = find(&ev, "audit#1");
    assert_eq!(audited.kind, EventKind::Flag);
    assert_eq!(
        audited.suspect.as_ref().map(|s| s.reason.as_str()),
        Some("flag turned off 2m before SEV1 I1 on checkout")
    );
    assert!(audited.summary.as_str().contains("turned OFF by alice"));
    // A refused flip changed nothing: an action, no suspect; the
    // provider's own change of that flag stays.
    let refused = find(&ev, "audit#2");
    assert_eq!(refused.kind, EventKind::Action);
    assert!(refused.suspect.is_none());
    assert!(find(&ev, "ld/checkout-y").suspect.is_some());
}

#[test]
fn burn_rate_rise_marks_recent_changes_on_the_service() {
    let world = crate::sim::demo::snapshot_blocking(now()).unwrap_or_else(|e| panic!("{e}"));
    let slo = world
        .slos
        .iter()
        .find(|s| s.name.as_str() == "checkout-availability")
        .cloned()
        .expect("demo slo");
    assert!(slo.page_firing());
    let snap = Snapshot {
        slos: vec![slo],
        deploys: vec![
            deploy("checkout", "recent", 40),
            deploy("checkout", "old", 100),
            deploy("search", "other", 10),
        ],
        ..Default::default()
    };
    let ev = build(&snap, &[], &opts());
    let s = find(&ev, "gh/recent").suspect.as_ref().expect("suspect");
    assert!(s.incident.is_none());
    assert!(
        s.reason
            .as_str()
            .starts_with("deployed 40m ago on checkout while SLO checkout-availability burning"),
        "{}",
        s.reason
    );
    assert!(find(&ev, "gh/old").suspect.is_none());
    assert!(find(&ev, "gh/other").suspect.is_none());
}

#[test]
fn changes_during_an_open_incident_are_responses_not_burn_suspects() {
    let world = crate::sim::demo::snapshot_blocking(now()).unwrap_or_else(|e| panic!("{e}"));
    let slo = world
        .slos
        .iter()
        .find(|s| s.name.as_str() == "checkout-availability")
        .cloned()
        .expect("demo slo");
    let snap = Snapshot {
        slos: vec![slo],
        incidents: vec![incident("checkout", "I1", Severity::Sev1, 20)],
        deploys: vec![deploy("checkout", "before", 25)],
        flags: vec![flag("checkout-kill", "checkout", 2)],
        ..Default::default()
    };
    let recs = vec![record(1, "flag.off", "checkout-v3", 1, Outcome::Ok)];
    let ev = build(&snap, &recs, &opts());
    assert!(find(&ev, "gh/before").suspect.is_some());
    assert!(find(&ev, "ld/checkout-kill").suspect.is_none());
    assert!(find(&ev, "audit#1").suspect.is_none());
}

#[test]
fn staging_and_unstarted_deploys_are_not_suspects() {
    let mut staging = deploy("checkout", "stg", 10);
    staging.environment = SafeText::line("staging");
    let mut queued = deploy("checkout", "q", 10);
    queued.state = DeployState::Queued;
    let snap = Snapshot {
        deploys: vec![staging, queued],
        incidents: vec![incident("checkout", "I1", Severity::Sev1, 7)],
        ..Default::default()
    };
    let ev = build(&snap, &[], &opts());
    assert!(ev.iter().all(|e| e.suspect.is_none()));
    // A configured production environment name counts.
    let o = opts().with_production_envs(Some(vec!["staging".into()]));
    assert!(find(&build(&snap, &[], &o), "gh/stg").suspect.is_some());
}

#[test]
fn demo_data_suspects() {
    let w = crate::sim::demo::snapshot_blocking(now()).unwrap_or_else(|e| panic!("{e}"));
    let snap = Snapshot {
        incidents: w.incidents.clone(),
        slos: w.slos.clone(),
        deploys: w.deploys.clone(),
        flags: w.flags.clone(),
        ..Default::default()
    };
    let ev = build(&snap, &[], &Options::new(now(), now() - Duration::hours(2)));
    let s = find(&ev, "gh/1893").suspect.as_ref().expect("suspect");
    assert_eq!(
        s.reason.as_str(),
        "deployed 4m before SEV1 Q1CHK5XZ01 on checkout"
    );
    assert!(find(&ev, "gh/1888").suspect.is_some());
    assert!(
        find(&ev, "vercel/dpl_7Ke2sRQvbN1xHcT9aWmY4pLd")
            .suspect
            .is_none()
    );
    assert!(find(&ev, "ld/checkout-payments-v3").suspect.is_some());
    assert!(find(&ev, "flagd/search-new-analyzer").suspect.is_none());
    // Strings from outside stay sanitized.
    assert!(ev.iter().all(|e| !e.summary.as_str().contains('\u{1b}')));
}
