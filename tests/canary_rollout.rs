//! `modelgen canary status|advance` against a real Prometheus: a healthy canary advances step by step and is promoted, one that fails three times as often as the stable is rolled back, one with too little traffic or without Prometheus holds — on KServe (native and split), Seldon Core v1 and Seldon Core 2, in a Git repository.

mod support;

#[path = "prometheus/harness.rs"]
mod harness;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

use harness::{BASE, Data, Prometheus};
use support::{modelgen, text};

/// Samples of one series: `(seconds after the base, value)`.
type Samples = Vec<(u64, f64)>;
/// Adds the request counters of one version: `(model, version, ok, errors)`.
type Writer = fn(&mut Data, &str, &str, &[(u64, f64)], &[(u64, f64)]);

/// One serving backend: how its spec reads and which series its pods export.
struct Backend {
    /// Names the models and the application directory.
    name: &'static str,
    /// The spec lines under `spec:` that choose the backend.
    spec: &'static str,
    /// Adds the request counters of one version.
    series: Writer,
}

const BACKENDS: [Backend; 4] = [
    Backend { name: "knative", spec: "  backend: kserve\n", series: knative },
    Backend {
        name: "split",
        spec: "  backend: kserve\n  route:\n    gateway: {name: public, namespace: gateway-system}\n    hosts: [models.example.com]\n  cluster: {gatewayImplementation: istio}\n",
        series: knative,
    },
    Backend { name: "seldon", spec: "  backend: seldon\n", series: seldon },
    Backend { name: "seldon-v2", spec: "  backend: seldon-v2\n", series: seldon_v2 },
];

/// Knative's queue-proxy (KServe in Knative mode, whatever the canary strategy).
fn knative(data: &mut Data, model: &str, version: &str, ok: &[(u64, f64)], errors: &[(u64, f64)]) {
    for (class, samples) in [("2xx", ok), ("5xx", errors)] {
        let labels = [("namespace", "ml"), ("model", model), ("version", version), ("response_code_class", class)];
        data.gauge("revision_app_request_count", &labels, samples);
    }
}

/// Seldon Core v1's executor: prediction calls are `service="predictions"`.
fn seldon(data: &mut Data, model: &str, version: &str, ok: &[(u64, f64)], errors: &[(u64, f64)]) {
    for (code, samples) in [("200", ok), ("500", errors)] {
        let labels = [
            ("namespace", "ml"),
            ("model", model),
            ("version", version),
            ("deployment_name", model),
            ("predictor_name", version),
            ("service", "predictions"),
            ("method", "post"),
            ("code", code),
        ];
        data.gauge("seldon_api_executor_server_requests_seconds_count", &labels, samples);
    }
}

/// Seldon Core 2's agent.
fn seldon_v2(data: &mut Data, model: &str, version: &str, ok: &[(u64, f64)], errors: &[(u64, f64)]) {
    for (code, samples) in [("200", ok), ("500", errors)] {
        let labels = [
            ("namespace", "ml"),
            ("model", model),
            ("version", version),
            ("code", code),
            ("method_type", "rest"),
            ("server", "mlserver"),
        ];
        data.gauge("seldon_model_infer_total", &labels, samples);
    }
}

/// The data's span: two hours and a half, scraped every 30 s.
const END: u64 = 9_000;
const SCRAPE: u64 = 30;

/// How a model's traffic behaves: requests per second, the canary's share
/// at each time, and each version's share of server errors.
struct Traffic {
    rate: f64,
    share: fn(u64) -> f64,
    stable_errors: f64,
    canary_errors: f64,
}

/// Cumulative `(ok, errors)` counters of each version, sampled every scrape.
fn counters(traffic: &Traffic) -> [(Samples, Samples); 2] {
    let mut out: [(Samples, Samples); 2] = Default::default();
    let mut totals = [(0.0, 0.0); 2];
    for t in (0..=END).step_by(usize::try_from(SCRAPE).expect("small")) {
        let share = (traffic.share)(t);
        let per_scrape = traffic.rate * f64::from(u32::try_from(SCRAPE).expect("small"));
        for (i, (fraction, error_rate)) in
            [(1.0 - share, traffic.stable_errors), (share, traffic.canary_errors)].into_iter().enumerate()
        {
            out[i].0.push((t, totals[i].0));
            out[i].1.push((t, totals[i].1));
            totals[i].0 += per_scrape * fraction * (1.0 - error_rate);
            totals[i].1 += per_scrape * fraction * error_rate;
        }
    }
    out
}

/// The healthy canary's share follows the commits, each synced five minutes
/// late: 5 % until 40 min, 25 % until 80 min, 50 % after.
fn stepping(t: u64) -> f64 {
    if t < 2_400 {
        0.05
    } else if t < 4_800 {
        0.25
    } else {
        0.50
    }
}

