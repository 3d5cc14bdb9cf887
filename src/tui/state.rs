//! Plain data: what the screen shows. No I/O here.

use crate::model::*;
use crate::store::Store;
use crate::theme::Theme;
use crate::tui::keymap::Action;
use std::path::PathBuf;

pub use super::screen::*;

#[derive(Clone, Debug)]
pub struct State {
    /// What is on screen and how: the view, lists, modal, toasts.
    pub ui: UiState,
    /// Caches derived from the data and the UI state, brought up to date
    /// by [`State::refresh`] after every `update`; render only reads them.
    derived: Derived,
    // The data model: what the providers, the audit log and the context
    // say. Changed only by `update` (and `configure`).
    pub store: Store,
    pub snap: Snapshot,
    pub now: Time,
    pub read_only: bool,
    /// Team mode: the team database's status (None: no `[team]`).
    pub team: Option<crate::team::Status>,
    /// Team mode: the incident this console is on, and who else is.
    pub presence: PresenceView,
    pub demo: bool,
    /// No config and no demo: the first-run screen, naming the config path.
    pub first_run: Option<PathBuf>,
    pub theme: Theme,
    pub log_path: PathBuf,
    pub warnings: Vec<String>,
    /// Environments treated as production (the context's config).
    pub production_envs: ProductionEnvs,
    /// The newest audit records (newest first) and the chain's state.
    pub audit: AuditView,
    /// Runbooks: the catalog and the open walk.
    pub runbooks: RunbooksView,
    /// Contexts that exist, and the one in use.
    pub contexts: Vec<String>,
    pub context: Option<String>,
    /// Where contexts live (`<config dir>/contexts`), for the hint when
    /// there are none.
    pub contexts_dir: Option<PathBuf>,
    /// Watches running after a rollback or kill switch.
    pub watches: Vec<crate::watch::Watch>,
    /// Incident details read on demand, rows marked for a bulk ack.
    pub depth: crate::tui::depth::Depth,
    /// Deploy commit ranges read on demand.
    pub commits: crate::tui::deploy_depth::Commits,
}

/// The UI state: where the responder is and what is open.
#[derive(Clone, Debug)]
pub struct UiState {
    pub view: View,
    pub lists: [ListState; View::ALL.len()],
    pub filter_editing: bool,
    pub modal: Option<Modal>,
    pub help: bool,
    pub toasts: Vec<Toast>,
    pub size: (u16, u16),
    pub quit: bool,
    pub spinner: usize,
    /// A side panel with details is open in list views.
    pub show_details: bool,
    /// Palette commands run, oldest first (shown first when the query is empty).
    pub palette_history: Vec<String>,
    /// Where the action being planned comes from (a runbook step, an
    /// incident), recorded with it in the audit log.
    pub action_ctx: ActionCtx,
    /// The view a runbook walk was opened from (Esc returns there).
    pub walk_from: Option<View>,
    /// The feasibility check of the action whose reason is being typed.
    pub probe: Option<Probe>,
    /// Where the SLO details have room for one chart only: the budget
    /// burndown instead of the burn history (`c` switches).
    pub slo_budget_chart: bool,
}

/// Caches derived from the data (see [`State::refresh`]).
#[derive(Clone, Debug, Default)]
struct Derived {
    /// Bumped by `rebuild` (a new snapshot): keys the filtered-row cache.
    generation: u64,
    /// Filtered incident rows (Dashboard, Incidents), refreshed when the
    /// snapshot or the filter changed (a frame reads them several times).
    incident_rows: [Option<FilteredIncidents>; 2],
    /// What changed (last 12 h), newest first, suspects marked: built while
    /// the Timeline view or the dashboard (which marks suspects) is shown.
    timeline: Option<Vec<crate::timeline::Event>>,
    /// The timeline's suspects by what they name (built with it).
    suspects: Suspects,
}

/// The suspect changes (a production deploy or flag flip shortly before an
/// incident on the same service), keyed so the dashboard marks them where
/// they show: a deploy by `provider/id`, a flag by key, an incident by id
/// (with the reasons of the changes suspected for it).
#[derive(Clone, Debug, Default)]
pub struct Suspects {
    pub deploys: std::collections::HashMap<String, String>,
    pub flags: std::collections::HashMap<String, String>,
    pub incidents: std::collections::HashMap<String, Vec<String>>,
}

