use super::*;
use crate::store::Store;
use chrono::TimeZone;

pub fn demo_state() -> State {
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .unwrap();
    let demo = crate::sim::demo::start(now).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::fetch_all(&demo.registry, None));
    let mut s = State::new(store, crate::theme::Theme::default_theme(), now);
    s.runbooks.services = demo.config.service;
    s.runbooks.catalog = std::sync::Arc::new(crate::runbooks::Catalog::bundled());
    s.demo = true;
    s.rebuild();
    s
}

/// The console tells a write whose outcome is unknown (the request
/// may have landed) from one that was refused or failed.
#[test]
fn outcome_unknown_is_told_apart_from_a_refusal() {
    use crate::providers::{ErrorKind, ProviderError};
    let mut s = demo_state();
    let cut = ProviderError::new("pd", ErrorKind::Unknown, "connection reset after send");
    update(&mut s, Msg::Executed(Err(ExecError::Provider(cut))));
    let Some(Modal::Error { title, text }) = &s.ui.modal else {
        panic!("no error modal: {:?}", s.ui.modal);
    };
    assert!(title.starts_with("Outcome unknown"), "{title}");
    assert!(text.contains("connection reset"), "{text}");
    update(&mut s, Msg::Executed(Err(ExecError::ReadOnly)));
    let Some(Modal::Error { title, .. }) = &s.ui.modal else {
        panic!("no error modal: {:?}", s.ui.modal);
    };
    assert_eq!(title, "Action failed");
    assert_eq!(s.ui.toasts.last().map(|t| t.kind), Some(ToastKind::Error));
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

#[test]
fn number_keys_and_tab_switch_views() {
    let mut s = demo_state();
    update(&mut s, key('3'));
    assert_eq!(s.ui.view, View::Slos);
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.ui.view, View::Deploys);
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.ui.view, View::Dashboard);
}

#[test]
fn q_quits_and_help_toggles() {
    let mut s = demo_state();
    update(&mut s, key('?'));
    assert!(s.ui.help);
    let (fx, _) = update(&mut s, key('q'));
    assert!(
        !s.ui.help && !s.ui.quit && fx.is_empty(),
        "q closes help first"
    );
    let (fx, _) = update(&mut s, key('q'));
    assert!(s.ui.quit);
    assert_eq!(fx, vec![Effect::Quit]);
}

#[test]
fn the_timeline_is_built_only_when_shown_and_its_selection_clamped_then() {
    let mut s = demo_state();
    assert!(s.timeline_built(), "the dashboard marks its suspects");
    update(&mut s, key('2'));
    s.rebuild();
    assert!(
        !s.timeline_built(),
        "a rebuild on the incidents view built the timeline"
    );
    s.list_mut(View::Timeline).selected = 10_000;
    s.rebuild();
    assert!(!s.timeline_built());
    update(&mut s, key('8'));
    assert!(s.timeline_built());
    let n = s.len(View::Timeline);
    assert!(n > 0);
    assert_eq!(s.list(View::Timeline).selected, n - 1);
}

#[test]
fn selection_is_clamped() {
    let mut s = demo_state();
    update(&mut s, key('2'));
    for _ in 0..50 {
        update(&mut s, key('j'));
    }
    assert_eq!(s.list(View::Incidents).selected, s.len(View::Incidents) - 1);
    update(&mut s, key('g'));
    assert_eq!(s.list(View::Incidents).selected, 0);
    update(&mut s, key('k'));
    assert_eq!(s.list(View::Incidents).selected, 0);
}

#[test]
fn filter_narrows_the_list() {
    let mut s = demo_state();
    update(&mut s, key('2'));
    let all = s.len(View::Incidents);
    update(&mut s, key('/'));
    for c in "search".chars() {
        update(&mut s, key(c));
    }
    update(&mut s, code(KeyCode::Enter));
    assert!(!s.ui.filter_editing);
    let n = s.len(View::Incidents);
    assert!(n > 0 && n < all, "{n} of {all}");
    assert!(
        s.incidents(View::Incidents)
            .iter()
            .all(|i| i.title.as_str().contains("search")
                || i.service.as_ref().is_some_and(|x| x.as_str() == "search"))
    );
}

