//! Incident depth (issue 23) at the update level: the details read on
//! demand (once, as an effect), its answer rendered or its failure said
//! in words; rows marked with Space and acknowledged together after one
//! confirmation that lists them; escalate and snooze in the palette.

use super::*;
use crate::model::{Incident, IncidentDetails, LogLine, NoteLine};
use crate::text::SafeText;

fn at(h: u32, m: u32) -> Time {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, h, m, 0)
        .single()
        .unwrap()
}

pub fn sample_details() -> IncidentDetails {
    let line = |h, m, kind: &str, who: &str, what: &str| LogLine {
        at: at(h, m),
        kind: SafeText::line(kind),
        agent: Some(SafeText::line(who)),
        summary: SafeText::line(what),
    };
    IncidentDetails {
        log: vec![
            line(
                3,
                2,
                "escalate_log_entry",
                "Dana Kim",
                "Escalated to level 2 by Dana Kim.",
            ),
            line(
                2,
                58,
                "acknowledge_log_entry",
                "Dana Kim",
                "Acknowledged by Dana Kim.",
            ),
            line(
                2,
                51,
                "trigger_log_entry",
                "checkout",
                "Triggered through the API.",
            ),
        ],
        notes: vec![NoteLine {
            at: at(3, 0),
            author: Some(SafeText::line("Dana Kim")),
            text: SafeText::line("rolled back v1.4.2, watching errors"),
        }],
        assignees: vec![SafeText::line("Dana Kim")],
        responders: vec![SafeText::line("Dana Kim")],
    }
}

