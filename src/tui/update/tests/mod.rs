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
    let plan = ack_plan(op.clone());
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
    // The picker stands on the deploy selected; Enter takes it.
    let Some(Modal::RollbackPick(p)) = &s.ui.modal else {
        panic!("no picker: {:?}", s.ui.modal);
    };
    assert_eq!(p.rows[p.selected].id.as_deref(), Some("1871"));
    update(&mut s, code(KeyCode::Enter));
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

mod console;
mod depth;
mod silences;
mod team;

/// A plan for `op` that writes nothing (the console's flow is what is tested).
fn ack_plan(op: WriteOp) -> Plan {
    Plan {
        precondition: crate::ops::Precondition::None,
        environment: None,
        op: op.clone(),
        provider: "pd".into(),
        summary: "ack".into(),
        stakes: vec![],
        requests: vec![],
        detail: serde_json::Value::Null,
    }
}
