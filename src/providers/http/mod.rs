//! The shared HTTP layer every HTTP provider builds on.
//!
//! One [`HttpClient`] per provider:
//! - explicit connect / read / total timeouts (reqwest has none by default);
//! - idempotent reads ([`HttpClient::get`]) retried on timeouts, refused
//!   connections, 408/425/429 and 5xx, with capped **full-jitter** backoff;
//!   `Retry-After` (seconds or HTTP-date) and vendor rate-limit reset headers
//!   are honoured and clamped; a wait longer than `max_inline_wait` is not
//!   slept inside one fetch: the call fails with `RateLimited` and later calls
//!   fail fast (no network I/O) until the reset;
//! - writes ([`HttpClient::send`]) are **never** retried; a write cut off
//!   after it may have reached the server is `ErrorKind::Unknown`;
//! - a per-provider circuit breaker (closed → open → half-open probe);
//! - the rate-limit block, breaker wiring, retry budget and read-retry loop
//!   live in the client's [`ReadGuard`];
//! - bodies read with a size cap (`ErrorKind::TooLarge`);
//! - every failure is a typed `ProviderError` with a short sanitized excerpt
//!   of the error body. Request headers are never formatted anywhere; the
//!   credential headers are marked sensitive and only ever shown through
//!   [`HttpClient::redacted_headers`].
//!
//! Pagination helpers: [`offset_pages`] (PagerDuty classic `more`, with
//! bounded concurrency once the total is known), [`HttpClient::get_link_pages`]
//! (`Link: <…>; rel="next"`, GitHub and Sentry, stops on `results="false"`;
//! numbered pages read `page_concurrency` at a time; GitHub takes the first
//! page alone with [`HttpClient::get_link_page`] and the rest with
//! [`HttpClient::link_pages_after`])
//! and [`HttpClient::get_next_url_pages`] (a next URL or cursor in the body).
//!
//! Files: `config` (policies, [`HttpConfig`], [`Sleeper`]), `auth`,
//! `breaker`, `retry` ([`ReadGuard`], retry budget), `wait` (backoff,
//! `Retry-After`, vendor reset headers), `links`, `decode` (error excerpts,
//! [`decode_json`]), `client` ([`HttpClient`]), `body` (body budget),
//! `paginate` ([`offset_pages`], the `Link` page loop), `send_error` (a
//! failed send in words). Who acts and why is
//! not the transport's business: providers get it as `ops::PlanCtx` when
//! they plan.

mod auth;
mod body;
mod breaker;
mod client;
mod config;
mod decode;
mod links;
mod paginate;
mod retry;
mod send_error;
mod wait;

pub use auth::*;
pub use body::*;
pub use breaker::*;
pub use client::*;
pub use config::*;
pub use decode::*;
pub use links::*;
pub use paginate::*;
pub use retry::*;
pub(crate) use send_error::*;
pub use wait::*;

#[cfg(test)]
mod tests;
