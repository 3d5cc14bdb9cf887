//! End-to-end tests: the `sitrep` binary driven through tmux or as a child
//! process, and the audit log under several writer processes.
//!
//! Run one module: `cargo test --test e2e tmux_e2e::`

#[path = "../common/mod.rs"]
mod common;

mod answer;
mod audit_chain;
mod audit_signing;
mod config_check;
mod demo_isolation;
mod escape_e2e;
mod lifecycle;
mod offline;
mod real_console;
mod secrets_sweep;
mod slo_files;
mod tmux_e2e;
