//! PagerDuty incident depth (issue 23) against a wiremock fake: the
//! details reads (log entries, notes, assignees) and the writes escalate,
//! snooze, reassign, add responders and bulk ack — each with the
//! `Token token=` auth, the `From` header and the body PagerDuty
//! documents; PagerDuty's 400/404/429 error bodies in words; and each write
//! through the audited executor (intent and result records, a refused or
//! failed write recorded as such).

use crate::common::*;
use serde_json::{Value, json};
use sitrep::actions::{ActionRequest, ExecError, Executor, Mode};
use sitrep::audit::{self, AuditLog, Outcome, Phase};
use sitrep::ops::{PlanCtx, WriteOp};
use sitrep::providers::pagerduty::{BULK_LIMIT, PagerDuty};
use sitrep::providers::{ErrorKind, Provider, Registry};
use std::sync::Arc;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "pd-depth-token-0123456789";
const AUTH: &str = "Token token=pd-depth-token-0123456789";
const FROM: &str = "alice@example.com";

fn pd_error(message: &str, code: u32) -> Value {
    json!({"error": {"message": message, "code": code}})
}

fn incident(id: &str, status: &str, level: u32) -> Value {
    json!({
        "id": id, "type": "incident", "title": format!("checkout errors {id}"),
        "created_at": "2026-11-22T03:04:05Z", "status": status, "urgency": "high",
        "escalation_level": level,
        "service": {"id": "PSRV123", "type": "service_reference", "summary": "Checkout"},
        "assignments": [
            {"at": "2026-11-22T03:05:00Z", "assignee": {"id": "PUSR1", "type": "user_reference", "summary": "Dana Kim"}},
            {"at": "2026-11-22T03:06:00Z", "assignee": {"id": "PUSR2", "type": "user_reference", "summary": "Maria Okafor"}}
        ],
        "acknowledgements": [
            {"at": "2026-11-22T03:07:00Z", "acknowledger": {"id": "PUSR1", "type": "user_reference", "summary": "Dana Kim"}}
        ],
    })
}

fn provider(url: &str) -> PagerDuty {
    init();
    let cfg = config(&format!(
        "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nbase_url = \"{url}\"\ntoken = {{ env = \"PD_TOKEN\" }}\nfrom = \"{FROM}\"\n"
    ));
    let s = MapSecrets::with(&[("PD_TOKEN", TOKEN)]);
    PagerDuty::with_http_config(
        cfg.provider_named("pd").unwrap(),
        &ctx(&cfg, &s),
        fast_http(),
    )
    .unwrap()
}

async fn mount_incident(s: &MockServer, id: &str, status: &str, level: u32) {
    Mock::given(method("GET"))
        .and(path(format!("/incidents/{id}")))
        .and(header("Authorization", AUTH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"incident": incident(id, status, level)})),
        )
        .mount(s)
        .await;
}

#[tokio::test]
async fn details_read_log_entries_notes_and_people_newest_first() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "acknowledged", 1).await;
    Mock::given(method("GET"))
        .and(path("/incidents/PX1/log_entries"))
        .and(header("Authorization", AUTH))
        .and(query_param("limit", "20"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "log_entries": [
                {"id": "L1", "type": "trigger_log_entry", "summary": "Triggered through the API.",
                 "created_at": "2026-11-22T03:04:05Z", "agent": {"id": "PSRV123", "type": "service_reference", "summary": "Checkout"}},
                {"id": "L3", "type": "escalate_log_entry", "summary": "Escalated to level 2 by Dana Kim.\u{1b}[31m",
                 "created_at": "2026-11-22T03:20:00Z", "agent": {"id": "PUSR1", "type": "user_reference", "summary": "Dana Kim"}},
                {"id": "L2", "type": "acknowledge_log_entry", "summary": "Acknowledged by Dana Kim.",
                 "created_at": "2026-11-22T03:07:00Z", "agent": {"id": "PUSR1", "type": "user_reference", "summary": "Dana Kim"}}
            ],
            "limit": 20, "offset": 0, "more": false
        })))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents/PX1/notes"))
        .and(header("Authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "notes": [
                {"id": "N1", "user": {"id": "PUSR1", "type": "user_reference", "summary": "Dana Kim"},
                 "content": "rolled back v1.4.2", "created_at": "2026-11-22T03:10:00Z"}
            ]
        })))
        .expect(1)
        .mount(&s)
        .await;
    let p = provider(&s.uri());
    assert!(p.has_details());
    let d = p.incident_details("PX1").await.unwrap();
    let kinds: Vec<&str> = d.log.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "escalate_log_entry",
            "acknowledge_log_entry",
            "trigger_log_entry"
        ]
    );
    assert_eq!(d.log[0].agent.as_ref().unwrap().as_str(), "Dana Kim");
    // The escape sequence from the vendor string is inert.
    assert!(!d.log[0].summary.as_str().contains('\u{1b}'));
    assert_eq!(d.notes.len(), 1);
    assert_eq!(d.notes[0].text.as_str(), "rolled back v1.4.2");
    let names: Vec<&str> = d.assignees.iter().map(|a| a.as_str()).collect();
    assert_eq!(names, ["Dana Kim", "Maria Okafor"]);
    assert_eq!(d.responders.len(), 1);
}

