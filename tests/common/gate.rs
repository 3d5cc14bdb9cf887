//! A loopback HTTP/1.1 server that shows whether a client asks for things
//! at once: every answer the route marks `held` waits until `gate`
//! requests of that kind are in flight together (or, when the client never
//! gets there, a few seconds: a safety valve, not a timing). The most ever
//! in flight is recorded, so a test asserts on the request pattern, not on
//! time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the route sees it.
pub struct GateRequest {
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
}

impl GateRequest {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, extra headers, JSON body, and whether it is held.
pub struct GateAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub held: bool,
}

pub type Route = dyn Fn(&GateRequest) -> GateAnswer + Send + Sync;

pub struct GateServer {
    pub url: String,
    max_held: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
}

struct Shared {
    route: Box<Route>,
    gate: usize,
    held: AtomicUsize,
    max_held: Arc<AtomicUsize>,
    open: tokio::sync::watch::Sender<bool>,
    log: Arc<Mutex<Vec<String>>>,
}

impl GateServer {
    /// Serve `route`; held answers wait until `gate` are in flight.
    pub async fn start(
        gate: usize,
        route: impl Fn(&GateRequest) -> GateAnswer + Send + Sync + 'static,
    ) -> GateServer {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let max_held = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (open, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            route: Box::new(route),
            gate,
            held: AtomicUsize::new(0),
            max_held: max_held.clone(),
            open,
            log: log.clone(),
        });
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let sh = shared.clone();
                tokio::spawn(async move {
                    let _ = conn(s, sh).await;
                });
            }
        });
        GateServer { url, max_held, log }
    }

    /// The most held requests in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_held.load(Ordering::SeqCst)
    }

    /// `path?query` of every request, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

async fn conn(s: tokio::net::TcpStream, sh: Arc<Shared>) -> std::io::Result<()> {
    let mut rd = BufReader::new(s);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
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
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if len > 0 {
            let mut b = vec![0u8; len];
            rd.read_exact(&mut b).await?;
        }
        sh.log.lock().unwrap().push(target.clone());
        let (path, q) = target.split_once('?').unwrap_or((&target, ""));
        let req = GateRequest {
            path: path.to_string(),
            query: url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
            headers,
        };
        let a = (sh.route)(&req);
        if a.held {
            let now = sh.held.fetch_add(1, Ordering::SeqCst) + 1;
            sh.max_held.fetch_max(now, Ordering::SeqCst);
            if now >= sh.gate {
                sh.open.send_replace(true);
            }
            let mut rx = sh.open.subscribe();
            let _ = tokio::time::timeout(Duration::from_secs(3), rx.wait_for(|o| *o)).await;
            sh.held.fetch_sub(1, Ordering::SeqCst);
        }
        let reason = match a.status {
            200 => "OK",
            304 => "Not Modified",
            _ => "Error",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            a.status,
            a.body.len()
        );
        for (k, v) in &a.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let w = rd.get_mut();
        w.write_all(head.as_bytes()).await?;
        w.write_all(a.body.as_bytes()).await?;
    }
}
