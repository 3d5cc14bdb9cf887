//! The latest known data of every provider, with its health. Both the CLI
//! (one round of fetches) and the TUI (continuous polling) feed it; it turns
//! into the aggregated `Snapshot`.

use crate::cache::Cache;
use crate::model::{Fetched, ProviderStatus, Snapshot, Time};
use crate::providers::poller::{PollEvent, fetch_bounded};
use crate::providers::{ProviderError, Registry};
use crate::text::SafeText;

#[derive(Debug, Clone)]
pub struct Slot {
    pub name: String,
    pub kind: String,
    pub data: Fetched,
    /// When `data` was fetched (from the network or, if stale, the cache).
    pub fetched_at: Option<Time>,
    /// `data` came from the offline cache.
    pub stale: bool,
    pub error: Option<ProviderError>,
    pub in_flight: bool,
    /// When the last fetch (success or failure) ended.
    pub attempted_at: Option<Time>,
    /// Fetches that failed in a row (0 after a success).
    pub failures: u32,
    /// The provider's poll interval (the next try is after it, stretched
    /// by [`crate::providers::poller::backoff`] while failing).
    pub poll: std::time::Duration,
    /// Which incident actions this provider can carry out (and why not).
    pub actions: crate::actions::IncidentActions,
    /// Whether it reads an incident's history and notes on demand.
    pub details: bool,
    /// Whether it reads a deploy's commit range on demand.
    pub commits: bool,
    /// When the data in its cache file was fetched and the file's digest
    /// ([`Cache::load_then_digest`]), when the file was read before this
    /// fetch (for the seed): a fresh fetch that would write the same file
    /// but for its time, within one poll interval of that time, leaves
    /// the file as it is ([`Store::save_fresh`]).
    pub on_disk: Option<(Time, crate::cache::Digest)>,
}

impl Slot {
    /// About when the poller tries again (±20 % jitter), if it has tried.
    pub fn next_try(&self) -> Option<Time> {
        let wait = crate::providers::poller::backoff(self.poll, self.failures);
        Some(self.attempted_at? + chrono::Duration::from_std(wait).ok()?)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Store {
    pub slots: Vec<Slot>,
    /// Warnings about the cache (corrupt files...), shown once.
    pub warnings: Vec<String>,
}

impl Store {
    pub fn new(registry: &Registry) -> Self {
        Store {
            slots: registry
                .providers
                .iter()
                .map(|p| Slot {
                    name: p.name().to_string(),
                    kind: p.kind().as_str().to_string(),
                    data: Fetched::default(),
                    fetched_at: None,
                    stale: false,
                    error: None,
                    in_flight: false,
                    attempted_at: None,
                    failures: 0,
                    poll: p.poll_interval(),
                    actions: crate::actions::IncidentActions::of(p.as_ref()),
                    details: p.has_details(),
                    commits: p.has_commits(),
                    on_disk: None,
                })
                .collect(),
            warnings: Vec::new(),
        }
    }

    /// Offer each provider its cached data before its first fetch
    /// ([`crate::providers::Provider::seed`]).
    pub fn seed(&self, registry: &Registry) {
        for p in &registry.providers {
            if let Some(s) = self
                .slots
                .iter()
                .find(|s| s.name == p.name() && s.fetched_at.is_some())
            {
                p.seed(&s.data);
            }
        }
    }

    /// Fill every slot from the cache, marked stale.
    pub fn load_cache(&mut self, cache: &Cache) {
        self.load_cache_where(cache, |_| true);
    }

    /// Fill the slots `which` selects from the cache, marked stale.
    pub fn load_cache_where(&mut self, cache: &Cache, which: impl Fn(&Slot) -> bool) {
        for s in self.slots.iter_mut().filter(|s| which(s)) {
            match cache.load(&s.name, &s.kind) {
                Ok(Some(c)) => {
                    s.data = c.data;
                    s.fetched_at = Some(c.fetched_at);
                    s.stale = true;
                }
                Ok(None) => {}
                // Said once, though a seeded provider that failed reads
                // its cache twice.
                Err(w) if self.warnings.contains(&w) => {}
                Err(w) => {
                    tracing::warn!("{w}");
                    self.warnings.push(w);
                }
            }
        }
    }

    fn slot_mut(&mut self, name: &str) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.name == name)
    }

    /// Apply a poll event. Returns true when the data changed.
    pub fn apply(&mut self, ev: PollEvent, cache: Option<&Cache>) -> bool {
        match ev {
            PollEvent::Started { provider } => {
                if let Some(s) = self.slot_mut(&provider) {
                    s.in_flight = true;
                }
                false
            }
            PollEvent::Done {
                provider,
                at,
                result,
            } => {
                let Some(s) = self.slot_mut(&provider) else {
                    return false;
                };
                s.in_flight = false;
                s.attempted_at = Some(at);
                match result {
                    Ok(data) => {
                        if let Some(c) = cache
                            && let Err(e) = c.store(&s.name, &s.kind, at, &data)
                        {
                            tracing::warn!("cache write for {} failed: {e}", s.name);
                        }
                        let changed = s.data != data || s.stale || s.error.is_some();
                        s.data = data;
                        s.fetched_at = Some(at);
                        s.stale = false;
                        s.error = None;
                        s.failures = 0;
                        changed
                    }
                    Err(e) => {
                        tracing::warn!("{e}");
                        // Keep the last data; it is now older than the error.
                        let changed = s.error.as_ref() != Some(&e);
                        s.error = Some(e);
                        s.failures = s.failures.saturating_add(1);
                        changed
                    }
                }
            }
        }
    }

