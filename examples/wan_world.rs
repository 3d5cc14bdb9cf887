//! The demo's vendor simulators (`src/sim`: PagerDuty, Alertmanager,
//! Prometheus, GitHub, Vercel, LaunchDarkly, Unleash, and a flagd file)
//! behind latency proxies, for `benches/run` (never a test dependency).
//!
//! `wan_world serve LATENCY_MS CONFIG_OUT STATS_PORT`: starts the
//! simulators, puts a proxy in front of each that holds every answer
//! LATENCY_MS before passing it on (as a far vendor would), writes the
//! demo's sitrep config naming the proxies to CONFIG_OUT (tokens from
//! `SITREP_DEMO_TOKEN`), prints `ready`, and answers any request on
//! 127.0.0.1:STATS_PORT with the requests each provider kind received
//! since the last such request (`{"pagerduty":[requests, 304s], ...}`).
//!
//! `wan_world cost`: the vendor cost of polling. Builds the real providers
//! from that config (no added latency), fetches each twice and prints, per
//! provider, tab-separated: kind, poll seconds, requests of the first
//! fetch, requests of the second (nothing changed in between), the 304s
//! among them, and what the list scales with (repositories, SLOs, ...).
//!
//! The simulators speak one request per connection (`Connection: close`),
//! so a proxy reads a request's whole answer, holds it, then writes it.

use sitrep::providers::Registry;
use sitrep::sim::demo::{self, DemoSecrets};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Count {
    requests: AtomicUsize,
    not_modified: AtomicUsize,
}

/// Proxy one connection to `upstream`, holding the answer `latency`.
async fn relay(
    mut client: TcpStream,
    upstream: String,
    latency: Duration,
    count: Arc<Count>,
) -> std::io::Result<()> {
    let mut up = TcpStream::connect(&upstream).await?;
    let (mut cr, mut cw) = client.split();
    let (mut ur, mut uw) = up.split();
    count.requests.fetch_add(1, Ordering::SeqCst);
    let forward = async {
        let _ = tokio::io::copy(&mut cr, &mut uw).await;
        let _ = uw.shutdown().await;
    };
    let back = async {
        let mut answer = Vec::new();
        ur.read_to_end(&mut answer).await?;
        if answer.starts_with(b"HTTP/1.1 304") {
            count.not_modified.fetch_add(1, Ordering::SeqCst);
        }
        tokio::time::sleep(latency).await;
        cw.write_all(&answer).await?;
        cw.shutdown().await
    };
    // The answer ends the exchange (the simulator closes after it).
    tokio::select! {
        r = back => r,
        _ = async { forward.await; std::future::pending::<()>().await } => Ok(()),
    }
}

/// A proxy on a free loopback port in front of `upstream` (`host:port`).
async fn proxy(upstream: String, latency: Duration, count: Arc<Count>) -> std::io::Result<String> {
    let l = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = l.local_addr()?;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(relay(s, upstream.clone(), latency, count.clone()));
        }
    });
    Ok(format!("http://{addr}"))
}

