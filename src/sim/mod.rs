//! Vendor simulators: small loopback HTTP/1.1 servers that answer like the
//! vendors' APIs (paths, auth, pagination, error bodies, rate-limit headers
//! as `providers.md` describes them), with state that the writes change.
//! The real providers are pointed at them, so what they exercise is the
//! real code. One server core ([`serve`]) and one handler per vendor
//! ([`pagerduty`], [`alertmanager`], [`prometheus`], [`github`],
//! [`vercel`], [`launchdarkly`], [`unleash`]); [`world`] is the demo
//! company they are seeded from and [`demo`] starts them for `--demo`.
//!
//! The server is deliberately small: one request per connection
//! (`Connection: close`), a `Content-Length` body, JSON answers. It is for
//! loopback use by this process only.

pub mod alertmanager;
pub mod demo;
pub mod github;
pub mod launchdarkly;
pub mod pagerduty;
pub mod prometheus;
pub mod unleash;
pub mod vercel;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head (request line + headers) read.
const MAX_HEAD: usize = 64 * 1024;
/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// One parsed request.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    /// The path, percent-decoded per segment is left to the handler.
    pub path: String,
    /// The query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first query value of `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every query value of `key` (`statuses[]=a&statuses[]=b`).
    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The path's segments, percent-decoded (`/a/b%2Fc` → `["a", "b/c"]`).
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect()
    }

    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One answer.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// `status` with `body` as JSON.
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// No body (204 and the like).
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// A vendor: answers one request from its state.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: &Request) -> Response;
}

/// A running simulator; dropping it stops the server.
pub struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the `base_url` a provider is given.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve `handler` on a free loopback port, on the current runtime.
pub async fn serve(handler: Arc<dyn Handler>) -> std::io::Result<Server> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = crate::spawn::task(accept_loop(listener, handler));
    Ok(Server { addr, task })
}

async fn accept_loop(listener: TcpListener, handler: Arc<dyn Handler>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let h = handler.clone();
        crate::spawn::task(async move {
            // A client that hangs up mid-request is not our concern.
            let _ = connection(stream, h).await;
        });
    }
}

/// Simulators served on a thread of their own (with its own small
/// runtime), so they can be started from any code, async or not, without
/// waiting: the ports are bound before this returns. Dropping it stops them.
pub struct Background {
    addrs: Vec<SocketAddr>,
    /// Dropped with the owner: the serving thread's runtime then ends.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Background {
    /// Bind one loopback port per handler and serve them all.
    pub fn start(handlers: Vec<Arc<dyn Handler>>) -> std::io::Result<Background> {
        let mut bound = Vec::with_capacity(handlers.len());
        let mut addrs = Vec::with_capacity(handlers.len());
        for h in handlers {
            let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            l.set_nonblocking(true)?;
            addrs.push(l.local_addr()?);
            bound.push((l, h));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("sitrep-sim".into())
            .spawn(move || {
                rt.block_on(async move {
                    for (l, h) in bound {
                        if let Ok(l) = TcpListener::from_std(l) {
                            crate::spawn::task(accept_loop(l, h));
                        }
                    }
                    let _ = stopped.await;
                });
            })?;
        Ok(Background { addrs, _stop: stop })
    }

    /// `http://127.0.0.1:PORT` of handler `i` (in the order given).
    pub fn url(&self, i: usize) -> Option<String> {
        self.addrs.get(i).map(|a| format!("http://{a}"))
    }
}

async fn connection(mut stream: TcpStream, handler: Arc<dyn Handler>) -> std::io::Result<()> {
    let resp = match read_request(&mut stream).await? {
        Some(req) => handler.handle(&req),
        None => Response::json(400, &serde_json::json!({"message": "bad request"})),
    };
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        resp.body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&resp.body).await?;
    stream.flush().await?;
    stream.shutdown().await
}

/// Read one request; `None` when it is not HTTP/1.1 as we take it.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target)) = (first.next(), first.next()) else {
        return Ok(None);
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return Ok(None);
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        headers,
        body,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        _ => "Status",
    }
}
