//! Watches after a rollback or kill switch: each new snapshot is
//! observed, and a verdict is toasted and recorded.

use super::*;

/// Feed the running watches the current picture; a verdict becomes a toast
/// and an audit record, and the watch ends.
pub(crate) fn observe_watches(state: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    let mut toasts = Vec::new();
    let (snap, now) = (&state.snap, state.now);
    state.watches.retain_mut(|w| match w.observe(snap, now) {
        Some(v) => {
            let kind = match v.kind {
                crate::watch::VerdictKind::Recovering => ToastKind::Ok,
                crate::watch::VerdictKind::Worse => ToastKind::Error,
                _ => ToastKind::Info,
            };
            let mut text = format!("{}: {}", w.service(), v.summary);
            if let Some(rb) = v.runbook() {
                text.push_str(&format!(" (next: runbook {rb})"));
            }
            toasts.push((kind, text));
            fx.push(Effect::RecordWatch(Box::new(w.clone()), Box::new(v)));
            false
        }
        None => true,
    });
    for (k, t) in toasts {
        state.toast(k, t);
    }
    fx
}
