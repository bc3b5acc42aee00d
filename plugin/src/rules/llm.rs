//! The rules of LLM specs: KServe's `LLMInferenceService` (`kserve-llm`), vLLM's engine settings, KEDA autoscaling on Prometheus, and secrets that must never be written inline.
//!
//! Each rule reports the field it is about and, where a backend causes it,
//! cites the rule of the backend rules table.

use super::backend::by_id as rule;
use super::backend::keda::KEDA_CLASS;
use super::backend::kserve_llm::{HF_TOKEN_KEY, STORAGE_SCHEMES, WELL_KNOWN_PRESET_PREFIX};
use super::backend::rule::Rule;
use super::finding::Findings;
use super::k8s::{dns_label, dns_subdomain};
use super::secret::{Credential, credential};
use crate::diagnostic::Severity;
use crate::model::autoscaling::Prometheus;
use crate::model::llm::Engine;
use crate::model::resources::Resources;
use crate::model::spec::{Backend, CanaryStrategy, DeploymentMode, ModelDeployment, ModelFormat, Router, ScaleMetric};
use crate::render::{kserve, llm};
use crate::yaml::path::FieldPath;

/// The longest served name accepted (it becomes part of route paths and header values).
const MAX_SERVED_NAME: usize = 200;

/// The rules every spec is held to, whatever its backend: vLLM engine
/// settings, KEDA metrics, and secrets.
pub fn check_common(spec: &ModelDeployment, namespace: Option<&str>, found: &mut Findings) {
    check_engine(spec, found);
    check_served_name(spec, found);
    check_autoscaling(spec, namespace, found);
    check_secrets(spec, found);
}

/// What KServe's `LLMInferenceService` can express, and what its webhook, controller and presets need.
pub fn check_kserve_llm(spec: &ModelDeployment, namespace: Option<&str>, found: &mut Findings) {
    check_llm_fields(spec, found);
    check_llm_storage(spec, found);
    check_gpus(spec, found);
    check_presets(spec, found);
    check_llm_scaling(spec, found);
    check_llm_route(spec, namespace, found);
}

/// Fields an `LLMInferenceService` has no place for.
fn check_llm_fields(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    let fields = rule("llm-fields");
    let refuse = |found: &mut Findings, path: &str, what: &str, why: &str, hint: &str| {
        found.refuse(path, fields, format!("`{what}` cannot be set with backend `kserve-llm`: {why}"), hint);
    };
    if s.deployment_mode.is_some() {
        refuse(
            found,
            "spec.deploymentMode",
            "deploymentMode",
            "an LLMInferenceService always runs Deployments (or LeaderWorkerSets), never Knative services",
            "remove `deploymentMode`",
        );
    }
    if let Some(format) = s.model.format.filter(|f| *f != ModelFormat::Huggingface) {
        refuse(
            found,
            "spec.model.format",
            "format",
            &format!(
                "vLLM serves the Hugging Face checkpoint at the storage URI; format `{}` has no runtime here",
                format.as_str()
            ),
            "use `format: huggingface`, or `backend: kserve` for other formats",
        );
    }
    for (path, present, what) in [
        ("spec.model.runtime", s.model.runtime.is_some(), "runtime"),
        ("spec.model.protocol", s.model.protocol.is_some(), "protocol"),
        ("spec.model.formatVersion", s.model.format_version.is_some(), "formatVersion"),
        ("spec.server", s.server.is_some(), "server"),
    ] {
        if present {
            refuse(
                found,
                path,
                what,
                "the presets run vLLM's OpenAI-compatible server; there is no serving runtime to pick",
                &format!("remove `{what}`; change the vLLM image or flags with a preset of yours (`llm.presets`)"),
            );
        }
    }
    if s.storage_secret.is_some() {
        refuse(
            found,
            "spec.storageSecret",
            "storageSecret",
            "the storage initializer reads credentials from the Secrets of the pods' service account",
            "attach the Secret (with key `HF_TOKEN` for Hugging Face) to a service account and set `spec.serviceAccountName`",
        );
    }
}

