//! Where each backend's request metrics come from, what they cannot tell, and the `PromQL` that reads them.

use super::promql::{
    ROLE_LABEL, WINDOW, and, quantile_by_version, quote, rate_by_version, rate_by_version_over, regex_escape,
};
use crate::model::spec::{Backend, DeploymentMode, ModelFormat, Spec};
use crate::render::seldon_v2;
use crate::rules::backend::kserve_llm::PREFILL_ROLE;
use crate::rules::backend::vllm::{E2E_LATENCY, FINISHED_WITH_ERROR, REQUEST_SUCCESS};

/// Server errors: HTTP 5xx, or the gRPC codes that map to them.
const SERVER_ERROR_CODES: &str = "5..|Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss";

/// KServe's Python model servers, which export `request_predict_seconds`.
const KSERVE_PYTHON_RUNTIMES: [&str; 8] = [
    "kserve-sklearnserver",
    "kserve-xgbserver",
    "kserve-lgbserver",
    "kserve-pmmlserver",
    "kserve-paddleserver",
    "kserve-autogluonserver",
    "kserve-huggingfaceserver",
    "kserve-predictiveserver",
];

/// Where a backend's request metrics come from: what it really exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Knative's queue-proxy sidecar (KServe in Knative mode): every request, its status and latency.
    QueueProxy,
    /// KServe's Python model servers in Standard mode: `request_predict_seconds`, no status.
    KservePython,
    /// KServe in Standard mode with a runtime whose request metrics modelgen does not know.
    KserveOther,
    /// Seldon Core v1's executor (service orchestrator).
    SeldonExecutor {
        /// The SeldonDeployment's `protocol`, which decides the names of its prediction calls.
        protocol: &'static str,
    },
    /// Seldon Core 2's agent beside each inference server.
    SeldonAgent,
    /// vLLM's own metrics: KServe's `LLMInferenceService`, or KServe's Hugging
    /// Face server with its vLLM backend in Standard mode. Finished requests
    /// by reason, and latency histograms.
    Vllm,
}

impl Source {
    /// The source for a spec's backend, mode and runtime.
    pub fn of(spec: &Spec) -> Source {
        match spec.backend {
            Backend::Seldon => Source::SeldonExecutor { protocol: crate::render::seldon::protocol(spec).0 },
            Backend::SeldonV2 => Source::SeldonAgent,
            Backend::KserveLlm => Source::Vllm,
            Backend::Kserve if spec.mode() == DeploymentMode::Knative => Source::QueueProxy,
            Backend::Kserve if vllm_engine(spec) => Source::Vllm,
            Backend::Kserve => {
                // The runtime KServe will run the model on (a pinned one of
                // the user's is unknown): sklearn over `v2` runs on MLServer,
                // which does not export `request_predict_seconds`.
                let python = crate::rules::backend::kserve::selected(&spec.model)
                    .is_some_and(|runtime| KSERVE_PYTHON_RUNTIMES.contains(&runtime.name));
                if python { Source::KservePython } else { Source::KserveOther }
            }
        }
    }

    /// Why request rates and latencies cannot be read, when they cannot.
    pub fn requests_missing(self) -> Option<&'static str> {
        (self == Source::KserveOther).then_some(
            "in Standard mode KServe has no sidecar that counts requests, and this runtime exports no request metrics modelgen reads (only KServe's Python model servers export `request_predict_seconds`)",
        )
    }

    /// Why error rates cannot be read, when they cannot.
    pub fn errors_missing(self) -> Option<&'static str> {
        match self {
            Source::KservePython | Source::KserveOther => Some(
                "in Standard mode KServe's model servers export no request status, so no error rate can be computed (Knative's queue-proxy counts them in Knative mode)",
            ),
            _ => None,
        }
    }

    /// Why a latency quantile cannot be chosen, when it cannot.
    pub fn quantiles_missing(self) -> Option<&'static str> {
        (self == Source::SeldonAgent).then_some(
            "Seldon Core 2 exports no per-model latency histogram (`seldon_model_infer_api_seconds` has no model label), so the alert compares the mean latency",
        )
    }

    /// Requests per second, per version, of the series `selector` picks.
    pub fn requests(self, selector: &str) -> Option<String> {
        self.requests_over(selector, WINDOW)
    }

    /// [`Source::requests`], averaged over `window` (a rollout's interval,
    /// or a short window that follows a weight change quickly).
    pub fn requests_over(self, selector: &str, window: &str) -> Option<String> {
        let rate = |metric: &str, selector: &str| rate_by_version_over(metric, selector, window);
        Some(match self {
            // Knative up to 1.18 (OpenCensus) and from 1.20 (OpenTelemetry) name the same count differently.
            Source::QueueProxy => format!(
                "{} or {}",
                rate("revision_app_request_count", selector),
                rate("kn_serving_invocation_duration_seconds_count", selector)
            ),
            Source::KservePython => rate("request_predict_seconds_count", selector),
            Source::KserveOther => return None,
            Source::SeldonExecutor { protocol } => {
                rate("seldon_api_executor_server_requests_seconds_count", &predictions(selector, protocol))
            }
            Source::SeldonAgent => rate("seldon_model_infer_total", selector),
            Source::Vllm => rate(REQUEST_SUCCESS, &serving(selector)),
        })
    }

    /// Server errors per second, per version.
    pub fn errors(self, selector: &str) -> Option<String> {
        let codes = format!("code=~{}", quote(SERVER_ERROR_CODES));
        Some(match self {
            Source::QueueProxy => format!(
                "{} or {}",
                rate_by_version("revision_app_request_count", &and(selector, "response_code_class=\"5xx\"")),
                rate_by_version(
                    "kn_serving_invocation_duration_seconds_count",
                    &and(selector, "http_response_status_code=~\"5..\"")
                )
            ),
            Source::KservePython | Source::KserveOther => return None,
            Source::SeldonExecutor { protocol } => rate_by_version(
                "seldon_api_executor_server_requests_seconds_count",
                &and(&predictions(selector, protocol), &codes),
            ),
            Source::SeldonAgent => rate_by_version("seldon_model_infer_total", &and(selector, &codes)),
            Source::Vllm => rate_by_version(
                REQUEST_SUCCESS,
                &and(&serving(selector), &format!("finished_reason={}", quote(FINISHED_WITH_ERROR))),
            ),
        })
    }

    /// Latency in seconds, per version: the quantile `q`, or the mean where the backend has no histogram.
    pub fn latency(self, selector: &str, q: Option<f64>) -> Option<String> {
        Some(match (self, q) {
            // The OpenCensus histogram is in milliseconds, the OpenTelemetry one in seconds.
            (Source::QueueProxy, Some(q)) => format!(
                "{} / 1000 or {}",
                quantile_by_version(q, "revision_app_request_latencies_bucket", selector),
                quantile_by_version(q, "kn_serving_invocation_duration_seconds_bucket", selector)
            ),
            (Source::KservePython, Some(q)) => quantile_by_version(q, "request_predict_seconds_bucket", selector),
            (Source::SeldonExecutor { protocol }, Some(q)) => quantile_by_version(
                q,
                "seldon_api_executor_server_requests_seconds_bucket",
                &predictions(selector, protocol),
            ),
            (Source::Vllm, Some(q)) => quantile_by_version(q, E2E_LATENCY, &serving(selector)),
            (Source::SeldonAgent, _) => format!(
                "{} / {}",
                rate_by_version("seldon_model_infer_seconds_total", selector),
                rate_by_version("seldon_model_infer_total", selector)
            ),
            _ => return None,
        })
    }
}

