//! The catalog: the bundled runbooks, then `./runbooks`, then the
//! `[runbooks] dirs`, later ones overriding earlier ones by id; and the
//! fuzzy search over it.

use super::{Broken, Detail, Runbook, Source, parse_runbook, parse_runbook_detail};
use crate::fuzzy::Fuzzy;
use crate::text::SafeText;
use std::path::{Path, PathBuf};

/// Largest runbook file read, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;

/// The runbooks compiled into the binary: (file name, text). A `static`,
/// not a `const`: a constant's text is emitted again in every codegen unit
/// that uses it (160 KB each time).
pub static BUNDLED: [(&str, &str); 20] = [
    (
        "db-failover.md",
        include_str!("../../runbooks/db-failover.md"),
    ),
    (
        "auth-outage.md",
        include_str!("../../runbooks/auth-outage.md"),
    ),
    ("rollback.md", include_str!("../../runbooks/rollback.md")),
    (
        "kill-switch.md",
        include_str!("../../runbooks/kill-switch.md"),
    ),
    (
        "incident-command.md",
        include_str!("../../runbooks/incident-command.md"),
    ),
    ("disk-full.md", include_str!("../../runbooks/disk-full.md")),
    (
        "certificate-expiry.md",
        include_str!("../../runbooks/certificate-expiry.md"),
    ),
    (
        "replication-lag.md",
        include_str!("../../runbooks/replication-lag.md"),
    ),
    (
        "data-restore.md",
        include_str!("../../runbooks/data-restore.md"),
    ),
    (
        "secret-rotation.md",
        include_str!("../../runbooks/secret-rotation.md"),
    ),
    (
        "postgres-overload.md",
        include_str!("../../runbooks/postgres-overload.md"),
    ),
    (
        "third-party-outage.md",
        include_str!("../../runbooks/third-party-outage.md"),
    ),
    (
        "redis-queue.md",
        include_str!("../../runbooks/redis-queue.md"),
    ),
    (
        "ddos-rate-limit.md",
        include_str!("../../runbooks/ddos-rate-limit.md"),
    ),
    (
        "error-spike-triage.md",
        include_str!("../../runbooks/error-spike-triage.md"),
    ),
    (
        "double-charge.md",
        include_str!("../../runbooks/double-charge.md"),
    ),
    ("cache-dns.md", include_str!("../../runbooks/cache-dns.md")),
    (
        "monitoring-blind.md",
        include_str!("../../runbooks/monitoring-blind.md"),
    ),
    (
        "db-switchover.md",
        include_str!("../../runbooks/db-switchover.md"),
    ),
    (
        "region-outage.md",
        include_str!("../../runbooks/region-outage.md"),
    ),
];

/// Every runbook found, later sources overriding earlier ones by id.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Sorted by id.
    pub runbooks: Vec<Runbook>,
    pub broken: Vec<Broken>,
}

impl Catalog {
    /// Bundled, then `./runbooks` (relative to the current directory), then `dirs`.
    pub fn load(dirs: &[PathBuf]) -> Catalog {
        Self::load_from(Path::new("runbooks"), dirs)
    }

    /// [`Catalog::load`] at the given [`Detail`].
    pub fn load_detail(dirs: &[PathBuf], detail: Detail) -> Catalog {
        Self::load_from_detail(Path::new("runbooks"), dirs, detail)
    }

    /// Bundled, then `local` if it exists, then `dirs` (each must exist).
    pub fn load_from(local: &Path, dirs: &[PathBuf]) -> Catalog {
        Self::load_from_detail(local, dirs, Detail::Full)
    }

    /// [`Catalog::load_from`] at the given [`Detail`].
    pub fn load_from_detail(local: &Path, dirs: &[PathBuf], detail: Detail) -> Catalog {
        let mut cat = Catalog::default();
        for (name, text) in BUNDLED {
            let path = format!("<bundled>/{name}");
            cat.add(parse_runbook_detail(
                text,
                &path,
                Source::Bundled,
                name,
                detail,
            ));
        }
        if local.is_dir() {
            cat.add_dir(local, Source::Local, detail);
        }
        for d in dirs {
            if d.is_dir() {
                cat.add_dir(d, Source::Config, detail);
            } else {
                cat.broken.push(Broken {
                    path: SafeText::line(&d.display().to_string()),
                    error: SafeText::line(&format!(
                        "{}: runbook directory not found ([runbooks] dirs)",
                        d.display()
                    )),
                });
            }
        }
        crate::order::sort_by(&mut cat.runbooks, |a, b| a.id.cmp(&b.id));
        cat
    }

