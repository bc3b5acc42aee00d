//! The `PodMonitor`: exactly the pods that serve a model's versions, scraped where each backend exports its metrics, each series labelled with `model` and `version`.

use serde_json::{Map, Value, json};

use super::plan::Plan;
use super::promql::{MODEL_LABEL, ROLE_LABEL, VERSION_LABEL, regex_escape};
use crate::model::spec::{Backend, DEFAULT_PORT, DeploymentMode};
use crate::render::{llm, seldon_v2};
use crate::rules::backend::kserve_llm::{
    MAIN_CONTAINER, NAME_LABEL, PART_OF_LABEL, ROLE_LABEL as ROLE_POD_LABEL, SCHEDULER_COMPONENT,
    SCHEDULER_METRICS_PORT, WORKLOAD_LABEL,
};

/// The `PodMonitor`: exactly the pods that serve this model's versions, on
/// the port and path where each backend exports its metrics.
pub fn render(plan: &Plan<'_>) -> Value {
    let spec = plan.spec();
    let name = plan.name();
    let (selector, endpoints) = match spec.backend {
        Backend::Kserve => kserve_scrape(plan),
        Backend::Seldon => seldon_scrape(plan),
        Backend::SeldonV2 => seldon_v2_scrape(plan),
        Backend::KserveLlm => llm_scrape(plan),
    };
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": plan.metadata(name, &[], &[]),
        "spec": { "selector": selector, "podMetricsEndpoints": endpoints },
    })
}

/// One scrape endpoint with the spec's interval and timeout.
fn endpoint(plan: &Plan<'_>, path: &str) -> Map<String, Value> {
    let scrape = &plan.monitoring.scrape;
    let mut endpoint = Map::new();
    endpoint.insert("path".into(), json!(path));
    endpoint.insert("interval".into(), json!(scrape.interval()));
    if let Some(timeout) = &scrape.timeout {
        endpoint.insert("scrapeTimeout".into(), json!(timeout.0));
    }
    endpoint
}

/// `model` from the spec and `version` from the pod's `app.kubernetes.io/version` label.
fn pod_relabelings(plan: &Plan<'_>) -> Vec<Value> {
    vec![
        json!({ "action": "replace", "targetLabel": "model", "replacement": plan.name() }),
        json!({
            "action": "replace",
            "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_version"],
            "targetLabel": "version",
        }),
    ]
}

/// KServe: the predictor pods of the model's InferenceServices (one, or one
/// per version with `split`). Knative mode: the queue-proxy's request
/// metrics and the model server's own; Standard mode: the model server's.
fn kserve_scrape(plan: &Plan<'_>) -> (Value, Vec<Value>) {
    let spec = plan.spec();
    let services: Vec<String> = if spec.kserve_split() {
        plan.variants.iter().map(|(variant, _)| variant.object_name(plan.name())).collect()
    } else {
        vec![plan.name().to_owned()]
    };
    let selector = json!({
        "matchLabels": { "component": "predictor" },
        "matchExpressions": [{ "key": "serving.kserve.io/inferenceservice", "operator": "In", "values": services }],
    });
    let mut endpoints = Vec::new();
    match spec.mode() {
        DeploymentMode::Knative => {
            for port in ["http-usermetric", "user-port"] {
                let mut queue = endpoint(plan, "/metrics");
                queue.insert("port".into(), json!(port));
                queue.insert("relabelings".into(), json!(pod_relabelings(plan)));
                endpoints.push(Value::Object(queue));
            }
        }
        DeploymentMode::Standard => {
            // KServe's runtimes need not declare the port they listen on, and
            // Prometheus drops targets on undeclared ports: point the model
            // server's target at its HTTP port (8080, KServe's default, or
            // the port of a server image) by address.
            let port = if spec.model.image.is_some() { spec.model.port() } else { DEFAULT_PORT };
            let mut relabelings = vec![
                json!({
                    "action": "keep",
                    "sourceLabels": ["__meta_kubernetes_pod_container_name"],
                    "regex": "kserve-container",
                }),
                json!({
                    "action": "replace",
                    "sourceLabels": ["__meta_kubernetes_pod_ip"],
                    "regex": "([^:]+)",
                    "targetLabel": "__address__",
                    "replacement": format!("$1:{port}"),
                }),
                json!({
                    "action": "replace",
                    "sourceLabels": ["__meta_kubernetes_pod_ip"],
                    "regex": "(.+:.+)",
                    "targetLabel": "__address__",
                    "replacement": format!("[$1]:{port}"),
                }),
            ];
            relabelings.extend(pod_relabelings(plan));
            let mut server = endpoint(plan, "/metrics");
            server.insert("relabelings".into(), json!(relabelings));
            endpoints.push(Value::Object(server));
        }
    }
    (selector, endpoints)
}

/// `LLMInferenceService`: the workload pods of the model's services (main,
/// prefill, and a multi-node leader; the controller's labels), the `main`
/// container only, on the port its preset declares (vLLM's 8000, or 8001
/// behind the P/D sidecar), so that the sidecar's port is not scraped.
fn llm_scrape(plan: &Plan<'_>) -> (Value, Vec<Value>) {
    let services: Vec<String> = plan.variants.iter().map(|(variant, _)| variant.object_name(plan.name())).collect();
    let selector = json!({
        "matchLabels": { PART_OF_LABEL.0: PART_OF_LABEL.1, WORKLOAD_LABEL.0: WORKLOAD_LABEL.1 },
        "matchExpressions": [{ "key": NAME_LABEL, "operator": "In", "values": services }],
    });
    let mut relabelings = vec![json!({
        "action": "keep",
        "sourceLabels": ["__meta_kubernetes_pod_container_name"],
        "regex": MAIN_CONTAINER,
    })];
    relabelings.extend(pod_relabelings(plan));
    relabelings.push(json!({
        "action": "replace",
        "sourceLabels": [pod_label(ROLE_POD_LABEL)],
        "targetLabel": ROLE_LABEL,
    }));
    let mut endpoint = endpoint(plan, "/metrics");
    endpoint.insert("relabelings".into(), json!(relabelings));
    (selector, vec![Value::Object(endpoint)])
}

