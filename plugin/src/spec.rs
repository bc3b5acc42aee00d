//! The model spec users write: `apiVersion: modelgen.dev/v1alpha1`, `kind: ModelDeployment`.
//!
//! Field names here are the product's interface. Doc comments become the
//! descriptions of the published JSON Schema (`modelgen schema`).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

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
    #[schemars(schema_with = "api_version_schema")]
    pub api_version: String,
    /// Always `ModelDeployment`.
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
    pub deployment_mode: DeploymentMode,
    /// The stable model: the version that takes the traffic the canary does not.
    pub model: Model,
    /// Compute resources of each model server replica (requests and limits are set alike).
    #[serde(default)]
    pub resources: Option<Resources>,
    /// Replica bounds and the autoscaling metric.
    #[serde(default)]
    pub scaling: Option<Scaling>,
    /// A second version that takes a share of live traffic. Promote it by moving its version and storageUri into `model` and deleting this block; roll back by deleting this block.
    #[serde(default)]
    pub canary: Option<Canary>,
    /// Service account of the model server pods; storage credentials are attached to it (credentials are referenced, never written inline).
    #[serde(default)]
    pub service_account_name: Option<String>,
    /// Node labels the model server pods must run on (for example a GPU node pool).
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the model server pods tolerate.
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
}

/// The serving stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// KServe `InferenceService` (`serving.kserve.io/v1beta1`).
    #[default]
    Kserve,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Kserve => "kserve",
        })
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

/// The stable model.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Model {
    /// The model's format; it selects the serving runtime.
    pub format: ModelFormat,
    /// The format's version, when a runtime needs it (for example `2` for xgboost 2).
    #[serde(default)]
    pub format_version: Option<String>,
    /// The model's version, shown as the `app.kubernetes.io/version` label. It must be a valid label value.
    pub version: String,
    /// Where the model artifacts are (`s3://`, `gs://`, `https://`, `pvc://`, `hf://`, `oci://`, ...).
    pub storage_uri: String,
    /// The ServingRuntime or ClusterServingRuntime to use; without it KServe picks one that supports the format and protocol.
    #[serde(default)]
    pub runtime: Option<String>,
    /// The inference protocol; defaults to what KServe would choose for the format (`v2` for triton, `v1` otherwise).
    #[serde(default)]
    pub protocol: Option<Protocol>,
}

/// Model formats that KServe's built-in runtimes serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
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

/// Compute resources of one replica.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// CPU, as a Kubernetes quantity (`"1"`, `500m`).
    #[serde(default)]
    pub cpu: Option<Quantity>,
    /// Memory, as a Kubernetes quantity (`2Gi`).
    #[serde(default)]
    pub memory: Option<Quantity>,
    /// Number of NVIDIA GPUs (`nvidia.com/gpu`); 0 means none.
    #[serde(default)]
    pub gpu: u32,
}

/// A Kubernetes resource quantity. YAML numbers are accepted and written out as strings.
#[derive(Clone, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct Quantity(#[schemars(schema_with = "quantity_schema")] pub String);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;
        impl serde::de::Visitor<'_> for QuantityVisitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as `500m`, `\"1\"` or `2Gi`")
            }
            fn visit_str<E>(self, s: &str) -> Result<Quantity, E> {
                Ok(Quantity(s.to_owned()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Quantity, E> {
                Ok(Quantity(n.to_string()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Quantity, E> {
                Ok(Quantity(n.to_string()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Quantity, E> {
                Ok(Quantity(x.to_string()))
            }
        }
        deserializer.deserialize_any(QuantityVisitor)
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
    /// What the autoscaler watches.
    #[serde(default)]
    pub metric: Option<ScaleMetric>,
    /// Target value of the metric per replica (requests in flight, requests per second, or percent utilisation for cpu and memory).
    #[serde(default)]
    pub target: Option<u32>,
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
}

impl ScaleMetric {
    /// The value of KServe's `scaleMetric`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleMetric::Concurrency => "concurrency",
            ScaleMetric::Rps => "rps",
            ScaleMetric::Cpu => "cpu",
            ScaleMetric::Memory => "memory",
        }
    }
}

/// A second model version taking a share of live traffic.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Canary {
    /// The canary's model version.
    pub version: String,
    /// Where the canary's artifacts are.
    pub storage_uri: String,
    /// Percent of live traffic the canary takes, 0 to 100 (0 keeps it deployed but idle).
    #[schemars(range(max = 100))]
    pub traffic_percent: u32,
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
    #[serde(default)]
    pub toleration_seconds: Option<i64>,
}

/// Toleration operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

/// Taint effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

fn api_version_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "const": API_VERSION, "description": "Always `modelgen.dev/v1alpha1`." })
}

fn kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "const": KIND, "description": "Always `ModelDeployment`." })
}

fn quantity_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [{ "type": "string" }, { "type": "number" }],
        "description": "A Kubernetes quantity: `500m`, `\"1\"`, `2Gi`."
    })
}
