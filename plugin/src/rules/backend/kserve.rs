//! KServe v0.20.0: the stock serving runtimes and how the controller picks one, what its webhook refuses, and what it copies onto pods.
//!
//! [`RUNTIMES`] is `config/runtimes/*.yaml` of the v0.20.0 tag as data; a test
//! (`tests/runtimes.rs`) checks it against the vendored files in
//! `tests/data/kserve-runtimes/` and every rendered `InferenceService`
//! against it, the way `GetSupportingRuntimes` matches them.

use super::rule::{Component, Rule};
use crate::diagnostic::quoted;
use crate::model::spec::{Model, ModelFormat, Protocol};

/// The default format version KServe reads when none is given: none (`mt:<name>` matches any version).
const ANY: Option<&str> = None;

/// One entry of a runtime's `supportedModelFormats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupportedFormat {
    /// `name`.
    pub name: &'static str,
    /// `version`, if the runtime gives one.
    pub version: Option<&'static str>,
    /// `autoSelect`: whether a predictor without a pinned runtime may get this runtime.
    pub auto_select: bool,
    /// `priority`: the highest wins among the runtimes that match.
    pub priority: Option<i32>,
}

/// A stock `ClusterServingRuntime` of `config/runtimes/` at v0.20.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// `metadata.name`.
    pub name: &'static str,
    /// `supportedModelFormats`.
    pub formats: &'static [SupportedFormat],
    /// `protocolVersions` (empty: any protocol).
    pub protocols: &'static [Protocol],
    /// Whether `config/runtimes/kustomization.yaml` (and the `kserve-runtime-configs`
    /// chart) installs it: `kserve-openvino.yaml` is in the folder but installed by neither.
    pub installed: bool,
    /// Whether it has a `workerSpec` (multi-node): never picked for a single-node predictor.
    pub multi_node: bool,
    /// The `serving.kserve.io/server-type` annotation, which selects the
    /// controller's per-server defaults (`SetRuntimeDefaults`).
    pub server_type: &'static str,
}

/// A format the runtime auto-selects, with its version and priority.
const fn f(name: &'static str, version: &'static str, priority: i32) -> SupportedFormat {
    SupportedFormat { name, version: Some(version), auto_select: true, priority: Some(priority) }
}

/// A format the runtime serves only when a predictor pins it.
const fn manual(name: &'static str, version: &'static str, priority: Option<i32>) -> SupportedFormat {
    SupportedFormat { name, version: Some(version), auto_select: false, priority }
}

use Protocol::{GrpcV1, GrpcV2, V1, V2};

