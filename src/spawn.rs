//! Spawning tasks through one task type per output type.
//!
//! tokio compiles a task's machinery (poll, completion, cancellation) once
//! for every future type spawned: about 3 KB of machine code a spawn site.
//! sitrep's tasks are few and long-lived (a poller per provider, the disk
//! writer, the team listeners, one action at a time), so they are spawned
//! boxed: one extra allocation a task, and the machinery once per output
//! type.

use std::future::Future;

use futures::FutureExt;
use tokio::task::JoinHandle;

/// `tokio::spawn`, boxed.
pub fn task<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> JoinHandle<T> {
    tokio::spawn(f.boxed())
}

/// `tokio::task::spawn_blocking`, boxed.
pub fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let f: Box<dyn FnOnce() -> T + Send> = Box::new(f);
    tokio::task::spawn_blocking(f)
}
