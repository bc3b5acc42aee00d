//! KServe backend: `serving.kserve.io/v1beta1` `InferenceService`s, and a weighted route for the `split` strategy.
//!
//! It emits the form KServe's mutating webhook would produce (`model` with
//! `modelFormat`, an explicit `protocolVersion`, the current deployment-mode
//! names), so the live object does not drift from Git.

use serde_json::{Map, Value, json};

use super::keda;
use super::monitoring::source::vllm_engine;
use super::object::{DerivedName, Target, VERSION_LABEL, metadata, placement, resources, server_process};
use super::route::{self, Destination, Mirror};
use super::variant::{Served, Variant};
use crate::model::percent::Percent;
use crate::model::spec::{Canary, CanaryStrategy, DeploymentMode, Model, ModelFormat, Protocol, ScaleMetric, Spec};
use crate::rules::backend::keda::{AUTOSCALER_CLASS_ANNOTATION, HPA_PREFIX, KEDA_CLASS};
use crate::rules::backend::kserve as rules;

/// The annotation that pins an `InferenceService`'s deployment mode.
pub const DEPLOYMENT_MODE_ANNOTATION: &str = "serving.kserve.io/deploymentMode";
/// Name of the canary predictor in Standard mode (`<name>-canary-predictor`).
pub const STANDARD_CANARY_NAME: &str = "canary";

/// Renders the `InferenceService`s (and the route of a split).
pub fn render(target: &Target<'_>) -> Vec<Value> {
    let spec = &target.spec.spec;
    if spec.kserve_split() { split(target) } else { vec![native(target)] }
}

/// The Service KServe derives for an `InferenceService`'s predictor.
pub fn predictor_service(isvc: &str) -> String {
    format!("{isvc}-predictor")
}

/// Names of everything rendered and derived, with KServe's limits.
pub fn names(base: &str, spec: &Spec) -> Vec<DerivedName> {
    let service = |name: String| DerivedName { name, max: 63, what: "KServe predictor Service name" };
    let mut names = vec![service(predictor_service(base))];
    if spec.kserve_split() {
        for variant in [Variant::Canary, Variant::Shadow] {
            if variant.served(spec).is_some() {
                names.push(service(predictor_service(&variant.object_name(base))));
            }
        }
    } else if spec.canary.is_some() && spec.mode() == DeploymentMode::Standard {
        names.push(service(format!("{base}-{STANDARD_CANARY_NAME}-predictor")));
    }
    // KServe names the predictor's ScaledObject after it, and KEDA its HPA after that.
    if keda_scaling(spec) {
        let scaled: Vec<String> = names.iter().map(|n| format!("{HPA_PREFIX}{}", n.name)).collect();
        names.extend(scaled.into_iter().map(|name| DerivedName {
            name,
            max: 63,
            what: "KEDA HorizontalPodAutoscaler name",
        }));
    }
    names
}

/// The annotations of every `InferenceService` of a spec: the deployment
/// mode, and Knative's HPA class where the metric needs it (KServe's
/// webhook refuses `cpu` in Knative mode without it).
fn isvc_annotations(spec: &Spec) -> Vec<(&'static str, &'static str)> {
    let mode = spec.mode();
    let mut annotations = vec![(DEPLOYMENT_MODE_ANNOTATION, mode.as_str())];
    if mode == DeploymentMode::Knative && spec.scaling.as_ref().and_then(|s| s.metric) == Some(ScaleMetric::Cpu) {
        annotations.push((rules::KNATIVE_CLASS_ANNOTATION, rules::KNATIVE_HPA_CLASS));
    }
    if keda_scaling(spec) {
        annotations.push((AUTOSCALER_CLASS_ANNOTATION, KEDA_CLASS));
    }
    annotations
}

/// Whether KServe scales the predictor with KEDA on a Prometheus query.
fn keda_scaling(spec: &Spec) -> bool {
    spec.scaling.as_ref().and_then(|s| s.metric).is_some_and(ScaleMetric::is_keda)
}