#[tokio::test]
async fn details_errors_name_the_provider() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "acknowledged", 1).await;
    Mock::given(method("GET"))
        .and(path("/incidents/PX1/log_entries"))
        .respond_with(ResponseTemplate::new(404).set_body_json(pd_error("Not Found", 2100)))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents/PX1/notes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"notes": []})))
        .mount(&s)
        .await;
    let e = provider(&s.uri())
        .incident_details("PX1")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let msg = e.to_string();
    assert!(
        msg.starts_with("pd: ") && msg.contains("Not Found"),
        "{msg}"
    );
}

/// One write: plan, check the planned request, execute against a mock
/// that only answers the exact method, path, headers and body.
async fn write_round_trip(
    s: &MockServer,
    op: WriteOp,
    http_method: &str,
    at: &str,
    body: Value,
    answer: Value,
) -> (sitrep::ops::Plan, sitrep::ops::ExecResult) {
    Mock::given(method(http_method))
        .and(path(at))
        .and(header("Authorization", AUTH))
        .and(header("From", FROM))
        .and(body_json(body.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(s)
        .await;
    let p = provider(&s.uri());
    assert!(p.supports(&op), "{op:?}");
    let plan = p.plan(&op, &PlanCtx::default()).await.unwrap();
    let req = &plan.requests[0];
    assert_eq!(req.method, http_method);
    assert_eq!(req.url, format!("{}{at}", s.uri()));
    assert_eq!(req.body.as_ref(), Some(&body));
    assert!(req.headers.contains(&("From".into(), FROM.into())));
    let shown = serde_json::to_string(&plan).unwrap();
    assert!(!shown.contains(TOKEN), "{shown}");
    let r = p.execute(&plan, "k").await.unwrap();
    (plan, r)
}

#[tokio::test]
async fn escalate_goes_to_the_next_level() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "triggered", 2).await;
    let (plan, r) = write_round_trip(
        &s,
        WriteOp::IncidentEscalate {
            provider: None,
            id: "PX1".into(),
        },
        "PUT",
        "/incidents/PX1",
        json!({"incident": {"type": "incident_reference", "escalation_level": 3}}),
        json!({"incident": incident("PX1", "triggered", 3)}),
    )
    .await;
    assert!(
        plan.summary.starts_with("escalate to level 3 "),
        "{}",
        plan.summary
    );
    assert_eq!(plan.detail["level_before"], 2);
    assert_eq!(r.message, "PX1 escalated to level 3");
}