#[test]
fn ack_plans_then_confirm_executes() {
    let mut s = demo_state();
    update(&mut s, key('2'));
    let sel = s.selected_incident().unwrap().clone();
    assert!(sel.status.is_unacked());
    let (fx, _) = update(&mut s, key('a'));
    let Effect::Plan { op, .. } = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(
        op,
        &WriteOp::IncidentAck {
            provider: Some("pd".into()),
            id: sel.id.as_str().into()
        }
    );
    assert!(matches!(s.ui.modal, Some(Modal::Planning { .. })));
    let plan = Plan {
        precondition: crate::ops::Precondition::None,
        environment: None,
        op: op.clone(),
        provider: "pd".into(),
        summary: "ack".into(),
        stakes: vec![],
        requests: vec![],
        detail: serde_json::Value::Null,
    };
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason: String::new(),
        },
    );
    assert!(matches!(
        s.ui.modal,
        Some(Modal::Confirm { need: None, .. })
    ));
    let (fx, _) = update(&mut s, key('y'));
    assert!(matches!(fx[0], Effect::Execute { .. }));
    update(&mut s, Msg::Executed(Ok("acknowledged".into())));
    assert!(s.ui.modal.is_none());
    assert_eq!(s.ui.toasts.last().map(|t| t.kind), Some(ToastKind::Ok));
}

#[test]
fn kill_switch_needs_reason_and_typed_key() {
    let mut s = demo_state();
    update(&mut s, key('5'));
    let f = s.selected_flag().unwrap().clone();
    assert!(f.on);
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT)),
    );
    assert!(matches!(s.ui.modal, Some(Modal::Input { .. })));
    let (fx, _) = update(&mut s, code(KeyCode::Enter));
    assert!(fx.is_empty(), "empty reason is refused");
    for c in "bad deploy".chars() {
        update(&mut s, key(c));
    }
    let (fx, _) = update(&mut s, code(KeyCode::Enter));
    let Effect::Plan { op, reason } = &fx[0] else {
        panic!()
    };
    assert_eq!(reason, "bad deploy");
    let plan = Plan {
        precondition: crate::ops::Precondition::None,
        environment: None,
        op: op.clone(),
        provider: "ld".into(),
        summary: "off".into(),
        stakes: vec![],
        requests: vec![],
        detail: serde_json::Value::Null,
    };
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason: reason.clone(),
        },
    );
    // 'y' does not confirm a typed confirmation; a wrong name is refused.
    let (fx, _) = update(&mut s, key('y'));
    assert!(fx.is_empty());
    let (fx, _) = update(&mut s, code(KeyCode::Enter));
    assert!(fx.is_empty());
    assert!(matches!(
        s.ui.modal,
        Some(Modal::Confirm { error: Some(_), .. })
    ));
    update(&mut s, code(KeyCode::Backspace));
    for c in f.key.as_str().chars() {
        update(&mut s, key(c));
    }
    let (fx, _) = update(&mut s, code(KeyCode::Enter));
    assert!(matches!(fx[0], Effect::Execute { .. }), "{fx:?}");
}

#[test]
fn read_only_refuses_in_the_ui() {
    let mut s = demo_state();
    s.read_only = true;
    update(&mut s, key('2'));
    let (fx, _) = update(&mut s, key('a'));
    assert!(fx.is_empty());
    assert!(s.ui.modal.is_none());
    assert!(s.ui.toasts.last().unwrap().text.contains("READ-ONLY"));
}

#[test]
fn rollback_of_selected_older_deploy_targets_it() {
    let mut s = demo_state();
    update(&mut s, key('4'));
    let idx = s
        .deploys()
        .iter()
        .position(|d| d.id.as_str() == "1871")
        .unwrap();
    s.list_mut(View::Deploys).selected = idx;
    update(&mut s, key('b'));
    let Some(Modal::Input {
        purpose: InputPurpose::Reason(op),
        ..
    }) = &s.ui.modal
    else {
        panic!()
    };
    assert_eq!(
        op,
        &WriteOp::Rollback {
            provider: Some("gh".into()),
            service: "checkout".into(),
            environment: "production".into(),
            to: Some("1871".into())
        }
    );
}

#[test]
fn poll_error_keeps_data_and_marks_provider() {
    let mut s = demo_state();
    let before = s.snap.incidents.len();
    let at = s.now;
    let (_, dirty) = update(
        &mut s,
        Msg::Poll(PollEvent::Done {
            provider: "pd".into(),
            at,
            result: Err(crate::providers::ProviderError::new(
                "pd",
                crate::providers::ErrorKind::Timeout,
                "",
            )),
        }),
    );
    assert!(dirty);
    assert_eq!(s.snap.incidents.len(), before);
    assert!(
        s.snap
            .providers
            .iter()
            .any(|p| p.name.as_str() == "pd" && !p.ok && p.error.is_some())
    );
}

