//! sitrep: a terminal operations console for on-call engineers.
//!
//! The CLI and the TUI are two faces of one core: providers fetch and
//! normalize into the `model`, the `store` aggregates, `ops` plans write
//! actions that the executor audits and carries out.

pub mod actions;
pub mod app;
pub mod audit;
pub mod cache;
pub mod cli;
pub mod config;
pub mod fsutil;
pub mod fuzzy;
pub mod handoff;
pub mod mem;
pub mod model;
pub mod ops;
pub mod order;
pub mod paths;
pub mod present;
pub mod providers;
pub mod runbooks;
pub mod secrets;
pub mod sim;
pub mod slo;
pub mod spawn;
pub mod store;
pub mod team;
pub mod text;
pub mod theme;
pub mod timeline;
pub mod tui;
pub mod util;
pub mod watch;
