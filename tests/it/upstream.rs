//! Files as upstream publishes them (tests/fixtures/<upstream>/, see the
//! README there): the Sloth, OpenSLO and oslo examples and test data, the
//! flagd samples and the flagd-testbed flag files. Each is read, or refused
//! with a message naming the file, the line and column, and the reason in
//! words.

use sitrep::providers::slo_defs::{Sli, SloDef, SloProblem, parse_files};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn files_under(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The path as messages name it: relative to tests/fixtures.
fn rel(p: &Path) -> String {
    p.strip_prefix(fixtures()).unwrap().display().to_string()
}

fn read_one(rel_path: &str) -> (Vec<SloDef>, Vec<SloProblem>) {
    let text = std::fs::read_to_string(fixtures().join(rel_path)).unwrap();
    parse_files(&[(rel_path.to_string(), text)])
}

/// Words that would mean a parser's internals reached the user.
const INTERNALS: [&str; 8] = [
    "invalid type",
    "OsDoc",
    "struct ",
    "Slo",
    "sequence",
    "f64",
    "serde",
    "Value",
];

/// `file:line:col: reason` with a real position and a reason in words.
fn assert_located(file: &str, text: &str, message: &str) {
    let rest = message
        .strip_prefix(&format!("{file}:"))
        .unwrap_or_else(|| panic!("message does not start with {file}: {message}"));
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no line in {message}"));
    let col: usize = parts
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no column in {message}"));
    let reason = parts.next().unwrap_or_default().trim();
    assert!(
        // The end of the file is one line past the last one.
        line >= 1 && line <= text.lines().count() + 1,
        "line {line} out of the file: {message}"
    );
    assert!(col >= 1, "{message}");
    assert!(
        reason.split_whitespace().count() >= 3,
        "reason not in words: {message}"
    );
    for w in INTERNALS {
        // "SLO" in capitals is a word; a Rust type name such as SloDef is not.
        let hit = if w == "Slo" {
            reason.contains("SloDef") || reason.contains("SloProblem")
        } else {
            reason.contains(w)
        };
        assert!(!hit, "{w:?} in {message}");
    }
}

#[test]
fn every_upstream_slo_file_is_read_or_refused_with_file_line_and_reason() {
    let mut files = 0;
    for dir in ["sloth", "openslo", "oslo"] {
        for f in files_under(&fixtures().join(dir), &["yaml", "yml", "json"]) {
            files += 1;
            let r = rel(&f);
            let text = std::fs::read_to_string(&f).unwrap();
            let (defs, problems) = read_one(&r);
            for p in &problems {
                assert_located(&r, &text, &p.message);
            }
            for d in &defs {
                assert!(d.source.starts_with(&format!("{r}:")), "{}", d.source);
                assert!(d.objective > 0.0 && d.objective < 100.0);
            }
            // A file that holds SLOs gives SLOs or says why not; one
            // without any gives none.
            let has_slos = text.contains("slos:") || text.contains("kind: SLO");
            if has_slos {
                assert!(!(defs.is_empty() && problems.is_empty()), "{r}");
            } else {
                assert!(defs.is_empty(), "{r}");
            }
        }
    }
    assert!(files >= 60, "only {files} files vendored");
}

/// (file, SLO names read, problems as (line, words in the message)).
type Expect = (
    &'static str,
    &'static [&'static str],
    &'static [(usize, &'static str)],
);

