//! Seldon Core 2 backend: `mlops.seldon.io/v1alpha1` `Model`s, an `Experiment` for the split, and an optional `Server`.
//!
//! Each version is its own `Model` (`<name>`, `<name>-canary`,
//! `<name>-shadow`); an `Experiment` whose `default` is the stable model takes
//! over its endpoint, so callers of `<name>` get the canary split and the
//! mirror without changing anything. Seldon checks experiments only in its
//! scheduler, after admission; the rules it applies there (names without
//! dots, `default` among the candidates, the mirror not a candidate) hold by
//! construction here.

use serde_json::{Map, Value, json};

use super::object::{DerivedName, Target, metadata, placement, resources};
use super::variant::{Served, Variant};
use crate::model::percent::Percent;
use crate::model::spec::{Canary, ModelFormat, Spec};

/// The Server capability a model of `format` requires, if a stock Server has it.
pub fn requirement(format: ModelFormat) -> Option<&'static str> {
    Some(match format {
        ModelFormat::Sklearn => "sklearn",
        ModelFormat::Xgboost => "xgboost",
        ModelFormat::Lightgbm => "lightgbm",
        ModelFormat::Mlflow => "mlflow",
        ModelFormat::Huggingface => "huggingface",
        ModelFormat::Tensorflow => "tensorflow",
        ModelFormat::Pytorch => "pytorch",
        ModelFormat::Onnx => "onnx",
        ModelFormat::Triton => "triton",
        ModelFormat::Tensorrt => "tensorrt",
        ModelFormat::Openvino => "openvino",
        ModelFormat::Pmml | ModelFormat::Paddle | ModelFormat::Autogluon => return None,
    })
}

/// The `ServerConfig` whose default capabilities include the format's
/// requirement (a spec without a format is refused on Seldon Core 2 before
/// rendering; MLServer stands in).
pub fn server_config(format: Option<ModelFormat>) -> &'static str {
    match format {
        None
        | Some(
            ModelFormat::Sklearn
            | ModelFormat::Xgboost
            | ModelFormat::Lightgbm
            | ModelFormat::Mlflow
            | ModelFormat::Huggingface,
        ) => "mlserver",
        Some(_) => "triton",
    }
}

/// Whether modelgen renders a dedicated `Server`: the spec sets what only a
/// Server can carry (cpu, gpu, node placement, service account) and pins none.
pub fn dedicated_server(spec: &Spec) -> bool {
    let resources = spec.resources.as_ref();
    let pod_level = resources.is_some_and(|r| r.cpu.is_some() || r.gpu > 0)
        || !spec.node_selector.is_empty()
        || !spec.tolerations.is_empty()
        || spec.service_account_name.is_some();
    spec.server.is_none() && pod_level
}

/// The name of the experiment that splits traffic.
pub fn experiment_name(base: &str) -> String {
    format!("{base}-experiment")
}

/// The name of the dedicated server.
pub fn server_name(base: &str) -> String {
    format!("{base}-server")
}

/// Every rendered name; Seldon's scheduler wants DNS labels (no dots).
pub fn names(base: &str, spec: &Spec) -> Vec<DerivedName> {
    let mut names = vec![DerivedName { name: base.to_owned(), max: 63, what: "Seldon Core 2 Model name" }];
    for variant in [Variant::Canary, Variant::Shadow] {
        if variant.served(spec).is_some() {
            names.push(DerivedName { name: variant.object_name(base), max: 63, what: "Seldon Core 2 Model name" });
        }
    }
    if spec.canary.is_some() || spec.shadow.is_some() {
        names.push(DerivedName { name: experiment_name(base), max: 63, what: "Seldon Core 2 Experiment name" });
    }
    if dedicated_server(spec) {
        names.push(DerivedName { name: server_name(base), max: 63, what: "Seldon Core 2 Server name" });
    }
    names
}

/// Renders the Server (if any), the Models, and the Experiment (if any).
pub fn render(target: &Target<'_>) -> Vec<Value> {
    let spec = &target.spec.spec;
    let base = target.spec.metadata.name.as_str();
    let mut objects = Vec::new();
    let server = if dedicated_server(spec) {
        objects.push(server_object(target));
        Some(server_name(base))
    } else {
        spec.server.clone()
    };
    for variant in Variant::ALL {
        if let Some(release) = variant.served(spec) {
            objects.push(model(target, &variant.object_name(base), release, server.as_deref()));
        }
    }
    if spec.canary.is_some() || spec.shadow.is_some() {
        objects.push(experiment(target));
    }
    objects
}

