//! Snapshots of every screen on demo data with a fixed clock, at 160x45
//! and 80x24, plus one style-aware snapshot per bundled theme.

use chrono::TimeZone;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::ops::PlanCtx;
use sitrep::tui::state::{State, View, demo_state};
use sitrep::tui::ui;
use sitrep::tui::update::{Msg, update};

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .unwrap()
}

fn state() -> State {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(demo_state(now()))
}

fn draw(state: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    state.ui.size = (w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::render(f, state)).unwrap();
    term
}

/// `127.0.0.1:<port>` (a simulator's, different each run) as
/// `127.0.0.1:NNNNN`: ephemeral ports have five digits, so the layout
/// is kept.
fn loopback_port_named(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(i + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&"N".repeat(digits));
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn key(s: &mut State, c: KeyCode) {
    update(s, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

/// A snapshot, with the simulators' ports named (see
/// [`loopback_port_named`]).
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, loopback_port_named(&$value));
        })
    };
}

#[test]
fn every_view_at_both_sizes() {
    for (w, h) in [(160, 45), (80, 24)] {
        for v in [
            View::Dashboard,
            View::Incidents,
            View::Slos,
            View::Deploys,
            View::Flags,
        ] {
            let mut s = state();
            s.ui.view = v;
            let t = draw(&mut s, w, h);
            snap!(
                format!("view_{}_{w}x{h}", v.title().to_lowercase()),
                text(&t)
            );
        }
    }
}

#[test]
fn help_is_generated_from_the_keymap() {
    for (w, h) in [(160, 45), (80, 24)] {
        let mut s = state();
        key(&mut s, KeyCode::Char('?'));
        let t = draw(&mut s, w, h);
        let out = text(&t);
        for (label, desc, _) in sitrep::tui::keymap::help_rows() {
            assert!(out.contains(desc), "help at {w}x{h} misses {label} {desc}");
        }
        snap!(format!("help_{w}x{h}"), out);
    }
}

#[test]
fn read_only_badge_and_first_run_and_too_small() {
    let mut s = state();
    s.read_only = true;
    let t = draw(&mut s, 80, 24);
    let out = text(&t);
    assert!(out.contains("READ-ONLY"));
    snap!("read_only_80x24", out);

    let mut s = state();
    s.first_run = Some("/home/oncall/.config/sitrep/config.toml".into());
    let t = draw(&mut s, 80, 24);
    let out = text(&t);
    assert!(out.contains("sitrep config init") && out.contains("d to try the demo"));
    snap!("first_run_80x24", out);

    let mut s = state();
    let t = draw(&mut s, 20, 5);
    assert!(text(&t).contains("terminal too"));
}

#[test]
fn rollback_modal_shows_what_is_at_stake() {
    let mut s = state();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    key(&mut s, KeyCode::Char('4'));
    let idx = s
        .deploys()
        .iter()
        .position(|d| d.service.as_str() == "checkout" && d.current)
        .unwrap();
    s.list_mut(View::Deploys).selected = idx;
    key(&mut s, KeyCode::Char('b'));
    // The target picker: the provider's own choice.
    key(&mut s, KeyCode::Enter);
    for c in "bad deploy".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    )
    .0;
    let Some(sitrep::tui::update::Effect::Plan { op, reason }) = fx.into_iter().next() else {
        panic!()
    };
    // The real GitHub provider plans against the demo's simulator: its
    // ages are from the real clock, so the world is seeded at it too.
    let reg = sitrep::providers::Registry::demo(chrono::Utc::now());
    let plan = rt
        .block_on(reg.get("gh").unwrap().plan(&op, &PlanCtx::default()))
        .unwrap();
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason,
        },
    );
    for c in "check".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    for (w, h) in [(160, 45), (80, 24)] {
        let t = draw(&mut s, w, h);
        let out = text(&t);
        assert!(out.contains("PRODUCTION"), "{out}");
        assert!(out.contains("v2.13.2"), "target shown");
        assert!(out.contains("19.0x"), "burn shown");
        snap!(format!("rollback_modal_{w}x{h}"), loopback_port_named(&out));
    }
}