impl Suspects {
    fn of(events: &[crate::timeline::Event], audit: &[crate::audit::Record]) -> Suspects {
        use crate::timeline::EventKind;
        let mut out = Suspects::default();
        for e in events {
            let Some(s) = &e.suspect else { continue };
            let why = s.reason.to_string();
            let r = e.reference.as_ref().map(|r| r.as_str()).unwrap_or("");
            match e.kind {
                EventKind::Deploy => {
                    out.deploys.insert(r.to_string(), why.clone());
                }
                EventKind::Flag => {
                    // A flip sitrep made is `audit#seq`: its target is the key.
                    let key = match r.strip_prefix("audit#") {
                        Some(seq) => audit
                            .iter()
                            .find(|a| a.seq.to_string() == seq)
                            .map(|a| a.target.clone()),
                        None => r.split_once('/').map(|(_, k)| k.to_string()),
                    };
                    if let Some(k) = key {
                        out.flags.insert(k, why.clone());
                    }
                }
                _ => {}
            }
            if let Some(i) = &s.incident {
                let what = format!("{why}: {}", e.summary);
                out.incidents.entry(i.to_string()).or_default().push(what);
            }
        }
        out
    }
}

/// The open incidents a list shows: indices into `snap.incidents`, and how
/// many of them are unacknowledged.
#[derive(Clone, Debug)]
pub struct FilteredIncidents {
    generation: u64,
    /// The filter and sort it was computed for (`selected` left at 0).
    list: ListState,
    pub rows: std::sync::Arc<[usize]>,
    pub unacked: usize,
}

#[derive(Clone, Debug, Default)]
pub struct RunbooksView {
    pub catalog: std::sync::Arc<crate::runbooks::Catalog>,
    /// The runbook being walked (one step at a time).
    pub walk: Option<Box<crate::runbooks::walk::Walk>>,
    /// Shell blocks may run (`[runbooks] allow_exec = true`).
    pub allow_exec: bool,
    /// Where walk progress is kept.
    pub data_dir: PathBuf,
    /// `[[service]]` mappings, for linking incidents to runbooks.
    pub services: Vec<crate::config::ServiceConfig>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditView {
    pub records: Vec<crate::audit::Record>,
    /// "verified: N records, head …" or the first broken line.
    pub chain: Option<Result<String, String>>,
    /// Lines that could not be read.
    pub unreadable: usize,
    pub loaded: bool,
}

/// Team mode: presence on the incident in view (docs/TEAM.md).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PresenceView {
    /// The incident this console shows (its presence row says so).
    pub focus: Option<String>,
    /// The other consoles on `focus` (read with their names sanitized).
    pub others: Vec<crate::team::Presence>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionCtx {
    pub incident: Option<String>,
    pub runbook: Option<crate::audit::RunbookRef>,
}

impl State {
    pub fn new(store: Store, theme: Theme, now: Time) -> State {
        // `rebuild` below makes the snapshot (once).
        let snap = Snapshot::default();
        let mut s = State {
            ui: UiState {
                view: View::Dashboard,
                lists: Default::default(),
                filter_editing: false,
                modal: None,
                help: false,
                toasts: Vec::new(),
                size: (160, 45),
                quit: false,
                spinner: 0,
                show_details: true,
                palette_history: Vec::new(),
                action_ctx: ActionCtx::default(),
                probe: None,
                walk_from: None,
                slo_budget_chart: false,
            },
            derived: Derived::default(),
            store,
            snap,
            now,
            read_only: false,
            team: None,
            presence: PresenceView::default(),
            demo: false,
            first_run: None,
            theme,
            log_path: PathBuf::from("sitrep.log"),
            warnings: Vec::new(),
            production_envs: ProductionEnvs::default(),
            audit: AuditView::default(),
            runbooks: RunbooksView::default(),
            contexts: Vec::new(),
            context: None,
            contexts_dir: None,
            watches: Vec::new(),
            depth: Default::default(),
            commits: Default::default(),
        };
        s.rebuild();
        s
    }

