//! A raw TCP "provider" that answers every path the same misbehaving way:
//! full control over what reaches the client (accept and never answer,
//! headers then a trickle, a cut-off body, a 200 MB stream...). Used by the
//! chaos matrix (tests/chaos.rs) and the escape-injection tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the fake answers every request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Accept, read the request, never answer (the socket stays open).
    Hang,
    /// Headers announcing 1,000 bytes, then one byte every 300 ms.
    Trickle,
    /// A complete response: status, extra headers, body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// 200 with `Content-Length` larger than what is sent; then close.
    CutOff(Vec<u8>),
    /// 200, chunked, no length: `total` bytes of a JSON-looking stream.
    Huge { total: usize },
    /// A hostile server: `status` with the request head (credentials
    /// included) echoed back in a JSON error message.
    Echo(u16),
    /// By path (the request target without its query): the first route
    /// whose path is the request's answers; any other path is a 404.
    Routes(Vec<(String, Fault)>),
}

impl Fault {
    pub fn status(status: u16) -> Fault {
        Fault::Respond {
            status,
            headers: vec![],
            body: br#"{"message":"fault injected"}"#.to_vec(),
        }
    }

    pub fn with_header(status: u16, name: &str, value: &str) -> Fault {
        Fault::Respond {
            status,
            headers: vec![(name.to_string(), value.to_string())],
            body: br#"{"message":"slow down"}"#.to_vec(),
        }
    }

    /// A fake that answers `path` with `fault`, and more routes with `.or`.
    pub fn route(path: &str, fault: Fault) -> Fault {
        Fault::Routes(vec![(path.to_string(), fault)])
    }

    pub fn or(self, path: &str, fault: Fault) -> Fault {
        let Fault::Routes(mut r) = self else {
            panic!("Fault::or adds a route to Fault::route");
        };
        r.push((path.to_string(), fault));
        Fault::Routes(r)
    }

    pub fn ok(body: impl Into<Vec<u8>>) -> Fault {
        Fault::Respond {
            status: 200,
            headers: vec![],
            body: body.into(),
        }
    }
}

/// A running fake; the listener task lives as long as the runtime.
pub struct FaultServer {
    pub url: String,
    /// Requests seen (each accepted connection that sent a request head).
    pub hits: Arc<AtomicUsize>,
}

impl FaultServer {
    pub async fn start(fault: Fault) -> FaultServer {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = l.accept().await {
                let f = fault.clone();
                let h = h.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, f, h).await;
                });
            }
        });
        FaultServer { url, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A loopback URL where nothing listens (bind, then drop).
pub fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Read one request head (and any body the headers announce, bounded).
async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0)
                .min(1 << 20);
            let mut have = buf.len() - end - 4;
            while have < len {
                let n = sock.read(&mut tmp).await?;
                if n == 0 {
                    break;
                }
                have += n;
            }
            return Ok(Some(String::from_utf8_lossy(&buf[..end]).into_owned()));
        }
        if buf.len() > 1 << 20 {
            return Ok(None);
        }
    }
}

async fn serve(mut sock: TcpStream, fault: Fault, hits: Arc<AtomicUsize>) -> std::io::Result<()> {
    let Some(request) = read_request(&mut sock).await? else {
        return Ok(());
    };
    hits.fetch_add(1, Ordering::SeqCst);
    let fault = match fault {
        Fault::Routes(routes) => {
            let target = request.split_whitespace().nth(1).unwrap_or("");
            let path = target.split('?').next().unwrap_or("");
            routes
                .into_iter()
                .find(|(p, _)| p == path)
                .map(|(_, f)| f)
                .unwrap_or_else(|| Fault::status(404))
        }
        f => f,
    };
    let fault = match fault {
        Fault::Echo(status) => Fault::Respond {
            status,
            headers: vec![],
            body: serde_json::json!({ "message": format!("you sent: {request}"), "error": { "message": request } })
                .to_string()
                .into_bytes(),
        },
        f => f,
    };
    match fault {
        Fault::Echo(_) | Fault::Routes(_) => {}
        Fault::Hang => {
            // Hold the socket open well past any client timeout.
            tokio::time::sleep(Duration::from_secs(300)).await;
        }
        Fault::Trickle => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n",
            )
            .await?;
            for _ in 0..1000 {
                sock.write_all(b" ").await?;
                sock.flush().await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        Fault::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (n, v) in headers {
                head.push_str(&format!("{n}: {v}\r\n"));
            }
            head.push_str("\r\n");
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(&body).await?;
            sock.flush().await?;
        }
        Fault::CutOff(part) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                part.len() + 4096
            );
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(&part).await?;
            sock.flush().await?;
        }
        Fault::Huge { total } => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )
            .await?;
            // `[` then "0," repeated: valid-looking JSON that never ends.
            let chunk = {
                let mut c = b"[".to_vec();
                while c.len() < 64 * 1024 {
                    c.extend_from_slice(b"0,");
                }
                c
            };
            let mut sent = 0;
            while sent < total {
                let n = chunk.len().min(total - sent);
                sock.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                sock.write_all(&chunk[..n]).await?;
                sock.write_all(b"\r\n").await?;
                sent += n;
            }
            sock.write_all(b"0\r\n\r\n").await?;
        }
    }
    let _ = sock.shutdown().await;
    Ok(())
}

/// The resident set size of this process, in bytes (Linux).
pub fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<usize>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Start a fake on its own runtime, for tests that are not async (the
/// runtime must be kept alive as long as the fake is needed).
pub fn background(fault: Fault) -> (FaultServer, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(FaultServer::start(fault));
    (server, rt)
}
