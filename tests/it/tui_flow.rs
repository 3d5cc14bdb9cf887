//! The console loop driven in-process with an injected key stream and a
//! hung provider: keys still answer and the header names the failing
//! provider, while the other providers' data is on screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::config::ProviderKind;
use sitrep::model::Fetched;
use sitrep::providers::{BoxFut, Provider, ProviderError, Registry};
use sitrep::store::Store;
use sitrep::tui::app::Tui;
use sitrep::tui::state::State;
use sitrep::tui::update::Msg;
use std::sync::Arc;
use std::time::Duration;

/// Accepts the request and never answers.
struct Hung;

impl Provider for Hung {
    fn name(&self) -> &str {
        "hung"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Pagerduty
    }
    fn fetch_deadline(&self) -> Duration {
        Duration::from_secs(2)
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(std::future::pending())
    }
}

/// The demo context in `dir`, with the test's changes to its providers.
fn demo_console(dir: &std::path::Path, edit: impl FnOnce(&mut Registry)) -> sitrep::app::Console {
    let ctx = sitrep::app::AppContext::new(sitrep::app::Options {
        demo: true,
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let mut console = ctx.load_console().unwrap();
    edit(&mut console.registry);
    console.store = Store::new(&console.registry);
    console
}

fn blank_state() -> State {
    State::new(
        Store::default(),
        sitrep::theme::Theme::default_theme(),
        chrono::Utc::now(),
    )
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn text(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn keys_answer_while_a_provider_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let console = demo_console(dir.path(), |r| r.providers.insert(0, Arc::new(Hung)));
    // Switch to incidents at once, wait past the hung provider's deadline,
    // then open help.
    let script = futures::stream::iter(vec![
        (Duration::ZERO, key('2')),
        (Duration::from_secs(3), key('?')),
    ])
    .then(|(d, m)| async move {
        tokio::time::sleep(d).await;
        m
    });
    let term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut tui = Tui::new(term, blank_state(), console);
    tui.run(Box::pin(script)).await.unwrap();
    let (screen, state) = (text(tui.terminal()), tui.state());
    assert!(screen.contains("Help"), "help did not open:\n{screen}");
    let hung = state.store.slots.iter().find(|s| s.name == "hung").unwrap();
    let err = hung.error.as_ref().expect("hung provider must be failing");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        screen.contains("hung✗"),
        "header must show the failing provider:\n{screen}"
    );
    // The other providers' data arrived.
    assert!(
        state
            .snap
            .incidents
            .iter()
            .any(|i| i.provider.as_str() == "pd")
    );
    assert!(!state.snap.slos.is_empty());
}

/// Walk a runbook in the console: tick an item and run its action block.
/// Both land in the audit log with the runbook id and step; the flag
/// really flips in the (demo) provider.
#[tokio::test(start_paused = true)]
async fn walk_mode_ticks_and_actions_are_audited_with_runbook_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut console = demo_console(dir.path(), |_| {});
    console.catalog = sitrep::runbooks::Catalog::bundled();
    let registry = console.registry.clone();
    let mut keys: Vec<(Duration, Msg)> = vec![
        (Duration::from_millis(200), key('6')),
        (Duration::ZERO, key('/')),
    ];
    keys.extend("kill-switch".chars().map(|c| (Duration::ZERO, key(c))));
    let enter = || Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    keys.push((Duration::ZERO, enter())); // apply the filter
    keys.push((Duration::ZERO, enter())); // walk it
    keys.push((Duration::from_millis(100), key('l'))); // step 2: turn it off
    keys.push((Duration::ZERO, key(' '))); // tick the item
    for _ in 0..3 {
        keys.push((Duration::ZERO, key('j'))); // past the other items, to the action block
    }
    keys.push((Duration::from_millis(100), key('x'))); // run it
    // Walked from the list, not an incident: the walk asks for each
    // placeholder the action names ({flag}, {env}, {incident}).
    for value in ["checkout-payments-v3", "production", "Q1CHK5XZ01"] {
        keys.extend(value.chars().map(|c| (Duration::ZERO, key(c))));
        keys.push((Duration::ZERO, enter()));
    }
    // The confirmation asks for the flag key.
    keys.extend("checkout-payments-v3".chars().map(|c| {
        (
            Duration::from_millis(if c == 'c' { 500 } else { 0 }),
            key(c),
        )
    }));
    keys.push((Duration::ZERO, enter()));
    keys.push((Duration::from_secs(2), key('1')));
    let script = futures::stream::iter(keys).then(|(d, m)| async move {
        tokio::time::sleep(d).await;
        m
    });
    let term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    let mut tui = Tui::new(term, blank_state(), console);
    tui.run(Box::pin(script)).await.unwrap();

    // The demo's own log, in its own data dir.
    let log = std::fs::read_to_string(dir.path().join("demo").join("audit.jsonl"))
        .expect("audit log written");
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = records
        .iter()
        .find(|r| r["action"] == "runbook.step")
        .expect("tick recorded");
    assert_eq!(step["runbook"]["id"], "kill-switch");
    assert_eq!(step["runbook"]["step"], 2);
    let off: Vec<_> = records
        .iter()
        .filter(|r| r["action"] == "flag.off")
        .collect();
    assert_eq!(off.len(), 2, "intent and result: {log}");
    for r in &off {
        assert_eq!(r["runbook"]["id"], "kill-switch");
        assert_eq!(r["runbook"]["step"], 2);
        assert_eq!(r["target"], "checkout-payments-v3");
        assert_eq!(r["reason"], "kill switch for Q1CHK5XZ01");
    }
    assert_eq!(off[1]["outcome"], "ok");
    // The provider state changed.
    let f = registry.get("ld").unwrap().fetch().await.unwrap();
    assert!(
        !f.flags
            .iter()
            .find(|f| f.key.as_str() == "checkout-payments-v3")
            .unwrap()
            .on
    );
    // Progress was saved for the next session.
    assert!(
        dir.path()
            .join("demo/runbooks/progress/kill-switch/none.json")
            .exists()
    );
}

/// Answers the first fetch with the demo PagerDuty data, then hangs.
struct Flaky {
    inner: Arc<dyn Provider>,
    calls: std::sync::atomic::AtomicUsize,
}

impl Provider for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Pagerduty
    }
    fn fetch_deadline(&self) -> Duration {
        Duration::from_secs(2)
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            self.inner.fetch()
        } else {
            Box::pin(std::future::pending())
        }
    }
}

