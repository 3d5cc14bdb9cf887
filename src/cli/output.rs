//! Human tables and `--json` documents (SPEC §4) for the read commands.
//! Every string printed is `SafeText` or our own.

use crate::model::*;
use crate::util;
use serde::Serialize;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

/// Open incidents `status` lists (the most urgent); the rest are counted.
const STATUS_INCIDENTS: usize = 5;

/// A plain text table: header, rows, columns padded; the last column is
/// not padded. Cells are already sanitized.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// Max width per column (0 = unlimited).
    caps: Vec<usize>,
}

impl Table {
    pub fn new(header: Vec<&'static str>) -> Self {
        let n = header.len();
        Table {
            header,
            rows: Vec::new(),
            caps: vec![0; n],
        }
    }

    /// Cap column `col` at `width` characters — on a terminal only: piped
    /// output keeps every cell whole, so what is printed (an id) can be
    /// pasted back.
    pub fn cap(mut self, col: usize, width: usize) -> Self {
        use std::io::IsTerminal;
        if !std::io::stdout().is_terminal() {
            return self;
        }
        if let Some(c) = self.caps.get_mut(col) {
            *c = width;
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let cell = |r: &Vec<String>, i: usize| -> String {
            let s = r.get(i).cloned().unwrap_or_default();
            match self.caps[i] {
                0 => s,
                w => crate::text::truncate(&s, w),
            }
        };
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for r in &self.rows {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(UnicodeWidthStr::width(cell(r, i).as_str()));
            }
        }
        let mut out = String::new();
        let mut line = |cells: Vec<String>| {
            let mut l = String::new();
            for (i, c) in cells.iter().enumerate() {
                l.push_str(c);
                if i + 1 < n {
                    let pad = widths[i].saturating_sub(UnicodeWidthStr::width(c.as_str()));
                    l.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(self.header.iter().map(|h| h.to_string()).collect());
        for r in &self.rows {
            line((0..n).map(|i| cell(r, i)).collect());
        }
        out
    }
}

/// `{"generated_at", key: [items], "providers"}`, pretty, keys sorted at
/// every level, written straight out: the model types declare their fields
/// in key order (checked by `json_keys_are_sorted` below), so no item goes
/// through a `serde_json::Value`.
fn doc<T: Serialize>(snap: &Snapshot, key: &str, items: &[T], w: Out<'_>) -> Result<(), String> {
    use serde::ser::SerializeMap;
    struct Doc<'a, T> {
        snap: &'a Snapshot,
        key: &'a str,
        items: &'a [T],
    }
    impl<T: Serialize> Serialize for Doc<'_, T> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(3))?;
            if self.key < "generated_at" {
                m.serialize_entry(self.key, self.items)?;
            }
            m.serialize_entry("generated_at", &self.snap.generated_at)?;
            if self.key > "generated_at" && self.key < "providers" {
                m.serialize_entry(self.key, self.items)?;
            }
            m.serialize_entry("providers", &self.snap.providers)?;
            if self.key > "providers" {
                m.serialize_entry(self.key, self.items)?;
            }
            m.end()
        }
    }
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *w,
        serde_json::ser::PrettyFormatter::with_indent(b"  "),
    );
    Doc { snap, key, items }
        .serialize(&mut ser)
        .map_err(|e| format!("cannot encode JSON: {e}"))?;
    put(w, "\n")
}

/// Where a read command's answer goes, written as it is made: the JSON of
/// 5,000 incidents (2 MB) is never held whole. Text answers are built
/// first (their columns are sized to the rows), then written.
pub type Out<'a> = &'a mut dyn std::io::Write;

fn put(w: Out<'_>, s: &str) -> Result<(), String> {
    w.write_all(s.as_bytes())
        .map_err(|e| format!("cannot write the answer: {e}"))
}

