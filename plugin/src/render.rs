//! Rendering: from a validated spec to Kubernetes objects, with the metadata every object shares.
//!
//! Each backend module renders one stack; [`names`] is the one place that
//! decides the names of derived objects, so that validation can check them
//! against each backend's limits before anything is rendered.

pub(crate) mod kserve;
pub(crate) mod monitoring;
pub(crate) mod route;
pub(crate) mod seldon;
pub(crate) mod seldon_v2;

use serde_json::{Map, Value, json};

use crate::model::spec::{Backend, ModelDeployment, ModelFormat, Spec};

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
    let mut objects = match target.spec.spec.backend {
        Backend::Kserve => kserve::render(target),
        Backend::Seldon => seldon::render(target),
        Backend::SeldonV2 => seldon_v2::render(target),
    };
    monitoring::render(target, &mut objects);
    objects
}

/// The formats a backend can serve.
pub fn formats(backend: Backend) -> Vec<ModelFormat> {
    ModelFormat::ALL
        .into_iter()
        .filter(|format| match backend {
            Backend::Kserve => true,
            Backend::Seldon => seldon::server(*format).is_some(),
            Backend::SeldonV2 => seldon_v2::requirement(*format).is_some(),
        })
        .collect()
}

/// A name modelgen derives from `metadata.name`, and the limit it must fit.
pub struct DerivedName {
    /// The derived name.
    pub name: String,
    /// The longest it may be.
    pub max: usize,
    /// What it names, for the message.
    pub what: &'static str,
}

/// Every name the spec's objects (and the objects the backend derives from
/// them) will carry.
pub fn names(spec: &ModelDeployment) -> Vec<DerivedName> {
    let base = spec.metadata.name.as_str();
    match spec.spec.backend {
        Backend::Kserve => kserve::names(base, &spec.spec),
        Backend::Seldon => vec![DerivedName { name: base.to_owned(), max: 63, what: "SeldonDeployment name" }],
        Backend::SeldonV2 => seldon_v2::names(base, &spec.spec),
    }
}

/// The name of a variant's object: `<name>`, `<name>-canary`, `<name>-shadow`.
pub fn variant_name(base: &str, variant: Variant) -> String {
    match variant {
        Variant::Stable => base.to_owned(),
        Variant::Canary => format!("{base}-canary"),
        Variant::Shadow => format!("{base}-shadow"),
    }
}

/// The versions a spec serves side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `spec.model`.
    Stable,
    /// `spec.canary`.
    Canary,
    /// `spec.shadow`.
    Shadow,
}

impl Variant {
    /// The lowercase name used in object and predictor names.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Stable => "stable",
            Variant::Canary => "canary",
            Variant::Shadow => "shadow",
        }
    }
}

/// The version and storage URI of one variant, if the spec has it.
pub fn variant_model(spec: &Spec, variant: Variant) -> Option<(&str, &str)> {
    match variant {
        Variant::Stable => Some((spec.model.version.as_str(), spec.model.storage_uri.as_str())),
        Variant::Canary => spec.canary.as_ref().map(|c| (c.version.as_str(), c.storage_uri.as_str())),
        Variant::Shadow => spec.shadow.as_ref().map(|s| (s.version.as_str(), s.storage_uri.as_str())),
    }
}

/// `metadata` shared by every object of a spec: name, namespace, the
/// standard labels (with the version the object serves), the user's labels
/// and annotations, and the source file. Nothing here changes from commit to
/// commit unless the spec does.
pub fn metadata(target: &Target<'_>, name: &str, version: &str, annotations: &[(&str, &str)]) -> Value {
    let spec = target.spec;
    let mut labels: Map<String, Value> = spec.metadata.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    labels.insert("app.kubernetes.io/name".into(), json!(spec.metadata.name));
    labels.insert("app.kubernetes.io/version".into(), json!(version));
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

/// Requests and limits alike (Guaranteed `QoS` for memory, no surprise
/// throttling beyond what was asked); GPUs as `nvidia.com/gpu`.
pub fn resources(spec: &Spec) -> Option<Value> {
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

/// `nodeSelector`, `tolerations` and `serviceAccountName` as PodSpec fields.
pub fn placement(spec: &Spec, pod: &mut Map<String, Value>) {
    if let Some(sa) = &spec.service_account_name {
        pod.insert("serviceAccountName".into(), json!(sa));
    }
    if !spec.node_selector.is_empty() {
        pod.insert("nodeSelector".into(), json!(spec.node_selector));
    }
    if !spec.tolerations.is_empty() {
        let tolerations = spec
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
                if let Some(seconds) = t.seconds {
                    toleration.insert("tolerationSeconds".into(), json!(seconds));
                }
                Value::Object(toleration)
            })
            .collect();
        pod.insert("tolerations".into(), tolerations);
    }
}

/// The annotation (or label) with which an object opts out of Flux's
/// post-build variable substitution.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Keeps `${...}` in an object literal under Flux's post-build substitution.
///
/// A Flux `Kustomization` with `postBuild` replaces `${var}` in every object it
/// applies, and an undefined variable becomes an empty string, so a storage
/// URI or annotation that happens to contain `${` would be silently rewritten
/// on the cluster. Any object with a string (key or value) containing `${`
/// gets `kustomize.toolkit.fluxcd.io/substitute: disabled`, unless the spec
/// set that annotation itself: then it asked for substitution on purpose.
pub fn guard_substitution(object: &mut Value) {
    if !mentions_variable(object) {
        return;
    }
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let annotations = metadata.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.entry(SUBSTITUTE_ANNOTATION).or_insert_with(|| json!("disabled"));
    }
}

/// Whether any key or string in `value` contains `${`.
fn mentions_variable(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("${"),
        Value::Array(items) => items.iter().any(mentions_variable),
        Value::Object(map) => map.iter().any(|(key, value)| key.contains("${") || mentions_variable(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod substitution_tests {
    use super::*;

    #[test]
    fn objects_mentioning_a_variable_opt_out_of_flux_substitution() {
        let mut object = json!({"kind": "Model", "metadata": {"name": "m"}, "spec": {"args": ["--x=${HOME}"]}});
        guard_substitution(&mut object);
        assert_eq!(object["metadata"]["annotations"][SUBSTITUTE_ANNOTATION], "disabled");
        let mut key = json!({"metadata": {"name": "m", "labels": {"a": "b"}}, "spec": {"${k}": 1}});
        guard_substitution(&mut key);
        assert_eq!(key["metadata"]["annotations"][SUBSTITUTE_ANNOTATION], "disabled");
    }

    #[test]
    fn other_objects_and_explicit_choices_are_left_alone() {
        let plain = json!({"metadata": {"name": "m"}, "spec": {"price": "$5 {not a variable}"}});
        let mut object = plain.clone();
        guard_substitution(&mut object);
        assert_eq!(object, plain);
        let chosen = json!({"metadata": {"name": "m", "annotations": {SUBSTITUTE_ANNOTATION: "enabled"}}, "spec": {"uri": "s3://${region}/m"}});
        let mut object = chosen.clone();
        guard_substitution(&mut object);
        assert_eq!(object, chosen);
    }
}