    /// Only the bundled runbooks.
    pub fn bundled() -> Catalog {
        let mut cat = Catalog::default();
        for (name, text) in BUNDLED {
            let path = format!("<bundled>/{name}");
            cat.add(parse_runbook(text, &path, Source::Bundled, name));
        }
        crate::order::sort_by(&mut cat.runbooks, |a, b| a.id.cmp(&b.id));
        cat
    }

    fn add(&mut self, r: Result<Runbook, Broken>) {
        match r {
            Ok(rb) => {
                if let Some(old) = self.runbooks.iter_mut().find(|o| o.id == rb.id) {
                    *old = rb;
                } else {
                    self.runbooks.push(rb);
                }
            }
            Err(b) => self.broken.push(b),
        }
    }

    fn add_dir(&mut self, dir: &Path, source: Source, detail: Detail) {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.broken.push(Broken {
                    path: SafeText::line(&dir.display().to_string()),
                    error: SafeText::line(&format!("{}: {e}", dir.display())),
                });
                return;
            }
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
            .collect();
        crate::order::sort(&mut files);
        for p in files {
            let shown = p.display().to_string();
            let stem = p
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let r = read_capped(&p)
                .map_err(|e| Broken {
                    path: SafeText::line(&shown),
                    error: SafeText::line(&format!("{shown}: {e}")),
                })
                .and_then(|text| parse_runbook_detail(&text, &shown, source, &stem, detail));
            self.add(r);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.id.as_str() == id)
    }

    /// By id, then case-insensitively, then by file name (`db-failover.md`).
    pub fn find(&self, name: &str) -> Option<&Runbook> {
        let name = name.trim();
        self.get(name)
            .or_else(|| {
                self.runbooks
                    .iter()
                    .find(|r| r.id.as_str().eq_ignore_ascii_case(name))
            })
            .or_else(|| {
                let stem = name.strip_suffix(".md").unwrap_or(name);
                self.runbooks.iter().find(|r| {
                    Path::new(r.path.as_str())
                        .file_stem()
                        .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(stem))
                })
            })
    }

    pub fn ids(&self) -> Vec<&str> {
        self.runbooks.iter().map(|r| r.id.as_str()).collect()
    }
}

/// `[runbooks] dirs` with relative entries resolved against the directory
/// of the config file (so a config and its runbooks can move together) and
/// a leading `~/` against the home directory.
pub fn config_dirs(config_file: &Path, cfg: &crate::config::RunbooksConfig) -> Vec<PathBuf> {
    let base = config_file.parent().unwrap_or(Path::new("."));
    cfg.dirs
        .iter()
        .map(|d| {
            if let Ok(rest) = d.strip_prefix("~")
                && let Some(home) = directories::BaseDirs::new()
            {
                return home.home_dir().join(rest);
            }
            if d.is_absolute() {
                d.clone()
            } else {
                base.join(d)
            }
        })
        .collect()
}

