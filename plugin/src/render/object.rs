//! What every rendered object shares: the spec it comes from, its metadata, and the pod settings each backend copies.

use serde_json::{Map, Value, json};

use crate::model::spec::{Model, ModelDeployment, Resources, Spec};

/// The annotation naming the spec file an object came from.
pub const SOURCE_ANNOTATION: &str = "modelgen.dev/source";
/// The label naming the model (`metadata.name`) on every object.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// The label naming the model version an object (or a pod) serves.
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";
/// The label naming modelgen as the tool that manages an object.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Labels that modelgen sets itself and users may not override.
pub const RESERVED_LABELS: [&str; 3] = [NAME_LABEL, VERSION_LABEL, MANAGED_BY_LABEL];

/// What the backend renderers need besides the spec.
pub struct Target<'a> {
    /// The spec to render.
    pub spec: &'a ModelDeployment,
    /// The spec's file, relative to the application root.
    pub source: &'a str,
    /// The namespace the objects go to, if known.
    pub namespace: Option<&'a str>,
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

/// `metadata` shared by every object of a spec: name, namespace, the
/// standard labels (with the version the object serves), the user's labels
/// and annotations, and the source file. Nothing here changes from commit to
/// commit unless the spec does.
pub fn metadata(target: &Target<'_>, name: &str, version: &str, annotations: &[(&str, &str)]) -> Value {
    let spec = target.spec;
    let mut labels: Map<String, Value> = spec.metadata.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    labels.insert(NAME_LABEL.into(), json!(spec.metadata.name));
    labels.insert(VERSION_LABEL.into(), json!(version));
    labels.insert(MANAGED_BY_LABEL.into(), json!("modelgen"));
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
    spec.resources.as_ref().and_then(requirements)
}

/// `resources` of a container: requests and limits alike.
pub fn requirements(resources: &Resources) -> Option<Value> {
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
                    toleration.insert("operator".into(), json!(operator.as_str()));
                }
                if let Some(value) = &t.value {
                    toleration.insert("value".into(), json!(value));
                }
                if let Some(effect) = t.effect {
                    toleration.insert("effect".into(), json!(effect.as_str()));
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

/// The process of an image-served model's container: `command`, `args`,
/// and the environment, `env` first (variables the backend reads, such as
/// KServe's `STORAGE_URI`, so that the user's can refer to them as `$(NAME)`)
/// then the spec's, and `envFrom`. Empty lists are left out.
pub fn server_process(model: &Model, env: Vec<Value>, container: &mut Value) {
    if !model.command.is_empty() {
        container["command"] = json!(model.command);
    }
    if !model.args.is_empty() {
        container["args"] = json!(model.args);
    }
    let mut env = env;
    env.extend(model.env.iter().map(|var| json!({ "name": var.name, "value": var.value })));
    if !env.is_empty() {
        container["env"] = Value::Array(env);
    }
    let env_from: Vec<Value> = model
        .env_from
        .iter()
        .map(|source| {
            let mut entry = match (&source.secret, &source.config_map) {
                (Some(name), _) => json!({ "secretRef": { "name": name } }),
                (None, name) => json!({ "configMapRef": { "name": name } }),
            };
            if let Some(prefix) = &source.prefix {
                entry["prefix"] = json!(prefix);
            }
            entry
        })
        .collect();
    if !env_from.is_empty() {
        container["envFrom"] = Value::Array(env_from);
    }
}
