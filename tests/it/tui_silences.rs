//! The Silences view (`0`), describe (`d`), sortable columns (`S`, `-`)
//! and the contexts list (`:ctx`) on demo data with a fixed clock, at
//! 160x45 and 80x24.

use crate::common::screen::{now, state, text};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::model::Silence;
use sitrep::text::SafeText;
use sitrep::tui::state::{Modal, State, View};
use sitrep::tui::update::{Msg, update};

fn key(s: &mut State, c: KeyCode) {
    update(s, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// The demo's silences, plus one that ended an hour before the fixed
/// clock (the provider leaves out those that ended over 24 h before the
/// real one), its text hostile as a provider's may be.
fn with_expired(s: &mut State) {
    s.snap.silences.push(Silence {
        comment: SafeText::line("kernel patch reboot\u{1b}[2J\u{202e}"),
        created_by: SafeText::line("dana.kim"),
        ends_at: now() - chrono::Duration::hours(1),
        id: SafeText::line("0c5e2f4a-1b7d-4e3a-9f10-5d2c8b7a6e01"),
        matchers: vec![SafeText::line("instance=\"search-indexer-1:9100\"")],
        muting: vec![],
        provider: SafeText::line("am"),
        starts_at: now() - chrono::Duration::hours(3),
        state: SafeText::line("expired"),
    });
}

#[test]
fn silences_view_lists_each_state_with_who_why_and_when() {
    let mut s = state();
    with_expired(&mut s);
    key(&mut s, KeyCode::Char('0'));
    assert_eq!(s.ui.view, View::Silences);
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&mut s, w, h);
        for want in [
            "ACTIVE",
            "PENDING",
            "EXPIRED",
            "raj.patel",
            "mia.chen",
            "dana.kim",
        ] {
            assert!(out.contains(want), "{want} at {w}x{h}:\n{out}");
        }
        assert!(out.contains("1h ago") && out.contains("in 4h"), "{out}");
        assert!(out.contains("x expire silence"), "footer: {out}");
        assert!(!out.contains('\u{202e}') && !out.contains('\u{1b}'));
        snap!(format!("view_silences_{w}x{h}"), out);
    }
    // An expired one is not offered for expiry.
    let expired = s
        .silences()
        .iter()
        .position(|x| x.state.as_str() == "expired")
        .unwrap();
    s.list_mut(View::Silences).selected = expired;
    let out = text(&mut s, 160, 45);
    assert!(!out.contains("x expire"), "{out}");
    s.list_mut(View::Silences).selected = 0;
    // The details say why and what it mutes.
    let out = text(&mut s, 160, 45);
    assert!(out.contains("renewal ticket SEC-412"), "{out}");
    assert!(out.contains("CertificateExpiry: TLS certificate"), "{out}");
}

#[test]
fn a_silenced_alert_says_by_which_silence_and_why() {
    let mut s = state();
    key(&mut s, KeyCode::Char('2'));
    let pos = s
        .incidents(View::Incidents)
        .iter()
        .position(|i| i.title.as_str().starts_with("CertificateExpiry"))
        .unwrap();
    s.list_mut(View::Incidents).selected = pos;
    let sil = s
        .snap
        .silences
        .iter()
        .find(|x| x.created_by.as_str() == "raj.patel")
        .unwrap()
        .id
        .to_string();
    // Wrapped in the details pane: the id, then who and why.
    let out = text(&mut s, 160, 45);
    assert!(out.contains(&format!("silenced by {sil}")), "{out}");
    assert!(
        out.contains("(raj.patel: renewal ticket SEC-412 open"),
        "{out}"
    );
}

