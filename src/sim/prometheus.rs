//! Prometheus HTTP API (`providers.md` §3.1): `GET /api/v1/query` and
//! `/api/v1/query_range` for the demo company's SLO queries. The only
//! PromQL it evaluates is the `errors` and `total` query of each SLO of
//! [`super::world`] with a `[window]` filled in; the value comes from the
//! world's [`Health`] at the query's `time` (errors = ratio × a steady
//! request rate). Any other well-formed query selects no series (an empty
//! vector, as Prometheus answers for a metric it does not have); a query
//! without a `[window]` or with unbalanced brackets is `bad_data` (400).
//! Prometheus has no auth of its own: with a token the simulator stands
//! for a proxy in front that wants `Authorization: Bearer <token>`.
//! Answers are the `{"status", "data": {"resultType", "result"}}` envelope;
//! errors `{"status": "error", "errorType", "error"}`.

use super::world::{Health, window_secs};
use super::{Handler, Request, Response};
use crate::model::Time;
use serde_json::{Value, json};
use std::sync::Arc;

/// Requests per second every demo service serves.
const RATE: f64 = 120.0;
/// Points per series a range query may ask for.
const MAX_POINTS: f64 = 11_000.0;

/// Which number a query asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Asks {
    Errors,
    Total,
}

pub struct Prometheus {
    token: Option<String>,
    health: Arc<Health>,
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"status": "error", "errorType": kind, "error": message}),
    )
}

fn bad_data(message: &str) -> Response {
    error(400, "bad_data", message)
}

/// Unix seconds (float) or RFC 3339, as Prometheus takes `time`.
fn parse_time(s: &str) -> Option<Time> {
    if let Ok(f) = s.parse::<f64>() {
        return chrono::DateTime::from_timestamp_millis((f * 1000.0).round() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// A step: float seconds or a duration (`30s`, `5m`).
fn parse_step(s: &str) -> Option<f64> {
    s.parse::<f64>()
        .ok()
        .or_else(|| window_secs(s).map(|v| v as f64))
        .filter(|v| *v > 0.0)
}

fn sample_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

impl Prometheus {
    pub fn new(token: Option<&str>, health: Arc<Health>) -> Prometheus {
        Prometheus {
            token: token.map(str::to_string),
            health,
        }
    }

    /// Which SLO, window and number `q` is; `Err` when it does not parse.
    fn resolve(&self, q: &str) -> Result<Option<(String, i64, Asks)>, String> {
        let opens = q.matches(['(', '{', '[']).count();
        let closes = q.matches([')', '}', ']']).count();
        if opens != closes {
            return Err(format!(
                "invalid parameter \"query\": 1:{}: parse error: unclosed left parenthesis",
                q.len()
            ));
        }
        let Some(window) = q
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(w, _)| w)
        else {
            // A selector without a range: no series of the demo's.
            return Ok(None);
        };
        let Some(secs) = window_secs(window) else {
            return Err(format!(
                "invalid parameter \"query\": bad duration {window:?}"
            ));
        };
        for slo in self.health.slos() {
            for (template, asks) in [(&slo.errors, Asks::Errors), (&slo.total, Asks::Total)] {
                if template.replace("{{.window}}", window) == q {
                    return Ok(Some((slo.name.clone(), secs, asks)));
                }
            }
        }
        Ok(None)
    }

    /// The value of a resolved query at `t` (`None`: no series).
    fn value(&self, slo: &str, window: i64, asks: Asks, t: Time) -> Option<f64> {
        let ratio = self.health.ratio(slo, window, t)?;
        Some(match asks {
            Asks::Total => RATE,
            Asks::Errors => ratio * RATE,
        })
    }

    fn instant(&self, req: &Request) -> Response {
        let Some(q) = req.query("query") else {
            return bad_data("invalid parameter \"query\": query is required");
        };
        let t = match req.query("time") {
            None => chrono::Utc::now(),
            Some(s) => match parse_time(s) {
                Some(t) => t,
                None => {
                    return bad_data(&format!("invalid parameter \"time\": cannot parse {s:?}"));
                }
            },
        };
        let result: Vec<Value> = match self.resolve(q) {
            Err(e) => return bad_data(&e),
            Ok(None) => Vec::new(),
            Ok(Some((slo, w, asks))) => self
                .value(&slo, w, asks, t)
                .map(|v| {
                    json!({"metric": {}, "value": [t.timestamp_millis() as f64 / 1000.0, sample_value(v)]})
                })
                .into_iter()
                .collect(),
        };
        Response::json(
            200,
            &json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
        )
    }

    fn range(&self, req: &Request) -> Response {
        let Some(q) = req.query("query") else {
            return bad_data("invalid parameter \"query\": query is required");
        };
        let (Some(start), Some(end)) = (
            req.query("start").and_then(parse_time),
            req.query("end").and_then(parse_time),
        ) else {
            return bad_data("invalid parameter \"start\" or \"end\"");
        };
        let Some(step) = req.query("step").and_then(parse_step) else {
            return bad_data(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
            );
        };
        if end < start {
            return bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            );
        }
        let span = (end - start).num_milliseconds() as f64 / 1000.0;
        if span / step > MAX_POINTS {
            return bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            );
        }
        let result: Vec<Value> = match self.resolve(q) {
            Err(e) => return bad_data(&e),
            Ok(None) => Vec::new(),
            Ok(Some((slo, w, asks))) => {
                let mut values = Vec::new();
                let mut k = 0u64;
                loop {
                    let off = k as f64 * step;
                    if off > span {
                        break;
                    }
                    let t = start + chrono::Duration::milliseconds((off * 1000.0) as i64);
                    if let Some(v) = self.value(&slo, w, asks, t) {
                        values.push(json!([
                            t.timestamp_millis() as f64 / 1000.0,
                            sample_value(v)
                        ]));
                    }
                    k += 1;
                }
                if values.is_empty() {
                    Vec::new()
                } else {
                    vec![json!({"metric": {}, "values": values})]
                }
            }
        };
        Response::json(
            200,
            &json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
        )
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
        match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["api", "v1", "query"]) => self.instant(req),
            ("GET", ["api", "v1", "query_range"]) => self.range(req),
            (_, ["api", "v1", ..]) => error(404, "not_found", "unknown API endpoint"),
            _ => Response {
                status: 404,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: b"404 page not found\n".to_vec(),
            },
        }
    }
}

impl Handler for Prometheus {
    fn handle(&self, req: &Request) -> Response {
        self.route(req)
    }
}