/// `config/runtimes/*.yaml` of `kserve/kserve@v0.20.0`, in file-name order.
pub const RUNTIMES: &[Runtime] = &[
    Runtime {
        name: "kserve-autogluonserver",
        formats: &[f("autogluon", "1", 1)],
        protocols: &[V1, V2],
        installed: true,
        multi_node: false,
        server_type: "autogluonserver",
    },
    Runtime {
        name: "kserve-huggingfaceserver-multinode",
        formats: &[f("huggingface", "1", 2)],
        protocols: &[V2, V1],
        installed: true,
        multi_node: true,
        server_type: "huggingfaceserver",
    },
    Runtime {
        name: "kserve-huggingfaceserver",
        formats: &[f("huggingface", "1", 1)],
        protocols: &[V2, V1],
        installed: true,
        multi_node: false,
        server_type: "huggingfaceserver",
    },
    Runtime {
        name: "kserve-lgbserver",
        formats: &[f("lightgbm", "4", 1)],
        protocols: &[V1, V2],
        installed: true,
        multi_node: false,
        server_type: "lgbserver",
    },
    Runtime {
        name: "kserve-mlserver",
        formats: &[
            f("sklearn", "0", 2),
            f("sklearn", "1", 2),
            f("xgboost", "1", 2),
            f("xgboost", "2", 2),
            f("lightgbm", "3", 2),
            f("lightgbm", "4", 2),
            f("mlflow", "1", 1),
            f("mlflow", "2", 1),
        ],
        protocols: &[V2],
        installed: true,
        multi_node: false,
        server_type: "mlserver",
    },
    Runtime {
        name: "kserve-openvino",
        formats: &[
            f("openvino", "10", 1),
            f("onnx", "1", 2),
            f("tensorflow", "1", 3),
            SupportedFormat { name: "huggingface", version: ANY, auto_select: true, priority: None },
        ],
        protocols: &[V1, V2, GrpcV2],
        installed: false,
        multi_node: false,
        server_type: "ovms",
    },
    Runtime {
        name: "kserve-paddleserver",
        formats: &[f("paddle", "2", 1)],
        protocols: &[V1, V2],
        installed: true,
        multi_node: false,
        server_type: "paddleserver",
    },
    Runtime {
        name: "kserve-pmmlserver",
        formats: &[f("pmml", "3", 1), f("pmml", "4", 1)],
        protocols: &[V1, V2],
        installed: true,
        multi_node: false,
        server_type: "pmmlserver",
    },
    Runtime {
        name: "kserve-predictiveserver",
        formats: &[manual("sklearn", "1", Some(3)), manual("xgboost", "2", Some(3)), manual("lightgbm", "4", Some(3))],
        protocols: &[V1, V2],
        installed: true,
        multi_node: false,
        server_type: "predictiveserver",
    },
    Runtime {
        name: "kserve-sklearnserver",
        formats: &[f("sklearn", "1", 1)],
        protocols: &[V1, V2],
        installed: true,
        multi_node: false,
        server_type: "sklearnserver",
    },
    Runtime {
        name: "kserve-tensorflow-serving",
        formats: &[f("tensorflow", "1", 2), f("tensorflow", "2", 2)],
        protocols: &[V1, GrpcV1],
        installed: true,
        multi_node: false,
        server_type: "tensorflow-serving",
    },
    Runtime {
        name: "kserve-torchserve",
        formats: &[f("pytorch", "1", 2)],
        protocols: &[V1, V2, GrpcV2],
        installed: true,
        multi_node: false,
        server_type: "torchserve",
    },
    Runtime {
        name: "kserve-tritonserver",
        formats: &[
            f("tensorrt", "8", 1),
            f("tensorflow", "1", 1),
            f("tensorflow", "2", 1),
            f("onnx", "1", 1),
            manual("pytorch", "1", None),
            f("triton", "2", 1),
        ],
        protocols: &[V2, GrpcV2],
        installed: true,
        multi_node: false,
        server_type: "tritonserver",
    },
    Runtime {
        name: "kserve-vllmserver",
        formats: &[f("vLLM", "1", 1)],
        protocols: &[],
        installed: true,
        multi_node: false,
        server_type: "vllmserver",
    },
    Runtime {
        name: "kserve-xgbserver",
        formats: &[f("xgboost", "2", 1)],
        protocols: &[V1, V2],
        installed: true,
        multi_node: false,
        server_type: "xgbserver",
    },
];

/// The stock runtime called `name`.
pub fn stock(name: &str) -> Option<&'static Runtime> {
    RUNTIMES.iter().find(|r| r.name == name)
}

impl Runtime {
    /// `RuntimeSupportsModel`: the runtime lists `mt:<format>` (or
    /// `mt:<format>:<version>`, compared as strings) among the formats it
    /// offers, which are only its `autoSelect` ones unless it is pinned.
    pub fn supports_model(&self, format: &str, version: Option<&str>, pinned: bool) -> bool {
        self.formats
            .iter()
            .filter(|f| pinned || f.auto_select)
            .any(|f| f.name == format && (version.is_none() || f.version == version))
    }

    /// `IsProtocolVersionSupported`: an empty protocol list takes any protocol.
    pub fn supports_protocol(&self, protocol: Protocol) -> bool {
        self.protocols.is_empty() || self.protocols.contains(&protocol)
    }

    /// `GetPriority`: the priority of the first entry for `format` (whatever its version).
    fn priority(&self, format: &str) -> Option<i32> {
        self.formats.iter().find(|f| f.name == format).and_then(|f| f.priority)
    }

    /// The protocol the controller assumes when the predictor names none:
    /// `SetRuntimeDefaults` sets `v2` for the `mlserver` and `tritonserver`
    /// server types and `v1` for `torchserve`; for every other server
    /// `GetProtocol` reads an unset one as `v1`.
    pub fn default_protocol(&self) -> Protocol {
        match self.server_type {
            "mlserver" | "tritonserver" => V2,
            _ => V1,
        }
    }
}