/// The storage URIs: the schemes the controller downloads, an `hf://` URI
/// the storage initializer parses, and a pinned revision.
fn check_llm_storage(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    let storage = rule("llm-storage-schemes");
    let uris = [("spec.model.storageUri", s.model.storage_uri.as_ref())].into_iter().chain([
        ("spec.canary.storageUri", s.canary.as_ref().and_then(|c| c.storage_uri.as_ref())),
        ("spec.shadow.storageUri", s.shadow.as_ref().and_then(|c| c.storage_uri.as_ref())),
    ]);
    for (path, uri) in uris {
        let Some((scheme, _)) = uri.and_then(|u| u.split_once("://")) else { continue };
        if !STORAGE_SCHEMES.contains(&scheme) {
            found.refuse(
                path,
                storage,
                format!("storage scheme `{scheme}://` is not one an LLMInferenceService downloads from (\"unsupported schema in model URI\")"),
                &format!("use one of {}", STORAGE_SCHEMES.map(|s| format!("`{s}://`")).join(", ")),
            );
        }
        // An `hf://` URI without a pinned commit is the pinning policy's (rules/pinning.rs).
    }
}

/// The served name: one the shell and a route path read as written.
fn check_served_name(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    let Some(name) = &s.model.served_name else { return };
    let path = "spec.model.servedName";
    match s.backend {
        Backend::KserveLlm => {}
        Backend::Kserve if s.model.format == Some(ModelFormat::Huggingface) => {}
        Backend::Kserve => {
            found.error(
                path,
                format!(
                    "`servedName` is the name vLLM answers to; {} is not served by vLLM",
                    s.model
                        .format
                        .map_or_else(|| "an image-served model".to_owned(), |f| format!("format `{}`", f.as_str()))
                ),
                Some("remove `servedName`, or serve an LLM with `format: huggingface` or `backend: kserve-llm`"),
            );
            return;
        }
        Backend::Seldon | Backend::SeldonV2 => {
            found.push(
                Severity::Warning,
                FieldPath::parse(path),
                format!("`servedName` is a KServe setting; `{}` ignores it", s.backend),
                None,
            );
            return;
        }
    }
    let segments_ok = name.split('/').all(|segment| {
        !segment.is_empty()
            && segment.starts_with(|c: char| c.is_ascii_alphanumeric())
            && segment.ends_with(|c: char| c.is_ascii_alphanumeric())
            && segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    });
    if !segments_ok || name.len() > MAX_SERVED_NAME {
        found.refuse(
            path,
            rule("llm-served-name"),
            format!("`{name}` cannot be a served model name: KServe's preset passes it through the shell and into route paths, which would read it differently"),
            &format!("use letters, digits, `.`, `_` and `-`, with single `/` between parts, as in `openai/gpt-oss-20b` (at most {MAX_SERVED_NAME} characters)"),
        );
    }
}

