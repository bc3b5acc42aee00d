//! vLLM as KServe v0.20.0 runs it (0.23.0 in llm-d's image, 0.24.0 in the Hugging Face server): the metrics it exports, and how KServe's Hugging Face server passes it flags.

use super::rule::{Component, Rule};

/// Requests waiting to be scheduled (gauge).
pub const NUM_REQUESTS_WAITING: &str = "vllm:num_requests_waiting";
/// Fraction of the KV cache in use, 0 to 1 (gauge).
pub const KV_CACHE_USAGE: &str = "vllm:kv_cache_usage_perc";
/// Generated tokens (counter, exposed with `_total`).
pub const GENERATION_TOKENS: &str = "vllm:generation_tokens_total";
/// Prompt tokens (counter, exposed with `_total`).
pub const PROMPT_TOKENS: &str = "vllm:prompt_tokens_total";
/// Finished requests by `finished_reason` (counter, exposed with `_total`).
pub const REQUEST_SUCCESS: &str = "vllm:request_success_total";
/// The `finished_reason` of a request the engine failed (an internal error, answered with HTTP 500).
pub const FINISHED_WITH_ERROR: &str = "error";
/// Time to first token (histogram).
pub const TIME_TO_FIRST_TOKEN: &str = "vllm:time_to_first_token_seconds_bucket";
/// Per-request time per output token after the first (histogram).
pub const TIME_PER_OUTPUT_TOKEN: &str = "vllm:request_time_per_output_token_seconds_bucket";
/// Time in the waiting queue (histogram).
pub const QUEUE_TIME: &str = "vllm:request_queue_time_seconds_bucket";
/// End-to-end request latency (histogram).
pub const E2E_LATENCY: &str = "vllm:e2e_request_latency_seconds_bucket";

/// The rules.
pub const RULES: &[Rule] = &[
    Rule {
        id: "vllm-metrics",
        component: Component::Vllm,
        cluster: "vLLM exports `vllm:num_requests_waiting`, `vllm:kv_cache_usage_perc` (a fraction), the histograms `vllm:time_to_first_token_seconds`, `vllm:request_time_per_output_token_seconds`, `vllm:inter_token_latency_seconds`, `vllm:request_queue_time_seconds` and `vllm:e2e_request_latency_seconds`, and the counters `vllm:generation_tokens_total`, `vllm:prompt_tokens_total` and `vllm:request_success_total` (`finished_reason` `stop`, `length`, `abort`, `error`, `repetition`), labelled `model_name` (the first served name) and `engine`. `vllm:gpu_cache_usage_perc` and `vllm:time_per_output_token_seconds` were removed in 0.12 and 0.13.",
        modelgen: "Reads only these names: requests, errors (`finished_reason=\"error\"`) and latency for the generic alerts, and the histograms, token counters, queue and KV cache for the LLM alerts, the KEDA presets and the dashboard; prefill pods (role `prefill`) are left out of request counts.",
        source: "vllm-project/vllm@v0.23.0 and @v0.24.0:vllm/v1/metrics/loggers.py (`PrometheusStatLogger`), vllm/v1/engine/__init__.py (`FinishReason`), read from the released wheels; kserve/kserve@v0.20.0:docs/samples/llmisvc/e2e-gpt-oss/grafana/",
        case: "tests/cases/llm-monitoring",
    },
    Rule {
        id: "hf-server-vllm-flags",
        component: Component::Vllm,
        cluster: "KServe's Hugging Face server (runtime `kserve-huggingfaceserver`, vLLM 0.24.0) appends `predictor.model.args` to its own, reads them with `parse_known_args` and adds vLLM's flags only when the vLLM backend runs, so a vLLM flag in the underscore spelling is silently dropped; `--max_model_len` is the server's own; `--backend=vllm` fails instead of falling back when vLLM is missing; without `--served-model-name` vLLM labels its metrics with the model path.",
        modelgen: "For format `huggingface` with `engine`: renders `--backend=vllm`, `--served-model-name`, `--max_model_len`, `--dtype`, `--gpu-memory-utilization` and `--tensor-parallel-size`, in the spellings that take effect.",
        source: "kserve/kserve@v0.20.0:python/huggingfaceserver/huggingfaceserver/__main__.py, pkg/controller/v1beta1/inferenceservice/utils/utils.go (`MergeRuntimeContainers`), python/huggingface_server.Dockerfile (`VLLM_VERSION`)",
        case: "tests/cases/llm-vllm-inferenceservice",
    },
    Rule {
        id: "hf-server-tensor-parallel",
        component: Component::Vllm,
        cluster: "KServe's Hugging Face server overrides vLLM's tensor parallel size with the number of GPUs the pod sees (`torch.cuda.device_count()`).",
        modelgen: "Refuses an `engine.tensorParallelSize` that differs from `resources.gpu` on the `kserve` backend.",
        source: "kserve/kserve@v0.20.0:python/huggingfaceserver/huggingfaceserver/vllm/vllm_model.py",
        case: "tests/cases/error-llm-vllm-engine",
    },
];