/// `GetSupportingRuntimes` over the installed stock runtimes, for a
/// single-node predictor without a pinned runtime: the runtimes that
/// auto-select the format (and version) and take the protocol (unset reads
/// as `v1`), highest `priority` first. The first one is what KServe picks.
pub fn supporting(format: &str, version: Option<&str>, protocol: Option<Protocol>) -> Vec<&'static Runtime> {
    let protocol = protocol.unwrap_or(V1);
    let mut found: Vec<&'static Runtime> = RUNTIMES
        .iter()
        .filter(|r| r.installed && !r.multi_node)
        .filter(|r| r.supports_model(format, version, false) && r.supports_protocol(protocol))
        .collect();
    // `sortSupportedRuntimeByPriority`: a runtime with a priority comes before one without.
    found.sort_by_key(|r| std::cmp::Reverse(r.priority(format).map_or(i64::MIN, i64::from)));
    found
}

/// The order in which modelgen tries protocols for a format without one:
/// KServe's own default (`v1`) first, so that nothing changes where it works.
const PROTOCOL_ORDER: [Protocol; 4] = [V1, V2, GrpcV2, GrpcV1];

/// The `protocolVersion` modelgen writes: the spec's; `v2` for `triton` (the
/// webhook's default); for a pinned stock runtime, what the controller
/// assumes for it; for a pinned runtime of the user's, none (the runtime
/// decides); otherwise the first protocol, `v1` where possible, with which an
/// installed stock runtime auto-selects the format. `None` without a pinned
/// runtime means no stock runtime serves the format (validation says so).
pub fn protocol(model: &Model) -> Option<Protocol> {
    if let Some(protocol) = model.protocol {
        return Some(protocol);
    }
    // A model served by its own image has no format and no runtime to ask.
    let format = model.format?;
    if format == ModelFormat::Triton {
        return Some(V2);
    }
    match &model.runtime {
        Some(name) => stock(name).map(Runtime::default_protocol),
        None => PROTOCOL_ORDER
            .into_iter()
            .find(|p| !supporting(format.as_str(), model.format_version.as_deref(), Some(*p)).is_empty()),
    }
}

/// The runtime KServe v0.20.0 would run the model on: the pinned one, or
/// the one `GetSupportingRuntimes` puts first. `None` for a runtime that is
/// not a stock one, when none matches, and for a model served by its image.
pub fn selected(model: &Model) -> Option<&'static Runtime> {
    let format = model.format?;
    match &model.runtime {
        Some(name) => stock(name),
        None => supporting(format.as_str(), model.format_version.as_deref(), protocol(model)).first().copied(),
    }
}

/// Why no runtime would serve the model, with the field to blame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// `spec.model.<field>`.
    pub field: &'static str,
    /// What KServe will say, and why.
    pub message: String,
    /// What works instead.
    pub hint: String,
}

