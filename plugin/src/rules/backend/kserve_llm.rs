//! KServe v0.20.0's `LLMInferenceService` (llm-d): the names and labels its controller derives, what its webhooks refuse or rewrite, and how its presets, routing groups and scaling behave.

use super::rule::{Component, Rule};

/// The API version modelgen renders: the storage version, which the webhook validates in full.
pub const API_VERSION: &str = "serving.kserve.io/v1alpha2";
/// The kind.
pub const KIND: &str = "LLMInferenceService";

/// The label the defaulter sets to `router.route.group` (and deletes without one).
pub const ROUTING_GROUP_LABEL: &str = "serving.kserve.io/routing-group";

/// The vLLM container of every preset; strategic merge matches containers by name.
pub const MAIN_CONTAINER: &str = "main";
/// The port the workload Service, the `InferencePool` and the presets' vLLM (or P/D sidecar) listen on.
pub const WORKLOAD_PORT: u16 = 8000;

/// `kmeta.ChildName` suffixes of the objects the controller derives from a service's name.
pub const DEPLOYMENT_SUFFIX: &str = "-kserve";
/// The Service in front of the workload pods.
pub const WORKLOAD_SERVICE_SUFFIX: &str = "-kserve-workload-svc";
/// The `InferencePool` the scheduler serves.
pub const INFERENCE_POOL_SUFFIX: &str = "-inference-pool";

/// The group of the `InferencePool` the scheduler serves (Gateway API Inference Extension v1).
pub const INFERENCE_POOL_GROUP: &str = "inference.networking.k8s.io";

/// Labels the controller puts on every workload pod, which its Deployments and the `InferencePool` select on.
pub const PART_OF_LABEL: (&str, &str) = ("app.kubernetes.io/part-of", "llminferenceservice");
/// The label that marks pods serving requests (main, prefill, and a multi-node leader).
pub const WORKLOAD_LABEL: (&str, &str) = ("kserve.io/component", "workload");
/// The pod label naming the `LLMInferenceService`.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// The pod label that tells prefill from decode pods: `both`, `decode` or `prefill`.
pub const ROLE_LABEL: &str = "llm-d.ai/role";
/// The role of prefill pods.
pub const PREFILL_ROLE: &str = "prefill";
/// The scheduler's pods: `app.kubernetes.io/component`.
pub const SCHEDULER_COMPONENT: (&str, &str) = ("app.kubernetes.io/component", "llminferenceservice-router-scheduler");
/// The scheduler container's metrics port, by name.
pub const SCHEDULER_METRICS_PORT: &str = "metrics";

/// The scheduler's gauge of ready pods in its pool (label `name`: the pool).
pub const SCHEDULER_READY_ENDPOINTS: &str = "llm_d_epp_ready_endpoints";
/// The scheduler's gauge of the pool's average queue (label `name`: the pool).
pub const SCHEDULER_QUEUE: &str = "llm_d_epp_average_queue_size";

/// Schemes `attachModelArtifacts` accepts in `model.uri`.
pub const STORAGE_SCHEMES: [&str; 5] = ["hf", "s3", "pvc", "oci", "oci+native"];

/// The prefix of KServe's built-in presets (`WellKnownDefaultConfigs`).
pub const WELL_KNOWN_PRESET_PREFIX: &str = "kserve-config-llm-";

/// The `OpenAI` endpoints the preset route sends through the `InferencePool`, under `/publishers/<ns>/models/<model.name>/v1/`.
pub const INFERENCE_ENDPOINTS: [&str; 4] = ["completions", "chat/completions", "responses", "messages"];

/// The key of a Secret attached to the service account from which KServe passes the Hugging Face token.
pub const HF_TOKEN_KEY: &str = "HF_TOKEN";

/// An `hf://` URI as KServe's storage initializer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HfUri<'a> {
    /// The repository's owner.
    pub owner: &'a str,
    /// The model repository.
    pub model: &'a str,
    /// The revision after `:`, if any.
    pub revision: Option<&'a str>,
}

/// What follows `hf://`, read the way `_download_hf` does: exactly two
/// `/`-separated parts, a non-empty owner and model, an optional `:revision`;
/// `None` where the storage initializer fails.
pub fn hf_uri(rest: &str) -> Option<HfUri<'_>> {
    let (owner, repository) = rest.split_once('/')?;
    if owner.is_empty() || repository.contains('/') {
        return None;
    }
    let (model, revision) = match repository.split_once(':') {
        Some((model, revision)) => (model, Some(revision).filter(|r| !r.is_empty())),
        None => (repository, None),
    };
    (!model.is_empty()).then_some(HfUri { owner, model, revision })
}

