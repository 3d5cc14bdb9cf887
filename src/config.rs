//! The TOML configuration of SPEC §3. Unknown keys, unknown kinds, keys that
//! do not belong to a provider's kind and duplicate names are errors naming
//! the file, line and column.

use crate::model::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub path: Option<PathBuf>,
    pub webhook: Option<WebhookConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: Option<SecretRef>,
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretRef {
    Env(String),
    Keyring(String),
}

// `{ env = "X" }` is a table with one key: serde's externally tagged enum
// form, which is what the derive above accepts.

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
    /// The embedded demo (only through `--demo`).
    Demo,
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
            Self::Demo => "demo",
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
        !matches!(
            self,
            Self::Alertmanager | Self::Prometheus | Self::Flagd | Self::Demo
        )
    }

    /// Keys allowed for this kind beyond the common ones.
    fn specific_keys(self) -> &'static [&'static str] {
        match self {
            Self::Pagerduty => &["from", "services", "teams"],
            Self::Opsgenie => &[],
            Self::Alertmanager | Self::Prometheus => &[],
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
            Self::Flagd => &["path"],
            Self::Demo => &[],
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
    #[serde(default, with = "opt_duration")]
    pub poll: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
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

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> Option<String> {
        let b = self.base_url.clone().or_else(|| match self.kind {
            ProviderKind::Datadog => self
                .site
                .as_ref()
                .map(|s| format!("https://api.{}", s.trim_start_matches("api."))),
            k => k.default_base_url().map(str::to_string),
        })?;
        Some(b.trim_end_matches('/').to_string())
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

    pub fn is_production_env(&self, env: &str) -> bool {
        crate::model::ProductionEnvs::new(self.production_environments.clone()).contains(env)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map(|i| before[i + 1..].chars().count() + 1)
        .unwrap_or_else(|| before.chars().count() + 1);
    (line, col)
}

/// Parse config text. `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let err = |offset: Option<usize>, message: String| {
        let (line, column) = match offset {
            Some(o) => {
                let (l, c) = line_col(text, o);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let mut cfg: Config = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().to_string();
        err(e.span().map(|s| s.start), msg)
    })?;
    cfg.severity = std::mem::take(&mut cfg.severity).merged_with_defaults();

    // Per-provider validation: unique names, keys that fit the kind, values.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for sp in &cfg.provider {
        let p = sp.get_ref();
        let start = sp.span().start;
        // The span covers the `[[provider]]` header; the table runs to the
        // next header line.
        let body_end = text[sp.span().end.min(text.len())..]
            .find("\n[")
            .map(|i| sp.span().end + i)
            .unwrap_or(text.len());
        let table = &text[start.min(text.len())..body_end.max(start).min(text.len())];
        let key_offset = |key: &str| -> usize {
            table
                .match_indices(key)
                .find(|(i, _)| {
                    let line_start = table[..*i].rfind('\n').map(|x| x + 1).unwrap_or(0);
                    table[line_start..*i].trim().is_empty()
                        && table[i + key.len()..].trim_start().starts_with('=')
                })
                .map(|(i, _)| start + i)
                .unwrap_or(start)
        };
        if p.name.trim().is_empty() {
            return Err(err(
                Some(key_offset("name")),
                "provider name is empty".into(),
            ));
        }
        if !p
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(err(
                Some(key_offset("name")),
                format!(
                    "provider name {:?} may only contain letters, digits, '-', '_' and '.'",
                    p.name
                ),
            ));
        }
        if p.kind == ProviderKind::Demo {
            return Err(err(
                Some(key_offset("kind")),
                "kind \"demo\" is only available through --demo".into(),
            ));
        }
        if let Some(first) = seen.get(&p.name) {
            let (l, _) = line_col(text, *first);
            return Err(err(
                Some(key_offset("name")),
                format!(
                    "duplicate provider name {:?} (first defined on line {l})",
                    p.name
                ),
            ));
        }
        seen.insert(p.name.clone(), key_offset("name"));
        let allowed = p.kind.specific_keys();
        for k in p.set_keys() {
            if !allowed.contains(&k) {
                return Err(err(
                    Some(key_offset(k)),
                    format!(
                        "key `{k}` is not valid for provider {:?} of kind {}{}",
                        p.name,
                        p.kind,
                        if allowed.is_empty() {
                            String::new()
                        } else {
                            format!(" (valid: {})", allowed.join(", "))
                        }
                    ),
                ));
            }
        }
        if let Some(b) = &p.base_url
            && url::Url::parse(b).is_err()
        {
            return Err(err(
                Some(key_offset("base_url")),
                format!("base_url {b:?} of provider {:?} is not a URL", p.name),
            ));
        }
        if p.kind == ProviderKind::Flagd && p.path.is_none() {
            return Err(err(
                Some(start),
                format!("provider {:?} of kind flagd needs `path`", p.name),
            ));
        }
        let need = |key: &str, present: bool| {
            if present {
                Ok(())
            } else {
                Err(err(
                    Some(start),
                    format!("provider {:?} of kind {} needs `{key}`", p.name, p.kind),
                ))
            }
        };
        match p.kind {
            ProviderKind::Github => need("repos", p.repos.as_ref().is_some_and(|r| !r.is_empty()))?,
            ProviderKind::Vercel => need("project", p.project.is_some())?,
            ProviderKind::Launchdarkly | ProviderKind::Unleash => {
                need("project", p.project.is_some())?;
                need("environment", p.environment.is_some())?;
            }
            ProviderKind::Sentry => need("organization", p.organization.is_some())?,
            ProviderKind::Alertmanager | ProviderKind::Prometheus => {
                need("base_url", p.base_url.is_some())?
            }
            _ => {}
        }
        if let Some(RollbackStrategy::Named(n)) = &p.rollback
            && n != "redeploy"
        {
            return Err(err(
                Some(key_offset("rollback")),
                format!(
                    "rollback = {n:?} is not a strategy (expected \"redeploy\" or {{ workflow = \"...\", ref = \"...\" }})"
                ),
            ));
        }
    }
    let names: Vec<String> = cfg.providers().map(|p| p.name.clone()).collect();
    let find_line = |needle: &str| text.find(needle);
    for s in &cfg.slo {
        if !names.contains(&s.provider) {
            return Err(err(
                find_line(&format!("\"{}\"", s.name)),
                format!(
                    "slo {:?} names provider {:?}, which is not configured",
                    s.name, s.provider
                ),
            ));
        }
        if !(s.objective > 0.0 && s.objective < 100.0) {
            return Err(err(
                find_line(&format!("\"{}\"", s.name)),
                format!(
                    "slo {:?}: objective {} must be a percentage between 0 and 100 (e.g. 99.9)",
                    s.name, s.objective
                ),
            ));
        }
        parse_duration(&s.window).map_err(|e| {
            err(
                find_line(&format!("\"{}\"", s.name)),
                format!("slo {:?}: window: {e}", s.name),
            )
        })?;
    }
    for svc in &cfg.service {
        if let Some(d) = &svc.deploys
            && !names.contains(&d.provider)
        {
            return Err(err(
                find_line(&format!("\"{}\"", svc.name)),
                format!(
                    "service {:?}: deploys.provider {:?} is not configured",
                    svc.name, d.provider
                ),
            ));
        }
    }
    Ok(cfg)
}