#[test]
fn one_style_aware_snapshot_per_theme() {
    for name in sitrep::theme::Theme::names() {
        let mut s = state();
        s.theme = sitrep::theme::Theme::bundled(name).unwrap();
        let t = draw(&mut s, 80, 24);
        snap!(
            format!("theme_{name}"),
            format!("{:?}", t.backend().buffer())
        );
    }
    let mut s = state();
    s.theme = sitrep::theme::Theme::no_color();
    let t = draw(&mut s, 80, 24);
    snap!("theme_no_color", format!("{:?}", t.backend().buffer()));
}

#[test]
fn severity_is_never_colour_alone() {
    // Every theme, including no-colour, shows the SEV label as text.
    for theme in sitrep::theme::Theme::names()
        .into_iter()
        .map(|n| sitrep::theme::Theme::bundled(n).unwrap())
        .chain([sitrep::theme::Theme::no_color()])
    {
        let mut s = state();
        s.theme = theme;
        let out = text(&draw(&mut s, 80, 24));
        for l in ["SEV1", "SEV2", "SEV3", "SEV4"] {
            assert!(out.contains(l));
        }
    }
}

#[test]
fn hostile_provider_text_never_reaches_a_cell() {
    let mut s = state();
    let evil = "\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u{9b}31m\u{202e}gnp.exe\x7fTitle";
    for i in s
        .store
        .slots
        .iter_mut()
        .flat_map(|s| s.data.incidents.iter_mut())
    {
        i.title = sitrep::text::SafeText::line(evil);
    }
    s.rebuild();
    for v in [View::Dashboard, View::Incidents] {
        s.ui.view = v;
        let t = draw(&mut s, 160, 45);
        let buf = t.backend().buffer();
        for cell in buf.content() {
            for c in cell.symbol().chars() {
                assert!(!c.is_control(), "control char {c:?} in a cell");
                assert!(
                    !('\u{202a}'..='\u{202e}').contains(&c)
                        && !('\u{2066}'..='\u{2069}').contains(&c)
                );
            }
        }
        assert!(text(&t).contains("Title"));
    }
}

#[test]
fn palette_finds_and_plans_a_rollback() {
    let mut s = state();
    key(&mut s, KeyCode::Char(':'));
    for c in "rollback checkout prod".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&draw(&mut s, w, h));
        assert!(out.contains("Command palette") && out.contains("rollback checkout production"));
        snap!(format!("palette_{w}x{h}"), out);
    }
    key(&mut s, KeyCode::Enter);
    match &s.ui.modal {
        Some(sitrep::tui::state::Modal::Input {
            purpose: sitrep::tui::state::InputPurpose::Reason(op),
            ..
        }) => {
            assert_eq!(op.target(), "checkout/production");
        }
        other => panic!("expected the reason prompt, got {other:?}"),
    }
    assert_eq!(
        s.ui.palette_history,
        vec!["rollback checkout production".to_string()]
    );
}

#[test]
fn silence_from_a_failing_provider_is_never_all_clear() {
    let mut s = state();
    for slot in &mut s.store.slots {
        slot.data.incidents.clear();
    }
    s.rebuild();
    let out = text(&draw(&mut s, 160, 45));
    assert!(out.contains("all clear: no open incidents"), "{out}");
    let pd = s.store.slots.iter_mut().find(|x| x.name == "pd").unwrap();
    pd.error = Some(sitrep::providers::ProviderError::new(
        "pd",
        sitrep::providers::ErrorKind::Timeout,
        "",
    ));
    s.rebuild();
    for v in [View::Dashboard, View::Incidents] {
        s.ui.view = v;
        let out = text(&draw(&mut s, 160, 45));
        assert!(!out.contains("all clear: no open"), "{out}");
        assert!(out.contains("no data from pd"), "{out}");
    }
}

