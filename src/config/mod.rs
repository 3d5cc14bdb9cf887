//! The TOML configuration of SPEC §3. Unknown keys, unknown kinds, keys that
//! do not belong to a provider's kind and duplicate names are errors naming
//! the file, line and column.
//!
//! This file holds the configuration types; `parse` reads and validates
//! the text ([`parse`], [`load`]).

mod parse;

pub use parse::{EXAMPLE, load, parse};

use crate::model::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// `path:line:column: message`, with the line and column when known. The
/// path and the message quote the file (a bad value, a line of it): both
/// are sanitized like provider text, so a value holding an escape sequence
/// (OSC 52 clipboard write, a title change, a screen clear) prints inert.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{}{}: {}",
    crate::text::SafeText::line(&.path.display().to_string()),
    position(.line, .column),
    crate::text::SafeText::block(.message)
)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// `:line:column`, `:line` or nothing (a column without a line is not shown).
fn position(line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        (None, _) => String::new(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub identity: Identity,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub severity: SeverityMatrix,
    #[serde(default)]
    pub provider: Vec<toml::Spanned<ProviderConfig>>,
    #[serde(default)]
    pub service: Vec<ServiceConfig>,
    #[serde(default)]
    pub slo: Vec<SloConfig>,
    #[serde(default)]
    pub slo_files: SloFiles,
    #[serde(default)]
    pub runbooks: RunbooksConfig,
    #[serde(default)]
    pub ui: UiConfig,
    /// Team mode (docs/TEAM.md): the shared audit log, action leases.
    /// Absent: everything stays on this machine.
    pub team: Option<TeamConfig>,
    /// Environments that are production (production guard). Default: "production", "prod".
    #[serde(default)]
    pub production_environments: Option<Vec<String>>,
    /// The directory of the config file (set by [`load`]); relative
    /// `[slo_files]` globs are resolved against it.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub name: Option<String>,
}

/// `[team]`: the PostgreSQL database a team shares (docs/TEAM.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// The connection URL (`postgres://user:password@host/db`), from env
    /// or keyring only: it holds the password.
    pub database_url: SecretRef,
    /// The team's namespace: every row carries it (default "default").
    #[serde(default = "default_team_name")]
    pub name: String,
    /// How long a lease outlives its holder's last heartbeat (default 2m).
    #[serde(default, with = "opt_duration")]
    pub lease_ttl: Option<std::time::Duration>,
}

fn default_team_name() -> String {
    "default".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub path: Option<PathBuf>,
    pub webhook: Option<WebhookConfig>,
    /// Where the Ed25519 seed that signs records comes from (default: the
    /// OS keyring entry `audit-signing-key`, docs/AUDIT.md).
    pub signing_key: Option<SecretRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: Option<SecretRef>,
    /// Accept a plain `http://` URL to a non-loopback host (warned).
    #[serde(default)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    pub theme: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbooksConfig {
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
    #[serde(default)]
    pub allow_exec: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloFiles {
    #[serde(default)]
    pub sloth: Vec<String>,
    #[serde(default)]
    pub openslo: Vec<String>,
}

/// The severity matrix (SPEC §3); missing entries take the defaults.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityMatrix {
    pub pagerduty_priority: BTreeMap<String, Severity>,
    pub pagerduty_urgency: BTreeMap<String, Severity>,
    pub opsgenie_priority: BTreeMap<String, Severity>,
    pub alert_label: String,
    pub alert_values: BTreeMap<String, Severity>,
    /// Sentry `level` → severity (extension; defaults fatal=SEV1, error=SEV2, warning=SEV3, info/debug=SEV4).
    pub sentry_level: BTreeMap<String, Severity>,
}

