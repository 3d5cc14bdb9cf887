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