/// The `Model` of one variant, scheduled on `server` when one is named.
fn model(target: &Target<'_>, name: &str, release: Served<'_>, server: Option<&str>) -> Value {
    let spec = &target.spec.spec;
    let mut model = Map::new();
    model.insert("storageUri".into(), json!(release.storage_uri));
    if let Some(requirement) = spec.model.format.and_then(requirement) {
        model.insert("requirements".into(), json!([requirement]));
    }
    replicas(spec, &mut model);
    if let Some(memory) = spec.resources.as_ref().and_then(|r| r.memory.as_ref()) {
        model.insert("memory".into(), json!(memory.0));
    }
    if let Some(server) = server {
        model.insert("server".into(), json!(server));
    }
    if let Some(secret) = &spec.storage_secret {
        model.insert("secretName".into(), json!(secret));
    }
    json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": metadata(target, name, release.version, &[]),
        "spec": model,
    })
}

/// The `Experiment` that splits the model's endpoint between stable and canary and mirrors to the shadow.
fn experiment(target: &Target<'_>) -> Value {
    let spec = &target.spec.spec;
    let base = target.spec.metadata.name.as_str();
    let canary = spec.canary.as_ref().map_or(Percent::NONE, Canary::traffic);
    let mut candidates = vec![json!({ "name": base, "weight": canary.rest() })];
    if spec.canary.is_some() {
        candidates.push(json!({ "name": Variant::Canary.object_name(base), "weight": canary }));
    }
    let mut experiment = json!({ "default": base, "candidates": candidates });
    if let Some(shadow) = &spec.shadow {
        experiment["mirror"] = json!({ "name": Variant::Shadow.object_name(base), "percent": shadow.mirrored() });
    }
    json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": metadata(target, &experiment_name(base), &spec.model.version, &[]),
        "spec": experiment,
    })
}

/// The dedicated `Server` that carries the spec's cpu, gpu, placement and service account.
fn server_object(target: &Target<'_>) -> Value {
    let spec = &target.spec.spec;
    let config = server_config(spec.model.format);
    let mut pod = Map::new();
    placement(spec, &mut pod);
    if let Some(resources) = resources(spec) {
        // The ServerConfig's container is named after it; this overrides its resources.
        pod.insert("containers".into(), json!([{ "name": config, "resources": resources }]));
    }
    let mut server = Map::new();
    server.insert("serverConfig".into(), json!(config));
    server.insert("podSpec".into(), Value::Object(pod));
    replicas(spec, &mut server);
    json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Server",
        "metadata": metadata(target, &server_name(target.spec.metadata.name.as_str()), &spec.model.version, &[]),
        "spec": server,
    })
}

/// `replicas` from `minReplicas`; the autoscaling bounds only with a maximum
/// (Seldon enables autoscaling when they are set).
fn replicas(spec: &Spec, object: &mut Map<String, Value>) {
    let Some(scaling) = &spec.scaling else { return };
    if let Some(min) = scaling.min_replicas {
        object.insert("replicas".into(), json!(min));
    }
    if let Some(max) = scaling.max_replicas {
        object.insert("minReplicas".into(), json!(scaling.min_replicas.unwrap_or(1)));
        object.insert("maxReplicas".into(), json!(max));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::RenderContext;
    use crate::source::SourceFile;

    /// What Seldon's scheduler checks only after admission holds by construction.
    #[test]
    fn experiments_satisfy_the_scheduler_rules() {
        let spec = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: iris}\nspec:\n  backend: seldon-v2\n  model: {format: sklearn, version: v1, storageUri: s3://m/1}\n  canary: {version: v2, storageUri: s3://m/2, trafficPercent: 30}\n  shadow: {version: v3, storageUri: s3://m/3, percent: 10}\n";
        let rendered = crate::generate(&[SourceFile::new("m.yaml", spec)], &RenderContext::default()).expect("renders");
        let objects: Vec<Value> =
            rendered.manifests.iter().map(|m| serde_saphyr::from_str(&m.yaml).expect("YAML")).collect();
        let models: Vec<&str> =
            objects.iter().filter(|o| o["kind"] == "Model").filter_map(|o| o["metadata"]["name"].as_str()).collect();
        assert_eq!(models, ["iris", "iris-canary", "iris-shadow"]);
        let experiment = objects.iter().find(|o| o["kind"] == "Experiment").expect("an experiment");
        let candidates: Vec<&str> = experiment["spec"]["candidates"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let default = experiment["spec"]["default"].as_str().expect("default");
        let mirror = experiment["spec"]["mirror"]["name"].as_str().expect("mirror");
        assert!(candidates.contains(&default), "default {default} not among {candidates:?}");
        assert!(!candidates.contains(&mirror), "the mirror {mirror} is a candidate");
        assert!(
            candidates.iter().chain([&mirror]).all(|name| models.contains(name)),
            "every reference is a rendered Model"
        );
        for name in models.iter().chain([&default]) {
            assert!(!name.contains('.'), "{name} has a dot");
        }
    }
}