impl Default for SeverityMatrix {
    fn default() -> Self {
        use Severity::*;
        let m = |pairs: &[(&str, Severity)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        let prio = m(&[
            ("P1", Sev1),
            ("P2", Sev2),
            ("P3", Sev3),
            ("P4", Sev4),
            ("P5", Sev4),
        ]);
        SeverityMatrix {
            pagerduty_priority: prio.clone(),
            pagerduty_urgency: m(&[("high", Sev2), ("low", Sev3)]),
            opsgenie_priority: prio,
            alert_label: "severity".into(),
            alert_values: m(&[
                ("critical", Sev1),
                ("page", Sev1),
                ("error", Sev2),
                ("warning", Sev3),
                ("info", Sev4),
            ]),
            sentry_level: m(&[
                ("fatal", Sev1),
                ("error", Sev2),
                ("warning", Sev3),
                ("info", Sev4),
                ("debug", Sev4),
            ]),
        }
    }
}

impl SeverityMatrix {
    /// Overlay user entries on the defaults (a partial table keeps the rest).
    fn merged_with_defaults(mut self) -> Self {
        let d = SeverityMatrix::default();
        for (dst, src) in [
            (&mut self.pagerduty_priority, d.pagerduty_priority),
            (&mut self.pagerduty_urgency, d.pagerduty_urgency),
            (&mut self.opsgenie_priority, d.opsgenie_priority),
            (&mut self.alert_values, d.alert_values),
            (&mut self.sentry_level, d.sentry_level),
        ] {
            for (k, v) in src {
                dst.entry(k).or_insert(v);
            }
        }
        self
    }
}

/// Where a secret comes from. Tokens never appear in the config file itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretRef {
    Env(String),
    Keyring(String),
}

/// The message for a secret written where `{ env = … }` belongs. It never
/// quotes the value: that value is most likely the pasted secret itself.
pub const SECRET_IN_CONFIG: &str = "a secret is read from the environment or the keyring: write { env = \"VAR\" } or { keyring = \"NAME\" } (the value given is not shown)";

