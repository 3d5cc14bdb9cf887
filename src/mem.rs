//! Memory held from the system. An on-call console stays open for hours:
//! what a poll decodes and drops must go back to the system, not sit in
//! allocator arenas. glibc only (elsewhere these are no-ops).
//!
//! - [`limit_arenas`]: one malloc arena for the whole process (glibc
//!   otherwise opens one per thread that allocates, up to 8 per core, and
//!   freed memory in one is never reused by another). The console's
//!   threads allocate little and rarely at once, so contention is nil.
//!   `audit verify`, whose threads all decode at once, has one per core.
//!   Also a fixed mmap threshold: glibc otherwise raises it to the size of
//!   the largest block freed (a page body, the cache file, the `--json`
//!   text), after which such blocks come from the heap and stay resident
//!   once freed. Measured: 5,000 PagerDuty incidents `--json` 16.8 → 14.8
//!   MiB peak, the console with them 16.5 → 15.2 MiB (BENCHMARKS.md).
//!   The console, which runs for hours, keeps glibc's default
//!   ([`CONSOLE_MMAP_THRESHOLD`]); a one-shot command, which exits within
//!   milliseconds, a higher one ([`ONE_SHOT_MMAP_THRESHOLD`]), so the page
//!   bodies it reads one after another reuse the same heap memory instead
//!   of each being mapped, faulted in and unmapped: 5,000 incidents
//!   `--json` 48 → 42 ms for +1.4 MiB peak, 1,000 GitHub deployments
//!   +0.5 MiB (256 KiB: 45 ms, +0.1 MiB; 512 KiB: +1.6 MiB and +1.0 MiB).
//! - [`give_back`]: return the free pages of the heap to the system
//!   (`malloc_trim`), called after a poll's data replaced the old.

/// Blocks from this size up are mapped on their own in the console.
pub const CONSOLE_MMAP_THRESHOLD: usize = 128 * 1024;
/// The same for a one-shot command.
pub const ONE_SHOT_MMAP_THRESHOLD: usize = 384 * 1024;

/// Call once at start, before any other thread exists. `arenas`: 1 but
/// for a command whose threads all allocate at once (see
/// [`arenas_for_parallel_work`]).
pub fn limit_arenas(mmap_threshold: usize, arenas: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let threshold = libc::c_int::try_from(mmap_threshold).unwrap_or(libc::c_int::MAX);
        let arenas = libc::c_int::try_from(arenas.max(1)).unwrap_or(1);
        // SAFETY: mallopt takes two integers and changes only the
        // allocator's own parameters; no other thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            libc::mallopt(libc::M_MMAP_THRESHOLD, threshold);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = (mmap_threshold, arenas);
}

/// Arenas for a command that parses on every core at once (`audit
/// verify`: each thread decodes its share of the lines): one per core, up
/// to the 8 threads that work. With one arena the threads queue on its
/// lock: 100,000 signed records took 0.94-1.75 s (system time 0.28 s)
/// against 1.03-1.23 s (0.11 s) with two, on 2 cores (benches/notes.md).
pub fn arenas_for_parallel_work() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
}

/// Release free heap pages to the system. Cost: a walk over the free
/// lists (well under a millisecond for a console's heap).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes an integer and is thread-safe (it
        // takes the arena locks like malloc and free do).
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