#[tokio::test(start_paused = true)]
async fn views_switch_and_the_header_ages_a_provider_that_stopped_answering() {
    let dir = tempfile::tempdir().unwrap();
    let console = demo_console(dir.path(), |registry| {
        let pd = registry.get("pd").unwrap().clone();
        registry.providers.insert(
            0,
            Arc::new(Flaky {
                inner: pd,
                calls: std::sync::atomic::AtomicUsize::new(0),
            }),
        );
    });
    // First fetch answers; `r` starts a fetch that hangs past its deadline;
    // meanwhile every view is visited.
    let mut steps = vec![(Duration::from_secs(1), key('r'))];
    for c in ['2', '3', '4', '5', '6', '7', '1', '?'] {
        steps.push((Duration::from_millis(700), key(c)));
    }
    let script = futures::stream::iter(steps).then(|(d, m)| async move {
        tokio::time::sleep(d).await;
        m
    });
    let term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    let mut tui = Tui::new(term, blank_state(), console);
    tui.run(Box::pin(script)).await.unwrap();
    let (screen, state) = (text(tui.terminal()), tui.state());
    assert!(screen.contains("Help"), "keys stopped answering:\n{screen}");
    let slot = state
        .store
        .slots
        .iter()
        .find(|s| s.name == "flaky")
        .unwrap();
    assert!(
        slot.error
            .as_ref()
            .is_some_and(|e| e.to_string().contains("timed out")),
        "{:?}",
        slot.error
    );
    assert_eq!(
        state.ui.view,
        sitrep::tui::state::View::Dashboard,
        "every view key was handled, the last one too"
    );
    assert!(slot.fetched_at.is_some(), "the first answer's data is kept");
    assert!(!slot.data.incidents.is_empty(), "last data kept on screen");
    // The header: failing mark, then the age of the data it still shows.
    let line = screen
        .lines()
        .find(|l| l.contains("flaky✗"))
        .unwrap_or_else(|| panic!("no failing mark in the header:\n{screen}"));
    let after = line.split("flaky✗").nth(1).unwrap().trim_start();
    let age: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    assert!(
        age.ends_with('s') && age[..age.len() - 1].chars().all(|c| c.is_ascii_digit()),
        "no age after the failing mark: {line:?}"
    );
}

