//! KServe `LLMInferenceService` backend: one `serving.kserve.io/v1alpha2` object per version, a routing group or modelgen's weighted HTTPRoute between them, and KEDA `ScaledObject`s.
//!
//! It emits the form KServe's mutating webhook keeps (`model.name` always,
//! the routing-group label exactly with a group, a `main` container in every
//! pod template, no value Go would drop), so the live object does not drift
//! from Git.

use serde_json::{Map, Value, json};

use super::keda;
use super::object::{DerivedName, Target, VERSION_LABEL, metadata, placement, requirements};
use super::route;
use super::variant::Variant;
use crate::model::percent::Percent;
use crate::model::resources::Resources;
use crate::model::spec::{Canary, CanaryStrategy, ScaleMetric, Spec};
use crate::rules::backend::keda::{HPA_PREFIX, SCALER_SUFFIX};
use crate::rules::backend::kserve_llm::{
    API_VERSION, DEPLOYMENT_SUFFIX, INFERENCE_ENDPOINTS, INFERENCE_POOL_GROUP, INFERENCE_POOL_SUFFIX, KIND,
    MAIN_CONTAINER, ROUTING_GROUP_LABEL, WORKLOAD_PORT, WORKLOAD_SERVICE_SUFFIX,
};

/// Renders the services (and the route of a split, and the scalers).
pub fn render(target: &Target<'_>) -> Vec<Value> {
    let spec = &target.spec.spec;
    let base = target.spec.metadata.name.as_str();
    let canary = spec.canary.as_ref().map_or(Percent::NONE, Canary::traffic);
    let mut services = Vec::new();
    let mut scalers = Vec::new();
    let mut members = Vec::new();
    let mut mirror = None;
    for variant in Variant::ALL {
        let Some(served) = variant.served(spec) else { continue };
        let name = variant.object_name(base);
        let weight = match variant {
            Variant::Stable => canary.rest(),
            Variant::Canary => canary,
            Variant::Shadow => Percent::NONE,
        };
        let router = router(spec, base, variant, weight);
        let mut service = service(target, &name, served.version, served.storage_uri.unwrap_or_default(), router);
        if group(spec) {
            service["metadata"]["labels"][ROUTING_GROUP_LABEL] = json!(base);
        }
        services.push(service);
        if let Some(trigger) = keda::trigger(spec, target.namespace, base, served.version) {
            scalers.push(keda::scaled_object(target, &name, &deployment(&name), served.version, &trigger));
        }
        match variant {
            Variant::Shadow => mirror = spec.shadow.as_ref().map(|s| (workload_service(&name), s.mirrored())),
            _ => members.push((name, weight)),
        }
    }
    let mut objects = services;
    if split(spec) {
        objects.push(split_route(target, &members, mirror.as_ref()));
    }
    objects.extend(scalers);
    objects
}

/// Whether modelgen renders the route between the versions: a `split`
/// canary, or any shadow (KServe's routing groups cannot mirror).
pub fn split(spec: &Spec) -> bool {
    (spec.canary.is_some() && spec.canary_strategy() == CanaryStrategy::Split) || spec.shadow.is_some()
}

/// Whether the versions share KServe's routing group: a `native` canary.
fn group(spec: &Spec) -> bool {
    spec.canary.is_some() && !split(spec)
}

/// The name clients send, which every version serves.
pub fn served_name<'a>(base: &'a str, spec: &'a Spec) -> &'a str {
    spec.model.served_name.as_deref().unwrap_or(base)
}

/// Whether the scheduler (llm-d's endpoint picker) routes to the pods.
pub fn scheduler(spec: &Spec) -> bool {
    spec.llm.as_ref().is_none_or(|l| l.scheduler)
}

/// The main Deployment KServe derives for the service `name`.
pub fn deployment(name: &str) -> String {
    format!("{name}{DEPLOYMENT_SUFFIX}")
}

/// The workload Service KServe derives for the service `name`.
pub fn workload_service(name: &str) -> String {
    format!("{name}{WORKLOAD_SERVICE_SUFFIX}")
}

/// The `InferencePool` KServe derives for the service `name`.
pub fn inference_pool(name: &str) -> String {
    format!("{name}{INFERENCE_POOL_SUFFIX}")
}

