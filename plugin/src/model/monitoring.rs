//! `spec.monitoring`: how the model is scraped, when it alerts, and whether it gets a dashboard.
//!
//! An alert exists when its block is written (project defaults can write it
//! for every spec); `enabled: false` turns the whole section off.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// Scrape interval when the spec names none.
pub const DEFAULT_INTERVAL: &str = "30s";
/// Latency quantile when the spec names none.
pub const DEFAULT_QUANTILE: f64 = 0.99;
/// How many times the stable's error rate a canary may reach before it alerts.
pub const DEFAULT_ERROR_RATE_FACTOR: f64 = 2.0;
/// How many times the stable's latency a canary may reach before it alerts.
pub const DEFAULT_LATENCY_FACTOR: f64 = 1.5;
/// How many times the stable's time to first token (or per output token) a canary may reach before it alerts.
pub const DEFAULT_TOKEN_LATENCY_FACTOR: f64 = 1.5;

/// Scraping, alerts and a dashboard, generated from the same spec as the model, so that they always match it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Monitoring {
    /// Whether monitoring is generated (default `true`); `false` turns off a section that project defaults switch on.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Labels on the `PodMonitor`, `PrometheusRule` and dashboard `ConfigMap`, so that your Prometheus selects them (kube-prometheus-stack selects `release: <its release name>`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// How Prometheus scrapes the model's pods.
    #[serde(default)]
    pub scrape: Scrape,
    /// Alert thresholds; each alert exists when its block is written. On KServe in Knative mode the request metrics come from Knative's queue-proxy, which from Knative 1.19 exports them only with `request-metrics-protocol: prometheus` in `config-observability` (confirm with `cluster.acknowledge: [knative-request-metrics]`).
    #[serde(default)]
    pub alerts: Alerts,
    /// The Grafana dashboard (a `ConfigMap` for Grafana's dashboard sidecar).
    #[serde(default)]
    pub dashboard: Dashboard,
    /// `kserve-llm` with the scheduler: also scrape llm-d's endpoint picker (a second `PodMonitor`, `<name>-scheduler`).
    #[serde(default)]
    pub scheduler: Option<SchedulerScrape>,
}

/// How Prometheus reaches the metrics of llm-d's endpoint picker, which by default serves `/metrics` only to a bearer token allowed to `get` the non-resource URL `/metrics`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchedulerScrape {
    /// The key of a Secret in the model's namespace that holds such a token (a service account token); its value is never written anywhere.
    pub bearer_token: SecretKey,
}

/// A key of a Secret in the model's namespace.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKey {
    /// The Secret's name.
    pub name: String,
    /// The key within it.
    pub key: String,
}

/// Monitoring and its dashboard are on unless a spec turns them off.
fn enabled() -> bool {
    true
}

/// How Prometheus scrapes the model's pods.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scrape {
    /// Time between scrapes, a Prometheus duration (default `30s`; at most `75s`, so that the 5-minute rate window holds four scrapes).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// How long a scrape may take (default: Prometheus' own); at most the interval.
    #[serde(default)]
    pub timeout: Option<Duration>,
}

impl Scrape {
    /// The interval, defaulted.
    pub fn interval(&self) -> &str {
        self.interval.as_ref().map_or(DEFAULT_INTERVAL, |d| d.0.as_str())
    }
}

/// Alert thresholds. Stable and canary are watched separately; a shadow only shows on the dashboard.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Alerts {
    /// Request latency above a threshold.
    #[serde(default)]
    pub latency: Option<LatencyAlert>,
    /// Share of requests that fail with a server error, above a threshold.
    #[serde(default)]
    pub error_rate: Option<ErrorRateAlert>,
    /// Fewer requests than expected: a model that gets no traffic, or whose metrics are missing.
    #[serde(default)]
    pub traffic: Option<TrafficAlert>,
    /// A model-quality metric the model exports (accuracy, drift score) on the wrong side of a threshold.
    #[serde(default)]
    pub quality: Option<QualityAlert>,
    /// With a canary: how much worse than the stable model the canary may be before it alerts. Compared whenever the matching latency or error-rate alert is written.
    #[serde(default)]
    pub canary: Option<CanaryAlert>,
    /// LLMs (vLLM): the time to the first generated token (`vllm:time_to_first_token_seconds`) above a threshold.
    #[serde(default)]
    pub time_to_first_token: Option<LatencyAlert>,
    /// LLMs (vLLM): the time per generated token of a request after the first (`vllm:request_time_per_output_token_seconds`) above a threshold.
    #[serde(default)]
    pub time_per_output_token: Option<LatencyAlert>,
    /// LLMs (vLLM): the time requests wait in vLLM's queue before they run (`vllm:request_queue_time_seconds`) above a threshold.
    #[serde(default)]
    pub queue_time: Option<LatencyAlert>,
    /// LLMs (vLLM): the KV cache of the fullest replica (`vllm:kv_cache_usage_perc`) above a share; a full cache queues or preempts requests.
    #[serde(default)]
    pub kv_cache: Option<KvCacheAlert>,
}

/// The KV cache of the fullest replica above a share.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KvCacheAlert {
    /// Percent (above 0, at most 100) of the KV cache in use above which the alert fires.
    pub percent: f64,
    /// How long the condition must hold before the alert fires (default `10m`).
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
    /// The alert's `severity` label (default `warning`).
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
}

/// Request latency above a threshold.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencyAlert {
    /// Latency in milliseconds above which the alert fires.
    pub threshold_ms: f64,
    /// The latency quantile compared, between 0 and 1 (default `0.99`). Seldon Core 2 exports no per-model latency histogram: there the mean is compared and `quantile` cannot be set.
    #[serde(default)]
    pub quantile: Option<f64>,
    /// How long the condition must hold before the alert fires (default `5m`).
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
    /// The alert's `severity` label (default `warning`).
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
}

