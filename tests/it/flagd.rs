//! flagd flag files: lossless round trips on flagd-schema files, kill switch
//! and restore, concurrent edits refused, malformed files reported with
//! file/line/column while other providers keep working, hostile text inert.

use serde_json::Value;
use sitrep::config::SecretRef;
use sitrep::model::Flag;
use sitrep::ops::PlanCtx;
use sitrep::ops::{Plan, WriteOp};
use sitrep::providers::flagd::{Flagd, evaluates_on};
use sitrep::providers::{ErrorKind, Provider, Registry};
use sitrep::secrets::{Secret, SecretSource};
use std::fs;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/flagd");

fn copy_fixture(dir: &Path, name: &str) -> PathBuf {
    let dst = dir.join(name);
    fs::copy(Path::new(FIXTURES).join(name), &dst).unwrap();
    dst
}

fn op(key: &str, on: bool) -> WriteOp {
    WriteOp::FlagSet {
        provider: None,
        key: key.into(),
        environment: None,
        on,
    }
}

async fn flags(p: &Flagd) -> Vec<Flag> {
    p.fetch().await.unwrap().flags
}

async fn flip(p: &Flagd, key: &str, on: bool) -> Plan {
    let plan = p.plan(&op(key, on), &PlanCtx::default()).await.unwrap();
    p.execute(&plan, "idem-1").await.unwrap();
    plan
}

/// Files left in the directory besides the flag file (temp files).
fn strays(dir: &Path, keep: &[&Path]) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !keep.contains(&p.as_path()))
        .collect()
}

/// Can `new` be reached from `old` by replacing, for each change in turn,
/// one occurrence of the old value's JSON text with the new value's? If so,
/// no other byte changed (so key order and formatting are preserved).
fn reachable_by_splices(old: &str, new: &str, changes: &[(String, String)]) -> bool {
    let Some(((from, to), rest)) = changes.split_first() else {
        return old == new;
    };
    old.match_indices(from.as_str()).any(|(i, _)| {
        let spliced = format!("{}{}{}", &old[..i], to, &old[i + from.len()..]);
        reachable_by_splices(&spliced, new, rest)
    })
}

/// The plan's changes applied to `v` through their JSON pointers.
fn apply_changes(v: &mut Value, changes: &[Value]) {
    for c in changes {
        let ptr = c["path"].as_str().unwrap();
        let (parent, last) = ptr.rsplit_once('/').unwrap();
        let last = last.replace("~1", "/").replace("~0", "~");
        let obj = v.pointer_mut(parent).unwrap().as_object_mut().unwrap();
        match c.get("value") {
            Some(val) => {
                obj.insert(last, val.clone());
            }
            None => {
                obj.remove(&last);
            }
        }
    }
}

