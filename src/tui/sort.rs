//! Sortable columns, as in k9s: `S` sorts a list by its next column (then
//! back to the list's own order), `-` reverses; the header marks the
//! column, `▲` ascending (`AGE▲`: the youngest first), `▼` descending.
//! The sort is stable: rows that tie keep the list's own order (worst
//! first for incidents).

use super::state::{ListState, State, View};
use crate::model::{AlertSeverity, Flag, Gate, Incident, Silence, Slo};
use std::cmp::Ordering;

/// The columns a list sorts by, in the order `S` cycles through them.
pub fn columns(v: View) -> &'static [&'static str] {
    match v {
        View::Incidents => &["SEV", "AGE", "SERVICE", "STATUS"],
        View::Flags => &["STATE", "KEY", "CHANGED"],
        View::Silences => &["STATE", "ENDS", "BY"],
        View::Slos => &["SLO", "BUDGET", "1h", "STATE"],
        _ => &[],
    }
}

/// The sort column's name, when the list is sorted.
pub fn active(l: &ListState, v: View) -> Option<&'static str> {
    l.sort.and_then(|i| columns(v).get(i).copied())
}

/// A header cell: `name`, marked `▲`/`▼` when the list is sorted by it.
pub fn header(state: &State, v: View, name: &str) -> String {
    let l = state.list(v);
    match active(l, v) {
        Some(c) if c == name => format!("{name}{}", if l.reverse { "▼" } else { "▲" }),
        _ => name.to_string(),
    }
}

/// `S`: the next column, and after the last the list's own order.
pub fn next(l: &mut ListState, v: View) {
    let n = columns(v).len();
    l.sort = match l.sort {
        None if n > 0 => Some(0),
        Some(i) if i + 1 < n => Some(i + 1),
        _ => None,
    };
    l.reverse = false;
    l.selected = 0;
}

/// `-`: the other way (sorting by the first column if unsorted).
pub fn reverse(l: &mut ListState, v: View) {
    if l.sort.is_none() && !columns(v).is_empty() {
        l.sort = Some(0);
        l.reverse = false;
    }
    l.reverse = !l.reverse;
    l.selected = 0;
}

fn apply<T>(rows: &mut [T], l: &ListState, cmp: impl Fn(&T, &T) -> Ordering) {
    if l.reverse {
        crate::order::sort_by(rows, |a, b| cmp(b, a));
    } else {
        crate::order::sort_by(rows, cmp);
    }
}

/// Incidents (already worst first) by the list's sort.
pub fn incidents(rows: &mut [usize], all: &[Incident], l: &ListState) {
    let Some(col) = l.sort else { return };
    let by = |a: &usize, b: &usize| -> Ordering {
        let (Some(a), Some(b)) = (all.get(*a), all.get(*b)) else {
            return Ordering::Equal;
        };
        match col {
            0 => a.severity.cmp(&b.severity),
            // Age ascending: the youngest (latest opened) first.
            1 => b.created_at.cmp(&a.created_at),
            2 => a.service.cmp(&b.service),
            _ => a.status.cmp(&b.status),
        }
    };
    apply(rows, l, by);
}

pub fn flags(rows: &mut [&Flag], l: &ListState) {
    let Some(col) = l.sort else { return };
    apply(rows, l, |a: &&Flag, b: &&Flag| match col {
        // OFF first: a pulled kill switch is what is looked for.
        0 => a.on.cmp(&b.on),
        1 => a.key.cmp(&b.key),
        // The latest change first.
        _ => b.updated_at.cmp(&a.updated_at),
    });
}

/// Active, then pending, then expired.
pub fn state_rank(s: &Silence) -> u8 {
    match s.state.as_str() {
        "active" => 0,
        "pending" => 1,
        _ => 2,
    }
}

pub fn silences(rows: &mut [&Silence], l: &ListState) {
    let Some(col) = l.sort else { return };
    apply(rows, l, |a: &&Silence, b: &&Silence| match col {
        0 => state_rank(a).cmp(&state_rank(b)),
        // The soonest to end first.
        1 => a.ends_at.cmp(&b.ends_at),
        _ => a.created_by.cmp(&b.created_by),
    });
}

/// Known values before unknown ones, ascending or descending.
fn known_first(a: Option<f64>, b: Option<f64>, ascending: bool) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) if ascending => x.total_cmp(&y),
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Frozen first, then paging, then ticketing, then the rest, no data last.
fn slo_rank(s: &Slo) -> (bool, bool, bool, bool) {
    let firing = |sev| s.alerts.iter().any(|a| a.firing && a.severity == sev);
    (
        s.gate != Gate::Frozen,
        !firing(AlertSeverity::Page),
        !firing(AlertSeverity::Ticket),
        !s.has_data(),
    )
}

pub fn slos(rows: &mut [&Slo], l: &ListState) {
    let Some(col) = l.sort else { return };
    apply(rows, l, |a: &&Slo, b: &&Slo| match col {
        0 => a.name.cmp(&b.name),
        // The least budget left first.
        1 => known_first(a.error_budget_remaining, b.error_budget_remaining, true),
        // The hottest first.
        2 => known_first(a.burn_rates.h1, b.burn_rates.h1, false),
        _ => slo_rank(a).cmp(&slo_rank(b)),
    });
}
