//! The model spec users write: `apiVersion: modelgen.dev/v1alpha1`, `kind: ModelDeployment`.
//!
//! Field names here are the product's interface. Doc comments become the
//! descriptions of the published JSON Schema (`modelgen schema`).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::autoscaling::Prometheus;
use crate::model::llm::{Engine, Llm};
use crate::model::percent::Percent;
pub use crate::model::resources::Resources;
use crate::model::rollout::Rollout;

/// The API group and version of every spec kind this plugin handles.
pub const API_VERSION: &str = "modelgen.dev/v1alpha1";
/// The group prefix that marks a document as ours.
pub const API_GROUP_PREFIX: &str = "modelgen.dev/";
/// The kind of a model spec.
pub const KIND: &str = "ModelDeployment";

/// One model served in one namespace: what to serve, how, and how to split traffic.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "ModelDeployment")]
pub struct ModelDeployment {
    /// Always `modelgen.dev/v1alpha1`.
    #[expect(
        dead_code,
        reason = "checked on the document tree before decoding, to point at the value; typed for the schema"
    )]
    #[schemars(schema_with = "api_version_schema")]
    pub api_version: String,
    /// Always `ModelDeployment`.
    #[expect(
        dead_code,
        reason = "checked on the document tree before decoding, to point at the value; typed for the schema"
    )]
    #[schemars(schema_with = "kind_schema")]
    pub kind: String,
    /// The name, namespace and labels of what is generated.
    pub metadata: Metadata,
    /// What to serve and how.
    pub spec: Spec,
}

/// Identity of the model deployment.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Name of the generated serving resources: a DNS-1123 label that starts with a letter, at most 53 characters.
    pub name: String,
    /// Namespace of the generated resources; defaults to the render context's namespace (the Argo CD Application's destination).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Labels copied onto every generated object.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations copied onto every generated object.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// What to serve and how.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// The serving stack that runs the model.
    #[serde(default)]
    pub backend: Backend,
    /// KServe deployment mode. `Serverless` and `RawDeployment` (the names before KServe 0.16) are accepted and written out as `Knative` and `Standard`. It cannot change once the InferenceService exists.
    #[serde(default)]
    #[schemars(schema_with = "deployment_mode_schema")]
    pub deployment_mode: Option<DeploymentMode>,
    /// The stable model: the version that takes the traffic the canary does not.
    pub model: Model,
    /// Compute resources of each model server replica (requests and limits are set alike).
    #[serde(default)]
    pub resources: Option<Resources>,
    /// Replica bounds and the autoscaling metric.
    #[serde(default)]
    pub scaling: Option<Scaling>,
    /// vLLM engine arguments (`kserve-llm`, and `kserve` with format `huggingface`): context length, data type, GPU memory share and tensor parallelism.
    #[serde(default)]
    pub engine: Option<Engine>,
    /// Backend `kserve-llm`: the scheduler, presets, multi-pod parallelism and a prefill pool of KServe's `LLMInferenceService`.
    #[serde(default)]
    pub llm: Option<Llm>,
    /// A second version that takes a share of live traffic. Promote it by moving its version and storageUri into `model` and deleting this block; roll back by deleting this block.
    #[serde(default)]
    pub canary: Option<Canary>,
    /// A version that receives a copy of live traffic and whose answers are discarded (Seldon shadow predictor, Seldon Core 2 experiment mirror, or a mirror on KServe's split route, in Standard mode only).
    #[serde(default)]
    pub shadow: Option<Shadow>,
    /// Where the weighted route of a KServe `split` canary or shadow attaches: the Gateway and the host names clients call.
    #[serde(default)]
    pub route: Option<Route>,
    /// Name of a Secret with storage credentials (Seldon v1 `envSecretRefName`, Seldon Core 2 `secretName`). KServe reads them from the service account instead.
    #[serde(default)]
    pub storage_secret: Option<String>,
    /// Seldon Core 2 only: the Server to schedule the models on. Without it, a dedicated Server is generated when the spec sets cpu, gpu or node placement.
    #[serde(default)]
    pub server: Option<String>,
    /// Service account of the model server pods; storage credentials are attached to it (credentials are referenced, never written inline).
    #[serde(default)]
    pub service_account_name: Option<String>,
    /// Node labels the model server pods must run on (for example a GPU node pool).
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the model server pods tolerate.
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    /// Prometheus scraping, alert rules and a Grafana dashboard for the model, its canary and its shadow.
    #[serde(default)]
    pub monitoring: Option<crate::model::monitoring::Monitoring>,
    /// Facts about the cluster the model is deployed to that decide what works there (Gateway API implementation and version, Knative feature flags, confirmed prerequisites). Usually set once for all models in `modelgen.yaml` (`cluster`, or per environment).
    #[serde(default)]
    pub cluster: Option<Cluster>,
}