#[tokio::test]
async fn every_flag_flips_losslessly_and_restores_the_original_bytes() {
    for fixture in [
        "checkout.flagd.json",
        "array-form.flagd.json",
        "crlf-no-newline.flagd.json",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = copy_fixture(dir.path(), fixture);
        let original = fs::read_to_string(&path).unwrap();
        let p = Flagd::with_path("flags", &path);
        let before = flags(&p).await;
        assert!(!before.is_empty(), "{fixture}");
        for f in &before {
            let key = f.key.as_str();
            let start = fs::read_to_string(&path).unwrap();
            let start_v: Value = serde_json::from_str(&start).unwrap();

            // Flip.
            let plan = flip(&p, key, !f.on).await;
            let changes = plan.detail["changes"].as_array().unwrap().clone();
            assert!(!changes.is_empty(), "{fixture} {key}");
            let after = fs::read_to_string(&path).unwrap();
            let after_v: Value = serde_json::from_str(&after).unwrap();

            // Exactly the planned changes, nothing else (as JSON values).
            let mut expected = start_v.clone();
            apply_changes(&mut expected, &changes);
            assert_eq!(after_v, expected, "{fixture} {key}");
            // Only the flipped field(s) differ from the original.
            let mut only_flag = start_v.clone();
            let mut after_wo_flag = after_v.clone();
            let flags_ptr = |v: &mut Value| -> Option<Value> {
                match v.get_mut("flags")? {
                    Value::Object(m) => m.remove(key),
                    Value::Array(a) => {
                        let i = a.iter().position(|x| x["key"] == key)?;
                        Some(a.remove(i))
                    }
                    _ => None,
                }
            };
            let orig_flag = flags_ptr(&mut only_flag).unwrap();
            let new_flag = flags_ptr(&mut after_wo_flag).unwrap();
            assert_eq!(
                only_flag, after_wo_flag,
                "{fixture} {key}: other content changed"
            );
            for field in ["variants", "targeting"] {
                assert_eq!(
                    orig_flag.get(field),
                    new_flag.get(field),
                    "{fixture} {key} {field}"
                );
            }
            // Byte level: every change that replaces a value is a splice of
            // that value's text and nothing else.
            if changes.iter().all(|c| c["op"] == "replace") {
                let splices: Vec<(String, String)> = changes
                    .iter()
                    .map(|c| (c["from_value"].to_string(), c["value"].to_string()))
                    .collect();
                assert!(
                    reachable_by_splices(&start, &after, &splices),
                    "{fixture} {key}: bytes other than the flipped values changed:\n{after}"
                );
            }

            // The new state is what the provider reports.
            let now = flags(&p).await;
            let g = now.iter().find(|g| g.key.as_str() == key).unwrap();
            assert_eq!(g.on, !f.on, "{fixture} {key}");
            assert_eq!(g.kill_switch, f.kill_switch, "{fixture} {key}");

            // Flip back.
            flip(&p, key, f.on).await;
            let back = fs::read_to_string(&path).unwrap();
            let back_flags = flags(&p).await;
            assert_eq!(
                back_flags
                    .iter()
                    .find(|g| g.key.as_str() == key)
                    .unwrap()
                    .on,
                f.on
            );
            if f.on {
                // Kill switch then restore: the very same file.
                assert_eq!(
                    back, start,
                    "{fixture} {key}: restore did not return the original"
                );
            } else {
                // Restore then kill: same meaning for every other flag.
                let mut a: Value = serde_json::from_str(&back).unwrap();
                let mut b = start_v.clone();
                flags_ptr(&mut a);
                flags_ptr(&mut b);
                assert_eq!(a, b);
            }
        }
        // Every flag that started on is back to the original bytes.
        let end = flags(&p).await;
        assert_eq!(
            end.iter().map(|f| f.on).collect::<Vec<_>>(),
            before.iter().map(|f| f.on).collect::<Vec<_>>()
        );
        assert!(strays(dir.path(), &[&path]).is_empty(), "temp files left");
        if fixture == "array-form.flagd.json" || fixture == "crlf-no-newline.flagd.json" {
            // Every flag there starts on, so the whole file is identical.
            assert_eq!(fs::read_to_string(&path).unwrap(), original);
        }
    }
}

#[tokio::test]
async fn reads_state_and_kill_switch_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "checkout.flagd.json");
    let p = Flagd::with_path("flags", &path);
    let got: Vec<(String, bool, bool)> = flags(&p)
        .await
        .into_iter()
        .map(|f| (f.key.into_string(), f.on, f.kill_switch))
        .collect();
    let want = [
        ("cart-max-items", true, false),
        ("checkout-currency-rounding", true, false),
        ("checkout-payments-v3", true, true),
        ("checkout-theme", true, false),
        ("checkout-writes", true, true),
        ("recommendations-widget", false, false),
        ("search-new-analyzer", false, true),
    ];
    let want: Vec<(String, bool, bool)> = want
        .iter()
        .map(|(k, o, ks)| (k.to_string(), *o, *ks))
        .collect();
    assert_eq!(got, want);
    let all = flags(&p).await;
    let f = all
        .iter()
        .find(|f| f.key.as_str() == "checkout-payments-v3")
        .unwrap();
    assert_eq!(f.name.as_str(), "Checkout: payments gateway v3 client");
    assert_eq!(f.service.as_ref().unwrap().as_str(), "checkout");
    assert!(f.url.as_ref().unwrap().as_str().starts_with("file:///"));
    assert!(f.updated_at.is_some());
    assert_eq!(f.environment, None);
}