fn screen(s: &State, w: u16, h: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    t.draw(|f| crate::tui::ui::render(f, s)).unwrap();
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

/// The selected PagerDuty incident in the Incidents view, and the read
/// the view asked for on the way there.
fn open_pd_incident(s: &mut State) -> (String, Vec<Effect>) {
    let (mut fx, _) = update(s, key('2'));
    let k = (0..s.len(View::Incidents))
        .find(|&k| {
            s.incident_at(View::Incidents, k)
                .is_some_and(|i| i.provider.as_str() == "pd")
        })
        .expect("a PagerDuty incident in the demo");
    s.list_mut(View::Incidents).selected = k;
    fx.extend(tick(s).0);
    let id = s.selected_incident().unwrap().id.as_str().to_string();
    (id, fx)
}

#[test]
fn details_are_read_once_when_shown_and_rendered() {
    let mut s = demo_state();
    let (id, fx) = open_pd_incident(&mut s);
    let reads: Vec<&Effect> = fx
        .iter()
        .filter(|f| matches!(f, Effect::LoadDetails { .. }))
        .collect();
    assert_eq!(
        reads,
        vec![&Effect::LoadDetails {
            provider: "pd".into(),
            id: id.clone()
        }],
        "one read, of the incident shown"
    );
    assert!(screen(&s, 160, 45).contains("history: reading…"));
    // In flight: not asked again.
    let (fx, _) = tick(&mut s);
    assert!(fx.is_empty(), "{fx:?}");
    update(
        &mut s,
        Msg::IncidentDetails {
            provider: "pd".into(),
            id: id.clone(),
            result: Ok(sample_details()),
        },
    );
    let out = screen(&s, 160, 45);
    assert!(out.contains("history (3, newest first)"), "{out}");
    assert!(
        out.contains("03:02Z Escalated to level 2 by Dana Kim."),
        "{out}"
    );
    assert!(out.contains("rolled back v1.4.2"), "{out}");
    assert!(out.contains("acked by"), "{out}");
    // Newest first on screen.
    let esc = out.find("Escalated to level 2").unwrap();
    let trig = out.find("Triggered through the API").unwrap();
    assert!(esc < trig);
    // Cached: moving away and back asks nothing.
    update(&mut s, key('j'));
    update(&mut s, key('k'));
    let (fx, _) = tick(&mut s);
    assert!(
        !fx.iter()
            .any(|f| matches!(f, Effect::LoadDetails { id: i, .. } if *i == id)),
        "{fx:?}"
    );
    // `r` reads it again, with everything else.
    let (fx, _) = update(&mut s, key('r'));
    assert!(fx.contains(&Effect::Refresh), "{fx:?}");
    assert!(
        fx.iter()
            .any(|f| matches!(f, Effect::LoadDetails { id: i, .. } if *i == id)),
        "{fx:?}"
    );
}

#[test]
fn a_failed_read_is_said_and_the_rest_keeps_working() {
    let mut s = demo_state();
    let (id, _) = open_pd_incident(&mut s);
    update(
        &mut s,
        Msg::IncidentDetails {
            provider: "pd".into(),
            id,
            result: Err("pd: rate limited (429): GET /incidents/X/log_entries".into()),
        },
    );
    let out = screen(&s, 160, 45);
    assert!(
        out.contains("history unavailable: pd: rate limited (429)"),
        "{out}"
    );
    // The list and its keys still work.
    assert!(out.contains("Incidents"));
    let (fx, _) = update(&mut s, key('a'));
    assert!(
        fx.iter().any(|f| matches!(f, Effect::Plan { .. })) || !s.ui.toasts.is_empty(),
        "{fx:?}"
    );
}

#[test]
fn marked_rows_are_acked_together_after_one_confirm_listing_them() {
    let now = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
        .single()
        .unwrap();
    let demo = crate::sim::demo::start(now).unwrap();
    let mut s = demo_state();
    update(&mut s, key('2'));
    // Mark every triggered PagerDuty incident (at least two in the demo).
    let mut want = Vec::new();
    for k in 0..s.len(View::Incidents) {
        let Some(i) = s.incident_at(View::Incidents, k) else {
            continue;
        };
        if i.provider.as_str() == "pd" && i.status.is_unacked() {
            want.push(i.id.as_str().to_string());
            s.list_mut(View::Incidents).selected = k;
            update(&mut s, key(' '));
        }
    }
    assert!(want.len() >= 2, "{want:?}");
    assert_eq!(s.depth.marked.len(), want.len());
    assert!(screen(&s, 160, 45).contains("[x] "));
    // Space again unmarks; once more marks.
    update(&mut s, key(' '));
    assert_eq!(s.depth.marked.len(), want.len() - 1);
    update(&mut s, key(' '));
    let (fx, _) = update(&mut s, key('a'));
    let Some(Effect::Plan { op, .. }) = fx.first() else {
        panic!("{fx:?}")
    };
    let WriteOp::IncidentBulkAck { provider, ids } = op else {
        panic!("{op:?}")
    };
    assert_eq!(provider.as_deref(), Some("pd"));
    let mut got = ids.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // The real provider plans it against the simulator; the one
    // confirmation lists every marked id.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let p = demo.registry.get("pd").unwrap();
    let plan = rt
        .block_on(p.plan(op, &crate::ops::PlanCtx::default()))
        .unwrap();
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason: String::new(),
        },
    );
    assert!(matches!(s.ui.modal, Some(Modal::Confirm { .. })));
    let out = screen(&s, 160, 45);
    for id in &want {
        assert!(
            out.contains(id.as_str()),
            "{id} not in the confirmation:\n{out}"
        );
    }
    let (fx, _) = update(&mut s, key('y'));
    assert!(matches!(fx.first(), Some(Effect::Execute { .. })), "{fx:?}");
    // Done: the marks of acked incidents go.
    update(
        &mut s,
        Msg::Acted {
            op: op.clone(),
            runbook: None,
        },
    );
    assert!(s.depth.marked.is_empty());
}

#[test]
fn marks_of_several_providers_are_refused_in_words() {
    let mut s = demo_state();
    update(&mut s, key('2'));
    let mut providers = std::collections::BTreeSet::new();
    for k in 0..s.len(View::Incidents) {
        let Some(i) = s.incident_at(View::Incidents, k) else {
            continue;
        };
        if i.status.is_unacked() && providers.insert(i.provider.as_str().to_string()) {
            s.list_mut(View::Incidents).selected = k;
            update(&mut s, key(' '));
        }
    }
    assert!(providers.len() >= 2, "{providers:?}");
    let (fx, _) = update(&mut s, key('a'));
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::Plan { .. })),
        "{fx:?}"
    );
    let toast = &s.ui.toasts.last().unwrap().text;
    assert!(toast.contains("several providers"), "{toast}");
}