#[test]
fn runbooks_and_audit_views() {
    let mut s = state();
    s.runbooks.catalog = std::sync::Arc::new(sitrep::runbooks::Catalog::bundled());
    s.ui.view = View::Runbooks;
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&draw(&mut s, w, h));
        assert!(out.contains("db-failover") && out.contains("Preview"));
        snap!(format!("view_runbooks_{w}x{h}"), out);
    }
    // Walk mode, for an incident.
    let dir = tempfile::tempdir().unwrap();
    let rb = s.runbooks.catalog.find("rollback").unwrap().clone();
    s.runbooks.walk = Some(Box::new(sitrep::runbooks::walk::Walk::open(
        dir.path(),
        &rb,
        Some("Q1CHK5XZ01"),
    )));
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&draw(&mut s, w, h));
        assert!(out.contains("for incident Q1CHK5XZ01") && out.contains("Step 1/"));
        snap!(format!("view_walk_{w}x{h}"), out);
    }
    // The Audit view with a verified chain.
    let mut s = state();
    s.ui.view = View::Audit;
    s.audit.loaded = true;
    s.audit.chain = Some(Ok("chain verified: 0 records, head 000000000000".into()));
    let out = text(&draw(&mut s, 80, 24));
    assert!(out.contains("no actions recorded yet") && out.contains("chain verified"));
    snap!("view_audit_empty_80x24", out);
}

#[test]
fn slo_view_in_each_state() {
    // Demo SLOs: frozen (page firing), burning (ticket), healthy, no data.
    let mut s = state();
    s.ui.view = View::Slos;
    for (name, state_word) in [
        ("checkout-availability", "frozen"),
        ("payments-latency-p99", "burning"),
        ("search-availability", "healthy"),
        ("search-indexing-freshness", "no_data"),
    ] {
        let idx = s
            .slos()
            .iter()
            .position(|x| x.name.as_str() == name)
            .unwrap();
        s.list_mut(View::Slos).selected = idx;
        let out = text(&draw(&mut s, 160, 45));
        assert!(out.contains(name));
        snap!(format!("slo_{state_word}_160x45"), out);
    }
}

#[test]
fn kill_switch_modal_asks_for_the_key() {
    let mut s = state();
    key(&mut s, KeyCode::Char('5'));
    let idx = s
        .flags()
        .iter()
        .position(|f| f.key.as_str() == "checkout-writes")
        .unwrap();
    s.list_mut(View::Flags).selected = idx;
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT)),
    );
    for c in "db failover".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    )
    .0;
    let Some(sitrep::tui::update::Effect::Plan { op, reason }) = fx.into_iter().next() else {
        panic!()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reg = sitrep::providers::Registry::demo(now());
    let plan = rt
        .block_on(reg.get("ld").unwrap().plan(&op, &PlanCtx::default()))
        .unwrap();
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason,
        },
    );
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&draw(&mut s, w, h));
        assert!(out.contains("Type checkout-writes to confirm"), "{out}");
        assert!(out.contains("PRODUCTION"));
        snap!(format!("kill_switch_modal_{w}x{h}"), out);
    }
}

#[test]
fn timeline_view_marks_suspects() {
    let mut s = state();
    s.ui.view = View::Timeline;
    // As `update` does after every message: the timeline is built while
    // its view is shown.
    s.refresh();
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&draw(&mut s, w, h));
        assert!(out.contains("SUSPECT"), "{out}");
        snap!(format!("view_timeline_{w}x{h}"), out);
    }
    // The deploy 11m before the SEV1 on checkout is a suspect.
    assert!(s.timeline().iter().any(|e| e.suspect.is_some()
        && e.kind == sitrep::timeline::EventKind::Deploy
        && e.service.as_ref().is_some_and(|x| x.as_str() == "checkout")));
}

