//! The per-provider circuit breaker.

use super::BreakerPolicy;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum BState {
    Closed,
    Open { until: Instant },
    HalfOpen { probe_since: Option<Instant> },
}

#[derive(Debug)]
struct BreakerInner {
    state: BState,
    consecutive: u32,
    recent: VecDeque<(Instant, bool)>,
}

/// Closed → open (after repeated failures) → half-open (one probe) → closed.
/// Times are passed in so tests can drive it without sleeping.
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    inner: Mutex<BreakerInner>,
}

/// What `admit` allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// A normal call.
    Call,
    /// The one half-open probe.
    Probe,
}

impl CircuitBreaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        CircuitBreaker {
            policy,
            inner: Mutex::new(BreakerInner {
                state: BState::Closed,
                consecutive: 0,
                recent: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerInner> {
        // A poisoned breaker is still a valid state machine.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.lock().state {
            BState::Closed => BreakerState::Closed,
            BState::Open { until } if now >= until => BreakerState::HalfOpen,
            BState::Open { .. } => BreakerState::Open,
            BState::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// May a call go out now? `Err` carries how long the circuit stays open.
    pub fn admit(&self, now: Instant) -> Result<Admit, Duration> {
        let mut g = self.lock();
        match g.state {
            BState::Closed => Ok(Admit::Call),
            BState::Open { until } => {
                if now >= until {
                    g.state = BState::HalfOpen {
                        probe_since: Some(now),
                    };
                    Ok(Admit::Probe)
                } else {
                    Err(until - now)
                }
            }
            BState::HalfOpen { probe_since } => match probe_since {
                Some(t) if now.duration_since(t) < self.policy.probe_timeout => {
                    Err(Duration::from_secs(1))
                }
                _ => {
                    g.state = BState::HalfOpen {
                        probe_since: Some(now),
                    };
                    Ok(Admit::Probe)
                }
            },
        }
    }

    /// Report how a call went (`ok` = the server answered sanely).
    pub fn record(&self, now: Instant, ok: bool) {
        let p = &self.policy;
        let mut g = self.lock();
        g.recent.push_back((now, ok));
        while let Some((t, _)) = g.recent.front() {
            if now.duration_since(*t) > p.window || g.recent.len() > 10_000 {
                g.recent.pop_front();
            } else {
                break;
            }
        }
        match g.state {
            BState::HalfOpen { .. } => {
                if ok {
                    g.state = BState::Closed;
                    g.consecutive = 0;
                    g.recent.clear();
                } else {
                    g.state = BState::Open {
                        until: now + p.open_for,
                    };
                }
            }
            BState::Open { .. } => {}
            BState::Closed => {
                if ok {
                    g.consecutive = 0;
                } else {
                    g.consecutive += 1;
                    let calls = g.recent.len() as u32;
                    let failed = g.recent.iter().filter(|(_, ok)| !ok).count() as f64;
                    let ratio_trip = calls >= p.min_calls.max(1)
                        && failed / f64::from(calls.max(1)) >= p.failure_ratio;
                    if g.consecutive >= p.consecutive_failures.max(1) || ratio_trip {
                        tracing::warn!("circuit opened after {} failures in a row", g.consecutive);
                        g.state = BState::Open {
                            until: now + p.open_for,
                        };
                    }
                }
            }
        }
    }
}
