//! Placeholders in runbook actions and commands (`{service}`, `{env}`, ...)
//! and the values that bind them.
//!
//! A runbook names no service, flag or host literally: it writes
//! `rollback {service} --env {env}` and the walk binds the words from
//! context, in this order (the first that gives a value wins):
//!
//! 1. values given explicitly: `--service`/`--env` on the command line,
//!    the selected row in the console, or a value the responder typed when
//!    the walk asked for it;
//! 2. the incident being worked: `{incident}` (its id), `{service}` (its
//!    service, mapped through `[[service]] pagerduty_services`),
//!    `{instance}` and `{alertname}` (the alert's `instance` and
//!    `alertname` labels; `{alertname}` else the `alertname:` prefix of an
//!    Alertmanager title) and `{env}` = `production` (incidents page for
//!    production);
//! 3. the service's `[[service]]` config: `kill_switch` → `{flag}`,
//!    `database` → `{db_cluster}`, `deploys.repo` → `{repo}`;
//! 4. what the providers report: the service's current deploy in `{env}`
//!    → `{deploy_ref}`, the service's only kill-switch flag → `{flag}`.
//!
//! An action with a placeholder left unbound cannot run: the walk asks for
//! the value, `runbook show` prints it marked. Values are checked before
//! they are used (they come from providers and are pasted into commands):
//! 1–128 characters of `[A-Za-z0-9._:@/+=-]`, so a bound value can never
//! add a shell word, a quote or a substitution.

use crate::config::ServiceConfig;
use crate::model::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;

/// Every placeholder sitrep can bind, with what binds it.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("incident", "the id of the incident being worked"),
    (
        "service",
        "the incident's service, the selected row's, or --service",
    ),
    ("env", "--env, else production when walked for an incident"),
    (
        "flag",
        "[[service]] kill_switch, the selected flag, or the service's only kill-switch flag",
    ),
    (
        "instance",
        "the incident's instance label (Alertmanager), else asked for",
    ),
    (
        "alertname",
        "the incident's alertname label, else the alertname: prefix of its title",
    ),
    (
        "deploy_ref",
        "the git ref of the service's current deploy in {env}",
    ),
    ("db_cluster", "[[service]] database"),
    ("repo", "[[service]] deploys.repo"),
];

/// Is `name` a placeholder sitrep binds?
pub fn is_known(name: &str) -> bool {
    PLACEHOLDERS.iter().any(|(n, _)| *n == name)
}

/// The names sitrep binds, `{a}, {b}, ...` (for error messages).
pub fn known_list() -> String {
    PLACEHOLDERS
        .iter()
        .map(|(n, _)| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value fit to paste into an action or a command.
pub fn check_value(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > 128 {
        return Err("a value is 1-128 characters".into());
    }
    match v
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._:@/+=-".contains(*c)))
    {
        Some(c) => Err(format!(
            "{c:?} is not allowed in a value (letters, digits and . _ : @ / + = - only)"
        )),
        None if v.starts_with('-') => Err("a value must not start with '-'".into()),
        None => Ok(()),
    }
}

/// Where a bound value came from (shown beside it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Typed by the responder or given on the command line.
    Given,
    /// The selected row in the console.
    Selection,
    /// The incident being worked.
    Incident,
    /// The service's `[[service]]` config.
    ServiceConfig,
    /// What the providers report (deploys, flags).
    Providers,
}

impl Origin {
    pub fn label(self) -> &'static str {
        match self {
            Origin::Given => "given",
            Origin::Selection => "selected",
            Origin::Incident => "incident",
            Origin::ServiceConfig => "config",
            Origin::Providers => "providers",
        }
    }
}

/// Placeholder values for one walk or one `runbook show`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bindings {
    values: BTreeMap<String, (String, Origin)>,
}