/// vLLM's engine settings: values vLLM accepts, on a backend that runs vLLM.
fn check_engine(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    if s.llm.is_some() && s.backend != Backend::KserveLlm {
        found.error(
            "spec.llm",
            format!("`llm` configures KServe's LLMInferenceService; backend `{}` has none", s.backend),
            Some("set `backend: kserve-llm`, or remove `llm`"),
        );
    }
    let Some(engine) = &s.engine else { return };
    match s.backend {
        Backend::Seldon | Backend::SeldonV2 => {
            found.push(
                Severity::Warning,
                FieldPath::parse("spec.engine"),
                format!("`engine` configures vLLM on KServe; `{}` ignores it", s.backend),
                None,
            );
            return;
        }
        Backend::Kserve if s.model.format != Some(ModelFormat::Huggingface) => {
            found.error(
                "spec.engine",
                format!(
                    "`engine` configures vLLM, which KServe runs for format `huggingface`, not {}",
                    s.model.format.map_or_else(|| "an image-served model".to_owned(), |f| format!("`{}`", f.as_str()))
                ),
                Some("remove `engine`, or use `format: huggingface`"),
            );
            return;
        }
        Backend::Kserve => {
            if let Some(runtime) = s.model.runtime.as_deref().filter(|r| *r != "kserve-huggingfaceserver") {
                found.push(
                    Severity::Warning,
                    FieldPath::parse("spec.model.runtime"),
                    format!("`engine` renders the flags of KServe's Hugging Face server; runtime `{runtime}` may read them differently"),
                    Some("remove `runtime` (KServe picks `kserve-huggingfaceserver`), or pass your runtime's flags yourself"),
                );
            }
            let gpus = s.resources.as_ref().map_or(0, |r| r.gpu);
            if let Some(tensor) = engine.tensor_parallel_size
                && tensor != gpus.max(1)
            {
                found.refuse(
                    "spec.engine.tensorParallelSize",
                    rule("hf-server-tensor-parallel"),
                    format!("tensorParallelSize `{tensor}` does not match the `{gpus}` GPUs of the pod: KServe's Hugging Face server splits the model across every GPU it sees, whatever this says"),
                    &format!("set `resources.gpu: {tensor}`, or remove `tensorParallelSize`"),
                );
            }
        }
        Backend::KserveLlm => {}
    }
    if engine.max_model_len == Some(0) {
        found.error("spec.engine.maxModelLen", "maxModelLen `0` leaves no room for a single token".to_owned(), None);
    }
    if let Some(share) = engine.gpu_memory_utilization
        && !(share.is_finite() && share > 0.0 && share <= 1.0)
    {
        found.error(
            "spec.engine.gpuMemoryUtilization",
            format!("`{share}` is not a share of GPU memory: vLLM takes a number above 0 and at most 1"),
            Some("`0.9` lets vLLM use 90 % of each GPU's memory"),
        );
    }
    if engine.tensor_parallel_size == Some(0) {
        found.error(
            "spec.engine.tensorParallelSize",
            "tensorParallelSize `0` splits the model across no GPU".to_owned(),
            Some("use at least 1"),
        );
    }
}

/// GPUs per pod against the parallelism the presets render: vLLM stops when
/// it sees fewer GPUs than its world size, and more stay idle.
fn check_gpus(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    let parallelism = rule("llm-parallelism");
    let tensor = s.engine.as_ref().map_or(1, Engine::tensor);
    let llm = s.llm.clone().unwrap_or_default();
    let gpus = s.resources.as_ref().map_or(0, |r| r.gpu);
    // `None` when the data parallelism is refused anyway: no GPU count can match it.
    let mut per_pod = Some(tensor);
    if let Some(p) = &llm.parallelism {
        let at = |field: &str| format!("spec.llm.parallelism.{field}");
        if p.pipeline.is_some() {
            found.refuse(
                &at("pipeline"),
                parallelism,
                "pipeline parallelism cannot work with KServe v0.20.0: it ships no pipeline-parallel preset, so the service fails with `ConfigNotFound`".to_owned(),
                "use tensor parallelism (`engine.tensorParallelSize`) or data parallelism (`data`, `dataLocal`)",
            );
        }
        let (field, message, hint) = match (p.data, p.data_local) {
            (Some(0), _) => (Some("data"), "data parallelism needs at least one rank".to_owned(), "use at least 1"),
            (_, Some(0)) => {
                (Some("dataLocal"), "data parallelism needs at least one rank per pod".to_owned(), "use at least 1")
            }
            (Some(data), Some(local)) => {
                if data % local != 0 {
                    found.refuse(
                        &at("data"),
                        parallelism,
                        format!("`data` `{data}` is not a multiple of `dataLocal` `{local}`: KServe sizes each group as `data / dataLocal` pods, rounding down, so ranks would be missing"),
                        "make `data` a multiple of `dataLocal`",
                    );
                }
                per_pod = Some(local.saturating_mul(tensor));
                (None, String::new(), "")
            }
            (None, None) => (None, String::new(), ""),
            (Some(_), None) => (
                Some("data"),
                "`data` needs `dataLocal`, the ranks each pod runs (KServe's webhook refuses one without the other)"
                    .to_owned(),
                "set `dataLocal`",
            ),
            (None, Some(_)) => (
                Some("dataLocal"),
                "`dataLocal` needs `data`, the ranks in all (KServe's webhook refuses one without the other)"
                    .to_owned(),
                "set `data`",
            ),
        };
        if let Some(field) = field {
            per_pod = None;
            found.refuse(&at(field), parallelism, message, hint);
        }
        if p.expert && p.data.is_none() {
            found.refuse(
                &at("expert"),
                parallelism,
                "expert parallelism takes effect only with data parallelism: only KServe's data-parallel presets pass `--enable-expert-parallel`".to_owned(),
                "set `data` and `dataLocal`, or remove `expert`",
            );
        }
    }
    if let Some(per_pod) = per_pod {
        check_pool_gpus("spec.resources.gpu", gpus, per_pod, tensor, parallelism, found);
    }
    if let Some(prefill) = &llm.prefill {
        if !llm.scheduler {
            found.refuse(
                "spec.llm.prefill",
                rule("llm-prefill"),
                "prefill/decode disaggregation needs the scheduler: llm-d's endpoint picker chooses the prefill pod for each request".to_owned(),
                "remove `llm.scheduler: false`, or remove `prefill`",
            );
        }
        let tensor = prefill.tensor_parallel_size.unwrap_or(tensor);
        if prefill.tensor_parallel_size == Some(0) {
            found.error(
                "spec.llm.prefill.tensorParallelSize",
                "tensorParallelSize `0` splits the model across no GPU".to_owned(),
                None,
            );
        }
        let resources: Option<&Resources> = prefill.resources.as_ref().or(s.resources.as_ref());
        let path = if prefill.resources.is_some() { "spec.llm.prefill.resources.gpu" } else { "spec.resources.gpu" };
        check_pool_gpus(path, resources.map_or(0, |r| r.gpu), tensor, tensor, rule("llm-prefill"), found);
    }
}

