//! Reading the configuration: TOML text to a validated [`Config`], with
//! every error naming the file, line and column.

use super::{Config, ConfigError, ProviderKind, RollbackStrategy, parse_duration};
use std::collections::BTreeMap;
use std::path::Path;

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
        if let Some(b) = &p.base_url {
            // The value is not quoted: a URL may carry a password.
            let u = url::Url::parse(b).map_err(|e| {
                err(
                    Some(key_offset("base_url")),
                    format!("base_url of provider {:?} is not a URL ({e})", p.name),
                )
            })?;
            if (!u.username().is_empty() || u.password().is_some()) && p.sends_token() {
                return Err(err(
                    Some(key_offset("base_url")),
                    format!(
                        "base_url of provider {:?} carries a user name or password, and the provider also sends a token: keep the credential in `token` only",
                        p.name
                    ),
                ));
            }
        }
        if p.sends_token()
            && !p.allow_insecure_http
            && let Some(host) = p.base_url().as_deref().and_then(super::insecure_http_host)
        {
            return Err(err(
                Some(key_offset("base_url")),
                format!(
                    "provider {:?}: base_url is plain http:// to {host}, so its token would cross the network readable by anyone on the path; use https://, or set allow_insecure_http = true for this provider",
                    p.name
                ),
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
    if let Some(t) = &cfg.team {
        let n = &t.name;
        let ok = !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(err(
                text.find("[team]"),
                format!(
                    "[team] name {:?} must be 1 to 64 letters, digits, '.', '_' or '-'",
                    crate::text::SafeText::line(n).as_str()
                ),
            ));
        }
    }
    if let Some(h) = &cfg.audit.webhook {
        let at = text.find("webhook");
        if url::Url::parse(&h.url).is_err() {
            return Err(err(at, "[audit] webhook url is not a URL".into()));
        }
        if !h.allow_insecure_http
            && let Some(host) = super::insecure_http_host(&h.url)
        {
            return Err(err(
                at,
                format!(
                    "[audit] webhook url is plain http:// to {host}, so every record (and the URL, often a secret) would cross the network readable by anyone on the path; use https://, or set allow_insecure_http = true in the webhook"
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
pub static EXAMPLE: &str = include_str!("../../docs/config.example.toml");

#[cfg(test)]
mod tests {
    use super::super::SecretRef;
    use super::*;
    use crate::model::Severity;

    fn p(text: &str) -> Result<Config, String> {
        parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    /// A token never crosses the network in clear text to another host:
    /// plain http to a non-loopback host is refused for a provider that
    /// sends one (or a webhook), unless allowed, and then warned.
    #[test]
    fn tokens_over_plain_http_are_refused_unless_allowed() {
        let pd = |url: &str, extra: &str| {
            format!(
                "\n[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nbase_url = \"{url}\"\n{extra}"
            )
        };
        let e = p(&pd("http://pd.example.com", "")).unwrap_err();
        assert!(
            e.starts_with("c.toml:5:") && e.contains("plain http:// to pd.example.com"),
            "{e}"
        );
        assert!(e.contains("allow_insecure_http = true"), "{e}");
        let c = p(&pd("http://pd.example.com", "allow_insecure_http = true\n")).unwrap();
        let w = c.insecure_http_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("provider pd") && w[0].contains("pd.example.com"));
        for ok in [
            "https://pd.example.com",
            "http://127.0.0.1:8080",
            "http://localhost:9",
            "http://[::1]:9",
        ] {
            let c = p(&pd(ok, "")).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(c.insecure_http_warnings().is_empty());
        }
        // No token, no refusal: Alertmanager on a private network.
        p("[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"http://am.internal:9093\"\n")
            .unwrap();
        // ... unless it is given one.
        let e = p("[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"http://am.internal:9093\"\ntoken = { env = \"T\" }\n").unwrap_err();
        assert!(e.contains("plain http://"), "{e}");
        let hook =
            |url: &str, extra: &str| format!("[audit]\nwebhook = {{ url = \"{url}\"{extra} }}\n");
        let e = p(&hook("http://hooks.example.com/x", "")).unwrap_err();
        assert!(e.contains("webhook url is plain http://"), "{e}");
        assert!(!e.contains("/x"), "the URL is not echoed: {e}");
        let c = p(&hook(
            "http://hooks.example.com/x",
            ", allow_insecure_http = true",
        ))
        .unwrap();
        assert_eq!(c.insecure_http_warnings().len(), 1);
    }

    /// A password in a base_url is never echoed: not in an error, not in
    /// `base_url()` (what every request, plan and audit record is built
    /// from); it goes on the wire as basic auth.
    #[test]
    fn credentials_in_urls_are_never_echoed() {
        let e = p("[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\nbase_url = \"https://u:hunter22@pd.example.com\"\n").unwrap_err();
        assert!(
            e.contains("user name or password") && !e.contains("hunter22"),
            "{e}"
        );
        let e = p("[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"ht!tp://u:hunter22@x\"\n").unwrap_err();
        assert!(e.contains("is not a URL") && !e.contains("hunter22"), "{e}");
        let c = p("[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"https://u%40x:hunter22@am.example.com/am/\"\n").unwrap();
        let pc = c.providers().next().unwrap();
        assert_eq!(pc.base_url().as_deref(), Some("https://am.example.com/am"));
        let (user, pass) = pc.url_credentials().unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("u@x", "hunter22"));
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

    /// Config errors quote the file; what they quote prints inert (an OSC
    /// 52 clipboard write, a title change and a screen clear in an enum
    /// value were echoed raw).
    #[test]
    fn errors_quote_the_file_inert() {
        for text in [
            // TOML escapes: the value holds the real control characters.
            "[[provider]]\nname = \"x\"\nkind = \"\\u001b]52;c;cHduZWQ=\\u0007\\u001b]0;PWNED\\u0007\"\n",
            "[severity]\nalert_values = { critical = \"SEV\\u001b]0;PWNED\\u0007\" }\n",
            "[[provider]]\nname = \"x\"\nkind = \"nope\\u001b[2J\"\n",
        ] {
            let e = parse(text, Path::new("c.toml"))
                .map(drop)
                .map_err(|e| e.to_string())
                .expect_err("must not parse");
            assert!(!e.contains('\u{1b}') && !e.contains('\u{7}'), "{e:?}");
            assert!(e.starts_with("c.toml"), "names the file: {e}");
        }
    }

    /// A token pasted where `{ env = … }` belongs is refused without being
    /// quoted; the table forms still parse.
    #[test]
    fn a_pasted_token_is_never_quoted() {
        for value in [
            "\"u+SECRETPASTED123\"",
            "12345678901234",
            "[\"u+SECRETPASTED123\"]",
        ] {
            let text =
                format!("[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = {value}\n");
            let e = parse(&text, Path::new("c.toml"))
                .map(drop)
                .map_err(|e| e.to_string())
                .expect_err("must not parse");
            assert!(
                !e.contains("SECRETPASTED") && !e.contains("12345678901234"),
                "{e}"
            );
            assert!(e.contains("c.toml:4"), "names the line: {e}");
            assert!(e.contains("not shown"), "{e}");
        }
        let ok = "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = { env = \"PD\" }\n";
        assert!(parse(ok, Path::new("c.toml")).is_ok());
        let kr =
            "[[provider]]\nname = \"pd\"\nkind = \"pagerduty\"\ntoken = { keyring = \"pd\" }\n";
        assert!(parse(kr, Path::new("c.toml")).is_ok());
    }
}