/// The facts of a spec that states none.
static NO_FACTS: Cluster = Cluster {
    gateway_implementation: None,
    gateway_api_version: None,
    knative_features: None,
    acknowledge: Vec::new(),
};

impl Spec {
    /// The cluster facts the spec (or its project) states; none stated is an empty set.
    pub fn cluster(&self) -> &Cluster {
        self.cluster.as_ref().unwrap_or(&NO_FACTS)
    }

    /// The KServe deployment mode, defaulted.
    pub fn mode(&self) -> DeploymentMode {
        self.deployment_mode.unwrap_or_default()
    }

    /// How a KServe canary is split: as asked, else what released KServe
    /// versions route in this mode (Standard-mode `spec.canary` is not
    /// routed by v0.20.0, so Standard defaults to `split`; an
    /// `LLMInferenceService` canary joins a routing group, in v0.20.0).
    pub fn canary_strategy(&self) -> CanaryStrategy {
        let asked = self.canary.as_ref().and_then(|c| c.strategy);
        asked.unwrap_or(match (self.backend, self.mode()) {
            (Backend::KserveLlm, _) | (_, DeploymentMode::Knative) => CanaryStrategy::Native,
            (_, DeploymentMode::Standard) => CanaryStrategy::Split,
        })
    }

    /// The route kind for KServe `split` canaries and shadows.
    pub fn router(&self) -> Router {
        let from_canary = self.canary.as_ref().and_then(|c| c.router);
        let from_route = self.route.as_ref().and_then(|r| r.router);
        from_canary.or(from_route).unwrap_or(Router::GatewayApi)
    }

    /// Whether a KServe spec renders separate InferenceServices and a route.
    pub fn kserve_split(&self) -> bool {
        self.backend == Backend::Kserve
            && ((self.canary.is_some() && self.canary_strategy() == CanaryStrategy::Split) || self.shadow.is_some())
    }
}

/// The serving stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// KServe `InferenceService` (`serving.kserve.io/v1beta1`).
    #[default]
    Kserve,
    /// Seldon Core v1 `SeldonDeployment` (`machinelearning.seldon.io/v1`).
    Seldon,
    /// Seldon Core 2 `Model`, `Experiment` and `Server` (`mlops.seldon.io/v1alpha1`).
    #[serde(rename = "seldon-v2")]
    SeldonV2,
    /// KServe `LLMInferenceService` (`serving.kserve.io/v1alpha2`): vLLM behind llm-d's scheduler, for large language models.
    KserveLlm,
}

impl Backend {
    /// The name as written in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Kserve => "kserve",
            Backend::Seldon => "seldon",
            Backend::SeldonV2 => "seldon-v2",
            Backend::KserveLlm => "kserve-llm",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// KServe deployment mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum DeploymentMode {
    /// A Knative Service per component: scale to zero, revision-based canaries.
    #[default]
    #[serde(alias = "Serverless")]
    Knative,
    /// A plain Deployment, Service and HPA per component.
    #[serde(alias = "RawDeployment")]
    Standard,
}

impl DeploymentMode {
    /// The name KServe 0.16+ uses in the `serving.kserve.io/deploymentMode` annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentMode::Knative => "Knative",
            DeploymentMode::Standard => "Standard",
        }
    }
}