#[tokio::test]
async fn kill_switch_rules_for_each_flag_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "checkout.flagd.json");
    let p = Flagd::with_path("flags", &path);
    let change = |plan: &Plan| -> Vec<(String, Value)> {
        plan.detail["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["path"].as_str().unwrap().to_string(),
                    c.get("value").cloned().unwrap_or(Value::Null),
                )
            })
            .collect()
    };
    // Boolean flag with an off variant: defaultVariant → "off".
    let plan = p
        .plan(&op("checkout-payments-v3", false), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        change(&plan),
        vec![(
            "/flags/checkout-payments-v3/defaultVariant".into(),
            Value::from("off")
        )]
    );
    // Its targeting can still serve "on": the plan says so.
    assert!(
        plan.stakes
            .iter()
            .any(|(k, v)| k == "note" && v.contains("targeting"))
    );
    // Boolean flag whose off variant is named "disabled".
    let plan = p
        .plan(&op("checkout-writes", false), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        change(&plan),
        vec![(
            "/flags/checkout-writes/defaultVariant".into(),
            Value::from("disabled")
        )]
    );
    // No off variant: state DISABLED.
    let plan = p
        .plan(&op("checkout-theme", false), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        change(&plan),
        vec![(
            "/flags/checkout-theme/state".into(),
            Value::from("DISABLED")
        )]
    );
    // Disabled flag turned on: state ENABLED (its default is already "on").
    let plan = p
        .plan(&op("recommendations-widget", true), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        change(&plan),
        vec![(
            "/flags/recommendations-widget/state".into(),
            Value::from("ENABLED")
        )]
    );
    // Non-boolean with an off variant: the variant to restore is remembered.
    let plan = p
        .plan(&op("cart-max-items", false), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(
        change(&plan),
        vec![
            (
                "/flags/cart-max-items/defaultVariant".into(),
                Value::from("off")
            ),
            (
                "/flags/cart-max-items/metadata".into(),
                serde_json::json!({"sitrepRestoreVariant": "large"})
            ),
        ]
    );
    // Already off: a plan with no change, and executing it writes nothing.
    let before = fs::read(&path).unwrap();
    let plan = p
        .plan(&op("search-new-analyzer", false), &PlanCtx::default())
        .await
        .unwrap();
    assert!(change(&plan).is_empty());
    let r = p.execute(&plan, "k").await.unwrap();
    assert!(r.message.contains("already OFF"), "{}", r.message);
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn plan_shows_the_exact_edit() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "checkout.flagd.json");
    let p = Flagd::with_path("flags", &path);
    let plan = p
        .plan(&op("checkout-writes", false), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.provider, "flags");
    assert_eq!(plan.requests.len(), 1);
    let r = &plan.requests[0];
    assert_eq!(r.method, "EDIT");
    let canon = fs::canonicalize(&path).unwrap();
    assert_eq!(r.url, url::Url::from_file_path(&path).unwrap().to_string());
    assert!(r.url.starts_with("file:///"));
    let body = r.body.as_ref().unwrap();
    let sha = sitrep::providers::flagd::sha256_hex(&fs::read(&canon).unwrap());
    assert_eq!(body["sha256"], sha.as_str());
    assert_eq!(body["flag"], "checkout-writes");
    assert_eq!(
        body["changes"],
        serde_json::json!([{"op":"replace","path":"/flags/checkout-writes/defaultVariant","from_value":"enabled","value":"disabled"}])
    );
    assert!(plan.summary.contains("checkout-writes") && plan.summary.contains("OFF"));
    // Planning wrote nothing.
    assert_eq!(
        sitrep::providers::flagd::sha256_hex(&fs::read(&path).unwrap()),
        sha
    );
}

#[tokio::test]
async fn unknown_key_and_environment_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "checkout.flagd.json");
    let p = Flagd::with_path("flags", &path);
    let e = p
        .plan(&op("no-such-flag", false), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("no-such-flag"), "{e}");
    let with_env = WriteOp::FlagSet {
        provider: None,
        key: "checkout-writes".into(),
        environment: Some("production".into()),
        on: false,
    };
    let e = p.plan(&with_env, &PlanCtx::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.to_string().contains("no environments"), "{e}");
    assert!(p.supports(&op("x", true)));
    assert!(!p.supports(&WriteOp::IncidentAck {
        provider: None,
        id: "1".into()
    }));
}