/// One pool's GPUs per pod against what its parallelism needs.
fn check_pool_gpus(path: &str, gpus: u32, needed: u32, tensor: u32, cause: &Rule, found: &mut Findings) {
    if gpus == 0 && needed <= 1 {
        return; // vLLM on CPUs (a preset of the user's runs a CPU image), or a GPU left to a preset.
    }
    if gpus != needed {
        let why = if needed == tensor {
            format!("a tensor parallelism of `{tensor}` needs exactly `{tensor}` GPUs per pod")
        } else {
            format!(
                "`{}` data-parallel ranks per pod of `{tensor}` GPUs each need `{needed}` GPUs per pod",
                needed / tensor.max(1)
            )
        };
        found.refuse(
            path,
            cause,
            format!("`gpu: {gpus}` does not match the parallelism: {why} (vLLM stops with fewer, and more stay idle)"),
            &format!("set `gpu: {needed}`, or change `engine.tensorParallelSize`"),
        );
    }
}

/// `llm.presets`: configs of the user's, by a name the API server takes.
fn check_presets(spec: &ModelDeployment, found: &mut Findings) {
    let Some(llm) = &spec.spec.llm else { return };
    let presets = rule("llm-presets");
    for (i, name) in llm.presets.iter().enumerate() {
        let path = FieldPath::parse("spec.llm.presets").index(i);
        if let Err(why) = dns_subdomain(name) {
            found.push(
                Severity::Error,
                path,
                format!("`{name}` is not a valid LLMInferenceServiceConfig name: {why}"),
                None,
            );
        } else if name.starts_with(WELL_KNOWN_PRESET_PREFIX) {
            found.push(
                Severity::Error,
                path,
                format!("`{name}` is one of KServe's built-in presets, which apply to every service by themselves: listing it pins nothing (a KServe upgrade rewrites it in place) and moves it above your own presets"),
                Some(&format!("remove it; to pin its content, keep a copy under the same name in the model's namespace, which KServe finds first ({})", presets.cite())),
            );
        } else if llm.presets[..i].contains(name) {
            found.push(Severity::Error, path, format!("preset `{name}` is listed twice"), None);
        }
    }
}

