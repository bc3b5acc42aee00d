//! Monitoring objects: a `PodMonitor` for exactly the model's pods, a `PrometheusRule` with recording rules and alerts, and a Grafana dashboard.
//!
//! The `PodMonitor` labels every series it scrapes with `model` (the spec's
//! name) and `version` (the model version the pod serves), whatever the
//! backend calls them, so that the rules and the dashboard pick stable,
//! canary and shadow the same way on every backend. What differs between
//! backends is which metrics they really export; that lives in [`Source`].
//! The recording rules turn each backend's metrics into the same series
//! (`modelgen:requests:rate5m`, ...), and the alerts read only those.

pub(crate) mod dashboard;

use serde_json::{Map, Value, json};

use super::{Target, Variant, metadata, seldon_v2, variant_model, variant_name};
use crate::model::monitoring::{self as spec, AlertSeverity, Direction, Monitoring};
use crate::model::spec::{Backend, DeploymentMode, Spec};

/// Per-version request rate (requests per second).
pub const REQUESTS: &str = "modelgen:requests:rate5m";
/// Per-version rate of requests answered with a server error.
pub const ERRORS: &str = "modelgen:request_errors:rate5m";
/// Per-version share of requests answered with a server error (0 to 1).
pub const ERROR_RATIO: &str = "modelgen:request_error_ratio:rate5m";
/// Per-version latency quantile in seconds (label `quantile`).
pub const LATENCY_QUANTILE: &str = "modelgen:request_latency_seconds:quantile5m";
/// Per-version mean latency in seconds (Seldon Core 2, which has no per-model histogram).
pub const LATENCY_MEAN: &str = "modelgen:request_latency_seconds:mean5m";
/// The rate window of every recording rule.
pub const WINDOW: &str = "5m";
/// The longest scrape interval that leaves four samples in [`WINDOW`].
pub const MAX_INTERVAL_MS: u64 = 75_000;
/// The runbook hint on every alert: in GitOps the spec is the state.
pub const RUNBOOK: &str = "roll back: revert the commit that changed the spec";
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
}

