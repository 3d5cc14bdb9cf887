//! The console on real providers: only possible actions, messages,
//! feasibility, suspects, widths, no browser, walks ticked by their
//! actions, team mode.

use super::*;

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
    // `b` opens the target picker on the provider's own choice; Enter
    // takes it to the reason.
    let (fx, _) = update(&mut s, key('b'));
    assert!(fx.is_empty(), "{fx:?}");
    let Some(Modal::RollbackPick(p)) = &s.ui.modal else {
        panic!("no picker: {:?}", s.ui.modal);
    };
    assert_eq!(p.selected, 0);
    assert_eq!(p.rows[0].id, None);
    let (fx, _) = update(&mut s, code(KeyCode::Enter));
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
    // No walk: at most the details read of the incident now open.
    assert!(
        fx.iter().all(|f| matches!(f, Effect::LoadDetails { .. })),
        "{fx:?}"
    );
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
    let plan = ack_plan(op);
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
