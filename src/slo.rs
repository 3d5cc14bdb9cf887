//! SLO maths (pure): burn rates, error budget, the SRE Workbook multiwindow
//! multi-burn-rate alerts and the release gate. No data is `None`, never NaN.

use crate::model::{AlertSeverity, BurnRates, Gate, SloAlert};

/// The error budget as a ratio, e.g. 99.9 → 0.001. `None` for a nonsense objective.
pub fn budget(objective_pct: f64) -> Option<f64> {
    let b = 1.0 - objective_pct / 100.0;
    (b.is_finite() && b > 0.0 && b < 1.0).then_some(b)
}

/// Burn rate = error ratio ÷ (1 − objective).
pub fn burn_rate(error_ratio: f64, objective_pct: f64) -> Option<f64> {
    if !error_ratio.is_finite() || error_ratio < 0.0 {
        return None;
    }
    Some(error_ratio / budget(objective_pct)?)
}

/// Error ratio from counts; zero traffic is no data.
pub fn error_ratio(errors: f64, total: f64) -> Option<f64> {
    if !(errors.is_finite() && total.is_finite()) || total <= 0.0 || errors < 0.0 {
        return None;
    }
    Some((errors / total).min(1.0))
}

/// Share of the budget left over the SLO window: 1 − (error ratio over the
/// window ÷ budget). Negative when overspent.
pub fn budget_remaining(window_error_ratio: f64, objective_pct: f64) -> Option<f64> {
    Some(1.0 - burn_rate(window_error_ratio, objective_pct)?)
}

/// Share of the whole window's budget burned during a shorter period
/// (e.g. the last 7 days of a 30-day window): burn rate over the period ×
/// period ÷ window.
pub fn budget_burned_share(
    period_error_ratio: f64,
    objective_pct: f64,
    period_days: f64,
    window_days: f64,
) -> Option<f64> {
    if window_days <= 0.0 {
        return None;
    }
    Some(burn_rate(period_error_ratio, objective_pct)? * period_days / window_days)
}

/// The SRE Workbook table: (severity, long, short, factor).
pub const MWMBR: [(AlertSeverity, &str, &str, f64); 4] = [
    (AlertSeverity::Page, "1h", "5m", 14.4),
    (AlertSeverity::Page, "6h", "30m", 6.0),
    (AlertSeverity::Ticket, "1d", "2h", 3.0),
    (AlertSeverity::Ticket, "3d", "6h", 1.0),
];

/// Each alert fires only when both its windows burn above the factor.
pub fn mwmbr_alerts(burn: &BurnRates) -> Vec<SloAlert> {
    MWMBR
        .iter()
        .map(|(sev, long, short, factor)| {
            let firing = matches!((burn.get(long), burn.get(short)), (Some(l), Some(s)) if l > *factor && s > *factor);
            SloAlert {
                severity: *sev,
                long: (*long).into(),
                short: (*short).into(),
                factor: *factor,
                firing,
            }
        })
        .collect()
}

/// The multiwindow table for an SLO period of `period_days`: the same
/// budget shares (2 %, 5 %, 10 %, 10 %) and windows, with
/// factor = share × period ÷ long window (Sloth's `window.go` rule). For a
/// 30-day period this is exactly [`MWMBR`] (14.4, 6, 3, 1); for 28 days
/// 13.44, 5.6, 2.8, 0.933.
pub fn mwmbr_for_period(period_days: f64) -> [(AlertSeverity, &'static str, &'static str, f64); 4] {
    if !(period_days.is_finite() && period_days > 0.0) || (period_days - 30.0).abs() < 1e-9 {
        return MWMBR;
    }
    let shares = [0.02, 0.05, 0.10, 0.10];
    let long_hours = [1.0, 6.0, 24.0, 72.0];
    let mut t = MWMBR;
    for (i, row) in t.iter_mut().enumerate() {
        // Rounded to 1e-9 so JSON shows 5.6, not 5.6000000000000005.
        row.3 = (shares[i] * period_days * 24.0 / long_hours[i] * 1e9).round() / 1e9;
    }
    t
}