/// Names of everything rendered, and the derived names modelgen refers to,
/// with their limits (KServe would hash a longer one, and the reference would miss).
pub fn names(base: &str, spec: &Spec) -> Vec<DerivedName> {
    let keda = spec.scaling.as_ref().and_then(|s| s.metric).is_some_and(ScaleMetric::is_keda);
    let mut names = Vec::new();
    for variant in Variant::ALL {
        if variant.served(spec).is_none() {
            continue;
        }
        let name = variant.object_name(base);
        names.push(DerivedName { name: name.clone(), max: 63, what: "LLMInferenceService name" });
        if keda {
            names.push(DerivedName { name: deployment(&name), max: 63, what: "KServe Deployment name" });
            names.push(DerivedName {
                name: format!("{HPA_PREFIX}{name}{SCALER_SUFFIX}"),
                max: 63,
                what: "KEDA HorizontalPodAutoscaler name",
            });
        }
        if split(spec) {
            names.push(DerivedName { name: workload_service(&name), max: 63, what: "KServe workload Service name" });
            if scheduler(spec) && variant != Variant::Shadow {
                names.push(DerivedName { name: inference_pool(&name), max: 63, what: "KServe InferencePool name" });
            }
        }
    }
    if split(spec) {
        names.push(DerivedName { name: route::name(base), max: 63, what: "HTTPRoute name" });
    }
    names
}

/// `router` of one version's service; none for a shadow, which gets only
/// mirrored copies, straight to its workload Service.
fn router(spec: &Spec, base: &str, variant: Variant, weight: Percent) -> Option<Value> {
    if variant == Variant::Shadow {
        return None;
    }
    let mut router = Map::new();
    let gateway = spec.route.as_ref().and_then(|r| r.gateway.as_ref());
    if let Some(gateway) = gateway {
        let mut reference = json!({ "name": gateway.name });
        if let Some(namespace) = &gateway.namespace {
            reference["namespace"] = json!(namespace);
        }
        if let Some(section) = &gateway.section_name {
            reference["sectionName"] = json!(section);
        }
        router.insert("gateway".into(), json!({ "refs": [reference] }));
    }
    if split(spec) {
        // Both versions name modelgen's route: KServe then manages none,
        // and counts each InferencePool ready for that route's Gateway.
        router.insert("route".into(), json!({ "http": { "refs": [{ "name": route::name(base) }] } }));
    } else if group(spec) {
        router.insert("route".into(), json!({ "group": base, "weight": weight }));
    } else {
        router.insert("route".into(), json!({}));
    }
    if scheduler(spec) {
        router.insert("scheduler".into(), json!({}));
    }
    Some(Value::Object(router))
}

/// One version's `LLMInferenceService`.
fn service(target: &Target<'_>, name: &str, version: &str, storage_uri: &str, router: Option<Value>) -> Value {
    let spec = &target.spec.spec;
    let base = target.spec.metadata.name.as_str();
    let llm = spec.llm.clone().unwrap_or_default();
    let engine = spec.engine.clone().unwrap_or_default();
    let mut service = Map::new();
    service.insert("model".into(), json!({ "uri": storage_uri, "name": served_name(base, spec) }));
    if let Some(replicas) = replicas(spec) {
        service.insert("replicas".into(), json!(replicas));
    }
    let mut parallelism = Map::new();
    if let Some(tensor) = engine.tensor_parallel_size {
        parallelism.insert("tensor".into(), json!(tensor));
    }
    let data_parallel = llm.parallelism.as_ref().filter(|p| p.data.is_some());
    if let Some(data) = data_parallel {
        parallelism.insert("data".into(), json!(data.data));
        parallelism.insert("dataLocal".into(), json!(data.data_local));
        if data.expert {
            parallelism.insert("expert".into(), json!(true));
        }
    }
    if !parallelism.is_empty() {
        service.insert("parallelism".into(), Value::Object(parallelism));
    }
    // Pod labels: the version of this service's pods (top-level labels never reach them).
    service.insert("labels".into(), json!({ VERSION_LABEL: version }));
    if !llm.presets.is_empty() {
        let refs: Vec<Value> = llm.presets.iter().map(|p| json!({ "name": p })).collect();
        service.insert("baseRefs".into(), json!(refs));
    }
    let args = engine_args(spec);
    service.insert("template".into(), pod(spec, spec.resources.as_ref(), &args));
    if data_parallel.is_some() {
        service.insert("worker".into(), pod(spec, spec.resources.as_ref(), &args));
    }
    if let Some(prefill) = &llm.prefill {
        let mut pool = Map::new();
        pool.insert("replicas".into(), json!(prefill.replicas.unwrap_or(1)));
        if let Some(tensor) = prefill.tensor_parallel_size.or(engine.tensor_parallel_size) {
            pool.insert("parallelism".into(), json!({ "tensor": tensor }));
        }
        pool.insert("labels".into(), json!({ VERSION_LABEL: version }));
        let resources = prefill.resources.as_ref().or(spec.resources.as_ref());
        pool.insert("template".into(), pod(spec, resources, &args));
        service.insert("prefill".into(), Value::Object(pool));
    }
    if let Some(router) = router {
        service.insert("router".into(), router);
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata(target, name, version, &[]),
        "spec": service,
    })
}

