//! Benchmark hooks (`benches/run`), compiled only with the `bench-hooks`
//! feature: `SITREP_BENCH_FIRST_FRAME` exits right after the first frame,
//! printing the time since process start on stderr; `SITREP_BENCH_DRAWS=FILE`
//! keeps the number of frames drawn so far in FILE. Without the feature
//! `frame_drawn` is empty and the loop checks nothing.

/// When the process started (set first thing by `main`).
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

#[cfg(feature = "bench-hooks")]
pub fn frame_drawn() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    if std::env::var_os("SITREP_BENCH_FIRST_FRAME").is_some() {
        super::terminal::restore_terminal();
        if let Some(t0) = STARTED.get() {
            eprintln!(
                "first frame after {:.3} ms",
                t0.elapsed().as_secs_f64() * 1e3
            );
        }
        std::process::exit(crate::app::exit::OK);
    }
    if let Some(path) = std::env::var_os("SITREP_BENCH_DRAWS") {
        let n = DRAWS.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = std::fs::write(path, format!("{n}\n"));
    }
}

#[cfg(not(feature = "bench-hooks"))]
pub fn frame_drawn() {}