impl Source {
    /// The source for a spec's backend, mode and runtime.
    pub fn of(spec: &Spec) -> Source {
        match spec.backend {
            Backend::Seldon => Source::SeldonExecutor { protocol: super::seldon::protocol(spec).0 },
            Backend::SeldonV2 => Source::SeldonAgent,
            Backend::Kserve if spec.mode() == DeploymentMode::Knative => Source::QueueProxy,
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
}

/// Why the quality metric cannot be read for this spec, when it cannot.
pub fn quality_missing(spec: &Spec) -> Option<String> {
    (spec.backend == Backend::SeldonV2 && seldon_v2::server_config(spec.model.format) != "mlserver").then(|| {
        format!(
            "on Seldon Core 2 the quality metric is read from MLServer, which labels it with the model; format `{}` runs on Seldon's Triton server",
            spec.model.format.as_str()
        )
    })
}

/// The pieces every monitoring object is built from.
pub struct Plan<'a> {
    target: &'a Target<'a>,
    monitoring: &'a Monitoring,
    source: Source,
    /// The versions deployed, in order: stable, canary, shadow.
    variants: Vec<(Variant, &'a str)>,
}

impl<'a> Plan<'a> {
    fn new(target: &'a Target<'a>, monitoring: &'a Monitoring) -> Self {
        let spec = &target.spec.spec;
        let variants = [Variant::Stable, Variant::Canary, Variant::Shadow]
            .into_iter()
            .filter_map(|variant| variant_model(spec, variant).map(|(version, _)| (variant, version)))
            .collect();
        Plan { target, monitoring, source: Source::of(spec), variants }
    }

    fn name(&self) -> &str {
        &self.target.spec.metadata.name
    }

    fn spec(&self) -> &Spec {
        &self.target.spec.spec
    }

    fn version(&self, variant: Variant) -> Option<&'a str> {
        self.variants.iter().find(|(v, _)| *v == variant).map(|(_, version)| *version)
    }

    /// Stable and canary: the versions that answer callers.
    fn serving(&self) -> impl Iterator<Item = (Variant, &'a str)> + '_ {
        self.variants.iter().copied().filter(|(v, _)| *v != Variant::Shadow)
    }

    /// `namespace` (when known) and `model` matchers.
    fn base(&self) -> Vec<String> {
        let mut matchers = Vec::new();
        if let Some(namespace) = self.target.namespace {
            matchers.push(format!("namespace={}", quote(namespace)));
        }
        matchers.push(format!("model={}", quote(self.name())));
        matchers
    }

    /// Every series of this model that modelgen's scrape labelled.
    fn all_versions(&self) -> String {
        let mut matchers = self.base();
        matchers.push("version!=\"\"".to_owned());
        selector(&matchers)
    }

    /// The series of one version.
    fn only(&self, version: &str) -> String {
        let mut matchers = self.base();
        matchers.push(format!("version={}", quote(version)));
        selector(&matchers)
    }

    fn requests_available(&self) -> bool {
        self.source.requests_missing().is_none()
    }

    fn errors_available(&self) -> bool {
        self.requests_available() && self.source.errors_missing().is_none()
    }

    /// The latency quantile alerts and the dashboard compare, if the backend has quantiles.
    fn quantile(&self) -> Option<f64> {
        if self.source.quantiles_missing().is_some() {
            return None;
        }
        Some(self.monitoring.alerts.latency.as_ref().and_then(|l| l.quantile).unwrap_or(spec::DEFAULT_QUANTILE))
    }
}

/// Adds the monitoring objects of a spec with `monitoring` enabled. (A KServe
/// native canary's pods carry its version already: see `render::kserve`.)
pub fn render(target: &Target<'_>, objects: &mut Vec<Value>) {
    let Some(monitoring) = target.spec.spec.monitoring.as_ref().filter(|m| m.enabled) else { return };
    let plan = Plan::new(target, monitoring);
    objects.push(pod_monitor(&plan));
    if let Some(rule) = prometheus_rule(&plan) {
        objects.push(rule);
    }
    if monitoring.dashboard.enabled
        && let Some(config_map) = dashboard::config_map(&plan)
    {
        objects.push(config_map);
    }
}

/// `metadata` of a monitoring object: the shared metadata, plus the labels Prometheus selects on.
fn monitoring_metadata(
    plan: &Plan<'_>,
    name: &str,
    extra_labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
) -> Value {
    let stable = plan.spec().model.version.as_str();
    let mut meta = metadata(plan.target, name, stable, annotations);
    let labels = &mut meta["labels"];
    for (key, value) in &plan.monitoring.labels {
        labels[key] = json!(value);
    }
    for (key, value) in extra_labels {
        labels[*key] = json!(value);
    }
    meta
}

/// The `PodMonitor`: exactly the pods that serve this model's versions, on
/// the port and path where each backend exports its metrics.
fn pod_monitor(plan: &Plan<'_>) -> Value {
    let spec = plan.spec();
    let name = plan.name();
    let (selector, endpoints) = match spec.backend {
        Backend::Kserve => kserve_scrape(plan),
        Backend::Seldon => seldon_scrape(plan),
        Backend::SeldonV2 => seldon_v2_scrape(plan),
    };
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": monitoring_metadata(plan, name, &[], &[]),
        "spec": { "selector": selector, "podMetricsEndpoints": endpoints },
    })
}

/// One scrape endpoint with the spec's interval and timeout.
fn endpoint(plan: &Plan<'_>, path: &str) -> Map<String, Value> {
    let scrape = &plan.monitoring.scrape;
    let mut endpoint = Map::new();
    endpoint.insert("path".into(), json!(path));
    endpoint.insert("interval".into(), json!(scrape.interval()));
    if let Some(timeout) = &scrape.timeout {
        endpoint.insert("scrapeTimeout".into(), json!(timeout.0));
    }
    endpoint
}