/// Switching contexts configures the console from the new context alone:
/// a context without `production_environments` uses the default pair, not
/// the list of the context before (the red banner and the executor's guard
/// agree again).
#[tokio::test]
async fn a_context_switch_leaves_nothing_of_the_previous_context() {
    use sitrep::tui::update::{Effect, update};
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "production_environments = [\"live\"]\n").unwrap();
    std::fs::create_dir_all(dir.path().join("contexts")).unwrap();
    std::fs::write(dir.path().join("contexts/staging.toml"), "").unwrap();
    let mut ctx = sitrep::app::AppContext::new(sitrep::app::Options {
        config: Some(cfg),
        data_dir: Some(dir.path().join("data")),
        ..Default::default()
    })
    .unwrap();
    ctx.paths.config_dir = dir.path().to_path_buf();
    let mut state = blank_state();
    let (fx, _) = update(
        &mut state,
        Msg::ConsoleLoaded {
            switch: None,
            result: Ok(Box::new(ctx.load_console().unwrap())),
        },
    );
    assert!(matches!(fx.as_slice(), [Effect::Install(_)]));
    assert!(state.is_production("live"));
    assert!(!state.is_production("production"));
    assert_eq!(state.contexts, vec!["staging".to_string()]);

    let other = ctx.for_context("staging").unwrap().load_console().unwrap();
    update(
        &mut state,
        Msg::ConsoleLoaded {
            switch: Some("staging".into()),
            result: Ok(Box::new(other)),
        },
    );
    assert!(
        !state.is_production("live"),
        "the old context's list survived"
    );
    assert!(state.is_production("production"));
    assert_eq!(state.context.as_deref(), Some("staging"));
    assert!(
        state.runbooks.data_dir.ends_with("contexts/staging"),
        "{:?}",
        state.runbooks.data_dir
    );
    assert!(state.ui.toasts.iter().any(|t| t.text == "context staging"));

    // A context that cannot be read is a toast naming it; nothing changes.
    let broken = ctx.for_context("nope").and_then(|c| c.load_console());
    let err = broken.expect_err("no such context");
    update(
        &mut state,
        Msg::ConsoleLoaded {
            switch: Some("nope".into()),
            result: Err(format!("context nope: {err}")),
        },
    );
    assert_eq!(state.context.as_deref(), Some("staging"));
    assert!(
        state
            .ui
            .toasts
            .iter()
            .any(|t| t.text.starts_with("context nope:")),
        "{:?}",
        state.ui.toasts
    );
}

/// The first-run screen's `d` opens the demo through `update` and the
/// loop, like any other context: its providers answer on screen.
#[tokio::test(start_paused = true)]
async fn first_run_d_opens_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = sitrep::app::AppContext::new(sitrep::app::Options {
        data_dir: Some(dir.path().join("data")),
        ..Default::default()
    })
    .unwrap();
    ctx.paths.config = dir.path().join("missing/config.toml");
    let console = ctx.load_console().unwrap();
    assert!(console.first_run.is_some());
    let script = futures::stream::iter(vec![
        (Duration::from_millis(100), key('d')),
        (Duration::from_secs(2), key('2')),
    ])
    .then(|(d, m)| async move {
        tokio::time::sleep(d).await;
        m
    });
    let term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut tui = Tui::new(term, blank_state(), console);
    tui.run(Box::pin(script)).await.unwrap();
    let state = tui.state();
    assert!(state.first_run.is_none());
    assert!(state.demo);
    assert!(
        state
            .snap
            .incidents
            .iter()
            .any(|i| i.provider.as_str() == "pd"),
        "the demo's providers were polled"
    );
    assert_eq!(state.ui.view, sitrep::tui::state::View::Incidents);
    // The demo writes no cache into the real data directory.
    assert!(!dir.path().join("data/cache").exists());
}