#[tokio::test]
async fn snooze_sends_the_duration_and_only_for_acknowledged() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "acknowledged", 1).await;
    let (_, r) = write_round_trip(
        &s,
        WriteOp::IncidentSnooze {
            provider: None,
            id: "PX1".into(),
            duration_secs: 3600,
        },
        "POST",
        "/incidents/PX1/snooze",
        json!({"duration": 3600}),
        json!({"incident": incident("PX1", "acknowledged", 1)}),
    )
    .await;
    assert_eq!(r.message, "PX1 snoozed for 1h");

    // A triggered incident is refused at plan time, nothing sent.
    mount_incident(&s, "PX2", "triggered", 1).await;
    let e = provider(&s.uri())
        .plan(
            &WriteOp::IncidentSnooze {
                provider: None,
                id: "PX2".into(),
                duration_secs: 600,
            },
            &PlanCtx::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("only acknowledged incidents can be snoozed"),
        "{e}"
    );
    let posts = s
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/incidents/PX2/snooze")
        .count();
    assert_eq!(posts, 0);
}

#[tokio::test]
async fn reassign_replaces_the_assignees() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "triggered", 1).await;
    let (plan, r) = write_round_trip(
        &s,
        WriteOp::IncidentReassign {
            provider: None,
            id: "PX1".into(),
            users: vec!["PUSR9".into()],
        },
        "PUT",
        "/incidents/PX1",
        json!({"incident": {"type": "incident_reference",
            "assignments": [{"assignee": {"id": "PUSR9", "type": "user_reference"}}]}}),
        json!({"incident": incident("PX1", "triggered", 1)}),
    )
    .await;
    assert!(
        plan.summary.starts_with("reassign to PUSR9 "),
        "{}",
        plan.summary
    );
    assert_eq!(r.message, "PX1 reassigned to PUSR9");

    // No user: refused before any request.
    let e = provider(&s.uri())
        .plan(
            &WriteOp::IncidentReassign {
                provider: None,
                id: "PX1".into(),
                users: vec![],
            },
            &PlanCtx::default(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at least one user id"), "{e}");
}

#[tokio::test]
async fn add_responders_names_the_requester_from_the_from_email() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "triggered", 1).await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("query", FROM))
        .and(header("Authorization", AUTH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [
                {"id": "PALICE2", "email": "alice@example.com.evil", "name": "Not Alice"},
                {"id": "PALICE", "email": "Alice@Example.com", "name": "Alice"}
            ]
        })))
        .mount(&s)
        .await;
    let (_, r) = write_round_trip(
        &s,
        WriteOp::IncidentAddResponders {
            provider: None,
            id: "PX1".into(),
            users: vec!["PUSR7".into(), "PUSR8".into()],
            message: "join the bridge".into(),
        },
        "POST",
        "/incidents/PX1/responder_requests",
        json!({
            "requester_id": "PALICE",
            "message": "join the bridge",
            "responder_request_targets": [
                {"responder_request_target": {"id": "PUSR7", "type": "user_reference"}},
                {"responder_request_target": {"id": "PUSR8", "type": "user_reference"}}
            ]
        }),
        json!({"responder_request": {"incident": {"id": "PX1"}, "message": "join the bridge"}}),
    )
    .await;
    assert_eq!(r.message, "responders requested for PX1: PUSR7, PUSR8");
}