#[test]
fn a_rollback_starts_a_watch_that_ends_with_a_verdict() {
    let mut s = state();
    let op = sitrep::ops::WriteOp::Rollback {
        provider: Some("gh".into()),
        service: "checkout".into(),
        environment: "production".into(),
        to: None,
    };
    update(&mut s, Msg::Acted { op, runbook: None });
    assert_eq!(s.watches.len(), 1);
    assert!(
        s.ui.toasts
            .iter()
            .any(|t| t.text.contains("watching checkout"))
    );
    // Nothing changes in the demo: at the deadline the verdict is "no change".
    let later = s.now + chrono::Duration::minutes(11);
    let (fx, dirty) = update(&mut s, Msg::Tick(later));
    assert!(dirty);
    assert!(s.watches.is_empty(), "the watch ended");
    assert!(
        matches!(
            fx.as_slice(),
            [sitrep::tui::update::Effect::RecordWatch(..)]
        ),
        "{fx:?}"
    );
    assert!(
        s.ui.toasts.iter().any(|t| t.text.starts_with("checkout:")),
        "{:?}",
        s.ui.toasts
    );
}

/// The Providers view (`9`) says why each provider failed, in words, at
/// both sizes; empty panes of a failed provider's data say "no data: …
/// failed", never "no flags".
#[test]
fn providers_view_says_why_each_failed() {
    use sitrep::providers::{ErrorKind, ProviderError};
    for (w, h) in [(160, 45), (80, 24)] {
        let mut s = state();
        let at = now() - chrono::Duration::seconds(20);
        for slot in s.store.slots.iter_mut() {
            slot.attempted_at = Some(at);
            match slot.name.as_str() {
                "pd" => {
                    slot.error = Some(ProviderError::new(
                        "pd",
                        ErrorKind::Config,
                        "no API token: environment variable PAGERDUTY_TOKEN is not set",
                    ));
                    slot.fetched_at = None;
                    slot.failures = 1;
                }
                "ld" => {
                    slot.error = Some(ProviderError::new(
                        "ld",
                        ErrorKind::Unauthorized { status: 401 },
                        "GET /api/v2/flags/acme: Invalid access token",
                    ));
                    slot.data.flags.clear();
                    slot.fetched_at = None;
                    slot.failures = 2;
                }
                // The other flag providers answer with no flags.
                "unleash" | "flagd" => slot.data.flags.clear(),
                _ => {}
            }
        }
        s.rebuild();
        let dash = text(&draw(&mut s, w, h));
        // At 80x24 the dashboard has no room for the flags pane.
        if w == 160 {
            assert!(
                dash.contains("no data: ") && dash.contains("ld failed (9 shows why)"),
                "{dash}"
            );
        }
        key(&mut s, KeyCode::Char('9'));
        assert_eq!(s.ui.view, View::Providers);
        let t = text(&draw(&mut s, w, h));
        assert!(t.contains("PAGERDUTY_TOKEN"), "{t}");
        assert!(t.contains("after fix"), "{t}");
        snap!(format!("view_providers_{w}x{h}"), t);
        // The ld row's cause is a key away.
        key(&mut s, KeyCode::Char('j'));
        let sel = s.selected_slot().unwrap().name.clone();
        let t = text(&draw(&mut s, w, h));
        if sel == "ld" {
            assert!(t.contains("token rejected (401)"), "{t}");
        }
    }
}