/// One `InferenceService` whose canary, if any, KServe splits itself.
///
/// KServe copies the InferenceService's labels and annotations onto the
/// pod template, so nothing that changes during a rollout goes there: the
/// canary's version is the label of the predictor that serves it, which
/// promotion (moving the canary into `model`) leaves as it was.
fn native(target: &Target<'_>) -> Value {
    let spec = &target.spec.spec;
    let mode = spec.mode();
    let annotations = isvc_annotations(spec);
    // Knative keeps the previously rolled-out revision (the stable model)
    // for the rest of the traffic: the manifest names only the new model
    // and the share it gets. Its pods carry the canary's version, as they
    // will once promoted.
    let knative_canary = spec.canary.is_some() && mode == DeploymentMode::Knative;
    let current = if knative_canary { Variant::Canary } else { Variant::Stable };
    let mut predictor = current.served(spec).map_or(Value::Null, |served| predictor(target, &served));
    let mut isvc_spec = Map::new();
    if let Some(canary) = &spec.canary {
        let version_label = json!({ VERSION_LABEL: canary.version });
        match mode {
            DeploymentMode::Knative => {
                predictor["canaryTrafficPercent"] = json!(canary.traffic());
                predictor["labels"] = version_label;
            }
            // Standard mode lists the canary explicitly; KServe deep-copies
            // the stable predictor and overlays what the canary sets.
            DeploymentMode::Standard => {
                let mut canary_predictor = json!({ "name": STANDARD_CANARY_NAME, "labels": version_label });
                match Variant::Canary.served(spec) {
                    // The canary's containers replace the stable predictor's whole.
                    Some(served) if served.image.is_some() => {
                        canary_predictor["containers"] = json!([container(spec, &served)]);
                    }
                    served => {
                        let mut model = json!({
                            // The CRD requires the inlined container's name here
                            // (the SDKs send it empty); the webhook forbids a real one.
                            "name": "",
                            "modelFormat": model_format(&spec.model),
                            "storageUri": served.and_then(|s| s.storage_uri),
                        });
                        if let Some(runtime) = &spec.model.runtime {
                            model["runtime"] = json!(runtime);
                        }
                        canary_predictor["model"] = model;
                    }
                }
                isvc_spec.insert(
                    "canary".into(),
                    json!([{ "trafficPercent": canary.traffic(), "predictor": canary_predictor }]),
                );
            }
        }
    }
    isvc_spec.insert("predictor".into(), predictor);
    json!({
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(target, &target.spec.metadata.name, &spec.model.version, &annotations),
        "spec": isvc_spec,
    })
}

/// A complete `InferenceService` per variant, and a route that weighs them.
fn split(target: &Target<'_>) -> Vec<Value> {
    let spec = &target.spec.spec;
    let base = target.spec.metadata.name.as_str();
    let mode = spec.mode();
    let mut objects = Vec::new();
    let mut destinations = Vec::new();
    let mut mirror = None;
    let canary = spec.canary.as_ref().map_or(Percent::NONE, Canary::traffic);
    for variant in Variant::ALL {
        let Some(served) = variant.served(spec) else { continue };
        let name = variant.object_name(base);
        objects.push(json!({
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": metadata(target, &name, served.version, &isvc_annotations(spec)),
            "spec": { "predictor": predictor(target, &served) },
        }));
        let service = predictor_service(&name);
        // A Knative predictor's Service points at the cluster-local gateway,
        // which picks the Knative service by Host.
        let host_header = (mode == DeploymentMode::Knative)
            .then(|| target.namespace.map(|ns| format!("{service}.{ns}.svc.cluster.local")))
            .flatten();
        match variant {
            Variant::Stable => destinations.push(Destination { service, weight: canary.rest(), host_header }),
            Variant::Canary => destinations.push(Destination { service, weight: canary, host_header }),
            Variant::Shadow => mirror = spec.shadow.as_ref().map(|s| Mirror { service, percent: s.mirrored() }),
        }
    }
    objects.push(route::render(target, spec.router(), &destinations, mirror.as_ref()));
    objects
}

/// Whether the spec asks KServe to split a canary itself in Standard mode.
pub fn standard_native_canary(spec: &Spec) -> bool {
    spec.canary.is_some() && spec.mode() == DeploymentMode::Standard && spec.canary_strategy() == CanaryStrategy::Native
}