/// The stable model: served by a stock runtime (`format` and `storageUri`) or by its own `image`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("anyOf" = [{ "required": ["image"] }, { "required": ["format", "storageUri"] }]))]
pub struct Model {
    /// The model's format; it selects the serving runtime. Required unless `image` serves the model.
    #[serde(default)]
    pub format: Option<ModelFormat>,
    /// The format's version, when a runtime needs it (for example `2` for xgboost 2).
    #[serde(default)]
    pub format_version: Option<String>,
    /// The model's version, shown as the `app.kubernetes.io/version` label. It must be a valid label value.
    pub version: String,
    /// Where the model artifacts are (`s3://`, `gs://`, `https://`, `pvc://`, `hf://`, `oci://`, ...). Required unless `image` serves the model; with `image`, they are downloaded to `/mnt/models` before the server starts.
    #[serde(default)]
    pub storage_uri: Option<String>,
    /// The ServingRuntime or ClusterServingRuntime to use; without it KServe picks one that supports the format and protocol.
    #[serde(default)]
    pub runtime: Option<String>,
    /// The inference protocol; defaults to the one of the stock runtime KServe v0.20.0 picks for the format (`v1` where one serves it; `v2` for onnx, tensorrt, mlflow and triton). With `image`, the protocol the server speaks (default `v1`).
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// A container image that serves the model with its own server (a model built into its image, or a server of yours that reads `storageUri` from `/mnt/models`), instead of a stock runtime; then `format`, `formatVersion` and `runtime` do not apply. Pin it by digest (`registry/repo@sha256:...`): a tag can point to another image under the same Git commit.
    #[serde(default)]
    pub image: Option<String>,
    /// `image` only: the port the server listens on for inference requests, 1 to 65535 (default 8080).
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// `image` only: the container's entrypoint, replacing the image's.
    #[serde(default)]
    pub command: Vec<String>,
    /// `image` only: the arguments to the entrypoint, replacing the image's.
    #[serde(default)]
    pub args: Vec<String>,
    /// `image` only: environment variables as `name`/`value` pairs. Never a secret: they are stored in Git and in the cluster in clear text; reference a Secret with `envFrom`.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// `image` only: Secrets and ConfigMaps whose keys become environment variables, by name.
    #[serde(default)]
    pub env_from: Vec<EnvSource>,
    /// LLMs (`kserve-llm`, and `kserve` with format `huggingface`): the model name clients send (the `model` field of `OpenAI`-style requests); default `metadata.name`. A canary serves the same name.
    #[serde(default)]
    pub served_name: Option<String>,
}

/// The port an image-served model's server listens on when the spec names
/// none: KServe's default (`InferenceServiceDefaultHttpPort`), also Knative's.
pub const DEFAULT_PORT: i64 = 8080;

impl Model {
    /// The port the image's server listens on.
    pub fn port(&self) -> i64 {
        self.port.unwrap_or(DEFAULT_PORT)
    }
}

/// An environment variable of an image-served model.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// The variable's name.
    pub name: String,
    /// Its value, in clear text (never a secret: use `envFrom` with a Secret).
    pub value: String,
}

/// A Secret or ConfigMap whose keys become environment variables (Kubernetes' `envFrom`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvSource {
    /// The name of a Secret in the model's namespace.
    #[serde(default)]
    pub secret: Option<String>,
    /// The name of a ConfigMap in the model's namespace.
    #[serde(default)]
    pub config_map: Option<String>,
    /// A prefix for the variables' names.
    #[serde(default)]
    pub prefix: Option<String>,
}

/// Model formats that KServe's built-in runtimes serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(
    clippy::missing_docs_in_private_items,
    reason = "a documented variant becomes a described `oneOf` branch of the published schema; the names are the formats' own"
)]
pub enum ModelFormat {
    Sklearn,
    Xgboost,
    Lightgbm,
    Tensorflow,
    Pytorch,
    Onnx,
    Triton,
    Tensorrt,
    Huggingface,
    Mlflow,
    Pmml,
    Paddle,
    Openvino,
    Autogluon,
}

impl ModelFormat {
    /// Every format, in the order messages list them.
    pub const ALL: [ModelFormat; 14] = [
        ModelFormat::Sklearn,
        ModelFormat::Xgboost,
        ModelFormat::Lightgbm,
        ModelFormat::Tensorflow,
        ModelFormat::Pytorch,
        ModelFormat::Onnx,
        ModelFormat::Triton,
        ModelFormat::Tensorrt,
        ModelFormat::Huggingface,
        ModelFormat::Mlflow,
        ModelFormat::Pmml,
        ModelFormat::Paddle,
        ModelFormat::Openvino,
        ModelFormat::Autogluon,
    ];