/// Read and parse a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read config: {e}"),
    })?;
    let mut cfg = parse(&text, path)?;
    cfg.base_dir = path.parent().map(Path::to_path_buf);
    Ok(cfg)
}

/// The commented example written by `sitrep config init`. It must pass
/// `config check` (a test makes sure).
pub const EXAMPLE: &str = include_str!("../docs/config.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Config, String> {
        parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn example_config_is_valid() {
        let c = p(EXAMPLE).unwrap_or_else(|e| panic!("example invalid: {e}"));
        assert!(c.providers().count() >= 3);
    }

    #[test]
    fn empty_config_is_valid_with_defaults() {
        let c = p("").unwrap();
        assert_eq!(c.severity.alert_label, "severity");
        assert_eq!(c.severity.pagerduty_priority["P1"], Severity::Sev1);
    }

    #[test]
    fn partial_matrix_keeps_defaults() {
        let c = p("[severity]\npagerduty_priority = { P1 = \"SEV2\" }\n").unwrap();
        assert_eq!(c.severity.pagerduty_priority["P1"], Severity::Sev2);
        assert_eq!(c.severity.pagerduty_priority["P2"], Severity::Sev2);
        assert_eq!(c.severity.pagerduty_urgency["high"], Severity::Sev2);
    }

    #[test]
    fn unknown_top_level_key_names_line() {
        let e = p("[identity]\nname = \"a\"\n\n[bogus]\nx = 1\n").unwrap_err();
        assert!(e.starts_with("c.toml:4:"), "{e}");
        assert!(e.contains("unknown field `bogus`"), "{e}");
    }

    #[test]
    fn unknown_provider_key_names_line() {
        let e = p("[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntokn = { env = \"X\" }\n")
            .unwrap_err();
        assert!(e.starts_with("c.toml:4:"), "{e}");
        assert!(e.contains("unknown field `tokn`"), "{e}");
    }

    #[test]
    fn unknown_kind_is_an_error() {
        let e = p("[[provider]]\nname = \"x\"\nkind = \"nagios\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:3:"), "{e}");
        assert!(e.contains("nagios"), "{e}");
    }

    #[test]
    fn key_of_another_kind_is_an_error() {
        let e = p("[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nrepos = [\"a/b\"]\n")
            .unwrap_err();
        assert_eq!(
            e,
            "c.toml:4:1: key `repos` is not valid for provider \"pd\" of kind pagerduty (valid: from, services, teams)"
        );
    }

    #[test]
    fn duplicate_name_is_an_error() {
        let e = p("[[provider]]\nname = \"a\"\nkind = \"opsgenie\"\n\n[[provider]]\nname = \"a\"\nkind = \"pagerduty\"\n")
            .unwrap_err();
        assert_eq!(
            e,
            "c.toml:6:1: duplicate provider name \"a\" (first defined on line 2)"
        );
    }

    #[test]
    fn bad_duration_is_an_error() {
        let e =
            p("[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\npoll = \"often\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:4:"), "{e}");
        assert!(e.contains("invalid duration \"often\""), "{e}");
    }

    #[test]
    fn token_refs_parse() {
        let c = p("[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = { env = \"PD\" }\n[[provider]]\nname = \"og\"\nkind = \"opsgenie\"\n").unwrap();
        let v: Vec<_> = c.providers().map(|p| p.token_ref()).collect();
        assert_eq!(v[0], SecretRef::Env("PD".into()));
        assert_eq!(v[1], SecretRef::Keyring("og".into()));
    }

    #[test]
    fn slo_must_name_a_provider() {
        let e = p("[[slo]]\nname = \"x\"\nprovider = \"nope\"\nobjective = 99.9\n").unwrap_err();
        assert!(e.contains("names provider \"nope\""), "{e}");
        assert!(e.starts_with("c.toml:2:"), "{e}");
    }

    #[test]
    fn github_rollback_strategies() {
        let c = p("[[provider]]\nname = \"gh\"\nkind = \"github\"\nrepos = [\"a/b\"]\nrollback = { workflow = \"rb.yml\", ref = \"main\" }\n").unwrap();
        assert!(matches!(
            c.providers().next().and_then(|p| p.rollback.clone()),
            Some(RollbackStrategy::Workflow { .. })
        ));
        let e = p("[[provider]]\nname = \"gh\"\nkind = \"github\"\nrepos = [\"a/b\"]\nrollback = \"yolo\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:5:"), "{e}");
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any text: an error or a config, never a panic; errors name the file.
        #[test]
        fn parse_never_panics(text in "\\PC{0,400}") {
            if let Err(e) = parse(&text, Path::new("f.toml")) {
                prop_assert!(e.to_string().starts_with("f.toml"));
            }
        }

        /// The example config with one byte changed or a line cut: never a
        /// panic, and a reported line is inside the file.
        #[test]
        fn mutated_example_never_panics(pos in 0usize..EXAMPLE.len(), byte in any::<u8>(), cut in any::<bool>()) {
            let mut bytes = EXAMPLE.as_bytes().to_vec();
            if cut { bytes.truncate(pos) } else { bytes[pos] = byte }
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = parse(&text, Path::new("f.toml"))
                && let Some(l) = e.line
            {
                prop_assert!(l >= 1 && l <= text.lines().count() + 1, "line {} of {}", l, text.lines().count());
            }
        }
    }
}
