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
        }
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