    /// The `modelFormat.name` KServe's runtimes declare.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFormat::Sklearn => "sklearn",
            ModelFormat::Xgboost => "xgboost",
            ModelFormat::Lightgbm => "lightgbm",
            ModelFormat::Tensorflow => "tensorflow",
            ModelFormat::Pytorch => "pytorch",
            ModelFormat::Onnx => "onnx",
            ModelFormat::Triton => "triton",
            ModelFormat::Tensorrt => "tensorrt",
            ModelFormat::Huggingface => "huggingface",
            ModelFormat::Mlflow => "mlflow",
            ModelFormat::Pmml => "pmml",
            ModelFormat::Paddle => "paddle",
            ModelFormat::Openvino => "openvino",
            ModelFormat::Autogluon => "autogluon",
        }
    }
}

/// Inference protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Protocol {
    /// KServe V1 (TensorFlow-style REST).
    #[serde(rename = "v1")]
    V1,
    /// Open Inference Protocol (V2) over REST.
    #[serde(rename = "v2")]
    V2,
    /// V1 over gRPC.
    #[serde(rename = "grpc-v1")]
    GrpcV1,
    /// Open Inference Protocol over gRPC.
    #[serde(rename = "grpc-v2")]
    GrpcV2,
}

impl Protocol {
    /// The value of KServe's `protocolVersion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::V1 => "v1",
            Protocol::V2 => "v2",
            Protocol::GrpcV1 => "grpc-v1",
            Protocol::GrpcV2 => "grpc-v2",
        }
    }
}

/// Replica bounds and autoscaling.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scaling {
    /// Fewest replicas; 0 allows scale to zero (Knative mode only).
    #[serde(default)]
    pub min_replicas: Option<u32>,
    /// Most replicas.
    #[serde(default)]
    pub max_replicas: Option<u32>,
    /// What the autoscaler watches. Knative mode: `concurrency`, `rps`, or `cpu` (on Knative's HPA class, which needs its `serving-hpa` extension); Standard mode: `cpu` or `memory`. KEDA on Prometheus (`kserve` in Standard mode, and `kserve-llm`): `waiting-requests`, `kv-cache-usage`, `tokens-per-second` (vLLM's own metrics) or `custom` (`prometheus.query`).
    #[serde(default)]
    pub metric: Option<ScaleMetric>,
    /// Target value of the metric per replica (requests in flight, requests per second, percent utilisation for cpu and memory, requests waiting, percent of the KV cache in use, generated tokens per second, or the custom query's value).
    #[serde(default)]
    pub target: Option<u32>,
    /// The Prometheus that KEDA queries, for the KEDA metrics.
    #[serde(default)]
    pub prometheus: Option<Prometheus>,
}

/// Autoscaling metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScaleMetric {
    /// Requests in flight per replica (Knative mode).
    Concurrency,
    /// Requests per second per replica (Knative mode).
    Rps,
    /// CPU utilisation percent.
    Cpu,
    /// Memory utilisation percent.
    Memory,
    /// KEDA: requests waiting in vLLM's queue (`vllm:num_requests_waiting`), summed over the pods; `target` per replica.
    #[serde(rename = "waiting-requests")]
    WaitingRequests,
    /// KEDA: vLLM's KV-cache use (`vllm:kv_cache_usage_perc`), summed over the pods; `target` is the percent (1 to 100) each replica should average.
    #[serde(rename = "kv-cache-usage")]
    KvCacheUsage,
    /// KEDA: generated tokens per second (`vllm:generation_tokens_total`), summed over the pods; `target` per replica.
    #[serde(rename = "tokens-per-second")]
    TokensPerSecond,
    /// KEDA: the query in `scaling.prometheus.query`; `target` per replica.
    Custom,
}

impl ScaleMetric {
    /// The value of KServe's `scaleMetric`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleMetric::Concurrency => "concurrency",
            ScaleMetric::Rps => "rps",
            ScaleMetric::Cpu => "cpu",
            ScaleMetric::Memory => "memory",
            ScaleMetric::WaitingRequests => "waiting-requests",
            ScaleMetric::KvCacheUsage => "kv-cache-usage",
            ScaleMetric::TokensPerSecond => "tokens-per-second",
            ScaleMetric::Custom => "custom",
        }
    }

    /// Whether KEDA scales on it, through a Prometheus query.
    pub fn is_keda(self) -> bool {
        matches!(
            self,
            ScaleMetric::WaitingRequests
                | ScaleMetric::KvCacheUsage
                | ScaleMetric::TokensPerSecond
                | ScaleMetric::Custom
        )
    }
}