/// The rules.
pub const RULES: &[Rule] = &[
    Rule {
        id: "llm-webhook-defaults",
        component: Component::KserveLlm,
        cluster: "The mutating webhook sets `spec.model.name` to `metadata.name` when it is empty, sets the label `serving.kserve.io/routing-group` to `router.route.group` (and deletes it when there is no group), and gives a pod template without containers an empty list; the controller then merges the service over the presets, matching containers by name (`main`).",
        modelgen: "Renders `v1alpha2` (the storage version) in the defaulted form: `model.name` always (`model.servedName`, else the spec's name, so a canary keeps the stable's name), the routing-group label exactly when there is a group, and a `main` container in every pod template. Never writes a value Go would drop (`expert: false`).",
        source: "kserve/kserve@v0.20.0:pkg/apis/serving/v1alpha2/llm_inference_service_defaults.go (`SetDefaults`), pkg/controller/v1alpha2/llmisvc/config_merge.go (`mergeSpecs`)",
        case: "tests/cases/llm-single-pool",
    },
    Rule {
        id: "llm-pod-labels",
        component: Component::KserveLlm,
        cluster: "Workload pods get `app.kubernetes.io/name` (the service), `app.kubernetes.io/part-of: llminferenceservice`, `kserve.io/component: workload` and `llm-d.ai/role` (`both`, `decode`, `prefill`), which the Deployments and the InferencePool select on; `spec.labels` are copied over them; the service's own labels and annotations reach the pods only for the prefixes `k8s.v1.cni.cncf.io`, `prometheus.io` and Kueue's.",
        modelgen: "Puts the version in `spec.labels` (`app.kubernetes.io/version`, never a selector key), so each version's pods carry it; the PodMonitor selects the controller's labels and keeps only the `main` container, on the port the preset declares (8000, or 8001 behind the P/D sidecar).",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/workload_single_node.go (`expectedSingleNodeMainDeployment`, `propagateDeploymentMetadata`), pkg/utils/utils.go (`PropagateMap`), config/llmisvcconfig/config-llm-decode-template.yaml",
        case: "tests/cases/llm-monitoring",
    },
    Rule {
        id: "llm-storage-schemes",
        component: Component::KserveLlm,
        cluster: "`model.uri` may be `hf://`, `s3://`, `pvc://`, `oci://` (with OCI model cars enabled) or `oci+native://`; any other scheme fails every reconcile (\"unsupported schema in model URI\"). The storage initializer splits `hf://` on `/` into exactly an owner and a model, with an optional `:revision`.",
        modelgen: "Refuses other schemes and an `hf://` URI that is not exactly `owner/model[:revision]`; an `hf://` URI that pins no commit (the model would change under a running service on the next pod start) is reported by `policy.mutableReferences`, as on every backend.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/workload_storage.go (`attachModelArtifacts`), python/storage/kserve_storage/kserve_storage.py (`_download_hf`)",
        case: "tests/cases/error-llm-storage-uri",
    },
    Rule {
        id: "llm-served-name",
        component: Component::KserveLlm,
        cluster: "The preset starts vLLM through bash's `eval \"exec vllm serve ... --served-model-name \\\"{{ .Spec.Model.Name }}\\\" ...\"`, so the name is parsed by the shell a second time, and it becomes part of the route's paths (`/publishers/<namespace>/models/<name>/v1/...`) and of the model-routing header.",
        modelgen: "Accepts a served name of letters, digits, `.`, `_`, `-` and single `/` between them (as in `openai/gpt-oss-20b`), at most 200 characters; anything the shell or a path would read differently is refused.",
        source: "kserve/kserve@v0.20.0:config/llmisvcconfig/config-llm-template.yaml, config/llmisvcconfig/config-llm-router-route.yaml",
        case: "tests/cases/error-llm-kserve-fields",
    },
    Rule {
        id: "llm-parallelism",
        component: Component::KserveLlm,
        cluster: "Single-pod presets pass only `--tensor-parallel-size` (`parallelism.tensor`); `data`, `dataLocal` and `expert` take effect only with a `worker` pod (the data-parallel presets), `data` and `dataLocal` go together, and no pipeline-parallel preset ships, so `pipeline` fails with `ConfigNotFound`. KServe does not check GPUs; vLLM stops when its world size exceeds the GPUs it sees, and GPUs beyond it idle.",
        modelgen: "Requires `resources.gpu` to equal `engine.tensorParallelSize` (times `llm.parallelism.dataLocal` with data parallelism, per pod); renders `worker` only for data parallelism; refuses `pipeline`, `expert` without data parallelism, one of `data`/`dataLocal` without the other, and `data` not a multiple of `dataLocal`.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/config_merge.go (`WellKnownDefaultConfigs`, `combineBaseRefsConfig`), config/llmisvcconfig/config-llm-template.yaml, config/llmisvcconfig/config-llm-worker-data-parallel.yaml, pkg/apis/serving/v1alpha2/llm_inference_service_validation.go (`validateWorkloadParallelism`)",
        case: "tests/cases/error-llm-parallelism",
    },
    Rule {
        id: "llm-prefill",
        component: Component::KserveLlm,
        cluster: "With `spec.prefill` the controller runs a second Deployment `<name>-kserve-prefill` from the prefill preset and puts llm-d's routing sidecar in front of the decode pods (vLLM moves to port 8001); the sidecar and the scheduler's disaggregation profile pick the prefill pod, so P/D needs the scheduler. The presets set no KV-transfer connector.",
        modelgen: "Renders `llm.prefill` as `spec.prefill` (replicas, tensor parallelism, resources, the version label); refuses it without the scheduler, and each pool's GPUs must equal its tensor parallelism. The KV-transfer settings of your network (NIXL, RDMA) belong in a preset of yours (`llm.presets`), as in KServe's `e2e-gpt-oss` sample.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/config_merge.go (`combineBaseRefsConfig`), config/llmisvcconfig/config-llm-decode-template.yaml, docs/samples/llmisvc/e2e-gpt-oss/llmisvc_config_pd_disagg.yaml",
        case: "tests/cases/llm-disaggregated",
    },
    Rule {
        id: "llm-presets",
        component: Component::KserveLlm,
        cluster: "The controller merges KServe's built-in presets (`kserve-config-llm-*`, chosen by the deployment's shape, always), then `baseRefs` in order, then the service; a config is looked up in the service's namespace first, then in `kserve`. The built-in names carry no version at v0.20.0 and an upgrade rewrites them in place.",
        modelgen: "Renders `llm.presets` as `baseRefs` in order; refuses the built-in names (listing one pins nothing and moves it above your own configs) and names that are not DNS subdomains. To pin what a built-in preset holds, keep a copy of it under the same name in the model's namespace, which the lookup finds first.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/config_merge.go (`combineBaseRefsConfig`, `getConfig`, `WellKnownDefaultConfigs`)",
        case: "tests/cases/error-llm-presets",
    },
    Rule {
        id: "llm-routing-group",
        component: Component::KserveLlm,
        cluster: "Released in v0.20.0: services of one namespace with the same `router.route.group` share the managed routes' version-independent rules (`/publishers/<namespace>/models/<model.name>/...` and the model-routing header) by `weight`; a member joins once its router and workloads are ready; a member serving other model names is left out; a leaving member's finalizer waits until the others' routes drop it. Per-version paths (`/<namespace>/<name>/...`) reach one member. After v0.20.0: e2e tests (kserve#5849) and fixes (kserve#5847, kserve#5943).",
        modelgen: "A canary (strategy `native`, the default) is a second service `<name>-canary` with the same model name, both in group `<name>` with weights 100−N and N and the group label; promotion changes the stable's URI and prunes the canary.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/router_group.go, router_group_routing.go, pkg/apis/serving/v1alpha2/llm_inference_service_validation.go (`validateTrafficFields`)",
        case: "tests/cases/llm-canary",
    },
    Rule {
        id: "llm-split-route",
        component: Component::KserveLlm,
        cluster: "Routing groups only weigh; nothing in KServe mirrors. A service whose `router.route.http.refs` names an HTTPRoute of the user's gets no managed route (the controller deletes `<name>-kserve-route`), and refs exclude a group. A scheduler's InferencePool counts as ready only for the Gateways of the service's own routes: a scheduler without a route never gets ready.",
        modelgen: "Strategy `split` (and any shadow) renders the HTTPRoute `<name>-traffic` with the publisher paths weighted over each version's InferencePool (or workload Service) and a `RequestMirror` to the shadow's workload Service; stable and canary both reference it; a shadow with a `native` canary, and Istio routes, are refused.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/router.go (`reconcileHTTPRoutes`, `EvaluateInferencePoolConditions`), router_discovery.go (`IsInferencePoolReadyForGateways`), pkg/apis/serving/v1alpha2/llm_inference_service_validation.go (`validateRouterCrossFieldConstraints`)",
        case: "tests/cases/llm-split-shadow",
    },
    Rule {
        id: "llm-scaling",
        component: Component::KserveLlm,
        cluster: "At v0.20.0 `spec.scaling` requires llm-d's Workload Variant Autoscaler (WVA), whose HPA or KEDA object scales on WVA's own metric; KEDA triggers of the user's came after the release (kserve#5839). Without `replicas` the controller keeps the live replica count of its Deployment. It deletes `<name>-kserve-keda`, `-kserve-hpa` and `-kserve-va` when scaling is unset, and a data-parallel service runs a LeaderWorkerSet, not a Deployment.",
        modelgen: "Without a KEDA metric, renders static `replicas`. With one, renders a KEDA `ScaledObject` `<name>-scaler` (a name the controller never deletes) on the Deployment `<name>-kserve` and omits `replicas`; refuses KEDA on a data-parallel service and `maxReplicas` above `minReplicas` without a metric.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1alpha2/llmisvc/scaling.go, workload.go (`PreserveDeploymentReplicas`), pkg/apis/serving/v1alpha2/llm_inference_service_types.go (`ScalingSpec`)",
        case: "tests/cases/llm-keda",
    },
    Rule {
        id: "llm-fields",
        component: Component::KserveLlm,
        cluster: "An `LLMInferenceService` has no deployment mode (always Deployments or LeaderWorkerSets), no serving runtime, protocol or model format (vLLM serves the Hugging Face checkpoint in `/mnt/models`), and no Istio routing: its routes are Gateway API HTTPRoutes to InferencePools.",
        modelgen: "Refuses `deploymentMode`, `runtime`, `protocol`, `formatVersion`, `storageSecret`, `server`, a format other than `huggingface`, `router: istio`, and the scale metrics of KServe's InferenceService (`concurrency`, `rps`, `cpu`, `memory`).",
        source: "kserve/kserve@v0.20.0:pkg/apis/serving/v1alpha2/llm_inference_service_types.go, pkg/controller/v1alpha2/llmisvc/workload_single_node.go, router.go",
        case: "tests/cases/error-llm-kserve-fields",
    },
    Rule {
        id: "llm-secrets",
        component: Component::KserveLlm,
        cluster: "The storage initializer reads a Hugging Face token from the key `HF_TOKEN` of a Secret attached to the pods' service account; nothing in the spec is secret, and whatever is written there lands in Git, in the cluster, and in Argo CD's UI.",
        modelgen: "Refuses, without echoing it, a value that looks like a Hugging Face token (`hf_` or `api_org_` and 34 letters, gitleaks' rules) or credentials in a URL, in any string a spec passes on (labels, annotations, storage URIs, the Prometheus address and query).",
        source: "kserve/kserve@v0.20.0:pkg/credentials/hf/hf_secret.go, pkg/controller/v1alpha2/llmisvc/workload_storage.go (`attachHfModelArtifact`); gitleaks/gitleaks:cmd/generate/config/rules/huggingface.go",
        case: "tests/cases/error-llm-secrets",
    },
    Rule {
        id: "llm-scheduler-metrics",
        component: Component::KserveLlm,
        cluster: "llm-d's endpoint picker (the image KServe v0.20.0's preset runs, llm-d-router v0.9.0) serves `/metrics` on the port named `metrics` only to a bearer token that may `get` the non-resource URL `/metrics` (`--metrics-endpoint-auth`, on by default; KServe's preset keeps it).",
        modelgen: "Scrapes the scheduler only with `monitoring.scheduler.bearerToken` (a Secret key), through a second PodMonitor `<name>-scheduler`, and draws its pool gauges `llm_d_epp_ready_endpoints` and `llm_d_epp_average_queue_size` per version; refuses it without the scheduler.",
        source: "llm-d/llm-d-router@v0.9.0:pkg/epp/server/options.go (`MetricsEndpointAuth`), pkg/epp/metrics/llm_d_router_metrics.go; kserve/kserve@v0.20.0:config/llmisvcconfig/config-llm-scheduler.yaml",
        case: "tests/cases/llm-monitoring",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_uris_split_the_way_the_storage_initializer_splits_them() {
        assert_eq!(
            hf_uri("openai/gpt-oss-20b:6cee5e8"),
            Some(HfUri { owner: "openai", model: "gpt-oss-20b", revision: Some("6cee5e8") })
        );
        assert_eq!(hf_uri("openai/gpt-oss-20b").and_then(|u| u.revision), None);
        assert_eq!(hf_uri("openai/gpt-oss-20b:").and_then(|u| u.revision), None, "an empty revision is none");
        for bad in ["gpt-oss-20b", "openai/gpt-oss-20b/", "openai/a/b", "/model", "openai/", "openai/:rev"] {
            assert_eq!(hf_uri(bad), None, "{bad}");
        }
    }
}