#[test]
fn mouse_click_selects_the_row_under_it_and_wheel_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut s = demo_state();
    s.ui.size = (160, 45);
    update(&mut s, key('2'));
    // Header 2 lines, table border, column header: data row 0 is y=4.
    let click = |row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 20,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(&mut s, click(6));
    assert_eq!(s.list(View::Incidents).selected, 2);
    update(&mut s, click(2));
    assert_eq!(
        s.list(View::Incidents).selected,
        2,
        "a click on the header changes nothing"
    );
    let wheel = Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 20,
        row: 10,
        modifiers: KeyModifiers::NONE,
    });
    update(&mut s, wheel);
    assert_eq!(s.list(View::Incidents).selected, 3);
    // On the dashboard, rows start below the severity counts (y=4).
    update(&mut s, key('1'));
    update(&mut s, click(5));
    assert_eq!(s.list(View::Dashboard).selected, 1);
}

#[test]
fn idle_ticks_redraw_only_when_the_screen_would_change() {
    let mut s = demo_state();
    // The demo's newest change is minutes old: nothing shows seconds.
    let t0 = s.now;
    assert!(!s.shows_seconds());
    let (_, dirty) = update(&mut s, Msg::Tick(t0));
    assert!(!dirty);
    let within = chrono::Duration::seconds(59 - t0.timestamp() % 60);
    let (_, dirty) = update(&mut s, Msg::Tick(t0 + within));
    assert!(!dirty, "same minute, nothing counted in seconds");
    let (_, dirty) = update(
        &mut s,
        Msg::Tick(t0 + within + chrono::Duration::seconds(1)),
    );
    assert!(dirty, "the minute changed");
    // A fresh incident shows its age in seconds: 1 Hz while it does.
    let now = s.now;
    s.store.slots[0].data.incidents[0].created_at = now - chrono::Duration::seconds(5);
    s.rebuild();
    let (_, dirty) = update(&mut s, Msg::Tick(now + chrono::Duration::seconds(1)));
    assert!(dirty);
}

/// The red production banner follows where the plan writes: a flag
/// provider's configured environment when the op names none.
#[test]
fn the_banner_follows_the_plan_target_environment() {
    let mut s = demo_state();
    let op = WriteOp::FlagSet {
        provider: Some("ld".into()),
        key: "checkout-writes".into(),
        environment: None,
        on: false,
    };
    let plan = |environment: Option<&str>| Plan {
        precondition: crate::ops::Precondition::None,
        environment: environment.map(str::to_string),
        op: op.clone(),
        provider: "ld".into(),
        summary: "off".into(),
        stakes: vec![],
        requests: vec![],
        detail: serde_json::Value::Null,
    };
    for (env, production) in [
        (Some("production"), true),
        (Some("staging"), false),
        (None, false),
    ] {
        update(
            &mut s,
            Msg::Planned {
                result: Ok(plan(env)),
                reason: "r".into(),
            },
        );
        let Some(Modal::Confirm { production: p, .. }) = &s.ui.modal else {
            panic!("no confirmation: {:?}", s.ui.modal);
        };
        assert_eq!(*p, production, "{env:?}");
    }
}

/// Open runbook `id` as the console does (the effect, then the walk read
/// off the loop) and hand the walk to the state.
fn open_walk_in(s: &mut State, id: &str, incident: Option<&str>, dir: &std::path::Path) {
    if s.runbooks.catalog.runbooks.is_empty() {
        s.runbooks.catalog = std::sync::Arc::new(crate::runbooks::Catalog::bundled());
    }
    let effects = walk::open_walk(s, id, incident.map(str::to_string));
    let Some(Effect::OpenWalk {
        runbook,
        incident,
        bindings,
        ..
    }) = effects.into_iter().next()
    else {
        panic!("no walk opened for {id}");
    };
    let w = crate::runbooks::walk::Walk::open(dir, &runbook, incident.as_deref())
        .with_bindings(&bindings);
    update(s, Msg::WalkOpened(Box::new(w)));
}

/// Every write op the walk's action blocks plan, step by step.
fn planned_ops(s: &mut State) -> Vec<WriteOp> {
    let mut ops = Vec::new();
    let steps = s
        .runbooks
        .walk
        .as_ref()
        .map(|w| w.step_count())
        .unwrap_or(0);
    for step in 1..=steps as u32 {
        let n = {
            let w = s.runbooks.walk.as_mut().unwrap();
            w.go_to_step(step);
            w.step().map(|st| st.order.len()).unwrap_or(0)
        };
        for i in 0..n {
            s.runbooks.walk.as_mut().unwrap().cursor = i;
            s.ui.modal = None;
            for e in walk::walk_action(s, Action::RunBlock) {
                if let Effect::Plan { op, .. } = e {
                    ops.push(op);
                }
            }
        }
    }
    ops
}