/// A second model version taking a share of live traffic.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Canary {
    /// The canary's model version.
    pub version: String,
    /// Where the canary's artifacts are. Required unless the model is served by an image.
    #[serde(default)]
    pub storage_uri: Option<String>,
    /// The canary's server image, when the stable model is served by one (`spec.model.image`); without it the canary runs the stable model's image. Port, command, arguments and environment are the stable model's.
    #[serde(default)]
    pub image: Option<String>,
    /// Percent of live traffic the canary takes, 0 to 100 (0 keeps it deployed but idle).
    #[schemars(range(max = 100))]
    pub traffic_percent: u32,
    /// KServe only: `native` lets KServe split (Knative's revisions, or Standard mode's `spec.canary`); `split` renders two complete InferenceServices and a weighted route, so the cluster's traffic follows from Git alone. Default: `native` in Knative mode (on a cluster where the InferenceService is new, a native canary takes 100 %, kserve#2649), `split` in Standard mode (KServe v0.20.0 does not route Standard-mode canaries). `kserve-llm`: `native` (default) puts both `LLMInferenceService`s in a KServe routing group; `split` renders a weighted HTTPRoute of modelgen's, which a shadow needs.
    #[serde(default)]
    pub strategy: Option<CanaryStrategy>,
    /// KServe `split` only: the route kind, `gateway-api` (an `HTTPRoute`, default) or `istio` (a `VirtualService`, needs Istio 1.22). Same as `spec.route.router`. In Knative mode a Gateway API route needs an implementation that routes to `ExternalName` Services with a per-backend `Host` header (`cluster.gatewayImplementation: istio`).
    #[serde(default)]
    pub router: Option<Router>,
    /// A progressive rollout: the steps the canary's traffic takes while the canary's gates (its alerts in `spec.monitoring`) hold, advanced by `modelgen canary advance`. Renders nothing.
    #[serde(default)]
    pub rollout: Option<Rollout>,
}

impl Canary {
    /// The canary's share of live traffic.
    pub fn traffic(&self) -> Percent {
        Percent::capped(self.traffic_percent)
    }
}

/// How a KServe canary's traffic is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CanaryStrategy {
    /// KServe splits: `canaryTrafficPercent` (Knative) or `spec.canary` (Standard).
    Native,
    /// Two InferenceServices and a weighted route rendered by modelgen.
    Split,
}

/// The kind of weighted route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Router {
    /// Gateway API `HTTPRoute` (`gateway.networking.k8s.io/v1`).
    GatewayApi,
    /// Istio `VirtualService` (`networking.istio.io/v1`).
    Istio,
}

/// A version that gets a copy of live traffic; its answers are discarded.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Shadow {
    /// The shadow's model version.
    pub version: String,
    /// Where the shadow's artifacts are. Required unless the model is served by an image.
    #[serde(default)]
    pub storage_uri: Option<String>,
    /// The shadow's server image, when the stable model is served by one (`spec.model.image`); without it the shadow runs the stable model's image.
    #[serde(default)]
    pub image: Option<String>,
    /// Percent of live requests copied to the shadow, 0 to 100. Below 100 on a Gateway API route, it needs Gateway API v1.3 CRDs (`cluster.gatewayApiVersion`).
    #[serde(default = "all_traffic")]
    #[schemars(range(max = 100))]
    pub percent: u32,
}

impl Shadow {
    /// The share of live requests copied to the shadow.
    pub fn mirrored(&self) -> Percent {
        Percent::capped(self.percent)
    }
}

/// A shadow gets a copy of every request unless its `percent` says otherwise.
fn all_traffic() -> u32 {
    100
}

/// Where a rendered route attaches (KServe `split` canaries and KServe shadows).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// `gateway-api` (default) or `istio` (a `VirtualService`, needs Istio 1.22). In Knative mode a Gateway API route needs an implementation that routes to `ExternalName` Services with a per-backend `Host` header (`cluster.gatewayImplementation: istio`).
    #[serde(default)]
    pub router: Option<Router>,
    /// The Gateway the route attaches to (Gateway API `parentRefs`; for Istio, `namespace/name` in `gateways`).
    #[serde(default)]
    pub gateway: Option<GatewayRef>,
    /// Host names clients use to reach the model.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// A reference to a Gateway.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayRef {
    /// The Gateway's name.
    pub name: String,
    /// The Gateway's namespace; defaults to the route's.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Gateway API only: the listener to attach to.
    #[serde(default)]
    pub section_name: Option<String>,
}