impl Bindings {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| v.as_str())
    }

    pub fn origin(&self, name: &str) -> Option<Origin> {
        self.values.get(name).map(|(_, o)| *o)
    }

    /// Bind `name` (replacing any value). Refuses unknown names and
    /// values [`check_value`] rejects.
    pub fn set(&mut self, name: &str, value: &str, origin: Origin) -> Result<(), String> {
        if !is_known(name) {
            return Err(format!(
                "{{{name}}} is not a placeholder sitrep binds ({})",
                known_list()
            ));
        }
        check_value(value).map_err(|e| format!("{{{name}}}: {e}"))?;
        self.values
            .insert(name.to_string(), (value.to_string(), origin));
        Ok(())
    }

    /// Bind `name` unless it already has a value; an unfit value (from a
    /// provider) leaves it unbound, to be asked for.
    fn offer(&mut self, name: &str, value: Option<&str>, origin: Origin) {
        if let Some(v) = value
            && !self.values.contains_key(name)
        {
            let _ = self.set(name, v.trim(), origin);
        }
    }

    /// (name, value, origin), by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Origin)> {
        self.values
            .iter()
            .map(|(k, (v, o))| (k.as_str(), v.as_str(), *o))
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Keep every value of `self`, add those of `other` it lacks.
    pub fn merge_missing(&mut self, other: &Bindings) {
        for (k, v) in &other.values {
            self.values.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// One `{name}` in a text: the name and the byte range of `{name}`.
/// `${name}` (shell) is not a placeholder.
pub fn find(text: &str) -> Vec<(String, Range<usize>)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' && (i == 0 || b[i - 1] != b'$') {
            let start = i + 1;
            let mut j = start;
            while j < b.len()
                && (b[j].is_ascii_lowercase() || b[j] == b'_' || b[j].is_ascii_digit())
            {
                j += 1;
            }
            if j > start && j < b.len() && b[j] == b'}' && b[start].is_ascii_lowercase() {
                out.push((text[start..j].to_string(), i..j + 1));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Placeholder-looking words sitrep does not bind, in order, once each.
pub fn unknown_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (n, _) in find(text) {
        if !is_known(&n) && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Replace every bound known placeholder. Returns the text and the known
/// placeholders left unbound (in order, once each); unknown `{words}` are
/// left as they are.
pub fn substitute(text: &str, b: &Bindings) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut unbound: Vec<String> = Vec::new();
    let mut last = 0;
    for (name, r) in find(text) {
        if !is_known(&name) {
            continue;
        }
        out.push_str(&text[last..r.start]);
        match b.get(&name) {
            Some(v) => out.push_str(v),
            None => {
                out.push_str(&text[r.clone()]);
                if !unbound.contains(&name) {
                    unbound.push(name);
                }
            }
        }
        last = r.end;
    }
    out.push_str(&text[last..]);
    (out, unbound)
}

/// [`substitute`] for display: unbound placeholders are written
/// `<UNBOUND:name>` so a copied command fails instead of acting.
pub fn substitute_marked(text: &str, b: &Bindings) -> (String, Vec<String>) {
    let (_, unbound) = substitute(text, b);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (name, r) in find(text) {
        if !is_known(&name) {
            continue;
        }
        out.push_str(&text[last..r.start]);
        match b.get(&name) {
            Some(v) => out.push_str(v),
            None => out.push_str(&format!("<UNBOUND:{name}>")),
        }
        last = r.end;
    }
    out.push_str(&text[last..]);
    (out, unbound)
}

/// What the binding can draw on.
#[derive(Clone, Copy, Debug, Default)]
pub struct BindContext<'a> {
    /// The incident being worked (its id).
    pub incident: Option<&'a str>,
    /// A service given explicitly (`--service`, the selected row).
    pub service: Option<&'a str>,
    /// An environment given explicitly (`--env`).
    pub env: Option<&'a str>,
    /// A flag given explicitly (the selected flag row).
    pub flag: Option<&'a str>,
    /// Where `service`/`flag` came from: [`Origin::Given`] or [`Origin::Selection`].
    pub explicit: Option<Origin>,
    /// What the providers last reported.
    pub snapshot: Option<&'a Snapshot>,
    /// `[[service]]` entries of the config.
    pub services: &'a [ServiceConfig],
}

/// The `[[service]]` entry named `name`, or mapping it as a PagerDuty service id.
fn service_config<'a>(services: &'a [ServiceConfig], name: &str) -> Option<&'a ServiceConfig> {
    services.iter().find(|s| s.name == name).or_else(|| {
        services
            .iter()
            .find(|s| s.pagerduty_services.iter().any(|p| p == name))
    })
}

