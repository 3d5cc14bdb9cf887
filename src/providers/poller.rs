//! One tokio task per provider. Each fetch is bounded by the provider's
//! deadline; results are sent as events. A refresh request while a fetch is
//! in flight is coalesced (only the latest matters), so nothing queues
//! behind a slow provider.

use super::{ErrorKind, Provider, ProviderError, Registry};
use crate::model::{Fetched, Time};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

#[derive(Debug)]
pub enum PollEvent {
    Started {
        provider: String,
    },
    Done {
        provider: String,
        at: Time,
        result: Result<Fetched, ProviderError>,
    },
}

/// Fetch once with the provider's hard deadline.
pub async fn fetch_bounded(p: &dyn Provider) -> Result<Fetched, ProviderError> {
    let deadline = p.fetch_deadline();
    match tokio::time::timeout(deadline, p.fetch()).await {
        Ok(r) => r,
        Err(_) => Err(ProviderError::new(
            p.name(),
            ErrorKind::Timeout,
            format!("no answer within {}s", deadline.as_secs()),
        )),
    }
}

/// ±20 % jitter so consoles started together do not poll in step.
fn jittered(d: Duration) -> Duration {
    let f: f64 = 0.8 + rand::random::<f64>() * 0.4;
    d.mul_f64(f)
}

pub struct Poller {
    refresh: Vec<Arc<Notify>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Poller {
    /// Start polling every provider; events go to `tx`.
    pub fn start(registry: &Registry, tx: mpsc::Sender<PollEvent>) -> Poller {
        let mut refresh = Vec::new();
        let mut tasks = Vec::new();
        for p in &registry.providers {
            let notify = Arc::new(Notify::new());
            refresh.push(notify.clone());
            let p = p.clone();
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let name = p.name().to_string();
                    if tx
                        .send(PollEvent::Started {
                            provider: name.clone(),
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let result = fetch_bounded(p.as_ref()).await;
                    let ev = PollEvent::Done {
                        provider: name,
                        at: chrono::Utc::now(),
                        result,
                    };
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(jittered(p.poll_interval())) => {}
                        _ = notify.notified() => {}
                    }
                }
            }));
        }
        Poller { refresh, tasks }
    }

    /// Ask every provider to fetch now (coalesced if one is in flight).
    pub fn refresh_all(&self) {
        for n in &self.refresh {
            n.notify_one();
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