    /// Point the console at a context (at start, on `:ctx NAME`, and when
    /// the first-run screen opens the demo): its providers' store (warm
    /// from its cache), runbooks, production environments and flags. The
    /// one place that configures the state from an application context:
    /// nothing of the previous context survives (its walk, audit records
    /// and watches belong to it).
    pub fn configure(&mut self, console: &mut crate::app::Console) {
        let ctx = &console.ctx;
        self.store = std::mem::take(&mut console.store);
        self.demo = ctx.opts.demo;
        self.read_only = ctx.opts.read_only;
        self.first_run = console.first_run.clone();
        self.log_path = ctx.paths.log_file();
        self.production_envs = console.config.production_envs();
        self.runbooks = RunbooksView {
            catalog: std::sync::Arc::new(std::mem::take(&mut console.catalog)),
            walk: None,
            allow_exec: console.config.runbooks.allow_exec,
            data_dir: ctx.paths.data_dir.clone(),
            services: console.config.service.clone(),
        };
        self.audit = AuditView::default();
        self.presence = PresenceView::default();
        self.watches.clear();
        self.ui.action_ctx = ActionCtx::default();
        self.contexts = ctx.paths.contexts();
        self.context = ctx.paths.context.clone();
        self.contexts_dir = Some(ctx.paths.config_dir.join("contexts"));
        self.rebuild();
        for w in std::mem::take(&mut console.warnings) {
            self.toast(ToastKind::Error, w);
        }
    }

    pub fn is_production(&self, env: &str) -> bool {
        self.production_envs.contains(env)
    }

    pub fn rebuild(&mut self) {
        self.snap = self.store.snapshot(self.now);
        self.derived.generation = self.derived.generation.wrapping_add(1);
        crate::runbooks::link_incidents(
            &mut self.snap.incidents,
            &self.runbooks.services,
            &self.runbooks.catalog.runbooks,
        );
        self.derived.timeline = None;
        self.refresh();
        for v in View::ALL {
            // The timeline's selection is kept in range while it is on
            // screen (`refresh`): counting its rows needs it built.
            if v != View::Timeline || self.ui.view == View::Timeline {
                self.clamp_selection(v);
            }
        }
    }

    /// Bring the derived caches up to date (after every `update`): the
    /// filtered incident rows, and the timeline while its view is shown.
    /// Rendering only reads them.
    pub fn refresh(&mut self) {
        for (slot, v) in [View::Dashboard, View::Incidents].into_iter().enumerate() {
            let fresh = self.derived.incident_rows[slot].as_ref().is_some_and(|c| {
                c.generation == self.derived.generation && c.list.same_rows(self.list(v))
            });
            if !fresh {
                self.derived.incident_rows[slot] = Some(self.compute_incidents(v));
            }
        }
        if matches!(
            self.ui.view,
            View::Timeline | View::Dashboard | View::Deploys
        ) && self.derived.timeline.is_none()
        {
            let opts = crate::timeline::Options::new(
                self.now,
                self.now - chrono::Duration::hours(crate::timeline::DEFAULT_SINCE_HOURS),
            )
            .with_production(self.production_envs.clone());
            let events = crate::timeline::build(&self.snap, &self.audit.records, &opts);
            self.derived.suspects = Suspects::of(&events, &self.audit.records);
            self.derived.timeline = Some(events);
        }
        if self.ui.view == View::Timeline {
            self.clamp_selection(View::Timeline);
        }
    }

    /// Keep `v`'s selection within its rows.
    pub fn clamp_selection(&mut self, v: View) {
        let n = self.len(v);
        let l = &mut self.ui.lists[v.index()];
        if n == 0 {
            l.selected = 0;
        } else if l.selected >= n {
            l.selected = n - 1;
        }
    }

    pub fn list(&self, v: View) -> &ListState {
        &self.ui.lists[v.index()]
    }

    pub fn list_mut(&mut self, v: View) -> &mut ListState {
        &mut self.ui.lists[v.index()]
    }

    fn filter(&self, v: View) -> String {
        self.list(v).filter.to_lowercase()
    }

    /// Open incidents (filtered) in display order: indices into
    /// `snap.incidents`, computed once per snapshot and filter.
    pub fn filtered_incidents(&self, v: View) -> FilteredIncidents {
        let slot = usize::from(v != View::Dashboard);
        if let Some(c) = &self.derived.incident_rows[slot]
            && c.generation == self.derived.generation
            && c.list.same_rows(self.list(v))
        {
            return c.clone();
        }
        // Not refreshed yet (a state changed outside `update`): computed,
        // not stored.
        self.compute_incidents(v)
    }

