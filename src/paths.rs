//! Where sitrep keeps its files: the config file and the data dir (cache,
//! runbook progress, audit log, log file).

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Paths {
    pub config: PathBuf,
    /// `--config`/`SITREP_CONFIG` was given (a missing file is then an error).
    pub config_explicit: bool,
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    /// The context (team/account) in use, if any.
    pub context: Option<String>,
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "sitrep", "sitrep")
}

impl Paths {
    pub fn resolve(config: Option<PathBuf>, data_dir: Option<PathBuf>) -> Paths {
        let dirs = project_dirs();
        let config_dir = dirs
            .as_ref()
            .map(|d| d.config_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".sitrep"));
        let data_dir = data_dir.unwrap_or_else(|| {
            dirs.as_ref()
                .map(|d| d.data_dir().to_path_buf())
                .unwrap_or_else(|| PathBuf::from(".sitrep"))
        });
        let config_explicit = config.is_some();
        let config = config.unwrap_or_else(|| config_dir.join("config.toml"));
        Paths {
            config,
            config_explicit,
            config_dir,
            data_dir,
            context: None,
        }
    }

    /// Paths of a context: `<config dir>/contexts/NAME.toml`, with its own
    /// data dir `<data dir>/contexts/NAME` (cache, progress, audit log), so
    /// teams and accounts never mix state.
    pub fn for_context(&self, name: &str) -> Result<Paths, String> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            || name.starts_with('.')
        {
            return Err(format!(
                "context name {name:?} may only contain letters, digits, '-', '_' and '.'"
            ));
        }
        let mut p = self.clone();
        p.config = self
            .config_dir
            .join("contexts")
            .join(format!("{name}.toml"));
        p.config_explicit = true;
        p.data_dir = self.data_dir.join("contexts").join(name);
        p.context = Some(name.to_string());
        Ok(p)
    }

    /// The contexts that exist, by name.
    pub fn contexts(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.config_dir.join("contexts"))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let p = e.path();
                        (p.extension()? == "toml")
                            .then(|| p.file_stem().map(|s| s.to_string_lossy().to_string()))
                            .flatten()
                    })
                    .collect()
            })
            .unwrap_or_default();
        crate::order::sort(&mut v);
        v
    }

    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("sitrep.log")
    }

    pub fn themes_dir(&self) -> PathBuf {
        self.config_dir.join("themes")
    }

    pub fn default_audit(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }

    pub fn in_data(&self, p: &str) -> PathBuf {
        self.data_dir.join(p)
    }

    pub fn config_exists(&self) -> bool {
        Path::new(&self.config).exists()
    }
}