/// [`mwmbr_alerts`] for an SLO period other than 30 days (see [`mwmbr_for_period`]).
pub fn mwmbr_alerts_for_period(burn: &BurnRates, period_days: f64) -> Vec<SloAlert> {
    mwmbr_for_period(period_days)
        .iter()
        .map(|(sev, long, short, factor)| {
            let firing = matches!((burn.get(long), burn.get(short)), (Some(l), Some(s)) if l > *factor && s > *factor);
            SloAlert {
                severity: *sev,
                long: (*long).into(),
                short: (*short).into(),
                factor: *factor,
                firing,
            }
        })
        .collect()
}

/// An error ratio from an SLI in percent (Datadog `sli_value`): 99.9 → 0.001.
pub fn ratio_from_sli_pct(sli_pct: f64) -> Option<f64> {
    if !sli_pct.is_finite() || !(0.0..=100.0).contains(&sli_pct) {
        return None;
    }
    Some((1.0 - sli_pct / 100.0).max(0.0))
}

/// The budget burndown over the SLO window: the share of the budget left
/// at the window's start (1.0) and after each of its days, ending at
/// `remaining` (the window's own figure). `daily` holds each day's error
/// ratio, oldest first (`None`: no data that day, nothing spent). The
/// days give the shape, the window's figure the level, so the chart's end
/// is always the number shown beside it: day k has spent
/// `(1 − remaining) × (sum of ratios up to k) ÷ (sum of all)`. Equal
/// traffic per day is assumed; with no errors in the days but a spent
/// window (the days are coarser than the window), it is spread evenly.
/// Empty when `remaining` is unknown or no day has data.
pub fn budget_burndown(daily: &[Option<f64>], remaining: Option<f64>) -> Vec<f64> {
    let Some(remaining) = remaining.filter(|r| r.is_finite()) else {
        return Vec::new();
    };
    // No day with data: nothing to draw (a straight line would be made up).
    if daily.iter().all(|d| !d.is_some_and(f64::is_finite)) {
        return Vec::new();
    }
    let spent = 1.0 - remaining;
    let ratios: Vec<f64> = daily
        .iter()
        .map(|r| r.filter(|r| r.is_finite() && *r > 0.0).unwrap_or(0.0))
        .collect();
    let total: f64 = ratios.iter().sum();
    let n = ratios.len() as f64;
    let mut out = Vec::with_capacity(ratios.len() + 1);
    out.push(1.0);
    let mut cum = 0.0;
    for (i, r) in ratios.iter().enumerate() {
        cum += r;
        let share = if total > 0.0 {
            cum / total
        } else {
            (i + 1) as f64 / n
        };
        out.push(1.0 - spent * share);
    }
    out
}