/// `model` from the spec and `version` from the pod's `app.kubernetes.io/version` label.
fn pod_relabelings(plan: &Plan<'_>) -> Vec<Value> {
    vec![
        json!({ "action": "replace", "targetLabel": "model", "replacement": plan.name() }),
        json!({
            "action": "replace",
            "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_version"],
            "targetLabel": "version",
        }),
    ]
}

/// KServe: the predictor pods of the model's InferenceServices (one, or one
/// per version with `split`). Knative mode: the queue-proxy's request
/// metrics and the model server's own; Standard mode: the model server's.
fn kserve_scrape(plan: &Plan<'_>) -> (Value, Vec<Value>) {
    let spec = plan.spec();
    let services: Vec<String> = if spec.kserve_split() {
        plan.variants.iter().map(|(variant, _)| variant_name(plan.name(), *variant)).collect()
    } else {
        vec![plan.name().to_owned()]
    };
    let selector = json!({
        "matchLabels": { "component": "predictor" },
        "matchExpressions": [{ "key": "serving.kserve.io/inferenceservice", "operator": "In", "values": services }],
    });
    let mut endpoints = Vec::new();
    match spec.mode() {
        DeploymentMode::Knative => {
            for port in ["http-usermetric", "user-port"] {
                let mut queue = endpoint(plan, "/metrics");
                queue.insert("port".into(), json!(port));
                queue.insert("relabelings".into(), json!(pod_relabelings(plan)));
                endpoints.push(Value::Object(queue));
            }
        }
        DeploymentMode::Standard => {
            // KServe's runtimes need not declare the port they listen on, and
            // Prometheus drops targets on undeclared ports: point the model
            // server's target at its HTTP port (8080, KServe's default) by address.
            let mut relabelings = vec![
                json!({
                    "action": "keep",
                    "sourceLabels": ["__meta_kubernetes_pod_container_name"],
                    "regex": "kserve-container",
                }),
                json!({
                    "action": "replace",
                    "sourceLabels": ["__meta_kubernetes_pod_ip"],
                    "regex": "([^:]+)",
                    "targetLabel": "__address__",
                    "replacement": "$1:8080",
                }),
                json!({
                    "action": "replace",
                    "sourceLabels": ["__meta_kubernetes_pod_ip"],
                    "regex": "(.+:.+)",
                    "targetLabel": "__address__",
                    "replacement": "[$1]:8080",
                }),
            ];
            relabelings.extend(pod_relabelings(plan));
            let mut server = endpoint(plan, "/metrics");
            server.insert("relabelings".into(), json!(relabelings));
            endpoints.push(Value::Object(server));
        }
    }
    (selector, endpoints)
}

/// Seldon Core v1: the SeldonDeployment's pods; every container port named
/// `metrics` or `metrics-*` (the executor's and the model containers'), at `/prometheus`.
fn seldon_scrape(plan: &Plan<'_>) -> (Value, Vec<Value>) {
    let selector = json!({ "matchLabels": { "seldon-deployment-id": plan.name() } });
    let mut relabelings = vec![json!({
        "action": "keep",
        "sourceLabels": ["__meta_kubernetes_pod_container_port_name"],
        "regex": "metrics(-.*)?",
    })];
    relabelings.extend(pod_relabelings(plan));
    let mut endpoint = endpoint(plan, "/prometheus");
    endpoint.insert("relabelings".into(), json!(relabelings));
    (selector, vec![Value::Object(endpoint)])
}