#[test]
fn rollback_walked_from_a_payments_incident_rolls_back_payments() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_state();
    open_walk_in(&mut s, "rollback", Some("Q1PAY7LAG2"), dir.path());
    let ops = planned_ops(&mut s);
    let rollbacks: Vec<(&str, &str)> = ops
        .iter()
        .filter_map(|o| match o {
            WriteOp::Rollback {
                service,
                environment,
                ..
            } => Some((service.as_str(), environment.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(rollbacks, [("payments", "production")], "{ops:?}");
    for op in &ops {
        let text = format!("{op:?}");
        assert!(!text.contains("checkout"), "{text}");
        if let WriteOp::FlagSet { key, .. } = op {
            // The demo's only kill switch of payments.
            assert_eq!(key, "payments-ledger-async");
        }
        if let WriteOp::IncidentAck { id, .. } | WriteOp::IncidentNote { id, .. } = op {
            assert_eq!(id, "Q1PAY7LAG2");
        }
    }
    // The same runbook from a checkout incident targets checkout.
    let dir2 = tempfile::tempdir().unwrap();
    open_walk_in(&mut s, "rollback", Some("Q1CHK5XZ01"), dir2.path());
    let ops = planned_ops(&mut s);
    assert!(
        ops.iter()
            .any(|o| matches!(o, WriteOp::Rollback { service, .. } if service == "checkout"))
    );
}

#[test]
fn a_walk_asks_for_an_unbound_placeholder_then_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_state();
    // From the runbook list, not an incident: nothing binds {service}.
    s.ui.view = View::Runbooks;
    open_walk_in(&mut s, "rollback", None, dir.path());
    let target = {
        let w = s.runbooks.walk.as_ref().unwrap();
        w.runbook
            .steps
            .iter()
            .find(|st| {
                st.actions()
                    .any(|a| matches!(a.op, WriteOp::Rollback { .. }))
            })
            .map(|st| st.index)
            .unwrap()
    };
    let w = s.runbooks.walk.as_mut().unwrap();
    w.go_to_step(target);
    let pos = w
        .step()
        .unwrap()
        .order
        .iter()
        .position(|f| {
            matches!(f, crate::runbooks::Focus::Block(b)
                if matches!(w.step().unwrap().blocks[*b], crate::runbooks::Block::Action { .. }))
        })
        .unwrap();
    w.cursor = pos;
    let mut asked = Vec::new();
    let mut planned = None;
    let mut effects = walk::walk_action(&mut s, Action::RunBlock);
    let mut saved_service = None;
    for _ in 0..6 {
        for e in &effects {
            if let Effect::SaveProgress { progress, .. } = e {
                saved_service = progress.given.get("service").cloned();
            }
        }
        if let Some(Effect::Plan { op, .. }) =
            effects.iter().find(|e| matches!(e, Effect::Plan { .. }))
        {
            planned = Some(op.clone());
            break;
        }
        let Some(Modal::Input {
            purpose: InputPurpose::Binding { name },
            ..
        }) = s.ui.modal.clone()
        else {
            panic!("neither asked nor planned: {:?}", s.ui.modal);
        };
        asked.push(name.clone());
        let value = match name.as_str() {
            "service" => "payments",
            "env" => "production",
            "incident" => "Q1PAY7LAG2",
            other => panic!("asked for {other}"),
        };
        for c in value.chars() {
            update(&mut s, key(c));
        }
        effects = update(&mut s, code(KeyCode::Enter)).0;
    }
    // {deploy_ref} follows from the typed service (its current deploy).
    assert_eq!(asked, ["service", "env", "incident"]);
    // The typed values are saved with the walk (the hand-off binds its
    // checklist with them).
    assert_eq!(saved_service.as_deref(), Some("payments"));
    let given = &s.runbooks.walk.as_ref().unwrap().progress.given;
    assert_eq!(given.get("env").map(String::as_str), Some("production"));
    assert!(
        matches!(&planned, Some(WriteOp::Rollback { service, environment, .. })
            if service == "payments" && environment == "production"),
        "{planned:?}"
    );
}

/// A state on real providers that never answered: an Alertmanager `am`
/// and a PagerDuty `pd` (with a token), one open incident of each.
fn real_state() -> State {
    use crate::model::{Incident, IncidentStatus, Severity};
    use crate::text::SafeText;
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .unwrap();
    let cfg: crate::config::Config = toml::from_str(
        r#"
[[provider]]
name = "am"
kind = "alertmanager"
base_url = "http://127.0.0.1:9"
allow_insecure_http = true
[[provider]]
name = "pd"
kind = "pagerduty"
token = { env = "SITREP_TEST_TOKEN" }
"#,
    )
    .unwrap();
    struct Token;
    impl crate::secrets::SecretSource for Token {
        fn get(&self, _: &crate::config::SecretRef) -> Result<crate::secrets::Secret, String> {
            Ok(crate::secrets::Secret::new("t"))
        }
    }
    let reg = crate::providers::Registry::from_config(&cfg, &Token);
    let mut store = Store::new(&reg);
    let inc = |provider: &str, id: &str, status| Incident {
        assignee: None,
        created_at: now,
        id: SafeText::line(id),
        labels: Default::default(),
        provider: SafeText::line(provider),
        runbook: None,
        service: Some(SafeText::line("api")),
        severity: Severity::Sev2,
        status,
        title: SafeText::line("HighErrorRate: api 5xx"),
        url: None,
    };
    for slot in &mut store.slots {
        let i = if slot.name == "am" {
            inc("am", "fp1", IncidentStatus::Firing)
        } else {
            inc("pd", "PX1", IncidentStatus::Triggered)
        };
        slot.data.incidents = vec![i];
        slot.fetched_at = Some(now);
    }
    let mut s = State::new(store, crate::theme::Theme::default_theme(), now);
    s.rebuild();
    s
}

fn select_incident_of(s: &mut State, provider: &str) {
    let at = (0..s.len(View::Dashboard))
        .find(|&n| {
            s.incident_at(View::Dashboard, n)
                .is_some_and(|i| i.provider.as_str() == provider)
        })
        .unwrap();
    s.list_mut(View::Dashboard).selected = at;
}

/// No key offers an action the owning provider cannot do: an
/// Alertmanager alert is not offered ack/resolve (pressing `a` says to
/// silence it and sends nothing), a PagerDuty incident is not offered a
/// silence; each offers what it can.
#[test]
fn only_actions_the_owning_provider_can_do_are_offered() {
    let mut s = real_state();
    select_incident_of(&mut s, "am");
    assert!(!s.offers(Action::Ack) && !s.offers(Action::Resolve));
    assert!(s.offers(Action::Silence));
    let (fx, _) = update(&mut s, key('a'));
    assert!(fx.is_empty() && s.ui.modal.is_none(), "{fx:?}");
    let toast = &s.ui.toasts.last().unwrap().text;
    assert!(
        toast.contains("cannot be acknowledged") && toast.contains("silence"),
        "{toast}"
    );
    let labels: Vec<String> = crate::tui::palette::entries(&s)
        .into_iter()
        .map(|e| e.label)
        .collect();
    assert!(!labels.iter().any(|l| l == "ack fp1" || l == "resolve fp1"));
    assert!(labels.iter().any(|l| l == "ack PX1"), "{labels:?}");

    select_incident_of(&mut s, "pd");
    assert!(s.offers(Action::Ack) && !s.offers(Action::Silence));
    let (fx, _) = update(&mut s, key('s'));
    assert!(fx.is_empty() && s.ui.modal.is_none(), "{fx:?}");
    let toast = &s.ui.toasts.last().unwrap().text;
    assert!(toast.contains("acknowledge"), "{toast}");
    let (fx, _) = update(&mut s, key('a'));
    assert!(matches!(fx.as_slice(), [Effect::Plan { .. }]), "{fx:?}");
}

fn screen(s: &State, w: u16, h: u16) -> Vec<String> {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    t.draw(|f| crate::tui::ui::render(f, s)).unwrap();
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect()
}

/// The dashboard's footer offers what the selected row's provider can
/// do, at 80 columns: silence for an alert, acknowledge for an incident.
#[test]
fn the_dashboard_footer_offers_the_selected_rows_actions() {
    let mut s = real_state();
    select_incident_of(&mut s, "am");
    let foot = screen(&s, 80, 24).pop().unwrap();
    assert!(foot.contains("s silence alert"), "{foot}");
    assert!(!foot.contains("acknowledge"), "{foot}");
    select_incident_of(&mut s, "pd");
    let foot = screen(&s, 80, 24).pop().unwrap();
    assert!(foot.contains("a acknowledge"), "{foot}");
    assert!(!foot.contains("silence"), "{foot}");
}

/// Messages take rows of their own above the footer: the frame's bottom
/// border and every row of content stay whole; a long message wraps
/// instead of being cut; the same message twice shows once; they go after
/// 8 s.
#[test]
fn toasts_take_their_own_rows_do_not_stack_and_time_out() {
    let mut s = real_state();
    let before = screen(&s, 80, 24);
    select_incident_of(&mut s, "am");
    update(&mut s, key('a'));
    update(&mut s, key('a'));
    assert_eq!(s.ui.toasts.len(), 1, "{:?}", s.ui.toasts);
    let after = screen(&s, 80, 24);
    let text = after.join("\n");
    // The whole message, wrapped, with the alternative.
    let msg: Vec<&String> = after
        .iter()
        .filter(|l| !l.starts_with('│') && !l.starts_with('╭') && !l.starts_with('╰'))
        .collect();
    assert!(
        text.contains("✗ am (alertmanager): Alertmanager alerts cannot be"),
        "{text}"
    );
    assert!(msg.iter().any(|l| l.contains("silence")), "{text}");
    // Every panel still closes with its bottom border.
    let closes = |rows: &[String]| rows.iter().filter(|l| l.starts_with('╰')).count();
    assert_eq!(closes(&after), closes(&before), "{text}");
    assert!(
        text.contains("it resolves when its condition clears"),
        "{text}"
    );
    let later = s.now + chrono::Duration::seconds(9);
    update(&mut s, Msg::Tick(later));
    assert!(s.ui.toasts.is_empty());
    assert_eq!(screen(&s, 80, 24).len(), 24);
}

/// Feasibility comes before the reason: the rollback key opens the
/// reason prompt and checks the plan at once; "nothing earlier to roll
/// back to" replaces the prompt before anything is typed, and a plan that
/// can be made shows what it will do while the reason is typed.
#[test]
fn rollback_feasibility_is_checked_before_the_reason() {
    let mut s = demo_state();
    update(&mut s, key('4'));
    let (fx, _) = update(&mut s, key('b'));
    let [Effect::Probe(op)] = fx.as_slice() else {
        panic!("no probe: {fx:?}");
    };
    let op = op.clone();
    assert!(matches!(
        &s.ui.modal,
        Some(Modal::Input {
            purpose: InputPurpose::Reason(_),
            ..
        })
    ));
    // An answer for another action is not this one's.
    let other = WriteOp::IncidentAck {
        provider: None,
        id: "x".into(),
    };
    update(
        &mut s,
        Msg::Probed {
            op: other,
            result: Err("no".into()),
        },
    );
    assert!(matches!(&s.ui.modal, Some(Modal::Input { .. })));
    update(
        &mut s,
        Msg::Probed {
            op: op.clone(),
            result: Ok("roll back to v2.13.9".into()),
        },
    );
    assert_eq!(
        s.ui.probe.as_ref().and_then(|p| p.summary.as_deref()),
        Some("roll back to v2.13.9")
    );
    update(
        &mut s,
        Msg::Probed {
            op,
            result: Err("nothing earlier to roll back to".into()),
        },
    );
    let Some(Modal::Error { title, text }) = &s.ui.modal else {
        panic!("{:?}", s.ui.modal);
    };
    assert!(title.starts_with("Cannot rollback"), "{title}");
    assert_eq!(text, "nothing earlier to roll back to");
}

/// Enter on the dashboard's incident walks its runbook; Esc comes back to
/// the dashboard on that incident. An incident with no runbook says so.
#[test]
fn enter_walks_the_incidents_runbook_and_esc_returns_to_it() {
    let mut s = demo_state();
    let n = s.len(View::Dashboard);
    let at = (0..n)
        .find(|&k| {
            s.incident_at(View::Dashboard, k)
                .is_some_and(|i| i.runbook.is_some())
                && k > 0
        })
        .expect("a linked incident below the first");
    s.list_mut(View::Dashboard).selected = at;
    let id = s.selected_incident().unwrap().id.to_string();
    let (fx, _) = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::OpenWalk { incident: Some(i), .. }] if *i == id),
        "{fx:?}"
    );
    assert_eq!(s.ui.view, View::Runbooks);
    let Some(Effect::OpenWalk { runbook, .. }) = fx.into_iter().next() else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let walk = crate::runbooks::walk::Walk::open(dir.path(), &runbook, Some(&id));
    update(&mut s, Msg::WalkOpened(Box::new(walk)));
    s.list_mut(View::Dashboard).selected = 0;
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.ui.view, View::Dashboard);
    assert_eq!(s.selected_incident().unwrap().id.as_str(), id);

    // No runbook: said, not silently nothing.
    update(&mut s, key('2'));
    let k = (0..s.len(View::Incidents))
        .find(|&k| {
            s.incident_at(View::Incidents, k)
                .is_some_and(|i| i.runbook.is_none())
        })
        .expect("an incident without a runbook");
    s.list_mut(View::Incidents).selected = k;
    let (fx, _) = update(&mut s, code(KeyCode::Enter));
    assert!(fx.is_empty());
    let toast = &s.ui.toasts.last().unwrap().text;
    assert!(toast.starts_with("no runbook is linked"), "{toast}");
}

