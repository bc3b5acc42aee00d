//! The LLM settings of a spec: vLLM's engine arguments, and what KServe's `LLMInferenceService` adds (scheduler, presets, parallelism, a prefill pool).
//!
//! Field names here are the product's interface. Doc comments become the
//! descriptions of the published JSON Schema (`modelgen schema`).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::model::resources::Resources;

/// vLLM engine arguments as first-class fields. Backend `kserve-llm`: flags of `vllm serve` in KServe's `LLMInferenceService` pods. Backend `kserve` with format `huggingface`: flags of KServe's Hugging Face server, which then runs its vLLM backend (`--backend=vllm`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Engine {
    /// The longest context, prompt and output tokens together, the engine accepts (`--max-model-len`; `--max_model_len` on KServe's Hugging Face server). Default: the model's own.
    #[serde(default)]
    pub max_model_len: Option<u32>,
    /// The data type of the weights and activations (`--dtype`). Default: vLLM's `auto`.
    #[serde(default)]
    pub dtype: Option<Dtype>,
    /// The share of each GPU's memory vLLM may take for weights and KV cache, above 0 and at most 1 (`--gpu-memory-utilization`). vLLM's default is 0.92.
    #[serde(default)]
    pub gpu_memory_utilization: Option<f64>,
    /// How many GPUs one model replica is split across (tensor parallelism), default 1. `kserve-llm`: `spec.parallelism.tensor`, and each pod needs exactly this many GPUs (times `llm.parallelism.dataLocal` with data parallelism). `kserve`: KServe's Hugging Face server sets it to the pod's GPU count itself, so it must equal `resources.gpu`.
    #[serde(default)]
    pub tensor_parallel_size: Option<u32>,
}

impl Engine {
    /// Tensor parallelism, defaulted to one GPU per replica.
    pub fn tensor(&self) -> u32 {
        self.tensor_parallel_size.unwrap_or(1)
    }
}

/// vLLM's `--dtype` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(
    clippy::missing_docs_in_private_items,
    reason = "a documented variant becomes a described `oneOf` branch of the published schema; the names are vLLM's own"
)]
pub enum Dtype {
    Auto,
    Half,
    Float16,
    Bfloat16,
    Float,
    Float32,
}

impl Dtype {
    /// The value of `--dtype`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::Auto => "auto",
            Dtype::Half => "half",
            Dtype::Float16 => "float16",
            Dtype::Bfloat16 => "bfloat16",
            Dtype::Float => "float",
            Dtype::Float32 => "float32",
        }
    }
}

/// Backend `kserve-llm`: what KServe's `LLMInferenceService` adds to serving an LLM with vLLM.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Llm {
    /// `true` (default): llm-d's scheduler (the endpoint picker) and an `InferencePool` send each request to the replica with the best cache and queue state (`router.scheduler: {}`); `false`: the route goes straight to the pods' Service.
    #[serde(default = "yes")]
    pub scheduler: bool,
    /// Names of `LLMInferenceServiceConfig`s (in the model's namespace, else KServe's) merged over KServe's built-in presets in this order, the last one winning (`spec.baseRefs`). Use versioned names of your own (`gpt-oss-runtime-v2`): KServe's `kserve-config-llm-*` presets always apply underneath and a KServe upgrade rewrites them in place, so naming them pins nothing.
    #[serde(default)]
    pub presets: Vec<String>,
    /// Data and expert parallelism across the GPUs of several pods (a `LeaderWorkerSet` with a `worker` pod template).
    #[serde(default)]
    pub parallelism: Option<Parallelism>,
    /// Prefill/decode disaggregation: a pool of pods that only process prompts (`spec.prefill`), while the model's own pods decode. Needs the scheduler.
    #[serde(default)]
    pub prefill: Option<Prefill>,
}

impl Default for Llm {
    fn default() -> Self {
        Self { scheduler: true, presets: Vec::new(), parallelism: None, prefill: None }
    }
}

/// The scheduler is on unless a spec turns it off.
fn yes() -> bool {
    true
}

/// Parallelism beyond one pod: vLLM's data parallelism (and expert parallelism on it), as KServe's data-parallel presets run it.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Parallelism {
    /// Data-parallel ranks in all (`parallelism.data`); with `dataLocal`, each replica is a group of `data / dataLocal` pods.
    #[serde(default)]
    pub data: Option<u32>,
    /// Data-parallel ranks per pod (`parallelism.dataLocal`); each pod needs `dataLocal × engine.tensorParallelSize` GPUs.
    #[serde(default)]
    pub data_local: Option<u32>,
    /// Expert parallelism for mixture-of-experts models (`--enable-expert-parallel`); needs data parallelism.
    #[serde(default)]
    pub expert: bool,
    /// Pipeline parallelism. Refused: KServe v0.20.0 ships no pipeline-parallel preset, so such a service never starts.
    #[serde(default)]
    pub pipeline: Option<u32>,
}

/// The prefill pool of a disaggregated LLM.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prefill {
    /// Prefill pods (`spec.prefill.replicas`), default 1.
    #[serde(default)]
    pub replicas: Option<u32>,
    /// GPUs each prefill pod splits the model across (`spec.prefill.parallelism.tensor`); default `engine.tensorParallelSize`. Each prefill pod needs exactly this many GPUs.
    #[serde(default)]
    pub tensor_parallel_size: Option<u32>,
    /// Compute resources of each prefill pod; default `spec.resources`.
    #[serde(default)]
    pub resources: Option<Resources>,
}