/// Seldon Core 2: the pods of the Server the models run on (all Servers in
/// the namespace when the scheduler picks). Server pods host many models, so
/// only this model's series are kept, and each is labelled with the version
/// its internal name (`<model>_<generation>`) serves.
fn seldon_v2_scrape(plan: &Plan<'_>) -> (Value, Vec<Value>) {
    let spec = plan.spec();
    let server =
        if seldon_v2::dedicated_server(spec) { Some(seldon_v2::server_name(plan.name())) } else { spec.server.clone() };
    let selector = match server {
        Some(server) => json!({ "matchLabels": { "seldon-server-name": server } }),
        None => json!({ "matchExpressions": [{ "key": "seldon-server-name", "operator": "Exists" }] }),
    };
    // The agent labels its counters `model_internal`; MLServer labels the model's own metrics `model_name`.
    let endpoints = [("metrics", "model_internal"), ("server-metrics", "model_name")]
        .into_iter()
        .map(|(port, label)| {
            let models: Vec<String> = plan.variants.iter().map(|(v, _)| variant_name(plan.name(), *v)).collect();
            let mut relabelings = vec![json!({
                "action": "keep",
                "sourceLabels": [label],
                "regex": format!("({})_[0-9]+", models.join("|")),
            })];
            for (variant, version) in &plan.variants {
                relabelings.push(json!({
                    "action": "replace",
                    "sourceLabels": [label],
                    "regex": format!("{}_[0-9]+", variant_name(plan.name(), *variant)),
                    "targetLabel": "version",
                    "replacement": version,
                }));
            }
            relabelings.push(json!({ "action": "replace", "targetLabel": "model", "replacement": plan.name() }));
            let mut endpoint = endpoint(plan, "/metrics");
            endpoint.insert("port".into(), json!(port));
            endpoint.insert("metricRelabelings".into(), json!(relabelings));
            Value::Object(endpoint)
        })
        .collect();
    (selector, endpoints)
}

/// `sum by (namespace, model, version) (rate(<metric>{<selector>}[5m]))`.
fn rate_by_version(metric: &str, selector: &str) -> String {
    format!("sum by (namespace, model, version) (rate({metric}{selector}[{WINDOW}]))")
}

/// `histogram_quantile` over a histogram's buckets, per version.
fn quantile_by_version(q: f64, buckets: &str, selector: &str) -> String {
    format!("histogram_quantile({q}, sum by (namespace, model, version, le) (rate({buckets}{selector}[{WINDOW}])))")
}

/// Seldon Core v1's executor times every call it serves (status, metadata
/// and feedback too): only predictions are requests.
fn predictions(selector: &str, protocol: &str) -> String {
    let services: Vec<String> =
        crate::rules::backend::seldon::prediction_services(protocol).iter().map(|s| regex_escape(s)).collect();
    and(selector, &format!("service=~{}", quote(&services.join("|"))))
}

/// A selector with one more matcher.
fn and(selector: &str, matcher: &str) -> String {
    format!("{}, {matcher}}}", selector.trim_end_matches('}'))
}

impl Source {
    /// Requests per second, per version, of the series `selector` picks.
    fn requests(self, selector: &str) -> Option<String> {
        Some(match self {
            // Knative up to 1.18 (OpenCensus) and from 1.20 (OpenTelemetry) name the same count differently.
            Source::QueueProxy => format!(
                "{} or {}",
                rate_by_version("revision_app_request_count", selector),
                rate_by_version("kn_serving_invocation_duration_seconds_count", selector)
            ),
            Source::KservePython => rate_by_version("request_predict_seconds_count", selector),
            Source::KserveOther => return None,
            Source::SeldonExecutor { protocol } => {
                rate_by_version("seldon_api_executor_server_requests_seconds_count", &predictions(selector, protocol))
            }
            Source::SeldonAgent => rate_by_version("seldon_model_infer_total", selector),
        })
    }

    /// Server errors per second, per version.
    fn errors(self, selector: &str) -> Option<String> {
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
        })
    }

    /// Latency in seconds, per version: the quantile `q`, or the mean where the backend has no histogram.
    fn latency(self, selector: &str, q: Option<f64>) -> Option<String> {
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
            (Source::SeldonAgent, _) => format!(
                "{} / {}",
                rate_by_version("seldon_model_infer_seconds_total", selector),
                rate_by_version("seldon_model_infer_total", selector)
            ),
            _ => return None,
        })
    }
}

