//! PagerDuty REST API v2 (`providers.md` §1): `GET /incidents` and
//! `GET /oncalls` with classic offset pagination (`limit` ≤ 100, `more`,
//! `total` only when asked, 400 past offset + limit 10000), `GET` and `PUT
//! /incidents/{id}` (status, `escalation_level`, `assignments`), `PUT
//! /incidents` (bulk, ≤ 250), `POST /incidents/{id}/notes`, `.../snooze`
//! (acknowledged only), `.../responder_requests`, `GET
//! /incidents/{id}/log_entries` (newest first) and `.../notes`, `GET
//! /users?query=`. Auth is `Authorization:
//! Token token=<KEY>` (401, code 2006, otherwise); writes need `From` (400,
//! code 2001). Every answer carries the `ratelimit-*` headers; errors are
//! `{"error": {"message", "code", "errors"}}`.

use super::{Handler, Request, Response};
use crate::model::Time;
use serde_json::{Value, json};
use std::sync::Mutex;

/// The limit when none is asked for, and the largest accepted.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;
/// `offset + limit` above this is refused.
const OFFSET_CAP: usize = 10_000;
/// Requests per minute per key (the `ratelimit-limit` header).
const RATE_LIMIT: u32 = 960;

/// One incident as the simulator is seeded with it.
#[derive(Clone, Debug)]
pub struct Incident {
    pub id: String,
    pub title: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    /// `P1`..`P5`, as the account's priorities are named.
    pub priority: Option<String>,
    pub urgency: String,
    pub service_id: String,
    pub service_name: String,
    pub created_at: Time,
    pub assignee: Option<String>,
}

/// One on-call entry.
#[derive(Clone, Debug)]
pub struct OnCall {
    pub policy: String,
    pub level: u32,
    pub user: String,
    pub end: Option<Time>,
}

/// A PagerDuty account.
pub struct PagerDuty {
    token: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    incidents: Vec<Value>,
    oncalls: Vec<Value>,
    /// `(incident id, note content, who)`.
    notes: Vec<(String, String, String)>,
    /// `(incident id, log entry)`, oldest first.
    log: Vec<(String, Value)>,
}

impl State {
    fn log(&mut self, id: &str, kind: &str, who: &str, summary: String) {
        let n = self.log.len() + 1;
        self.log.push((
            id.to_string(),
            json!({"id": format!("PLOG{n:04}"), "type": kind, "summary": summary,
                   "created_at": ts(&chrono::Utc::now()),
                   "agent": {"id": "PUSER01", "type": "user_reference", "summary": who}}),
        ));
    }
}

fn error(status: u16, code: u32, message: &str, detail: &str) -> Response {
    Response::json(
        status,
        &json!({"error": {"message": message, "code": code, "errors": [detail]}}),
    )
}