/// Facts about the destination cluster that modelgen cannot read from Git: each rule that depends on one says so in its message; without the fact modelgen warns (or refuses, where the common case is broken), with it modelgen knows.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// The Gateway API implementation behind `spec.route.gateway`. A KServe `split` route in Knative mode needs one that routes to `ExternalName` Services and sets a backend's `Host` header; of the known implementations only `istio` does.
    #[serde(default)]
    pub gateway_implementation: Option<GatewayImplementation>,
    /// The Gateway API CRD release installed, as `v1.3.0` or `v1.3`. A shadow that mirrors less than 100 % needs `RequestMirror.percent`, in the standard channel from v1.3: older CRDs prune it and every request is mirrored.
    #[serde(default)]
    pub gateway_api_version: Option<String>,
    /// The Knative `config-features` flags that are `enabled` or `allowed` on the cluster (for example `kubernetes.podspec-nodeselector`). Without this list, Knative-mode node placement is a warning naming the flags it needs; with it, a missing flag is an error.
    #[serde(default)]
    pub knative_features: Option<Vec<String>>,
    /// Prerequisites that modelgen cannot check, confirmed for this cluster by the id their warning names: `knative-hpa`, `knative-request-metrics`, `knative-canary-first-apply`, `gateway-knative-backends`.
    #[serde(default)]
    pub acknowledge: Vec<Acknowledgement>,
}

impl Cluster {
    /// Whether the user confirmed `what`.
    pub fn acknowledges(&self, what: Acknowledgement) -> bool {
        self.acknowledge.contains(&what)
    }
}

/// A Gateway API implementation, as its conformance reports name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(
    clippy::missing_docs_in_private_items,
    reason = "a documented variant becomes a described `oneOf` branch of the published schema; the names are the implementations' own"
)]
pub enum GatewayImplementation {
    Istio,
    EnvoyGateway,
    Cilium,
    Kgateway,
    NginxGatewayFabric,
    Traefik,
    Contour,
    GkeGateway,
    Agentgateway,
    /// Any other implementation.
    Other,
}

impl GatewayImplementation {
    /// The name as written in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayImplementation::Istio => "istio",
            GatewayImplementation::EnvoyGateway => "envoy-gateway",
            GatewayImplementation::Cilium => "cilium",
            GatewayImplementation::Kgateway => "kgateway",
            GatewayImplementation::NginxGatewayFabric => "nginx-gateway-fabric",
            GatewayImplementation::Traefik => "traefik",
            GatewayImplementation::Contour => "contour",
            GatewayImplementation::GkeGateway => "gke-gateway",
            GatewayImplementation::Agentgateway => "agentgateway",
            GatewayImplementation::Other => "other",
        }
    }
}

/// A prerequisite the user confirmed; each is a rule of the backend rules table, by the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Acknowledgement {
    /// Knative's `serving-hpa` extension is installed (needed by `scaling.metric: cpu` in Knative mode).
    KnativeHpa,
    /// `config-observability` sets `request-metrics-protocol: prometheus` (Knative 1.19 and later), so the queue-proxy exports the request metrics the alerts read.
    KnativeRequestMetrics,
    /// A Knative-mode native canary on a cluster where the InferenceService is new takes 100 % of the traffic (kserve#2649).
    KnativeCanaryFirstApply,
    /// The Gateway API implementation (`other`) routes to `ExternalName` Services and applies a backend's `RequestHeaderModifier` on `Host`.
    GatewayKnativeBackends,
}

impl Acknowledgement {
    /// The id as written in `cluster.acknowledge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Acknowledgement::KnativeHpa => "knative-hpa",
            Acknowledgement::KnativeRequestMetrics => "knative-request-metrics",
            Acknowledgement::KnativeCanaryFirstApply => "knative-canary-first-apply",
            Acknowledgement::GatewayKnativeBackends => "gateway-knative-backends",
        }
    }
}

