//! KEDA v2.20.2, and how KServe v0.20.0 drives it for an `InferenceService`: what a Prometheus trigger computes, which names its webhook refuses, and where KServe creates the `ScaledObject` itself.

use super::rule::{Component, Rule};

/// The annotation that selects KServe's autoscaler class.
pub const AUTOSCALER_CLASS_ANNOTATION: &str = "serving.kserve.io/autoscalerClass";
/// The class that makes KServe create a KEDA `ScaledObject` (Standard mode only).
pub const KEDA_CLASS: &str = "keda";
/// The API version of the `ScaledObject` modelgen renders for an `LLMInferenceService`.
pub const SCALED_OBJECT_API_VERSION: &str = "keda.sh/v1alpha1";
/// The prefix of the HPA KEDA names after a `ScaledObject` without `horizontalPodAutoscalerConfig.name`.
pub const HPA_PREFIX: &str = "keda-hpa-";
/// The suffix of modelgen's `ScaledObject`s.
pub const SCALER_SUFFIX: &str = "-scaler";
/// The window of the `tokens-per-second` preset's rate.
pub const RATE_WINDOW: &str = "1m";

/// The rules.
pub const RULES: &[Rule] = &[
    Rule {
        id: "keda-prometheus-average",
        component: Component::Keda,
        cluster: "A `prometheus` trigger without `metricType` is an `AverageValue` target: the HPA runs `ceil(query value / threshold)` replicas; `threshold` is read as a float; an empty query result counts as 0 (`ignoreNullValues` is true by default).",
        modelgen: "The presets sum over the version's pods (`waiting-requests`, `tokens-per-second` over a 1-minute rate, `kv-cache-usage` with the percent as a fraction), so `target` is per replica; `custom` passes the query as written. Scale to zero is refused with the presets: with no pod there is no vLLM series, and an empty result never wakes the model.",
        source: "kedacore/keda@v2.20.2:pkg/scalers/prometheus_scaler.go (`prometheusMetadata`), pkg/scalers/scaler.go (`GetMetricTargetType`)",
        case: "tests/cases/llm-keda",
    },
    Rule {
        id: "keda-names",
        component: Component::Keda,
        cluster: "The webhook refuses a `ScaledObject` whose name, or the name of the HPA it derives (`keda-hpa-<name>`), is longer than 63 characters.",
        modelgen: "Counts `keda-hpa-<name>-scaler` (and KServe's `keda-hpa-<name>-predictor`) among the names a spec's name must fit.",
        source: "kedacore/keda@v2.20.2:apis/keda/v1alpha1/scaledobject_webhook.go (`verifyName`, `getHpaName`)",
        case: "tests/cases/error-llm-name-too-long",
    },
    Rule {
        id: "kserve-keda",
        component: Component::Kserve,
        cluster: "With `serving.kserve.io/autoscalerClass: keda`, KServe creates the predictor's `ScaledObject` (`<name>-predictor`) itself from `autoScaling.metrics` (`External`, backend `prometheus`: server, query, threshold, `authenticationRef`) and `min`/`maxReplicas` (`maxReplicas` below `minReplicas` becomes `minReplicas`). The autoscaler reconciler runs only in Standard mode; in Knative mode the webhook accepts the annotation and nothing scales. `scaleMetric` is refused with KEDA.",
        modelgen: "Renders the annotation and an `External` metric (threshold as the string KServe passes on) for the KEDA metrics in Standard mode, never a `ScaledObject` of its own; refuses them in Knative mode, without `maxReplicas`, and with a Standard-mode `native` canary (whose Deployment would scale on the stable's query).",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/reconcilers/keda/keda_reconciler.go (`getKedaMetrics`, `createKedaScaledObject`), reconcilers/raw/raw_kube_reconciler.go, pkg/apis/serving/v1beta1/inference_service_validation.go (`validateScalingKedaCompExtension`)",
        case: "tests/cases/llm-vllm-inferenceservice",
    },
];
