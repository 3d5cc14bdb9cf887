//! The confirm dialog at 80x24 on long real requests: an Alertmanager
//! silence with five matchers (planned by the real provider against a
//! real Alertmanager) and a GitHub redeploy (the real provider against the
//! simulator). The run/cancel line stays on screen; the request scrolls
//! above it, and Tab shows it whole.

use crate::common::{self, AmServer, Tool, fast_http, init};
use chrono::TimeZone;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::ops::{Matcher, PlanCtx, WriteOp};
use sitrep::providers::Provider;
use sitrep::tui::state::{Modal, State, demo_state};
use sitrep::tui::ui;
use sitrep::tui::update::{Msg, update};

fn state() -> State {
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(demo_state(now))
}

fn key(s: &mut State, c: KeyCode) {
    update(s, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

fn screen(s: &mut State, w: u16, h: u16) -> Vec<String> {
    s.ui.size = (w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::render(f, s)).unwrap();
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect()
}

/// Timestamps and the loopback port vary by run: masked so the
/// snapshot keeps the layout.
fn masked(rows: &[String]) -> String {
    let mut out = String::new();
    for r in rows {
        let mut line: Vec<char> = r.chars().collect();
        // 2026-12-05T05:55:10.123Z: its digits as N.
        for i in 0..line.len() {
            let stamp = line.len() >= i + 19
                && line[i..i + 4].iter().all(char::is_ascii_digit)
                && line[i + 4] == '-'
                && line[i + 10] == 'T';
            if stamp {
                for c in line.iter_mut().skip(i).take(23) {
                    if c.is_ascii_digit() {
                        *c = 'N';
                    }
                }
            }
        }
        let s: String = line.into_iter().collect();
        // The Alertmanager's loopback port.
        let s = match s.find("127.0.0.1:") {
            Some(i) => {
                let (head, tail) = s.split_at(i + "127.0.0.1:".len());
                let n = tail.chars().take_while(char::is_ascii_digit).count();
                format!("{head}{}{}", "N".repeat(n), &tail[n..])
            }
            None => s,
        };
        out.push_str(&s);
        out.push('\n');
    }
    out
}

fn rows_with(rows: &[String], needle: &str) -> Vec<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.contains(needle))
        .map(|(i, _)| i)
        .collect()
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_matcher_silence_fits_80x24_with_its_controls_pinned() {
    if !common::have(&[Tool::Alertmanager]) {
        return;
    }
    init();
    let am = AmServer::start().await;
    let cfg = common::config(&format!(
        "[[provider]]\nname = \"am\"\nkind = \"alertmanager\"\nbase_url = \"{}\"\nallow_insecure_http = true\n",
        am.url
    ));
    let secrets = common::MapSecrets::default();
    let p = sitrep::providers::alertmanager::Alertmanager::with_http_config(
        cfg.provider_named("am").unwrap(),
        &common::ctx(&cfg, &secrets),
        fast_http(),
    )
    .unwrap();
    let matchers: Vec<Matcher> = [
        "alertname=CheckoutHighErrorRate",
        "service=checkout",
        "env=production",
        "cluster=prod-eu-west-1",
        "severity=~page|critical",
    ]
    .iter()
    .map(|m| m.parse().unwrap())
    .collect();
    let op = WriteOp::SilenceCreate {
        provider: Some("am".into()),
        matchers,
        duration_secs: 7200,
    };
    let ctx = PlanCtx {
        actor: "oncall@example.com".into(),
        reason: "checkout error spike is known: rollback under way, see INC-4211".into(),
        ..Default::default()
    };
    let plan = p.plan(&op, &ctx).await.unwrap();
    let mut s = tokio::task::spawn_blocking(state).await.unwrap();
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason: ctx.reason.clone(),
        },
    );
    assert!(matches!(s.ui.modal, Some(Modal::Confirm { .. })));

    // The summary view fits; the controls are on screen.
    let rows = screen(&mut s, 80, 24);
    assert_eq!(rows_with(&rows, "/Enter run").len(), 1, "{rows:#?}");
    assert_eq!(rows_with(&rows, "Tab the whole request").len(), 1);

    // The whole request is taller than 24 rows: it scrolls, the controls
    // stay on the same row.
    key(&mut s, KeyCode::Tab);
    let top = screen(&mut s, 80, 24);
    let run_row = rows_with(&top, "/Enter run");
    assert_eq!(run_row.len(), 1, "{top:#?}");
    assert!(!rows_with(&top, "\"comment\"").is_empty(), "{top:#?}");
    assert!(rows_with(&top, "\"startsAt\"").is_empty(), "not all fits");
    assert!(!rows_with(&top, "lines above").is_empty());
    snap!("confirm_silence_full_top_80x24", masked(&top));
    // Past the end is the end: one step back shows one line below.
    for _ in 0..6 {
        key(&mut s, KeyCode::PageDown);
    }
    key(&mut s, KeyCode::Up);
    assert!(!rows_with(&screen(&mut s, 80, 24), " 1 below").is_empty());
    key(&mut s, KeyCode::Down);
    let end = screen(&mut s, 80, 24);
    assert_eq!(rows_with(&end, "/Enter run"), run_row, "pinned");
    assert!(rows_with(&end, "\"comment\"").is_empty(), "{end:#?}");
    assert!(
        !rows_with(&end, "\"startsAt\"").is_empty(),
        "the end of the request: {end:#?}"
    );
    assert!(!rows_with(&end, " 0 below").is_empty(), "{end:#?}");
    snap!("confirm_silence_full_end_80x24", masked(&end));

    // Back to the summary, and y still runs it.
    key(&mut s, KeyCode::Tab);
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
    )
    .0;
    assert!(
        matches!(fx.as_slice(), [sitrep::tui::update::Effect::Execute { .. }]),
        "{fx:?}"
    );
}

#[test]
fn a_github_redeploy_fits_80x24_typed_name_pinned() {
    let mut s = state();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reg = sitrep::providers::Registry::demo(chrono::Utc::now());
    let op = WriteOp::Rollback {
        provider: Some("gh".into()),
        service: "checkout".into(),
        environment: "production".into(),
        to: None,
    };
    let plan = rt
        .block_on(reg.get("gh").unwrap().plan(&op, &PlanCtx::default()))
        .unwrap();
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason: "bad deploy".into(),
        },
    );
    key(&mut s, KeyCode::Tab);
    for _ in 0..40 {
        key(&mut s, KeyCode::Down);
    }
    let rows = screen(&mut s, 80, 24);
    assert_eq!(
        rows_with(&rows, "Type checkout to confirm").len(),
        1,
        "{rows:#?}"
    );
    assert_eq!(rows_with(&rows, "│> ").len(), 1, "the typed-name line");
    // The name typed while scrolled is still the name.
    for c in "checkout".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    )
    .0;
    assert!(
        matches!(fx.as_slice(), [sitrep::tui::update::Effect::Execute { .. }]),
        "{fx:?}"
    );
}