/// Bind what the context gives (see the module docs for the order).
pub fn bind(ctx: &BindContext) -> Bindings {
    let mut b = Bindings::default();
    let explicit = ctx.explicit.unwrap_or(Origin::Given);
    b.offer("service", ctx.service, explicit);
    b.offer("env", ctx.env, Origin::Given);
    b.offer("flag", ctx.flag, explicit);

    // 2. The incident.
    if let Some(id) = ctx.incident {
        b.offer("incident", Some(id), Origin::Incident);
        let inc = ctx
            .snapshot
            .and_then(|s| s.incidents.iter().find(|i| i.id.as_str() == id));
        if let Some(inc) = inc {
            if let Some(svc) = &inc.service {
                let name = service_config(ctx.services, svc.as_str())
                    .map(|c| c.name.as_str())
                    .unwrap_or(svc.as_str());
                b.offer("service", Some(name), Origin::Incident);
            }
            // The alert's labels; else the title, as Alertmanager writes
            // it ("alertname: summary").
            let label = |k: &str| inc.labels.get(k).map(|v| v.as_str());
            b.offer("instance", label("instance"), Origin::Incident);
            b.offer("alertname", label("alertname"), Origin::Incident);
            let alertname = inc
                .title
                .as_str()
                .split_once(':')
                .map(|(n, _)| n)
                .filter(|n| !n.is_empty() && !n.contains(char::is_whitespace));
            b.offer("alertname", alertname, Origin::Incident);
        }
        b.offer("env", Some("production"), Origin::Incident);
    }

    // 3. The service's config.
    let service = b.get("service").map(str::to_string);
    if let Some(cfg) = service
        .as_deref()
        .and_then(|s| service_config(ctx.services, s))
    {
        b.offer("flag", cfg.kill_switch.as_deref(), Origin::ServiceConfig);
        b.offer("db_cluster", cfg.database.as_deref(), Origin::ServiceConfig);
        b.offer(
            "repo",
            cfg.deploys.as_ref().and_then(|d| d.repo.as_deref()),
            Origin::ServiceConfig,
        );
    }

    // 4. What the providers report.
    if let (Some(svc), Some(snap)) = (service.as_deref(), ctx.snapshot) {
        let env = b.get("env").map(str::to_string);
        if let Some(env) = env.as_deref() {
            let current = snap
                .deploys
                .iter()
                .find(|d| d.current && d.service.as_str() == svc && d.environment.as_str() == env);
            b.offer(
                "deploy_ref",
                current.map(|d| d.git_ref.as_str()),
                Origin::Providers,
            );
        }
        let switches: Vec<&str> = snap
            .flags
            .iter()
            .filter(|f| f.kill_switch && f.service.as_ref().is_some_and(|s| s.as_str() == svc))
            .map(|f| f.key.as_str())
            .collect();
        let mut keys = switches.clone();
        keys.sort_unstable();
        keys.dedup();
        if let [only] = keys.as_slice() {
            b.offer("flag", Some(only), Origin::Providers);
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_but_not_shell_variables() {
        let f: Vec<String> = find("a {service} ${env} {x_1} {Bad} {} {flag}")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(f, ["service", "x_1", "flag"]);
        assert_eq!(unknown_in("{service} {x_1} {x_1}"), ["x_1"]);
    }

    #[test]
    fn substitute_reports_unbound_and_keeps_unknown() {
        let mut b = Bindings::default();
        b.set("service", "payments", Origin::Given).unwrap();
        let (t, u) = substitute("rollback {service} --env {env} {other} {env}", &b);
        assert_eq!(t, "rollback payments --env {env} {other} {env}");
        assert_eq!(u, ["env"]);
        let (t, _) = substitute_marked("x {env} {service}", &b);
        assert_eq!(t, "x <UNBOUND:env> payments");
    }

    #[test]
    fn values_that_could_change_a_command_are_refused() {
        let mut b = Bindings::default();
        for bad in ["a b", "$(rm)", "a;b", "`x`", "'", "-rf", "", "a\"b", "a\nb"] {
            assert!(b.set("service", bad, Origin::Given).is_err(), "{bad:?}");
        }
        assert!(b.set("nope", "x", Origin::Given).is_err());
        b.set("instance", "search-indexer-3:9100", Origin::Given)
            .unwrap();
        assert_eq!(b.get("instance"), Some("search-indexer-3:9100"));
    }

    fn incident(id: &str, title: &str, labels: &[(&str, &str)]) -> crate::model::Incident {
        use crate::model::{Incident, IncidentStatus, Severity};
        use crate::text::SafeText;
        Incident {
            assignee: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            id: SafeText::line(id),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), SafeText::line(v)))
                .collect(),
            provider: SafeText::line("am"),
            runbook: None,
            service: Some(SafeText::line("search")),
            severity: Severity::Sev3,
            status: IncidentStatus::Firing,
            title: SafeText::line(title),
            url: None,
        }
    }

    fn bind_for(inc: crate::model::Incident) -> Bindings {
        let id = inc.id.as_str().to_string();
        let snap = Snapshot {
            incidents: vec![inc],
            ..Default::default()
        };
        bind(&BindContext {
            incident: Some(&id),
            snapshot: Some(&snap),
            ..Default::default()
        })
    }

    #[test]
    fn instance_and_alertname_come_from_the_alert_labels() {
        let b = bind_for(incident(
            "fp1",
            "Summary without a prefix: the disk fills",
            &[
                ("alertname", "DiskWillFillIn4Hours"),
                ("instance", "indexer-7:9100"),
                ("mountpoint", "/data"),
            ],
        ));
        assert_eq!(b.get("instance"), Some("indexer-7:9100"));
        assert_eq!(b.origin("instance"), Some(Origin::Incident));
        // The label wins over the title's prefix.
        assert_eq!(b.get("alertname"), Some("DiskWillFillIn4Hours"));
        assert_eq!(b.get("service"), Some("search"));
        let (cmd, unbound) = substitute(
            "silence --matcher alertname={alertname} --matcher instance={instance}",
            &b,
        );
        assert_eq!(
            cmd,
            "silence --matcher alertname=DiskWillFillIn4Hours --matcher instance=indexer-7:9100"
        );
        assert!(unbound.is_empty());
    }

    #[test]
    fn without_labels_instance_is_asked_for_and_alertname_read_from_the_title() {
        let b = bind_for(incident("fp2", "HostDown: a host is down", &[]));
        assert_eq!(b.get("instance"), None);
        assert_eq!(b.get("alertname"), Some("HostDown"));
        let (_, unbound) = substitute("ssh {instance}", &b);
        assert_eq!(unbound, ["instance"]);
        // A label that could change a command is not bound (asked for
        // instead), and an unfit alertname label falls back to the title.
        let b = bind_for(incident(
            "fp3",
            "HostDown: a host is down",
            &[("instance", "h1;rm -rf /"), ("alertname", "two words")],
        ));
        assert_eq!(b.get("instance"), None);
        assert_eq!(b.get("alertname"), Some("HostDown"));
    }

    #[test]
    fn labels_of_another_incident_are_not_used() {
        let other = incident("fp9", "DiskFull: full", &[("instance", "db-9:9100")]);
        let snap = Snapshot {
            incidents: vec![other],
            ..Default::default()
        };
        let b = bind(&BindContext {
            incident: Some("fp1"),
            snapshot: Some(&snap),
            ..Default::default()
        });
        assert_eq!(b.get("incident"), Some("fp1"));
        assert_eq!(b.get("instance"), None);
    }
}
