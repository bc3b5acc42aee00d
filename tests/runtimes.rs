//! Every rendered `InferenceService` resolves to a stock serving runtime of KServe v0.20.0, matched as `GetSupportingRuntimes` matches them, or is a custom predictor KServe serves.
//!
//! The runtimes are `config/runtimes/` of the tag, vendored in
//! `tests/data/kserve-runtimes/`. The matcher here is written from KServe's
//! Go code (`pkg/apis/serving/v1beta1/predictor_model.go`,
//! `pkg/apis/serving/v1alpha1/servingruntime_types.go`,
//! `components/predictor.go`), independently of the plugin's table, which a
//! second test holds to the same files. A predictor with `containers` (a
//! model served by its own image) uses no runtime; it is held to what KServe's
//! webhook and Knative's check of a custom container (`predictor_custom.go`,
//! `predictor.go`, `pkg/validation/env_policy.go`; Knative's
//! `k8s_validation.go`), written here from their code.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use support::{documents, subdirectories, workspace};

/// One `supportedModelFormats` entry.
#[derive(Debug, PartialEq, Eq)]
struct Format {
    name: String,
    version: Option<String>,
    auto_select: bool,
    priority: Option<i64>,
}

/// One vendored `ClusterServingRuntime`.
#[derive(Debug)]
struct Runtime {
    name: String,
    formats: Vec<Format>,
    protocols: Vec<String>,
    installed: bool,
    multi_node: bool,
    /// Neither `disabled` nor `multiModel` (ModelMesh): a candidate for a single-model predictor.
    single_model: bool,
    server_type: String,
}

fn data() -> std::path::PathBuf {
    workspace().join("tests/data/kserve-runtimes")
}

fn runtimes() -> Vec<Runtime> {
    let kustomization: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(data().join("kustomization.yaml")).expect("kustomization"))
            .expect("YAML");
    let installed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(data())
        .expect("runtimes")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml") && !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 15, "the vendored runtimes of v0.20.0");
    files
        .iter()
        .map(|path| {
            let object = documents(&std::fs::read_to_string(path).expect("runtime")).remove(0);
            assert_eq!(object["kind"], "ClusterServingRuntime", "{}", path.display());
            let spec = &object["spec"];
            let text = |v: &Value| v.as_str().map(str::to_owned);
            Runtime {
                name: text(&object["metadata"]["name"]).expect("name"),
                formats: spec["supportedModelFormats"]
                    .as_array()
                    .expect("formats")
                    .iter()
                    .map(|f| Format {
                        name: text(&f["name"]).expect("format name"),
                        version: text(&f["version"]),
                        auto_select: f["autoSelect"].as_bool().unwrap_or(false),
                        priority: f["priority"].as_i64(),
                    })
                    .collect(),
                protocols: spec["protocolVersions"]
                    .as_array()
                    .map(|p| p.iter().filter_map(text).collect())
                    .unwrap_or_default(),
                installed: installed.contains(&path.file_name().expect("name").to_string_lossy().into_owned()),
                multi_node: !spec["workerSpec"].is_null(),
                single_model: !spec["multiModel"].as_bool().unwrap_or(false)
                    && !spec["disabled"].as_bool().unwrap_or(false),
                server_type: text(&object["metadata"]["annotations"]["serving.kserve.io/server-type"]).expect("type"),
            }
        })
        .collect()
}

/// `RuntimeSupportsModel`: the runtime offers `mt:<name>` and
/// `mt:<name>:<version>` for its formats (only the `autoSelect` ones unless
/// the predictor pins it); the model's label must be among them.
fn supports_model(runtime: &Runtime, model: &Value, pinned: bool) -> bool {
    let name = model["modelFormat"]["name"].as_str().unwrap_or_default();
    let version = model["modelFormat"]["version"].as_str();
    let label = version.map_or_else(|| format!("mt:{name}"), |v| format!("mt:{name}:{v}"));
    let offered: BTreeSet<String> = runtime
        .formats
        .iter()
        .filter(|f| pinned || f.auto_select)
        .flat_map(|f| {
            let mut labels = vec![format!("mt:{}", f.name)];
            labels.extend(f.version.as_ref().map(|v| format!("mt:{}:{v}", f.name)));
            labels
        })
        .collect();
    offered.contains(&label)
}