    pub fn statuses(&self) -> Vec<ProviderStatus> {
        self.slots
            .iter()
            .map(|s| ProviderStatus {
                name: SafeText::line(&s.name),
                kind: s.kind.clone(),
                ok: s.error.is_none() && s.fetched_at.is_some() && !s.stale,
                error: s.error.as_ref().map(|e| SafeText::line(&e.to_string())),
                fetched_at: s.fetched_at,
                stale: s.stale,
            })
            .collect()
    }

    pub fn snapshot(&self, now: Time) -> Snapshot {
        Snapshot::assemble(now, self.statuses(), self.slots.iter().map(|s| &s.data))
    }

    /// Write every provider's freshly fetched data (not stale, no error)
    /// to the cache. A failed write is logged: the fetch itself stands.
    /// Data equal to what the file already holds, written less than one
    /// poll interval before, is not written again (`sitrep deploys` run
    /// again and again: the file's time is then at most one interval
    /// older than the data's, as the console's own view is between polls).
    pub fn save_fresh(&self, cache: &Cache) {
        for s in &self.slots {
            let Some(at) = s.fetched_at.filter(|_| !s.stale && s.error.is_none()) else {
                continue;
            };
            let unchanged = s.on_disk.as_ref().is_some_and(|(then, digest)| {
                chrono::Duration::from_std(s.poll).is_ok_and(|poll| at - *then < poll)
                    && Cache::digest(&s.name, &s.kind, *then, &s.data).as_ref() == Some(digest)
            });
            if unchanged {
                continue;
            }
            if let Err(e) = cache.store(&s.name, &s.kind, at, &s.data) {
                tracing::warn!("cache write for {} failed: {e}", s.name);
            }
        }
    }

    pub fn any_failed(&self) -> bool {
        self.slots.iter().any(|s| s.error.is_some())
    }

    /// Fetch every provider once, concurrently (the CLI path). Failed
    /// providers keep their cached data, marked stale.
    pub async fn fetch_all(registry: &Registry, cache: Option<&Cache>) -> Store {
        let store = Self::fetch_all_unsaved(registry, cache).await;
        if let Some(c) = cache {
            store.save_fresh(c);
        }
        store
    }

    /// [`Store::fetch_all`] without writing the fresh data to the cache:
    /// the caller writes it with [`Store::save_fresh`] (the CLI does, on a
    /// thread of its own while the output is formatted).
    pub async fn fetch_all_unsaved(registry: &Registry, cache: Option<&Cache>) -> Store {
        let mut store = Store::new(registry);
        // Providers that use what they returned last time get their cache
        // read on a thread of its own while their first requests are out
        // ([`crate::providers::Provider::seed_later`]); the others read it
        // only if their fetch fails (stale data beats none). A fresh fetch
        // replaces it anyway.
        let mut seeds = Vec::new();
        if let Some(c) = cache {
            for p in registry.providers.iter().filter(|p| p.wants_seed()) {
                let (tx, rx) = tokio::sync::oneshot::channel();
                p.seed_later(rx);
                let (c, name, kind) = (c.clone(), p.name().to_string(), p.kind().as_str());
                // The data goes to the provider first; the file is hashed
                // after, while the provider uses it.
                seeds.push(crate::spawn::blocking(move || {
                    let read = c.load_then_digest(&name, kind, |cached| {
                        let _ = tx.send(cached.data);
                    });
                    read.map(|r| r.map(|(at, digest)| (name, at, digest)))
                }));
            }
        }
        let futs = registry.providers.iter().map(|p| async move {
            let r = fetch_bounded(p.as_ref()).await;
            (p.name().to_string(), chrono::Utc::now(), r)
        });
        let (done, seeds) = futures::join!(
            futures::future::join_all(futs),
            futures::future::join_all(seeds)
        );
        for seed in seeds.into_iter().flatten() {
            match seed {
                Ok(Some((name, at, digest))) => {
                    if let Some(s) = store.slot_mut(&name) {
                        s.on_disk = Some((at, digest));
                    }
                }
                Ok(None) => {}
                Err(w) => {
                    tracing::warn!("{w}");
                    store.warnings.push(w);
                }
            }
        }
        for (provider, at, result) in done {
            store.apply(
                PollEvent::Done {
                    provider,
                    at,
                    result,
                },
                None,
            );
        }
        if let Some(c) = cache {
            store.load_cache_where(c, |s| s.error.is_some() && s.fetched_at.is_none());
        }
        store
    }
}