/// What an `LLMInferenceService` scales with at v0.20.0: static replicas, or
/// modelgen's KEDA `ScaledObject` on its Deployment.
fn check_llm_scaling(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    let Some(scaling) = &s.scaling else { return };
    let scaling_rule = rule("llm-scaling");
    match scaling.metric {
        Some(metric @ (ScaleMetric::Concurrency | ScaleMetric::Rps | ScaleMetric::Cpu | ScaleMetric::Memory)) => {
            found.refuse(
                "spec.scaling.metric",
                scaling_rule,
                format!("metric `{}` cannot scale an LLMInferenceService: KServe v0.20.0 scales it only through llm-d's Workload Variant Autoscaler, never on this metric", metric.as_str()),
                "use `waiting-requests`, `kv-cache-usage`, `tokens-per-second` or `custom` (KEDA on Prometheus), or fixed replicas",
            );
        }
        Some(_) => {
            if s.llm.as_ref().and_then(|l| l.parallelism.as_ref()).is_some_and(|p| p.data.is_some()) {
                found.refuse(
                    "spec.scaling.metric",
                    scaling_rule,
                    "a data-parallel LLMInferenceService runs a LeaderWorkerSet, not the Deployment modelgen's ScaledObject scales".to_owned(),
                    "use fixed replicas with data parallelism",
                );
            }
        }
        None => {
            if scaling.target.is_some() {
                found.push(
                    Severity::Warning,
                    FieldPath::parse("spec.scaling.target"),
                    "`target` is unused: without a `metric` an LLMInferenceService runs fixed replicas".to_owned(),
                    Some("set `metric`, or remove `target`"),
                );
            }
            if let (Some(min), Some(max)) = (scaling.min_replicas, scaling.max_replicas)
                && min < max
            {
                found.refuse(
                    "spec.scaling.maxReplicas",
                    scaling_rule,
                    format!("replicas `{min}` to `{max}` need an autoscaler: without a metric an LLMInferenceService runs a fixed number of replicas"),
                    "set `metric` (`waiting-requests`, `kv-cache-usage`, `tokens-per-second` or `custom`), or the same `minReplicas` and `maxReplicas`",
                );
            }
            if scaling.min_replicas.or(scaling.max_replicas) == Some(0) {
                found.error(
                    "spec.scaling.minReplicas",
                    "zero replicas would serve nothing: an LLMInferenceService has no scale to zero of its own"
                        .to_owned(),
                    Some("use at least one replica"),
                );
            }
        }
    }
}

/// Canary, shadow and the route: a routing group, or modelgen's route (Gateway API only).
fn check_llm_route(spec: &ModelDeployment, namespace: Option<&str>, found: &mut Findings) {
    let s = &spec.spec;
    let split_route = rule("llm-split-route");
    if s.router() == Router::Istio {
        let path = if s.canary.as_ref().is_some_and(|c| c.router.is_some()) {
            "spec.canary.router"
        } else {
            "spec.route.router"
        };
        found.refuse(
            path,
            rule("llm-fields"),
            "an LLMInferenceService is reached through Gateway API routes to its InferencePool, which an Istio VirtualService cannot address".to_owned(),
            "remove `router: istio` (Gateway API is the default)",
        );
    }
    if s.shadow.is_some() && s.canary.is_some() && s.canary_strategy() != CanaryStrategy::Split {
        found.refuse(
            "spec.shadow",
            split_route,
            "KServe's routing groups only weigh traffic; a shadow needs modelgen's route, which a `native` canary does not use".to_owned(),
            "set `spec.canary.strategy: split` (modelgen's route carries the canary's weight and the mirror), or remove `shadow`",
        );
        return;
    }
    let route = s.route.clone().unwrap_or_default();
    if let Some(gateway) = &route.gateway {
        if let Err(why) = dns_subdomain(&gateway.name) {
            found.error(
                "spec.route.gateway.name",
                format!("`{}` is not a valid Gateway name: {why}", gateway.name),
                None,
            );
        }
        if let Some(ns) = &gateway.namespace
            && let Err(why) = dns_label(ns, false)
        {
            found.error("spec.route.gateway.namespace", format!("`{ns}` is not a valid namespace: {why}"), None);
        }
    }
    if !llm::split(s) {
        if !route.hosts.is_empty() {
            found.push(
                Severity::Warning,
                FieldPath::parse("spec.route.hosts"),
                "`hosts` is unused: the route KServe manages answers on its Gateway's listeners".to_owned(),
                Some("it applies to `canary.strategy: split` and to shadows, whose route modelgen renders"),
            );
        }
        return;
    }
    let anchor = if s.route.is_some() {
        "spec.route.gateway"
    } else if s.shadow.is_some() {
        "spec.shadow"
    } else {
        "spec.canary.strategy"
    };
    if route.gateway.is_none() {
        found.refuse(
            anchor,
            split_route,
            "modelgen's route between the versions needs the Gateway it attaches to".to_owned(),
            "set `spec.route.gateway: {name: ..., namespace: ...}`",
        );
    }
    if namespace.is_none() {
        found.error(
            "metadata.namespace",
            "modelgen's route serves KServe's publisher paths, `/publishers/<namespace>/models/<name>/...`, which need the namespace".to_owned(),
            Some("set `metadata.namespace`, or render with `--namespace`"),
        );
    }
    for (i, host) in route.hosts.iter().enumerate() {
        let bare = host.strip_prefix("*.").unwrap_or(host);
        if let Err(why) = dns_subdomain(bare) {
            found.push(
                Severity::Error,
                FieldPath::parse("spec.route.hosts").index(i),
                format!("`{host}` is not a valid host name: {why}"),
                None,
            );
        }
    }
}