// `{ env = "X" }` is a table with one key (serde's externally tagged enum
// form). Anything else is refused without quoting it: a plain string there
// is usually a token pasted into the file, and serde's own error would
// echo it ("unknown variant `<the token>`").
impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "lowercase")]
        enum Tagged {
            Env(String),
            Keyring(String),
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SecretRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{ env = \"VAR\" } or { keyring = \"NAME\" }")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<SecretRef, A::Error> {
                Ok(
                    match Tagged::deserialize(serde::de::value::MapAccessDeserializer::new(m))? {
                        Tagged::Env(v) => SecretRef::Env(v),
                        Tagged::Keyring(v) => SecretRef::Keyring(v),
                    },
                )
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_IN_CONFIG))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_IN_CONFIG))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_IN_CONFIG))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_IN_CONFIG))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_IN_CONFIG))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<SecretRef, A::Error> {
                Err(serde::de::Error::custom(SECRET_IN_CONFIG))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Pagerduty,
    Opsgenie,
    Alertmanager,
    Sentry,
    Prometheus,
    Datadog,
    Github,
    Vercel,
    Launchdarkly,
    Unleash,
    Flagd,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pagerduty => "pagerduty",
            Self::Opsgenie => "opsgenie",
            Self::Alertmanager => "alertmanager",
            Self::Sentry => "sentry",
            Self::Prometheus => "prometheus",
            Self::Datadog => "datadog",
            Self::Github => "github",
            Self::Vercel => "vercel",
            Self::Launchdarkly => "launchdarkly",
            Self::Unleash => "unleash",
            Self::Flagd => "flagd",
        }
    }

    /// The documented default base URL.
    pub fn default_base_url(self) -> Option<&'static str> {
        Some(match self {
            Self::Pagerduty => "https://api.pagerduty.com",
            Self::Opsgenie => "https://api.opsgenie.com",
            Self::Sentry => "https://sentry.io",
            Self::Datadog => "https://api.datadoghq.com",
            Self::Github => "https://api.github.com",
            Self::Vercel => "https://api.vercel.com",
            Self::Launchdarkly => "https://app.launchdarkly.com",
            _ => return None,
        })
    }

    /// Does this kind need a token?
    pub fn needs_token(self) -> bool {
        !matches!(self, Self::Alertmanager | Self::Prometheus | Self::Flagd)
    }

    /// Keys allowed for this kind beyond the common ones.
    fn specific_keys(self) -> &'static [&'static str] {
        match self {
            Self::Pagerduty => &["from", "services", "teams"],
            Self::Opsgenie => &[],
            Self::Alertmanager => &["max_silence"],
            Self::Prometheus => &[],
            Self::Sentry => &["organization", "projects"],
            Self::Datadog => &["site", "app_key"],
            Self::Github => &[
                "repos",
                "environments",
                "rollback",
                "workflow",
                "skip_status_checks",
            ],
            Self::Vercel => &["project", "team", "paths"],
            Self::Launchdarkly => &["project", "environment"],
            Self::Unleash => &["project", "environment"],
            Self::Flagd => &["path", "environment"],
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// GitHub rollback strategy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RollbackStrategy {
    /// `"redeploy"`.
    Named(String),
    /// `{ workflow = "rollback.yml", ref = "main" }`.
    Workflow {
        workflow: String,
        #[serde(rename = "ref")]
        git_ref: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub token: Option<SecretRef>,
    /// Accept a plain `http://` base_url to a non-loopback host for a
    /// provider that sends a token (warned on screen).
    #[serde(default)]
    pub allow_insecure_http: bool,
    #[serde(default, with = "opt_duration")]
    pub poll: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
    // alertmanager: the longest silence sitrep will create (default 7 days)
    #[serde(default, with = "opt_duration")]
    pub max_silence: Option<Duration>,
    // pagerduty
    pub from: Option<String>,
    pub services: Option<Vec<String>>,
    pub teams: Option<Vec<String>>,
    // sentry
    pub organization: Option<String>,
    pub projects: Option<Vec<String>>,
    // datadog
    pub site: Option<String>,
    pub app_key: Option<SecretRef>,
    // github
    pub repos: Option<Vec<String>>,
    pub environments: Option<Vec<String>>,
    pub rollback: Option<RollbackStrategy>,
    /// GitHub: the deploy workflow whose runs are shown.
    pub workflow: Option<String>,
    /// GitHub: a rollback redeploy sends `required_contexts: []` (skips
    /// commit status checks). Default false.
    pub skip_status_checks: Option<bool>,
    // vercel / launchdarkly / unleash
    pub project: Option<String>,
    pub team: Option<String>,
    /// Vercel: override API paths (they have moved over versions).
    pub paths: Option<BTreeMap<String, String>>,
    pub environment: Option<String>,
    // flagd
    pub path: Option<PathBuf>,
}

impl ProviderConfig {
    pub fn poll(&self) -> Duration {
        self.poll.unwrap_or(Duration::from_secs(30))
    }

    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(Duration::from_secs(10))
    }

    /// The base URL without a trailing slash, and without any
    /// `user:password@` (that goes on the wire as basic auth, see
    /// [`Self::url_credentials`], and is never printed).
    pub fn base_url(&self) -> Option<String> {
        let b = self.base_url.clone().or_else(|| match self.kind {
            ProviderKind::Datadog => self
                .site
                .as_ref()
                .map(|s| format!("https://api.{}", s.trim_start_matches("api."))),
            k => k.default_base_url().map(str::to_string),
        })?;
        let b = strip_userinfo(&b);
        Some(b.trim_end_matches('/').to_string())
    }

    /// The `user:password` of `base_url`, percent-decoded (basic auth for
    /// an API behind a proxy that asks for it).
    pub fn url_credentials(&self) -> Option<(String, crate::secrets::Secret)> {
        let u = url::Url::parse(self.base_url.as_deref()?).ok()?;
        if u.username().is_empty() && u.password().is_none() {
            return None;
        }
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Some((
            dec(u.username()),
            crate::secrets::Secret::new(dec(u.password().unwrap_or(""))),
        ))
    }

    /// Does this provider send a credential (its kind needs one, or one is
    /// configured)?
    pub fn sends_token(&self) -> bool {
        self.kind.needs_token() || self.token.is_some()
    }

    /// The secret reference, defaulting to a keyring entry named after the provider.
    pub fn token_ref(&self) -> SecretRef {
        self.token
            .clone()
            .unwrap_or_else(|| SecretRef::Keyring(self.name.clone()))
    }

    /// Names of the kind-specific keys that are set.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        macro_rules! chk {
            ($($f:ident),*) => { $( if self.$f.is_some() { v.push(stringify!($f)); } )* };
        }
        chk!(
            from,
            services,
            teams,
            organization,
            projects,
            site,
            app_key,
            repos,
            environments,
            rollback,
            workflow,
            skip_status_checks,
            project,
            team,
            paths,
            environment,
            path
        );
        v
    }
}

