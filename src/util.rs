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