/// `frozen` when the budget is spent or a page alert fires.
pub fn gate(budget_remaining: Option<f64>, alerts: &[SloAlert]) -> Gate {
    let spent = budget_remaining.is_some_and(|r| r <= 0.0);
    let paging = alerts
        .iter()
        .any(|a| a.firing && a.severity == AlertSeverity::Page);
    if spent || paging {
        Gate::Frozen
    } else {
        Gate::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_burndown_starts_full_and_ends_at_the_windows_figure() {
        // 4 days: nothing, 1 part, nothing, 3 parts; 60 % of the budget spent.
        let b = budget_burndown(&[Some(0.0), Some(0.001), None, Some(0.003)], Some(0.4));
        assert_eq!(b.len(), 5);
        let want = [1.0, 1.0, 0.85, 0.85, 0.4];
        for (a, w) in b.iter().zip(want) {
            assert!(close(*a, w), "{b:?}");
        }
        // Overspent: below zero, the same shape.
        let b = budget_burndown(&[Some(0.001), Some(0.001)], Some(-0.5));
        assert!(close(b[1], 0.25) && close(b[2], -0.5), "{b:?}");
        // No errors seen by day but the window spent some: evenly.
        let b = budget_burndown(&[Some(0.0), Some(0.0)], Some(0.5));
        assert!(close(b[1], 0.75) && close(b[2], 0.5), "{b:?}");
        // Unknown level, no days or no day with data: no chart.
        assert!(budget_burndown(&[None, None], Some(0.5)).is_empty());
        assert!(budget_burndown(&[Some(0.1)], None).is_empty());
        assert!(budget_burndown(&[], Some(0.5)).is_empty());
        assert!(budget_burndown(&[Some(f64::NAN)], Some(f64::NAN)).is_empty());
    }

    #[test]
    fn workbook_budget_consumption_table() {
        // SRE Workbook ch. 5: for a 30-day 99.9% SLO, burn 14.4 for 1h spends 2%
        // of the budget; burn 6 for 6h spends 5%; burn 3 for 1d spends 10%;
        // burn 1 for 3d spends 10%.
        let obj = 99.9;
        for (burn, hours, share) in [
            (14.4, 1.0, 0.02),
            (6.0, 6.0, 0.05),
            (3.0, 24.0, 0.10),
            (1.0, 72.0, 0.10),
        ] {
            let ratio = burn * 0.001;
            let got = budget_burned_share(ratio, obj, hours / 24.0, 30.0).unwrap();
            assert!(
                (got - share).abs() < 1e-3,
                "burn {burn} for {hours}h: {got}"
            );
        }
    }

    #[test]
    fn burn_rate_and_budget() {
        assert!(close(burn_rate(0.001, 99.9).unwrap(), 1.0));
        assert!(close(burn_rate(0.0144, 99.9).unwrap(), 14.4));
        assert!(close(budget_remaining(0.0005, 99.9).unwrap(), 0.5));
        assert!(budget_remaining(0.002, 99.9).unwrap() < 0.0);
        assert_eq!(burn_rate(0.1, 100.0), None);
        assert_eq!(burn_rate(f64::NAN, 99.9), None);
    }

    #[test]
    fn zero_traffic_is_no_data() {
        assert_eq!(error_ratio(0.0, 0.0), None);
        assert_eq!(error_ratio(1.0, 0.0), None);
        assert_eq!(error_ratio(f64::NAN, 10.0), None);
        assert!(close(error_ratio(1.0, 4.0).unwrap(), 0.25));
    }

    #[test]
    fn alerts_need_both_windows() {
        let mut b = BurnRates::default();
        b.set("1h", Some(20.0));
        b.set("5m", Some(10.0));
        let a = mwmbr_alerts(&b);
        assert!(!a[0].firing, "short window below factor must not fire");
        b.set("5m", Some(15.0));
        let a = mwmbr_alerts(&b);
        assert!(a[0].firing);
        assert_eq!(gate(Some(0.5), &a), Gate::Frozen);
        b.set("5m", None);
        assert!(!mwmbr_alerts(&b)[0].firing, "no data never fires");
    }

    #[test]
    fn workbook_table_factors_and_windows() {
        // SPEC §4 / SRE Workbook table 5-8 (+ Sloth's 1d/2h ticket row).
        let t: Vec<_> = MWMBR
            .iter()
            .map(|(s, l, sh, f)| (*s, *l, *sh, *f))
            .collect();
        assert_eq!(
            t,
            vec![
                (AlertSeverity::Page, "1h", "5m", 14.4),
                (AlertSeverity::Page, "6h", "30m", 6.0),
                (AlertSeverity::Ticket, "1d", "2h", 3.0),
                (AlertSeverity::Ticket, "3d", "6h", 1.0),
            ]
        );
        // Each short window is 1/12 of its long one.
        let secs = |w: &str| crate::config::parse_duration(w).unwrap().as_secs();
        for (_, l, s, _) in MWMBR {
            assert_eq!(secs(l), 12 * secs(s));
        }
        // factor = budget share × period ÷ long window, for 30 days.
        let scaled = mwmbr_for_period(30.0);
        assert_eq!(scaled, MWMBR);
        let computed: Vec<f64> = [(0.02, 1.0), (0.05, 6.0), (0.10, 24.0), (0.10, 72.0)]
            .iter()
            .map(|(share, h)| share * 30.0 * 24.0 / h)
            .collect();
        for (row, f) in MWMBR.iter().zip(computed) {
            assert!((row.3 - f).abs() < 1e-9, "{row:?} vs {f}");
        }
        // 28 days: Sloth's google-28d numbers.
        let f28: Vec<f64> = mwmbr_for_period(28.0).iter().map(|r| r.3).collect();
        assert_eq!(&f28[..3], &[13.44, 5.6, 2.8]);
        assert!((f28[3] - 0.9333).abs() < 1e-3);
    }

    #[test]
    fn time_to_exhaustion_matches_burn() {
        // A budget of period P is gone after P / burn: 14.4 burns 30 days of
        // budget in 50 hours.
        let burned = |burn: f64, hours: f64| {
            budget_burned_share(burn * 0.001, 99.9, hours / 24.0, 30.0).unwrap()
        };
        assert!((burned(14.4, 50.0) - 1.0).abs() < 1e-9);
        assert!((burned(1.0, 720.0) - 1.0).abs() < 1e-9);
        assert!((burned(6.0, 120.0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn alert_states_at_the_thresholds() {
        // Strictly above the factor fires; exactly at it does not (PromQL `>`).
        let mut b = BurnRates::default();
        for w in crate::model::BURN_WINDOWS {
            b.set(w, Some(14.4));
        }
        let a = mwmbr_alerts(&b);
        assert!(!a[0].firing);
        assert!(a[1].firing && a[2].firing && a[3].firing);
        assert_eq!(gate(Some(0.9), &a), Gate::Frozen);
        // Only the ticket rows: the gate stays open.
        for w in crate::model::BURN_WINDOWS {
            b.set(w, Some(2.0));
        }
        let a = mwmbr_alerts(&b);
        let firing: Vec<bool> = a.iter().map(|x| x.firing).collect();
        assert_eq!(firing, [false, false, false, true]);
        assert_eq!(gate(Some(0.9), &a), Gate::Open);
    }

    #[test]
    fn missing_series_never_fire_or_freeze() {
        let none = BurnRates::default();
        assert!(mwmbr_alerts(&none).iter().all(|a| !a.firing));
        assert!(
            mwmbr_alerts_for_period(&none, 28.0)
                .iter()
                .all(|a| !a.firing)
        );
        assert_eq!(gate(None, &mwmbr_alerts(&none)), Gate::Open);
        // Infinite or negative values are no data, never NaN.
        assert_eq!(burn_rate(f64::INFINITY, 99.9), None);
        assert_eq!(burn_rate(-0.1, 99.9), None);
        assert_eq!(error_ratio(f64::INFINITY, 5.0), None);
        assert_eq!(error_ratio(-1.0, 5.0), None);
        let mut b = BurnRates::default();
        b.set("1h", Some(f64::NAN));
        assert_eq!(b.get("1h"), None);
    }

    #[test]
    fn sli_percent_to_error_ratio() {
        assert!(close(ratio_from_sli_pct(99.9).unwrap(), 0.001));
        assert!(close(ratio_from_sli_pct(100.0).unwrap(), 0.0));
        assert_eq!(ratio_from_sli_pct(f64::NAN), None);
        assert_eq!(ratio_from_sli_pct(101.0), None);
    }

    #[test]
    fn gate_freezes_when_budget_spent() {
        let a = mwmbr_alerts(&BurnRates::default());
        assert_eq!(gate(Some(0.1), &a), Gate::Open);
        assert_eq!(gate(Some(0.0), &a), Gate::Frozen);
        assert_eq!(gate(None, &a), Gate::Open);
    }
}