/// The dashboard knows the suspect changes: the checkout production deploy
/// shortly before the checkout SEV1, and that incident names it.
#[test]
fn the_dashboard_marks_the_suspect_deploy_and_its_incident() {
    let s = demo_state();
    let sus = s.suspects();
    let checkout = s
        .snap
        .deploys
        .iter()
        .find(|d| {
            d.service.as_str() == "checkout" && d.current && s.is_production(d.environment.as_str())
        })
        .unwrap();
    let key = format!("{}/{}", checkout.provider, checkout.id);
    assert!(sus.deploys.contains_key(&key), "{:?}", sus.deploys);
    let sev1 = s
        .snap
        .incidents
        .iter()
        .find(|i| i.severity == crate::model::Severity::Sev1)
        .unwrap();
    let why = &sus.incidents[sev1.id.as_str()];
    assert!(
        why.iter().any(|w| w.contains(checkout.git_ref.as_str())),
        "{why:?}"
    );
}

#[test]
fn a_resumed_walk_keeps_its_typed_service_and_what_follows_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_state();
    s.ui.view = View::Runbooks;
    // A walk for an incident the providers no longer list (no service to
    // bind from it), where the responder typed the service.
    let mut p = crate::runbooks::Progress::new("rollback", Some("INC-GONE"));
    p.given.insert("service".into(), "payments".into());
    p.save(dir.path(), s.now).unwrap();
    open_walk_in(&mut s, "rollback", Some("INC-GONE"), dir.path());
    let w = s.runbooks.walk.as_ref().unwrap();
    assert_eq!(w.bindings.get("service"), Some("payments"));
    // Derived from the resumed service: its current production deploy.
    let current = s
        .snap
        .deploys
        .iter()
        .find(|d| {
            d.current && d.service.as_str() == "payments" && d.environment.as_str() == "production"
        })
        .map(|d| d.git_ref.as_str().to_string());
    assert!(current.is_some(), "the demo has a current payments deploy");
    assert_eq!(w.bindings.get("deploy_ref").map(str::to_string), current);
}