fn spec(backend: &Backend, model: &str) -> String {
    format!(
        "apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata: {{name: {model}, namespace: ml}}
spec:
{}  model: {{format: sklearn, version: v1, storageUri: s3://models/{model}/v1}}
  canary:
    version: v2
    storageUri: s3://models/{model}/v2
    trafficPercent: 5
    # Five, then twenty-five, then half of the traffic; thirty healthy minutes each.
    rollout: {{steps: [5, 25, 50], interval: 30m, minRequests: 100}}
  monitoring:
    alerts:
      errorRate: {{percent: 5}}
      canary: {{errorRateFactor: 2}}
",
        backend.spec
    )
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=modelgen test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    out
}

/// `modelgen canary advance` at `minutes` after the data's start.
fn advance(dir: &Path, url: &str, minutes: u64) -> Output {
    let at = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(BASE + minutes * 60)).to_string();
    modelgen()
        .current_dir(dir)
        .args(["canary", "advance", ".", "--prometheus", url, "--at", &at])
        .output()
        .expect("runs")
}

/// Runs `advance`, commits what it changed with its message, and returns the message.
fn advance_and_commit(dir: &Path, url: &str, minutes: u64) -> String {
    let out = advance(dir, url, minutes);
    assert_eq!(out.status.code(), Some(0), "advance at {minutes} min: {}", text(&out.stderr));
    let message = text(&out.stdout);
    git(dir, &["add", "-A"]);
    let mut commit = Command::new("git");
    commit
        .current_dir(dir)
        .args(["-c", "user.name=modelgen test", "-c", "user.email=test@example.com", "commit", "-q", "-F", "-"])
        .stdin(std::process::Stdio::piped());
    let mut child = commit.spawn().expect("git commit");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), message.as_bytes()).expect("message");
    assert!(child.wait().expect("waits").success());
    message
}

fn spec_of(dir: &Path, model: &str) -> serde_json::Value {
    serde_saphyr::from_str(&std::fs::read_to_string(dir.join(format!("{model}.yaml"))).expect("read")).expect("YAML")
}

fn trailers(dir: &Path) -> String {
    text(&git(dir, &["log", "-1", "--format=%(trailers)"]).stdout)
}

#[test]
fn rollouts_advance_promote_roll_back_and_hold_on_every_backend() {
    let mut data = Data::new(BASE);
    let healthy = Traffic { rate: 20.0, share: stepping, stable_errors: 0.01, canary_errors: 0.01 };
    let failing = Traffic { rate: 20.0, share: |_| 0.05, stable_errors: 0.01, canary_errors: 0.03 };
    let quiet = Traffic { rate: 0.02, share: |_| 0.05, stable_errors: 0.0, canary_errors: 0.0 };
    for backend in &BACKENDS {
        for (kind, traffic) in [("good", &healthy), ("bad", &failing), ("quiet", &quiet)] {
            let model = format!("{}-{kind}", backend.name);
            let [stable, canary] = counters(traffic);
            (backend.series)(&mut data, &model, "v1", &stable.0, &stable.1);
            (backend.series)(&mut data, &model, "v2", &canary.0, &canary.1);
        }
    }
    let prometheus = Prometheus::start(&data);
    for backend in &BACKENDS {
        let repo = tempfile::tempdir().expect("a repository");
        let dir = repo.path();
        git(dir, &["init", "-q", "-b", "main"]);
        for kind in ["good", "bad", "quiet"] {
            let model = format!("{}-{kind}", backend.name);
            std::fs::write(dir.join(format!("{model}.yaml")), spec(backend, &model)).expect("write");
        }
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "three canaries"]);
        let (good, bad, quiet) =
            (format!("{}-good", backend.name), format!("{}-bad", backend.name), format!("{}-quiet", backend.name));
        let context = |what: &str| format!("{}: {what}", backend.name);

        // 35 min: the healthy canary held its 5 % for the whole interval: 25 %.
        // The failing one errs three times as often as the stable: rolled back.
        let message = advance_and_commit(dir, &prometheus.url, 35);
        assert_eq!(spec_of(dir, &good)["spec"]["canary"]["trafficPercent"], 25, "{}", context(&message));
        assert!(spec_of(dir, &bad)["spec"].get("canary").is_none(), "{}", context("rolled back"));
        assert_eq!(spec_of(dir, &quiet)["spec"]["canary"]["trafficPercent"], 5, "{}", context("the quiet one holds"));
        let written = trailers(dir);
        for line in [
            format!("Modelgen-Model: {good}"),
            "Modelgen-Action: set-weight".to_owned(),
            "Modelgen-To: v1 75%, v2 25%".to_owned(),
            format!("Modelgen-Model: {bad}"),
            "Modelgen-Action: rollback".to_owned(),
        ] {
            assert!(written.lines().any(|l| l == line), "{}", context(&format!("missing {line:?} in\n{written}")));
        }

        // 50 min: 25 % went live at 40 min (the sync lagged five minutes), so the
        // step has ten of its thirty minutes: nothing to do (exit 4), nothing changed.
        let out = advance(dir, &prometheus.url, 50);
        assert_eq!(out.status.code(), Some(4), "{}", context(&text(&out.stderr)));
        assert!(out.stdout.is_empty());
        let stderr = text(&out.stderr);
        assert!(stderr.contains("decision: wait until 2024-01-01T01:1"), "{}", context(&stderr));
        assert!(stderr.contains("fewer than the 100"), "{}", context(&stderr));
        assert!(text(&git(dir, &["status", "--porcelain"]).stdout).is_empty(), "{}", context("unchanged"));

        // 75 min: 25 % has been live for thirty minutes: 50 %. 115 min: the last step held: promoted.
        advance_and_commit(dir, &prometheus.url, 75);
        assert_eq!(spec_of(dir, &good)["spec"]["canary"]["trafficPercent"], 50, "{}", context("third step"));
        let message = advance_and_commit(dir, &prometheus.url, 115);
        let promoted = spec_of(dir, &good);
        assert_eq!(promoted["spec"]["model"]["version"], "v2", "{}", context(&message));
        assert_eq!(promoted["spec"]["model"]["storageUri"], format!("s3://models/{good}/v2"));
        assert!(promoted["spec"].get("canary").is_none());
        assert!(trailers(dir).lines().any(|l| l == "Modelgen-Action: promote"), "{}", context("promote trailer"));
        let log = text(&git(dir, &["log", "--format=%s"]).stdout);
        assert_eq!(log.lines().count(), 4, "{}", context(&log));

        // Without Prometheus every canary holds and nothing is written.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let url = format!("http://{}", closed.local_addr().expect("address"));
        drop(closed);
        let out = advance(dir, &url, 120);
        assert_eq!(out.status.code(), Some(4), "{}", context(&text(&out.stderr)));
        assert!(text(&out.stderr).contains("hold: gate"), "{}", context(&text(&out.stderr)));
        assert!(text(&git(dir, &["status", "--porcelain"]).stdout).is_empty());
    }
}