const EXPECTED: &[Expect] = &[
    (
        "sloth/examples/getting-started.yml",
        &["myservice-requests-availability"],
        &[],
    ),
    (
        "sloth/examples/k8s-getting-started.yml",
        &["myservice-requests-availability"],
        &[],
    ),
    (
        "sloth/examples/k8s-multifile.yml",
        &[
            "myservice-requests-availability",
            "myservice2-requests-availability",
        ],
        &[],
    ),
    ("sloth/examples/windows/7d.yaml", &[], &[]),
    (
        "sloth/examples/plugin-k8s-getting-started.yml",
        &[],
        &[(27, "SLI plugins are not supported")],
    ),
    (
        "sloth/examples/openslo-kubernetes-apiserver.yml",
        &[
            "k8s-apiserver-requests-availability-openslo-0",
            "k8s-apiserver-requests-latency-openslo-0",
            "k8s-apiserver-requests-latency-openslo-1",
        ],
        &[],
    ),
    (
        "sloth/test/integration/prometheus/testdata/in-invalid-version.yaml",
        &[],
        &[(1, "\"prometheus/v999\" is not supported")],
    ),
    (
        "sloth/test/integration/prometheus/testdata/validate/bad/bad-aa.yaml",
        &["svc01-slo1"],
        &[(28, "objective 101 must be a percentage between 0 and 100")],
    ),
    (
        "sloth/test/integration/prometheus/testdata/validate/bad/bad-k8s.yaml",
        &[],
        &[(7, "`service` is empty")],
    ),
    (
        "sloth/test/integration/prometheus/testdata/validate/bad/bad-multi.yaml",
        &["svc01-slo1", "svc01-slo02", "svc02-slo1"],
        &[(77, "`sli` needs exactly one of")],
    ),
    (
        "sloth/test/integration/prometheus/testdata/validate/bad/bad-multi-k8s.yaml",
        &["svc01-slo02", "svc02-slo1", "svc02-slo02"],
        &[(21, "`alerting.name` is required")],
    ),
    (
        "openslo/examples/budgeting-method/timeslices-slo.yaml",
        &[],
        &[(32, "budgetingMethod \"Timeslices\" is not supported")],
    ),
    (
        "openslo/examples/budgeting-method/occurences-slo.yaml",
        &[],
        &[(10, "thresholdMetric SLIs are not supported")],
    ),
    (
        "oslo/test/inputs/validate/v1.yaml",
        &[],
        &[(37, "budgetingMethod \"Timeslices\" is not supported")],
    ),
    (
        "oslo/test/inputs/validate/v1alpha.yaml",
        &[],
        &[
            (19, "budgetingMethod \"Timeslices\" is not supported"),
            (48, "thresholdMetric SLIs are not supported"),
        ],
    ),
    (
        "oslo/test/inputs/validate/v2alpha.yaml",
        &[],
        &[(1, "apiVersion \"openslo.com/v2alpha\" is not supported")],
    ),
    (
        "oslo/test/inputs/validate/invalid-apiversion.yaml",
        &[],
        &[(1, "apiVersion \"foo\"")],
    ),
    (
        "oslo/internal/files/testdata/format/two-documents.yaml",
        &[],
        &[],
    ),
    (
        "oslo/internal/files/testdata/format/valid-service.json",
        &[],
        &[],
    ),
];

#[test]
fn upstream_files_give_the_slos_and_faults_their_authors_meant() {
    for (file, names, faults) in EXPECTED {
        let (defs, problems) = read_one(file);
        let got: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(&got, names, "{file}: {problems:?}");
        assert_eq!(problems.len(), faults.len(), "{file}: {problems:?}");
        for (p, (line, words)) in problems.iter().zip(faults.iter()) {
            assert!(
                p.message.starts_with(&format!("{file}:{line}:")),
                "{file}: want line {line}: {}",
                p.message
            );
            assert!(p.message.contains(words), "{file}: {}", p.message);
        }
    }
    // An SLO in error keeps the service and objective its file names.
    let (_, p) = read_one("sloth/test/integration/prometheus/testdata/validate/bad/bad-aa.yaml");
    assert_eq!(p[0].name, "svc01-slo02");
    assert_eq!(p[0].service.as_deref(), Some("svc01"));
    assert_eq!(p[0].objective, 101.0);
    let (_, p) = read_one("openslo/examples/budgeting-method/timeslices-slo.yaml");
    assert_eq!(p[0].service.as_deref(), Some("web-availability"));
    assert!((p[0].objective - 99.5).abs() < 1e-9);
    assert_eq!(p[0].window.as_deref(), Some("1m"));
}

fn key(d: &SloDef) -> (String, Option<String>, String, String, Sli) {
    (
        d.name.clone(),
        d.service.clone(),
        format!("{}", d.objective),
        d.window.clone(),
        d.sli.clone(),
    )
}

#[test]
fn sloth_crd_reads_like_the_equivalent_prometheus_v1_file() {
    let pairs = [
        (
            "sloth/examples/getting-started.yml",
            "sloth/examples/k8s-getting-started.yml",
        ),
        (
            "sloth/examples/home-wifi.yml",
            "sloth/examples/k8s-home-wifi.yml",
        ),
        (
            "sloth/examples/multifile.yml",
            "sloth/examples/k8s-multifile.yml",
        ),
        (
            "sloth/test/integration/prometheus/testdata/in-base.yaml",
            "sloth/test/integration/prometheus/testdata/in-base-k8s.yaml",
        ),
        (
            "sloth/test/integration/prometheus/testdata/in-multifile.yaml",
            "sloth/test/integration/prometheus/testdata/in-multifile-k8s.yaml",
        ),
        (
            "sloth/test/integration/prometheus/testdata/validate/good/good-multi.yaml",
            "sloth/test/integration/prometheus/testdata/validate/good/good-multi-k8s.yaml",
        ),
    ];
    for (v1, crd) in pairs {
        let (a, pa) = read_one(v1);
        let (b, pb) = read_one(crd);
        assert!(pa.is_empty() && pb.is_empty(), "{pa:?} {pb:?}");
        assert!(!a.is_empty());
        assert_eq!(
            a.iter().map(key).collect::<Vec<_>>(),
            b.iter().map(key).collect::<Vec<_>>(),
            "{v1} vs {crd}"
        );
    }
}