    fn compute_incidents(&self, v: View) -> FilteredIncidents {
        let filter = &self.list(v).filter;
        let q = filter.to_lowercase();
        let rows: std::sync::Arc<[usize]> = self
            .snap
            .incidents
            .iter()
            .enumerate()
            .filter(|(_, i)| i.status.is_open())
            .filter(|(_, i)| {
                q.is_empty()
                    || [
                        i.title.as_str(),
                        i.id.as_str(),
                        i.provider.as_str(),
                        i.severity.label(),
                        i.status.label(),
                    ]
                    .iter()
                    .chain(i.service.as_ref().map(|s| s.as_str()).iter())
                    .chain(i.assignee.as_ref().map(|s| s.as_str()).iter())
                    .any(|f| f.to_lowercase().contains(&q))
            })
            .map(|(n, _)| n)
            .collect();
        let mut rows = rows;
        if let Some(r) = std::sync::Arc::get_mut(&mut rows) {
            super::sort::incidents(r, &self.snap.incidents, self.list(v));
        }
        let unacked = rows
            .iter()
            .filter(|&&n| self.snap.incidents[n].status.is_unacked())
            .count();
        FilteredIncidents {
            generation: self.derived.generation,
            list: ListState {
                selected: 0,
                ..self.list(v).clone()
            },
            rows,
            unacked,
        }
    }

    /// Open incidents (filtered) in display order.
    pub fn incidents(&self, v: View) -> Vec<&Incident> {
        self.filtered_incidents(v)
            .rows
            .iter()
            .filter_map(|&n| self.snap.incidents.get(n))
            .collect()
    }

    /// The `n`th incident a list shows.
    pub fn incident_at(&self, v: View, n: usize) -> Option<&Incident> {
        let f = self.filtered_incidents(v);
        f.rows.get(n).and_then(|&i| self.snap.incidents.get(i))
    }

    pub fn slos(&self) -> Vec<&Slo> {
        let q = self.filter(View::Slos);
        let mut v: Vec<&Slo> = self
            .snap
            .slos
            .iter()
            .filter(|s| {
                q.is_empty()
                    || s.name.as_str().to_lowercase().contains(&q)
                    || s.service
                        .as_ref()
                        .is_some_and(|x| x.as_str().to_lowercase().contains(&q))
            })
            .collect();
        super::sort::slos(&mut v, self.list(View::Slos));
        v
    }