/// Static replicas, unless KEDA scales the Deployment (then KServe must
/// not set them, or it would reset KEDA's count on every reconcile).
fn replicas(spec: &Spec) -> Option<u32> {
    let scaling = spec.scaling.as_ref()?;
    if scaling.metric.is_some_and(ScaleMetric::is_keda) {
        return None;
    }
    scaling.min_replicas.or(scaling.max_replicas)
}

/// The flags of `vllm serve` the engine settings make; the presets append a
/// container's `args` to the command (tensor parallelism is `parallelism.tensor`).
fn engine_args(spec: &Spec) -> Vec<String> {
    let Some(engine) = &spec.engine else { return Vec::new() };
    let mut args = Vec::new();
    if let Some(length) = engine.max_model_len {
        args.push(format!("--max-model-len={length}"));
    }
    if let Some(dtype) = engine.dtype {
        args.push(format!("--dtype={}", dtype.as_str()));
    }
    if let Some(share) = engine.gpu_memory_utilization {
        args.push(format!("--gpu-memory-utilization={share}"));
    }
    args
}

/// A pod template with the `main` container (resources and engine flags) and the spec's placement.
fn pod(spec: &Spec, resources: Option<&Resources>, args: &[String]) -> Value {
    let mut container = json!({ "name": MAIN_CONTAINER });
    if !args.is_empty() {
        container["args"] = json!(args);
    }
    if let Some(requirements) = resources.and_then(requirements) {
        container["resources"] = requirements;
    }
    let mut pod = Map::new();
    placement(spec, &mut pod);
    pod.insert("containers".into(), json!([container]));
    Value::Object(pod)
}