/// The simulators behind proxies: the config text and each kind's counts.
async fn world(
    latency: Duration,
) -> Result<(demo::Demo, String, Vec<(String, Arc<Count>)>), String> {
    let now = chrono::Utc::now();
    let d = demo::start(now)?;
    let world = sitrep::sim::world::World::load(now)?;
    let mut urls: BTreeMap<String, String> = BTreeMap::new();
    let mut counts = Vec::new();
    for p in d.config.providers() {
        let Some(base) = p.base_url() else { continue };
        let kind = format!("{:?}", p.kind).to_ascii_lowercase();
        let up = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let c = Arc::new(Count::default());
        let url = proxy(up, latency, c.clone())
            .await
            .map_err(|e| e.to_string())?;
        urls.insert(kind.clone(), url);
        counts.push((kind, c));
    }
    let u = |k: &str| urls.get(k).cloned().unwrap_or_default();
    let (pd, am, prom, gh, vc, ld, un) = (
        u("pagerduty"),
        u("alertmanager"),
        u("prometheus"),
        u("github"),
        u("vercel"),
        u("launchdarkly"),
        u("unleash"),
    );
    let text = demo::config_text(
        &world,
        &demo::Urls {
            pagerduty: &pd,
            alertmanager: &am,
            prometheus: &prom,
            github: &gh,
            vercel: &vc,
            launchdarkly: &ld,
            unleash: &un,
            flagd_file: &d.flagd_file,
        },
    );
    // The demo reads its other tokens from its own secret source; a sitrep
    // process reads them from the environment.
    let text = text
        .split("[[provider]]")
        .map(|block| {
            if block.contains("base_url") && !block.contains("token =") {
                block.replacen(
                    "\nkind = ",
                    "\ntoken = { env = \"SITREP_DEMO_TOKEN\" }\nkind = ",
                    1,
                )
            } else {
                block.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("[[provider]]");
    Ok((d, text, counts))
}

fn take(counts: &[(String, Arc<Count>)]) -> BTreeMap<String, (usize, usize)> {
    counts
        .iter()
        .map(|(k, c)| {
            (
                k.clone(),
                (
                    c.requests.swap(0, Ordering::SeqCst),
                    c.not_modified.swap(0, Ordering::SeqCst),
                ),
            )
        })
        .collect()
}

async fn serve(latency: Duration, out: &str, stats_port: u16) -> Result<(), String> {
    let (_demo, text, counts) = world(latency).await?;
    std::fs::write(out, text).map_err(|e| format!("{out}: {e}"))?;
    let l = TcpListener::bind(("127.0.0.1", stats_port))
        .await
        .map_err(|e| e.to_string())?;
    println!("ready");
    loop {
        let Ok((mut s, _)) = l.accept().await else {
            continue;
        };
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        let body = serde_json::to_string(&take(&counts)).unwrap_or_default();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(body.as_bytes()).await;
        let _ = s.shutdown().await;
    }
}

async fn cost() -> Result<(), String> {
    let (_demo, text, counts) = world(Duration::ZERO).await?;
    let config = sitrep::config::parse(&text, std::path::Path::new("wan.toml"))
        .map_err(|e| e.to_string())?;
    let registry = Registry::from_config(&config, &DemoSecrets);
    for p in &registry.providers {
        let kind = format!("{:?}", p.kind()).to_ascii_lowercase();
        let Some((_, c)) = counts.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        let grab = || {
            (
                c.requests.swap(0, Ordering::SeqCst),
                c.not_modified.swap(0, Ordering::SeqCst),
            )
        };
        grab();
        p.fetch().await.map_err(|e| e.to_string())?;
        let (cold, _) = grab();
        p.fetch().await.map_err(|e| e.to_string())?;
        let (again, n304) = grab();
        let pc = config.providers().find(|x| x.name == p.name());
        let units = match kind.as_str() {
            "github" => format!(
                "{} repositories",
                pc.and_then(|x| x.repos.as_ref()).map_or(0, Vec::len).max(
                    config
                        .service
                        .iter()
                        .filter(|s| s.deploys.as_ref().is_some_and(|d| d.provider == p.name()))
                        .count()
                )
            ),
            "prometheus" => format!(
                "{} SLOs",
                config.slo.iter().filter(|s| s.provider == p.name()).count()
            ),
            _ => "account".to_string(),
        };
        println!(
            "{kind}\t{}\t{cold}\t{again}\t{n304}\t{units}",
            p.poll_interval().as_secs()
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let r = match args.get(1).map(String::as_str) {
        Some("serve") if args.len() == 5 => {
            let latency = Duration::from_millis(args[2].parse().unwrap_or(100));
            let port = args[4].parse().unwrap_or(0);
            serve(latency, &args[3], port).await
        }
        Some("cost") => cost().await,
        _ => Err("usage: wan_world serve LATENCY_MS CONFIG_OUT STATS_PORT | wan_world cost".into()),
    };
    if let Err(e) = r {
        eprintln!("wan_world: {e}");
        std::process::exit(1);
    }
}