/// What a read command writes to `w`, as a string (tests, callers that
/// need the text).
pub fn rendered(f: impl FnOnce(Out<'_>) -> Result<(), String>) -> Result<String, String> {
    let mut b = Vec::new();
    f(&mut b)?;
    String::from_utf8(b).map_err(|e| format!("cannot encode the answer: {e}"))
}

pub fn to_json(v: &Value) -> Result<String, String> {
    serde_json::to_string_pretty(v)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| format!("cannot encode JSON: {e}"))
}

fn opt(s: &Option<crate::text::SafeText>) -> String {
    s.as_ref()
        .map(|x| x.as_str().to_string())
        .unwrap_or_else(|| "-".into())
}

/// Which providers the answer lacks, one line each; the reasons are on
/// stderr (printed once, there).
fn provider_footer(snap: &Snapshot, now: Time) -> String {
    let mut out = String::new();
    for p in &snap.providers {
        if p.error.is_some() {
            match p.fetched_at.filter(|_| p.stale) {
                Some(at) => out.push_str(&format!(
                    "! {}: failed, showing its cached data from {} ago\n",
                    p.name,
                    util::age(now, at)
                )),
                None => out.push_str(&format!("! {}: failed, no data from it\n", p.name)),
            }
        } else if p.stale {
            out.push_str(&format!("! {}: showing cached data\n", p.name));
        }
    }
    out
}

/// What is said instead of zeros when no provider answered.
fn no_data_line(snap: &Snapshot) -> String {
    format!(
        "NO DATA: none of the {} providers answered ({}); incidents, on-call, SLOs, deploys and flags are unknown, not clear\n",
        snap.providers.len(),
        snap.unanswered().join(", ")
    )
}

pub fn status(snap: &Snapshot, now: Time, as_json: bool, w: Out<'_>) -> Result<(), String> {
    if as_json {
        let mut v = serde_json::to_value(snap).map_err(|e| e.to_string())?;
        if let Some(m) = v.as_object_mut() {
            m.insert("complete".into(), serde_json::Value::Bool(snap.complete()));
            m.insert(
                "failed".into(),
                serde_json::json!(
                    snap.providers
                        .iter()
                        .filter(|p| p.error.is_some())
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                ),
            );
        }
        return put(w, &to_json(&v)?);
    }
    if snap.no_data() {
        return put(w, &no_data_line(snap));
    }
    let mut out = String::new();
    let c = snap.open_counts();
    out.push_str(&format!(
        "INCIDENTS  SEV1 {}  SEV2 {}  SEV3 {}  SEV4 {}\n",
        c[0], c[1], c[2], c[3]
    ));
    let open = snap.incidents.iter().filter(|i| i.status.is_open()).count();
    for i in snap
        .incidents
        .iter()
        .filter(|i| i.status.is_open())
        .take(STATUS_INCIDENTS)
    {
        out.push_str(&format!(
            "  {} {:<12} {:>5}  {}\n",
            i.severity,
            i.status.word(),
            util::age(now, i.created_at),
            crate::text::truncate(i.title.as_str(), 90)
        ));
    }
    if open > STATUS_INCIDENTS {
        out.push_str(&format!(
            "  +{} more (sitrep incidents)\n",
            open - STATUS_INCIDENTS
        ));
    }
    out.push_str("\nON CALL\n");
    for o in snap.oncall.iter().filter(|o| o.level == 1) {
        out.push_str(&format!("  {:<28} {}\n", o.policy.as_str(), o.user));
    }
    out.push_str("\nSLOS\n");
    for s in &snap.slos {
        out.push_str(&format!(
            "  {:<32} budget {:>5}  1h {:>7}  {}\n",
            s.name.as_str(),
            util::share(s.error_budget_remaining),
            util::burn(s.burn_rates.h1),
            s.state_label()
        ));
    }
    out.push_str("\nLIVE DEPLOYS\n");
    for ((svc, env), ds) in snap.deploy_groups() {
        let live = ds.iter().find(|d| d.current);
        let failed = ds.first().filter(|d| d.state == DeployState::Failure);
        out.push_str(&format!(
            "  {:<12} {:<12} {}{}\n",
            svc,
            env,
            live.map(|d| format!("{} {}", d.git_ref, util::short_sha(d.sha.as_str())))
                .unwrap_or_else(|| "-".into()),
            failed
                .map(|d| format!("  (newest {} {})", d.git_ref, d.state.word()))
                .unwrap_or_default()
        ));
    }
    let off: Vec<_> = snap
        .flags
        .iter()
        .filter(|f| f.kill_switch && !f.on)
        .map(|f| f.key.as_str())
        .collect();
    out.push_str(&format!(
        "\nKILL SWITCHES OFF: {}\n",
        if off.is_empty() {
            "none".into()
        } else {
            off.join(", ")
        }
    ));
    out.push_str(&provider_footer(snap, now));
    put(w, &out)
}

