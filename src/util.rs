//! Small helpers shared by the CLI and the TUI.

use crate::model::Time;

/// "45s", "7m", "3h", "2d": how long ago, compact.
pub fn age(now: Time, then: Time) -> String {
    let secs = (now - then).num_seconds();
    if secs < 0 {
        return format!("in {}", span(-secs));
    }
    span(secs)
}

/// A duration in seconds, compact.
pub fn span(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86400 * 2 {
        let h = secs / 3600;
        let m = (secs % 3600) / 60;
        if h < 10 && m > 0 {
            format!("{h}h{m:02}m")
        } else {
            format!("{h}h")
        }
    } else {
        format!("{}d", secs / 86400)
    }
}

/// "in 9h", for an end time.
pub fn until(now: Time, then: Time) -> String {
    let secs = (then - now).num_seconds();
    if secs <= 0 {
        "now".into()
    } else {
        format!("in {}", span(secs))
    }
}

/// Percent with sensible precision: 99.9 → "99.9%", 99.95 → "99.95%".
pub fn pct(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// A burn rate: "14.4x", "0.21x", "-" for no data.
pub fn burn(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v >= 100.0 => format!("{v:.0}x"),
        Some(v) if v >= 10.0 => format!("{v:.1}x"),
        Some(v) => format!("{v:.2}x"),
    }
}

/// A share (1.0 = 100 %) as percent, "-" for no data.
pub fn share(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) => format!("{:.0}%", v * 100.0),
    }
}

/// An http(s) URL (a provider string offered as a link; anything else,
/// `javascript:` or a bare host, is not one).
pub fn is_web_url(u: &str) -> bool {
    u.starts_with("https://") || u.starts_with("http://")
}

/// First 7 characters of a sha.
pub fn short_sha(s: &str) -> &str {
    s.get(..7).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ages() {
        let now = chrono::Utc.timestamp_opt(1_000_000, 0).unwrap();
        let at = |s: i64| chrono::Utc.timestamp_opt(1_000_000 - s, 0).unwrap();
        assert_eq!(age(now, at(5)), "5s");
        assert_eq!(age(now, at(420)), "7m");
        assert_eq!(age(now, at(3 * 3600 + 600)), "3h10m");
        assert_eq!(age(now, at(30 * 3600)), "30h");
        assert_eq!(age(now, at(5 * 86400)), "5d");
        assert_eq!(pct(99.9), "99.9%");
        assert_eq!(pct(99.95), "99.95%");
        assert_eq!(burn(Some(14.4)), "14.4x");
        assert_eq!(burn(None), "-");
    }
}

/// `f` over every item, in order, the items split over the machine's cores
/// (at most 8 threads; one when there are fewer than `min_parallel` items).
/// For CPU-bound checks of independent items: hashes, signatures.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    min_parallel: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    par_chunks(items, min_parallel, |c| c.iter().map(&f).collect())
}

/// `f` over the items split into one run per core (at most 8; one run
/// when there are fewer than `min_parallel` items), each run's results
/// (one per item) joined in order. For checks that are cheaper many at a
/// time (a batch of signatures).
pub fn par_chunks<T: Sync, R: Send>(
    items: &[T],
    min_parallel: usize,
    f: impl Fn(&[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if threads <= 1 || items.len() < min_parallel.max(2) {
        return f(items);
    }
    let size = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let mut chunks = items.chunks(size);
        let first = chunks.next().unwrap_or(&[]);
        let others: Vec<_> = chunks.map(|c| s.spawn(move || f(c))).collect();
        let mut out: Vec<R> = f(first);
        for h in others {
            match h.join() {
                Ok(mut part) => out.append(&mut part),
                // A check that panicked (a bug): the panic goes on here.
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}

#[cfg(test)]
mod par_tests {
    #[test]
    fn par_map_keeps_the_order_whatever_the_split() {
        for n in [0usize, 1, 7, 64, 1_000, 1_001] {
            let items: Vec<usize> = (0..n).collect();
            let got = super::par_map(&items, 4, |i| i * 3);
            assert_eq!(
                got,
                items.iter().map(|i| i * 3).collect::<Vec<_>>(),
                "n {n}"
            );
        }
    }
}

/// A random `u64` for what needs no secrecy (temporary file names, poll
/// and retry jitter): std's per-process random hash keys, stepped for
/// every call, hashed.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(0u8)
}

/// A random fraction in `[0, 1)`, from [`random_u64`].
pub fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}
