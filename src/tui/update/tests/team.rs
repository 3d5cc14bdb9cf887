//! Team mode in the console: shared ticks arrive as messages and mark the
//! item with who ticked it; presence follows the incident in view.

use super::*;
use crate::team::{Presence, Tick};
use crate::text::SafeText;

fn team_state() -> State {
    let mut s = demo_state();
    s.team = Some(crate::team::Status {
        reachable: Some(true),
        ..Default::default()
    });
    s
}

fn tick(incident: &str, item: u32, checked: bool, minute: u32, own: bool) -> Tick {
    Tick {
        incident: incident.into(),
        runbook: "rollback".into(),
        step: 1,
        item,
        checked,
        actor: SafeText::line("dana"),
        host: SafeText::line("dana-laptop"),
        session: "s-dana".into(),
        at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 14, minute, 0)
            .single(),
        own,
    }
}

fn walk_text(s: &State) -> String {
    let w = s.runbooks.walk.as_ref().unwrap();
    crate::present::runbook::render_walk(w, &s.theme, 120)
        .lines
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .map(|sp| sp.content.as_ref())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[test]
fn a_shared_tick_marks_the_item_with_who_ticked_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = team_state();
    let eff = walk::open_walk(&mut s, "rollback", Some("Q1CHK5XZ01".into()));
    let Some(Effect::OpenWalk {
        runbook, bindings, ..
    }) = eff.into_iter().next()
    else {
        panic!("no walk")
    };
    let w = crate::runbooks::walk::Walk::open(dir.path(), &runbook, Some("Q1CHK5XZ01"))
        .with_bindings(&bindings);
    let (fx, _) = update(&mut s, Msg::WalkOpened(Box::new(w)));
    assert!(
        fx.contains(&Effect::LoadTicks {
            incident: "Q1CHK5XZ01".into(),
            runbook: "rollback".into()
        }),
        "the walk reads the team's ticks: {fx:?}"
    );

    // Another incident's tick is not this walk's.
    let (fx, dirty) = update(
        &mut s,
        Msg::SharedTicks(vec![tick("OTHER", 0, true, 2, false)]),
    );
    assert!(fx.is_empty() && !dirty);
    assert!(!s.runbooks.walk.as_ref().unwrap().progress.is_checked(1, 0));

    let (fx, dirty) = update(
        &mut s,
        Msg::SharedTicks(vec![tick("Q1CHK5XZ01", 0, true, 2, false)]),
    );
    assert!(dirty);
    assert!(
        matches!(fx.as_slice(), [Effect::SaveProgress { progress, .. }] if progress.is_checked(1, 0)),
        "the ticked item is saved locally: {fx:?}"
    );
    let w = s.runbooks.walk.as_ref().unwrap();
    assert!(w.progress.is_checked(1, 0));
    assert_eq!(
        w.ticked_by(1)[0].as_deref(),
        Some("✓ dana@dana-laptop 14:02")
    );
    let text = walk_text(&s);
    let line = text
        .lines()
        .find(|l| l.contains("Ack the incident"))
        .unwrap_or_default();
    assert!(
        line.contains("[x]") && line.contains("✓ dana@dana-laptop 14:02"),
        "{text}"
    );

    // An older tick (database time) does not undo a newer one.
    update(
        &mut s,
        Msg::SharedTicks(vec![tick("Q1CHK5XZ01", 0, false, 1, false)]),
    );
    assert!(s.runbooks.walk.as_ref().unwrap().progress.is_checked(1, 0));

    // Unticked by someone else: the item follows, and says who.
    update(
        &mut s,
        Msg::SharedTicks(vec![tick("Q1CHK5XZ01", 0, false, 4, false)]),
    );
    let w = s.runbooks.walk.as_ref().unwrap();
    assert!(!w.progress.is_checked(1, 0));
    assert_eq!(
        w.ticked_by(1)[0].as_deref(),
        Some("✗ dana@dana-laptop 14:04")
    );

    // A local tick forgets the shared name until the team echoes it.
    let (fx, _) = update(&mut s, key(' '));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::RecordStep(_))),
        "the tick is audited: {fx:?}"
    );
    let w = s.runbooks.walk.as_ref().unwrap();
    assert!(w.progress.is_checked(1, 0));
    assert_eq!(w.ticked_by(1)[0], None);
    // Another's tick heard before the echo reached the database first:
    // the local tick, on its way, wins there, and here.
    let older = tick("Q1CHK5XZ01", 0, false, 5, false);
    update(&mut s, Msg::SharedTicks(vec![older]));
    assert!(s.runbooks.walk.as_ref().unwrap().progress.is_checked(1, 0));
    // So does this console's own earlier echo that disagrees.
    let stale_echo = tick("Q1CHK5XZ01", 0, false, 5, true);
    update(&mut s, Msg::SharedTicks(vec![stale_echo]));
    assert!(s.runbooks.walk.as_ref().unwrap().progress.is_checked(1, 0));
    // The echo names this console; after it, others' ticks apply again.
    let mut echo = tick("Q1CHK5XZ01", 0, true, 6, true);
    echo.actor = SafeText::line("me");
    update(&mut s, Msg::SharedTicks(vec![echo]));
    let w = s.runbooks.walk.as_ref().unwrap();
    assert_eq!(w.ticked_by(1)[0].as_deref(), Some("✓ me@dana-laptop 14:06"));
    let newer = tick("Q1CHK5XZ01", 0, false, 7, false);
    update(&mut s, Msg::SharedTicks(vec![newer]));
    assert!(!s.runbooks.walk.as_ref().unwrap().progress.is_checked(1, 0));
}