/// Checks the model against the stock runtimes the way the controller will.
pub fn mismatch(model: &Model) -> Option<Mismatch> {
    let format = model.format?.as_str();
    let version = model.format_version.as_deref();
    if let Some(name) = &model.runtime {
        // `reconcileModel` with a pinned runtime: format, version and protocol must be listed.
        let runtime = stock(name)?;
        if !runtime.supports_model(format, version, true) {
            let offered: Vec<String> = runtime
                .formats
                .iter()
                .map(|f| f.version.map_or_else(|| f.name.to_owned(), |v| format!("{} {v}", f.name)))
                .collect();
            let what = version.map_or_else(|| format!("`{format}`"), |v| format!("`{format}` version `{v}`"));
            return Some(Mismatch {
                field: if runtime.supports_model(format, None, true) { "formatVersion" } else { "runtime" },
                message: format!(
                    "the stock runtime `{name}` does not serve {what}; KServe stops with \"specified runtime {name} does not support specified framework/version\""
                ),
                hint: format!("`{name}` serves {}", quoted(offered)),
            });
        }
        if let Some(protocol) = model.protocol
            && !runtime.supports_protocol(protocol)
        {
            return Some(Mismatch {
                field: "protocol",
                message: format!(
                    "the stock runtime `{name}` does not speak protocol `{}`; KServe stops with \"specified runtime {name} does not support specified protocol version\"",
                    protocol.as_str()
                ),
                hint: format!("`{name}` speaks {}", quoted(runtime.protocols.iter().map(|p| p.as_str()))),
            });
        }
        return None;
    }
    let protocol = protocol(model);
    if protocol.is_some_and(|p| !supporting(format, version, Some(p)).is_empty()) {
        return None;
    }
    let installed = |r: &&Runtime| r.installed && !r.multi_node;
    let any_version = PROTOCOL_ORDER.iter().any(|p| !supporting(format, None, Some(*p)).is_empty());
    if !any_version {
        let elsewhere: Vec<&str> =
            RUNTIMES.iter().filter(|r| !r.installed && r.supports_model(format, None, false)).map(|r| r.name).collect();
        let hint = if elsewhere.is_empty() {
            "pin `runtime` to a ServingRuntime or ClusterServingRuntime of yours that serves it".to_owned()
        } else {
            format!(
                "apply {} from KServe's `config/runtimes/` (it is not installed by default) and pin `runtime: {}`, or pin a runtime of yours",
                quoted(&elsewhere),
                elsewhere[0]
            )
        };
        return Some(Mismatch {
            field: "format",
            message: format!(
                "no runtime KServe v0.20.0 installs auto-selects format `{format}`, so the InferenceService would never serve (\"no runtime found to support predictor\")"
            ),
            hint,
        });
    }
    let for_any_protocol = PROTOCOL_ORDER.iter().any(|p| !supporting(format, version, Some(*p)).is_empty());
    if !for_any_protocol {
        let versions: Vec<&str> = RUNTIMES
            .iter()
            .filter(installed)
            .flat_map(|r| r.formats.iter().filter(|f| f.auto_select && f.name == format).filter_map(|f| f.version))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return Some(Mismatch {
            field: "formatVersion",
            message: format!(
                "no runtime KServe v0.20.0 installs auto-selects `{format}` version `{}`: KServe compares the version as a string with the runtimes' (\"no runtime found to support predictor\")",
                version.unwrap_or_default()
            ),
            hint: format!("use one of {}, remove `formatVersion`, or pin `runtime`", quoted(versions)),
        });
    }
    let works: Vec<&str> = PROTOCOL_ORDER
        .iter()
        .filter(|p| !supporting(format, version, Some(**p)).is_empty())
        .map(|p| p.as_str())
        .collect();
    let asked = protocol.map_or("v1", Protocol::as_str);
    Some(Mismatch {
        field: "protocol",
        message: format!(
            "no runtime KServe v0.20.0 installs serves `{format}` over protocol `{asked}` (\"no runtime found to support predictor\")"
        ),
        hint: format!("use {} (or remove `protocol`), or pin `runtime`", quoted(works)),
    })
}

/// The container of a custom predictor that serves (`InferenceServiceContainerName`).
pub const CONTAINER_NAME: &str = "kserve-container";
/// A custom predictor's storage URI (`CustomSpecStorageUriEnvVarKey`).
pub const STORAGE_URI_ENV: &str = "STORAGE_URI";
/// A custom predictor's protocol, `v1` or `v2` (`CustomSpecProtocolEnvVarKey`).
pub const PROTOCOL_ENV: &str = "PROTOCOL";
/// Variables the webhook refuses on a predictor's containers (`DefaultBlockedEnvVars`).
pub const BLOCKED_ENV: [&str; 1] = ["PYTHONPATH"];

/// URI schemes KServe's storage initializer understands (`SupportedStorageURIPrefixList`).
pub const STORAGE_SCHEMES: [&str; 11] =
    ["s3", "gs", "pvc", "file", "https", "http", "hdfs", "webhdfs", "oci", "oci+native", "hf"];

/// The Knative autoscaling class annotation and the HPA class, which KServe's
/// webhook requires for `scaleMetric: cpu|memory` in Knative mode.
pub const KNATIVE_CLASS_ANNOTATION: &str = "autoscaling.knative.dev/class";
/// The value of [`KNATIVE_CLASS_ANNOTATION`] that selects Knative's HPA autoscaler.
pub const KNATIVE_HPA_CLASS: &str = "hpa.autoscaling.knative.dev";

/// The suffix of modelgen's split route: KServe names its own routes
/// `<isvc>` and `<isvc>-<component>`, never this.
pub const ROUTE_SUFFIX: &str = "-traffic";

/// What KServe derives from an InferenceService's predictor for its pods, so
/// that tests can tell which changes of modelgen's output roll pods;
/// rendering never needs it.
#[cfg(test)]
pub(crate) mod pod_template {
    use serde_json::{Map, Value, json};

