//! Memory held from the system. An on-call console stays open for hours:
//! what a poll decodes and drops must go back to the system, not sit in
//! allocator arenas. glibc only (elsewhere these are no-ops).
//!
//! - [`limit_arenas`]: one malloc arena for the whole process (glibc
//!   otherwise opens one per thread that allocates, up to 8 per core, and
//!   freed memory in one is never reused by another). The console's
//!   threads allocate little and rarely at once, so contention is nil.
//!   Also a fixed mmap threshold (glibc's default, 128 KiB): glibc
//!   otherwise raises it to the size of the largest block freed (a page
//!   body, the cache file, the `--json` text), after which such blocks
//!   come from the heap and stay resident once freed. Measured: 5,000
//!   PagerDuty incidents `--json` 16.8 → 14.8 MiB peak, the console with
//!   them 16.5 → 15.2 MiB (BENCHMARKS.md).
//! - [`give_back`]: return the free pages of the heap to the system
//!   (`malloc_trim`), called after a poll's data replaced the old.

/// Call once at start, before any other thread exists.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt takes two integers and changes only the
        // allocator's own parameters; no other thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
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
