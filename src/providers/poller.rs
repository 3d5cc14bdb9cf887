//! One tokio task per provider. Each fetch is bounded by the provider's
//! deadline; results are sent as events. A refresh request while a fetch is
//! in flight is coalesced (only the latest matters), so nothing queues
//! behind a slow provider.

use super::{ErrorKind, Provider, ProviderError, Registry};
use crate::model::{Fetched, Time};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, mpsc};

/// How many providers fetch at the same time (see [`Poller::start`]).
pub const MAX_CONCURRENT_FETCHES: usize = 32;
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
    let f: f64 = 0.8 + crate::util::random_unit() * 0.4;
    d.mul_f64(f)
}

/// The wait before the next poll of a provider that failed `failures`
/// times in a row: its poll interval doubled per failure, at most
/// [`MAX_BACKOFF`] times it. A dead provider costs a quarter of the work
/// of a live one; a refresh (`r`) still asks it at once.
pub fn backoff(poll: Duration, failures: u32) -> Duration {
    poll.saturating_mul(1 << failures.min(MAX_BACKOFF.trailing_zeros()))
}

/// The most a failing provider's poll interval is stretched.
pub const MAX_BACKOFF: u32 = 4;

pub struct Poller {
    refresh: Vec<Arc<Notify>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Poller {
    /// Start polling every provider; events go to `tx`. At most
    /// [`MAX_CONCURRENT_FETCHES`] fetch at once: a config with thousands
    /// of providers (dead or not) polls them in turn instead of all at
    /// once, so the work per second stays bounded.
    pub fn start(registry: &Registry, tx: mpsc::Sender<PollEvent>) -> Poller {
        let mut refresh = Vec::new();
        let mut tasks = Vec::new();
        let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_FETCHES));
        for p in &registry.providers {
            let notify = Arc::new(Notify::new());
            refresh.push(notify.clone());
            let p = p.clone();
            let tx = tx.clone();
            let permits = permits.clone();
            tasks.push(crate::spawn::task(async move {
                let mut failures = 0u32;
                loop {
                    let Ok(_permit) = permits.acquire().await else {
                        return;
                    };
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
                    failures = if result.is_ok() { 0 } else { failures + 1 };
                    let ev = PollEvent::Done {
                        provider: name,
                        at: chrono::Utc::now(),
                        result,
                    };
                    drop(_permit);
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(jittered(backoff(p.poll_interval(), failures))) => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_provider_is_polled_less_often_up_to_four_times_slower() {
        let p = Duration::from_secs(30);
        let waits: Vec<u64> = (0..6).map(|f| backoff(p, f).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 120, 120, 120]);
    }
}