/// The selected row is readable in every theme: each glyph drawn on the
/// selection's background contrasts with it at least 4.5:1 (WCAG AA), in
/// every list view and on the dashboard, whatever colour its cell had
/// (muted text, state words, severity); and every theme slot drawn on a
/// selected row keeps that contrast.
#[test]
fn the_selected_row_is_readable_in_every_theme() {
    use sitrep::theme::{MIN_CONTRAST, Theme, contrast};
    for name in Theme::names() {
        let theme = Theme::bundled(name).unwrap();
        let Some(sel_bg) = theme.selection.bg else {
            // Reverse video: the terminal's own colours, swapped.
            continue;
        };
        let sel_fg = theme.selection.fg.unwrap();
        assert!(
            contrast(sel_fg, sel_bg).unwrap() >= MIN_CONTRAST,
            "{name}: the selection's own colours"
        );
        let slots = [
            theme.text,
            theme.muted,
            theme.title,
            theme.key,
            theme.ok,
            theme.warn,
            theme.crit,
            theme.stale,
            theme.info,
            theme.on,
            theme.off,
            theme.focus,
        ];
        for s in slots.into_iter().chain(theme.sev) {
            let on = theme.on_selection(s);
            if let (Some(fg), Some(bg)) = (on.fg, on.bg) {
                let c = contrast(fg, bg).unwrap();
                assert!(c >= MIN_CONTRAST, "{name}: {s:?} on the selection: {c:.2}");
            }
        }
        let mut st = state();
        st.theme = theme.clone();
        for view in [
            View::Dashboard,
            View::Incidents,
            View::Deploys,
            View::Flags,
            View::Slos,
            View::Timeline,
            View::Providers,
        ] {
            st.ui.view = view;
            st.rebuild();
            let mut checked = 0;
            for (w, h) in [(160, 45), (80, 24)] {
                let t = draw(&mut st, w, h);
                let buf = t.backend().buffer();
                for cell in buf.content().iter() {
                    if cell.bg != sel_bg || cell.symbol().trim().is_empty() {
                        continue;
                    }
                    checked += 1;
                    let c = contrast(cell.fg, cell.bg).unwrap_or(21.0);
                    assert!(
                        c >= MIN_CONTRAST,
                        "{name} {view:?} {w}x{h}: {:?} on the selection: {c:.2}",
                        cell
                    );
                }
            }
            assert!(checked > 0, "{name} {view:?}: no selected row drawn");
        }
    }
}

/// The burn chart reads on its own: a time axis ending at now, a burn
/// scale, and the 14.4x / 6x page and 3x / 1x ticket thresholds named
/// over it.
#[test]
fn the_burn_chart_has_a_time_axis_a_scale_and_the_alert_thresholds() {
    let mut s = state();
    key(&mut s, KeyCode::Char('3'));
    let out = text(&draw(&mut s, 160, 45));
    for want in ["-24h", "-12h", "now", "0x", "14.4x 6x page", "3x 1x ticket"] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
}

/// RFC 3339 times (`2026-12-05T05:21:23.431Z`, also wrapped inside a
/// dialog) with their digits as `N`, so a snapshot of a plan made now is
/// stable and keeps its layout.
fn times_named(s: &str) -> String {
    let mut grid: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    // Each line on its own, then the dialog's inside read as one text.
    let mut runs: Vec<Vec<(usize, usize)>> = grid
        .iter()
        .enumerate()
        .map(|(r, l)| (0..l.len()).map(|c| (r, c)).collect())
        .collect();
    let top = grid
        .iter()
        .position(|l| l.iter().collect::<String>().contains("╭ Confirm"));
    if let Some(top) = top {
        let left = grid[top].iter().position(|&c| c == '╭').unwrap_or(0);
        let right = grid[top].iter().rposition(|&c| c == '╮').unwrap_or(0);
        let inside = (top + 1..grid.len())
            .take_while(|&r| grid[r].get(left) == Some(&'│'))
            .flat_map(|r| (left + 1..right).map(move |c| (r, c)))
            .collect();
        runs.push(inside);
    }
    for seq in runs {
        let at = |g: &[Vec<char>], k: usize| g[seq[k].0].get(seq[k].1).copied().unwrap_or(' ');
        let n = seq.len();
        let mut i = 0;
        while i + 10 < n {
            let is_date = (0..4).all(|k| at(&grid, i + k).is_ascii_digit())
                && at(&grid, i + 4) == '-'
                && at(&grid, i + 7) == '-'
                && at(&grid, i + 10) == 'T';
            if !is_date {
                i += 1;
                continue;
            }
            while i < n && (at(&grid, i).is_ascii_digit() || "-T:.".contains(at(&grid, i))) {
                if at(&grid, i).is_ascii_digit() {
                    grid[seq[i].0][seq[i].1] = 'N';
                }
                i += 1;
            }
        }
    }
    let mut out: Vec<String> = grid.into_iter().map(|l| l.into_iter().collect()).collect();
    if s.ends_with('\n') {
        out.push(String::new());
    }
    out.join("\n")
}