    /// InferenceService annotations KServe does not copy onto the pod template
    /// (`constants.ServiceAnnotationDisallowedList`; the cluster's
    /// `inferenceservice-config` can only add to it).
    pub const NOT_PROPAGATED_ANNOTATIONS: [&str; 5] = [
        "autoscaling.knative.dev/min-scale",
        "autoscaling.knative.dev/max-scale",
        "internal.serving.kserve.io/storage-initializer-sourceuri",
        "kubectl.kubernetes.io/last-applied-configuration",
        "modelFormat",
    ];
    /// InferenceService labels KServe does not copy onto a Knative revision (`RevisionTemplateLabelDisallowedList`).
    pub const NOT_PROPAGATED_LABELS: [&str; 1] = ["networking.kserve.io/visibility"];

    /// The Knative revision template KServe derives from a Knative-mode
    /// InferenceService's predictor: a change here is a new revision, and new
    /// pods (`buildObjectMeta` in `components/predictor.go`, `createKnativeService`
    /// in `knative/ksvc_reconciler.go`). Traffic fields are not part of it.
    pub fn revision_template(isvc: &Value) -> Value {
        let predictor = &isvc["spec"]["predictor"];
        let strings = |v: &Value| v.as_object().cloned().unwrap_or_default();
        // Labels: the InferenceService's, then the predictor's over them.
        let mut labels: Map<String, Value> = strings(&isvc["metadata"]["labels"]);
        labels.extend(strings(&predictor["labels"]));
        labels.retain(|k, _| !NOT_PROPAGATED_LABELS.contains(&k.as_str()));
        labels.insert("serving.kserve.io/inferenceservice".into(), isvc["metadata"]["name"].clone());
        labels.insert("component".into(), json!("predictor"));
        let mut annotations: Map<String, Value> = strings(&isvc["metadata"]["annotations"]);
        annotations.retain(|k, _| !NOT_PROPAGATED_ANNOTATIONS.contains(&k.as_str()));
        annotations.extend(strings(&predictor["annotations"]));
        annotations.insert(
            "internal.serving.kserve.io/storage-initializer-sourceuri".into(),
            predictor["model"]["storageUri"].clone(),
        );
        let mut pod = strings(predictor);
        for traffic in ["canaryTrafficPercent", "labels", "annotations"] {
            pod.remove(traffic);
        }
        json!({ "metadata": { "labels": labels, "annotations": annotations }, "spec": pod })
    }
}

