//! Monitoring: every generated rule and dashboard query passes `promtool`, and the alerts fire on the series each backend really exports.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use support::{assert_valid_against_crds, documents, run_in, subdirectories, text, tool, workspace};

/// Every rendered example and successful case, as `(name, objects)`, rendered now through the binary.
fn renders() -> Vec<(String, Vec<Value>)> {
    let examples = subdirectories(&workspace().join("examples")).into_iter().map(|dir| (dir.clone(), dir));
    let cases = subdirectories(&workspace().join("tests/cases"))
        .into_iter()
        .filter(|case| case.join("expected.yaml").exists())
        .map(|case| (case.clone(), case.join("app")));
    examples
        .chain(cases)
        .filter_map(|(name, app)| {
            let args: Vec<String> = std::fs::read_to_string(name.join("args"))
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            let mut command_line = vec!["render", "."];
            command_line.extend(args.iter().map(String::as_str));
            let out = run_in(&app, &command_line);
            (out.status.code() == Some(0)).then(|| (name.display().to_string(), documents(&text(&out.stdout))))
        })
        .collect()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// Writes `groups` as a Prometheus rules file.
fn rules_file(dir: &Path, name: &str, groups: &Value) -> PathBuf {
    let path = dir.join(name);
    let yaml = serde_saphyr::to_string(&json!({ "groups": groups })).expect("rules serialize");
    std::fs::write(&path, yaml).expect("write rules file");
    path
}

fn promtool(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(tool("promtool")).current_dir(dir).args(args).output().expect("run promtool")
}

fn assert_promtool_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "promtool rejects {what}:\n{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn every_prometheus_rule_passes_promtool_check_rules() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut checked = 0;
    for (name, objects) in renders() {
        for rule in of_kind(&objects, "PrometheusRule") {
            let groups = &rule["spec"]["groups"];
            assert!(groups.as_array().is_some_and(|g| !g.is_empty()), "{name}: a PrometheusRule without groups");
            let file = rules_file(dir.path(), &format!("rules-{checked}.yaml"), groups);
            let out = promtool(dir.path(), &["check", "rules", file.to_str().expect("UTF-8 path")]);
            assert_promtool_ok(&out, &format!("the rules of {name}"));
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} PrometheusRules checked");
}

#[test]
fn every_dashboard_parses_and_every_panel_query_is_valid_promql() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut dashboards = 0;
    for (name, objects) in renders() {
        for config_map in of_kind(&objects, "ConfigMap") {
            assert_eq!(
                config_map["metadata"]["labels"]["grafana_dashboard"], "1",
                "{name}: not labelled for the sidecar"
            );
            let data = config_map["data"].as_object().expect("data");
            assert_eq!(data.len(), 1, "{name}: one dashboard per ConfigMap");
            let (key, json_text) = data.iter().next().expect("one entry");
            assert!(
                Path::new(key).extension().is_some_and(|e| e == "json"),
                "{name}: `{key}` is not a .json file name"
            );
            let dashboard: Value = serde_json::from_str(json_text.as_str().expect("a string"))
                .unwrap_or_else(|e| panic!("{name}: the dashboard is not JSON: {e}"));
            assert!(dashboard["uid"].as_str().is_some_and(|uid| !uid.is_empty() && uid.len() <= 40), "{name}: uid");
            assert_eq!(dashboard["templating"]["list"][0]["name"], "datasource", "{name}: no datasource variable");
            let panels = dashboard["panels"].as_array().expect("panels");
            assert!(!panels.is_empty(), "{name}: a dashboard without panels");
            // Each panel query becomes a recording rule, which promtool parses as PromQL.
            let mut rules = Vec::new();
            for panel in panels {
                let targets = panel["targets"].as_array().expect("targets");
                assert!(!targets.is_empty(), "{name}: panel {} has no query", panel["title"]);
                for target in targets {
                    let expr = target["expr"].as_str().expect("expr");
                    assert!(!expr.contains('$'), "{name}: `{expr}` uses a Grafana variable promtool cannot check");
                    rules.push(json!({ "record": format!("dashboard:panel{}:{}", panel["id"], target["refId"].as_str().expect("refId")), "expr": expr }));
                }
            }
            let file = rules_file(
                dir.path(),
                &format!("dashboard-{dashboards}.yaml"),
                &json!([{ "name": "panels", "rules": rules }]),
            );
            let out = promtool(dir.path(), &["check", "rules", file.to_str().expect("UTF-8 path")]);
            assert_promtool_ok(&out, &format!("the dashboard queries of {name}"));
            dashboards += 1;
        }
    }
    assert!(dashboards >= 5, "only {dashboards} dashboards checked");
}