pub fn incidents(
    snap: &Snapshot,
    now: Time,
    as_json: bool,
    min: Option<Severity>,
    all: bool,
    w: Out<'_>,
) -> Result<(), String> {
    let list: Vec<&Incident> = snap
        .incidents
        .iter()
        .filter(|i| all || i.status.is_open())
        .filter(|i| min.is_none_or(|m| i.severity <= m))
        .collect();
    if as_json {
        return doc(snap, "incidents", &list, w);
    }
    let mut t = Table::new(vec![
        "SEV", "STATUS", "AGE", "SERVICE", "ID", "ASSIGNEE", "TITLE",
    ])
    .cap(3, 16)
    .cap(4, 24)
    .cap(5, 18)
    .cap(6, 90);
    for i in &list {
        t.row(vec![
            i.severity.to_string(),
            i.status.word().into(),
            util::age(now, i.created_at),
            opt(&i.service),
            format!("{}/{}", i.provider, i.id),
            opt(&i.assignee),
            i.title.to_string(),
        ]);
    }
    let mut out = if snap.no_data() {
        no_data_line(snap)
    } else if list.is_empty() && !snap.unanswered().is_empty() {
        "no open incidents from the providers that answered\n".to_string()
    } else if list.is_empty() {
        "no open incidents\n".to_string()
    } else {
        t.render()
    };
    out.push_str(&provider_footer(snap, now));
    put(w, &out)
}

pub fn oncall(snap: &Snapshot, now: Time, as_json: bool, w: Out<'_>) -> Result<(), String> {
    if as_json {
        return doc(snap, "oncall", &snap.oncall, w);
    }
    if snap.no_data() {
        return put(w, &no_data_line(snap));
    }
    let mut t = Table::new(vec!["POLICY", "LEVEL", "USER", "UNTIL", "PROVIDER"]).cap(0, 40);
    for o in &snap.oncall {
        t.row(vec![
            o.policy.to_string(),
            o.level.to_string(),
            o.user.to_string(),
            o.until
                .map(|u| util::until(now, u))
                .unwrap_or_else(|| "-".into()),
            o.provider.to_string(),
        ]);
    }
    let mut out = if snap.oncall.is_empty() {
        "nobody on call is known\n".into()
    } else {
        t.render()
    };
    out.push_str(&provider_footer(snap, now));
    put(w, &out)
}

