//! `sitrep slo` over SLO spec files: a glob that matches no file and a
//! broken file are errors on the SLO list and in `--json`, the exit code
//! is 1, and the good files are still read.

use std::path::Path;
use std::process::Command;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn a_glob_matching_nothing_and_a_bad_file_are_errors_and_exit_1() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .and(wiremock::matchers::path("/api/v1/query_range"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "status": "success", "data": {"resultType": "matrix", "result": []}})))
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "status": "success", "data": {"resultType": "vector", "result": []}})))
            .mount(&s)
            .await;
        s
    });
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sloth");
    std::fs::create_dir_all(dir.path().join("slos")).unwrap();
    std::fs::copy(
        fixtures.join("examples/k8s-getting-started.yml"),
        dir.path().join("slos/k8s.yml"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("test/integration/prometheus/testdata/validate/bad/bad-aa.yaml"),
        dir.path().join("slos/bad-aa.yml"),
    )
    .unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[provider]]\nname = \"prom\"\nkind = \"prometheus\"\nbase_url = \"{}\"\n\n[slo_files]\nsloth = [\"slos/*.yml\", \"nowhere/*.yaml\"]\n",
            server.uri()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["slo", "--json"])
        .env_remove("SITREP_CONFIG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let slos = v["slos"].as_array().unwrap();
    let by = |n: &str| slos.iter().find(|s| s["name"] == n);
    let good = by("myservice-requests-availability").expect("the CRD is read");
    assert!(good.get("error").is_none(), "{good}");
    let bad = by("svc01-slo02").expect("the bad SLO is listed");
    assert_eq!(bad["service"], "svc01");
    assert_eq!(bad["objective"], 101.0);
    assert!(
        bad["error"].as_str().unwrap().contains("bad-aa.yml:28:"),
        "{bad}"
    );
    let glob = slos
        .iter()
        .find(|s| {
            s["error"]
                .as_str()
                .is_some_and(|e| e.contains("matches no file"))
        })
        .expect("the empty glob is an SLO row in error");
    assert!(glob["error"].as_str().unwrap().contains("nowhere/*.yaml"));
    assert!(stderr.contains("matches no file"), "{stderr}");
}