/// The `PrometheusRule`: recording rules that turn the backend's metrics
/// into modelgen's per-version series, then the alerts, which read only those.
fn prometheus_rule(plan: &Plan<'_>) -> Option<Value> {
    let mut groups = Vec::new();
    let recording = recording_rules(plan);
    if !recording.is_empty() {
        groups.push(json!({ "name": format!("modelgen.{}.recording", plan.name()), "rules": recording }));
    }
    let alerts = alert_rules(plan);
    if !alerts.is_empty() {
        groups.push(json!({ "name": format!("modelgen.{}.alerts", plan.name()), "rules": alerts }));
    }
    if groups.is_empty() {
        return None;
    }
    Some(json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": monitoring_metadata(plan, plan.name(), &[], &[]),
        "spec": { "groups": groups },
    }))
}

fn recording_rules(plan: &Plan<'_>) -> Vec<Value> {
    let source = plan.source;
    let all = plan.all_versions();
    let mut rules = Vec::new();
    let Some(requests) = source.requests(&all) else { return rules };
    rules.push(json!({ "record": REQUESTS, "expr": requests }));
    if plan.errors_available()
        && let Some(errors) = source.errors(&all)
    {
        rules.push(json!({ "record": ERRORS, "expr": errors }));
        // No error series at all means no errors, not an unknown ratio.
        rules.push(json!({
            "record": ERROR_RATIO,
            "expr": format!("({ERRORS}{all} or {REQUESTS}{all} * 0) / {REQUESTS}{all}"),
        }));
    }
    let q = plan.quantile();
    if let Some(latency) = source.latency(&all, q) {
        match q {
            Some(q) => rules.push(json!({
                "record": LATENCY_QUANTILE,
                "expr": latency,
                "labels": { "quantile": q.to_string() },
            })),
            None => rules.push(json!({ "record": LATENCY_MEAN, "expr": latency })),
        }
    }
    rules
}

/// The recorded latency series of one version.
fn latency_series(plan: &Plan<'_>, version: &str) -> String {
    match plan.quantile() {
        Some(q) => {
            format!("{LATENCY_QUANTILE}{}", and(&plan.only(version), &format!("quantile={}", quote(&q.to_string()))))
        }
        None => format!("{LATENCY_MEAN}{}", plan.only(version)),
    }
}

/// How the latency is described in messages: `p99` or `mean`.
fn latency_word(plan: &Plan<'_>) -> String {
    plan.quantile().map_or_else(|| "mean".to_owned(), percentile)
}

/// `0.99` as `p99`, `0.5` as `p50`, `0.995` as `p99.5`.
pub fn percentile(q: f64) -> String {
    let text = q.to_string();
    let digits = text.strip_prefix("0.").unwrap_or(&text);
    match digits.len() {
        0 => format!("p{text}"),
        1 => format!("p{digits}0"),
        2 => format!("p{digits}"),
        _ => format!("p{}.{}", &digits[..2], &digits[2..]),
    }
}

/// What every alert of a spec shares.
struct AlertSpec<'a> {
    name: &'a str,
    expr: String,
    for_: String,
    severity: AlertSeverity,
    version: &'a str,
    variant: Option<Variant>,
    summary: String,
    description: String,
}

fn alert(plan: &Plan<'_>, alert: &AlertSpec<'_>) -> Value {
    let mut labels = json!({
        "severity": alert.severity.as_str(),
        "model": plan.name(),
        "version": alert.version,
        "backend": plan.spec().backend.to_string(),
    });
    if let Some(variant) = alert.variant {
        labels["variant"] = json!(variant.as_str());
    }
    let description = format!("{} Spec: `{}`.", alert.description, plan.target.source);
    json!({
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": labels,
        "annotations": { "summary": alert.summary, "description": description, "runbook": RUNBOOK },
    })
}

fn for_or(duration: Option<&spec::Duration>, default: &str) -> String {
    duration.map_or_else(|| default.to_owned(), |d| d.0.clone())
}

/// Who the alert is about, for messages: `mochanet v1.2.0 (stable)`.
fn who(plan: &Plan<'_>, variant: Variant, version: &str) -> String {
    format!("{} {version} ({})", plan.name(), variant.as_str())
}

