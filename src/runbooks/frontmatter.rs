//! One runbook file: the YAML front matter (checked field by field, errors
//! as `path:line: message`), then the body and its steps.

use super::nesting;
use super::steps::extract_steps;
use super::{Broken, Detail, MAX_BYTES, Runbook, Source};
use crate::text::SafeText;
use chrono::NaiveDate;
use serde::Deserialize;

#[derive(Deserialize)]
struct FrontMatter {
    id: Option<Scalar>,
    title: Option<Scalar>,
    #[serde(default)]
    services: OneOrMany,
    #[serde(default)]
    severity: OneOrMany,
    #[serde(default)]
    tags: OneOrMany,
    owner: Option<Scalar>,
    last_reviewed: Option<Scalar>,
    review_every: Option<Scalar>,
    rto: Option<Scalar>,
    rpo: Option<Scalar>,
}

/// A YAML scalar read as text (`rpo: 0` is "0").
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::S(s) => s.clone(),
            Scalar::I(i) => i.to_string(),
            Scalar::F(f) => f.to_string(),
            Scalar::B(b) => b.to_string(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(Scalar),
    Many(Vec<Scalar>),
}

impl OneOrMany {
    fn texts(&self) -> Vec<SafeText> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![SafeText::line(&s.text())],
            OneOrMany::Many(v) => v.iter().map(|s| SafeText::line(&s.text())).collect(),
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        })
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

/// Split `---\n yaml \n---\n body`. Returns (yaml, body, 1-based line of the
/// first yaml line, 1-based line of the first body line).
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut off = 0;
    for (lines, line) in (1..).zip(rest.split_inclusive('\n')) {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            let yaml = &rest[..off];
            let body = &rest[off + line.len()..];
            return Some((yaml, body, lines + 2));
        }
        off += line.len();
    }
    None
}

/// Parse one runbook file. `path` names it in errors; `file_name` gives the
/// id when the front matter has none.
pub fn parse_runbook(
    text: &str,
    path: &str,
    source: Source,
    file_name: &str,
) -> Result<Runbook, Broken> {
    parse_runbook_detail(text, path, source, file_name, Detail::Full)
}

