//! Loopback fake of the PagerDuty and GitHub read endpoints for
//! `benches/run` (never a test dependency). Bodies are built once at start;
//! each request is a slice lookup, so the figures measure the clients.
//!
//! `fake_api PORT pagerduty N` serves `GET /incidents` (offset pagination,
//! `more`, `total`, `offset + limit <= 10000` as PagerDuty enforces) over N
//! open incidents, `GET /oncalls` (one entry), and the `GET /users/me` and
//! `GET /priorities` the PagerDuty CLI asks for first.
//! `fake_api PORT github N` serves `GET /repos/{o}/{r}/deployments`
//! (`per_page`/`page`, absolute `Link` headers built from the `Host` the
//! client sent) over N deployments and
//! `GET /repos/{o}/{r}/deployments/{id}/statuses` (one `success` status).
//! Absolute-form request targets (`GET http://host/path`, as an HTTP proxy
//! receives them) are accepted, so `gh` can reach it through `HTTP_PROXY`.
//! Binds 127.0.0.1 only.
//!
//! `fake_api PORT KIND N [LATENCY_MS]`: every answer is held LATENCY_MS
//! (default 100) before it is written, as a far vendor would: wall time /
//! latency is then the round trips a client waits through. 0 = loopback.
//! GitHub answers carry an `ETag` (a hash of the body) and a GET whose
//! `If-None-Match` names it is answered `304 Not Modified`, as GitHub does.
//! `GET /__stats` (answered at once) returns the requests served since the
//! last `/__stats`, the 304s among them and the most in flight at once,
//! and starts the counts again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