fn ts(t: &Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl PagerDuty {
    /// An account whose API key is `token`.
    pub fn new(token: &str) -> PagerDuty {
        PagerDuty {
            token: token.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A handler that panicked left whole values behind: keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add an incident (as PagerDuty would list it).
    pub fn add_incident(&self, i: &Incident) {
        let n = self.state().incidents.len() + 1;
        let mut v = json!({
            "id": i.id,
            "type": "incident",
            "incident_number": n,
            "title": i.title,
            "summary": format!("[#{n}] {}", i.title),
            "status": i.status,
            "urgency": i.urgency,
            "created_at": ts(&i.created_at),
            "html_url": format!("https://acme.pagerduty.com/incidents/{}", i.id),
            "self": format!("https://api.pagerduty.com/incidents/{}", i.id),
            "service": {"id": i.service_id, "type": "service_reference", "summary": i.service_name},
            "assignments": i.assignee.iter().map(|a| json!({"at": ts(&i.created_at), "assignee": {"id": "PUSER01", "type": "user_reference", "summary": a}})).collect::<Vec<_>>(),
            "escalation_level": 1,
        });
        if let (Some(p), Value::Object(m)) = (&i.priority, &mut v) {
            m.insert(
                "priority".into(),
                json!({"id": format!("PPRIO{p}"), "type": "priority_reference", "summary": p}),
            );
        }
        let mut st = self.state();
        st.incidents.push(v);
        // Its history so far, at its creation time.
        let at = ts(&i.created_at);
        let mut entry = |kind: &str, who: &str, summary: String| {
            let n = st.log.len() + 1;
            st.log.push((
                i.id.clone(),
                json!({"id": format!("PLOG{n:04}"), "type": kind, "summary": summary, "created_at": at,
                       "agent": {"id": "PUSER01", "type": "user_reference", "summary": who}}),
            ));
        };
        entry(
            "trigger_log_entry",
            &i.service_name,
            format!("Triggered through the API by {}.", i.service_name),
        );
        if let Some(a) = &i.assignee {
            entry("assign_log_entry", a, format!("Assigned to {a}."));
            if i.status == "acknowledged" {
                entry("acknowledge_log_entry", a, format!("Acknowledged by {a}."));
            }
        }
    }

    /// Add an on-call entry.
    pub fn add_oncall(&self, o: &OnCall) {
        self.state().oncalls.push(json!({
            "escalation_level": o.level,
            "escalation_policy": {"id": "PPOL001", "type": "escalation_policy_reference", "summary": o.policy},
            "user": {"id": "PUSER01", "type": "user_reference", "summary": o.user},
            "start": Value::Null,
            "end": o.end.as_ref().map(ts),
        }));
    }

    /// The status of incident `id` now.
    pub fn status(&self, id: &str) -> Option<String> {
        self.state()
            .incidents
            .iter()
            .find(|i| i["id"] == id)
            .and_then(|i| i["status"].as_str().map(str::to_string))
    }

    /// The notes added to incident `id`, oldest first.
    pub fn notes(&self, id: &str) -> Vec<String> {
        self.state()
            .notes
            .iter()
            .filter(|(i, _, _)| i == id)
            .map(|(_, c, _)| c.clone())
            .collect()
    }

    fn list(&self, req: &Request, key: &str, items: Vec<Value>) -> Response {
        let limit = match req.query("limit").map(str::parse::<usize>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => return error(400, 2001, "Invalid Input Provided", "limit"),
        };
        let offset = match req.query("offset").map(str::parse::<usize>) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return error(400, 2001, "Invalid Input Provided", "offset"),
        };
        if offset + limit > OFFSET_CAP {
            return error(
                400,
                2001,
                "Invalid Input Provided",
                "Offset must be less than 10000",
            );
        }
        let total = items.len();
        let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
        let more = offset + page.len() < total;
        let total = match req.query("total") {
            Some("true") => json!(total),
            _ => Value::Null,
        };
        Response::json(
            200,
            &json!({key: page, "limit": limit, "offset": offset, "more": more, "total": total}),
        )
    }

    fn incidents(&self, req: &Request) -> Response {
        let statuses = req.query_all("statuses[]");
        let services = req.query_all("service_ids[]");
        let items: Vec<Value> = self
            .state()
            .incidents
            .iter()
            .filter(|i| {
                statuses.is_empty() || statuses.iter().any(|s| i["status"].as_str() == Some(*s))
            })
            .filter(|i| {
                services.is_empty()
                    || services
                        .iter()
                        .any(|s| i["service"]["id"].as_str() == Some(*s))
            })
            .cloned()
            .collect();
        self.list(req, "incidents", items)
    }

    fn update(&self, req: &Request, id: &str, from: &str) -> Response {
        let body = req.json();
        let level = body["incident"]["escalation_level"].as_u64();
        let assignments = body["incident"]["assignments"].as_array().cloned();
        if level.is_some() || assignments.is_some() {
            return self.reassign(id, from, level, assignments);
        }
        let Some(status) = body["incident"]["status"].as_str() else {
            return error(
                400,
                2001,
                "Invalid Input Provided",
                "incident.status is required",
            );
        };
        if body["incident"]["type"] != "incident_reference" {
            return error(
                400,
                2001,
                "Invalid Input Provided",
                "incident.type must be incident_reference",
            );
        }
        let mut st = self.state();
        let Some(inc) = st.incidents.iter_mut().find(|i| i["id"] == id) else {
            return error(404, 5001, "Incident Not Found", id);
        };
        match (inc["status"].as_str(), status) {
            (Some("resolved"), _) => {
                return error(400, 1001, "Incident Already Resolved", id);
            }
            (_, "acknowledged" | "resolved") => {}
            _ => return error(400, 1003, "Invalid Status Provided", status),
        }
        inc["status"] = json!(status);
        if let Some(r) = body["incident"]["resolution"].as_str() {
            inc["resolution"] = json!(r);
        }
        let out = json!({"incident": inc.clone()});
        let kind = if status == "resolved" {
            "resolve_log_entry"
        } else {
            "acknowledge_log_entry"
        };
        st.log(id, kind, from, format!("{} by {from}.", capital(status)));
        Response::json(200, &out)
    }

    /// `PUT /incidents/{id}` with `escalation_level` or `assignments`.
    fn reassign(
        &self,
        id: &str,
        from: &str,
        level: Option<u64>,
        assignments: Option<Vec<Value>>,
    ) -> Response {
        let mut st = self.state();
        let Some(inc) = st.incidents.iter_mut().find(|i| i["id"] == id) else {
            return error(404, 5001, "Incident Not Found", id);
        };
        if inc["status"] == "resolved" {
            return error(400, 1001, "Incident Already Resolved", id);
        }
        let mut said = Vec::new();
        if let Some(l) = level {
            if !(1..=3).contains(&l) {
                return error(
                    400,
                    2001,
                    "Invalid Input Provided",
                    "escalation_level out of range",
                );
            }
            inc["escalation_level"] = json!(l);
            said.push((
                "escalate_log_entry",
                format!("Escalated to level {l} by {from}."),
            ));
        }
        if let Some(a) = assignments {
            let users: Vec<String> = a
                .iter()
                .filter_map(|x| x["assignee"]["id"].as_str().map(str::to_string))
                .collect();
            if users.is_empty() {
                return error(
                    400,
                    2001,
                    "Invalid Input Provided",
                    "assignments need an assignee id",
                );
            }
            inc["assignments"] = json!(
                users
                    .iter()
                    .map(|u| json!({"assignee": {"id": u, "type": "user_reference", "summary": u}}))
                    .collect::<Vec<_>>()
            );
            said.push((
                "assign_log_entry",
                format!("Reassigned to {} by {from}.", users.join(", ")),
            ));
        }
        let out = json!({"incident": inc.clone()});
        for (k, m) in said {
            st.log(id, k, from, m);
        }
        Response::json(200, &out)
    }

    /// `PUT /incidents`: acknowledge or resolve up to 250 at once.
    fn bulk(&self, req: &Request, from: &str) -> Response {
        let body = req.json();
        let Some(items) = body["incidents"].as_array() else {
            return error(400, 2001, "Invalid Input Provided", "incidents is required");
        };
        if items.len() > 250 {
            return error(400, 2001, "Invalid Input Provided", "at most 250 incidents");
        }
        let mut st = self.state();
        // Every item is checked before any is changed.
        let mut wanted = Vec::new();
        for it in items {
            let (Some(id), Some(status)) = (it["id"].as_str(), it["status"].as_str()) else {
                return error(
                    400,
                    2001,
                    "Invalid Input Provided",
                    "each incident needs id and status",
                );
            };
            if !st.incidents.iter().any(|i| i["id"] == id) {
                return error(404, 5001, "Incident Not Found", id);
            }
            wanted.push((id.to_string(), status.to_string()));
        }
        let mut out = Vec::new();
        for (id, status) in wanted {
            if let Some(inc) = st.incidents.iter_mut().find(|i| i["id"] == id.as_str()) {
                inc["status"] = json!(status);
                out.push(inc.clone());
            }
            let said = format!("{} by {from}.", capital(&status));
            st.log(&id, "acknowledge_log_entry", from, said);
        }
        Response::json(200, &json!({"incidents": out}))
    }

    fn snooze(&self, req: &Request, id: &str, from: &str) -> Response {
        let Some(d) = req.json()["duration"].as_u64() else {
            return error(400, 2001, "Invalid Input Provided", "duration is required");
        };
        let mut st = self.state();
        let Some(inc) = st.incidents.iter().find(|i| i["id"] == id).cloned() else {
            return error(404, 5001, "Incident Not Found", id);
        };
        if inc["status"] != "acknowledged" {
            return error(
                400,
                2001,
                "Invalid Input Provided",
                "only acknowledged incidents can be snoozed",
            );
        }
        st.log(
            id,
            "snooze_log_entry",
            from,
            format!("Snoozed for {} minutes by {from}.", d / 60),
        );
        Response::json(201, &json!({"incident": inc}))
    }

    fn responders(&self, req: &Request, id: &str, from: &str) -> Response {
        let body = req.json();
        let targets: Vec<String> = body["responder_request_targets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| {
                        t["responder_request_target"]["id"]
                            .as_str()
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if body["requester_id"].as_str().is_none() || targets.is_empty() {
            return error(
                400,
                2001,
                "Invalid Input Provided",
                "requester_id and responder_request_targets are required",
            );
        }
        let mut st = self.state();
        if !st.incidents.iter().any(|i| i["id"] == id) {
            return error(404, 5001, "Incident Not Found", id);
        }
        st.log(
            id,
            "responder_request_log_entry",
            from,
            format!("{from} requested {} to respond.", targets.join(", ")),
        );
        Response::json(
            200,
            &json!({"responder_request": {"incident": {"id": id}, "message": body["message"]}}),
        )
    }

    fn history(&self, req: &Request, id: &str) -> Response {
        let limit = req
            .query("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(DEFAULT_LIMIT)
            .min(MAX_LIMIT);
        let st = self.state();
        if !st.incidents.iter().any(|i| i["id"] == id) {
            return error(404, 5001, "Incident Not Found", id);
        }
        let mut items: Vec<Value> = st
            .log
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, e)| e.clone())
            .collect();
        items.reverse();
        let more = items.len() > limit;
        items.truncate(limit);
        Response::json(
            200,
            &json!({"log_entries": items, "limit": limit, "offset": 0, "more": more}),
        )
    }

    fn list_notes(&self, id: &str) -> Response {
        let st = self.state();
        if !st.incidents.iter().any(|i| i["id"] == id) {
            return error(404, 5001, "Incident Not Found", id);
        }
        let notes: Vec<Value> = st
            .notes
            .iter()
            .enumerate()
            .filter(|(_, (i, _, _))| i == id)
            .map(|(n, (_, c, who))| json!({"id": format!("PNOTE{:03}", n + 1), "content": c, "user": {"summary": who}, "created_at": ts(&chrono::Utc::now())}))
            .collect();
        Response::json(200, &json!({"notes": notes}))
    }

    fn note(&self, req: &Request, id: &str, from: &str) -> Response {
        let body = req.json();
        let Some(content) = body["note"]["content"].as_str() else {
            return error(
                400,
                2001,
                "Invalid Input Provided",
                "note.content is required",
            );
        };
        let mut st = self.state();
        if !st.incidents.iter().any(|i| i["id"] == id) {
            return error(404, 5001, "Incident Not Found", id);
        }
        st.notes
            .push((id.to_string(), content.to_string(), from.to_string()));
        st.log(
            id,
            "annotate_log_entry",
            from,
            format!("Note added by {from}."),
        );
        let n = st.notes.len();
        Response::json(
            201,
            &json!({"note": {"id": format!("PNOTE{n:03}"), "content": content, "user": {"summary": from}, "created_at": ts(&chrono::Utc::now())}}),
        )
    }

    fn route(&self, req: &Request) -> Response {
        let expected = format!("Token token={}", self.token);
        match req.header("authorization") {
            Some(a) if a == expected => {}
            _ => return error(401, 2006, "Authentication failed", "invalid API key"),
        }
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let write = req.method != "GET";
        let from = req.header("from").unwrap_or("").to_string();
        if write && !from.contains('@') {
            return error(
                400,
                2001,
                "Invalid Input Provided",
                "A valid From header is required",
            );
        }
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["incidents"]) => self.incidents(req),
            ("GET", ["oncalls"]) => {
                let items = self.state().oncalls.clone();
                self.list(req, "oncalls", items)
            }
            ("GET", ["incidents", id]) => {
                match self.state().incidents.iter().find(|i| i["id"] == *id) {
                    Some(i) => Response::json(200, &json!({"incident": i})),
                    None => error(404, 5001, "Incident Not Found", id),
                }
            }
            ("PUT", ["incidents", id]) => self.update(req, id, &from),
            ("PUT", ["incidents"]) => self.bulk(req, &from),
            ("POST", ["incidents", id, "notes"]) => self.note(req, id, &from),
            ("POST", ["incidents", id, "snooze"]) => self.snooze(req, id, &from),
            ("POST", ["incidents", id, "responder_requests"]) => self.responders(req, id, &from),
            ("GET", ["incidents", id, "log_entries"]) => self.history(req, id),
            ("GET", ["incidents", id, "notes"]) => self.list_notes(id),
            ("GET", ["users"]) => {
                let q = req.query("query").unwrap_or("").to_string();
                Response::json(
                    200,
                    &json!({"users": [{"id": "PUSER99", "type": "user", "name": q, "email": q}]}),
                )
            }
            _ => error(404, 2100, "Not Found", &req.path),
        }
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl Handler for PagerDuty {
    fn handle(&self, req: &Request) -> Response {
        self.route(req)
            .with_header("ratelimit-limit", RATE_LIMIT.to_string())
            .with_header("ratelimit-remaining", (RATE_LIMIT - 1).to_string())
            .with_header("ratelimit-reset", "60")
    }
}