/// Whether KServe's Hugging Face server runs its vLLM backend with the
/// spec's engine settings or served name (modelgen then passes `--backend=vllm`).
pub fn vllm_engine(spec: &Spec) -> bool {
    spec.backend == Backend::Kserve
        && spec.model.format == Some(ModelFormat::Huggingface)
        && (spec.engine.is_some() || spec.model.served_name.is_some())
}

/// Whether vLLM's own metrics are scraped (its time to first token, KV cache, queue, tokens).
pub fn llm_metrics(spec: &Spec) -> bool {
    spec.backend == Backend::KserveLlm || vllm_engine(spec)
}

/// The series of pods that answer callers: prefill pods of a disaggregated
/// LLM only process prompts for the decode pods, which count the request.
pub fn serving(selector: &str) -> String {
    and(selector, &format!("{ROLE_LABEL}!={}", quote(PREFILL_ROLE)))
}

/// Why the quality metric cannot be read for this spec, when it cannot.
pub fn quality_missing(spec: &Spec) -> Option<String> {
    (spec.backend == Backend::SeldonV2 && seldon_v2::server_config(spec.model.format) != "mlserver").then(|| {
        format!(
            "on Seldon Core 2 the quality metric is read from MLServer, which labels it with the model; format `{}` runs on Seldon's Triton server",
            spec.model.format.map_or("", ModelFormat::as_str)
        )
    })
}

/// Seldon Core v1's executor times every call it serves (status, metadata
/// and feedback too): only predictions are requests.
fn predictions(selector: &str, protocol: &str) -> String {
    let services: Vec<String> =
        crate::rules::backend::seldon::prediction_services(protocol).iter().map(|s| regex_escape(s)).collect();
    and(selector, &format!("service=~{}", quote(&services.join("|"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Spec {
        let model =
            if yaml.contains("model:") { "" } else { "model: {format: sklearn, version: v1, storageUri: s3://m/1}\n" };
        let text = format!("{model}{yaml}");
        let node = crate::yaml::stream::parse_one(&text);
        crate::yaml::decoder::decode(&node).expect("a spec")
    }

    #[test]
    fn each_backend_reads_the_metrics_it_really_exports() {
        assert_eq!(Source::of(&spec("")), Source::QueueProxy);
        assert_eq!(Source::of(&spec("deploymentMode: Standard")), Source::KservePython);
        assert_eq!(
            Source::of(&spec("deploymentMode: Standard\nmodel: {format: tensorflow, version: v1, storageUri: s3://m}")),
            Source::KserveOther
        );
        let pinned = "deploymentMode: Standard\nmodel: {format: sklearn, version: v1, storageUri: s3://m, runtime: kserve-mlserver}";
        assert_eq!(Source::of(&spec(pinned)), Source::KserveOther);
        assert_eq!(Source::of(&spec("backend: seldon")), Source::SeldonExecutor { protocol: "seldon" });
        assert_eq!(Source::of(&spec("backend: seldon-v2")), Source::SeldonAgent);
        assert!(Source::KservePython.errors_missing().is_some() && Source::KservePython.requests_missing().is_none());
        assert!(Source::SeldonAgent.quantiles_missing().is_some() && Source::SeldonAgent.errors_missing().is_none());
        assert!(
            quality_missing(&spec("backend: seldon-v2\nmodel: {format: onnx, version: v1, storageUri: s3://m}"))
                .is_some()
        );
        assert!(quality_missing(&spec("backend: seldon-v2")).is_none());
    }
}
