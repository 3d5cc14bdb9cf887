//! Property versions of the provider fuzz targets (fuzz/fuzz_targets/
//! provider_json.rs), run on stable in CI: every provider kind's wire
//! decoders over arbitrary bytes and arbitrary JSON are a value or a
//! `ProviderError`, never a panic; and arbitrary JSON served by a fake to
//! every real provider (decode + normalize) ends in data or an error, with
//! every string it produces inert.
//!
//! The audit verifier and the runbook parser/renderers have their property
//! tests next to their code (src/audit/mod.rs `verify_never_panics`,
//! tests/it/runbooks.rs `arbitrary_runbooks_never_panic_and_render_inert`);
//! SafeText and the config parser in src/text.rs and src/config.rs.

use crate::common;

use crate::common::fault::{Fault, FaultServer};
use proptest::prelude::*;
use serde_json::Value;
use sitrep::providers::{Registry, WIRE_KINDS, decode_wire};
use sitrep::store::Store;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[\\PC\\x00-\\x{9f}\\x{202a}-\\x{202e}]{0,12}".prop_map(Value::String),
        // Values that look like the fields providers read.
        prop_oneof![
            Just("2026-11-22T01:00:00Z"),
            Just("triggered"),
            Just("firing"),
            Just("success"),
            Just("P1"),
            Just("high"),
            Just("ENABLED"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    let keys = prop_oneof![
        Just("id".to_string()),
        Just("title".to_string()),
        Just("status".to_string()),
        Just("created_at".to_string()),
        Just("incidents".to_string()),
        Just("oncalls".to_string()),
        Just("data".to_string()),
        Just("items".to_string()),
        Just("features".to_string()),
        Just("deployments".to_string()),
        Just("labels".to_string()),
        Just("state".to_string()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(kind: sitrep::config::ProviderKind, body: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = decode_wire(kind, body) {
        let text = e.to_string();
        prop_assert!(text.starts_with("fuzz: "), "{text}");
        prop_assert!(
            !text.chars().any(|c| c.is_control()),
            "control character in an error: {text:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(body in prop::collection::vec(any::<u8>(), 0..512)) {
        for k in WIRE_KINDS {
            check(*k, &body)?;
        }
    }

    #[test]
    fn arbitrary_json_never_panics_a_decoder(v in json_value()) {
        let body = serde_json::to_vec(&v).unwrap();
        for k in WIRE_KINDS {
            check(*k, &body)?;
        }
    }
}

const KINDS: &[&str] = &[
    "pagerduty",
    "alertmanager",
    "opsgenie",
    "sentry",
    "prometheus",
    "datadog",
    "github",
    "vercel",
    "launchdarkly",
    "unleash",
];

fn inert(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The whole fetch path (HTTP, decode, normalize) of every provider.
    #[test]
    fn arbitrary_json_through_every_provider_is_data_or_an_error(v in json_value()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let body = serde_json::to_vec(&v).unwrap();
        rt.block_on(async {
            let server = FaultServer::start(Fault::ok(body)).await;
            let mut text = String::new();
            for k in KINDS {
                text.push_str(&chaos_toml(k, &server.url));
            }
            let cfg = common::config(&text);
            let secrets = common::MapSecrets::with(&[
                ("CHAOS_TOKEN", "t0ken-prop"),
                ("CHAOS_APP_KEY", "app-key-prop"),
            ]);
            let reg = Registry::from_config(&cfg, &secrets);
            let store = tokio::time::timeout(
                std::time::Duration::from_secs(60),
                Store::fetch_all(&reg, None),
            )
            .await
            .expect("fetch ended");
            let snap = store.snapshot(chrono::Utc::now());
            let json = serde_json::to_string(&snap).unwrap();
            let back: Value = serde_json::from_str(&json).unwrap();
            let mut strings = Vec::new();
            collect(&back, &mut strings);
            for s in strings {
                prop_assert!(inert(&s), "not inert: {s:?}");
            }
            Ok(())
        })?;
    }
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            collect(x, out)
        }),
        _ => {}
    }
}

/// A provider of `kind` named after it, at `url` (1 s timeouts).
fn chaos_toml(kind: &str, url: &str) -> String {
    let extra = match kind {
        "alertmanager" | "prometheus" => "",
        "sentry" => "token = { env = \"CHAOS_TOKEN\" }\norganization = \"acme\"\n",
        "datadog" => "token = { env = \"CHAOS_TOKEN\" }\napp_key = { env = \"CHAOS_APP_KEY\" }\n",
        "github" => {
            "token = { env = \"CHAOS_TOKEN\" }\nrepos = [\"acme/checkout\"]\nenvironments = [\"production\"]\n"
        }
        "vercel" => "token = { env = \"CHAOS_TOKEN\" }\nproject = \"web\"\n",
        "launchdarkly" | "unleash" => {
            "token = { env = \"CHAOS_TOKEN\" }\nproject = \"default\"\nenvironment = \"production\"\n"
        }
        _ => "token = { env = \"CHAOS_TOKEN\" }\n",
    };
    let mut s = format!(
        "[[provider]]\nname = \"{kind}\"\nkind = \"{kind}\"\nbase_url = \"{url}\"\ntimeout = \"1s\"\n{extra}\n"
    );
    if kind == "prometheus" {
        s.push_str("[[slo]]\nname = \"api\"\nprovider = \"prometheus\"\nobjective = 99.9\nwindow = \"30d\"\nerrors = 'sum(rate(e[{{.window}}]))'\ntotal = 'sum(rate(t[{{.window}}]))'\n\n");
    }
    s
}