#[test]
fn the_mochanet_example_renders_scraping_alerts_with_canary_comparison_and_a_dashboard() {
    let example = workspace().join("examples/mochanet");
    let out = run_in(&example, &["render", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stream = text(&out.stdout);
    assert_valid_against_crds(&stream, "examples/mochanet");
    let objects = documents(&stream);
    let monitor = of_kind(&objects, "PodMonitor");
    assert_eq!(monitor.len(), 1);
    assert_eq!(monitor[0]["spec"]["selector"]["matchExpressions"][0]["values"], json!(["mochanet"]));
    let alerts: Vec<&str> = of_kind(&objects, "PrometheusRule")[0]["spec"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .filter_map(|r| r["alert"].as_str())
        .collect();
    for expected in [
        "ModelLatencyHigh",
        "ModelErrorRateHigh",
        "ModelTrafficLow",
        "ModelQualityDegraded",
        "CanaryErrorRateAboveStable",
        "CanaryLatencyAboveStable",
    ] {
        assert!(alerts.contains(&expected), "{expected} missing from {alerts:?}");
    }
    assert_eq!(of_kind(&objects, "ConfigMap").len(), 1);
    // The canary's revision is labelled with the version it serves, or its series would pass for the stable's.
    let isvc = of_kind(&objects, "InferenceService")[0];
    assert_eq!(isvc["spec"]["predictor"]["labels"]["app.kubernetes.io/version"], "v1.3.0");
}

#[test]
fn disabled_monitoring_renders_nothing_and_enabled_monitoring_changes_only_what_it_adds() {
    let spec = |monitoring: &str| {
        format!(
            "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {{name: m, namespace: ml}}\nspec:\n  model: {{format: sklearn, version: v1, storageUri: s3://m/1}}\n{monitoring}"
        )
    };
    let render = |text_of_spec: String| {
        let dir = tempfile::tempdir().expect("app");
        std::fs::write(dir.path().join("m.yaml"), text_of_spec).expect("write");
        let out = run_in(dir.path(), &["render"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        documents(&text(&out.stdout))
    };
    let plain = render(spec(""));
    let disabled = render(spec("  monitoring: {enabled: false, alerts: {errorRate: {percent: 1}}}\n"));
    assert_eq!(plain, disabled);
    let enabled = render(spec("  monitoring: {alerts: {errorRate: {percent: 1}}}\n"));
    assert_eq!(enabled[0], plain[0], "monitoring without a canary leaves the InferenceService as it was");
    let kinds: Vec<&str> = enabled.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(kinds, ["InferenceService", "PodMonitor", "PrometheusRule", "ConfigMap"]);
}

/// The rendered `PrometheusRule` groups of one example or case.
fn rule_groups(app: &Path) -> Value {
    let out = run_in(app, &["render", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objects = documents(&text(&out.stdout));
    of_kind(&objects, "PrometheusRule")[0]["spec"]["groups"].clone()
}

/// The annotations of `alert` in `groups`, with `{{ $value ... }}` replaced by what it prints for this test.
fn annotations(groups: &Value, alert: &str, version: &str, value: &str) -> Value {
    let rule = groups
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .find(|r| r["alert"] == alert && r["labels"]["version"] == version)
        .unwrap_or_else(|| panic!("no {alert} for {version}"));
    let mut annotations = rule["annotations"].clone();
    for text in annotations.as_object_mut().expect("annotations").values_mut() {
        let replaced = text
            .as_str()
            .expect("string")
            .replace("{{ $value | humanizePercentage }}", value)
            .replace("{{ $value | humanizeDuration }}", value)
            .replace("{{ $value }}", value);
        *text = json!(replaced);
    }
    annotations
}

/// Runs `promtool test rules` with the rules in `groups` and the scenario `tests`.
fn promtool_test(groups: &Value, tests: &Value) {
    let dir = tempfile::tempdir().expect("temporary directory");
    rules_file(dir.path(), "rules.yaml", groups);
    let test = json!({ "rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests });
    std::fs::write(dir.path().join("test.yaml"), serde_saphyr::to_string(&test).expect("serialize")).expect("write");
    let out = promtool(dir.path(), &["test", "rules", "test.yaml"]);
    assert_promtool_ok(&out, "the alert scenarios");
}

/// Labels of an alert of the mochanet example.
fn mochanet_alert(severity: &str, version: &str, variant: &str) -> Value {
    json!({
        "namespace": "coffee", "model": "mochanet", "version": version, "variant": variant,
        "backend": "kserve", "severity": severity,
    })
}

#[test]
fn kserve_alerts_fire_on_knative_queue_proxy_series_of_either_generation() {
    let groups = rule_groups(&workspace().join("examples/mochanet"));
    // What the PodMonitor scrapes from queue-proxy, labelled with `model` and the pod's `version`.
    let series = |name: &str, version: &str, status: &str, values: &str| {
        json!({
            "series": format!("{name}{{namespace=\"coffee\", model=\"mochanet\", version=\"{version}\", pod=\"p-{version}\", {status}}}"),
            "values": values,
        })
    };
    let canary_alerts = |eval: &str| {
        json!([
            {
                "eval_time": eval,
                "alertname": "CanaryErrorRateAboveStable",
                "exp_alerts": [{
                    "exp_labels": mochanet_alert("critical", "v1.3.0", "canary"),
                    "exp_annotations": annotations(&groups, "CanaryErrorRateAboveStable", "v1.3.0", "5%"),
                }],
            },
            {
                "eval_time": eval,
                "alertname": "ModelErrorRateHigh",
                "exp_alerts": [{
                    "exp_labels": mochanet_alert("critical", "v1.3.0", "canary"),
                    "exp_annotations": annotations(&groups, "ModelErrorRateHigh", "v1.3.0", "5%"),
                }],
            },
            { "eval_time": eval, "alertname": "ModelTrafficLow", "exp_alerts": [] },
        ])
    };
    // Knative up to 1.18: OpenCensus names, status classes. Stable: 90 requests/s, no errors; canary: 10/s, 5% errors.
    let mut opencensus = json!({
        "interval": "1m",
        "input_series": [
            series("revision_app_request_count", "v1.2.0", "response_code_class=\"2xx\"", "0+5400x30"),
            series("revision_app_request_count", "v1.3.0", "response_code_class=\"2xx\"", "0+570x30"),
            series("revision_app_request_count", "v1.3.0", "response_code_class=\"5xx\"", "0+30x30"),
            series("mochanet_grind_accuracy", "v1.2.0", "container=\"kserve-container\"", "0.95+0x30"),
            series("mochanet_grind_accuracy", "v1.3.0", "container=\"kserve-container\"", "0.85+0x30"),
        ],
        "alert_rule_test": canary_alerts("20m").as_array().expect("list").iter().cloned().chain([
            json!({
                "eval_time": "20m",
                "alertname": "ModelQualityDegraded",
                "exp_alerts": [{
                    "exp_labels": mochanet_alert("warning", "v1.3.0", "canary"),
                    "exp_annotations": annotations(&groups, "ModelQualityDegraded", "v1.3.0", "0.85"),
                }],
            }),
        ]).collect::<Vec<_>>(),
        "promql_expr_test": [{
            "expr": "modelgen:request_error_ratio:rate5m",
            "eval_time": "20m",
            // No error series for the stable version still gives a ratio of 0, so the canary compares against it.
            "exp_samples": [
                { "labels": "modelgen:request_error_ratio:rate5m{namespace=\"coffee\", model=\"mochanet\", version=\"v1.2.0\"}", "value": 0 },
                { "labels": "modelgen:request_error_ratio:rate5m{namespace=\"coffee\", model=\"mochanet\", version=\"v1.3.0\"}", "value": 0.05 },
            ],
        }],
    });
    // Knative 1.20 and later: OpenTelemetry names, status codes.
    let mut opentelemetry = json!({
        "interval": "1m",
        "input_series": [
            series("kn_serving_invocation_duration_seconds_count", "v1.2.0", "http_response_status_code=\"200\"", "0+5400x30"),
            series("kn_serving_invocation_duration_seconds_count", "v1.3.0", "http_response_status_code=\"200\"", "0+570x30"),
            series("kn_serving_invocation_duration_seconds_count", "v1.3.0", "http_response_status_code=\"503\"", "0+30x30"),
        ],
        "alert_rule_test": canary_alerts("20m"),
    });
    // A canary no worse than the stable (both 1% errors) is not flagged by the comparison.
    let mut even = json!({
        "interval": "1m",
        "input_series": [
            series("revision_app_request_count", "v1.2.0", "response_code_class=\"2xx\"", "0+5940x30"),
            series("revision_app_request_count", "v1.2.0", "response_code_class=\"5xx\"", "0+60x30"),
            series("revision_app_request_count", "v1.3.0", "response_code_class=\"2xx\"", "0+594x30"),
            series("revision_app_request_count", "v1.3.0", "response_code_class=\"5xx\"", "0+6x30"),
        ],
        "alert_rule_test": [{ "eval_time": "20m", "alertname": "CanaryErrorRateAboveStable", "exp_alerts": [] }],
    });
    // No metrics at all: the traffic alert fires, so a broken scrape is not silent.
    let silent = json!({
        "interval": "1m",
        "input_series": [{ "series": "up{job=\"other\"}", "values": "1+0x30" }],
        "alert_rule_test": [{
            "eval_time": "20m",
            "alertname": "ModelTrafficLow",
            "exp_alerts": [{
                "exp_labels": { "namespace": "coffee", "model": "mochanet", "version": "v1.2.0", "backend": "kserve", "severity": "warning" },
                "exp_annotations": annotations(&groups, "ModelTrafficLow", "v1.2.0", ""),
            }],
        }],
    });
    // The rollout gate of the comparison, on queue-proxy's raw counters of
    // either generation: it fails with the alert, and holds with `even`.
    let gate = rollout_gate("examples/mochanet/mochanet.yaml", "CanaryErrorRateAboveStable");
    assert!(!gate.contains("modelgen:"), "the gate reads recorded series: {gate}");
    let fails = json!([{ "expr": format!("count({gate})"), "eval_time": "20m", "exp_samples": [{ "labels": "{}", "value": 1 }] }]);
    for scenario in [&mut opencensus, &mut opentelemetry] {
        let tests =
            scenario.as_object_mut().expect("a scenario").entry("promql_expr_test").or_insert_with(|| json!([]));
        tests.as_array_mut().expect("a list").extend(fails.as_array().expect("a list").iter().cloned());
    }
    even["promql_expr_test"] = json!([{ "expr": gate, "eval_time": "20m", "exp_samples": [] }]);
    promtool_test(&groups, &json!([opencensus, opentelemetry, even, silent]));
}

#[test]
fn kserve_latency_alerts_read_the_quantile_of_the_queue_proxy_histogram() {
    let groups = rule_groups(&workspace().join("examples/mochanet"));
    // Millisecond buckets (OpenCensus): every stable request under 50 ms; every canary request between 250 and 500 ms.
    let bucket = |version: &str, le: &str, per_minute: u32| {
        json!({
            "series": format!("revision_app_request_latencies_bucket{{namespace=\"coffee\", model=\"mochanet\", version=\"{version}\", le=\"{le}\"}}"),
            "values": format!("0+{per_minute}x30"),
        })
    };
    let mut input = Vec::new();
    for (le, stable, canary) in [("50", 600, 0), ("250", 600, 0), ("500", 600, 60), ("+Inf", 600, 60)] {
        input.push(bucket("v1.2.0", le, stable));
        input.push(bucket("v1.3.0", le, canary));
    }
    // Latency alerts carry the recorded series' `quantile` label too.
    let latency_labels = |severity: &str| {
        let mut labels = mochanet_alert(severity, "v1.3.0", "canary");
        labels["quantile"] = json!("0.99");
        labels
    };
    let scenario = json!({
        "interval": "1m",
        "input_series": input,
        "alert_rule_test": [
            { "eval_time": "20m", "alertname": "ModelLatencyHigh", "exp_alerts": [{
                "exp_labels": latency_labels("warning"),
                "exp_annotations": annotations(&groups, "ModelLatencyHigh", "v1.3.0", "497.5ms"),
            }] },
            { "eval_time": "20m", "alertname": "CanaryLatencyAboveStable", "exp_alerts": [{
                "exp_labels": latency_labels("critical"),
                "exp_annotations": annotations(&groups, "CanaryLatencyAboveStable", "v1.3.0", "497.5ms"),
            }] },
        ],
    });
    promtool_test(&groups, &json!([scenario]));
}

#[test]
fn seldon_core_2_alerts_fire_on_the_agents_counters_relabelled_by_internal_model_name() {
    let groups = rule_groups(&workspace().join("tests/cases/monitoring-seldon-v2-canary/app"));
    // After the PodMonitor's metric relabelling: `iris_1` is v1.0.0, `iris-canary_1` is v1.1.0.
    let series = |version: &str, code: &str, per_minute: u32| {
        json!({
            "series": format!("seldon_model_infer_total{{namespace=\"models\", model=\"iris\", version=\"{version}\", code=\"{code}\", method_type=\"rest\", server=\"iris-server\"}}"),
            "values": format!("0+{per_minute}x30"),
        })
    };
    let latency = |version: &str, per_minute: f64| {
        json!({
            "series": format!("seldon_model_infer_seconds_total{{namespace=\"models\", model=\"iris\", version=\"{version}\", code=\"200\", method_type=\"rest\", server=\"iris-server\"}}"),
            "values": format!("0+{per_minute}x30"),
        })
    };
    let labels = |severity: &str, alert_version: &str, variant: &str| json!({ "namespace": "models", "model": "iris", "version": alert_version, "variant": variant, "backend": "seldon-v2", "severity": severity });
    // Stable: 60 requests/minute, all fine, 20 ms each; canary: 60/minute, 10% errors, 300 ms each.
    let scenario = json!({
        "interval": "1m",
        "input_series": [
            series("v1.0.0", "200", 60),
            series("v1.1.0", "200", 54),
            series("v1.1.0", "500", 6),
            latency("v1.0.0", 1.2),
            latency("v1.1.0", 18.0),
        ],
        "alert_rule_test": [
            { "eval_time": "20m", "alertname": "CanaryErrorRateAboveStable", "exp_alerts": [{
                "exp_labels": labels("critical", "v1.1.0", "canary"),
                "exp_annotations": annotations(&groups, "CanaryErrorRateAboveStable", "v1.1.0", "10%"),
            }] },
            { "eval_time": "20m", "alertname": "ModelLatencyHigh", "exp_alerts": [{
                "exp_labels": labels("warning", "v1.1.0", "canary"),
                "exp_annotations": annotations(&groups, "ModelLatencyHigh", "v1.1.0", "300ms"),
            }] },
        ],
    });
    promtool_test(&groups, &json!([scenario]));
}

#[test]
fn seldon_core_1_counts_predictions_not_readiness_metadata_or_feedback_calls() {
    // The executor times every call it serves, labelled `service` (plugin rule
    // `seldon-executor-service`): readiness checks and metadata calls must not
    // count as traffic, nor dilute the error rate.
    let groups = rule_groups(&workspace().join("tests/cases/monitoring-seldon-canary/app"));
    let series = |version: &str, predictor: &str, service: &str, code: &str, per_minute: u32| {
        json!({
            "series": format!("seldon_api_executor_server_requests_seconds_count{{namespace=\"payments\", model=\"fraud\", version=\"{version}\", deployment_name=\"fraud\", predictor_name=\"{predictor}\", service=\"{service}\", method=\"post\", code=\"{code}\"}}"),
            "values": format!("0+{per_minute}x30"),
        })
    };
    let labels = json!({ "namespace": "payments", "model": "fraud", "version": "v7.1.0", "variant": "canary", "backend": "seldon", "severity": "critical" });
    // Each version answers 60 predictions a minute; the canary fails 10% of them.
    // Readiness probes and metadata calls add 6,000 successful calls a minute
    // each, which would make the canary's error rate 0.05% and hide it.
    let scenario = json!({
        "interval": "1m",
        "input_series": [
            series("v7.0.0", "stable", "predictions", "200", 60),
            series("v7.0.0", "stable", "status", "200", 6000),
            series("v7.1.0", "canary", "predictions", "200", 54),
            series("v7.1.0", "canary", "predictions", "500", 6),
            series("v7.1.0", "canary", "status", "200", 6000),
            series("v7.1.0", "canary", "metadata", "200", 6000),
            series("v7.1.0", "canary", "feedback", "200", 600),
        ],
        "alert_rule_test": [
            { "eval_time": "20m", "alertname": "ModelErrorRateHigh", "exp_alerts": [{
                "exp_labels": labels,
                "exp_annotations": annotations(&groups, "ModelErrorRateHigh", "v7.1.0", "10%"),
            }] },
            // 2 predictions a second in all, below the spec's 10: the probes do not hide it.
            { "eval_time": "20m", "alertname": "ModelTrafficLow", "exp_alerts": [{
                "exp_labels": { "namespace": "payments", "model": "fraud", "version": "v7.0.0", "backend": "seldon", "severity": "critical" },
                "exp_annotations": annotations(&groups, "ModelTrafficLow", "v7.0.0", ""),
            }] },
        ],
        "promql_expr_test": [{
            "expr": "modelgen:requests:rate5m",
            "eval_time": "20m",
            "exp_samples": [
                { "labels": "modelgen:requests:rate5m{namespace=\"payments\", model=\"fraud\", version=\"v7.0.0\"}", "value": 1 },
                { "labels": "modelgen:requests:rate5m{namespace=\"payments\", model=\"fraud\", version=\"v7.1.0\"}", "value": 1 },
            ],
        }],
    });
    promtool_test(&groups, &json!([scenario]));
}

/// Labels of an alert of the gpt-oss example.
/// The `PromQL` of the rollout gate `alert` of the spec at `path` (in the
/// workspace), once its canary is given a rollout plan.
fn rollout_gate(path: &str, alert: &str) -> String {
    let text = std::fs::read_to_string(workspace().join(path)).expect("the spec");
    let with_rollout = text.replacen("  canary:\n", "  canary:\n    rollout: {steps: [10, 50], interval: 30m}\n", 1);
    assert_ne!(with_rollout, text, "{path} has a block `canary:`");
    let sources = [modelgen_plugin::SourceFile::new("spec.yaml", with_rollout)];
    let description =
        modelgen_plugin::describe(&sources, &modelgen_plugin::RenderContext::default()).expect("describes");
    let plan = description.models[0].rollout.clone().expect("a rollout plan");
    plan.gates.into_iter().find(|g| g.alert == alert).unwrap_or_else(|| panic!("no gate {alert}")).expr
}

fn gpt_oss_alert(severity: &str, version: &str, variant: &str) -> Value {
    json!({
        "namespace": "llm", "model": "gpt-oss", "version": version, "variant": variant,
        "backend": "kserve-llm", "severity": severity,
    })
}

/// A vLLM series as modelgen's PodMonitor leaves it: vLLM's own labels, plus
/// `namespace`, `model`, `version` and the pod's llm-d `role`.
fn vllm_series(name: &str, version: &str, pod: &str, role: &str, extra: &str, values: &str) -> Value {
    json!({
        "series": format!("{name}{{namespace=\"llm\", model=\"gpt-oss\", version=\"{version}\", pod=\"{pod}\", role=\"{role}\", model_name=\"openai/gpt-oss-20b\", engine=\"0\"{extra}}}"),
        "values": values,
    })
}

#[test]
fn llm_canary_alert_fires_when_its_time_to_first_token_is_twice_the_stables() {
    let groups = rule_groups(&workspace().join("examples/gpt-oss"));
    // Time to first token buckets, per minute: every stable request between
    // 250 and 500 ms (p99 497.5 ms), every canary request between 500 ms and
    // 1 s (p99 995 ms): twice the stable's, over the example's factor of 1.5,
    // and under its 2 s threshold, so only the comparison fires.
    let buckets = |version: &str, pod: &str, le_counts: &[(&str, u32)]| -> Vec<Value> {
        le_counts
            .iter()
            .map(|(le, per_minute)| {
                vllm_series(
                    "vllm:time_to_first_token_seconds_bucket",
                    version,
                    pod,
                    "both",
                    &format!(", le=\"{le}\""),
                    &format!("0+{per_minute}x30"),
                )
            })
            .collect()
    };
    let mut twice =
        buckets("v1.0.0", "stable-0", &[("0.25", 0), ("0.5", 600), ("1", 600), ("2.5", 600), ("+Inf", 600)]);
    twice.extend(buckets("v1.1.0", "canary-0", &[("0.25", 0), ("0.5", 0), ("1", 60), ("2.5", 60), ("+Inf", 60)]));
    let mut labels = gpt_oss_alert("critical", "v1.1.0", "canary");
    labels["quantile"] = json!("0.99");
    let mut fires = json!({
        "interval": "1m",
        "input_series": twice,
        "alert_rule_test": [
            { "eval_time": "20m", "alertname": "CanaryTimeToFirstTokenAboveStable", "exp_alerts": [{
                "exp_labels": labels,
                "exp_annotations": annotations(&groups, "CanaryTimeToFirstTokenAboveStable", "v1.1.0", "995ms"),
            }] },
            { "eval_time": "20m", "alertname": "LLMTimeToFirstTokenHigh", "exp_alerts": [] },
        ],
        "promql_expr_test": [{
            "expr": "modelgen:llm_time_to_first_token_seconds:quantile5m",
            "eval_time": "20m",
            "exp_samples": [
                { "labels": "modelgen:llm_time_to_first_token_seconds:quantile5m{namespace=\"llm\", model=\"gpt-oss\", version=\"v1.0.0\", quantile=\"0.99\"}", "value": 0.4975 },
                { "labels": "modelgen:llm_time_to_first_token_seconds:quantile5m{namespace=\"llm\", model=\"gpt-oss\", version=\"v1.1.0\", quantile=\"0.99\"}", "value": 0.995 },
            ],
        }],
    });
    // The rollout's gate is the same alert on vLLM's raw histogram (no
    // recording rule needed): it fails exactly when the alert's condition holds.
    let gate = rollout_gate("examples/gpt-oss/gpt-oss.yaml", "CanaryTimeToFirstTokenAboveStable");
    assert!(!gate.contains("modelgen:"), "the gate reads recorded series: {gate}");
    fires["promql_expr_test"]
        .as_array_mut()
        .expect("expression tests")
        .push(json!({ "expr": format!("count({gate})"), "eval_time": "20m", "exp_samples": [{ "labels": "{}", "value": 1 }] }));
    // The same distribution for both versions: no alert.
    let mut even = buckets("v1.0.0", "stable-0", &[("0.25", 0), ("0.5", 600), ("1", 600), ("2.5", 600), ("+Inf", 600)]);
    even.extend(buckets("v1.1.0", "canary-0", &[("0.25", 0), ("0.5", 60), ("1", 60), ("2.5", 60), ("+Inf", 60)]));
    let same = json!({
        "interval": "1m",
        "input_series": even,
        "alert_rule_test": [{ "eval_time": "20m", "alertname": "CanaryTimeToFirstTokenAboveStable", "exp_alerts": [] }],
        "promql_expr_test": [{ "expr": gate, "eval_time": "20m", "exp_samples": [] }],
    });
    promtool_test(&groups, &json!([fires, same]));
}

#[test]
fn llm_error_rate_and_traffic_count_finished_requests_of_the_serving_pods_only() {
    let groups = rule_groups(&workspace().join("examples/gpt-oss"));
    // The canary finishes 60 requests a minute, 6 of them with vLLM's
    // `error` reason; a prefill pod's own counts (role `prefill`, of a
    // disaggregated service) would halve that share and must not count.
    let finished = |version: &str, pod: &str, role: &str, reason: &str, per_minute: u32| {
        vllm_series(
            "vllm:request_success_total",
            version,
            pod,
            role,
            &format!(", finished_reason=\"{reason}\""),
            &format!("0+{per_minute}x30"),
        )
    };
    let scenario = json!({
        "interval": "1m",
        "input_series": [
            finished("v1.0.0", "stable-0", "both", "stop", 540),
            finished("v1.0.0", "stable-0", "both", "length", 60),
            finished("v1.1.0", "canary-0", "decode", "stop", 54),
            finished("v1.1.0", "canary-0", "decode", "error", 6),
            finished("v1.1.0", "canary-prefill-0", "prefill", "stop", 60),
        ],
        "alert_rule_test": [
            { "eval_time": "20m", "alertname": "ModelErrorRateHigh", "exp_alerts": [{
                "exp_labels": gpt_oss_alert("critical", "v1.1.0", "canary"),
                "exp_annotations": annotations(&groups, "ModelErrorRateHigh", "v1.1.0", "10%"),
            }] },
            { "eval_time": "20m", "alertname": "ModelTrafficLow", "exp_alerts": [] },
        ],
        "promql_expr_test": [{
            "expr": "modelgen:requests:rate5m",
            "eval_time": "20m",
            "exp_samples": [
                { "labels": "modelgen:requests:rate5m{namespace=\"llm\", model=\"gpt-oss\", version=\"v1.0.0\"}", "value": 10 },
                { "labels": "modelgen:requests:rate5m{namespace=\"llm\", model=\"gpt-oss\", version=\"v1.1.0\"}", "value": 1 },
            ],
        }],
    });
    promtool_test(&groups, &json!([scenario]));
}

#[test]
fn llm_kv_cache_alert_reads_the_fullest_replica() {
    let groups = rule_groups(&workspace().join("examples/gpt-oss"));
    // Two stable replicas at 50 % and 95 % of their KV cache: the fuller one alerts (threshold 90 %).
    let usage = |pod: &str, value: &str| {
        vllm_series("vllm:kv_cache_usage_perc", "v1.0.0", pod, "both", "", &format!("{value}+0x30"))
    };
    let scenario = json!({
        "interval": "1m",
        "input_series": [usage("stable-0", "0.5"), usage("stable-1", "0.95")],
        "alert_rule_test": [{ "eval_time": "20m", "alertname": "LLMKVCacheSaturated", "exp_alerts": [{
            "exp_labels": gpt_oss_alert("warning", "v1.0.0", "stable"),
            "exp_annotations": annotations(&groups, "LLMKVCacheSaturated", "v1.0.0", "95%"),
        }] }],
    });
    promtool_test(&groups, &json!([scenario]));
}

#[test]
fn keda_queries_sum_each_versions_waiting_requests_and_leave_prefill_pods_out() {
    // What KEDA's prometheus scaler will run, evaluated by Prometheus on the
    // series modelgen's PodMonitor produces: the stable's two replicas wait
    // on 3 and 4 requests, the canary's on 1; a prefill pod's queue is not
    // the decode pool's load.
    let out = run_in(&workspace().join("examples/gpt-oss"), &["render", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let objects = documents(&text(&out.stdout));
    let queries: Vec<(String, String)> = of_kind(&objects, "ScaledObject")
        .iter()
        .map(|so| {
            let trigger = &so["spec"]["triggers"][0];
            assert_eq!(trigger["type"], "prometheus");
            assert_eq!(trigger["metadata"]["threshold"], "5");
            (
                so["metadata"]["labels"]["app.kubernetes.io/version"].as_str().expect("version").to_owned(),
                trigger["metadata"]["query"].as_str().expect("query").to_owned(),
            )
        })
        .collect();
    assert_eq!(queries.len(), 2, "one ScaledObject per version");
    let waiting = |version: &str, pod: &str, role: &str, value: u32| {
        vllm_series("vllm:num_requests_waiting", version, pod, role, "", &format!("{value}+0x10"))
    };
    let expected = |version: &str| if version == "v1.0.0" { 7 } else { 1 };
    let scenario = json!({
        "interval": "1m",
        "input_series": [
            waiting("v1.0.0", "stable-0", "both", 3),
            waiting("v1.0.0", "stable-1", "both", 4),
            waiting("v1.0.0", "stable-prefill-0", "prefill", 100),
            waiting("v1.1.0", "canary-0", "both", 1),
        ],
        "promql_expr_test": queries.iter().map(|(version, query)| json!({
            "expr": query,
            "eval_time": "5m",
            "exp_samples": [{ "labels": "{}", "value": expected(version) }],
        })).collect::<Vec<_>>(),
    });
    promtool_test(&json!([]), &json!([scenario]));
}