/// [`parse_runbook`] at the given [`Detail`].
pub fn parse_runbook_detail(
    text: &str,
    path: &str,
    source: Source,
    file_name: &str,
    detail: Detail,
) -> Result<Runbook, Broken> {
    let shown = SafeText::line(path);
    let broken = |line: usize, msg: String| Broken {
        path: shown.clone(),
        error: SafeText::line(&if line > 0 {
            format!("{path}:{line}: {msg}")
        } else {
            format!("{path}: {msg}")
        }),
    };
    if text.len() > MAX_BYTES {
        return Err(broken(
            0,
            format!("larger than {} KiB; runbooks are capped", MAX_BYTES / 1024),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some((yaml, body, body_line)) = split_front_matter(text) else {
        return Err(broken(
            1,
            "no YAML front matter (the file must start with a `---` line, and the front matter end with one)".into(),
        ));
    };
    let fm: FrontMatter = serde_yaml_ng::from_str(yaml).map_err(|e| {
        let msg = e.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        match e.location() {
            // The YAML starts on line 2 of the file.
            Some(l) => Broken {
                path: shown.clone(),
                error: SafeText::line(&format!(
                    "{path}:{}:{}: front matter: {msg}",
                    l.line() + 1,
                    l.column()
                )),
            },
            None => broken(2, format!("front matter: {msg}")),
        }
    })?;
    let fm_line = |key: &str| -> usize {
        yaml.lines()
            .position(|l| l.starts_with(&format!("{key}:")))
            .map(|i| i + 2)
            .unwrap_or(1)
    };
    let stem = file_name.strip_suffix(".md").unwrap_or(file_name);
    let id = fm
        .id
        .as_ref()
        .map(Scalar::text)
        .unwrap_or_else(|| stem.to_string());
    let id = id.trim().to_string();
    if !valid_id(&id) {
        return Err(broken(
            fm_line("id"),
            format!(
                "id {:?} must be 1-64 lowercase letters, digits, '-', '_' or '.'",
                SafeText::line(&id).as_str()
            ),
        ));
    }
    let Some(title) = fm
        .title
        .as_ref()
        .map(Scalar::text)
        .filter(|t| !t.trim().is_empty())
    else {
        return Err(broken(
            fm_line("title"),
            "front matter needs a `title`".into(),
        ));
    };
    let last_reviewed = match &fm.last_reviewed {
        None => None,
        Some(s) => {
            let t = s.text();
            match NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    return Err(broken(
                        fm_line("last_reviewed"),
                        format!(
                            "last_reviewed {:?} is not a date (YYYY-MM-DD)",
                            SafeText::line(&t).as_str()
                        ),
                    ));
                }
            }
        }
    };
    let review_every_days = match &fm.review_every {
        None => None,
        Some(s) => {
            let t = s.text();
            match crate::config::parse_duration(t.trim()) {
                Ok(d) if d.as_secs() >= 86_400 => Some((d.as_secs() / 86_400) as i64),
                _ => {
                    return Err(broken(
                        fm_line("review_every"),
                        format!(
                            "review_every {:?} is not a duration of at least one day (e.g. 90d)",
                            SafeText::line(&t).as_str()
                        ),
                    ));
                }
            }
        }
    };
    for sev in fm.severity.texts() {
        if sev.as_str().parse::<crate::model::Severity>().is_err() {
            return Err(broken(
                fm_line("severity"),
                format!("severity {:?} is not one of SEV1..SEV4", sev.as_str()),
            ));
        }
    }
    let body = SafeText::block(&nesting::defuse_nesting(body));
    let (steps, revision) = match detail {
        Detail::Full => {
            use sha2::{Digest, Sha256};
            (
                extract_steps(body.as_str(), body_line),
                hex::encode(Sha256::digest(text.as_bytes())),
            )
        }
        Detail::Text => (Vec::new(), String::new()),
    };
    let opt = |s: &Option<Scalar>| {
        s.as_ref()
            .map(|s| SafeText::line(s.text().trim()))
            .filter(|s| !s.is_empty())
    };
    Ok(Runbook {
        id: SafeText::line(&id),
        title: SafeText::line(title.trim()),
        services: fm.services.texts(),
        severity: fm
            .severity
            .texts()
            .iter()
            .map(|s| SafeText::line(&s.as_str().to_ascii_uppercase()))
            .collect(),
        tags: fm.tags.texts(),
        owner: opt(&fm.owner),
        last_reviewed,
        review_every_days,
        rto: opt(&fm.rto),
        rpo: opt(&fm.rpo),
        path: shown,
        source,
        steps,
        body,
        body_line,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Time;
    use crate::runbooks::Block;

    const GOOD: &str = "---\nid: test-rb\ntitle: A test\nservices: [checkout]\nseverity: [SEV1, sev2]\ntags: [x]\nowner: team\nlast_reviewed: 2026-10-01\nrto: 15m\nrpo: 0\n---\nIntro.\n\n## 1. First\n- [ ] one\n- [x] two\n  - [ ] nested\n- plain\n\n```sh\necho hi\n```\n\n## Step 2: Second\n```sitrep\nflag off checkout-writes --reason \"x\"\n```\n```sitrep\nflag off\n```\n";

    fn good() -> Runbook {
        parse_runbook(GOOD, "t.md", Source::Local, "t.md").unwrap()
    }

    #[test]
    fn parses_front_matter_steps_items_blocks() {
        let r = good();
        assert_eq!(r.id.as_str(), "test-rb");
        assert_eq!(r.severity.len(), 2);
        assert_eq!(r.severity[1].as_str(), "SEV2");
        assert_eq!(r.rpo.as_ref().unwrap().as_str(), "0");
        assert_eq!(r.steps.len(), 2);
        let s1 = &r.steps[0];
        assert_eq!(s1.title.as_str(), "First");
        assert_eq!(s1.line, 14);
        let items: Vec<_> = s1.items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(items, ["one", "two", "nested"]);
        assert!(s1.items[1].checked_in_source);
        assert!(matches!(&s1.blocks[0], Block::Code { lang, .. } if lang.as_str() == "sh"));
        let s2 = &r.steps[1];
        assert_eq!(s2.title.as_str(), "Second");
        assert_eq!(s2.actions().count(), 1);
        assert!(
            matches!(&s2.blocks[1], Block::Action { error: Some(e), .. } if e.as_str().contains("line 29"))
        );
        assert!(r.preamble().contains("Intro."));
        assert!(s2.markdown(&r).starts_with("## Step 2"));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse_runbook(
            "---\nid: x\ntitle: [unclosed\n---\nbody\n",
            "bad.md",
            Source::Local,
            "bad.md",
        )
        .unwrap_err();
        assert!(e.error.as_str().starts_with("bad.md:"), "{e:?}");
        assert!(
            e.error.as_str().contains(":3:") || e.error.as_str().contains(":4:"),
            "{e:?}"
        );
        let e = parse_runbook("no front matter", "n.md", Source::Local, "n.md").unwrap_err();
        assert!(e.error.as_str().contains("n.md:1:"));
        let e = parse_runbook(
            "---\nid: x\ntitle: t\nlast_reviewed: yesterday\n---\n",
            "d.md",
            Source::Local,
            "d.md",
        )
        .unwrap_err();
        assert!(e.error.as_str().contains("d.md:4:"), "{e:?}");
        let e = parse_runbook(
            "---\nid: Bad Id\ntitle: t\n---\n",
            "i.md",
            Source::Local,
            "i.md",
        )
        .unwrap_err();
        assert!(e.error.as_str().contains("i.md:2:"), "{e:?}");
    }

    #[test]
    fn stale_after_90_days() {
        let r = good();
        let at = |s: &str| -> Time { format!("{s}T12:00:00Z").parse().unwrap() };
        assert!(!r.is_stale(at("2026-12-30")));
        assert!(r.is_stale(at("2026-12-31")));
        let mut never = r.clone();
        never.last_reviewed = None;
        assert!(never.is_stale(at("2026-10-02")));
    }

    #[test]
    fn hostile_yaml_is_an_error_not_a_hang() {
        // Billion laughs and deep nesting in the front matter.
        let mut laughs = String::from(
            "---\nid: x\ntitle: t\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        for i in 1..10 {
            let p = i - 1;
            laughs.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        laughs.push_str("tags: *a9\n---\n## a\n");
        let t = std::time::Instant::now();
        let r = parse_runbook(&laughs, "l.md", Source::Local, "l.md");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert!(r.is_err(), "alias explosion accepted");
        let deep = format!(
            "---\nid: x\ntitle: t\ntags: {}{}\n---\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse_runbook(&deep, "d.md", Source::Local, "d.md").is_err());
    }
}