/// modelgen's route: KServe's version-independent publisher paths, weighted
/// over each version's `InferencePool` (or workload Service without the
/// scheduler), with a mirror to the shadow's workload Service.
fn split_route(target: &Target<'_>, members: &[(String, Percent)], mirror: Option<&(String, Percent)>) -> Value {
    let spec = &target.spec.spec;
    let base = target.spec.metadata.name.as_str();
    let route = spec.route.clone().unwrap_or_default();
    let namespace = target.namespace.unwrap_or_default();
    let prefix = format!("/publishers/{namespace}/models/{}", served_name(base, spec));
    let backend = |name: &str, weight: Percent, through_scheduler: bool| {
        if through_scheduler {
            json!({
                "group": INFERENCE_POOL_GROUP,
                "kind": "InferencePool",
                "name": inference_pool(name),
                "port": WORKLOAD_PORT,
                "weight": weight,
            })
        } else {
            json!({ "name": workload_service(name), "port": WORKLOAD_PORT, "weight": weight })
        }
    };
    // LLM responses stream for minutes: no timeout, as KServe's own route.
    let timeouts = json!({ "request": "0s", "backendRequest": "0s" });
    let mut rules = Vec::new();
    for endpoint in INFERENCE_ENDPOINTS {
        let mut filters = vec![json!({
            "type": "URLRewrite",
            "urlRewrite": { "path": { "type": "ReplacePrefixMatch", "replacePrefixMatch": format!("/v1/{endpoint}") } },
        })];
        if let Some((service, percent)) = mirror {
            let mut request_mirror = json!({ "backendRef": { "name": service, "port": WORKLOAD_PORT } });
            // Without `percent` every request is mirrored, on any Gateway
            // API release; `percent` needs v1.3 CRDs.
            if *percent < Percent::ALL {
                request_mirror["percent"] = json!(percent);
            }
            filters.push(json!({ "type": "RequestMirror", "requestMirror": request_mirror }));
        }
        rules.push(json!({
            "name": format!("v1-{}", endpoint.replace('/', "-")),
            "matches": [{ "path": { "type": "PathPrefix", "value": format!("{prefix}/v1/{endpoint}") } }],
            "filters": filters,
            "backendRefs": members.iter().map(|(name, weight)| backend(name, *weight, scheduler(spec))).collect::<Vec<_>>(),
            "timeouts": timeouts,
        }));
    }
    // Everything else (`/v1/models`, health) goes to the pods' Services, as in KServe's route.
    rules.push(json!({
        "name": "catch-all",
        "matches": [{ "path": { "type": "PathPrefix", "value": prefix } }],
        "filters": [{
            "type": "URLRewrite",
            "urlRewrite": { "path": { "type": "ReplacePrefixMatch", "replacePrefixMatch": "/" } },
        }],
        "backendRefs": members.iter().map(|(name, weight)| backend(name, *weight, false)).collect::<Vec<_>>(),
        "timeouts": timeouts,
    }));
    let mut route_spec = json!({ "rules": rules });
    if let Some(gateway) = &route.gateway {
        let mut parent = json!({ "name": gateway.name });
        if let Some(ns) = &gateway.namespace {
            parent["namespace"] = json!(ns);
        }
        if let Some(section) = &gateway.section_name {
            parent["sectionName"] = json!(section);
        }
        route_spec["parentRefs"] = json!([parent]);
    }
    if !route.hosts.is_empty() {
        route_spec["hostnames"] = json!(route.hosts);
    }
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": metadata(target, &route::name(base), &spec.model.version, &[]),
        "spec": route_spec,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::{RenderContext, SourceFile};

    fn render(spec: &str) -> Vec<Value> {
        let text = format!(
            "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {{name: chat, namespace: llm}}\nspec:\n  backend: kserve-llm\n  model: {{format: huggingface, version: v1, storageUri: pvc://m/1}}\n{spec}"
        );
        let rendered = crate::generate(&[SourceFile::new("chat.yaml", text)], &RenderContext::default())
            .unwrap_or_else(|e| panic!("renders: {e:?}"));
        rendered.manifests.iter().map(|m| serde_saphyr::from_str(&m.yaml).expect("YAML")).collect()
    }

    #[test]
    fn a_native_canary_shares_the_stable_model_name_and_group_and_nothing_else() {
        let objects = render("  canary: {version: v2, storageUri: pvc://m/2, trafficPercent: 30}\n");
        let [stable, canary] = objects.as_slice() else { panic!("two services: {objects:?}") };
        for (service, weight) in [(stable, 70), (canary, 30)] {
            // Without it, the defaulter would name each after its own object and the group would split nothing.
            assert_eq!(service["spec"]["model"]["name"], "chat");
            assert_eq!(service["metadata"]["labels"]["serving.kserve.io/routing-group"], "chat");
            assert_eq!(service["spec"]["router"]["route"], serde_json::json!({ "group": "chat", "weight": weight }));
        }
        assert_eq!(canary["metadata"]["name"], "chat-canary");
        assert_eq!(canary["spec"]["labels"]["app.kubernetes.io/version"], "v2");
        // Promotion: the stable renders alone, without the group label the defaulter would delete.
        let promoted = render("");
        assert!(promoted[0]["metadata"]["labels"].get("serving.kserve.io/routing-group").is_none());
        assert_eq!(promoted[0]["spec"]["router"]["route"], serde_json::json!({}));
    }

    #[test]
    fn keda_scaling_leaves_replicas_to_keda_and_fixed_scaling_sets_them() {
        let fixed = render("  scaling: {minReplicas: 3, maxReplicas: 3}\n");
        assert_eq!(fixed[0]["spec"]["replicas"], 3);
        let keda = render(
            "  scaling: {minReplicas: 2, maxReplicas: 5, metric: waiting-requests, target: 4, prometheus: {serverAddress: http://p:9090}}\n  monitoring: {}\n",
        );
        assert!(keda[0]["spec"].get("replicas").is_none(), "the controller would reset KEDA's count");
        let scaler = keda.iter().find(|o| o["kind"] == "ScaledObject").expect("a ScaledObject");
        assert_eq!(scaler["metadata"]["name"], "chat-scaler");
        assert_eq!(scaler["spec"]["scaleTargetRef"]["name"], "chat-kserve");
        assert_eq!(scaler["spec"]["minReplicaCount"], 2);
        assert_eq!(scaler["spec"]["maxReplicaCount"], 5);
    }
}
