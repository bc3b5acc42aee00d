//! KEDA autoscaling on Prometheus: the queries of the vLLM presets, KServe's `External` metric for an `InferenceService`, and the `ScaledObject` modelgen renders for an `LLMInferenceService`.

use serde_json::{Value, json};

use super::monitoring::promql::{MODEL_LABEL, ROLE_LABEL, VERSION_LABEL, quote, selector};
use super::object::{Target, metadata};
use crate::model::spec::{Backend, ScaleMetric, Spec};
use crate::rules::backend::keda::{RATE_WINDOW, SCALED_OBJECT_API_VERSION, SCALER_SUFFIX};
use crate::rules::backend::kserve_llm::PREFILL_ROLE;
use crate::rules::backend::vllm::{GENERATION_TOKENS, KV_CACHE_USAGE, NUM_REQUESTS_WAITING};

/// One Prometheus trigger: the query for one version's pods and the per-replica threshold.
pub struct Trigger {
    /// The `PromQL` query.
    pub query: String,
    /// KEDA's `threshold`, as the string KEDA reads (and KServe passes on unchanged).
    pub threshold: String,
    /// `serverAddress`.
    pub server_address: String,
    /// The `TriggerAuthentication` to use, if any.
    pub authentication: Option<String>,
    /// `authModes`, comma-separated, if any.
    pub auth_modes: Option<String>,
}

/// The trigger that scales the pods serving `version`, when the spec scales on a KEDA metric.
pub fn trigger(spec: &Spec, namespace: Option<&str>, model: &str, version: &str) -> Option<Trigger> {
    let scaling = spec.scaling.as_ref()?;
    let metric = scaling.metric.filter(|m| m.is_keda())?;
    let prometheus = scaling.prometheus.as_ref()?;
    let target = scaling.target.unwrap_or(1);
    // The labels modelgen's PodMonitor gives every series (and the
    // namespace Prometheus adds), so each version scales on its own load.
    let mut matchers = Vec::new();
    if let Some(namespace) = namespace {
        matchers.push(format!("namespace={}", quote(namespace)));
    }
    matchers.push(format!("{MODEL_LABEL}={}", quote(model)));
    matchers.push(format!("{VERSION_LABEL}={}", quote(version)));
    if spec.backend == Backend::KserveLlm {
        // Prefill pods queue and cache too, but decode pods are what this scales.
        matchers.push(format!("{ROLE_LABEL}!={}", quote(PREFILL_ROLE)));
    }
    let pods = selector(&matchers);
    let query = match metric {
        ScaleMetric::WaitingRequests => format!("sum({NUM_REQUESTS_WAITING}{pods})"),
        ScaleMetric::KvCacheUsage => format!("sum({KV_CACHE_USAGE}{pods})"),
        ScaleMetric::TokensPerSecond => format!("sum(rate({GENERATION_TOKENS}{pods}[{RATE_WINDOW}]))"),
        _ => prometheus.query.clone()?,
    };
    // `vllm:kv_cache_usage_perc` is a fraction; the spec's target a percentage.
    let threshold =
        if metric == ScaleMetric::KvCacheUsage { (f64::from(target) / 100.0).to_string() } else { target.to_string() };
    let auth_modes: Vec<&str> = prometheus.auth_modes.iter().map(|m| m.as_str()).collect();
    Some(Trigger {
        query,
        threshold,
        server_address: prometheus.server_address.clone(),
        authentication: prometheus.trigger_authentication.clone(),
        auth_modes: (!auth_modes.is_empty()).then(|| auth_modes.join(",")),
    })
}

/// KServe's `autoScaling.metrics` entry for the trigger: an `External`
/// Prometheus metric, from which KServe builds the predictor's `ScaledObject`.
pub fn external_metric(trigger: &Trigger) -> Value {
    let mut external = json!({
        "metric": { "backend": "prometheus", "serverAddress": trigger.server_address, "query": trigger.query },
        "target": { "type": "Value", "value": trigger.threshold },
    });
    if let Some(name) = &trigger.authentication {
        let mut authentication = json!({ "authenticationRef": { "name": name } });
        if let Some(modes) = &trigger.auth_modes {
            authentication["authModes"] = json!(modes);
        }
        external["authenticationRef"] = authentication;
    }
    json!({ "type": "External", "external": external })
}

/// The name of modelgen's `ScaledObject` for the service `name`.
pub fn scaler_name(name: &str) -> String {
    format!("{name}{SCALER_SUFFIX}")
}

/// A `ScaledObject` that scales the Deployment `deployment`, whose pods serve `version`, on the trigger.
pub fn scaled_object(target: &Target<'_>, service: &str, deployment: &str, version: &str, trigger: &Trigger) -> Value {
    let scaling = target.spec.spec.scaling.clone().unwrap_or_default();
    let mut metadata_of_trigger = json!({
        "serverAddress": trigger.server_address,
        "query": trigger.query,
        "threshold": trigger.threshold,
    });
    if let Some(modes) = &trigger.auth_modes {
        metadata_of_trigger["authModes"] = json!(modes);
    }
    let mut prometheus = json!({ "type": "prometheus", "metadata": metadata_of_trigger });
    if let Some(name) = &trigger.authentication {
        prometheus["authenticationRef"] = json!({ "name": name });
    }
    let mut spec = json!({
        "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": deployment },
        "minReplicaCount": scaling.min_replicas.unwrap_or(1),
        "triggers": [prometheus],
    });
    if let Some(max) = scaling.max_replicas {
        spec["maxReplicaCount"] = json!(max);
    }
    json!({
        "apiVersion": SCALED_OBJECT_API_VERSION,
        "kind": "ScaledObject",
        "metadata": metadata(target, &scaler_name(service), version, &[]),
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Spec {
        let node = crate::yaml::stream::parse_one(yaml);
        crate::yaml::decoder::decode(&node).expect("a spec")
    }

    #[test]
    fn presets_sum_over_one_versions_pods_and_kv_cache_targets_are_fractions() {
        let llm = spec(
            "backend: kserve-llm\nmodel: {format: huggingface, version: v1, storageUri: hf://o/m}\nscaling: {minReplicas: 1, maxReplicas: 4, metric: kv-cache-usage, target: 80, prometheus: {serverAddress: http://prom:9090}}",
        );
        let found = trigger(&llm, Some("llm"), "m", "v1").expect("a KEDA metric");
        assert_eq!(
            found.query,
            r#"sum(vllm:kv_cache_usage_perc{namespace="llm", model="m", version="v1", role!="prefill"})"#
        );
        assert_eq!(found.threshold, "0.8");
        let isvc = spec(
            "deploymentMode: Standard\nmodel: {format: huggingface, version: v1, storageUri: hf://o/m}\nscaling: {maxReplicas: 4, metric: tokens-per-second, target: 500, prometheus: {serverAddress: http://prom:9090}}",
        );
        let found = trigger(&isvc, None, "m", "v1").expect("a KEDA metric");
        assert_eq!(found.query, r#"sum(rate(vllm:generation_tokens_total{model="m", version="v1"}[1m]))"#);
        assert_eq!(found.threshold, "500");
        assert!(
            trigger(
                &spec("model: {format: sklearn, version: v1, storageUri: s3://m}\nscaling: {metric: cpu}"),
                None,
                "m",
                "v1"
            )
            .is_none()
        );
    }
}