    /// Deploys grouped by service and environment, newest first in a group.
    pub fn deploys(&self) -> Vec<&Deploy> {
        let q = self.filter(View::Deploys);
        let mut v: Vec<&Deploy> = self
            .snap
            .deploys
            .iter()
            .filter(|d| {
                q.is_empty()
                    || [
                        d.service.as_str(),
                        d.environment.as_str(),
                        d.git_ref.as_str(),
                        d.sha.as_str(),
                        d.state.label(),
                    ]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&q))
            })
            .collect();
        crate::order::sort_by(&mut v, |a, b| {
            a.service
                .cmp(&b.service)
                .then(a.environment.cmp(&b.environment))
                .then(b.created_at.cmp(&a.created_at))
        });
        v
    }

    pub fn flags(&self) -> Vec<&Flag> {
        let q = self.list(View::Flags).filter.clone();
        let mut v: Vec<&Flag> = self
            .snap
            .flags
            .iter()
            .filter(|f| q.is_empty() || f.matches(&q))
            .collect();
        super::sort::flags(&mut v, self.list(View::Flags));
        v
    }

    /// Number of rows in a view's list.
    pub fn len(&self, v: View) -> usize {
        match v {
            View::Dashboard | View::Incidents => self.filtered_incidents(v).rows.len(),
            View::Slos => self.slos().len(),
            View::Deploys => self.deploys().len(),
            View::Flags => self.flags().len(),
            View::Audit => self.audit_rows().len(),
            View::Runbooks => self.runbook_rows().len(),
            View::Timeline => self.timeline_rows().len(),
            View::Providers => self.store.slots.len(),
            View::Silences => self.silences().len(),
        }
    }

    /// The provider selected in the Providers view.
    pub fn selected_slot(&self) -> Option<&crate::store::Slot> {
        self.store.slots.get(self.list(View::Providers).selected)
    }

    /// What an empty pane of `what` says: "no data" naming the providers
    /// of that kind that failed (their reasons are one key away, `9`), or
    /// `otherwise` when none failed.
    pub fn empty_reason(&self, what: Supplies, otherwise: &str) -> String {
        let failed: Vec<&str> = self
            .store
            .slots
            .iter()
            .filter(|s| s.error.is_some() && what.by_kind(&s.kind))
            .map(|s| s.name.as_str())
            .collect();
        if failed.is_empty() {
            otherwise.to_string()
        } else {
            format!(
                "no data: {} failed (9 shows why)",
                crate::text::SafeText::line(&failed.join(", "))
            )
        }
    }

    /// Runbooks shown: all by id, or fuzzy-matched by the filter (title,
    /// id, tags, services), best first.
    pub fn runbook_rows(&self) -> Vec<&crate::runbooks::Runbook> {
        let rbs = &self.runbooks.catalog.runbooks;
        let q = &self.list(View::Runbooks).filter;
        if q.trim().is_empty() {
            return rbs.iter().collect();
        }
        crate::runbooks::search(q, rbs)
            .into_iter()
            .filter_map(|(i, _)| rbs.get(i))
            .collect()
    }

    pub fn selected_runbook(&self) -> Option<&crate::runbooks::Runbook> {
        self.runbook_rows()
            .get(self.list(View::Runbooks).selected)
            .copied()
    }

    /// What changed in the last 12 h, newest first, suspects marked (built
    /// from the snapshot and the audit log by `refresh` while the Timeline
    /// view is shown; empty before).
    /// The suspect changes, for the dashboard (empty until it was shown).
    pub fn suspects(&self) -> &Suspects {
        &self.derived.suspects
    }

    pub fn timeline(&self) -> &[crate::timeline::Event] {
        self.derived.timeline.as_deref().unwrap_or(&[])
    }

    #[cfg(test)]
    pub fn timeline_built(&self) -> bool {
        self.derived.timeline.is_some()
    }

    /// Timeline events shown (filtered).
    pub fn timeline_rows(&self) -> Vec<&crate::timeline::Event> {
        let q = self.filter(View::Timeline);
        self.timeline()
            .iter()
            .filter(|e| {
                q.is_empty()
                    || e.summary.as_str().to_lowercase().contains(&q)
                    || e.service
                        .as_ref()
                        .is_some_and(|s| s.as_str().to_lowercase().contains(&q))
                    || e.kind.label().contains(&q)
                    || (q == "suspect" && e.suspect.is_some())
            })
            .collect()
    }

    /// Audit records shown (filtered).
    pub fn audit_rows(&self) -> Vec<&crate::audit::Record> {
        let q = self.filter(View::Audit);
        self.audit
            .records
            .iter()
            .filter(|r| {
                q.is_empty()
                    || [
                        r.action.as_str(),
                        r.target.as_str(),
                        r.actor.as_str(),
                        r.reason.as_str(),
                        r.outcome.as_str(),
                        r.provider.as_deref().unwrap_or(""),
                    ]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&q))
            })
            .collect()
    }

    pub fn selected_incident(&self) -> Option<&Incident> {
        let v = if self.ui.view == View::Dashboard {
            View::Dashboard
        } else {
            View::Incidents
        };
        self.incident_at(v, self.list(v).selected)
    }

    /// Why `action` cannot be done on incident `i` by the provider that
    /// owns it, with what to do instead; `None` when it can.
    pub fn incident_refusal(&self, i: &Incident, action: Action) -> Option<&str> {
        let slot = self
            .store
            .slots
            .iter()
            .find(|s| s.name == i.provider.as_str())?;
        let a = &slot.actions;
        match action {
            Action::Ack => a.ack.as_deref(),
            Action::Resolve => a.resolve.as_deref(),
            Action::Note => a.note.as_deref(),
            Action::Silence => a.silence.as_deref(),
            _ => None,
        }
    }

    /// Whether the footer and palette offer `action` for what is selected
    /// (incident actions the owning provider cannot do are not offered).
    pub fn offers(&self, action: Action) -> bool {
        match action {
            Action::Ack | Action::Resolve | Action::Note | Action::Silence => self
                .selected_incident()
                .is_none_or(|i| self.incident_refusal(i, action).is_none()),
            // Only an active or pending silence its provider can expire.
            Action::Expire => self
                .selected_silence()
                .is_none_or(|s| self.expire_refusal(s).is_none()),
            _ => true,
        }
    }

    pub fn selected_deploy(&self) -> Option<&Deploy> {
        self.deploys()
            .get(self.list(View::Deploys).selected)
            .copied()
    }

    pub fn selected_flag(&self) -> Option<&Flag> {
        self.flags().get(self.list(View::Flags).selected).copied()
    }

    pub fn selected_slo(&self) -> Option<&Slo> {
        self.slos().get(self.list(View::Slos).selected).copied()
    }

    /// Age of the oldest data on screen and whether anything is in flight:
    /// the clock ticks only while an age is shown.
    pub fn needs_clock(&self) -> bool {
        self.first_run.is_none()
    }

    /// "All clear" only when every provider answered: otherwise say who
    /// is failing, so silence from a dead provider never reads as calm.
    pub fn empty_incidents_message(&self) -> (String, bool) {
        let failing: Vec<&str> = self
            .store
            .slots
            .iter()
            .filter(|s| s.error.is_some() || s.fetched_at.is_none())
            .filter(|s| Supplies::Incidents.by_kind(&s.kind))
            .map(|s| s.name.as_str())
            .collect();
        if self.store.slots.is_empty() {
            ("no providers configured".into(), false)
        } else if !self
            .store
            .slots
            .iter()
            .any(|s| Supplies::Incidents.by_kind(&s.kind))
        {
            ("no incident provider configured".into(), false)
        } else if failing.is_empty() {
            ("all clear: no open incidents".into(), true)
        } else {
            (
                format!(
                    "no incidents known, but not all clear: no data from {} (9 shows why)",
                    failing.join(", ")
                ),
                false,
            )
        }
    }

    /// Is any age on screen still counted in seconds (under a minute)?
    /// Only then does the clock redraw every second.
    pub fn shows_seconds(&self) -> bool {
        let recent = |t: Time| (self.now - t).num_seconds() < 60;
        !self.ui.toasts.is_empty()
            || self
                .store
                .slots
                .iter()
                .any(|s| (s.error.is_some() || s.stale) && s.fetched_at.is_some_and(recent))
            || self
                .snap
                .incidents
                .iter()
                .any(|i| i.status.is_open() && recent(i.created_at))
            || self.snap.deploys.iter().any(|d| recent(d.created_at))
            || self
                .snap
                .flags
                .iter()
                .any(|f| f.updated_at.is_some_and(recent))
    }

    pub fn any_in_flight(&self) -> bool {
        self.store.slots.iter().any(|s| s.in_flight)
    }

    /// Show a message for a few seconds. The same message again restarts
    /// its time instead of stacking a copy.
    pub fn toast(&mut self, kind: ToastKind, text: impl Into<String>) {
        let text = text.into();
        self.ui.toasts.retain(|t| t.kind != kind || t.text != text);
        self.ui.toasts.push(Toast {
            kind,
            text,
            at: self.now,
        });
        if self.ui.toasts.len() > 4 {
            self.ui.toasts.remove(0);
        }
    }

    /// The SLO line for a service (worst first), for the rollback modal.
    pub fn burn_for(&self, service: &str) -> Option<String> {
        let s = self
            .snap
            .slos
            .iter()
            .filter(|s| s.service.as_ref().map(|x| x.as_str()) == Some(service))
            .max_by(|a, b| {
                a.burn_rates
                    .h1
                    .unwrap_or(0.0)
                    .total_cmp(&b.burn_rates.h1.unwrap_or(0.0))
            })?;
        Some(format!(
            "{}: 1h burn {}, budget left {}{}",
            s.name,
            crate::util::burn(s.burn_rates.h1),
            crate::util::share(s.error_budget_remaining),
            if s.gate == Gate::Frozen {
                ", deploy gate FROZEN"
            } else {
                ""
            }
        ))
    }
}

/// The demo console at a fixed time, as tests and benchmarks see it: every
/// provider fetched at `now`.
pub async fn demo_state(now: Time) -> State {
    let (reg, services) = match crate::sim::demo::start(now) {
        Ok(d) => (d.registry, d.config.service),
        Err(_) => (crate::providers::Registry::demo(now), Vec::new()),
    };
    let mut store = Store::fetch_all(&reg, None).await;
    for s in &mut store.slots {
        s.fetched_at = Some(now);
    }
    let mut s = State::new(store, Theme::default_theme(), now);
    s.runbooks.services = services;
    s.runbooks.catalog = std::sync::Arc::new(crate::runbooks::Catalog::bundled());
    s.rebuild();
    s.demo = true;
    s.log_path = PathBuf::from("/home/oncall/.local/share/sitrep/sitrep.log");
    s
}