#[allow(clippy::too_many_lines)] // One block per alert kind reads best side by side.
fn alert_rules(plan: &Plan<'_>) -> Vec<Value> {
    let alerts = &plan.monitoring.alerts;
    let stable = plan.spec().model.version.as_str();
    let mut rules = Vec::new();
    if let Some(latency) = &alerts.latency
        && plan.requests_available()
    {
        for (variant, version) in plan.serving() {
            let word = latency_word(plan);
            rules.push(alert(
                plan,
                &AlertSpec {
                    name: "ModelLatencyHigh",
                    expr: format!("{} > {} / 1000", latency_series(plan, version), latency.threshold_ms),
                    for_: for_or(latency.for_.as_ref(), "5m"),
                    severity: latency.severity.unwrap_or(AlertSeverity::Warning),
                    version,
                    variant: Some(variant),
                    summary: format!("{}: {word} latency above {} ms", who(plan, variant, version), latency.threshold_ms),
                    description: format!(
                        "The {word} of request latency of {} has been above {} ms; it is {{{{ $value | humanizeDuration }}}}.",
                        who(plan, variant, version),
                        latency.threshold_ms
                    ),
                },
            ));
        }
    }
    if let Some(errors) = &alerts.error_rate
        && plan.errors_available()
    {
        for (variant, version) in plan.serving() {
            rules.push(alert(
                plan,
                &AlertSpec {
                    name: "ModelErrorRateHigh",
                    expr: format!("{ERROR_RATIO}{} > {} / 100", plan.only(version), errors.percent),
                    for_: for_or(errors.for_.as_ref(), "5m"),
                    severity: errors.severity.unwrap_or(AlertSeverity::Critical),
                    version,
                    variant: Some(variant),
                    summary: format!("{}: more than {}% of requests fail", who(plan, variant, version), errors.percent),
                    description: format!(
                        "{{{{ $value | humanizePercentage }}}} of the requests to {} are answered with a server error, above the {}% threshold.",
                        who(plan, variant, version),
                        errors.percent
                    ),
                },
            ));
        }
    }
    if let Some(traffic) = &alerts.traffic
        && plan.requests_available()
    {
        let versions: Vec<String> = plan.serving().map(|(_, v)| regex_escape(v)).collect();
        let mut serving = plan.base();
        serving.push(format!("version=~{}", quote(&versions.join("|"))));
        let serving = selector(&serving);
        rules.push(alert(
            plan,
            &AlertSpec {
                name: "ModelTrafficLow",
                expr: format!(
                    "sum by (namespace, model) ({REQUESTS}{serving}) < {} or absent({REQUESTS}{serving})",
                    traffic.min_requests_per_second
                ),
                for_: for_or(traffic.for_.as_ref(), "10m"),
                severity: traffic.severity.unwrap_or(AlertSeverity::Warning),
                version: stable,
                variant: None,
                summary: format!("{}: fewer than {} requests per second", plan.name(), traffic.min_requests_per_second),
                description: format!(
                    "Model {} receives fewer than {} requests per second, or its request metrics are missing (check that the PodMonitor `{}` finds its pods{}).",
                    plan.name(),
                    traffic.min_requests_per_second,
                    plan.name(),
                    if plan.source == Source::QueueProxy {
                        ", and, from Knative 1.19, that `config-observability` sets `request-metrics-protocol: prometheus`"
                    } else {
                        ""
                    }
                ),
            },
        ));
    }
    if let Some(quality) = &alerts.quality
        && quality_missing(plan.spec()).is_none()
    {
        let op = match quality.direction {
            Direction::Below => "<",
            Direction::Above => ">",
        };
        for (variant, version) in plan.serving() {
            rules.push(alert(
                plan,
                &AlertSpec {
                    name: "ModelQualityDegraded",
                    expr: format!(
                        "avg by (namespace, model, version) ({}{}) {op} {}",
                        quality.metric,
                        plan.only(version),
                        quality.threshold
                    ),
                    for_: for_or(quality.for_.as_ref(), "15m"),
                    severity: quality.severity.unwrap_or(AlertSeverity::Warning),
                    version,
                    variant: Some(variant),
                    summary: format!(
                        "{}: {} {} {}",
                        who(plan, variant, version),
                        quality.metric,
                        quality.direction.as_str(),
                        quality.threshold
                    ),
                    description: format!(
                        "`{}` of {} is {{{{ $value }}}}, {} the threshold of {}.",
                        quality.metric,
                        who(plan, variant, version),
                        quality.direction.as_str(),
                        quality.threshold
                    ),
                },
            ));
        }
    }
    rules.extend(canary_rules(plan, stable));
    rules
}