#[tokio::test]
async fn bulk_ack_splits_at_250_a_request() {
    let s = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/incidents"))
        .and(header("Authorization", AUTH))
        .and(header("From", FROM))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"incidents": []})))
        .expect(2)
        .mount(&s)
        .await;
    let ids: Vec<String> = (0..BULK_LIMIT + 3).map(|n| format!("PB{n:04}")).collect();
    let p = provider(&s.uri());
    let op = WriteOp::IncidentBulkAck {
        provider: None,
        ids: ids.clone(),
    };
    let plan = p.plan(&op, &PlanCtx::default()).await.unwrap();
    assert_eq!(plan.requests.len(), 2);
    let first = plan.requests[0].body.as_ref().unwrap()["incidents"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(first.len(), BULK_LIMIT);
    assert_eq!(
        first[0],
        json!({"id": "PB0000", "type": "incident_reference", "status": "acknowledged"})
    );
    let r = p.execute(&plan, "k").await.unwrap();
    assert_eq!(r.message, "253 incidents acknowledged");
    let got = s.received_requests().await.unwrap();
    let second: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(second["incidents"].as_array().unwrap().len(), 3);
    assert_eq!(second["incidents"][2]["id"], "PB0252");

    // No ids: refused.
    let e = p
        .plan(
            &WriteOp::IncidentBulkAck {
                provider: None,
                ids: vec![],
            },
            &PlanCtx::default(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no incidents"), "{e}");
}

#[tokio::test]
async fn write_error_bodies_are_named() {
    for (status, body, kind, words) in [
        (
            400,
            pd_error("Invalid Input Provided", 2001),
            ErrorKind::Http { status: 400 },
            "Invalid Input Provided",
        ),
        (
            404,
            pd_error("Not Found", 2100),
            ErrorKind::NotFound,
            "Not Found",
        ),
        (
            429,
            pd_error("Rate Limit Exceeded", 2020),
            ErrorKind::RateLimited { retry_after: None },
            "Rate Limit Exceeded",
        ),
    ] {
        let s = MockServer::start().await;
        mount_incident(&s, "PX1", "acknowledged", 1).await;
        Mock::given(method("POST"))
            .and(path("/incidents/PX1/snooze"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&s)
            .await;
        let p = provider(&s.uri());
        let plan = p
            .plan(
                &WriteOp::IncidentSnooze {
                    provider: None,
                    id: "PX1".into(),
                    duration_secs: 60,
                },
                &PlanCtx::default(),
            )
            .await
            .unwrap();
        let e = p.execute(&plan, "k").await.unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(
                (&e.kind, &kind),
                (ErrorKind::RateLimited { .. }, ErrorKind::RateLimited { .. })
            ) || e.kind == kind,
            "{status}: {:?} {msg}",
            e.kind
        );
        assert!(msg.starts_with("pd: "), "{msg}");
        assert!(msg.contains(words), "{status}: {msg}");
    }
}

fn executor(p: PagerDuty, audit: &std::path::Path) -> Executor {
    let reg = Registry {
        providers: vec![Arc::new(p) as Arc<dyn Provider>],
        demo: false,
        keep: Vec::new(),
    };
    Executor::new(
        reg,
        Arc::new(AuditLog::new(audit, sitrep::audit::Signer::ephemeral())),
    )
    .with_actor("alice@example.com", "laptop")
}

#[tokio::test]
async fn each_new_write_is_audited_with_intent_and_result() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "acknowledged", 1).await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"users": [{"id": "PALICE", "email": FROM}]})),
        )
        .mount(&s)
        .await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"incident": incident("PX1", "acknowledged", 2)})),
        )
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .mount(&s)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let ex = executor(provider(&s.uri()), &log);
    let ops = [
        (
            WriteOp::IncidentEscalate {
                provider: None,
                id: "pd/PX1".into(),
            },
            "incident.escalate",
            "PX1",
        ),
        (
            WriteOp::IncidentSnooze {
                provider: None,
                id: "pd/PX1".into(),
                duration_secs: 1800,
            },
            "incident.snooze",
            "PX1",
        ),
        (
            WriteOp::IncidentReassign {
                provider: None,
                id: "PX1".into(),
                users: vec!["PUSR9".into()],
            },
            "incident.reassign",
            "PX1",
        ),
        (
            WriteOp::IncidentAddResponders {
                provider: None,
                id: "PX1".into(),
                users: vec!["PUSR9".into()],
                message: "help".into(),
            },
            "incident.add_responders",
            "PX1",
        ),
        (
            WriteOp::IncidentBulkAck {
                provider: None,
                ids: vec!["pd/PX1".into(), "pd/PX2".into()],
            },
            "incident.bulk_ack",
            "PX1,PX2",
        ),
    ];
    for (i, (op, action, target)) in ops.iter().enumerate() {
        let req = ex
            .resolve_owner(ActionRequest::new(op.clone(), "checkout is down"))
            .unwrap();
        let plan = ex.plan(&req).await.unwrap();
        assert_eq!(plan.provider, "pd");
        assert_eq!(req.op.target(), *target, "provider/id routes to pd");
        let done = ex.execute(&req, &plan, Mode::Live).await.unwrap();
        assert_eq!(done.outcome, Outcome::Ok, "{action}");
        let (recs, _) = audit::read(&log).unwrap();
        assert_eq!(recs.len(), 2 * (i + 1), "{action}");
        let (intent, result) = (&recs[2 * i], &recs[2 * i + 1]);
        assert_eq!(
            (intent.phase, intent.outcome),
            (Phase::Intent, Outcome::Pending)
        );
        assert_eq!((result.phase, result.outcome), (Phase::Result, Outcome::Ok));
        for r in [intent, result] {
            assert_eq!(r.action, *action);
            assert_eq!(r.target, *target);
            assert_eq!(r.provider.as_deref(), Some("pd"));
        }
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(TOKEN));
    assert!(audit::verify(&log).is_ok());
}

