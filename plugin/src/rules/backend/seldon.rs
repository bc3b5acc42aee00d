//! Seldon Core v1.17.1: what its executor's request metric counts, and what its operator writes in `status`.

use super::rule::{Component, Rule};

/// The `service` label values of the executor's request metric that are
/// predictions, for a SeldonDeployment's `protocol`: REST's `predictions`
/// and the gRPC prediction methods (`FullMethod`) of the one gRPC service the
/// executor registers for that protocol (it serves REST and gRPC at once).
pub fn prediction_services(protocol: &str) -> &'static [&'static str] {
    match protocol {
        "tensorflow" => &[
            "predictions",
            "/tensorflow.serving.PredictionService/Predict",
            "/tensorflow.serving.PredictionService/Classify",
            "/tensorflow.serving.PredictionService/Regress",
        ],
        "v2" | "kfserving" => &["predictions", "/inference.GRPCInferenceService/ModelInfer"],
        _ => &["predictions", "/seldon.protos.Seldon/Predict"],
    }
}

/// Seldon Core v1's rules.
pub const RULES: &[Rule] = &[
    Rule {
        id: "seldon-executor-service",
        component: Component::SeldonV1,
        cluster: "The executor's `seldon_api_executor_server_requests_seconds` counts every call it serves, labelled `service`: `predictions`, `feedback`, `status` and `metadata` over REST (readiness checks included), the method's full name over gRPC.",
        modelgen: "Counts only prediction calls (`service` `predictions`, and the prediction methods of the protocol's gRPC service) for request rate, errors and latency.",
        source: "SeldonIO/seldon-core@v1.17.1:executor/api/rest/server.go (`wrapMetrics`), executor/api/metric/server.go, executor/cmd/executor/main.go",
        case: "tests/cases/monitoring-seldon-canary",
    },
    Rule {
        id: "seldon-status-generation",
        component: Component::SeldonV1,
        cluster: "The operator reports `status.state` (`Creating`, `Available`, `Failed`) but never writes `status.observedGeneration` (the field comes with the inlined `duckv1.Status`).",
        modelgen: "The Argo CD health check in `deploy/argocd/health/` reads `status.state` only.",
        source: "SeldonIO/seldon-core@v1.17.1:operator/apis/machinelearning.seldon.io/v1/seldon_deployment_status.go, operator/controllers/seldondeployment_controller.go",
        case: "examples/fraud-seldon",
    },
];
