//! In-process integration tests, one module per area, in one test binary
//! (one link instead of one per file).
//!
//! Run one module: `cargo test --test it pagerduty::`
//! Run one test:   `cargo test --test it pagerduty::name_of_the_test`
//!
//! The end-to-end tests (tmux, child processes) are in `tests/e2e`, and the
//! chaos tests stay in their own binary (`tests/chaos.rs`) because they
//! assert on the process-wide RSS, which other tests running beside them
//! would disturb.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod alertmanager;
mod auth;
mod datadog_slo;
mod decoders;
mod fetch_pattern;
mod flagd;
mod flags_ownership;
mod github;
mod launchdarkly;
mod opsgenie;
mod pagerduty;
mod pagerduty_depth;
mod prometheus_slo;
mod runbooks;
mod sentry;
mod sim_alertmanager;
mod sim_demo;
mod sim_launchdarkly;
mod sim_pagerduty;
mod sim_prometheus;
mod sim_unleash;
mod sim_vercel;
mod status_cli;
mod team;
mod team_live;
mod timeline_handoff;
mod tui_confirm;
mod tui_deploy_slo;
mod tui_flow;
mod tui_silences;
mod tui_snapshots;
mod unleash;
mod upstream;
mod vercel;
