//! KServe backend: one `serving.kserve.io/v1beta1` `InferenceService` per spec.
//!
//! It emits the form KServe's mutating webhook would produce (`model` with
//! `modelFormat`, an explicit `protocolVersion`, the current deployment-mode
//! names), so the live object does not drift from Git.

use serde_json::{Map, Value, json};

use super::{Target, metadata};
use crate::spec::{DeploymentMode, Model, ModelFormat, Protocol, Spec};

/// The annotation that pins an InferenceService's deployment mode.
pub const DEPLOYMENT_MODE_ANNOTATION: &str = "serving.kserve.io/deploymentMode";
/// Annotation recording the canary's version, so `kubectl get -o yaml` shows both versions.
pub const CANARY_VERSION_ANNOTATION: &str = "modelgen.dev/canary-version";
/// Name of the canary predictor in Standard mode (`<name>-canary-predictor`).
pub const STANDARD_CANARY_NAME: &str = "canary";

/// Renders the InferenceService.
pub fn render(target: &Target<'_>) -> Vec<Value> {
    let spec = &target.spec.spec;
    let mode = spec.deployment_mode;
    let mut annotations = vec![(DEPLOYMENT_MODE_ANNOTATION, mode.as_str())];
    if let Some(canary) = &spec.canary {
        annotations.push((CANARY_VERSION_ANNOTATION, canary.version.as_str()));
    }
    let mut predictor = predictor(spec);
    let mut isvc_spec = Map::new();
    if let Some(canary) = &spec.canary {
        match mode {
            // Knative keeps the previously rolled-out revision (the stable
            // model) for the rest of the traffic: the manifest names only
            // the new model and the share it gets.
            DeploymentMode::Knative => {
                predictor["model"]["storageUri"] = json!(canary.storage_uri);
                predictor["canaryTrafficPercent"] = json!(canary.traffic_percent);
            }
            // Standard mode lists the canary explicitly; KServe deep-copies
            // the stable predictor and overlays what the canary sets.
            DeploymentMode::Standard => {
                let mut model = json!({
                    // The CRD requires the inlined container's name here
                    // (the SDKs send it empty); the webhook forbids a real one.
                    "name": "",
                    "modelFormat": model_format(&spec.model),
                    "storageUri": canary.storage_uri,
                });
                if let Some(runtime) = &spec.model.runtime {
                    model["runtime"] = json!(runtime);
                }
                isvc_spec.insert(
                    "canary".into(),
                    json!([{
                        "trafficPercent": canary.traffic_percent,
                        "predictor": { "name": STANDARD_CANARY_NAME, "model": model },
                    }]),
                );
            }
        }
    }
    isvc_spec.insert("predictor".into(), predictor);
    vec![json!({
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(target, &target.spec.metadata.name, &annotations),
        "spec": isvc_spec,
    })]
}

fn model_format(model: &Model) -> Value {
    let mut format = json!({ "name": model.format.as_str() });
    if let Some(version) = &model.format_version {
        format["version"] = json!(version);
    }
    format
}

/// The protocol KServe's defaulter would pick when the spec names none.
fn protocol(model: &Model) -> Protocol {
    if let Some(protocol) = model.protocol {
        return protocol;
    }
    let v2_runtime = matches!(model.runtime.as_deref(), Some("kserve-mlserver" | "kserve-tritonserver"));
    if v2_runtime || model.format == ModelFormat::Triton { Protocol::V2 } else { Protocol::V1 }
}

fn predictor(spec: &Spec) -> Value {
    let model = &spec.model;
    let mut container = json!({
        "modelFormat": model_format(model),
        "protocolVersion": protocol(model).as_str(),
        "storageUri": model.storage_uri,
    });
    if let Some(runtime) = &model.runtime {
        container["runtime"] = json!(runtime);
    }
    if let Some(resources) = resources(spec) {
        container["resources"] = resources;
    }
    let mut predictor = json!({ "model": container });
    if let Some(scaling) = &spec.scaling {
        if let Some(min) = scaling.min_replicas {
            predictor["minReplicas"] = json!(min);
        }
        if let Some(max) = scaling.max_replicas {
            predictor["maxReplicas"] = json!(max);
        }
        if let Some(metric) = scaling.metric {
            predictor["scaleMetric"] = json!(metric.as_str());
        }
        if let Some(target) = scaling.target {
            predictor["scaleTarget"] = json!(target);
        }
    }
    if let Some(sa) = &spec.service_account_name {
        predictor["serviceAccountName"] = json!(sa);
    }
    if !spec.node_selector.is_empty() {
        predictor["nodeSelector"] = json!(spec.node_selector);
    }
    if !spec.tolerations.is_empty() {
        predictor["tolerations"] = spec
            .tolerations
            .iter()
            .map(|t| {
                let mut toleration = Map::new();
                if let Some(key) = &t.key {
                    toleration.insert("key".into(), json!(key));
                }
                if let Some(operator) = t.operator {
                    toleration.insert("operator".into(), json!(format!("{operator:?}")));
                }
                if let Some(value) = &t.value {
                    toleration.insert("value".into(), json!(value));
                }
                if let Some(effect) = t.effect {
                    toleration.insert("effect".into(), json!(format!("{effect:?}")));
                }
                if let Some(seconds) = t.toleration_seconds {
                    toleration.insert("tolerationSeconds".into(), json!(seconds));
                }
                Value::Object(toleration)
            })
            .collect();
    }
    predictor
}

/// Requests and limits alike (Guaranteed QoS for memory, no surprise
/// throttling beyond what was asked); GPUs as `nvidia.com/gpu`.
fn resources(spec: &Spec) -> Option<Value> {
    let resources = spec.resources.as_ref()?;
    let mut amounts = Map::new();
    if let Some(cpu) = &resources.cpu {
        amounts.insert("cpu".into(), json!(cpu.0));
    }
    if let Some(memory) = &resources.memory {
        amounts.insert("memory".into(), json!(memory.0));
    }
    if resources.gpu > 0 {
        amounts.insert("nvidia.com/gpu".into(), json!(resources.gpu.to_string()));
    }
    if amounts.is_empty() {
        return None;
    }
    Some(json!({ "requests": amounts, "limits": amounts }))
}