/// KEDA metrics, on whichever backend asks for them.
fn check_autoscaling(spec: &ModelDeployment, namespace: Option<&str>, found: &mut Findings) {
    let s = &spec.spec;
    let Some(scaling) = &s.scaling else { return };
    let Some(metric) = scaling.metric.filter(|m| m.is_keda()) else {
        if scaling.prometheus.is_some() {
            found.push(
                Severity::Warning,
                FieldPath::parse("spec.scaling.prometheus"),
                "`prometheus` is unused: only the KEDA metrics (`waiting-requests`, `kv-cache-usage`, `tokens-per-second`, `custom`) query Prometheus".to_owned(),
                None,
            );
        }
        return;
    };
    let keda = rule("kserve-keda");
    let average = rule("keda-prometheus-average");
    match s.backend {
        Backend::Seldon | Backend::SeldonV2 => return, // Their own rules refuse any such metric.
        Backend::Kserve if s.mode() == DeploymentMode::Knative => {
            found.refuse(
                "spec.scaling.metric",
                keda,
                format!("metric `{}` needs KEDA, which KServe drives only in Standard mode: in Knative mode the `autoscalerClass: {KEDA_CLASS}` annotation is accepted and nothing scales", metric.as_str()),
                "set `deploymentMode: Standard`, or use `concurrency` or `rps`",
            );
            return;
        }
        Backend::Kserve if kserve::standard_native_canary(s) => found.refuse(
            "spec.scaling.metric",
            keda,
            "a Standard-mode `native` canary is a copy of the stable predictor, so its Deployment would scale on the stable version's query".to_owned(),
            "use `canary.strategy: split` (the default in Standard mode), which scales each version on its own query",
        ),
        Backend::Kserve | Backend::KserveLlm => {}
    }
    let preset = metric != ScaleMetric::Custom;
    if preset {
        check_preset_sources(spec, metric, namespace, found);
    }
    match &scaling.prometheus {
        None => found.refuse(
            "spec.scaling.metric",
            average,
            format!(
                "metric `{}` is a Prometheus query that KEDA runs, and needs the Prometheus to ask",
                metric.as_str()
            ),
            "set `scaling.prometheus.serverAddress`, as in `http://prometheus-operated.monitoring:9090`",
        ),
        Some(prometheus) => check_prometheus(prometheus, preset, found),
    }
    match scaling.target {
        None => found.error(
            "spec.scaling.metric",
            format!("metric `{}` needs a `target`: the value per replica that KEDA scales to", metric.as_str()),
            Some(match metric {
                ScaleMetric::WaitingRequests => "set `scaling.target`, as in `5` requests waiting per replica",
                ScaleMetric::KvCacheUsage => "set `scaling.target`, as in `80` percent of each replica's KV cache",
                ScaleMetric::TokensPerSecond => {
                    "set `scaling.target`, as in `1000` generated tokens per second per replica"
                }
                _ => "set `scaling.target`, the query's value per replica",
            }),
        ),
        Some(0) => found.error(
            "spec.scaling.target",
            "target `0` cannot be reached: KEDA divides the query's value by the target".to_owned(),
            None,
        ),
        Some(target) if metric == ScaleMetric::KvCacheUsage && target > 100 => found.error(
            "spec.scaling.target",
            format!("target `{target}` is not a percentage of the KV cache from 1 to 100"),
            None,
        ),
        Some(_) => {}
    }
    if scaling.max_replicas.is_none() {
        found.refuse(
            "spec.scaling",
            keda,
            "KEDA scaling needs `maxReplicas`: KServe would set the maximum to the minimum, and KEDA's own default is 100 replicas".to_owned(),
            "set `scaling.maxReplicas`",
        );
    }
    if scaling.min_replicas == Some(0) {
        if preset {
            found.refuse(
                "spec.scaling.minReplicas",
                average,
                format!("minReplicas `0` cannot work with metric `{}`: its series come from the model's own pods, so at zero replicas the query is empty and nothing ever scales the model up", metric.as_str()),
                "use at least one replica, or a `custom` query on metrics that exist without the pods (the gateway's)",
            );
        } else {
            found.push(
                Severity::Warning,
                FieldPath::parse("spec.scaling.minReplicas"),
                "with minReplicas `0` the custom query must count requests somewhere other than the model's pods (the gateway), or nothing scales the model up from zero".to_owned(),
                Some(&format!("check the query; {}", average.cite())),
            );
        }
    }
}