#[test]
fn type_faults_are_worded_and_located() {
    let crd = "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata:\n  name: x\nspec:\n  service: svc\n  slos:\n    - name: a\n      objective: high\n";
    let (defs, p) = parse_files(&[("c.yaml".into(), crd.into())]);
    assert!(defs.is_empty());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_located("c.yaml", crd, &p[0].message);
    assert!(p[0].message.starts_with("c.yaml:9:"), "{}", p[0].message);
    assert!(p[0].message.contains("number"), "{}", p[0].message);
    // A list item of the wrong shape, in an OpenSLO list.
    let list = "- apiVersion: openslo/v1\n  kind: Service\n  metadata: {name: s}\n- apiVersion: openslo/v1\n  kind: SLO\n  metadata:\n    name: broken\n  spec:\n    objectives: 5\n";
    let (defs, p) = parse_files(&[("l.yaml".into(), list.into())]);
    assert!(defs.is_empty());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_located("l.yaml", list, &p[0].message);
    assert!(p[0].message.starts_with("l.yaml:7:"), "{}", p[0].message);
    // A YAML syntax error: the parser's line and column.
    let bad = "- apiVersion: openslo/v1\n  kind: [SLO\n";
    let (_, p) = parse_files(&[("b.yaml".into(), bad.into())]);
    assert_eq!(p.len(), 1);
    assert_located("b.yaml", bad, &p[0].message);
}

#[test]
fn openslo_lists_documents_and_mixed_kinds() {
    let text = r#"# A list, as oslo and the OpenSLO SDK write it.
- apiVersion: openslo/v1
  kind: Service
  metadata:
    name: checkout
- apiVersion: openslo/v1
  kind: SLI
  metadata:
    name: checkout-errors
  spec:
    ratioMetric:
      counter: true
      bad: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code=~"5.."}'}}}
      total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total'}}}
- apiVersion: openslo/v1
  kind: AlertPolicy
  metadata:
    name: page
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  indicatorRef: checkout-errors
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.995}]
---
- apiVersion: openslo/v1alpha
  kind: SLO
  metadata:
    name: latency
  spec:
    service: checkout
    objectives:
      - ratioMetrics:
          incremental: true
          good: {source: prometheus, queryType: promql, query: 'fast_total'}
          total: {source: prometheus, queryType: promql, query: 'all_total'}
        target: 0.99
    timeWindows: [{count: 7, unit: Day}]
"#;
    let (defs, problems) = parse_files(&[("mixed.yaml".into(), text.into())]);
    assert!(problems.is_empty(), "{problems:?}");
    let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["checkout-latency-0", "checkout-availability"]);
    assert_eq!(defs[0].window, "7d");
    assert_eq!(defs[0].objective, 99.0);
    assert_eq!(
        defs[0].sli,
        Sli::SlothAuto {
            sloth_id: "checkout-latency-0".into(),
            fallback: Box::new(Sli::Events {
                errors:
                    "(sum(rate(all_total[{{.window}}]))) - (sum(rate(fast_total[{{.window}}])))"
                        .into(),
                total: "sum(rate(all_total[{{.window}}]))".into(),
            }),
        }
    );
    assert_eq!(defs[0].source, "mixed.yaml:34:5");
    assert_eq!(defs[1].window, "28d");
    assert!((defs[1].objective - 99.5).abs() < 1e-9);
}

#[test]
fn sloth_v1alpha_openslo_reads_as_sloth_reads_it() {
    let (defs, p) = read_one("sloth/examples/openslo-getting-started.yml");
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(defs.len(), 1);
    let d = &defs[0];
    assert_eq!(d.service.as_deref(), Some("my-service"));
    assert!((d.objective - 99.9).abs() < 1e-9);
    assert_eq!(d.window, "30d");
    match &d.sli {
        Sli::SlothAuto { sloth_id, fallback } => {
            assert_eq!(sloth_id, &d.name);
            let Sli::Events { errors, total } = &**fallback else {
                panic!("{fallback:?}")
            };
            assert!(errors.starts_with(&format!("({total}) - (")), "{errors}");
            assert!(total.contains("{{.window}}"));
        }
        other => panic!("{other:?}"),
    }
}

