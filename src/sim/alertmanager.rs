//! Prometheus Alertmanager API v2 (`providers.md` §2): `GET
//! /api/v2/alerts` (a bare array, no pagination; `filter` matchers),
//! `POST /api/v2/silences`, `GET /api/v2/silences`, `GET` and `DELETE
//! /api/v2/silence/{id}`. Alertmanager has no auth of its own: with a
//! token, the simulator stands for a reverse proxy in front that wants
//! `Authorization: Bearer <token>` (401, plain text, otherwise). Errors of
//! Alertmanager itself are a JSON string. A silence mutes the alerts its
//! matchers match while it is active; deleting it expires it (it stays
//! listed as `expired`).

use super::{Handler, Request, Response};
use crate::model::Time;
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// One alert as the simulator is seeded with it.
#[derive(Clone, Debug)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Time,
}

/// A label matcher (`name="value"`, `!=`, `=~`, `!~`). A regex is taken as
/// an anchored alternation of literals (`a|b`), which is what silences made
/// from the console use.
#[derive(Clone, Debug, PartialEq)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    pub is_equal: bool,
}

impl Matcher {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.name).map(String::as_str).unwrap_or("");
        let hit = if self.is_regex {
            self.value.split('|').any(|alt| alt == v)
        } else {
            self.value == v
        };
        hit == self.is_equal
    }

    /// `name="value"` and the like, as `filter=` carries it.
    fn parse(s: &str) -> Option<Matcher> {
        let s = s.trim().trim_start_matches('{').trim_end_matches('}');
        let i = s.find(['=', '!'])?;
        let (name, rest) = s.split_at(i);
        let (op, value) = ["=~", "!~", "!=", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value)
            .replace("\\\"", "\"")
            .replace("\\\\", "\\");
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        Some(Matcher {
            name: name.to_string(),
            value,
            is_regex: op.contains('~'),
            is_equal: !op.starts_with('!'),
        })
    }

    fn view(&self) -> Value {
        json!({"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal})
    }
}

struct Silence {
    id: String,
    matchers: Vec<Matcher>,
    starts_at: Time,
    ends_at: Time,
    created_by: String,
    comment: String,
    updated_at: Time,
}

impl Silence {
    fn state(&self, now: Time) -> &'static str {
        if self.ends_at <= now {
            "expired"
        } else if self.starts_at > now {
            "pending"
        } else {
            "active"
        }
    }

    fn view(&self, now: Time) -> Value {
        json!({
            "id": self.id,
            "matchers": self.matchers.iter().map(Matcher::view).collect::<Vec<_>>(),
            "startsAt": ts(&self.starts_at),
            "endsAt": ts(&self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
            "updatedAt": ts(&self.updated_at),
            "status": {"state": self.state(now)},
        })
    }
}

#[derive(Default)]
struct State {
    alerts: Vec<Alert>,
    silences: Vec<Silence>,
}

/// One Alertmanager.
pub struct Alertmanager {
    /// The bearer token a proxy in front asks for; `None`: open, as
    /// Alertmanager is by default.
    token: Option<String>,
    state: Mutex<State>,
    /// How far this Alertmanager's clock is ahead of the real one, in
    /// seconds (the demo runs "as of" the moment it was started for).
    skew: std::sync::atomic::AtomicI64,
}

fn ts(t: &Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Alertmanager's errors: a JSON string.
fn error(status: u16, message: &str) -> Response {
    Response::json(status, &Value::String(message.to_string()))
}

/// `%016x` of a hash of the labels, as Alertmanager's fingerprints look.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut h = sha2::Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0xff]);
        h.update(v.as_bytes());
        h.update([0xff]);
    }
    hex::encode(&h.finalize()[..8])
}