#[tokio::test]
async fn concurrent_edit_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "checkout.flagd.json");
    let p = Flagd::with_path("flags", &path);
    let plan = p
        .plan(&op("checkout-payments-v3", false), &PlanCtx::default())
        .await
        .unwrap();
    // Someone else edits the file after the plan (another flag).
    let theirs = fs::read_to_string(&path)
        .unwrap()
        .replace("\"version\": \"14\"", "\"version\": \"15\"");
    fs::write(&path, &theirs).unwrap();
    let e = p.execute(&plan, "k").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
    assert!(e.to_string().contains("changed since planned"), "{e}");
    assert!(e.to_string().contains("checkout.flagd.json"), "{e}");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        theirs,
        "their edit was overwritten"
    );
    assert!(strays(dir.path(), &[&path]).is_empty());

    // Two plans from the same file: the first wins, the second is refused
    // (no lost update), even though both were valid when planned.
    let a = p
        .plan(&op("checkout-payments-v3", false), &PlanCtx::default())
        .await
        .unwrap();
    let b = p
        .plan(&op("checkout-writes", false), &PlanCtx::default())
        .await
        .unwrap();
    p.execute(&a, "a").await.unwrap();
    let after_a = fs::read_to_string(&path).unwrap();
    let e = p.execute(&b, "b").await.unwrap_err();
    assert!(e.to_string().contains("changed since planned"), "{e}");
    assert_eq!(fs::read_to_string(&path).unwrap(), after_a);
    let on: Vec<_> = flags(&p)
        .await
        .into_iter()
        .filter(|f| f.on)
        .map(|f| f.key.into_string())
        .collect();
    assert!(on.contains(&"checkout-writes".to_string()));
    assert!(!on.contains(&"checkout-payments-v3".to_string()));
}