pub fn slos(snap: &Snapshot, as_json: bool, w: Out<'_>) -> Result<(), String> {
    if as_json {
        // The contract shape; the histories are for the TUI charts only.
        let list: Vec<Value> = snap
            .slos
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.remove("history");
                    o.remove("budget_history");
                }
                v
            })
            .collect();
        return doc(snap, "slos", &list, w);
    }
    if snap.no_data() {
        return put(w, &no_data_line(snap));
    }
    let mut header = vec!["SLO", "SERVICE", "OBJECTIVE", "BUDGET", "7D"];
    header.extend(BURN_WINDOWS);
    header.push("STATE");
    let mut t = Table::new(header).cap(0, 32);
    for s in &snap.slos {
        let mut row = vec![
            s.name.to_string(),
            opt(&s.service),
            util::pct(s.objective),
            util::share(s.error_budget_remaining),
            util::share(s.budget_burned_7d),
        ];
        row.extend(s.burn_rates.iter().map(|(_, v)| util::burn(v)));
        row.push(s.state_label());
        t.row(row);
    }
    let now = snap.generated_at.unwrap_or_default();
    let mut out = if snap.slos.is_empty() {
        "no SLOs configured\n".into()
    } else {
        t.render()
    };
    out.push_str(&provider_footer(snap, now));
    put(w, &out)
}

pub fn deploys(
    snap: &Snapshot,
    now: Time,
    as_json: bool,
    service: Option<&str>,
    env: Option<&str>,
    w: Out<'_>,
) -> Result<(), String> {
    let mut list: Vec<&Deploy> = snap
        .deploys
        .iter()
        .filter(|d| service.is_none_or(|s| d.service.as_str() == s))
        .filter(|d| env.is_none_or(|e| d.environment.as_str() == e))
        .collect();
    crate::order::sort_by_key(&mut list, |d| std::cmp::Reverse(d.created_at));
    if as_json {
        // SPEC §4's deploy shape: the description is for the screen only.
        let list: Vec<Deploy> = list
            .iter()
            .map(|d| Deploy {
                description: None,
                ..(*d).clone()
            })
            .collect();
        return doc(snap, "deploys", &list, w);
    }
    let mut t = Table::new(vec![
        "SERVICE", "ENV", "STATE", "LIVE", "REF", "SHA", "AGE", "BY", "ID",
    ])
    .cap(4, 24)
    .cap(7, 20);
    for d in &list {
        t.row(vec![
            d.service.to_string(),
            d.environment.to_string(),
            d.state.word().into(),
            if d.current { "LIVE".into() } else { "".into() },
            d.git_ref.to_string(),
            util::short_sha(d.sha.as_str()).to_string(),
            util::age(now, d.created_at),
            opt(&d.creator),
            format!("{}/{}", d.provider, d.id),
        ]);
    }
    let mut out = if snap.no_data() {
        no_data_line(snap)
    } else if list.is_empty() {
        "no deploys\n".into()
    } else {
        t.render()
    };
    out.push_str(&provider_footer(snap, now));
    put(w, &out)
}