/// A Kubernetes toleration.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toleration {
    /// The taint key; empty with `operator: Exists` tolerates everything.
    #[serde(default)]
    pub key: Option<String>,
    /// `Equal` (default) or `Exists`.
    #[serde(default)]
    pub operator: Option<TolerationOperator>,
    /// The taint value to match with `Equal`.
    #[serde(default)]
    pub value: Option<String>,
    /// The taint effect to match; empty matches all.
    #[serde(default)]
    pub effect: Option<TaintEffect>,
    /// How long a `NoExecute` taint is tolerated, in seconds.
    #[serde(default, rename = "tolerationSeconds")]
    pub seconds: Option<i64>,
}

/// Toleration operator.
#[allow(
    clippy::missing_docs_in_private_items,
    reason = "a documented variant becomes a described `oneOf` branch of the published schema; the names are Kubernetes' own"
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

impl TolerationOperator {
    /// The name Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            TolerationOperator::Equal => "Equal",
            TolerationOperator::Exists => "Exists",
        }
    }
}

/// Taint effect.
#[allow(
    clippy::missing_docs_in_private_items,
    reason = "a documented variant becomes a described `oneOf` branch of the published schema; the names are Kubernetes' own"
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TaintEffect {
    /// The name Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// The schema of `ModelDeployment` alone, as a JSON value (the published
/// schema is [`crate::model::schema`]).
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(ModelDeployment).to_value()
}

/// What unknown fields are checked against: [`schema`] reduced to what that
/// walk reads (properties, items, references, alternatives) and compiled
/// for it, ahead of time (`spec_fields.rs`, which a test keeps equal to the
/// generated schema; `BLESS=1` rewrites it). Generating the schema cost a
/// tenth of a one-spec render, and parsing and compiling it a twentieth.
pub fn compiled_fields() -> &'static crate::yaml::unknown_field::Fields {
    &super::spec_fields::FIELDS
}

/// The schema of `apiVersion`: the constant this plugin handles (both kinds share it).
pub(crate) fn api_version_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "const": API_VERSION, "description": "Always `modelgen.dev/v1alpha1`." })
}

/// The schema of a spec's `kind`: the constant `ModelDeployment`.
fn kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "const": KIND, "description": "Always `ModelDeployment`." })
}

/// The schema of `deploymentMode`, listing the old names that are still accepted.
fn deployment_mode_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    // The serde aliases (the names before KServe 0.16) are valid input too.
    schemars::json_schema!({
        "enum": ["Knative", "Standard", "Serverless", "RawDeployment"],
        "description": "KServe deployment mode: `Knative` (default) or `Standard`; `Serverless` and `RawDeployment` are the old names and are written out as the new ones."
    })
}

/// `schema` reduced to what the unknown-field walk reads (see
/// [`compiled_fields`]; the project's fields are made the same way).
#[cfg(test)]
pub(crate) fn reduced(schema: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let Value::Object(map) = schema else { return schema.clone() };
    let mut kept = serde_json::Map::new();
    for (key, value) in map {
        let value = match (key.as_str(), value) {
            ("properties" | "$defs", Value::Object(children)) => {
                Value::Object(children.iter().map(|(k, v)| (k.clone(), reduced(v))).collect())
            }
            ("anyOf", Value::Array(alternatives)) => Value::Array(alternatives.iter().map(reduced).collect()),
            ("items" | "additionalProperties", _) => reduced(value),
            ("$ref", _) => value.clone(),
            _ => continue,
        };
        kept.insert(key.clone(), value);
    }
    Value::Object(kept)
}

/// Whether `text` (a compiled fields module's source) holds `schema`
/// reduced and compiled, as `Fields::source` writes it; with `BLESS` set,
/// rewrites the file at `path` first.
#[cfg(test)]
pub(crate) fn fields_module_is_current(text: &str, schema: &serde_json::Value, what: &str, path: &str) -> bool {
    let expected = crate::yaml::unknown_field::Fields::new(&reduced(schema)).source(what);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path), &expected).expect("bless");
    }
    text == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_fields_are_the_generated_schema_reduced() {
        let path = "src/model/spec_fields.rs";
        assert!(
            fields_module_is_current(include_str!("spec_fields.rs"), &schema(), "The spec's fields", path),
            "`plugin/{path}` is stale: run the tests with BLESS=1"
        );
    }
}