#[test]
fn describe_shows_the_incident_as_json_and_scrolls() {
    let mut s = state();
    key(&mut s, KeyCode::Char('2'));
    let cert = s
        .incidents(View::Incidents)
        .into_iter()
        .position(|i| i.title.as_str().starts_with("CertificateExpiry"))
        .unwrap();
    s.list_mut(View::Incidents).selected = cert;
    let inc = s.incidents(View::Incidents)[cert].clone();
    let sil = s.silences_muting(&inc)[0].id.to_string();
    key(&mut s, KeyCode::Char('d'));
    let Some(Modal::Describe { title, lines, .. }) = &s.ui.modal else {
        panic!("describe did not open: {:?}", s.ui.modal);
    };
    assert_eq!(title, &format!("incident am/{} · JSON", inc.id));
    let json: serde_json::Value = serde_json::from_str(&lines.join("\n")).unwrap();
    assert_eq!(json["id"], inc.id.as_str());
    assert_eq!(json["title"], inc.title.as_str());
    assert_eq!(json["labels"]["instance"], "api.acme.example:443");
    assert_eq!(json["silenced_by"][0], sil.as_str());
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&mut s, w, h);
        assert!(
            out.contains("\"severity\"") && out.contains("Esc closes"),
            "{out}"
        );
        assert!(
            out.contains("close the JSON"),
            "the footer has its keys: {out}"
        );
        snap!(format!("describe_incident_{w}x{h}"), out);
    }
    // At 80x16 it is taller than the screen: PgDn moves on, Esc closes.
    let before = text(&mut s, 80, 16);
    assert!(before.contains("lines 1-"), "{before}");
    key(&mut s, KeyCode::PageDown);
    let after = text(&mut s, 80, 16);
    assert_ne!(before, after, "PgDn scrolled nothing");
    assert!(!after.contains("lines 1-"), "{after}");
    key(&mut s, KeyCode::Esc);
    assert!(s.ui.modal.is_none());
}

#[test]
fn incidents_sort_by_age_then_reverse_with_the_column_marked() {
    let mut s = state();
    key(&mut s, KeyCode::Char('2'));
    let worst_first: Vec<String> = s
        .incidents(View::Incidents)
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    key(&mut s, KeyCode::Char('S')); // SEV
    key(&mut s, KeyCode::Char('S')); // AGE
    let ages: Vec<_> = s
        .incidents(View::Incidents)
        .iter()
        .map(|i| i.created_at)
        .collect();
    assert!(ages.windows(2).all(|w| w[0] >= w[1]), "youngest first");
    let out = text(&mut s, 160, 45);
    assert!(out.contains("AGE▲"), "{out}");
    key(&mut s, KeyCode::Char('-'));
    let ages: Vec<_> = s
        .incidents(View::Incidents)
        .iter()
        .map(|i| i.created_at)
        .collect();
    assert!(ages.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&mut s, w, h);
        assert!(out.contains("AGE▼"), "{out}");
        snap!(format!("view_incidents_age_desc_{w}x{h}"), out);
    }
    // Service, status, then back to worst first, unmarked.
    key(&mut s, KeyCode::Char('S'));
    let services: Vec<_> = s
        .incidents(View::Incidents)
        .iter()
        .map(|i| i.service.clone())
        .collect();
    assert!(services.windows(2).all(|w| w[0] <= w[1]), "{services:?}");
    key(&mut s, KeyCode::Char('S'));
    key(&mut s, KeyCode::Char('S'));
    let back: Vec<String> = s
        .incidents(View::Incidents)
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(back, worst_first);
    assert!(!text(&mut s, 160, 45).contains('▲'));
}

#[test]
fn ctx_lists_the_contexts_and_says_when_there_are_none() {
    let mut s = state();
    s.contexts_dir = Some("/home/oncall/.config/sitrep/contexts".into());
    key(&mut s, KeyCode::Char(':'));
    for c in "ctx".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&mut s, w, h);
        assert!(out.contains("no contexts: add"), "{out}");
        snap!(format!("palette_ctx_none_{w}x{h}"), out);
    }
    key(&mut s, KeyCode::Esc);
    s.contexts = vec!["prod-eu".into(), "staging".into()];
    s.context = Some("prod-eu".into());
    key(&mut s, KeyCode::Char(':'));
    for c in "ctx".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    for (w, h) in [(160, 45), (80, 24)] {
        let out = text(&mut s, w, h);
        assert!(
            out.contains("ctx prod-eu") && out.contains("in use"),
            "{out}"
        );
        assert!(out.contains("ctx staging"), "{out}");
        snap!(format!("palette_ctx_{w}x{h}"), out);
    }
}