/// The `PodMonitor` of llm-d's scheduler (endpoint picker) pods, whose
/// `/metrics` wants a bearer token, when the spec names one.
pub fn scheduler(plan: &Plan<'_>) -> Option<Value> {
    let scrape = plan.monitoring.scheduler.as_ref()?;
    let spec = plan.spec();
    if spec.backend != Backend::KserveLlm || !llm::scheduler(spec) {
        return None; // Refused by validation.
    }
    // A split shadow gets mirrored copies only, without a scheduler.
    let served: Vec<(String, &str)> =
        plan.serving().map(|(variant, version)| (variant.object_name(plan.name()), version)).collect();
    let selector = json!({
        "matchLabels": { PART_OF_LABEL.0: PART_OF_LABEL.1, SCHEDULER_COMPONENT.0: SCHEDULER_COMPONENT.1 },
        "matchExpressions": [{
            "key": NAME_LABEL,
            "operator": "In",
            "values": served.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        }],
    });
    let mut relabelings = vec![json!({ "action": "replace", "targetLabel": MODEL_LABEL, "replacement": plan.name() })];
    for (name, version) in &served {
        relabelings.push(json!({
            "action": "replace",
            "sourceLabels": [pod_label(NAME_LABEL)],
            "regex": regex_escape(name),
            "targetLabel": VERSION_LABEL,
            "replacement": version,
        }));
    }
    let mut endpoint = endpoint(plan, "/metrics");
    endpoint.insert("port".into(), json!(SCHEDULER_METRICS_PORT));
    endpoint.insert(
        "authorization".into(),
        json!({ "type": "Bearer", "credentials": { "name": scrape.bearer_token.name, "key": scrape.bearer_token.key } }),
    );
    endpoint.insert("relabelings".into(), json!(relabelings));
    Some(json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": plan.metadata(&format!("{}-scheduler", plan.name()), &[], &[]),
        "spec": { "selector": selector, "podMetricsEndpoints": [endpoint] },
    }))
}

/// The meta label under which Prometheus' Kubernetes discovery offers a pod label
/// (every character that is not a letter or digit becomes `_`).
fn pod_label(label: &str) -> String {
    let sanitized: String = label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("__meta_kubernetes_pod_label_{sanitized}")
}

/// Seldon Core v1: the SeldonDeployment's pods; every container port named
/// `metrics` or `metrics-*` (the executor's and the model containers'), at `/prometheus`.
fn seldon_scrape(plan: &Plan<'_>) -> (Value, Vec<Value>) {
    let selector = json!({ "matchLabels": { "seldon-deployment-id": plan.name() } });
    let mut relabelings = vec![json!({
        "action": "keep",
        "sourceLabels": ["__meta_kubernetes_pod_container_port_name"],
        "regex": "metrics(-.*)?",
    })];
    relabelings.extend(pod_relabelings(plan));
    let mut endpoint = endpoint(plan, "/prometheus");
    endpoint.insert("relabelings".into(), json!(relabelings));
    (selector, vec![Value::Object(endpoint)])
}

/// Seldon Core 2: the pods of the Server the models run on (all Servers in
/// the namespace when the scheduler picks). Server pods host many models, so
/// only this model's series are kept, and each is labelled with the version
/// its internal name (`<model>_<generation>`) serves.
fn seldon_v2_scrape(plan: &Plan<'_>) -> (Value, Vec<Value>) {
    let spec = plan.spec();
    let server =
        if seldon_v2::dedicated_server(spec) { Some(seldon_v2::server_name(plan.name())) } else { spec.server.clone() };
    let selector = match server {
        Some(server) => json!({ "matchLabels": { "seldon-server-name": server } }),
        None => json!({ "matchExpressions": [{ "key": "seldon-server-name", "operator": "Exists" }] }),
    };
    // The agent labels its counters `model_internal`; MLServer labels the model's own metrics `model_name`.
    let endpoints = [("metrics", "model_internal"), ("server-metrics", "model_name")]
        .into_iter()
        .map(|(port, label)| {
            let models: Vec<String> = plan.variants.iter().map(|(v, _)| v.object_name(plan.name())).collect();
            let mut relabelings = vec![json!({
                "action": "keep",
                "sourceLabels": [label],
                "regex": format!("({})_[0-9]+", models.join("|")),
            })];
            for (variant, version) in &plan.variants {
                relabelings.push(json!({
                    "action": "replace",
                    "sourceLabels": [label],
                    "regex": format!("{}_[0-9]+", variant.object_name(plan.name())),
                    "targetLabel": "version",
                    "replacement": version,
                }));
            }
            relabelings.push(json!({ "action": "replace", "targetLabel": "model", "replacement": plan.name() }));
            let mut endpoint = endpoint(plan, "/metrics");
            endpoint.insert("port".into(), json!(port));
            endpoint.insert("metricRelabelings".into(), json!(relabelings));
            Value::Object(endpoint)
        })
        .collect();
    (selector, endpoints)
}