/// With a canary, its error rate and latency are compared with the stable
/// model's, so that a bad canary is noticed before it is promoted.
fn canary_rules(plan: &Plan<'_>, stable: &str) -> Vec<Value> {
    let alerts = &plan.monitoring.alerts;
    let Some(canary) = plan.version(Variant::Canary) else { return Vec::new() };
    let settings = alerts.canary.clone().unwrap_or_default();
    let for_ = for_or(settings.for_.as_ref(), "5m");
    let severity = settings.severity.unwrap_or(AlertSeverity::Critical);
    let mut rules = Vec::new();
    if (alerts.error_rate.is_some() || settings.error_rate_factor.is_some()) && plan.errors_available() {
        let factor = settings.error_rate_factor.unwrap_or(spec::DEFAULT_ERROR_RATE_FACTOR);
        rules.push(alert(
            plan,
            &AlertSpec {
                name: "CanaryErrorRateAboveStable",
                expr: format!(
                    "{ERROR_RATIO}{} > ignoring(version) {factor} * {ERROR_RATIO}{}",
                    plan.only(canary),
                    plan.only(stable)
                ),
                for_: for_.clone(),
                severity,
                version: canary,
                variant: Some(Variant::Canary),
                summary: format!("{}: error rate more than {factor}x the stable's", who(plan, Variant::Canary, canary)),
                description: format!(
                    "{{{{ $value | humanizePercentage }}}} of the requests to the canary {} {canary} fail, more than {factor} times the error rate of the stable {stable}. Do not promote it.",
                    plan.name()
                ),
            },
        ));
    }
    if (alerts.latency.is_some() || settings.latency_factor.is_some()) && plan.requests_available() {
        let factor = settings.latency_factor.unwrap_or(spec::DEFAULT_LATENCY_FACTOR);
        let word = latency_word(plan);
        rules.push(alert(
            plan,
            &AlertSpec {
                name: "CanaryLatencyAboveStable",
                expr: format!(
                    "{} > ignoring(version) {factor} * {}",
                    latency_series(plan, canary),
                    latency_series(plan, stable)
                ),
                for_,
                severity,
                version: canary,
                variant: Some(Variant::Canary),
                summary: format!("{}: {word} latency more than {factor}x the stable's", who(plan, Variant::Canary, canary)),
                description: format!(
                    "The {word} of request latency of the canary {} {canary} is {{{{ $value | humanizeDuration }}}}, more than {factor} times that of the stable {stable}. Do not promote it.",
                    plan.name()
                ),
            },
        ));
    }
    rules
}

/// A `PromQL` selector from matchers.
fn selector(matchers: &[String]) -> String {
    format!("{{{}}}", matchers.join(", "))
}

/// A `PromQL` string literal.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `value` as a regular expression that matches only itself.
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_literals_are_escaped() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(regex_escape("v1.2.0"), r"v1\.2\.0");
        assert_eq!(and("{model=\"m\"}", "code=\"5\""), "{model=\"m\", code=\"5\"}");
    }

    fn spec(yaml: &str) -> Spec {
        let model =
            if yaml.contains("model:") { "" } else { "model: {format: sklearn, version: v1, storageUri: s3://m/1}\n" };
        let text = format!("{model}{yaml}");
        let node = crate::yaml::node::parse_stream(&text).expect("YAML").remove(0);
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

    #[test]
    fn quantiles_read_as_percentiles() {
        assert_eq!(percentile(0.99), "p99");
        assert_eq!(percentile(0.5), "p50");
        assert_eq!(percentile(0.995), "p99.5");
    }
}