/// The error ratio the fake Prometheus serves for a window.
fn fake_ratio(window: &str) -> f64 {
    match window {
        "5m" => 0.02,
        "30m" => 0.01,
        "1h" => 0.008,
        "2h" => 0.004,
        "6h" => 0.002,
        "1d" => 0.0015,
        "3d" => 0.001,
        _ => 0.0005,
    }
}

/// A Prometheus that knows the Sloth getting-started queries: errors and
/// total per window, no Sloth recording rules.
async fn fake_prometheus() -> wiremock::MockServer {
    use wiremock::{Mock, ResponseTemplate, matchers::method};
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(|req: &wiremock::Request| {
            let q = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let window = q
                .rsplit_once('[')
                .and_then(|(_, w)| w.split_once(']'))
                .map(|(w, _)| w.to_string())
                .unwrap_or_default();
            let value = if q.starts_with("sloth_slo_info") {
                None
            } else if q.contains("code=~") {
                Some(fake_ratio(&window) * 1000.0)
            } else {
                Some(1000.0)
            };
            let range = req.url.path().ends_with("query_range");
            let result = match (value, range) {
                (None, false) => serde_json::json!({"resultType": "vector", "result": []}),
                (None, true) => serde_json::json!({"resultType": "matrix", "result": []}),
                (Some(v), false) => serde_json::json!({"resultType": "vector",
                    "result": [{"metric": {}, "value": [1700000000.0, v.to_string()]}]}),
                (Some(v), true) => serde_json::json!({"resultType": "matrix",
                    "result": [{"metric": {}, "values": [[1699998200.0, v.to_string()], [1700000000.0, v.to_string()]]}]}),
            };
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"status": "success", "data": result}))
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn sloth_crd_and_v1_give_the_same_numbers_on_a_fake_prometheus() {
    crate::common::init();
    let server = fake_prometheus().await;
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for file in ["getting-started.yml", "k8s-getting-started.yml"] {
        std::fs::copy(
            fixtures().join("sloth/examples").join(file),
            dir.path().join(file),
        )
        .unwrap();
        let cfg_path = dir.path().join(format!("{file}.toml"));
        std::fs::write(
            &cfg_path,
            format!(
                "[[provider]]\nname = \"prom\"\nkind = \"prometheus\"\nbase_url = \"{}\"\n\n[slo_files]\nsloth = [\"{file}\"]\n",
                server.uri()
            ),
        )
        .unwrap();
        let config = sitrep::config::load(&cfg_path).unwrap();
        let pc = config.provider_named("prom").unwrap().clone();
        let secrets = crate::common::MapSecrets::default();
        let prom = sitrep::providers::prometheus::Prometheus::new(
            &pc,
            &crate::common::ctx(&config, &secrets),
        )
        .unwrap();
        assert!(prom.problems().is_empty(), "{:?}", prom.problems());
        let slos = prom.fetch_slos().await.unwrap();
        assert_eq!(slos.len(), 1);
        let s = &slos[0];
        assert_eq!(s.name.as_str(), "myservice-requests-availability");
        assert!(s.error.is_none(), "{:?}", s.error);
        for w in sitrep::model::BURN_WINDOWS {
            let want = fake_ratio(w) / (1.0 - 0.999);
            let got = s.burn_rates.get(w).unwrap();
            assert!(
                (got - want).abs() < 1e-6 * want,
                "{file} {w}: {got} vs {want}"
            );
        }
        let remaining = s.error_budget_remaining.unwrap();
        assert!(
            (remaining - (1.0 - 0.0005 / 0.001)).abs() < 1e-9,
            "{remaining}"
        );
        results.push(serde_json::to_value(s).unwrap());
    }
    assert_eq!(results[0], results[1]);
}

// ---------------------------------------------------------------------------
// flagd: the flagd samples (JSON and YAML) and the flagd-testbed flag files.

use sitrep::actions::{ActionRequest, Executor, Mode};
use sitrep::audit::AuditLog;
use sitrep::ops::WriteOp;
use sitrep::providers::flagd::{Doc, Flagd};
use sitrep::providers::{Provider, Registry};
use std::sync::Arc;