/// `modelFormat`: the format's name and, when the spec gives one, its version.
fn model_format(model: &Model) -> Value {
    let mut format = json!({ "name": model.format.map_or("", ModelFormat::as_str) });
    if let Some(version) = &model.format_version {
        format["version"] = json!(version);
    }
    format
}

/// A predictor serving what `served` names (its image, or its artifacts on
/// a stock runtime) with the spec's runtime, protocol, resources, scaling
/// and placement.
fn predictor(target: &Target<'_>, served: &Served<'_>) -> Value {
    let spec = &target.spec.spec;
    let version = served.version;
    let mut predictor = Map::new();
    if served.image.is_some() {
        predictor.insert("containers".into(), json!([container(spec, served)]));
    } else {
        predictor.insert("model".into(), runtime_model(target, served.storage_uri.unwrap_or_default()));
    }
    if let Some(scaling) = &spec.scaling {
        if let Some(min) = scaling.min_replicas {
            predictor.insert("minReplicas".into(), json!(min));
        }
        if let Some(max) = scaling.max_replicas {
            predictor.insert("maxReplicas".into(), json!(max));
        }
        let base = target.spec.metadata.name.as_str();
        if let Some(trigger) = keda::trigger(spec, target.namespace, base, version) {
            // KServe builds the ScaledObject from this; `scaleMetric` is refused with KEDA.
            predictor.insert("autoScaling".into(), json!({ "metrics": [keda::external_metric(&trigger)] }));
        } else {
            if let Some(metric) = scaling.metric {
                predictor.insert("scaleMetric".into(), json!(metric.as_str()));
            }
            if let Some(target) = scaling.target {
                predictor.insert("scaleTarget".into(), json!(target));
            }
        }
    }
    placement(spec, &mut predictor);
    Value::Object(predictor)
}

/// `predictor.model`: the artifacts at `storage_uri` on a stock runtime.
fn runtime_model(target: &Target<'_>, storage_uri: &str) -> Value {
    let spec = &target.spec.spec;
    let model = &spec.model;
    let mut container = json!({
        "modelFormat": model_format(model),
        "storageUri": storage_uri,
    });
    // The protocol of the runtime KServe will pick, so that the runtime
    // matches; none for a runtime of the user's, which then decides.
    if let Some(protocol) = rules::protocol(model) {
        container["protocolVersion"] = json!(protocol.as_str());
    }
    if let Some(runtime) = &model.runtime {
        container["runtime"] = json!(runtime);
    }
    if let Some(resources) = resources(spec) {
        container["resources"] = resources;
    }
    let args = engine_args(&target.spec.metadata.name, spec);
    if !args.is_empty() {
        container["args"] = json!(args);
    }
    container
}

/// A custom predictor's container (rules `kserve-custom-predictor`,
/// `kserve-custom-storage`, `kserve-custom-port`): the image's server,
/// named as KServe looks for it, its artifacts as `STORAGE_URI` (which the
/// storage initializer downloads and points at `/mnt/models`), its protocol
/// as `PROTOCOL`, and its port.
fn container(spec: &Spec, served: &Served<'_>) -> Value {
    let model = &spec.model;
    let mut env = Vec::new();
    if let Some(uri) = served.storage_uri {
        env.push(json!({ "name": rules::STORAGE_URI_ENV, "value": uri }));
    }
    // KServe's `PROTOCOL` is `v1` or `v2`; gRPC is the port's name.
    let grpc = matches!(model.protocol, Some(Protocol::GrpcV1 | Protocol::GrpcV2));
    let version = match model.protocol {
        Some(Protocol::V1 | Protocol::GrpcV1) => Some("v1"),
        Some(Protocol::V2 | Protocol::GrpcV2) => Some("v2"),
        None => None,
    };
    if let Some(version) = version {
        env.push(json!({ "name": rules::PROTOCOL_ENV, "value": version }));
    }
    let mut port = json!({ "containerPort": model.port(), "protocol": "TCP" });
    if grpc {
        port["name"] = json!("h2c");
    }
    let mut container = json!({
        "name": rules::CONTAINER_NAME,
        "image": served.image,
        "ports": [port],
    });
    server_process(model, env, &mut container);
    if let Some(resources) = resources(spec) {
        container["resources"] = resources;
    }
    container
}