#[tokio::test]
async fn execute_waits_for_a_lock_held_by_another_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "checkout.flagd.json");
    let p = Flagd::with_path("flags", &path);
    let plan = p
        .plan(&op("checkout-writes", false), &PlanCtx::default())
        .await
        .unwrap();
    let held = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    held.lock().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        tx.send(std::time::Instant::now()).unwrap();
        held.unlock().unwrap();
    });
    p.execute(&plan, "k").await.unwrap();
    let done = std::time::Instant::now();
    let released = rx.recv().unwrap();
    assert!(
        done >= released,
        "wrote while another process held the lock"
    );
    t.join().unwrap();
    assert!(
        !flags(&p)
            .await
            .iter()
            .find(|f| f.key.as_str() == "checkout-writes")
            .unwrap()
            .on
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_and_permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = copy_fixture(dir.path(), "checkout.flagd.json");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("current.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let p = Flagd::with_path("flags", &link);
    flip(&p, "checkout-writes", false).await;
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(
        !flags(&p)
            .await
            .iter()
            .find(|f| f.key.as_str() == "checkout-writes")
            .unwrap()
            .on
    );
}

struct NoSecrets;
impl SecretSource for NoSecrets {
    fn get(&self, _r: &SecretRef) -> Result<Secret, String> {
        Err("no secrets in this test".into())
    }
}

#[tokio::test]
async fn malformed_file_names_file_line_and_column_while_others_work() {
    let dir = tempfile::tempdir().unwrap();
    let bad = copy_fixture(dir.path(), "malformed.flagd.json");
    let good = copy_fixture(dir.path(), "array-form.flagd.json");
    let missing = dir.path().join("missing.json");
    let toml = format!(
        "[[provider]]\nname = \"bad\"\nkind = \"flagd\"\npath = {:?}\n\n[[provider]]\nname = \"good\"\nkind = \"flagd\"\npath = {:?}\n\n[[provider]]\nname = \"gone\"\nkind = \"flagd\"\npath = {:?}\n",
        bad.display().to_string(),
        good.display().to_string(),
        missing.display().to_string()
    );
    let cfg = sitrep::config::parse(&toml, Path::new("c.toml")).unwrap();
    let reg = Registry::from_config(&cfg, &NoSecrets);
    assert_eq!(reg.providers.len(), 3);
    let mut results = Vec::new();
    for p in &reg.providers {
        results.push(sitrep::providers::poller::fetch_bounded(p.as_ref()).await);
    }
    let e = results[0].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
    let msg = e.to_string();
    let needle = format!("{}:3:", bad.display());
    assert!(msg.starts_with("bad: malformed JSON: "), "{msg}");
    assert!(msg.contains(&needle), "{msg}");
    let col: String = msg[msg.find(&needle).unwrap() + needle.len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(col, "59", "{msg}");
    assert!(msg.contains("expected"), "{msg}");
    // The good file is read normally.
    assert_eq!(results[1].as_ref().unwrap().flags.len(), 3);
    // A missing file is a file error naming the path.
    let e = results[2].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.to_string().contains("missing.json"), "{e}");
    // Nothing can be planned against the malformed file.
    let e = reg.providers[0]
        .plan(&op("a", false), &PlanCtx::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
    // Wrong shape: valid JSON that is not a flag file.
    fs::write(&bad, "{\"flags\": 3}").unwrap();
    let e = reg.providers[0].fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Shape);
    assert!(e.to_string().contains("malformed.flagd.json"), "{e}");
}

fn is_inert(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[tokio::test]
async fn hostile_names_and_descriptions_are_inert() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_fixture(dir.path(), "hostile.flagd.json");
    let p = Flagd::with_path("flags", &path);
    let fs_flags = flags(&p).await;
    assert_eq!(fs_flags.len(), 1);
    let f = &fs_flags[0];
    for s in [
        f.key.as_str(),
        f.name.as_str(),
        f.service.as_ref().unwrap().as_str(),
    ] {
        assert!(is_inert(s), "{s:?}");
    }
    assert!(f.name.as_str().contains("\\u{202e}"), "{:?}", f.name);
    assert!(f.key.as_str().starts_with("evil"), "{:?}", f.key);
    let json = serde_json::to_string(f).unwrap();
    assert!(
        !json.contains('\u{1b}') && !json.contains("\\u001b"),
        "{json}"
    );
    // The flag can be addressed by the key as shown on screen; the plan
    // shows only inert text, and the edit is still exact.
    let shown = f.key.as_str().to_string();
    let plan = p
        .plan(&op(&shown, false), &PlanCtx::default())
        .await
        .unwrap();
    assert!(is_inert(&plan.summary), "{:?}", plan.summary);
    for (k, v) in &plan.stakes {
        assert!(is_inert(k) && is_inert(v), "{v:?}");
    }
    p.execute(&plan, "k").await.unwrap();
    let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let (_, flag) = v["flags"].as_object().unwrap().iter().next().unwrap();
    assert_eq!(flag["defaultVariant"], "off");
    assert!(!evaluates_on(flag));
}

/// A flagd file marked `environment = "production"` is production for the
/// guard: `--yes` alone is refused (nothing written), with
/// `--i-know-this-is-production` it goes through. Unmarked, it is not.
#[tokio::test]
async fn production_guard_follows_a_file_marked_production() {
    let dir = tempfile::tempdir().unwrap();
    let file = copy_fixture(dir.path(), "checkout.flagd.json");
    let before = fs::read(&file).unwrap();
    let key = "checkout-payments-v3";
    let p = Flagd::with_path("flags", &file).with_environment("production");
    let g = crate::common::production_guard(std::sync::Arc::new(p), op(key, false)).await;
    assert_eq!(
        g.yes_only, 2,
        "written to a production file without the flag"
    );
    assert_eq!(g.acknowledged, 0);
    assert_eq!(g.records[0].outcome.as_str(), "refused");
    assert_ne!(
        fs::read(&file).unwrap(),
        before,
        "the acknowledged write happened"
    );
    // The config key reaches the provider.
    let cfg = sitrep::config::parse(
        &format!(
            "[[provider]]\nname = \"flags\"\nkind = \"flagd\"\npath = {:?}\nenvironment = \"production\"\n",
            file.display().to_string()
        ),
        Path::new("c.toml"),
    )
    .unwrap();
    let reg = Registry::from_config(&cfg, &NoSecrets);
    let plan = reg.providers[0]
        .plan(&op(key, true), &PlanCtx::default())
        .await
        .unwrap();
    assert_eq!(plan.target_environment(), Some("production"));
    // Unmarked: no environment, no guard.
    let plain = Flagd::with_path("flags", &file);
    assert_eq!(flip(&plain, key, true).await.target_environment(), None);
}
