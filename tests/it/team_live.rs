//! Shared runbook progress and presence against a real PostgreSQL server
//! (tests/common/pg.rs): a tick by one console reaches another through
//! LISTEN/NOTIFY with who ticked it; a tick made while the database is
//! down waits and is pushed on reconnect (the listener reconnects too);
//! the last tick to reach the database wins; names read back are
//! sanitized; presence is seen by the others, not by oneself, and goes
//! when closed or expired.

use crate::common::{self, Tool, pg::PgServer};
use sitrep::secrets::Secret;
use sitrep::team::listen::{self, Heard};
use sitrep::team::live::Event;
use sitrep::team::{Seen, Team, Tick};
use sitrep::text::SafeText;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a notification may take before the test calls it lost (a
/// correctness bound on a shared machine, not a performance figure).
const BOUND: Duration = Duration::from_secs(10);

fn start() -> Option<PgServer> {
    if !common::have(&[Tool::Postgres]) {
        return None;
    }
    common::init();
    Some(PgServer::start())
}

fn team(url: &str, name: &str) -> Arc<Team> {
    Arc::new(Team::new(
        Ok(Secret::new(url)),
        name,
        Duration::from_secs(120),
    ))
}

fn tick(actor: &str, session: &str, item: u32, checked: bool) -> Tick {
    Tick {
        incident: "INC-7".into(),
        runbook: "db-failover".into(),
        step: 2,
        item,
        checked,
        actor: SafeText::line(actor),
        host: SafeText::line(&format!("{actor}-laptop")),
        session: session.into(),
        at: None,
        own: false,
    }
}

/// Start listening for `t`; returns once the listener is connected.
async fn listening(t: &Arc<Team>, retry: Duration) -> mpsc::Receiver<Heard> {
    let (tx, mut rx) = mpsc::channel(64);
    listen::spawn(t.clone(), tx, retry);
    let first = tokio::time::timeout(BOUND, rx.recv()).await;
    assert_eq!(
        first.ok().flatten(),
        Some(Heard::Connected),
        "listener not connected"
    );
    rx
}

/// The next event heard (skipping connection reports unless asked).
async fn next_event(rx: &mut mpsc::Receiver<Heard>) -> Event {
    loop {
        match tokio::time::timeout(BOUND, rx.recv()).await {
            Ok(Some(Heard::Event(e))) => return e,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("listener ended"),
            Err(_) => panic!("no notification within {BOUND:?}"),
        }
    }
}

async fn next_heard(rx: &mut mpsc::Receiver<Heard>, want: fn(&Heard) -> bool) -> Heard {
    loop {
        match tokio::time::timeout(BOUND * 3, rx.recv()).await {
            Ok(Some(h)) if want(&h) => return h,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("listener ended"),
            Err(_) => panic!("not heard within {:?}", BOUND * 3),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_by_one_console_reaches_the_other_with_who_ticked() {
    let Some(server) = start() else { return };
    let url = server.url();
    let (a, b, other) = (team(&url, "ops"), team(&url, "ops"), team(&url, "other"));
    let mut heard = listening(&b, Duration::from_millis(300)).await;
    // Another team's tick on the same incident is not ours to see.
    other.tick(tick("eve", "x", 0, true)).await.unwrap();
    assert_eq!(a.tick(tick("dana", a.session(), 1, true)).await, Ok(1));
    let Event::Tick(t) = next_event(&mut heard).await else {
        panic!("not a tick")
    };
    assert_eq!(t.actor.as_str(), "dana", "the other team's tick leaked");
    assert_eq!((t.step, t.item, t.checked), (2, 1, true));
    assert!(!t.own, "a's tick is not b's own");
    assert!(t.at.is_some(), "database time");
    assert!(
        t.by_line().starts_with("✓ dana@dana-laptop "),
        "{}",
        t.by_line()
    );
    // A console opening the walk later reads the same from the table.
    let rows = b.ticks("INC-7", "db-failover").await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].actor.as_str(), rows[0].checked), ("dana", true));
    assert!(!rows[0].own);
    let own = a.ticks("INC-7", "db-failover").await.unwrap();
    assert!(own[0].own, "a's own tick is marked as its own");

    // Last writer wins: b unticks the item after a ticked it.
    b.tick(tick("lee", b.session(), 1, false)).await.unwrap();
    let Event::Tick(t) = next_event(&mut heard).await else {
        panic!("not a tick")
    };
    assert!(t.own && !t.checked);
    let rows = a.ticks("INC-7", "db-failover").await.unwrap();
    assert_eq!((rows[0].actor.as_str(), rows[0].checked), ("lee", false));

    // Names written by anyone with access are read back inert.
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c.execute(
        "INSERT INTO sitrep_ticks VALUES ('ops', 'INC-7', 'db-failover', 3, 0, true,
            E'eve\\u001b]52;c;AAAA\\u0007\\u202e', 'h', 's', now())",
        &[],
    )
    .await
    .unwrap();
    let rows = b.ticks("INC-7", "db-failover").await.unwrap();
    let eve = rows.iter().find(|r| r.step == 3).unwrap();
    assert!(eve.actor.as_str().starts_with("eve"), "{:?}", eve.actor);
    assert!(
        !eve.actor
            .as_str()
            .chars()
            .any(|ch| matches!(ch, '\u{1b}' | '\u{7}' | '\u{202e}')),
        "{:?}",
        eve.actor
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_made_offline_is_pushed_on_reconnect() {
    let Some(mut server) = start() else { return };
    let url = server.url();
    let (a, b) = (team(&url, "ops"), team(&url, "ops"));
    let retry = Duration::from_millis(300);
    let mut heard = listening(&b, retry).await;
    assert_eq!(a.tick(tick("dana", a.session(), 0, true)).await, Ok(1));
    assert!(matches!(next_event(&mut heard).await, Event::Tick(_)));

    server.stop();
    next_heard(&mut heard, |h| matches!(h, Heard::Lost(_))).await;
    let err = a
        .tick(tick("dana", a.session(), 1, true))
        .await
        .unwrap_err();
    assert!(!err.contains(common::pg::PASSWORD), "{err}");
    // A newer tick of the same item replaces the queued one.
    assert!(a.tick(tick("dana", a.session(), 2, false)).await.is_err());
    assert!(a.tick(tick("dana", a.session(), 2, true)).await.is_err());
    assert_eq!(a.unshared_ticks(), 2, "one per item waits");

    server.resume();
    // The listener comes back by itself (and the console reads again
    // what it missed), then the queued ticks go, in order.
    next_heard(&mut heard, |h| *h == Heard::Connected).await;
    assert_eq!(a.flush_ticks().await, Ok(2));
    assert_eq!(a.unshared_ticks(), 0);
    let mut got = Vec::new();
    for _ in 0..2 {
        let Event::Tick(t) = next_event(&mut heard).await else {
            panic!("not a tick")
        };
        got.push((t.item, t.checked));
    }
    assert_eq!(got, vec![(1, true), (2, true)]);
    let rows = b.ticks("INC-7", "db-failover").await.unwrap();
    let mut state: Vec<(u32, bool)> = rows.iter().map(|r| (r.item, r.checked)).collect();
    state.sort();
    assert_eq!(state, vec![(0, true), (1, true), (2, true)]);
    // Nothing is pushed twice.
    assert_eq!(a.flush_ticks().await, Ok(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_seen_by_the_others_and_goes_when_closed_or_expired() {
    let Some(server) = start() else { return };
    let url = server.url();
    let (a, b) = (team(&url, "ops"), team(&url, "ops"));
    let mut heard = listening(&b, Duration::from_millis(300)).await;
    let viewing = Seen {
        incident: "INC-7".into(),
        what: "viewing",
        detail: String::new(),
    };
    a.set_presence("dana", "a-host", &viewing, true)
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut heard).await,
        Event::Presence {
            incident: "INC-7".into()
        }
    );
    let seen = b.present("INC-7").await.unwrap();
    let labels: Vec<String> = seen.iter().map(|p| p.label()).collect();
    assert_eq!(labels, vec!["dana@a-host (viewing)"]);
    assert!(a.present("INC-7").await.unwrap().is_empty(), "not oneself");
    assert!(b.present("INC-8").await.unwrap().is_empty());

    let acting = Seen {
        incident: "INC-7".into(),
        what: "acting",
        detail: "rollback".into(),
    };
    b.set_presence("lee", "b-host", &acting, true)
        .await
        .unwrap();
    let labels: Vec<String> = a
        .present("INC-7")
        .await
        .unwrap()
        .iter()
        .map(|p| p.label())
        .collect();
    assert_eq!(labels, vec!["lee@b-host (acting: rollback)"]);

    // Closed: gone, and b is told.
    a.clear_presence("INC-7").await.unwrap();
    loop {
        if let Event::Presence { incident } = next_event(&mut heard).await
            && incident == "INC-7"
        {
            break;
        }
    }
    assert!(b.present("INC-7").await.unwrap().is_empty());

    // Expired: a console that stopped heartbeating drops out after its TTL.
    let c = Arc::new(
        Team::new(
            Ok(Secret::new(url.clone())),
            "ops",
            Duration::from_secs(120),
        )
        .with_presence_ttl(Duration::from_millis(800)),
    );
    c.set_presence("kim", "c-host", &viewing, true)
        .await
        .unwrap();
    assert_eq!(b.present("INC-7").await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        b.present("INC-7").await.unwrap().is_empty(),
        "an expired row is ignored"
    );
}