#[test]
fn silence_modal_shows_the_real_alertmanager_request() {
    let mut s = state();
    key(&mut s, KeyCode::Char('2'));
    let idx = s
        .incidents(View::Incidents)
        .iter()
        .position(|i| i.title.as_str().starts_with("DiskWillFillIn4Hours"))
        .unwrap();
    s.list_mut(View::Incidents).selected = idx;
    key(&mut s, KeyCode::Char('s'));
    // The matchers and duration as offered, then the reason.
    key(&mut s, KeyCode::Enter);
    for c in "indexer disk cleanup running".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    )
    .0;
    let Some(sitrep::tui::update::Effect::Plan { op, reason }) = fx.into_iter().next() else {
        panic!("no plan: {:?}", s.ui.modal)
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reg = sitrep::providers::Registry::demo(now());
    let ctx = PlanCtx::new("dana.kim@acme.example", reason.clone());
    let plan = rt.block_on(reg.get("am").unwrap().plan(&op, &ctx)).unwrap();
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason,
        },
    );
    for (w, h) in [(160, 45), (80, 24)] {
        let out = times_named(&loopback_port_named(&text(&draw(&mut s, w, h))));
        assert!(
            out.contains("POST http://127.0.0.1:NNNNN/api/v2/silences"),
            "{out}"
        );
        assert!(out.contains("DiskWillFillIn4Hours"), "{out}");
        snap!(format!("silence_modal_{w}x{h}"), out);
    }
}

#[test]
fn incident_detail_shows_the_alert_labels() {
    let mut s = state();
    s.ui.view = View::Incidents;
    let mut seen = 0;
    while !s
        .selected_incident()
        .is_some_and(|i| i.title.as_str().starts_with("DiskWillFillIn4Hours"))
    {
        key(&mut s, KeyCode::Char('j'));
        seen += 1;
        assert!(seen < 50, "the demo's disk alert is not listed");
    }
    let t = text(&draw(&mut s, 160, 45));
    assert!(
        t.contains("labels    instance=search-indexer-3:9100 job=node"),
        "{t}"
    );
    assert!(t.contains("mountpoint=/var/lib/search"), "{t}");
    // A PagerDuty incident has no labels: no line for them.
    while s.selected_incident().map(|i| i.provider.as_str()) != Some("pd") {
        key(&mut s, KeyCode::Char('k'));
    }
    assert!(!text(&draw(&mut s, 160, 45)).contains("labels    "));
}

/// The README's screenshot is the real current screen: the demo
/// dashboard's 80x24 snapshot, character for character.
#[test]
fn the_readme_shows_the_current_dashboard() {
    let root = env!("CARGO_MANIFEST_DIR");
    let snap =
        std::fs::read_to_string(format!("{root}/snapshots/view_dashboard_80x24.snap")).unwrap();
    let screen = snap
        .splitn(3, "---\n")
        .nth(2)
        .unwrap()
        .trim_end_matches('\n');
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let start = readme
        .find("The demo dashboard at 80x24:\n\n```\n")
        .unwrap()
        + "The demo dashboard at 80x24:\n\n```\n".len();
    let shown = readme[start..].split("\n```").next().unwrap();
    assert_eq!(
        shown, screen,
        "README.md's screenshot differs from snapshots/view_dashboard_80x24.snap: copy the snapshot in"
    );
}