impl Alertmanager {
    pub fn new(token: Option<&str>) -> Alertmanager {
        Alertmanager {
            token: token.map(str::to_string),
            state: Mutex::new(State::default()),
            skew: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// Run as if it were `now`: silences start, end and mute by this clock.
    pub fn set_now(&self, now: Time) {
        let skew = (now - chrono::Utc::now()).num_seconds();
        self.skew.store(skew, std::sync::atomic::Ordering::Relaxed);
    }

    fn now(&self) -> Time {
        let skew = self.skew.load(std::sync::atomic::Ordering::Relaxed);
        chrono::Utc::now() + chrono::Duration::seconds(skew)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add_alert(&self, a: &Alert) {
        self.state().alerts.push(a.clone());
    }

    /// Add a silence (as someone made it earlier); its id.
    pub fn add_silence(
        &self,
        matchers: Vec<Matcher>,
        starts_at: Time,
        ends_at: Time,
        created_by: &str,
        comment: &str,
    ) -> String {
        let mut st = self.state();
        // A UUID as Alertmanager's look, the same for the same silences
        // made in the same order (the demo's screens are reproducible).
        let mut h = sha2::Sha256::new();
        h.update(st.silences.len().to_le_bytes());
        h.update(created_by.as_bytes());
        h.update(comment.as_bytes());
        h.update(starts_at.timestamp().to_le_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&h.finalize()[..16]);
        let id = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string();
        st.silences.push(Silence {
            id: id.clone(),
            matchers,
            starts_at,
            ends_at,
            created_by: created_by.to_string(),
            comment: comment.to_string(),
            updated_at: starts_at,
        });
        id
    }

    /// The silences active now: `(id, created by, matchers as text)`.
    pub fn active_silences(&self) -> Vec<(String, String, Vec<String>)> {
        let now = self.now();
        self.state()
            .silences
            .iter()
            .filter(|s| s.state(now) == "active")
            .map(|s| {
                (
                    s.id.clone(),
                    s.created_by.clone(),
                    s.matchers
                        .iter()
                        .map(|m| format!("{}={}", m.name, m.value))
                        .collect(),
                )
            })
            .collect()
    }

    fn filters(req: &Request) -> Result<Vec<Matcher>, Response> {
        req.query_all("filter")
            .into_iter()
            .map(|f| {
                Matcher::parse(f).ok_or_else(|| error(400, &format!("bad matcher format: {f}")))
            })
            .collect()
    }

    fn alerts(&self, req: &Request) -> Response {
        let filters = match Self::filters(req) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let flag = |k: &str| req.query(k) != Some("false");
        let now = self.now();
        let st = self.state();
        let items: Vec<Value> = st
            .alerts
            .iter()
            .filter(|a| filters.iter().all(|m| m.matches(&a.labels)))
            .filter_map(|a| {
                let fp = fingerprint(&a.labels);
                let silenced_by: Vec<&str> = st
                    .silences
                    .iter()
                    .filter(|s| s.state(now) == "active")
                    .filter(|s| s.matchers.iter().all(|m| m.matches(&a.labels)))
                    .map(|s| s.id.as_str())
                    .collect();
                let suppressed = !silenced_by.is_empty();
                if (suppressed && !flag("silenced")) || (!suppressed && !flag("active")) {
                    return None;
                }
                Some(json!({
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "startsAt": ts(&a.starts_at),
                    "updatedAt": ts(&now),
                    "endsAt": ts(&(now + chrono::Duration::minutes(4))),
                    "fingerprint": fp,
                    "receivers": [{"name": "pagerduty"}],
                    "status": {
                        "state": if suppressed { "suppressed" } else { "active" },
                        "silencedBy": silenced_by,
                        "inhibitedBy": [],
                        "mutedBy": [],
                    },
                    "generatorURL": format!(
                        "http://prometheus.acme.internal:9090/graph?g0.expr=ALERTS%7Balertname%3D%22{}%22%7D",
                        a.labels.get("alertname").map(String::as_str).unwrap_or("")
                    ),
                }))
            })
            .collect();
        Response::json(200, &Value::Array(items))
    }

    fn create(&self, req: &Request) -> Response {
        let body = req.json();
        let Some(ms) = body["matchers"].as_array().filter(|m| !m.is_empty()) else {
            return error(400, "silence invalid: at least one matcher required");
        };
        let mut matchers = Vec::new();
        for m in ms {
            let (Some(name), Some(value), Some(is_regex)) = (
                m["name"].as_str(),
                m["value"].as_str(),
                m["isRegex"].as_bool(),
            ) else {
                return error(400, "silence invalid: invalid label matcher");
            };
            matchers.push(Matcher {
                name: name.to_string(),
                value: value.to_string(),
                is_regex,
                is_equal: m["isEqual"].as_bool().unwrap_or(true),
            });
        }
        let time = |k: &str| {
            body[k]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let (Some(starts_at), Some(ends_at)) = (time("startsAt"), time("endsAt")) else {
            return error(400, "silence invalid: startsAt and endsAt are required");
        };
        // The client's times are on the real clock; this one may run ahead
        // or behind (`set_now`).
        let skew = self.now() - chrono::Utc::now();
        let (starts_at, ends_at) = (starts_at + skew, ends_at + skew);
        let (Some(created_by), Some(comment)) =
            (body["createdBy"].as_str(), body["comment"].as_str())
        else {
            return error(400, "silence invalid: createdBy and comment are required");
        };
        let now = self.now();
        if starts_at >= ends_at {
            return error(400, "silence invalid: start time must be before end time");
        }
        if ends_at < now {
            return error(400, "silence invalid: end time can't be in the past");
        }
        if let Some(id) = body["id"].as_str() {
            let mut st = self.state();
            let Some(s) = st.silences.iter_mut().find(|s| s.id == id) else {
                return error(404, "silence not found");
            };
            s.matchers = matchers;
            s.starts_at = starts_at;
            s.ends_at = ends_at;
            s.comment = comment.to_string();
            s.updated_at = now;
            return Response::json(200, &json!({"silenceID": id}));
        }
        let id = self.add_silence(matchers, starts_at.max(now), ends_at, created_by, comment);
        Response::json(200, &json!({"silenceID": id}))
    }

    fn route(&self, req: &Request) -> Response {
        if let Some(t) = &self.token
            && req.header("authorization") != Some(format!("Bearer {t}").as_str())
        {
            return Response {
                status: 401,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: b"Unauthorized\n".to_vec(),
            };
        }
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let now = self.now();
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["api", "v2", "alerts"]) => self.alerts(req),
            ("POST", ["api", "v2", "silences"]) => self.create(req),
            ("GET", ["api", "v2", "silences"]) => {
                let filters = match Self::filters(req) {
                    Ok(f) => f,
                    Err(r) => return r,
                };
                let items: Vec<Value> = self
                    .state()
                    .silences
                    .iter()
                    .filter(|s| filters.iter().all(|f| s.matchers.contains(f)))
                    .map(|s| s.view(now))
                    .collect();
                Response::json(200, &Value::Array(items))
            }
            ("GET", ["api", "v2", "silence", id]) => {
                match self.state().silences.iter().find(|s| s.id == *id) {
                    Some(s) => Response::json(200, &s.view(now)),
                    None => Response::empty(404),
                }
            }
            ("DELETE", ["api", "v2", "silence", id]) => {
                let mut st = self.state();
                let Some(s) = st.silences.iter_mut().find(|s| s.id == *id) else {
                    return error(404, &format!("silence {id} not found"));
                };
                if s.state(now) != "expired" {
                    s.ends_at = now;
                    s.starts_at = s.starts_at.min(now);
                    s.updated_at = now;
                }
                Response::empty(200)
            }
            _ => Response {
                status: 404,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: b"404 page not found\n".to_vec(),
            },
        }
    }
}

impl Handler for Alertmanager {
    fn handle(&self, req: &Request) -> Response {
        self.route(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_parse_as_filter_carries_them() {
        let m = Matcher::parse("alertname=\"Disk\"").unwrap_or_else(|| panic!("parse"));
        assert_eq!((m.name.as_str(), m.value.as_str()), ("alertname", "Disk"));
        assert!(m.is_equal && !m.is_regex);
        let m = Matcher::parse("severity!~\"info|debug\"").unwrap_or_else(|| panic!("parse"));
        assert!(!m.is_equal && m.is_regex);
        let labels = BTreeMap::from([("severity".to_string(), "info".to_string())]);
        assert!(!m.matches(&labels));
        assert!(Matcher::parse("=\"x\"").is_none());
        assert!(Matcher::parse("nothing").is_none());
    }
}
