//! An example policy pack for modelgen: an organisation's rules, checked on every rendered object, configured by the plugin's `settings`.
//!
//! The rules are plain Rust over JSON values (tested natively); only
//! `guest.rs` knows the `modelgen:policy` contract.

#[cfg(target_arch = "wasm32")]
mod guest;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The pack's settings (`plugins[].settings` in `modelgen.yaml`); every rule is off unless set.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Labels every serving object (`InferenceService`, `SeldonDeployment`, Seldon Core 2 `Model`) must carry.
    #[serde(default)]
    pub required_labels: Vec<String>,
    /// Prefixes a model's storage URI (`storageUri`, `modelUri`) must start with; empty: any.
    #[serde(default)]
    pub allowed_storage_prefixes: Vec<String>,
    /// Registries container images may come from (`ghcr.io`, `registry.example.com:5000`); empty: any.
    #[serde(default)]
    pub allowed_registries: Vec<String>,
    /// Whether every container image must be pinned by digest (`@sha256:`).
    #[serde(default)]
    pub require_digest: bool,
    /// The most GPUs (`nvidia.com/gpu` limits) one object may ask for, per namespace; `*` for any other.
    #[serde(default)]
    pub gpu_limits: BTreeMap<String, u64>,
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Blocks the render.
    Error,
    /// Shown beside it.
    Warning,
}

/// A rule broken by one object (or by the settings, with no object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The index of the object it is about.
    pub object: Option<usize>,
    /// The field, dotted.
    pub field: Option<String>,
    /// What is wrong, quoting the value.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// The kinds that serve a model: where labels are required.
const SERVING_KINDS: [&str; 3] = ["InferenceService", "SeldonDeployment", "Model"];

/// Checks `objects` (YAML documents) against `settings` (JSON), for objects
/// without a namespace rendered into `namespace`.
pub fn check(objects: &[&str], settings: &str, namespace: Option<&str>) -> Vec<Finding> {
    let settings: Settings = match serde_json::from_str(settings) {
        Ok(settings) => settings,
        Err(e) => {
            return vec![Finding {
                severity: Severity::Error,
                object: None,
                field: Some("settings".to_owned()),
                message: format!("the policy pack's settings are wrong: {e}"),
                hint: Some(
                    "known settings: `requiredLabels`, `allowedStoragePrefixes`, `allowedRegistries`, \
                     `requireDigest`, `gpuLimits`"
                        .to_owned(),
                ),
            }];
        }
    };
    let mut findings = Vec::new();
    for (index, text) in objects.iter().enumerate() {
        let Ok(object) = serde_saphyr::from_str::<Value>(text) else { continue };
        check_object(&settings, index, &object, namespace, &mut findings);
    }
    findings
}