/// Team mode: the walk names who ticked an item (a tick shared by another
/// console, through the update loop), and an incident's details say who
/// else is on it.
#[test]
fn team_walk_with_a_shared_tick_and_incident_presence() {
    use sitrep::team::{Presence, Status, Tick};
    use sitrep::text::SafeText;
    let mut s = state();
    s.team = Some(Status {
        reachable: Some(true),
        ..Default::default()
    });
    s.runbooks.catalog = std::sync::Arc::new(sitrep::runbooks::Catalog::bundled());
    let dir = tempfile::tempdir().unwrap();
    let rb = s.runbooks.catalog.find("rollback").unwrap().clone();
    let w = sitrep::runbooks::walk::Walk::open(dir.path(), &rb, Some("Q1CHK5XZ01"));
    update(&mut s, Msg::WalkOpened(Box::new(w)));
    let tick = Tick {
        incident: "Q1CHK5XZ01".into(),
        runbook: "rollback".into(),
        step: 1,
        item: 0,
        checked: true,
        actor: SafeText::line("dana"),
        host: SafeText::line("dana-laptop"),
        session: "s-dana".into(),
        at: chrono::Utc.with_ymd_and_hms(2026, 11, 22, 3, 2, 0).single(),
        own: false,
    };
    update(&mut s, Msg::SharedTicks(vec![tick]));
    let out = text(&draw(&mut s, 80, 24));
    assert!(
        out.contains("[x]") && out.contains("✓ dana@dana-laptop 03:02"),
        "{out}"
    );
    snap!("view_walk_shared_tick_80x24", out);

    let mut s = state();
    s.team = Some(Status {
        reachable: Some(true),
        ..Default::default()
    });
    s.ui.view = View::Incidents;
    update(&mut s, Msg::Resize(160, 45));
    let id = s.selected_incident().unwrap().id.as_str().to_string();
    let who = |actor: &str, host: &str, what: &str, detail: &str| Presence {
        actor: SafeText::line(actor),
        host: SafeText::line(host),
        what: SafeText::line(what),
        detail: SafeText::line(detail),
    };
    update(
        &mut s,
        Msg::Presence {
            incident: id,
            others: vec![
                who("dana", "dana-laptop", "viewing", ""),
                who("lee", "lee-box", "acting", "rollback"),
            ],
        },
    );
    let out = text(&draw(&mut s, 160, 45));
    assert!(
        out.contains("also here dana@dana-laptop (viewing)")
            && out.contains("          lee@lee-box (acting: rollback)"),
        "{out}"
    );
    snap!("view_incidents_presence_160x45", out);
}

/// The details pane of a PagerDuty incident with its history and notes
/// read (issue 23), at both sizes.
#[test]
fn incident_details_with_log_entries() {
    use sitrep::model::{IncidentDetails, LogLine, NoteLine};
    use sitrep::text::SafeText;
    let at = |h, m| {
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, h, m, 0)
            .single()
            .unwrap()
    };
    let entry = |h, m, kind: &str, what: &str| LogLine {
        at: at(h, m),
        kind: SafeText::line(kind),
        agent: Some(SafeText::line("Dana Kim")),
        summary: SafeText::line(what),
    };
    for (w, h) in [(80, 24), (160, 45)] {
        let mut s = state();
        key(&mut s, KeyCode::Char('2'));
        let i = s.selected_incident().unwrap().clone();
        assert_eq!(i.provider.as_str(), "pd");
        update(
            &mut s,
            Msg::IncidentDetails {
                provider: "pd".into(),
                id: i.id.as_str().into(),
                result: Ok(IncidentDetails {
                    log: vec![
                        entry(
                            3,
                            2,
                            "escalate_log_entry",
                            "Escalated to level 2 by Dana Kim.",
                        ),
                        entry(3, 0, "annotate_log_entry", "Note added by Dana Kim."),
                        entry(2, 58, "acknowledge_log_entry", "Acknowledged by Dana Kim."),
                        entry(2, 51, "trigger_log_entry", "Triggered through the API."),
                    ],
                    notes: vec![NoteLine {
                        at: at(3, 0),
                        author: Some(SafeText::line("Dana Kim")),
                        text: SafeText::line("rolled back v1.4.2, watching errors"),
                    }],
                    assignees: vec![SafeText::line("Dana Kim")],
                    responders: vec![SafeText::line("Dana Kim")],
                }),
            },
        );
        let t = draw(&mut s, w, h);
        let out = text(&t);
        assert!(out.contains("Escalated to level 2"), "{out}");
        snap!(format!("incident_details_log_{w}x{h}"), out);
    }
}
