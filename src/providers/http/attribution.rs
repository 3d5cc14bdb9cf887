//! Who acts and why, written into planned request bodies.

/// Marker of a default text the executor may replace with the reason.
pub const DEFAULT_REASON_MARK: &str = "via sitrep";

/// Record who acts and why in the planned request bodies, where the vendor
/// has a field for it. Call it (the executor does) before confirming and
/// executing. Only keys the provider put in the planned body are touched,
/// and a reason only replaces a default text (one containing
/// [`DEFAULT_REASON_MARK`]), never content such as a note's text:
/// Alertmanager silences `createdBy` + `comment`, Opsgenie `user` + `note`,
/// PagerDuty resolve `incident.resolution`.
pub fn attribute_plan(plan: &mut crate::ops::Plan, actor: &str, reason: &str) {
    use serde_json::Value;
    let is_default = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| s.contains(DEFAULT_REASON_MARK))
    };
    let reason_ok = !reason.trim().is_empty();
    // A note's text is content, never a placeholder.
    let is_note = matches!(plan.op, crate::ops::WriteOp::IncidentNote { .. });
    for r in &mut plan.requests {
        let Some(body) = r.body.as_mut().and_then(|b| b.as_object_mut()) else {
            continue;
        };
        for key in ["createdBy", "user"] {
            if body.contains_key(key) && !actor.trim().is_empty() {
                body.insert(key.into(), Value::String(actor.into()));
            }
        }
        for key in ["comment", "note"] {
            if reason_ok && !is_note && is_default(body.get(key)) {
                body.insert(key.into(), Value::String(reason.into()));
            }
        }
        if let Some(inc) = body.get_mut("incident").and_then(|i| i.as_object_mut())
            && reason_ok
            && is_default(inc.get("resolution"))
        {
            inc.insert("resolution".into(), Value::String(reason.into()));
        }
    }
}

/// Who acts when nobody said: `[identity] name`, else `$USER@hostname`.
pub fn default_actor(config: &crate::config::Config) -> String {
    if let Some(n) = config
        .identity
        .name
        .as_ref()
        .filter(|n| !n.trim().is_empty())
    {
        return n.trim().to_string();
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}