fn flag_files() -> Vec<PathBuf> {
    let mut v = files_under(&fixtures().join("flagd-testbed"), &["json"]);
    v.extend(files_under(
        &fixtures().join("flagd-upstream"),
        &["json", "yaml"],
    ));
    v
}

fn flag_op(key: &str, on: bool) -> WriteOp {
    WriteOp::FlagSet {
        provider: None,
        key: key.into(),
        environment: None,
        on,
    }
}

async fn act(ex: &Executor, key: &str, on: bool) -> String {
    let req = ActionRequest::new(flag_op(key, on), "test");
    let plan = ex
        .plan(&req)
        .await
        .unwrap_or_else(|e| panic!("plan {key} {on}: {e}"));
    ex.execute(&req, &plan, Mode::Live)
        .await
        .unwrap_or_else(|e| panic!("execute {key} {on}: {e}"));
    plan.stakes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn executor(dir: &Path, file: &Path) -> Executor {
    let p = Flagd::with_path("flags", file);
    let reg = Registry {
        providers: vec![Arc::new(p) as Arc<dyn Provider>],
        demo: false,
        keep: Vec::new(),
    };
    Executor::new(
        reg,
        Arc::new(AuditLog::new(
            dir.join("audit.jsonl"),
            sitrep::audit::Signer::ephemeral(),
        )),
    )
    .with_actor("alice@example.com", "laptop")
}

#[test]
fn every_upstream_flag_file_is_read() {
    let files = flag_files();
    assert!(files.len() >= 14, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let doc = Doc::parse("flags", &f, bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(doc.flags().count() > 0, "{}", f.display());
    }
    // The YAML sample reads as its JSON twin.
    let read = |n: &str| {
        let p = fixtures().join("flagd-upstream/samples").join(n);
        Doc::parse("flags", &p, std::fs::read(&p).unwrap())
            .unwrap()
            .value
    };
    let (json, yaml) = (
        read("example_flags.flagd.json"),
        read("example_flags.flagd.yaml"),
    );
    assert_eq!(json["flags"], yaml["flags"]);
}

#[tokio::test]
async fn off_then_on_is_byte_identical_for_every_upstream_flag() {
    let mut flags = 0;
    for f in flag_files() {
        let original = std::fs::read(&f).unwrap();
        let doc = Doc::parse("flags", &f, original.clone()).unwrap();
        let keys: Vec<String> = doc.flags().map(|(k, _, _)| k.to_string()).collect();
        for key in keys {
            flags += 1;
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(f.file_name().unwrap());
            std::fs::write(&file, &original).unwrap();
            let ex = executor(dir.path(), &file);
            act(&ex, &key, false).await;
            let after_off = std::fs::read(&file).unwrap();
            let off_doc = Doc::parse("flags", &file, after_off.clone()).unwrap();
            let (_, _, flag) = off_doc.find(&key).unwrap();
            assert!(
                !sitrep::providers::flagd::evaluates_on(flag),
                "{}: {key} still on after the kill switch",
                f.display()
            );
            let stakes = act(&ex, &key, true).await;
            let restored = std::fs::read(&file).unwrap();
            assert!(
                restored == original,
                "{}: {key}: off then on changed the file ({stakes}):\n{}",
                f.display(),
                String::from_utf8_lossy(&restored)
            );
            if after_off != original {
                assert!(
                    stakes.contains("exactly as before the kill switch"),
                    "{stakes}"
                );
            }
        }
    }
    assert!(flags >= 60, "only {flags} flags");
}

#[tokio::test]
async fn yaml_kill_switch_touches_only_the_changed_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flags.yaml");
    let original =
        std::fs::read_to_string(fixtures().join("flagd-upstream/samples/example_flags.flagd.yaml"))
            .unwrap();
    std::fs::write(&file, &original).unwrap();
    let ex = executor(dir.path(), &file);
    act(&ex, "myBoolFlag", false).await;
    let after = std::fs::read_to_string(&file).unwrap();
    let diff: Vec<(&str, &str)> = original
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        diff,
        [("    defaultVariant: 'on'", "    defaultVariant: 'off'")]
    );
    assert_eq!(original.lines().count(), after.lines().count());
    // A broken YAML flag file: file, line and column in words.
    std::fs::write(&file, "flags:\n  a:\n    state: [ENABLED\n").unwrap();
    let e = Doc::parse("flags", &file, std::fs::read(&file).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("flags.yaml:4:1:") || e.contains("flags.yaml:3:"),
        "{e}"
    );
    assert!(
        !e.contains("invalid type") && !e.contains("sequence"),
        "{e}"
    );
}