/// KServe's rules.
pub const RULES: &[Rule] = &[
    Rule {
        id: "kserve-runtime-match",
        component: Component::Kserve,
        cluster: "Without `runtime`, the controller picks an installed ClusterServingRuntime that auto-selects the format (and the exact version string, if given) and lists the protocol (unset reads as `v1`); the highest `priority` wins. None matches: \"no runtime found\", the model never serves. `kserve-openvino` is in `config/runtimes/` but not installed.",
        modelgen: "Writes the protocol of the stock runtime KServe would pick: `v1` where one serves it, else `v2` (onnx and tensorrt on Triton, mlflow on MLServer). Refuses a format, version or protocol that no installed stock runtime serves (openvino without a pinned runtime).",
        source: "kserve/kserve@v0.20.0:pkg/apis/serving/v1beta1/predictor_model.go (`GetSupportingRuntimes`), config/runtimes/",
        case: "tests/cases/kserve-default-protocols",
    },
    Rule {
        id: "kserve-pinned-runtime",
        component: Component::Kserve,
        cluster: "A pinned runtime must list the format and version (autoSelect or not) and the protocol, or the reconcile stops (\"specified runtime does not support ...\"). The webhook sets `v2` for `triton`; the controller defaults MLServer and Triton to `v2`, every other server to `v1`.",
        modelgen: "Refuses a stock runtime that does not serve the format, version or protocol; writes the runtime's default protocol; leaves `protocolVersion` to a runtime of the user's.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/components/predictor.go (`reconcileModel`), pkg/apis/serving/v1beta1/inference_service_defaults.go",
        case: "tests/cases/error-kserve-no-stock-runtime",
    },
    Rule {
        id: "kserve-knative-hpa-metric",
        component: Component::Kserve,
        cluster: "In Knative mode the webhook accepts `scaleMetric` `cpu` or `memory` only with the annotation `autoscaling.knative.dev/class: hpa.autoscaling.knative.dev`; without it only the KPA metrics `concurrency` and `rps` pass. `rps` needs a target of at least 1.",
        modelgen: "Renders the HPA class annotation for `metric: cpu` in Knative mode (see `knative-hpa`); refuses `memory` there.",
        source: "kserve/kserve@v0.20.0:pkg/apis/serving/v1beta1/inference_service_validation.go (`validateAutoScalingCompExtension`), pkg/constants/constants.go (`AutoscalerAllowedKPAMetricsList`)",
        case: "tests/cases/kserve-knative-cpu-hpa",
    },
    Rule {
        id: "kserve-own-routes",
        component: Component::Kserve,
        cluster: "KServe creates and rewrites on every reconcile a route named after the InferenceService: the top-level HTTPRoute `<name>` (Standard mode with `enableGatewayApi`) and the VirtualService `<name>` (Knative mode with Istio).",
        modelgen: "Names its weighted route `<name>-traffic`, a name KServe never uses, so the two never overwrite each other.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/httproute_reconciler.go, ingress_reconciler.go",
        case: "examples/ranker-kserve-split",
    },
    Rule {
        id: "kserve-pod-template",
        component: Component::Kserve,
        cluster: "The InferenceService's labels and annotations (but for a short disallowed list) and the predictor's `labels` are copied onto the pod template (Knative revision or Deployment): a change to one is a new revision, new pods.",
        modelgen: "Keeps bookkeeping that changes during a rollout off the pod template: a native canary's version is the predictor's `app.kubernetes.io/version` label, which promotion leaves as it was, so promotion rolls no pods. `modelgen.dev/source` stays: renaming a spec file rolls the pods once (add it to `serviceAnnotationDisallowedList` in `inferenceservice-config` to avoid that).",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/components/predictor.go (`buildObjectMeta`), reconcilers/knative/ksvc_reconciler.go, pkg/constants/constants.go (`ServiceAnnotationDisallowedList`)",
        case: "tests/cases/kserve-knative-canary",
    },
    Rule {
        id: "knative-canary-first-apply",
        component: Component::Kserve,
        cluster: "A Knative-mode canary splits only when the InferenceService has a rolled-out revision. On a fresh cluster, or a recreated InferenceService, the canary's revision takes 100 % (kserve#2649).",
        modelgen: "Warns on every native Knative canary unless `cluster.acknowledge` lists `knative-canary-first-apply`; `canary: {strategy: split}` in the project's `defaults` makes every canary explicit in Git.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go (`createKnativeService`)",
        case: "tests/cases/kserve-knative-canary",
    },
    Rule {
        id: "kserve-standard-canary",
        component: Component::Kserve,
        cluster: "A Standard-mode `spec.canary` gets its own Deployment, but v0.20.0 routes no traffic to it (weighted routing landed after the release).",
        modelgen: "Standard mode splits with its own route by default; `strategy: native` there is a warning.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/components/predictor.go (`reconcileCanaryDeployments`), reconcilers/ingress/httproute_reconciler.go",
        case: "tests/cases/kserve-standard-native-canary",
    },
    Rule {
        id: "kserve-custom-predictor",
        component: Component::Kserve,
        cluster: "A predictor with `containers` instead of `model` is a custom predictor: no ServingRuntime is involved and the container named `kserve-container` serves (the webhook gives a lone container that name). Its protocol is the `PROTOCOL` variable, `v1` (default) or `v2`; the webhook refuses another value and the variable `PYTHONPATH`, and fills the cpu and memory requests and limits the container does not set from `inferenceservice-config` (1 CPU and 2Gi as shipped).",
        modelgen: "Renders `image` as `predictor.containers[0]`, named `kserve-container`, with `command`, `args`, `env`, `envFrom` and `resources`, and `protocol` as `PROTOCOL` (a gRPC protocol names the port `h2c`). Refuses `format`, `formatVersion` and `runtime` beside `image`, and the variables `PROTOCOL`, `STORAGE_URI` and `PYTHONPATH`.",
        source: "kserve/kserve@v0.20.0:pkg/apis/serving/v1beta1/predictor_custom.go (`Default`, `validateCustomProtocol`), predictor.go (`GetImplementations`), inference_service_defaults.go (`setResourceRequirementDefaults`), config/configmap/inferenceservice.yaml, pkg/validation/env_policy.go",
        case: "tests/cases/kserve-image-knative",
    },
    Rule {
        id: "kserve-custom-storage",
        component: Component::Kserve,
        cluster: "A custom predictor's storage URI is its container's `STORAGE_URI` variable: the controller marks the pod for the storage initializer, which downloads the artifacts into `/mnt/models` before the server starts and sets `STORAGE_URI` to that path (`pvc://` mounts the claim there; `oci://` runs the image as a modelcar sidecar).",
        modelgen: "Writes `storageUri` as `STORAGE_URI`, first among the container's variables; a server reads its model from the path the variable holds.",
        source: "kserve/kserve@v0.20.0:pkg/apis/serving/v1beta1/predictor_custom.go (`GetStorageUri`), pkg/controller/v1beta1/inferenceservice/components/predictor.go (`addStorageInitializerAnnotations`), pkg/webhook/admission/pod/storage_initializer_injector.go (`CommonStorageInitialization`, `InjectModelcar`)",
        case: "tests/cases/kserve-image-knative",
    },
    Rule {
        id: "kserve-custom-port",
        component: Component::Kserve,
        cluster: "A custom predictor's server port is its container's first port: in Standard mode the predictor Service maps port 80 to it (to 8080 without one) and the Deployment gets a TCP readiness probe on it; a port whose name has `grpc` or `h2c` is served as HTTP/2. The CRD defaults a port's `protocol` to `TCP`.",
        modelgen: "Writes `port` (default 8080) as the container's only port with `protocol: TCP`, named `h2c` for a gRPC `protocol`. Renders no probes: the Standard-mode Deployment and Knative's revision probe the port over TCP. Standard-mode monitoring scrapes `/metrics` on it.",
        source: "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/reconcilers/service/service_reconciler.go (`createDefaultSvc`), reconcilers/deployment/deployment_reconciler.go (`setDefaultPodSpec`), config/crd/full/serving.kserve.io_inferenceservices.yaml",
        case: "tests/cases/kserve-image-split-shadow",
    },
    Rule {
        id: "kserve-canary-needs-model",
        component: Component::Kserve,
        cluster: "A Standard-mode `spec.canary` is refused unless the stable predictor has a model or a storage URI (\"canary requires a stable predictor with a model\"). The canary's predictor is the stable one with the canary's fields merged over it: the canary's `containers` replace the stable predictor's.",
        modelgen: "Refuses a native Standard-mode canary of a model its image serves without `storageUri` (`split` works); writes the canary's complete container.",
        source: "kserve/kserve@v0.20.0:pkg/apis/serving/v1beta1/inference_service_validation.go (`validateCanarySpecs`), pkg/controller/v1beta1/inferenceservice/components/predictor.go (`buildCanaryPredictor`)",
        case: "tests/cases/kserve-image-standard-native-canary",
    },
    Rule {
        id: "kserve-storage-hf",
        component: Component::Kserve,
        cluster: "The storage initializer reads `hf://owner/model[:revision]`: what follows `hf://` must split at `/` into exactly an owner and a model, both non-empty (a trailing `/` makes a third, empty part and the download fails); the revision after `:` is a branch, a tag or a commit.",
        modelgen: "Refuses any other shape. A revision that is not a 40-hex commit hash (a branch, a tag, or none: `main`) can change under the same Git commit, which `policy.mutableReferences` reports.",
        source: "kserve/kserve@v0.20.0:python/storage/kserve_storage/kserve_storage.py (`_download_hf`)",
        case: "tests/cases/error-image-pinning-policy",
    },
    Rule {
        id: "kserve-storage-oci",
        component: Component::Kserve,
        cluster: "An `oci://` (or `oci+native://`) URI names an image the node pulls and the pod runs as a modelcar sidecar (or mounts as an image volume): everything after the scheme is the image reference.",
        modelgen: "Parses it as an image reference (rule `image-reference`); without a digest it is mutable, which `policy.mutableReferences` reports.",
        source: "kserve/kserve@v0.20.0:pkg/utils/storage.go (`ParseOciScheme`, `ConfigureModelcarToContainer`)",
        case: "tests/cases/error-image-pinning-policy",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn model(format: ModelFormat, version: Option<&str>, runtime: Option<&str>, protocol: Option<Protocol>) -> Model {
        Model {
            format: Some(format),
            format_version: version.map(str::to_owned),
            version: "v1".into(),
            storage_uri: Some("s3://m/1".into()),
            runtime: runtime.map(str::to_owned),
            protocol,
            image: None,
            port: None,
            command: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            env_from: Vec::new(),
            served_name: None,
        }
    }

    #[test]
    fn each_format_defaults_to_a_protocol_a_stock_runtime_serves() {
        let expected = [
            (ModelFormat::Sklearn, Some(V1), Some("kserve-sklearnserver")),
            (ModelFormat::Xgboost, Some(V1), Some("kserve-xgbserver")),
            (ModelFormat::Lightgbm, Some(V1), Some("kserve-lgbserver")),
            (ModelFormat::Tensorflow, Some(V1), Some("kserve-tensorflow-serving")),
            (ModelFormat::Pytorch, Some(V1), Some("kserve-torchserve")),
            (ModelFormat::Onnx, Some(V2), Some("kserve-tritonserver")),
            (ModelFormat::Triton, Some(V2), Some("kserve-tritonserver")),
            (ModelFormat::Tensorrt, Some(V2), Some("kserve-tritonserver")),
            (ModelFormat::Huggingface, Some(V1), Some("kserve-huggingfaceserver")),
            (ModelFormat::Mlflow, Some(V2), Some("kserve-mlserver")),
            (ModelFormat::Pmml, Some(V1), Some("kserve-pmmlserver")),
            (ModelFormat::Paddle, Some(V1), Some("kserve-paddleserver")),
            (ModelFormat::Openvino, None, None),
            (ModelFormat::Autogluon, Some(V1), Some("kserve-autogluonserver")),
        ];
        for (format, protocol_, runtime) in expected {
            let m = model(format, None, None, None);
            assert_eq!(protocol(&m), protocol_, "{format:?}");
            assert_eq!(selected(&m).map(|r| r.name), runtime, "{format:?}");
            assert_eq!(mismatch(&m).is_some(), runtime.is_none(), "{format:?}");
        }
    }

    #[test]
    fn the_highest_priority_wins_and_versions_compare_as_strings() {
        // sklearn over v2: MLServer (priority 2) before the sklearn server (1).
        assert_eq!(
            selected(&model(ModelFormat::Sklearn, None, None, Some(V2))).map(|r| r.name),
            Some("kserve-mlserver")
        );
        assert_eq!(supporting("sklearn", Some("1"), Some(V1)).len(), 1, "the predictive server does not auto-select");
        let m = mismatch(&model(ModelFormat::Sklearn, Some("1.3"), None, None)).expect("no runtime has `1.3`");
        assert_eq!(m.field, "formatVersion");
        assert!(m.hint.contains("`0`, `1`"), "{}", m.hint);
        let m = mismatch(&model(ModelFormat::Onnx, None, None, Some(V1))).expect("Triton speaks v2 only");
        assert_eq!(
            (m.field, m.hint.as_str()),
            ("protocol", "use `v2`, `grpc-v2` (or remove `protocol`), or pin `runtime`")
        );
        let m = mismatch(&model(ModelFormat::Openvino, None, None, None)).expect("not installed");
        assert!(m.hint.contains("`kserve-openvino`"), "{}", m.hint);
    }

    #[test]
    fn pinned_runtimes_are_checked_the_way_reconcile_model_checks_them() {
        assert_eq!(mismatch(&model(ModelFormat::Pytorch, Some("1"), Some("kserve-tritonserver"), None)), None);
        assert_eq!(protocol(&model(ModelFormat::Sklearn, None, Some("kserve-mlserver"), None)), Some(V2));
        assert_eq!(protocol(&model(ModelFormat::Sklearn, None, Some("my-runtime"), None)), None);
        assert_eq!(protocol(&model(ModelFormat::Triton, None, Some("my-runtime"), None)), Some(V2));
        let wrong = mismatch(&model(ModelFormat::Sklearn, None, Some("kserve-xgbserver"), None)).expect("wrong format");
        assert_eq!(wrong.field, "runtime");
        let protocol =
            mismatch(&model(ModelFormat::Sklearn, None, Some("kserve-mlserver"), Some(V1))).expect("v2 only");
        assert_eq!(protocol.field, "protocol");
        assert_eq!(mismatch(&model(ModelFormat::Sklearn, None, Some("my-runtime"), Some(V1))), None);
    }
}
