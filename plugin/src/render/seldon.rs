//! Seldon Core v1 backend: one `machinelearning.seldon.io/v1` `SeldonDeployment` per spec.
//!
//! The stable model, the canary and the shadow are predictors of the same
//! deployment: the non-shadow predictors' `traffic` sums to exactly 100, and
//! the shadow predictor's `traffic` is the share of requests Seldon mirrors
//! to it. Git therefore holds the whole split.

use serde_json::{Map, Value, json};

use super::object::{Target, VERSION_LABEL, metadata, placement, resources, server_process};
use super::variant::{Served, Variant};
use crate::model::percent::Percent;
use crate::model::spec::{Canary, ModelFormat, Protocol, ScaleMetric, Shadow, Spec};

/// The graph node's (and model container's) name.
pub const NODE: &str = "model";

/// The prepackaged model server that serves `format`, if Seldon has one.
pub fn server(format: ModelFormat) -> Option<&'static str> {
    Some(match format {
        ModelFormat::Sklearn => "SKLEARN_SERVER",
        ModelFormat::Xgboost => "XGBOOST_SERVER",
        ModelFormat::Tensorflow => "TENSORFLOW_SERVER",
        ModelFormat::Mlflow => "MLFLOW_SERVER",
        ModelFormat::Huggingface => "HUGGINGFACE_SERVER",
        // Triton serves its own model repositories with ONNX, TorchScript and TensorRT models.
        ModelFormat::Triton | ModelFormat::Onnx | ModelFormat::Pytorch | ModelFormat::Tensorrt => "TRITON_SERVER",
        ModelFormat::Lightgbm
        | ModelFormat::Pmml
        | ModelFormat::Paddle
        | ModelFormat::Openvino
        | ModelFormat::Autogluon => return None,
    })
}

/// Whether the server speaks only the V2 (Open Inference) protocol.
pub fn needs_v2(format: ModelFormat) -> bool {
    matches!(server(format), Some("TRITON_SERVER" | "HUGGINGFACE_SERVER"))
}

/// Seldon's `protocol` and `transport` for the spec's protocol: V2 stays
/// `v2`; V1 is Seldon's own protocol (`tensorflow` for TensorFlow Serving).
/// A server image of the user's speaks V1 (Seldon's protocol) unless the spec says otherwise.
pub fn protocol(spec: &Spec) -> (&'static str, &'static str) {
    let format = spec.model.format;
    let needs_v2 = format.is_some_and(needs_v2);
    let asked = spec.model.protocol.unwrap_or(if needs_v2 { Protocol::V2 } else { Protocol::V1 });
    let transport = if matches!(asked, Protocol::GrpcV1 | Protocol::GrpcV2) { "grpc" } else { "rest" };
    let protocol = match asked {
        Protocol::V2 | Protocol::GrpcV2 => "v2",
        Protocol::V1 | Protocol::GrpcV1 if format == Some(ModelFormat::Tensorflow) => "tensorflow",
        Protocol::V1 | Protocol::GrpcV1 => "seldon",
    };
    (protocol, transport)
}

/// Renders the `SeldonDeployment`.
pub fn render(target: &Target<'_>) -> Vec<Value> {
    let spec = &target.spec.spec;
    let canary = spec.canary.as_ref().map_or(Percent::NONE, Canary::traffic);
    let predictors: Vec<Value> = Variant::ALL
        .into_iter()
        .filter_map(|variant| {
            let release = variant.served(spec)?;
            let traffic = match variant {
                Variant::Stable => canary.rest(),
                Variant::Canary => canary,
                Variant::Shadow => spec.shadow.as_ref().map_or(Percent::NONE, Shadow::mirrored),
            };
            Some(predictor(spec, variant, release, traffic))
        })
        .collect();
    let (protocol, transport) = protocol(spec);
    vec![json!({
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": metadata(target, &target.spec.metadata.name, &spec.model.version, &[]),
        "spec": { "protocol": protocol, "transport": transport, "predictors": predictors },
    })]
}