/// Share of failing requests above a threshold.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorRateAlert {
    /// Percent of requests (0 to 100) answered with a server error above which the alert fires.
    pub percent: f64,
    /// How long the condition must hold before the alert fires (default `5m`).
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
    /// The alert's `severity` label (default `critical`).
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
}

/// Too little traffic.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficAlert {
    /// Requests per second (stable and canary together) below which the alert fires; it also fires when the model's request metrics are missing.
    pub min_requests_per_second: f64,
    /// How long the condition must hold before the alert fires (default `10m`).
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
    /// The alert's `severity` label (default `warning`).
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
}

/// A model-quality metric on the wrong side of a threshold.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QualityAlert {
    /// Name of the Prometheus metric the model exports, as in `mochanet_accuracy`.
    pub metric: String,
    /// The value the metric is compared with.
    pub threshold: f64,
    /// `below`: alert when the metric falls below the threshold (accuracy); `above`: when it rises above it (drift score).
    pub direction: Direction,
    /// How long the condition must hold before the alert fires (default `15m`).
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
    /// The alert's `severity` label (default `warning`).
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
}

/// How much worse than the stable model a canary may be.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryAlert {
    /// The canary alerts when its error rate is more than this many times the stable's (default `2`, at least `1`).
    #[serde(default)]
    pub error_rate_factor: Option<f64>,
    /// The canary alerts when its latency is more than this many times the stable's (default `1.5`, at least `1`).
    #[serde(default)]
    pub latency_factor: Option<f64>,
    /// LLMs: the canary alerts when its time to first token is more than this many times the stable's (default `1.5`, at least `1`); compared whenever `timeToFirstToken` is written or this is set.
    #[serde(default)]
    pub time_to_first_token_factor: Option<f64>,
    /// LLMs: the canary alerts when its time per output token is more than this many times the stable's (default `1.5`, at least `1`); compared whenever `timePerOutputToken` is written or this is set.
    #[serde(default)]
    pub time_per_output_token_factor: Option<f64>,
    /// How long the condition must hold before the alert fires (default `5m`).
    #[serde(default, rename = "for")]
    pub for_: Option<Duration>,
    /// The alerts' `severity` label (default `critical`: a bad canary should be rolled back before it is promoted).
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
}

/// Which side of the threshold is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Bad when the metric falls below the threshold (accuracy, precision).
    Below,
    /// Bad when the metric rises above the threshold (drift score, loss).
    Above,
}

impl Direction {
    /// The word used in messages and annotations.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Below => "below",
            Direction::Above => "above",
        }
    }
}

/// The `severity` label Alertmanager routes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(
    clippy::missing_docs_in_private_items,
    reason = "a documented variant becomes a described `oneOf` branch of the published schema; the names are the label values"
)]
pub enum AlertSeverity {
    Critical,
    Warning,
    Info,
}

impl AlertSeverity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Critical => "critical",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Info => "info",
        }
    }
}

/// The Grafana dashboard.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dashboard {
    /// Whether the dashboard `ConfigMap` is generated (default `true`).
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Grafana folder, as the `grafana_folder` annotation (the Grafana chart reads it with `sidecar.dashboards.folderAnnotation: grafana_folder`).
    #[serde(default)]
    pub folder: Option<String>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self { enabled: true, folder: None }
    }
}

/// A Prometheus duration such as `30s`, `5m` or `1h30m`.
#[derive(Clone, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct Duration(#[schemars(schema_with = "duration_schema")] pub String);

impl Duration {
    /// The duration in milliseconds, or why it is not a Prometheus duration.
    pub fn millis(&self) -> Result<u64, String> {
        parse_duration(&self.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl serde::de::Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `30s`, `5m` or `1h`")
            }
            fn visit_str<E>(self, s: &str) -> Result<Duration, E> {
                Ok(Duration(s.to_owned()))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

/// Units of a Prometheus duration, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses Prometheus' duration syntax: `0`, or integers with units from
/// `y` down to `ms`, each unit at most once and largest first (`1h30m`).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    if text == "0" {
        return Ok(0);
    }
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut rest = text;
    let mut total: u64 = 0;
    // Units already passed: each may appear once, in order.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{rest}` does not start with a number"));
        }
        let (number, after) = rest.split_at(digits);
        let value: u64 = number.parse().map_err(|_| format!("`{number}` is too large"))?;
        let unit_len = after.find(|c: char| c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, remainder) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("`{number}` has no unit (`ms`, `s`, `m`, `h`, `d`, `w` or `y`)"));
        }
        let Some(offset) = UNITS[next_unit..].iter().position(|(name, _)| *name == unit) else {
            return Err(if UNITS.iter().any(|(name, _)| *name == unit) {
                format!("unit `{unit}` is out of order or repeated; write units from the largest down, as in `1h30m`")
            } else {
                format!("`{unit}` is not a unit (`ms`, `s`, `m`, `h`, `d`, `w` or `y`)")
            });
        };
        let index = next_unit + offset;
        total = value
            .checked_mul(UNITS[index].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| "it is too long".to_owned())?;
        next_unit = index + 1;
        rest = remainder;
    }
    Ok(total)
}

/// A duration's schema: a string in Prometheus' syntax.
fn duration_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": "^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$",
        "description": "A Prometheus duration: `30s`, `5m`, `1h30m`."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1d2h3m4s5ms"), Ok(93_784_005));
        assert_eq!(parse_duration("2w"), Ok(1_209_600_000));
        for bad in ["", "5", "m", "5 m", "1m1h", "1s1s", "5min", "-5m", "1.5h", "99999999999999999999s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should not be a duration");
        }
    }
}