/// `o` where no browser can open: the whole URL is shown for copying (not
/// cut at the screen's width) and put on the clipboard.
#[test]
fn no_browser_shows_the_whole_url_and_copies_it() {
    let mut s = real_state();
    let url = format!(
        "https://grafana.example.com/d/api-slo?orgId=1&var-service=api&from=now-24h&to=now&{}",
        "x".repeat(120)
    );
    let (fx, _) = update(&mut s, Msg::NoBrowser(url.clone()));
    assert!(
        matches!(fx.as_slice(), [Effect::Copy(u)] if *u == url),
        "{fx:?}"
    );
    let rows = screen(&s, 80, 24);
    // The URL's characters, read back in order from the dialog's rows.
    let top = rows
        .iter()
        .position(|r| r.contains("╭ No browser"))
        .unwrap();
    let chars: Vec<Vec<char>> = rows.iter().map(|r| r.chars().collect()).collect();
    // The dialog's corners: the last ones on its top row.
    let left = chars[top].iter().rposition(|&c| c == '╭').unwrap();
    let right = chars[top].iter().rposition(|&c| c == '╮').unwrap();
    let inside: String = chars[top + 1..]
        .iter()
        .map(|r| r[left + 1..right.min(r.len())].iter().collect::<String>())
        .map(|r| r.trim().to_string())
        .collect();
    assert!(inside.contains(&url), "{}", rows.join("\n"));
    assert!(rows.join("\n").contains("No browser here"));
}

