//! The application context both faces share: which config and data
//! directory are in use, the providers they name, the offline cache and the
//! runbook catalog. The CLI (`cli`) and the console (`tui`) are built on it;
//! neither imports the other.

use crate::cache::Cache;
use crate::config::{self, Config};
use crate::model::Time;
use crate::paths::Paths;
use crate::providers::Registry;
use crate::runbooks::{Catalog, Detail};
use crate::store::Store;
use crate::text::SafeText;
use std::path::PathBuf;

/// Exit codes of SPEC §2, the same for every command and the console.
pub mod exit {
    pub const OK: i32 = 0;
    pub const PARTIAL: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const AUDIT_BROKEN: i32 = 3;
    pub const PROVIDER_FAILED: i32 = 4;
    /// A read command got nothing: no provider answered and nothing was
    /// cached (1 is "some failed").
    pub const NO_DATA: i32 = 5;
    /// The provider was asked (and may have done it) but the result record
    /// could not be written: the intent stays open until the next start
    /// reconciles it (docs/AUDIT.md).
    pub const UNRECORDED: i32 = 6;
}

/// The options every command and the console take (the CLI's global flags,
/// without the argument parser).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub context: Option<String>,
    pub demo: bool,
    pub read_only: bool,
    pub theme: Option<String>,
    pub no_color: bool,
    pub verbose: u8,
}

/// Everything a command needs, resolved once.
#[derive(Clone, Debug)]
pub struct AppContext {
    pub opts: Options,
    /// The paths in use: with `--demo`, the data dir is the demo's own
    /// (`<data dir>/demo`, see [`DEMO_DIR`]).
    pub paths: Paths,
    pub now: Time,
    /// The paths without the demo (a context switch from the demo starts
    /// from its data dir).
    base: Paths,
}

/// The demo's data dir below the user's: its audit log, runbook progress
/// and log file live there, never beside the user's own.
pub const DEMO_DIR: &str = "demo";

/// The seed of the demo's audit signing key: public on purpose. The demo
/// log proves nothing about anyone; its key is trusted by `--demo` alone.
const DEMO_KEY_SEED: [u8; 32] = *b"sitrep demo audit key, not real!";

/// The key that signs the demo's audit log (the same in every process,
/// so `sitrep --demo audit verify` checks earlier demo runs too).
pub fn demo_signer() -> crate::audit::Signer {
    match crate::audit::AuditKey::from_seed(&DEMO_KEY_SEED) {
        Ok(k) => crate::audit::Signer::fixed(k),
        Err(_) => crate::audit::Signer::ephemeral(),
    }
}

/// `paths` with the data dir of the demo.
fn demo_paths(paths: &Paths) -> Paths {
    let mut p = paths.clone();
    p.data_dir = paths.data_dir.join(DEMO_DIR);
    p
}

impl AppContext {
    /// Resolve the paths for `opts` (the named context's config and data
    /// directory; an explicit `--data-dir` still wins).
    pub fn new(opts: Options) -> Result<AppContext, String> {
        let mut paths = Paths::resolve(opts.config.clone(), opts.data_dir.clone());
        if let Some(name) = &opts.context {
            let mut p = paths.for_context(name)?;
            if opts.data_dir.is_some() {
                p.data_dir = paths.data_dir.clone();
            }
            paths = p;
        }
        let base = paths.clone();
        if opts.demo {
            paths = demo_paths(&base);
        }
        Ok(AppContext {
            opts,
            paths,
            now: chrono::Utc::now(),
            base,
        })
    }

    /// The same options pointed at context `name` (not the demo).
    pub fn for_context(&self, name: &str) -> Result<AppContext, String> {
        let mut c = self.clone();
        let mut from = self.paths.clone();
        if self.opts.demo {
            from.data_dir = self.base.data_dir.clone();
        }
        c.paths = from.for_context(name)?;
        c.base = c.paths.clone();
        c.opts.context = Some(name.to_string());
        c.opts.demo = false;
        c.now = chrono::Utc::now();
        Ok(c)
    }

    /// The same options on the embedded demo.
    pub fn demo(&self) -> AppContext {
        let mut c = self.clone();
        if !self.opts.demo {
            c.base = self.paths.clone();
            c.paths = demo_paths(&self.paths);
        }
        c.opts.demo = true;
        c.now = chrono::Utc::now();
        c
    }

    /// The config; a missing file (not explicitly named) is an empty config.
    pub fn config(&self) -> Result<Config, String> {
        if !self.paths.config_exists() && !self.paths.config_explicit {
            return Ok(Config::default());
        }
        config::load(&self.paths.config).map_err(|e| e.to_string())
    }

    /// The installation's audit signing key (loaded on the first record),
    /// from `[audit] signing_key` or the OS keyring; public keys go to
    /// `<config dir>/audit-keys/`.
    /// The demo signs with [`demo_signer`] and touches no key store.
    pub fn signer(&self, cfg: &Config) -> crate::audit::Signer {
        if self.opts.demo {
            return demo_signer();
        }
        crate::audit::Signer::installation(
            crate::audit::KeySource::from_config(cfg.audit.signing_key.as_ref()),
            &self.paths.config_dir,
        )
    }