/// KServe's Hugging Face server with its vLLM backend: the engine settings
/// as flags, in the spellings that take effect (`MergeRuntimeContainers`
/// appends them to the runtime's; the server parses them with
/// `parse_known_args`, so a vLLM flag spelled with `_` would vanish).
fn engine_args(base: &str, spec: &Spec) -> Vec<String> {
    let Some(engine) = spec.engine.as_ref().filter(|_| vllm_engine(spec)) else { return Vec::new() };
    // Fails loudly where vLLM is missing instead of falling back to Transformers.
    let mut args = vec!["--backend=vllm".to_owned()];
    // Without it vLLM labels its metrics `model_name="/mnt/models"`, and a
    // split canary would answer to its own InferenceService's name.
    args.push(format!("--served-model-name={}", spec.model.served_name.as_deref().unwrap_or(base)));
    if let Some(length) = engine.max_model_len {
        args.push(format!("--max_model_len={length}"));
    }
    if let Some(dtype) = engine.dtype {
        args.push(format!("--dtype={}", dtype.as_str()));
    }
    if let Some(share) = engine.gpu_memory_utilization {
        args.push(format!("--gpu-memory-utilization={share}"));
    }
    if let Some(tensor) = engine.tensor_parallel_size {
        args.push(format!("--tensor-parallel-size={tensor}"));
    }
    args
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::rules::backend::kserve::pod_template::revision_template;
    use crate::{RenderContext, SourceFile};

    const CANARY: &str = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: fraud, namespace: payments, labels: {team: risk}}\nspec:\n  model: {format: xgboost, version: v2.0.0, storageUri: gs://m/fraud/v2.0.0}\n  scaling: {minReplicas: 2, maxReplicas: 10}\n  canary: {version: v2.1.0, storageUri: gs://m/fraud/v2.1.0, trafficPercent: 25}\n";
    const PROMOTED: &str = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: fraud, namespace: payments, labels: {team: risk}}\nspec:\n  model: {format: xgboost, version: v2.1.0, storageUri: gs://m/fraud/v2.1.0}\n  scaling: {minReplicas: 2, maxReplicas: 10}\n";
    const STABLE: &str = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: fraud, namespace: payments, labels: {team: risk}}\nspec:\n  model: {format: xgboost, version: v2.0.0, storageUri: gs://m/fraud/v2.0.0}\n  scaling: {minReplicas: 2, maxReplicas: 10}\n";

    fn isvc(file: &str, spec: &str) -> Value {
        let rendered = crate::generate(&[SourceFile::new(file, spec)], &RenderContext::default()).expect("renders");
        serde_saphyr::from_str(&rendered.manifests[0].yaml).expect("YAML")
    }

    #[test]
    fn promoting_a_knative_canary_leaves_the_revision_template_as_it_was() {
        // Knative makes a new revision (new pods) for any change of the
        // template KServe derives; promotion must only move the traffic.
        let canary = revision_template(&isvc("fraud.yaml", CANARY));
        let promoted = revision_template(&isvc("fraud.yaml", PROMOTED));
        assert_eq!(canary, promoted);
        assert_eq!(canary["metadata"]["labels"]["app.kubernetes.io/version"], "v2.1.0", "the canary's pods say v2.1.0");
        // Adding the canary does change it: that revision is the canary.
        assert_ne!(revision_template(&isvc("fraud.yaml", STABLE)), canary);
    }

    #[test]
    fn renaming_the_spec_file_changes_the_template_as_the_docs_say() {
        // `modelgen.dev/source` is copied onto the pods (KServe's disallowed
        // list cannot be told from Git); docs/spec.md documents the one rollout.
        assert_ne!(
            revision_template(&isvc("fraud.yaml", STABLE)),
            revision_template(&isvc("models/fraud.yaml", STABLE))
        );
    }
}