/// `IsProtocolVersionSupported`, with `GetProtocol`'s default: unset is `v1`.
fn supports_protocol(runtime: &Runtime, model: &Value) -> bool {
    let protocol = model["protocolVersion"].as_str().unwrap_or("v1");
    runtime.protocols.is_empty() || runtime.protocols.iter().any(|p| p == protocol)
}

/// `GetSupportingRuntimes` for a single-model, single-node predictor over the
/// installed stock runtimes, highest `priority` for the format first.
fn supporting<'a>(runtimes: &'a [Runtime], model: &Value) -> Vec<&'a Runtime> {
    let name = model["modelFormat"]["name"].as_str().unwrap_or_default();
    let mut found: Vec<&Runtime> = runtimes
        .iter()
        .filter(|r| r.installed && r.single_model && !r.multi_node)
        .filter(|r| supports_model(r, model, false) && supports_protocol(r, model))
        .collect();
    let priority = |r: &Runtime| r.formats.iter().find(|f| f.name == name).and_then(|f| f.priority);
    found.sort_by_key(|r| std::cmp::Reverse(priority(r).unwrap_or(i64::MIN)));
    found
}

/// Why the predictor's model would not run on a stock runtime, if it would not.
fn problem(runtimes: &[Runtime], model: &Value) -> Option<String> {
    match model["runtime"].as_str() {
        // `reconcileModel` with a pinned runtime: it must list the format and the protocol (when set).
        Some(name) => {
            let runtime = runtimes.iter().find(|r| r.name == name)?;
            if !supports_model(runtime, model, true) {
                return Some(format!("the pinned `{name}` does not support the framework/version"));
            }
            (!model["protocolVersion"].is_null() && !supports_protocol(runtime, model))
                .then(|| format!("the pinned `{name}` does not support the protocol"))
        }
        None => supporting(runtimes, model).is_empty().then(|| "no runtime found".to_owned()),
    }
}

/// Every rendered output pinned in the repository: examples and golden cases.
fn rendered_outputs() -> Vec<std::path::PathBuf> {
    let mut outputs = Vec::new();
    for example in subdirectories(&workspace().join("examples")) {
        outputs.push(example.join("rendered.yaml"));
        if let Ok(entries) = std::fs::read_dir(example.join("rendered")) {
            outputs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")));
        }
    }
    outputs.extend(subdirectories(&workspace().join("tests/cases")).into_iter().map(|c| c.join("expected.yaml")));
    outputs.retain(|p| p.exists());
    outputs.sort();
    outputs
}