#[test]
fn status_reports_every_gate_with_its_query_value_and_verdict() {
    let mut data = Data::new(BASE);
    let failing = Traffic { rate: 20.0, share: |_| 0.05, stable_errors: 0.01, canary_errors: 0.03 };
    let [stable, canary] = counters(&failing);
    seldon_v2(&mut data, "iris", "v1", &stable.0, &stable.1);
    seldon_v2(&mut data, "iris", "v2", &canary.0, &canary.1);
    let prometheus = Prometheus::start(&data);
    let dir = support::app(&[("iris.yaml", &spec(&BACKENDS[3], "iris"))]);
    let at = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(BASE + 3_600)).to_string();
    let out = modelgen()
        .current_dir(dir.path())
        .args(["canary", "status", "--prometheus", &prometheus.url, "--at", &at, "--format", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let iris = &status[0];
    assert_eq!(iris["decision"]["action"], "rollback", "{iris:#}");
    assert_eq!(iris["decision"]["text"], "rollback: CanaryErrorRateAboveStable failed");
    let gates = iris["rollout"]["gates"].as_array().expect("gates");
    let by_name =
        |name: &str| gates.iter().find(|g| g["alert"] == name).unwrap_or_else(|| panic!("{name}: {gates:#?}"));
    assert_eq!(by_name("CanaryErrorRateAboveStable")["verdict"], "fails");
    // 3 % of the canary's requests fail: under the 5 % threshold, so that gate holds, with its value.
    let errors = by_name("ModelErrorRateHigh");
    assert_eq!(errors["verdict"], "ok");
    let value = errors["value"].as_f64().expect("a value");
    assert!((value - 0.03).abs() < 0.001, "{errors:#}");
    assert!(errors["expr"].as_str().expect("expr").contains("seldon_model_infer_total"), "{errors:#}");
    // 5 % of 20 requests a second over 30 minutes.
    assert_eq!(iris["rollout"]["requests"], 1_800, "{iris:#}");
    assert_eq!(iris["rollout"]["liveSeconds"], 1_800, "{iris:#}");
    // Markdown for a job summary: a table row per gate.
    let out = modelgen()
        .current_dir(dir.path())
        .args(["canary", "status", "--prometheus", &prometheus.url, "--at", &at, "--format", "markdown"])
        .output()
        .expect("runs");
    let markdown = text(&out.stdout);
    assert!(markdown.contains("**Decision: rollback: CanaryErrorRateAboveStable failed**"), "{markdown}");
    assert!(markdown.contains("| `CanaryErrorRateAboveStable` | ❌ fails |"), "{markdown}");
}
