//! Rendering: from a validated spec to Kubernetes objects, with the metadata every object shares.

pub mod kserve;

use serde_json::{Map, Value, json};

use crate::spec::{Backend, ModelDeployment};

/// What the backend renderers need besides the spec.
pub struct Target<'a> {
    /// The spec to render.
    pub spec: &'a ModelDeployment,
    /// The spec's file, relative to the application root.
    pub source: &'a str,
    /// The namespace the objects go to, if known.
    pub namespace: Option<&'a str>,
}

/// The annotation naming the spec file an object came from.
pub const SOURCE_ANNOTATION: &str = "modelgen.dev/source";

/// Renders one spec with its backend.
pub fn render(target: &Target<'_>) -> Vec<Value> {
    match target.spec.spec.backend {
        Backend::Kserve => kserve::render(target),
    }
}

/// `metadata` shared by every object of a spec: name, namespace, the
/// standard labels, the user's labels and annotations, and the source file.
/// Nothing here changes from commit to commit unless the spec does.
pub fn metadata(target: &Target<'_>, name: &str, annotations: &[(&str, &str)]) -> Value {
    let spec = target.spec;
    let mut labels: Map<String, Value> = spec.metadata.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    labels.insert("app.kubernetes.io/name".into(), json!(spec.metadata.name));
    labels.insert("app.kubernetes.io/version".into(), json!(spec.spec.model.version));
    labels.insert("app.kubernetes.io/managed-by".into(), json!("modelgen"));
    let mut all_annotations: Map<String, Value> =
        spec.metadata.annotations.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    all_annotations.insert(SOURCE_ANNOTATION.into(), json!(target.source));
    for (key, value) in annotations {
        all_annotations.insert((*key).into(), json!(value));
    }
    let mut metadata = json!({ "name": name, "labels": labels, "annotations": all_annotations });
    if let Some(namespace) = target.namespace {
        metadata["namespace"] = json!(namespace);
    }
    metadata
}
