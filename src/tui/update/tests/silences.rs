//! The Silences view's keys: `x` plans `silence.expire` for the selected
//! silence and its plan opens the confirmation; an expired silence, a
//! provider that has no silences and read-only mode are refused; `S`/`-`
//! sort it.

use super::*;

/// `x` on the active silence: `silence.expire` planned for it, the real
/// provider's plan (against the demo's Alertmanager) confirmed, then run.
#[test]
fn expire_key_opens_the_confirmation_for_silence_expire() {
    let mut s = demo_state();
    update(&mut s, key('0'));
    assert_eq!(s.ui.view, View::Silences);
    let sil = s.selected_silence().unwrap().clone();
    assert_eq!(sil.state.as_str(), "active", "active ones first");
    let (fx, _) = update(&mut s, key('x'));
    let expected = WriteOp::SilenceExpire {
        provider: Some("am".into()),
        id: sil.id.as_str().into(),
    };
    let [Effect::Plan { op, reason }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(op, &expected);
    assert_eq!(op.action_name(), "silence.expire");
    assert!(reason.is_empty());
    assert!(matches!(s.ui.modal, Some(Modal::Planning { .. })));

    // What the provider plans for it opens the confirmation.
    let demo = crate::sim::demo::start(chrono::Utc::now()).unwrap();
    let am = demo.registry.get("am").unwrap().clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let live = rt.block_on(am.fetch()).unwrap();
    let id = live
        .silences
        .iter()
        .find(|x| x.created_by.as_str() == "raj.patel")
        .unwrap()
        .id
        .to_string();
    let op = WriteOp::SilenceExpire {
        provider: Some("am".into()),
        id: id.clone(),
    };
    let plan = rt
        .block_on(am.plan(&op, &crate::ops::PlanCtx::default()))
        .unwrap();
    update(
        &mut s,
        Msg::Planned {
            result: Ok(plan),
            reason: String::new(),
        },
    );
    let Some(Modal::Confirm { plan, need, .. }) = &s.ui.modal else {
        panic!("no confirmation: {:?}", s.ui.modal);
    };
    assert_eq!(plan.op, op);
    assert_eq!(plan.requests[0].method, "DELETE");
    assert!(
        plan.requests[0]
            .url
            .ends_with(&format!("/api/v2/silence/{id}"))
    );
    assert_eq!(need, &None, "a single key confirms");
    let (fx, _) = update(&mut s, key('y'));
    let [Effect::Execute { .. }] = fx.as_slice() else {
        panic!("{fx:?}")
    };
}

#[test]
fn expire_is_refused_for_an_expired_silence_and_in_read_only() {
    let mut s = demo_state();
    update(&mut s, key('0'));
    let mut gone = s.snap.silences[0].clone();
    gone.state = crate::text::SafeText::line("expired");
    s.snap.silences = vec![gone];
    let (fx, _) = update(&mut s, key('x'));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(s.ui.modal.is_none());
    let last =
        s.ui.toasts
            .last()
            .map(|t| t.text.clone())
            .unwrap_or_default();
    assert!(last.contains("has already expired"), "{last}");

    // A silence of a provider that cannot expire silences (PagerDuty).
    let mut other = s.snap.silences[0].clone();
    other.state = crate::text::SafeText::line("active");
    other.provider = crate::text::SafeText::line("pd");
    s.snap.silences = vec![other];
    let (fx, _) = update(&mut s, key('x'));
    assert!(fx.is_empty(), "{fx:?}");
    let last =
        s.ui.toasts
            .last()
            .map(|t| t.text.clone())
            .unwrap_or_default();
    assert!(last.contains("only Alertmanager has silences"), "{last}");

    let mut s = demo_state();
    s.read_only = true;
    update(&mut s, key('0'));
    let (fx, _) = update(&mut s, key('x'));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(s.ui.modal.is_none());
}

#[test]
fn silences_sort_by_end_then_reverse() {
    let mut s = demo_state();
    update(&mut s, key('0'));
    let ends = |s: &State| s.silences().iter().map(|x| x.ends_at).collect::<Vec<_>>();
    update(&mut s, key('S')); // STATE
    update(&mut s, key('S')); // ENDS
    assert_eq!(s.list(View::Silences).sort, Some(1));
    assert!(ends(&s).windows(2).all(|w| w[0] <= w[1]), "{:?}", ends(&s));
    update(&mut s, key('-'));
    assert!(ends(&s).windows(2).all(|w| w[0] >= w[1]), "{:?}", ends(&s));
    assert!(s.list(View::Silences).reverse);
    // Not in a view without columns to sort (Deploys, grouped): nothing changes.
    update(&mut s, key('4'));
    update(&mut s, key('S'));
    assert_eq!(s.list(View::Deploys).sort, None);
}

#[test]
fn flags_sort_off_first_then_by_key_then_newest_change() {
    let mut s = demo_state();
    update(&mut s, key('5'));
    update(&mut s, key('S')); // STATE: OFF first
    let on: Vec<bool> = s.flags().iter().map(|f| f.on).collect();
    assert!(on.windows(2).all(|w| w[0] <= w[1]), "{on:?}");
    assert!(!on[0], "a pulled kill switch is first");
    update(&mut s, key('S')); // KEY
    let keys: Vec<String> = s.flags().iter().map(|f| f.key.to_string()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    update(&mut s, key('-'));
    sorted.reverse();
    let keys: Vec<String> = s.flags().iter().map(|f| f.key.to_string()).collect();
    assert_eq!(keys, sorted);
    // The selection follows the sorted rows: the first one.
    assert_eq!(s.list(View::Flags).selected, 0);
    assert_eq!(
        s.selected_flag().map(|f| f.key.to_string()),
        keys.first().cloned()
    );
}