fn read_capped(p: &Path) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(p).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    f.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.len() > MAX_BYTES {
        return Err(format!(
            "larger than {} KiB; runbooks are capped",
            MAX_BYTES / 1024
        ));
    }
    // Valid UTF-8 (the usual case) is kept without a copy.
    Ok(String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Fuzzy search over title, id, tags and services. Returns (index into
/// `runbooks`, score), best first; an empty query returns all in order.
pub fn search(query: &str, runbooks: &[Runbook]) -> Vec<(usize, u32)> {
    if query.trim().is_empty() {
        return (0..runbooks.len()).map(|i| (i, 0)).collect();
    }
    let mut fuzzy = Fuzzy::new(query);
    let mut out: Vec<(usize, u32)> = runbooks
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let hay = format!(
                "{} {} {} {}",
                r.title,
                r.id,
                r.tags
                    .iter()
                    .map(SafeText::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                r.services
                    .iter()
                    .map(SafeText::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            fuzzy.score(&hay).map(|s| (i, s))
        })
        .collect();
    crate::order::sort_by(&mut out, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_sources_win_and_broken_do_not_hide_others() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("runbooks");
        std::fs::create_dir(&local).unwrap();
        std::fs::write(
            local.join("rollback.md"),
            "---\nid: rollback\ntitle: Our rollback\n---\n## a\n",
        )
        .unwrap();
        std::fs::write(local.join("broken.md"), "---\ntitle: [\n---\n").unwrap();
        let extra = dir.path().join("extra");
        std::fs::create_dir(&extra).unwrap();
        std::fs::write(
            extra.join("x.md"),
            "---\nid: rollback\ntitle: Config rollback\n---\n",
        )
        .unwrap();
        let cat = Catalog::load_from(&local, &[extra, dir.path().join("missing")]);
        assert_eq!(
            cat.get("rollback").unwrap().title.as_str(),
            "Config rollback"
        );
        assert_eq!(cat.get("rollback").unwrap().source, Source::Config);
        assert!(cat.get("db-failover").is_some());
        assert_eq!(cat.broken.len(), 2);
        assert!(cat.broken[0].error.as_str().contains("broken.md"));
        assert!(cat.find("DB-Failover").is_some());
    }

    #[test]
    fn text_detail_loads_the_same_runbooks_without_steps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("rollback.md"),
            "---\nid: rollback\ntitle: Our rollback\n---\n## a\n- [ ] x\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("broken.md"), "---\ntitle: [\n---\n").unwrap();
        // Not UTF-8: read lossily, as before.
        std::fs::write(
            dir.path().join("latin1.md"),
            b"---\nid: latin1\ntitle: caf\xe9\n---\nna\xefve\n",
        )
        .unwrap();
        let dirs = [dir.path().to_path_buf(), dir.path().join("missing")];
        let full = Catalog::load_from_detail(Path::new("no-such-dir"), &dirs, Detail::Full);
        let text = Catalog::load_from_detail(Path::new("no-such-dir"), &dirs, Detail::Text);
        assert_eq!(full.ids(), text.ids());
        assert_eq!(full.broken, text.broken);
        assert_eq!(full.broken.len(), 2);
        assert_eq!(full.get("latin1").unwrap().title.as_str(), "caf\u{fffd}");
        for (f, t) in full.runbooks.iter().zip(&text.runbooks) {
            assert!(t.steps.is_empty() && t.revision.is_empty());
            let mut f = f.clone();
            f.steps.clear();
            f.revision.clear();
            assert_eq!(&f, t);
        }
    }

    #[test]
    fn config_dirs_are_relative_to_the_config_file() {
        let cfg = crate::config::RunbooksConfig {
            dirs: vec![PathBuf::from("team-runbooks"), PathBuf::from("/abs/rb")],
            allow_exec: false,
        };
        let d = config_dirs(Path::new("/etc/sitrep/config.toml"), &cfg);
        assert_eq!(d[0], PathBuf::from("/etc/sitrep/team-runbooks"));
        assert_eq!(d[1], PathBuf::from("/abs/rb"));
    }

    #[test]
    fn oversized_file_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let big = format!(
            "---\nid: big\ntitle: t\n---\n{}",
            "x".repeat(MAX_BYTES + 10)
        );
        std::fs::write(dir.path().join("big.md"), big).unwrap();
        let cat = Catalog::load_from(dir.path(), &[]);
        assert!(cat.get("big").is_none());
        assert!(cat.broken[0].error.as_str().contains("capped"));
    }

    #[test]
    fn fuzzy_search_finds_by_title_tag_service() {
        let cat = Catalog::bundled();
        let top = |q: &str| {
            let r = search(q, &cat.runbooks);
            cat.runbooks[r[0].0].id.as_str().to_string()
        };
        assert_eq!(top("failover"), "db-failover");
        assert_eq!(top("postgres promote"), "db-failover");
        assert_eq!(top("jwks"), "auth-outage");
        assert_eq!(search("", &cat.runbooks).len(), cat.runbooks.len());
        assert!(search("zzzzqqqq", &cat.runbooks).is_empty());
    }
}