#[tokio::test]
async fn a_failed_or_refused_write_is_recorded_as_such() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "acknowledged", 1).await;
    Mock::given(method("PUT"))
        .and(path("/incidents/PX1"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(pd_error("Invalid Input Provided", 2001)),
        )
        .expect(1)
        .mount(&s)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let ex = executor(provider(&s.uri()), &log);
    let req = ActionRequest::new(
        WriteOp::IncidentEscalate {
            provider: Some("pd".into()),
            id: "PX1".into(),
        },
        "",
    );
    let plan = ex.plan(&req).await.unwrap();
    let e = ex.execute(&req, &plan, Mode::Live).await.unwrap_err();
    assert!(e.to_string().contains("Invalid Input Provided"), "{e}");
    let (recs, _) = audit::read(&log).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].outcome, Outcome::Error);
    assert_eq!(recs[1].action, "incident.escalate");
    assert!(
        recs[1].detail["error"]
            .as_str()
            .unwrap()
            .contains("Invalid Input Provided")
    );

    // Snoozing a triggered incident is refused at plan time: nothing sent,
    // nothing recorded as done.
    mount_incident(&s, "PX3", "triggered", 1).await;
    let req = ActionRequest::new(
        WriteOp::IncidentSnooze {
            provider: Some("pd".into()),
            id: "PX3".into(),
            duration_secs: 60,
        },
        "",
    );
    let e = ex.plan(&req).await.unwrap_err();
    assert!(!matches!(e, ExecError::Audit(_)), "{e}");
    assert!(e.to_string().contains("acknowledge it first"), "{e}");
    let (recs, _) = audit::read(&log).unwrap();
    assert!(recs.iter().all(|r| r.outcome != Outcome::Ok));
}

/// A new write refused by the executor (read-only) is recorded as
/// refused, and nothing reaches PagerDuty; a dry run records the exact
/// requests of a bulk ack.
#[tokio::test]
async fn a_read_only_refusal_and_a_dry_run_are_recorded() {
    let s = MockServer::start().await;
    mount_incident(&s, "PX1", "triggered", 1).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let ex = executor(provider(&s.uri()), &log).with_read_only(true);
    let req = ActionRequest::new(
        WriteOp::IncidentEscalate {
            provider: Some("pd".into()),
            id: "PX1".into(),
        },
        "paging the secondary",
    );
    let plan = ex.plan(&req).await.unwrap();
    let e = ex.execute(&req, &plan, Mode::Live).await.unwrap_err();
    assert_eq!(e, ExecError::ReadOnly);
    let ex = ex.with_read_only(false);
    let bulk = ActionRequest::new(
        WriteOp::IncidentBulkAck {
            provider: Some("pd".into()),
            ids: vec!["PX1".into(), "PX2".into()],
        },
        "",
    );
    let plan = ex.plan(&bulk).await.unwrap();
    ex.execute(&bulk, &plan, Mode::DryRun).await.unwrap();
    let (recs, _) = audit::read(&log).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        (recs[0].action.as_str(), recs[0].outcome),
        ("incident.escalate", Outcome::Refused)
    );
    assert_eq!(
        (recs[1].action.as_str(), recs[1].outcome),
        ("incident.bulk_ack", Outcome::DryRun)
    );
    assert_eq!(recs[1].detail["requests"][0]["method"], "PUT");
    let writes = s
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .count();
    assert_eq!(writes, 0);
}