/// One predictor of the deployment: the variant's model, its share of traffic, and its pods.
fn predictor(spec: &Spec, variant: Variant, release: Served<'_>, traffic: Percent) -> Value {
    let mut graph = json!({ "name": NODE, "type": "MODEL", "children": [] });
    // A node without `implementation` runs the container of the same name
    // (rule `seldon-custom-container`); a prepackaged server's is the operator's.
    if release.image.is_none() {
        graph["implementation"] = json!(spec.model.format.and_then(server).unwrap_or_default());
    }
    if let Some(uri) = release.storage_uri {
        graph["modelUri"] = json!(uri);
    }
    if let Some(secret) = &spec.storage_secret {
        graph["envSecretRefName"] = json!(secret);
    }
    let mut predictor = json!({
        "name": variant.as_str(),
        "graph": graph,
        "traffic": traffic,
        // Pod labels: which version a pod serves, for dashboards and debugging.
        "labels": { VERSION_LABEL: release.version },
    });
    if variant == Variant::Shadow {
        predictor["shadow"] = json!(true);
    }
    // With an HPA the replica count is the HPA's to set; a fixed one would fight it.
    if hpa(spec).is_none() {
        predictor["replicas"] = json!(spec.scaling.as_ref().and_then(|s| s.min_replicas).unwrap_or(1));
    }
    if let Some(component) = component_spec(spec, release.image) {
        predictor["componentSpecs"] = json!([component]);
    }
    predictor
}

/// Resources, placement and autoscaling of the model's pods, when the spec
/// sets any, and the container of a model served by its own `image`.
fn component_spec(spec: &Spec, image: Option<&str>) -> Option<Value> {
    let mut pod = Map::new();
    placement(spec, &mut pod);
    let resources = resources(spec);
    let hpa = hpa(spec);
    if pod.is_empty() && resources.is_none() && hpa.is_none() && image.is_none() {
        return None;
    }
    let mut container = json!({ "name": NODE });
    if let Some(image) = image {
        // The executor calls the port named `http` (`grpc` for the gRPC
        // transport); without one it would call a port of its choosing.
        let (_, transport) = protocol(spec);
        let name = if transport == "grpc" { "grpc" } else { "http" };
        container["image"] = json!(image);
        container["ports"] = json!([{ "name": name, "containerPort": spec.model.port(), "protocol": "TCP" }]);
        server_process(&spec.model, Vec::new(), &mut container);
    }
    if let Some(resources) = resources {
        container["resources"] = resources;
    }
    pod.insert("containers".into(), json!([container]));
    let mut component = json!({ "spec": pod });
    if let Some(hpa) = hpa {
        component["hpaSpec"] = hpa;
    }
    Some(component)
}

/// An HPA when the spec scales on cpu or memory between two bounds.
fn hpa(spec: &Spec) -> Option<Value> {
    let scaling = spec.scaling.as_ref()?;
    let max = scaling.max_replicas?;
    let resource = match scaling.metric? {
        ScaleMetric::Cpu => "cpu",
        ScaleMetric::Memory => "memory",
        // Refused before rendering: Seldon's HPA scales on resources only.
        ScaleMetric::Concurrency
        | ScaleMetric::Rps
        | ScaleMetric::WaitingRequests
        | ScaleMetric::KvCacheUsage
        | ScaleMetric::TokensPerSecond
        | ScaleMetric::Custom => return None,
    };
    let mut metric =
        json!({ "type": "Resource", "resource": { "name": resource, "target": { "type": "Utilization" } } });
    if let Some(target) = scaling.target {
        metric["resource"]["target"]["averageUtilization"] = json!(target);
    }
    let mut hpa = json!({ "maxReplicas": max, "metricsv2": [metric] });
    if let Some(min) = scaling.min_replicas {
        hpa["minReplicas"] = json!(min);
    }
    Some(hpa)
}