/// Running a step's action ticks the step's item that names it: the ack
/// in step 1 of the rollback runbook ticks "Ack the incident" (recorded
/// and saved like a tick by hand); an action no item names ticks nothing;
/// an action from outside the walk ticks nothing.
#[test]
fn running_a_steps_action_ticks_that_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = demo_state();
    open_walk_in(&mut s, "rollback", Some("Q1CHK5XZ01"), dir.path());
    let ack = WriteOp::IncidentAck {
        provider: Some("pd".into()),
        id: "Q1CHK5XZ01".into(),
    };
    let rb = |step| {
        Some(crate::audit::RunbookRef {
            id: "rollback".into(),
            step,
        })
    };
    // Outside the walk: nothing.
    let (fx, _) = update(
        &mut s,
        Msg::Acted {
            op: ack.clone(),
            runbook: None,
        },
    );
    assert!(fx.is_empty(), "{fx:?}");
    let (fx, _) = update(
        &mut s,
        Msg::Acted {
            op: ack.clone(),
            runbook: rb(1),
        },
    );
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::RecordStep(WriteOp::RunbookStep {
                step: 1,
                item: Some(0),
                ..
            })
        )),
        "{fx:?}"
    );
    assert!(
        fx.iter().any(|e| matches!(e, Effect::SaveProgress { .. })),
        "{fx:?}"
    );
    let w = s.runbooks.walk.as_ref().unwrap();
    assert!(w.progress.is_checked(1, 0));
    assert_eq!(w.progress.step_counts(&w.runbook, 1).0, 1);
    // Step 1 names no rollback ("Roll back" is step 4's): nothing more.
    let back = WriteOp::Rollback {
        provider: None,
        service: "checkout".into(),
        environment: "production".into(),
        to: None,
    };
    let (fx, _) = update(
        &mut s,
        Msg::Acted {
            op: back,
            runbook: rb(1),
        },
    );
    assert!(fx.is_empty(), "{fx:?}");
    let w = s.runbooks.walk.as_ref().unwrap();
    assert_eq!(w.progress.step_counts(&w.runbook, 1).0, 1);
}