    /// The keys `audit verify` trusts: `<config dir>/audit-keys/*.pub`;
    /// with `--demo`, the demo's key alone.
    pub fn trusted_keys(&self) -> Result<crate::audit::TrustedKeys, String> {
        if self.opts.demo {
            let signer = demo_signer();
            let key = signer.key()?;
            return Ok(crate::audit::TrustedKeys::new().with(key.key.id()));
        }
        crate::audit::keys::installation_trust(&self.paths.config_dir)
    }

    /// The providers: the demo or the configured ones.
    pub fn registry(&self) -> Result<(Registry, Config), String> {
        if self.opts.demo {
            let d = crate::sim::demo::start(self.now)?;
            return Ok((d.registry, d.config));
        }
        if !self.paths.config_exists() {
            return Err(format!(
                "no config at {} (write one with `sitrep config init`, or try `sitrep --demo`)",
                self.paths.config.display()
            ));
        }
        let cfg = self.config()?;
        let reg = Registry::from_config(&cfg, &crate::secrets::SystemSecrets);
        Ok((reg, cfg))
    }

    /// The offline cache (none for the demo: it never writes real state).
    pub fn cache(&self) -> Option<Cache> {
        (!self.opts.demo).then(|| Cache::new(&self.paths.data_dir))
    }

    pub async fn load_store(&self) -> Result<(Store, Config), String> {
        let (store, cfg, cache) = self.load_store_unsaved().await?;
        if let Some(c) = &cache {
            store.save_fresh(c);
        }
        Ok((store, cfg))
    }

    /// [`AppContext::load_store`] with the cache not yet written: the
    /// caller passes the returned cache to [`Store::save_fresh`].
    pub async fn load_store_unsaved(&self) -> Result<(Store, Config, Option<Cache>), String> {
        let (reg, cfg) = self.registry()?;
        let cache = self.cache();
        let store = Store::fetch_all_unsaved(&reg, cache.as_ref()).await;
        Ok((store, cfg, cache))
    }

    /// Bundled, local and configured runbooks. A missing config is fine; a
    /// broken one gives a warning, not an error (runbooks must open at 3 AM
    /// whatever state the config is in). Prints nothing.
    pub fn catalog(&self, detail: Detail) -> (Catalog, Option<SafeText>) {
        match self.config() {
            Ok(c) => (self.catalog_for(&c, detail), None),
            Err(e) => (
                Catalog::load_detail(&[], detail),
                Some(SafeText::line(&format!(
                    "config not read, [runbooks] dirs ignored: {e}"
                ))),
            ),
        }
    }

    /// The runbooks of a config already read.
    pub fn catalog_for(&self, config: &Config, detail: Detail) -> Catalog {
        Catalog::load_detail(
            &crate::runbooks::config_dirs(&self.paths.config, &config.runbooks),
            detail,
        )
    }

    /// Everything the console shows for this context, read from disk (the
    /// config, the cache, the runbooks): blocking, run it off the UI loop.
    /// With no config (and none named) the console opens on its first-run
    /// screen instead of failing.
    pub fn load_console(&self) -> Result<Console, String> {
        let first_run =
            (!self.opts.demo && !self.paths.config_exists() && !self.paths.config_explicit)
                .then(|| self.paths.config.clone());
        let (registry, config) = if first_run.is_some() {
            (Registry::default(), Config::default())
        } else {
            self.registry()?
        };
        let cache = self.cache();
        let mut store = Store::new(&registry);
        // The runbooks are parsed on a second thread while the cache is
        // decoded on this one: the two halves of the first frame's wait.
        // The config was read above (or there is none): read it once.
        let catalog = std::thread::scope(|sc| {
            let catalog = sc.spawn(|| self.catalog_for(&config, Detail::Full));
            if let Some(c) = &cache {
                store.load_cache(c);
                store.seed(&registry);
            }
            catalog.join()
        })
        .map_err(|_| "internal: reading the runbooks failed".to_string())?;
        let mut warnings: Vec<String> = store.warnings.clone();
        warnings.extend(config.insecure_http_warnings());
        Ok(Console {
            ctx: self.clone(),
            config,
            registry,
            cache,
            store,
            catalog,
            warnings,
            first_run,
        })
    }
}

/// What one context (or the demo) gives the console: built by
/// [`AppContext::load_console`], handed to the UI loop whole.
pub struct Console {
    pub ctx: AppContext,
    pub config: Config,
    pub registry: Registry,
    pub cache: Option<Cache>,
    /// Warm from the offline cache (stale until the first poll).
    pub store: Store,
    pub catalog: Catalog,
    /// Shown once as toasts (a corrupt cache file, a broken config's
    /// runbook dirs).
    pub warnings: Vec<String>,
    /// No config and none named: the first-run screen, naming the path.
    pub first_run: Option<PathBuf>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("context", &self.ctx.opts.context)
            .field("demo", &self.ctx.opts.demo)
            .field("providers", &self.registry.providers.len())
            .finish_non_exhaustive()
    }
}
