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
    fn workbook_budget_consumption_table() {
        // SRE Workbook ch. 5: for a 30-day 99.9% SLO, burn 14.4 for 1h spends 2%
        // of the budget; burn 6 for 6h spends 5%; burn 3 for 1d spends 10%;
        // burn 1 for 3d spends 10%.
        let obj = 99.9;
        for (burn, hours, share) in [(14.4, 1.0, 0.02), (6.0, 6.0, 0.05), (3.0, 24.0, 0.10), (1.0, 72.0, 0.10)] {
            let ratio = burn * 0.001;
            let got = budget_burned_share(ratio, obj, hours / 24.0, 30.0).unwrap();
            assert!((got - share).abs() < 1e-3, "burn {burn} for {hours}h: {got}");
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
    fn gate_freezes_when_budget_spent() {
        let a = mwmbr_alerts(&BurnRates::default());
        assert_eq!(gate(Some(0.1), &a), Gate::Open);
        assert_eq!(gate(Some(0.0), &a), Gate::Frozen);
        assert_eq!(gate(None, &a), Gate::Open);
    }
}