/// The vLLM presets read series modelgen's own scrape labels.
fn check_preset_sources(spec: &ModelDeployment, metric: ScaleMetric, namespace: Option<&str>, found: &mut Findings) {
    let s = &spec.spec;
    if s.backend == Backend::Kserve && !(s.model.format == Some(ModelFormat::Huggingface) && s.engine.is_some()) {
        found.error(
            "spec.scaling.metric",
            format!("metric `{}` reads vLLM's metrics, which this InferenceService does not run", metric.as_str()),
            Some("serve the model with vLLM (`format: huggingface` and `engine`), or use `custom`"),
        );
    }
    if !s.monitoring.as_ref().is_some_and(|m| m.enabled) {
        found.error(
            "spec.scaling.metric",
            format!("metric `{}` queries the series modelgen's PodMonitor scrapes and labels with `model` and `version`, and the spec has no monitoring", metric.as_str()),
            Some("add `spec.monitoring` (even `monitoring: {}`), or use `custom` with a query on series you scrape yourself"),
        );
    }
    if namespace.is_none() {
        found.error(
            "spec.scaling.metric",
            format!("metric `{}` selects the model's series by namespace, which is not known", metric.as_str()),
            Some("set `metadata.namespace`, or render with `--namespace`"),
        );
    }
}

/// The Prometheus block: an address without credentials, a query only for `custom`, and KEDA's authentication.
fn check_prometheus(prometheus: &Prometheus, preset: bool, found: &mut Findings) {
    let at = |field: &str| format!("spec.scaling.prometheus.{field}");
    let address = &prometheus.server_address;
    match address.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => {
            // Credentials are reported by the secrets check, without the value.
        }
        _ => found.error(
            &at("serverAddress"),
            format!("`{address}` is not an `http://` or `https://` URL"),
            Some("write the Prometheus URL, as in `http://prometheus-operated.monitoring:9090`"),
        ),
    }
    match (&prometheus.query, preset) {
        (Some(_), true) => found.error(
            &at("query"),
            "`query` applies to `metric: custom`; the other metrics are modelgen's queries".to_owned(),
            Some("set `metric: custom`, or remove `query`"),
        ),
        (None, false) => found.error(
            &at("serverAddress"),
            "`metric: custom` needs the query KEDA runs".to_owned(),
            Some("set `scaling.prometheus.query`"),
        ),
        (Some(query), false) if query.trim().is_empty() => {
            found.error(&at("query"), "the query is empty".to_owned(), None);
        }
        _ => {}
    }
    if let Some(name) = &prometheus.trigger_authentication
        && let Err(why) = dns_subdomain(name)
    {
        found.error(
            &at("triggerAuthentication"),
            format!("`{name}` is not a valid TriggerAuthentication name: {why}"),
            None,
        );
    }
    if !prometheus.auth_modes.is_empty() && prometheus.trigger_authentication.is_none() {
        found.error(
            &at("authModes"),
            "`authModes` say which credentials to use, and there are none: KEDA reads them from a TriggerAuthentication".to_owned(),
            Some("name it in `triggerAuthentication`"),
        );
    }
    let exclusive: Vec<&str> = prometheus.auth_modes.iter().filter(|m| m.exclusive()).map(|m| m.as_str()).collect();
    if exclusive.len() > 1 {
        found.error(
            &at("authModes"),
            format!(
                "KEDA accepts only one of `bearer`, `basic` and `oauth`, and `{}` are listed",
                exclusive.join("`, `")
            ),
            None,
        );
    }
}