pub fn flags(
    snap: &Snapshot,
    now: Time,
    as_json: bool,
    filter: Option<&str>,
    w: Out<'_>,
) -> Result<(), String> {
    let list: Vec<&Flag> = snap
        .flags
        .iter()
        .filter(|f| filter.is_none_or(|q| f.matches(q)))
        .collect();
    if as_json {
        let list: Vec<Flag> = list
            .iter()
            .map(|f| Flag {
                service: None,
                ..(*f).clone()
            })
            .collect();
        return doc(snap, "flags", &list, w);
    }
    let mut t = Table::new(vec![
        "KEY",
        "STATE",
        "KILL-SWITCH",
        "ENV",
        "UPDATED",
        "PROVIDER",
        "NAME",
    ])
    .cap(0, 36)
    .cap(6, 60);
    for f in &list {
        t.row(vec![
            f.key.to_string(),
            if f.on { "ON".into() } else { "OFF".into() },
            if f.kill_switch {
                "yes".into()
            } else {
                "".into()
            },
            opt(&f.environment),
            f.updated_at
                .map(|u| util::age(now, u))
                .unwrap_or_else(|| "-".into()),
            f.provider.to_string(),
            f.name.to_string(),
        ]);
    }
    let mut out = if snap.no_data() {
        no_data_line(snap)
    } else if list.is_empty() {
        "no flags\n".into()
    } else {
        t.render()
    };
    out.push_str(&provider_footer(snap, now));
    put(w, &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::SafeText;

    fn t(s: &str) -> SafeText {
        SafeText::line(s)
    }

    /// Every field set, so every key is printed.
    fn full_snapshot() -> Snapshot {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T03:04:05Z")
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        Snapshot {
            generated_at: Some(now),
            providers: vec![ProviderStatus {
                name: t("pd"),
                kind: "pagerduty".into(),
                ok: false,
                error: Some(t("timeout")),
                fetched_at: Some(now),
                stale: true,
            }],
            incidents: vec![Incident {
                provider: t("pd"),
                id: t("Q1"),
                labels: Default::default(),
                title: t("checkout 5xx"),
                severity: Severity::Sev1,
                status: IncidentStatus::Triggered,
                service: Some(t("checkout")),
                created_at: now,
                url: Some(t("https://x/Q1")),
                assignee: Some(t("ana")),
                runbook: Some(t("rollback")),
            }],
            oncall: vec![OnCall {
                provider: t("pd"),
                policy: t("primary"),
                level: 1,
                user: t("ana"),
                until: Some(now),
            }],
            slos: Vec::new(),
            deploys: vec![Deploy {
                provider: t("gh"),
                service: t("checkout"),
                environment: t("production"),
                id: t("7"),
                git_ref: t("main"),
                sha: t("abc"),
                state: DeployState::Success,
                provider_state: t("success"),
                created_at: now,
                creator: Some(t("ana")),
                url: Some(t("https://x/7")),
                current: true,
                log_url: None,
                description: Some(t("fix")),
            }],
            flags: vec![Flag {
                provider: t("ld"),
                key: t("kill-checkout"),
                name: t("Kill checkout"),
                environment: Some(t("production")),
                on: true,
                kill_switch: true,
                updated_at: Some(now),
                url: Some(t("https://x/f")),
                service: Some(t("checkout")),
            }],
            silences: Vec::new(),
        }
    }

    /// The `--json` documents are written straight from the model types;
    /// they must print exactly what a key-sorted `serde_json::Value` prints
    /// (the output before the fast path, and what users' diffs expect).
    #[test]
    fn json_keys_are_sorted() {
        let snap = full_snapshot();
        let now = snap.generated_at.unwrap_or_default();
        let sorted = |key: &str, items: Value| {
            let mut m = serde_json::Map::new();
            m.insert(key.into(), items);
            m.insert(
                "generated_at".into(),
                serde_json::to_value(snap.generated_at).unwrap_or_default(),
            );
            m.insert(
                "providers".into(),
                serde_json::to_value(&snap.providers).unwrap_or_default(),
            );
            to_json(&Value::Object(m)).unwrap_or_default()
        };
        let got = rendered(|w| incidents(&snap, now, true, None, true, w)).unwrap_or_default();
        assert_eq!(got, sorted("incidents", value(&snap.incidents)));
        let got = rendered(|w| oncall(&snap, now, true, w)).unwrap_or_default();
        assert_eq!(got, sorted("oncall", value(&snap.oncall)));
        // Deploys and flags leave out their screen-only extensions.
        let got = rendered(|w| deploys(&snap, now, true, None, None, w)).unwrap_or_default();
        let mut d = value(&snap.deploys);
        if let Some(o) = d.get_mut(0).and_then(Value::as_object_mut) {
            assert!(o.remove("description").is_some());
        }
        assert_eq!(got, sorted("deploys", d));
        let got = rendered(|w| flags(&snap, now, true, None, w)).unwrap_or_default();
        let mut f = value(&snap.flags);
        if let Some(o) = f.get_mut(0).and_then(Value::as_object_mut) {
            assert!(o.remove("service").is_some());
        }
        assert_eq!(got, sorted("flags", f));
        assert!(got.contains("\"kill_switch\": true"), "{got}");
    }

    fn value<T: Serialize>(x: &T) -> Value {
        serde_json::to_value(x).unwrap_or_default()
    }
}