struct Data {
    kind: String,
    items: Vec<String>,
    latency: Duration,
    requests: AtomicUsize,
    not_modified: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A strong validator for a body (FNV-1a).
fn etag(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

fn pd_incident(i: usize) -> String {
    let pri = ["P1", "P2", "P3", "P4", "P5"][i % 5];
    let status = if i.is_multiple_of(3) {
        "acknowledged"
    } else {
        "triggered"
    };
    let urgency = if i.is_multiple_of(2) { "high" } else { "low" };
    format!(
        r#"{{"id":"Q{i:07}","type":"incident","summary":"[#{n}] checkout-{i} error rate above threshold on shard {s}","self":"https://api.pagerduty.com/incidents/Q{i:07}","html_url":"https://acme.pagerduty.com/incidents/Q{i:07}","incident_number":{n},"title":"checkout-{i} error rate above threshold on shard {s}","description":"checkout-{i} error rate above threshold on shard {s}","created_at":"2026-11-{d:02}T{h:02}:{m:02}:00Z","updated_at":"2026-11-{d:02}T{h:02}:{m:02}:30Z","last_status_change_at":"2026-11-{d:02}T{h:02}:{m:02}:30Z","status":"{status}","incident_key":"key-{i}","urgency":"{urgency}","service":{{"id":"PSRV{sv:03}","type":"service_reference","summary":"service-{sv}","self":"https://api.pagerduty.com/services/PSRV{sv:03}","html_url":"https://acme.pagerduty.com/service-directory/PSRV{sv:03}"}},"assignments":[{{"at":"2026-11-{d:02}T{h:02}:{m:02}:00Z","assignee":{{"id":"PUSR{u:03}","type":"user_reference","summary":"Engineer {u}","self":"https://api.pagerduty.com/users/PUSR{u:03}","html_url":"https://acme.pagerduty.com/users/PUSR{u:03}"}}}}],"acknowledgements":[],"last_status_change_by":{{"id":"PSRV{sv:03}","type":"service_reference","summary":"service-{sv}","self":"https://api.pagerduty.com/services/PSRV{sv:03}","html_url":"https://acme.pagerduty.com/service-directory/PSRV{sv:03}"}},"first_trigger_log_entry":{{"id":"R{i:07}","type":"trigger_log_entry_reference","summary":"Triggered through the API.","self":"https://api.pagerduty.com/log_entries/R{i:07}","html_url":"https://acme.pagerduty.com/incidents/Q{i:07}/log_entries/R{i:07}"}},"escalation_policy":{{"id":"PEP{sv:03}","type":"escalation_policy_reference","summary":"policy-{sv}","self":"https://api.pagerduty.com/escalation_policies/PEP{sv:03}","html_url":"https://acme.pagerduty.com/escalation_policies/PEP{sv:03}"}},"teams":[{{"id":"PTEAM{t}","type":"team_reference","summary":"team-{t}","self":"https://api.pagerduty.com/teams/PTEAM{t}","html_url":"https://acme.pagerduty.com/teams/PTEAM{t}"}}],"priority":{{"id":"PPRI{pri}","type":"priority","summary":"{pri}","name":"{pri}","description":"","color":"a8171c","order":{o}}},"alert_counts":{{"all":1,"triggered":1,"resolved":0}},"is_mergeable":true,"incident_type":{{"name":"incident_default"}},"pending_actions":[],"conference_bridge":null,"resolve_reason":null}}"#,
        n = i + 1,
        s = i % 97,
        d = 1 + i % 20,
        h = i % 24,
        m = i % 60,
        sv = i % 40,
        u = i % 25,
        t = i % 6,
        o = 64 * (1 + i % 5),
    )
}

fn gh_deployment(host: &str, i: usize, n: usize) -> String {
    // Newest first, as GitHub lists them: ids and creation times fall
    // together over the 19 days before 2026-11-20 23:59.
    let id = 100_000 + (n - i);
    let tm = i * 19 * 24 * 60 / n.max(1);
    let env = if i.is_multiple_of(2) {
        "production"
    } else {
        "staging"
    };
    format!(
        r#"{{"url":"{host}/repos/acme/checkout/deployments/{id}","id":{id},"node_id":"DE_kwDO{id}","sha":"{sha:040x}","ref":"v1.{i}","task":"deploy","payload":{{}},"original_environment":"{env}","environment":"{env}","description":"deploy v1.{i}","creator":{{"login":"deploy-bot","id":1,"node_id":"U_1","avatar_url":"https://avatars.example/u/1","gravatar_id":"","url":"{host}/users/deploy-bot","html_url":"https://github.com/deploy-bot","type":"Bot","site_admin":false}},"created_at":"2026-11-{d:02}T{h:02}:{m:02}:00Z","updated_at":"2026-11-{d:02}T{h:02}:{m:02}:30Z","statuses_url":"{host}/repos/acme/checkout/deployments/{id}/statuses","repository_url":"{host}/repos/acme/checkout","transient_environment":false,"production_environment":{prod}}}"#,
        sha = id as u128 * 0x9e37_79b9_7f4a_7c15,
        d = 20 - tm / 1440,
        h = 23 - (tm / 60) % 24,
        m = 59 - tm % 60,
        prod = env == "production",
    )
}

fn query(target: &str) -> HashMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// (status, extra headers, body)
fn answer(data: &Data, target: &str, host: &str) -> (u16, String, String) {
    let path = target.split('?').next().unwrap_or("");
    let q = query(target);
    let num = |k: &str, d: usize| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    if data.kind == "pagerduty" {
        if path == "/incidents" {
            let limit = num("limit", 25).min(100);
            let offset = num("offset", 0);
            if offset + limit > 10_000 {
                return (
                    400,
                    String::new(),
                    r#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Offset must be less than 10000."]}}"#.into(),
                );
            }
            let n = data.items.len();
            let end = (offset + limit).min(n);
            let page = if offset < n {
                data.items[offset..end].join(",")
            } else {
                String::new()
            };
            let total = if q.get("total").map(String::as_str) == Some("true") {
                n.to_string()
            } else {
                "null".into()
            };
            let body = format!(
                r#"{{"incidents":[{page}],"limit":{limit},"offset":{offset},"more":{},"total":{total}}}"#,
                end < n
            );
            return (200, String::new(), body);
        }
        if path == "/users/me" {
            // The PagerDuty CLI asks who the token belongs to.
            return (
                200,
                String::new(),
                r#"{"user":{"id":"PUSR001","type":"user","name":"Engineer 1","email":"e1@example.com","html_url":"https://acme.pagerduty.com/users/PUSR001"}}"#.into(),
            );
        }
        if path == "/priorities" {
            let list = (1..=5)
                .map(|p| format!(r#"{{"id":"PPRIP{p}","type":"priority","summary":"P{p}","name":"P{p}","description":"","order":{}}}"#, 64 * p))
                .collect::<Vec<_>>()
                .join(",");
            return (
                200,
                String::new(),
                format!(
                    r#"{{"priorities":[{list}],"limit":100,"offset":0,"more":false,"total":5}}"#
                ),
            );
        }
        if path == "/oncalls" {
            return (
                200,
                String::new(),
                r#"{"oncalls":[{"user":{"id":"PUSR001","type":"user_reference","summary":"Engineer 1"},"escalation_policy":{"id":"PEP001","type":"escalation_policy_reference","summary":"policy-1"},"escalation_level":1,"start":"2026-11-20T00:00:00Z","end":"2026-11-30T00:00:00Z"}],"limit":100,"offset":0,"more":false,"total":1}"#.into(),
            );
        }
    } else if let Some(rest) = path.strip_prefix("/repos/acme/checkout/deployments") {
        let base = format!("http://{host}");
        if rest.is_empty() {
            let per = num("per_page", 30).clamp(1, 100);
            let page = num("page", 1).max(1);
            let n = data.items.len();
            let last = n.div_ceil(per).max(1);
            let start = ((page - 1) * per).min(n);
            let end = (start + per).min(n);
            let body = format!(
                "[{}]",
                data.items[start..end]
                    .iter()
                    .map(|s| s.replace("{HOST}", &base))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let mut links = Vec::new();
            let link = |p: usize, rel: &str| {
                format!(
                    "<{base}/repos/acme/checkout/deployments?per_page={per}&page={p}>; rel=\"{rel}\""
                )
            };
            if page < last {
                links.push(link(page + 1, "next"));
                links.push(link(last, "last"));
            }
            if page > 1 {
                links.push(link(1, "first"));
                links.push(link(page - 1, "prev"));
            }
            let hdr = if links.is_empty() {
                String::new()
            } else {
                format!("Link: {}\r\n", links.join(", "))
            };
            return (200, hdr, body);
        }
        if let Some(id) = rest
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix("/statuses"))
        {
            let body = format!(
                r#"[{{"url":"{base}/repos/acme/checkout/deployments/{id}/statuses/1","id":{id}1,"node_id":"DES_1","state":"success","creator":{{"login":"deploy-bot","id":1,"type":"Bot"}},"description":"deployed","environment":"production","target_url":"https://ci.example/runs/{id}","log_url":"https://ci.example/runs/{id}","environment_url":"","created_at":"2026-11-20T00:00:00Z","updated_at":"2026-11-20T00:00:00Z","deployment_url":"{base}/repos/acme/checkout/deployments/{id}","repository_url":"{base}/repos/acme/checkout"}}]"#
            );
            return (200, String::new(), body);
        }
    }
    eprintln!("fake_api: no route for {target}");
    (404, String::new(), r#"{"message":"Not Found"}"#.into())
}

async fn serve(sock: tokio::net::TcpStream, data: Arc<Data>) -> std::io::Result<()> {
    let mut rd = BufReader::new(sock);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let _method = parts.next().unwrap_or("");
        let mut target = parts.next().unwrap_or("/").to_string();
        let mut host = String::from("127.0.0.1");
        let mut len = 0usize;
        let mut close = false;
        let mut if_none_match = String::new();
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let v = v.trim();
                match k.to_ascii_lowercase().as_str() {
                    "host" => host = v.to_string(),
                    "content-length" => len = v.parse().unwrap_or(0),
                    "connection" => close = v.eq_ignore_ascii_case("close"),
                    "if-none-match" => if_none_match = v.to_string(),
                    _ => {}
                }
            }
        }
        if len > 0 {
            let mut body = vec![0u8; len];
            rd.read_exact(&mut body).await?;
        }
        if let Some(rest) = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))
        {
            let (h, p) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            host = h.to_string();
            target = if p.is_empty() { "/".into() } else { p.into() };
        }
        if target == "/__stats" {
            let body = format!(
                r#"{{"requests":{},"not_modified":{},"max_in_flight":{}}}"#,
                data.requests.swap(0, Ordering::SeqCst),
                data.not_modified.swap(0, Ordering::SeqCst),
                data.max_in_flight.swap(0, Ordering::SeqCst),
            );
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let sock = rd.get_mut();
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(body.as_bytes()).await?;
            continue;
        }
        data.requests.fetch_add(1, Ordering::SeqCst);
        let now = data.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        data.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let (mut status, mut extra, mut body) = answer(&data, &target, &host);
        if data.kind == "github" && status == 200 {
            let tag = etag(&body);
            if if_none_match == tag {
                data.not_modified.fetch_add(1, Ordering::SeqCst);
                status = 304;
                body = String::new();
            }
            extra.push_str(&format!("ETag: {tag}\r\n"));
        }
        if !data.latency.is_zero() {
            tokio::time::sleep(data.latency).await;
        }
        data.in_flight.fetch_sub(1, Ordering::SeqCst);
        let reason = match status {
            200 => "OK",
            304 => "Not Modified",
            400 => "Bad Request",
            _ => "Not Found",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n{extra}X-RateLimit-Limit: 5000\r\nX-RateLimit-Remaining: 4999\r\nX-RateLimit-Reset: 4102444800\r\nratelimit-limit: 960\r\nratelimit-remaining: 959\r\nratelimit-reset: 60\r\n\r\n",
            body.len()
        );
        let sock = rd.get_mut();
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(body.as_bytes()).await?;
        if close {
            return Ok(());
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: fake_api PORT pagerduty|github N [LATENCY_MS]");
        std::process::exit(2);
    }
    let latency = Duration::from_millis(args.get(4).and_then(|v| v.parse().ok()).unwrap_or(100));
    let port: u16 = args[1].parse().unwrap_or(0);
    let kind = args[2].clone();
    let n: usize = args[3].parse().unwrap_or(0);
    let items = match kind.as_str() {
        "pagerduty" => (0..n).map(pd_incident).collect(),
        "github" => (0..n).map(|i| gh_deployment("{HOST}", i, n)).collect(),
        _ => {
            eprintln!("fake_api: kind is pagerduty or github");
            std::process::exit(2);
        }
    };
    let data = Arc::new(Data {
        kind,
        items,
        latency,
        requests: AtomicUsize::new(0),
        not_modified: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
    });
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ready {}", listener.local_addr()?);
    loop {
        let (sock, _) = listener.accept().await?;
        let _ = sock.set_nodelay(true);
        let d = data.clone();
        tokio::spawn(async move {
            let _ = serve(sock, d).await;
        });
    }
}