fn check_object(settings: &Settings, index: usize, object: &Value, namespace: Option<&str>, out: &mut Vec<Finding>) {
    let error = |field: String, message: String, hint: &str| Finding {
        severity: Severity::Error,
        object: Some(index),
        field: Some(field),
        message,
        hint: Some(hint.to_owned()),
    };
    let kind = object["kind"].as_str().unwrap_or_default();
    if SERVING_KINDS.contains(&kind) {
        for label in &settings.required_labels {
            if object["metadata"]["labels"].get(label).is_none() {
                out.push(error(
                    "metadata.labels".to_owned(),
                    format!("the label `{label}` is missing"),
                    "set it in the spec's `metadata.labels`, or for every model in the project's `defaults.labels`",
                ));
            }
        }
    }
    let mut gpus = 0;
    walk(object, "", &mut |path, key, value| match (key, value) {
        ("storageUri" | "modelUri", Value::String(uri))
            if !settings.allowed_storage_prefixes.is_empty()
                && !settings.allowed_storage_prefixes.iter().any(|prefix| uri.starts_with(prefix.as_str())) =>
        {
            out.push(error(
                path.to_owned(),
                format!("the storage URI `{uri}` is outside the allowed locations"),
                &format!("store models under {}", quoted(&settings.allowed_storage_prefixes)),
            ));
        }
        ("image", Value::String(image)) => {
            let registry = registry(image);
            if !settings.allowed_registries.is_empty() && !settings.allowed_registries.iter().any(|r| r == registry) {
                out.push(error(
                    path.to_owned(),
                    format!("the image `{image}` comes from `{registry}`, which is not an allowed registry"),
                    &format!("use an image from {}", quoted(&settings.allowed_registries)),
                ));
            }
            if settings.require_digest && !image.contains("@sha256:") {
                out.push(error(
                    path.to_owned(),
                    format!("the image `{image}` is not pinned by digest"),
                    "write it as `name@sha256:<digest>`, so that what was reviewed is what runs",
                ));
            }
        }
        ("nvidia.com/gpu", value) if path.contains("limits") => {
            gpus += value.as_u64().or_else(|| value.as_str().and_then(|s| s.parse().ok())).unwrap_or(0);
        }
        _ => {}
    });
    let namespace = object["metadata"]["namespace"].as_str().or(namespace).unwrap_or("default");
    let limit = settings.gpu_limits.get(namespace).or_else(|| settings.gpu_limits.get("*"));
    if let Some(&limit) = limit.filter(|&&limit| gpus > limit) {
        out.push(error(
            "spec".to_owned(),
            format!("it asks for {gpus} GPUs, more than the {limit} allowed per object in the namespace `{namespace}`"),
            "lower `spec.resources.gpu` or the replicas' GPUs, or ask the platform team to raise the limit",
        ));
    }
}

/// Calls `visit(path, key, value)` for every mapping entry under `value`.
fn walk(value: &Value, path: &str, visit: &mut impl FnMut(&str, &str, &Value)) {
    match value {
        Value::Object(entries) => {
            for (key, child) in entries {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                visit(&child_path, key, child);
                walk(child, &child_path, visit);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), visit);
            }
        }
        _ => {}
    }
}

/// The registry of an image reference, as container runtimes read it: the
/// first component when it has a `.` or `:` or is `localhost`, else Docker Hub.
pub fn registry(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

fn quoted(list: &[String]) -> String {
    list.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISVC: &str = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: m\n  \
                        namespace: vision\n  labels:\n    team: a\nspec:\n  predictor:\n    model:\n      \
                        storageUri: gs://elsewhere/m\n      resources:\n        limits:\n          nvidia.com/gpu: \
                        \"2\"\n    containers:\n    - name: c\n      image: docker.io/library/x:1\n";

    #[test]
    fn every_rule_reports_at_its_field() {
        let settings = r#"{"requiredLabels": ["cost-center"], "allowedStoragePrefixes": ["s3://acme/"],
            "allowedRegistries": ["ghcr.io"], "requireDigest": true, "gpuLimits": {"vision": 1}}"#;
        let findings = check(&[ISVC], settings, None);
        let fields: Vec<&str> = findings.iter().filter_map(|f| f.field.as_deref()).collect();
        assert_eq!(
            fields,
            [
                "metadata.labels",
                "spec.predictor.containers[0].image",
                "spec.predictor.containers[0].image",
                "spec.predictor.model.storageUri",
                "spec"
            ]
        );
        assert!(findings[4].message.contains("2 GPUs, more than the 1"));
        assert!(findings.iter().all(|f| f.object == Some(0)));
    }

    #[test]
    fn no_settings_no_findings_and_bad_settings_are_an_error() {
        assert!(check(&[ISVC], "{}", None).is_empty());
        let bad = check(&[ISVC], r#"{"requiredLabel": []}"#, None);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].object, None);
        assert!(bad[0].message.contains("requiredLabel"));
    }

    #[test]
    fn registries_are_read_as_runtimes_read_them() {
        assert_eq!(registry("nginx"), "docker.io");
        assert_eq!(registry("library/nginx:1"), "docker.io");
        assert_eq!(registry("ghcr.io/acme/x@sha256:00"), "ghcr.io");
        assert_eq!(registry("localhost/x"), "localhost");
        assert_eq!(registry("registry.local:5000/x"), "registry.local:5000");
    }
}