/// A wider screen never shows fewer incident columns than a narrow one
/// (the service column at 80, 120 and 200 columns), and a tall wide
/// screen uses its room for what changed, suspects marked.
#[test]
fn wider_screens_show_no_less_and_tall_ones_show_what_changed() {
    let s = demo_state();
    let sev1 = |rows: &[String]| {
        rows.iter()
            .find(|r| r.contains("SEV1") && r.contains("TRIGGERED"))
            .cloned()
            .unwrap_or_default()
    };
    for (w, h) in [(80, 24), (120, 35), (160, 45), (200, 60)] {
        let rows = screen(&s, w, h);
        let row = sev1(&rows);
        assert!(
            row.contains("checkout"),
            "{w}x{h}: {row}\n{}",
            rows.join("\n")
        );
    }
    let tall = screen(&s, 200, 60).join("\n");
    assert!(tall.contains("What changed, 12h"), "{tall}");
    assert!(tall.contains("◆ SUSPECT"), "{tall}");
    assert!(!screen(&s, 160, 45).join("\n").contains("What changed"));
}

/// Team mode: a target leased by another responder opens the
/// confirmation again, as a takeover; an unreachable team database is
/// said in the header and in the confirmation.
#[test]
fn a_leased_target_offers_a_takeover_and_an_unreachable_team_log_is_shown() {
    let mut s = demo_state();
    let op = WriteOp::IncidentAck {
        provider: Some("pd".into()),
        id: "Q1".into(),
    };
    let plan = Plan {
        precondition: crate::ops::Precondition::None,
        environment: None,
        op,
        provider: "pd".into(),
        summary: "ack".into(),
        stakes: vec![],
        requests: vec![],
        detail: serde_json::Value::Null,
    };
    update(
        &mut s,
        Msg::Leased {
            plan: Box::new(plan),
            reason: "mine".into(),
            holder: "dana@x is acknowledging Q1, 40s ago".into(),
        },
    );
    let Some(Modal::Confirm {
        take_over: true,
        error: Some(e),
        ..
    }) = &s.ui.modal
    else {
        panic!("no takeover confirmation: {:?}", s.ui.modal);
    };
    assert!(e.contains("dana@x is acknowledging Q1") && e.contains("take the lease over"));
    let (fx, _) = update(&mut s, key('y'));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Execute {
                take_over: true,
                ..
            }]
        ),
        "{fx:?}"
    );

    let st = crate::team::Status {
        reachable: Some(false),
        error: Some("team database: connection refused".into()),
        unsynced: 3,
    };
    update(&mut s, Msg::TeamStatus(st));
    assert_eq!(s.ui.toasts.last().map(|t| t.kind), Some(ToastKind::Error));
    let backend = ratatui::backend::TestBackend::new(140, 30);
    let mut term = ratatui::Terminal::new(backend).unwrap();
    term.draw(|f| crate::tui::ui::render(f, &s)).unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        screen.contains("TEAM LOG UNREACHABLE · 3 unsynced"),
        "{screen}"
    );
    update(
        &mut s,
        Msg::TeamStatus(crate::team::Status {
            reachable: Some(true),
            error: None,
            unsynced: 0,
        }),
    );
    assert_eq!(s.ui.toasts.last().map(|t| t.kind), Some(ToastKind::Ok));
    term.draw(|f| crate::tui::ui::render(f, &s)).unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(!screen.contains("UNREACHABLE"));
}
