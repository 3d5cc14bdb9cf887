//! The floor for `benches/run`: the least a Rust client can do to list the
//! same data — reqwest, typed serde decoding of only the fields shown, the
//! PagerDuty pages after the first fetched 4 at a time, JSON out.
//!
//! `floor_fetch pagerduty BASE` lists open incidents from BASE/incidents;
//! `floor_fetch github BASE` follows `Link: rel="next"` over
//! BASE/repos/acme/checkout/deployments.

use futures::StreamExt;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize)]
struct Ref {
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct Incident {
    id: String,
    title: Option<String>,
    status: String,
    urgency: Option<String>,
    created_at: String,
    service: Option<Ref>,
    priority: Option<Ref>,
}

#[derive(Deserialize)]
struct Page {
    incidents: Vec<Incident>,
    more: bool,
    total: Option<usize>,
}

#[derive(Deserialize, Serialize)]
struct Deployment {
    id: u64,
    sha: String,
    #[serde(rename = "ref")]
    git_ref: String,
    environment: String,
    created_at: String,
}

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn pd_page(c: &reqwest::Client, base: &str, offset: usize) -> Res<Page> {
    let url = format!(
        "{base}/incidents?statuses[]=triggered&statuses[]=acknowledged&limit=100&offset={offset}{}",
        if offset == 0 { "&total=true" } else { "" }
    );
    let body = c
        .get(url)
        .header("Authorization", "Token token=x")
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok(serde_json::from_slice(&body)?)
}

async fn pagerduty(c: &reqwest::Client, base: &str) -> Res<Vec<Incident>> {
    let first = pd_page(c, base, 0).await?;
    let mut all = first.incidents;
    if first.more {
        let total = first.total.unwrap_or(0).min(10_000);
        let offsets: Vec<usize> = (100..total).step_by(100).collect();
        let pages: Vec<Res<Page>> = futures::stream::iter(offsets)
            .map(|o| pd_page(c, base, o))
            .buffered(4)
            .collect()
            .await;
        for p in pages {
            all.extend(p?.incidents);
        }
    }
    Ok(all)
}

async fn github(c: &reqwest::Client, base: &str) -> Res<Vec<Deployment>> {
    let mut url = Some(format!(
        "{base}/repos/acme/checkout/deployments?per_page=100"
    ));
    let mut all = Vec::new();
    while let Some(u) = url.take() {
        let r = c
            .get(u)
            .header("Authorization", "Bearer x")
            .header("User-Agent", "floor")
            .send()
            .await?
            .error_for_status()?;
        url = r
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| {
                l.split(',')
                    .find(|p| p.contains("rel=\"next\""))
                    .and_then(|p| p.split(['<', '>']).nth(1))
                    .map(str::to_string)
            });
        let page: Vec<Deployment> = serde_json::from_slice(&r.bytes().await?)?;
        all.extend(page);
    }
    Ok(all)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Res<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let (kind, base) = match args.as_slice() {
        [_, k, b] => (k.as_str(), b.trim_end_matches('/')),
        _ => return Err("usage: floor_fetch pagerduty|github BASE".into()),
    };
    let c = reqwest::Client::new();
    let out = match kind {
        "pagerduty" => serde_json::to_string(&pagerduty(&c, base).await?)?,
        "github" => serde_json::to_string(&github(&c, base).await?)?,
        _ => return Err("kind is pagerduty or github".into()),
    };
    println!("{out}");
    Ok(())
}