/// `url` without its `user:password@`, if it has one (anything that is not
/// a URL is returned as it is).
pub fn strip_userinfo(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let s = u.to_string();
            // `Url` adds a `/` path to a bare origin; keep what was written.
            if url.ends_with('/') || u.path() != "/" {
                s
            } else {
                s.trim_end_matches('/').to_string()
            }
        }
        _ => url.to_string(),
    }
}

/// Where a URL sends its requests, if that is plain `http://` to a host
/// other than this machine (`localhost`, 127.0.0.0/8, `::1`): the host, to
/// name in a message. Never the whole URL (it may carry credentials).
pub fn insecure_http_host(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if u.scheme() != "http" {
        return None;
    }
    let loopback = match u.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost"),
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
    };
    (!loopback).then(|| u.host_str().unwrap_or("").to_string())
}

impl Config {
    /// What the console and `config check` warn about: plain http allowed
    /// by `allow_insecure_http` for a provider or webhook that sends
    /// secrets.
    pub fn insecure_http_warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for p in self.providers() {
            if p.allow_insecure_http
                && p.sends_token()
                && let Some(host) = p.base_url().as_deref().and_then(insecure_http_host)
            {
                w.push(format!(
                    "provider {}: its token goes to {host} over plain http (allow_insecure_http = true)",
                    p.name
                ));
            }
        }
        if let Some(h) = &self.audit.webhook
            && h.allow_insecure_http
            && let Some(host) = insecure_http_host(&h.url)
        {
            w.push(format!(
                "audit webhook: records go to {host} over plain http (allow_insecure_http = true)"
            ));
        }
        w
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployRef {
    pub provider: String,
    pub repo: Option<String>,
    pub project: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    pub deploys: Option<DeployRef>,
    #[serde(default)]
    pub pagerduty_services: Vec<String>,
    #[serde(default)]
    pub runbooks: Vec<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub alert_labels: BTreeMap<String, String>,
    /// The flag that turns this service's risky path off: binds `{flag}`
    /// in runbooks (kill switch, rollback).
    pub kill_switch: Option<String>,
    /// The service's database cluster (Patroni scope, RDS cluster id,
    /// Cloud SQL instance): binds `{db_cluster}` in runbooks.
    pub database: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloConfig {
    pub name: String,
    pub service: Option<String>,
    pub provider: String,
    pub objective: f64,
    #[serde(default = "default_window")]
    pub window: String,
    pub errors: Option<String>,
    pub total: Option<String>,
    /// Use Sloth recording rules for this SLO id instead of raw queries.
    pub sloth_id: Option<String>,
    /// Datadog SLO id.
    pub datadog_id: Option<String>,
}

fn default_window() -> String {
    "30d".into()
}

mod opt_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        match s {
            None => Ok(None),
            Some(s) => super::parse_duration(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// `30s`, `5m`, `1h30m`, `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("invalid duration {s:?}: {e} (expected e.g. \"30s\", \"5m\", \"1h\")"))
}

/// Everything `load` found, plus where each provider is in the file.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub config: Config,
}

impl Config {
    pub fn providers(&self) -> impl Iterator<Item = &ProviderConfig> {
        self.provider.iter().map(|s| s.get_ref())
    }

    pub fn provider_named(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers().find(|p| p.name == name)
    }

    /// Which environments count as production for this config.
    pub fn production_envs(&self) -> crate::model::ProductionEnvs {
        crate::model::ProductionEnvs::new(self.production_environments.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::ConfigError;
    use std::path::PathBuf;

    #[test]
    fn error_names_the_file_and_the_position_when_known() {
        let e = |line, column| {
            ConfigError {
                path: PathBuf::from("c.toml"),
                line,
                column,
                message: "unknown key".into(),
            }
            .to_string()
        };
        assert_eq!(e(Some(3), Some(7)), "c.toml:3:7: unknown key");
        assert_eq!(e(Some(3), None), "c.toml:3: unknown key");
        assert_eq!(e(None, Some(7)), "c.toml: unknown key");
        assert_eq!(e(None, None), "c.toml: unknown key");
    }
}