/// The team mode effects among `fx` (the details pane's own reads aside).
fn team_fx(fx: Vec<Effect>) -> Vec<Effect> {
    fx.into_iter()
        .filter(|e| matches!(e, Effect::Focus(_) | Effect::LoadTicks { .. }))
        .collect()
}

#[test]
fn presence_follows_the_incident_in_view() {
    let mut s = team_state();
    s.ui.view = View::Incidents;
    let (fx, _) = update(&mut s, Msg::Resize(160, 45));
    let id = s.selected_incident().unwrap().id.as_str().to_string();
    assert_eq!(team_fx(fx), vec![Effect::Focus(Some(id.clone()))]);
    // Nothing new: no second effect.
    let (fx, _) = update(&mut s, Msg::Resize(160, 45));
    assert!(team_fx(fx.clone()).is_empty(), "{fx:?}");

    let lee = Presence {
        actor: SafeText::line("lee"),
        host: SafeText::line("box"),
        what: SafeText::line("acting"),
        detail: SafeText::line("rollback"),
    };
    let (_, dirty) = update(
        &mut s,
        Msg::Presence {
            incident: "NOT-IN-VIEW".into(),
            others: vec![lee.clone()],
        },
    );
    assert!(!dirty && s.presence.others.is_empty());
    let (_, dirty) = update(
        &mut s,
        Msg::Presence {
            incident: id.clone(),
            others: vec![lee.clone()],
        },
    );
    assert!(dirty);
    assert_eq!(s.presence.others, vec![lee]);

    // Leaving the incident: the others are forgotten, the row goes.
    s.ui.view = View::Slos;
    let (fx, _) = update(&mut s, Msg::Resize(160, 45));
    assert_eq!(team_fx(fx), vec![Effect::Focus(None)]);
    assert!(s.presence.others.is_empty());
}

#[test]
fn without_team_mode_nothing_is_shared() {
    let mut s = demo_state();
    s.ui.view = View::Incidents;
    let (fx, _) = update(&mut s, Msg::Resize(160, 45));
    assert!(team_fx(fx.clone()).is_empty(), "{fx:?}");
    let dir = tempfile::tempdir().unwrap();
    open_walk_in(&mut s, "rollback", Some("Q1CHK5XZ01"), dir.path());
    let (fx, _) = update(&mut s, key(' '));
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::LoadTicks { .. } | Effect::Focus(_))),
        "{fx:?}"
    );
}