/// Where a string checked for secrets comes from, which decides the advice.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// A label, annotation or query.
    Text,
    /// Prometheus' address, whose credentials KEDA takes from a `TriggerAuthentication`.
    Address,
    /// A storage URI.
    StorageUri,
}

/// Secrets in any string a spec passes on: reported without the value.
fn check_secrets(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    let secrets = rule("llm-secrets");
    let mut strings: Vec<(FieldPath, &str, Holder)> = Vec::new();
    for (key, value) in &spec.metadata.labels {
        strings.push((FieldPath::parse("metadata.labels").key(key.clone()), value, Holder::Text));
    }
    for (key, value) in &spec.metadata.annotations {
        strings.push((FieldPath::parse("metadata.annotations").key(key.clone()), value, Holder::Text));
    }
    for (path, uri) in [("spec.model.storageUri", s.model.storage_uri.as_ref())]
        .into_iter()
        .chain([
            ("spec.canary.storageUri", s.canary.as_ref().and_then(|c| c.storage_uri.as_ref())),
            ("spec.shadow.storageUri", s.shadow.as_ref().and_then(|c| c.storage_uri.as_ref())),
        ])
        .filter_map(|(p, u)| u.map(|u| (p, u)))
    {
        strings.push((FieldPath::parse(path), uri, Holder::StorageUri));
    }
    if let Some(prometheus) = s.scaling.as_ref().and_then(|sc| sc.prometheus.as_ref()) {
        strings.push((
            FieldPath::parse("spec.scaling.prometheus.serverAddress"),
            &prometheus.server_address,
            Holder::Address,
        ));
        if let Some(query) = &prometheus.query {
            strings.push((FieldPath::parse("spec.scaling.prometheus.query"), query, Holder::Text));
        }
    }
    if let Some(monitoring) = &s.monitoring {
        for (key, value) in &monitoring.labels {
            strings.push((FieldPath::parse("spec.monitoring.labels").key(key.clone()), value, Holder::Text));
        }
    }
    for (path, text, holder) in strings {
        let Some(why) = credential(None, text) else { continue };
        // The storage rules report a storage URI's `user:password@` already.
        if holder == Holder::StorageUri && why == Credential::UrlUserInfo {
            continue;
        }
        let hint = match why {
            _ if holder == Holder::Address => "remove the `user:password@` part; give KEDA the credentials through `triggerAuthentication` and `authModes`".to_owned(),
            Credential::Token(what) if what.contains("Hugging Face") => format!(
                "revoke it, and put it in a Secret under the key `{HF_TOKEN_KEY}` attached to the pods' service account (`spec.serviceAccountName`) ({})",
                secrets.cite()
            ),
            _ => "revoke it, and keep it in a Secret: everything in a spec is public to whoever reads the repository or the cluster".to_owned(),
        };
        found.push(
            Severity::Error,
            path,
            format!("this value holds a credential ({why}); it would be stored in Git, in the cluster and in Argo CD in clear text"),
            Some(&hint),
        );
    }
}