/// The models an InferenceService asks KServe to run: the predictor's, and
/// each Standard-mode canary's (KServe deep-copies the predictor and merges
/// the canary's fields over it).
fn models(isvc: &Value) -> Vec<(String, Value)> {
    if is_custom(&isvc["spec"]["predictor"]) {
        return Vec::new(); // See `every_rendered_custom_predictor_is_one_kserve_serves`.
    }
    let stable = isvc["spec"]["predictor"]["model"].clone();
    let mut models = vec![("predictor".to_owned(), stable.clone())];
    for (i, canary) in isvc["spec"]["canary"].as_array().into_iter().flatten().enumerate() {
        let mut merged = stable.clone();
        if let (Some(merged), Some(own)) = (merged.as_object_mut(), canary["predictor"]["model"].as_object()) {
            for (key, value) in own {
                if !(value.is_null() || value.as_str() == Some("")) {
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
        models.push((format!("canary[{i}]"), merged));
    }
    models
}

#[test]
fn every_rendered_inference_service_resolves_to_a_stock_runtime() {
    let runtimes = runtimes();
    let (mut automatic, mut pinned) = (0, 0);
    for output in rendered_outputs() {
        let stream = std::fs::read_to_string(&output).expect("rendered");
        for isvc in documents(&stream).into_iter().filter(|d| d["kind"] == "InferenceService") {
            for (which, model) in models(&isvc) {
                let place = format!("{} {} {which}", output.display(), isvc["metadata"]["name"]);
                match model["runtime"].as_str() {
                    None => automatic += 1,
                    Some(name) if runtimes.iter().any(|r| r.name == name) => pinned += 1,
                    Some(_) => continue, // A runtime of the user's: theirs to check.
                }
                assert_eq!(problem(&runtimes, &model), None, "{place}: {model}");
            }
        }
    }
    assert!(automatic >= 40, "only {automatic} predictors without a pinned runtime were checked");
    assert!(pinned >= 5, "only {pinned} predictors with a stock runtime were checked");
}

#[test]
fn the_matcher_finds_what_kserve_finds_and_refuses_what_it_refuses() {
    // Without this, a matcher that accepted everything would pass the test above.
    let runtimes = runtimes();
    let model = |text: &str| -> Value { serde_json::from_str(text).expect("JSON") };
    let first = |m: &Value| supporting(&runtimes, m).first().map(|r| r.name.clone());
    assert_eq!(first(&model(r#"{"modelFormat": {"name": "sklearn"}}"#)).as_deref(), Some("kserve-sklearnserver"));
    assert_eq!(
        first(&model(r#"{"modelFormat": {"name": "sklearn"}, "protocolVersion": "v2"}"#)).as_deref(),
        Some("kserve-mlserver"),
        "priority 2 beats 1"
    );
    for refused in [
        r#"{"modelFormat": {"name": "onnx"}}"#,
        r#"{"modelFormat": {"name": "onnx"}, "protocolVersion": "v1"}"#,
        r#"{"modelFormat": {"name": "mlflow"}}"#,
        r#"{"modelFormat": {"name": "tensorrt"}}"#,
        r#"{"modelFormat": {"name": "openvino"}, "protocolVersion": "v2"}"#,
        r#"{"modelFormat": {"name": "sklearn", "version": "1.3"}}"#,
        r#"{"modelFormat": {"name": "pytorch"}, "protocolVersion": "grpc-v1"}"#,
        r#"{"modelFormat": {"name": "sklearn"}, "runtime": "kserve-xgbserver"}"#,
        r#"{"modelFormat": {"name": "sklearn"}, "runtime": "kserve-mlserver", "protocolVersion": "v1"}"#,
    ] {
        assert!(problem(&runtimes, &model(refused)).is_some(), "KServe finds no runtime for {refused}");
    }
    assert_eq!(
        problem(&runtimes, &model(r#"{"modelFormat": {"name": "pytorch"}, "runtime": "kserve-tritonserver"}"#)),
        None,
        "pinned: autoSelect does not matter"
    );
}

#[test]
fn the_plugin_table_says_what_the_vendored_runtimes_say() {
    let runtimes = runtimes();
    let table = modelgen_plugin::KSERVE_RUNTIMES;
    assert_eq!(
        table.iter().map(|r| r.name).collect::<BTreeSet<_>>(),
        runtimes.iter().map(|r| r.name.as_str()).collect::<BTreeSet<_>>(),
        "update `RUNTIMES` in plugin/src/rules/backend/kserve.rs"
    );
    for runtime in &runtimes {
        let row = table.iter().find(|r| r.name == runtime.name).expect("listed");
        let formats: Vec<Format> = row
            .formats
            .iter()
            .map(|f| Format {
                name: f.name.to_owned(),
                version: f.version.map(str::to_owned),
                auto_select: f.auto_select,
                priority: f.priority.map(i64::from),
            })
            .collect();
        assert_eq!(formats, runtime.formats, "{}: supportedModelFormats", runtime.name);
        let protocols: Vec<String> = row.protocols.iter().map(|p| p.as_str().to_owned()).collect();
        assert_eq!(protocols, runtime.protocols, "{}: protocolVersions", runtime.name);
        assert_eq!(
            (row.installed, row.multi_node, row.server_type),
            (runtime.installed, runtime.multi_node, runtime.server_type.as_str()),
            "{}: installed, workerSpec, server type",
            runtime.name
        );
        assert!(runtime.single_model, "{}: the table assumes enabled single-model runtimes", runtime.name);
    }
    assert!(Path::new(&data().join("LICENSE")).exists(), "the vendored files keep their licence");
}

/// Whether a predictor is a custom one (`GetImplementations`: `containers`).
fn is_custom(predictor: &Value) -> bool {
    predictor["containers"].as_array().is_some_and(|c| !c.is_empty())
}

/// What KServe v0.20.0 and Knative 1.20 refuse in a custom predictor, or
/// why it would not serve; `None` when it would.
fn custom_problem(predictor: &Value, knative: bool) -> Option<String> {
    // `GetImplementations`: `model` beside a `kserve-container` is two implementations.
    if !predictor["model"].is_null() {
        return Some("`model` beside `containers`: the webhook wants exactly one implementation".into());
    }
    let containers = predictor["containers"].as_array()?;
    let serving: Vec<&Value> = containers.iter().filter(|c| c["name"] == "kserve-container").collect();
    let [container] = serving.as_slice() else {
        return Some(format!("{} containers named `kserve-container`, KServe serves exactly one", serving.len()));
    };
    let env: Vec<(&str, &str)> = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["name"].as_str().unwrap_or_default(), e["value"].as_str().unwrap_or_default()))
        .collect();
    // `validateCustomProtocol` and `DefaultBlockedEnvVars`.
    if let Some((_, protocol)) = env.iter().find(|(name, _)| *name == "PROTOCOL")
        && !["v1", "v2"].contains(protocol)
    {
        return Some(format!("PROTOCOL `{protocol}`: the webhook takes v1 or v2"));
    }
    if env.iter().any(|(name, _)| *name == "PYTHONPATH") {
        return Some("PYTHONPATH is blocked by the webhook".into());
    }
    let port = &container["ports"][0];
    let number = port["containerPort"].as_i64().unwrap_or(8080);
    if !(1..=65535).contains(&number) {
        return Some(format!("port {number} out of range"));
    }
    if knative {
        // `validateContainerPorts`, `reservedPorts`, `reservedEnvVars`.
        if [8012, 8013, 8022, 9090, 9091, 8008].contains(&number) {
            return Some(format!("port {number} is reserved by Knative"));
        }
        if !matches!(port["name"].as_str().unwrap_or_default(), "" | "h2c" | "http1") {
            return Some(format!("port name {}: Knative takes h2c or http1", port["name"]));
        }
        if !matches!(port["protocol"].as_str().unwrap_or("TCP"), "TCP") {
            return Some("Knative takes TCP only".into());
        }
        if let Some((name, _)) =
            env.iter().find(|(name, _)| ["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"].contains(name))
        {
            return Some(format!("{name} is reserved by Knative"));
        }
    }
    None
}

#[test]
fn every_rendered_custom_predictor_is_one_kserve_serves() {
    let mut checked = 0;
    for output in rendered_outputs() {
        let stream = std::fs::read_to_string(&output).expect("rendered");
        for isvc in documents(&stream).into_iter().filter(|d| d["kind"] == "InferenceService") {
            let knative = isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative";
            let stable = &isvc["spec"]["predictor"];
            // KServe merges a Standard-mode canary over a copy of the stable
            // predictor; its containers replace the stable one's.
            let canaries = isvc["spec"]["canary"].as_array().into_iter().flatten().map(|c| &c["predictor"]);
            for (which, predictor) in std::iter::once(("predictor", stable)).chain(canaries.map(|c| ("canary", c))) {
                if !is_custom(predictor) {
                    continue;
                }
                let place = format!("{} {} {which}", output.display(), isvc["metadata"]["name"]);
                assert_eq!(custom_problem(predictor, knative), None, "{place}: {predictor}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} custom predictors were checked");
}

#[test]
fn the_custom_predictor_check_refuses_what_kserve_and_knative_refuse() {
    // Without this, a check that accepted everything would pass the test above.
    let predictor = |container: Value| serde_json::json!({ "containers": [container] });
    let good = serde_json::json!({ "name": "kserve-container", "image": "x", "ports": [{ "containerPort": 8080 }] });
    assert_eq!(custom_problem(&predictor(good.clone()), true), None);
    let mut with_model = predictor(good.clone());
    with_model["model"] = serde_json::json!({ "modelFormat": { "name": "sklearn" } });
    let mut unnamed = good.clone();
    unnamed["name"] = "server".into();
    let mut protocol = good.clone();
    protocol["env"] = serde_json::json!([{ "name": "PROTOCOL", "value": "grpc-v2" }]);
    let mut python = good.clone();
    python["env"] = serde_json::json!([{ "name": "PYTHONPATH", "value": "/app" }]);
    let mut queue_port = good.clone();
    queue_port["ports"][0]["containerPort"] = 8012.into();
    let mut port_name = good.clone();
    port_name["ports"][0]["name"] = "http".into();
    let mut knative_env = good;
    knative_env["env"] = serde_json::json!([{ "name": "K_REVISION", "value": "x" }]);
    assert!(custom_problem(&with_model, false).is_some());
    for refused in [unnamed, protocol, python, queue_port.clone(), port_name.clone(), knative_env.clone()] {
        assert!(custom_problem(&predictor(refused.clone()), true).is_some(), "{refused}");
    }
    for standard_only in [queue_port, port_name, knative_env] {
        assert_eq!(custom_problem(&predictor(standard_only), false), None, "Standard mode has no queue-proxy");
    }
}
