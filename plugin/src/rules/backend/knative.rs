//! Knative Serving 1.20, under KServe's Knative mode: feature flags, the HPA autoscaler class, observability, and how its gateways route.

use super::rule::{Component, Rule};

/// The `config-features` keys of Knative Serving 1.20 (`NewFeaturesConfigFromMap`).
pub const FEATURES: [&str; 32] = [
    "autodetect-http2",
    "kubernetes.containerspec-addcapabilities",
    "kubernetes.podspec-affinity",
    "kubernetes.podspec-dnsconfig",
    "kubernetes.podspec-dnspolicy",
    "kubernetes.podspec-fieldref",
    "kubernetes.podspec-hostaliases",
    "kubernetes.podspec-hostipc",
    "kubernetes.podspec-hostnetwork",
    "kubernetes.podspec-hostpid",
    "kubernetes.podspec-init-containers",
    "kubernetes.podspec-nodeselector",
    "kubernetes.podspec-persistent-volume-claim",
    "kubernetes.podspec-persistent-volume-write",
    "kubernetes.podspec-priorityclassname",
    "kubernetes.podspec-runtimeclassname",
    "kubernetes.podspec-schedulername",
    "kubernetes.podspec-securitycontext",
    "kubernetes.podspec-shareprocessnamespace",
    "kubernetes.podspec-tolerations",
    "kubernetes.podspec-topologyspreadconstraints",
    "kubernetes.podspec-volumes-csi",
    "kubernetes.podspec-volumes-emptydir",
    "kubernetes.podspec-volumes-hostpath",
    "kubernetes.podspec-volumes-image",
    "kubernetes.podspec-volumes-mount-propagation",
    "multi-container",
    "multi-container-probing",
    "queueproxy.mount-podinfo",
    "queueproxy.resource-defaults",
    "secure-pod-defaults",
    "tag-header-based-routing",
];

/// The flag that lets a revision set `nodeSelector` (disabled by default).
pub const NODE_SELECTOR: &str = "kubernetes.podspec-nodeselector";
/// The flag that lets a revision set `tolerations` (disabled by default).
pub const TOLERATIONS: &str = "kubernetes.podspec-tolerations";

/// Whether `name` is a `config-features` key of Knative Serving 1.20.
pub fn is_feature(name: &str) -> bool {
    FEATURES.contains(&name)
}

/// Ports a serving container may not use (`reservedPorts`): the queue-proxy's
/// HTTP/1, HTTP/2 and admin ports, its two metrics ports, and profiling.
pub const RESERVED_PORTS: [i64; 6] = [8012, 8013, 8022, 9090, 9091, 8008];

/// Variables Knative sets on the serving container (`reservedEnvVars`).
pub const RESERVED_ENV: [&str; 4] = ["PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"];

/// Knative's rules.
pub const RULES: &[Rule] = &[
    Rule {
        id: "knative-podspec-flags",
        component: Component::Knative,
        cluster: "A revision may set `nodeSelector` or `tolerations` only when `kubernetes.podspec-nodeselector` or `kubernetes.podspec-tolerations` is `enabled` or `allowed` in `config-features` (both `disabled` by default); otherwise the webhook rejects KServe's Knative Service and the InferenceService never becomes ready.",
        modelgen: "Knative-mode node placement is a warning naming the flags; with `cluster.knativeFeatures` stated, a missing flag is an error.",
        source: "knative/serving@knative-v1.20.0:pkg/apis/serving/fieldmask.go (`PodSpecMask`), config/core/configmaps/features.yaml",
        case: "tests/cases/error-knative-placement-flags",
    },
    Rule {
        id: "knative-hpa",
        component: Component::Knative,
        cluster: "The HPA class (`hpa.autoscaling.knative.dev`) runs only with the `serving-hpa` extension installed (not part of `serving-core`). It reads a `memory` target as MiB (KServe's webhook caps any HPA target at 100) and never scales below one replica.",
        modelgen: "`metric: cpu` in Knative mode is a warning unless `cluster.acknowledge` lists `knative-hpa`; `memory`, and `minReplicas: 0` with `cpu`, are refused.",
        source: "knative/serving@knative-v1.20.0:pkg/reconciler/autoscaling/hpa/resources/hpa.go (`MakeHPA`), config/hpa-autoscaling/",
        case: "tests/cases/error-knative-hpa-metrics",
    },
    Rule {
        id: "knative-scale-target",
        component: Component::Knative,
        cluster: "`autoscaling.knative.dev/target` must be at least 0.01, so a target of `0` is rejected.",
        modelgen: "Refuses `scaling.target: 0` in Knative mode.",
        source: "knative/serving@knative-v1.20.0:pkg/apis/autoscaling/annotation_validation.go (`validateFloats`)",
        case: "tests/cases/error-knative-hpa-metrics",
    },
    Rule {
        id: "knative-request-metrics",
        component: Component::Knative,
        cluster: "From Knative 1.19 the queue-proxy exports its request metrics only when `config-observability` sets `request-metrics-protocol: prometheus` (the default is `none`); without them the latency, error-rate and traffic series are missing.",
        modelgen: "Knative-mode monitoring is a warning unless `cluster.acknowledge` lists `knative-request-metrics`; `ModelTrafficLow` names the setting when it fires for missing metrics.",
        source: "knative/serving@knative-v1.20.0:config/core/configmaps/observability.yaml, pkg/queue/sharedmain/otel.go",
        case: "tests/cases/monitoring-project-defaults",
    },
    Rule {
        id: "knative-shadow-host",
        component: Component::Knative,
        cluster: "A Knative predictor's Service leads to the cluster-local gateway, which picks the revision by `Host`. A mirrored request keeps the client's `Host` (Envoy appends `-shadow`; neither Gateway API nor Istio can rewrite a mirror's `Host`), so the shadow gets a 404, and mirror answers are discarded: it fails silently.",
        modelgen: "Refuses a KServe shadow in Knative mode; in Standard mode the shadow's predictor is a plain Service that takes any `Host`.",
        source: "knative/serving@knative-v1.20.0:pkg/reconciler/route/resources/service.go (`MakeK8sPlaceholderService`), envoyproxy/envoy#9094, istio/api#3705",
        case: "tests/cases/error-kserve-knative-shadow",
    },
    Rule {
        id: "knative-user-container",
        component: Component::Knative,
        cluster: "The webhook refuses a serving container whose port is 8012, 8013, 8022, 9090 or 9091 (the queue-proxy's) or 8008 (profiling), whose port protocol is not TCP or port name not `h2c` or `http1`, or that sets `PORT`, `K_SERVICE`, `K_CONFIGURATION` or `K_REVISION` (Knative sets them); the revision never becomes ready. Without a readiness probe, the port is probed over TCP.",
        modelgen: "Refuses those ports and variables for an image-served model in Knative mode.",
        source: "knative/serving@knative-v1.20.0:pkg/apis/serving/k8s_validation.go (`reservedPorts`, `reservedEnvVars`, `validateContainerPorts`), pkg/networking/constants.go, pkg/apis/serving/v1/revision_defaults.go (`applyUserContainerDefaultReadinessProbe`); knative/pkg@7bf6febca0b3 (pinned by its go.mod):observability/runtime/pprof.go (`ProfilingDefaultPort`)",
        case: "tests/cases/error-image-backend-rules",
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_placement_flags_are_knative_features() {
        assert!(super::is_feature(super::NODE_SELECTOR) && super::is_feature(super::TOLERATIONS));
        assert!(!super::is_feature("kubernetes.podspec-nodeselectors"));
    }
}