#[test]
fn the_palette_offers_escalate_and_snooze_only_where_the_provider_can() {
    let s = demo_state();
    let entries = crate::tui::palette::entries(&s);
    let pd_ack = s
        .snap
        .incidents
        .iter()
        .find(|i| i.provider.as_str() == "pd" && i.status == IncidentStatus::Acknowledged);
    let escalations: Vec<&str> = entries
        .iter()
        .filter(|e| e.label.starts_with("escalate "))
        .map(|e| e.label.as_str())
        .collect();
    assert!(!escalations.is_empty());
    for i in s
        .snap
        .incidents
        .iter()
        .filter(|i| i.provider.as_str() != "pd")
    {
        assert!(
            !escalations.contains(&format!("escalate {}", i.id).as_str()),
            "{} cannot escalate",
            i.provider
        );
    }
    if let Some(i) = pd_ack {
        assert!(
            entries
                .iter()
                .any(|e| e.label == format!("snooze {}", i.id))
        );
    }
    for i in s
        .snap
        .incidents
        .iter()
        .filter(|i| i.status != IncidentStatus::Acknowledged)
    {
        assert!(
            !entries
                .iter()
                .any(|e| e.label == format!("snooze {}", i.id))
        );
    }
}

/// A clock tick: what the update loop asks for with nothing else new.
fn tick(s: &mut State) -> (Vec<Effect>, bool) {
    let now = s.now;
    update(s, Msg::Tick(now))
}

/// `E` escalates and `z` snoozes (1 h) the selected incident from the
/// Incidents view, through the same plan and confirm as `a`; `z` on an
/// unacknowledged one, and either on a provider that cannot, are refused
/// in words with nothing planned.
#[test]
fn e_escalates_and_z_snoozes_only_where_possible() {
    let mut s = demo_state();
    update(&mut s, key('2'));
    let pick = |s: &State, f: &dyn Fn(&Incident) -> bool| {
        (0..s.len(View::Incidents))
            .find(|&k| s.incident_at(View::Incidents, k).is_some_and(f))
            .unwrap()
    };
    let k = pick(&s, &|i| {
        i.provider.as_str() == "pd" && i.status.is_unacked()
    });
    s.list_mut(View::Incidents).selected = k;
    let id = s.selected_incident().unwrap().id.as_str().to_string();
    let (fx, _) = update(&mut s, key('E'));
    assert!(
        matches!(fx.first(), Some(Effect::Plan { op: WriteOp::IncidentEscalate { id: i, .. }, .. }) if *i == id),
        "{fx:?}"
    );
    s.ui.modal = None;
    let (fx, _) = update(&mut s, key('z'));
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::Plan { .. })),
        "{fx:?}"
    );
    assert!(
        s.ui.toasts
            .last()
            .unwrap()
            .text
            .contains("only acknowledged")
    );

    let k = pick(&s, &|i| {
        i.provider.as_str() == "pd" && i.status == IncidentStatus::Acknowledged
    });
    s.list_mut(View::Incidents).selected = k;
    let (fx, _) = update(&mut s, key('z'));
    assert!(
        matches!(
            fx.first(),
            Some(Effect::Plan {
                op: WriteOp::IncidentSnooze {
                    duration_secs: 3600,
                    ..
                },
                ..
            })
        ),
        "{fx:?}"
    );
    s.ui.modal = None;

    let k = pick(&s, &|i| i.provider.as_str() != "pd" && i.status.is_open());
    s.list_mut(View::Incidents).selected = k;
    let (fx, _) = update(&mut s, key('E'));
    assert!(
        !fx.iter().any(|f| matches!(f, Effect::Plan { .. })),
        "{fx:?}"
    );
    assert!(s.ui.toasts.last().unwrap().text.contains("PagerDuty"));

    s.read_only = true;
    let (fx, _) = update(&mut s, key('E'));
    assert!(fx.iter().all(|f| !matches!(f, Effect::Plan { .. })));
}
