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

/// The executor's ports in the model's pod (`DEFAULT_EXECUTOR_CONTAINER_PORT`, `DEFAULT_EXECUTOR_GRPC_PORT`).
pub const EXECUTOR_PORTS: [i64; 2] = [8000, 5001];

/// Variables the operator sets on every graph container (`createContainerService`, `addPortEnvs`, `addModelEnvs`).
pub const OPERATOR_ENV: [&str; 18] = [
    "PREDICTIVE_UNIT_SERVICE_PORT",
    "PREDICTIVE_UNIT_HTTP_SERVICE_PORT",
    "PREDICTIVE_UNIT_GRPC_SERVICE_PORT",
    "PREDICTIVE_UNIT_METRICS_SERVICE_PORT",
    "PREDICTIVE_UNIT_METRICS_ENDPOINT",
    "PREDICTIVE_UNIT_PARAMETERS",
    "PREDICTIVE_UNIT_IMAGE",
    "PREDICTIVE_UNIT_ID",
    "PREDICTOR_ID",
    "PREDICTOR_LABELS",
    "SELDON_DEPLOYMENT_ID",
    "SELDON_EXECUTOR_ENABLED",
    "MLSERVER_HTTP_PORT",
    "MLSERVER_GRPC_PORT",
    "MLSERVER_METRICS_PORT",
    "MLSERVER_METRICS_ENDPOINT",
    "MLSERVER_MODEL_NAME",
    "MLSERVER_MODEL_URI",
];

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
    Rule {
        id: "seldon-custom-container",
        component: Component::SeldonV1,
        cluster: "A graph node without `implementation` is served by the container of its predictor's `componentSpecs` that has the node's name (the webhook refuses a node without one). The executor calls it on the container port named `http` (`grpc` with the gRPC transport), else on a port it assigns from 9000; a `modelUri` gets the storage initializer, which downloads into `/mnt/models`. The operator adds TCP readiness and liveness probes on the port and sets the `PREDICTIVE_UNIT_*`, `PREDICTOR_*`, `SELDON_*` and `MLSERVER_*` variables; where one of them is already set, `SetEnvVar` returns an empty list and the container loses its other variables.",
        modelgen: "Renders `image` as the graph node `model` (`type: MODEL`, no `implementation`) and the container `model` with `port` named `http` (`grpc` for a gRPC `protocol`), `storageUri` as the node's `modelUri`. Refuses the operator's variables.",
        source: "SeldonIO/seldon-core@v1.17.1:operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go (`checkPredictiveUnits`), defaults.go (`setContainerPredictiveUnitDefaults`), operator/controllers/seldondeployment_controller.go (`createContainerService`, `addPortEnvs`), seldondeployment_prepackaged_servers.go (`addModelServersAndInitContainers`), operator/utils/utils.go (`SetEnvVar`)",
        case: "tests/cases/seldon-image",
    },
    Rule {
        id: "seldon-executor-ports",
        component: Component::SeldonV1,
        cluster: "The executor runs in the model's pod and listens on 8000 (HTTP and its metrics) and 5001 (gRPC); a model container cannot bind either.",
        modelgen: "Refuses `port` 8000 and 5001 on Seldon Core v1.",
        source: "SeldonIO/seldon-core@v1.17.1:operator/controllers/seldondeployment_engine.go (`DEFAULT_EXECUTOR_CONTAINER_PORT`, `DEFAULT_EXECUTOR_GRPC_PORT`, `createExecutorContainer`)",
        case: "tests/cases/error-image-backend-rules",
    },
];
