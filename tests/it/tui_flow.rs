//! The console loop driven in-process with an injected key stream and a
//! hung provider: keys still answer and the header names the failing
//! provider, while the other providers' data is on screen.

use clap::Parser;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::config::ProviderKind;
use sitrep::model::Fetched;
use sitrep::providers::{BoxFut, Provider, ProviderError, Registry};
use sitrep::store::Store;
use sitrep::tui::state::State;
use sitrep::tui::update::Msg;
use sitrep::tui::{Engine, actions, run_loop};
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
    let cli = sitrep::cli::Cli::parse_from([
        "sitrep",
        "--demo",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let ctx = sitrep::cli::Ctx::new(cli.global);
    let mut registry = Registry::demo(chrono::Utc::now());
    registry.providers.insert(0, Arc::new(Hung));
    let mut state = State::new(
        Store::new(&registry),
        sitrep::theme::Theme::default_theme(),
        chrono::Utc::now(),
    );
    state.size = (120, 40);
    let engine = Engine {
        actions: actions::Runner::new(&ctx, &sitrep::config::Config::default(), registry.clone()),
        registry,
        cache: None,
    };
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
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    run_loop(&mut term, &mut state, engine, Box::pin(script), &ctx)
        .await
        .unwrap();
    let screen = text(&term);
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
    let cli = sitrep::cli::Cli::parse_from([
        "sitrep",
        "--demo",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let ctx = sitrep::cli::Ctx::new(cli.global);
    let registry = Registry::demo(chrono::Utc::now());
    let mut state = State::new(
        Store::new(&registry),
        sitrep::theme::Theme::default_theme(),
        chrono::Utc::now(),
    );
    state.size = (160, 45);
    state.runbooks.catalog = Arc::new(sitrep::runbooks::Catalog::bundled());
    state.runbooks.data_dir = dir.path().to_path_buf();
    let engine = Engine {
        actions: actions::Runner::new(&ctx, &sitrep::config::Config::default(), registry.clone()),
        registry: registry.clone(),
        cache: None,
    };
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
    keys.push((Duration::ZERO, key('j'))); // the action block
    keys.push((Duration::from_millis(100), key('x'))); // plan it
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
    let mut term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    run_loop(&mut term, &mut state, engine, Box::pin(script), &ctx)
        .await
        .unwrap();

    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).expect("audit log written");
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
        assert_eq!(r["reason"], "kill switch: payments v3 errors");
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
            .join("runbooks/progress/kill-switch/none.json")
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
    let cli = sitrep::cli::Cli::parse_from([
        "sitrep",
        "--demo",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let ctx = sitrep::cli::Ctx::new(cli.global);
    let mut registry = Registry::demo(chrono::Utc::now());
    let pd = registry.get("pd").unwrap().clone();
    registry.providers.insert(
        0,
        Arc::new(Flaky {
            inner: pd,
            calls: std::sync::atomic::AtomicUsize::new(0),
        }),
    );
    let mut state = State::new(
        Store::new(&registry),
        sitrep::theme::Theme::default_theme(),
        chrono::Utc::now(),
    );
    state.size = (160, 40);
    let engine = Engine {
        actions: actions::Runner::new(&ctx, &sitrep::config::Config::default(), registry.clone()),
        registry,
        cache: None,
    };
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
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    run_loop(&mut term, &mut state, engine, Box::pin(script), &ctx)
        .await
        .unwrap();
    let screen = text(&term);
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
        state.view,
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
