//! LLM monitoring from vLLM's own metrics: recording rules for time to first token, time per output token, queue time, tokens, queue depth and KV cache, and the alerts (canary against stable included) that read them.

use serde_json::{Value, json};

use super::alert::{AlertSpec, alert, for_or, who};
use super::plan::Plan;
use super::promql::{and, quantile_by_version, quote, rate_by_version};
use super::source::{llm_metrics, serving};
use crate::model::monitoring::{self as spec, AlertSeverity, LatencyAlert};
use crate::render::variant::Variant;
use crate::rules::backend::vllm::{
    GENERATION_TOKENS, KV_CACHE_USAGE, NUM_REQUESTS_WAITING, PROMPT_TOKENS, QUEUE_TIME, TIME_PER_OUTPUT_TOKEN,
    TIME_TO_FIRST_TOKEN,
};

/// Per-version time to first token in seconds (label `quantile`).
pub const TIME_TO_FIRST_TOKEN_QUANTILE: &str = "modelgen:llm_time_to_first_token_seconds:quantile5m";
/// Per-version time per output token in seconds (label `quantile`).
pub const TIME_PER_OUTPUT_TOKEN_QUANTILE: &str = "modelgen:llm_time_per_output_token_seconds:quantile5m";
/// Per-version time in vLLM's queue in seconds (label `quantile`).
pub const QUEUE_TIME_QUANTILE: &str = "modelgen:llm_queue_time_seconds:quantile5m";
/// Per-version generated tokens per second.
pub const GENERATION_TOKENS_RATE: &str = "modelgen:llm_generation_tokens:rate5m";
/// Per-version prompt tokens per second.
pub const PROMPT_TOKENS_RATE: &str = "modelgen:llm_prompt_tokens:rate5m";
/// Per-version requests waiting in vLLM's queues.
pub const REQUESTS_WAITING: &str = "modelgen:llm_requests_waiting:sum";
/// Per-version KV-cache use of the fullest replica, 0 to 1.
pub const KV_CACHE_MAX: &str = "modelgen:llm_kv_cache_usage:max";

/// One of vLLM's latency histograms, as modelgen records and alerts on it.
#[derive(Clone, Copy)]
pub struct Histogram {
    /// The recorded series.
    pub record: &'static str,
    /// vLLM's bucket series.
    pub buckets: &'static str,
    /// What it measures, for messages and panels.
    pub what: &'static str,
}

/// Time to first token.
pub const TTFT: Histogram =
    Histogram { record: TIME_TO_FIRST_TOKEN_QUANTILE, buckets: TIME_TO_FIRST_TOKEN, what: "time to first token" };
/// Time per output token.
pub const TPOT: Histogram =
    Histogram { record: TIME_PER_OUTPUT_TOKEN_QUANTILE, buckets: TIME_PER_OUTPUT_TOKEN, what: "time per output token" };
/// Queue time.
pub const QUEUE: Histogram = Histogram { record: QUEUE_TIME_QUANTILE, buckets: QUEUE_TIME, what: "queue time" };

/// The quantile recorded for a histogram: its alert's, else the default.
pub fn quantile(alert: Option<&LatencyAlert>) -> f64 {
    alert.and_then(|a| a.quantile).unwrap_or(spec::DEFAULT_QUANTILE)
}

/// Each histogram with the alert that reads it.
pub fn histograms<'a>(plan: &'a Plan<'_>) -> [(Histogram, Option<&'a LatencyAlert>); 3] {
    let alerts = &plan.monitoring.alerts;
    [
        (TTFT, alerts.time_to_first_token.as_ref()),
        (TPOT, alerts.time_per_output_token.as_ref()),
        (QUEUE, alerts.queue_time.as_ref()),
    ]
}

/// The recorded quantile series of one version.
pub fn series(histogram: Histogram, q: f64, plan: &Plan<'_>, version: &str) -> String {
    format!("{}{}", histogram.record, and(&plan.only(version), &format!("quantile={}", quote(&q.to_string()))))
}

/// The recording rules over vLLM's metrics, when they are scraped.
pub fn recording_rules(plan: &Plan<'_>) -> Vec<Value> {
    if !llm_metrics(plan.spec()) {
        return Vec::new();
    }
    let pods = serving(&plan.all_versions());
    let mut rules = Vec::new();
    for (histogram, alert) in histograms(plan) {
        let q = quantile(alert);
        rules.push(json!({
            "record": histogram.record,
            "expr": quantile_by_version(q, histogram.buckets, &pods),
            "labels": { "quantile": q.to_string() },
        }));
    }
    rules.push(json!({ "record": GENERATION_TOKENS_RATE, "expr": rate_by_version(GENERATION_TOKENS, &pods) }));
    rules.push(json!({ "record": PROMPT_TOKENS_RATE, "expr": rate_by_version(PROMPT_TOKENS, &pods) }));
    rules.push(json!({
        "record": REQUESTS_WAITING,
        "expr": format!("sum by (namespace, model, version) ({NUM_REQUESTS_WAITING}{pods})"),
    }));
    rules.push(json!({
        "record": KV_CACHE_MAX,
        "expr": format!("max by (namespace, model, version) ({KV_CACHE_USAGE}{pods})"),
    }));
    rules
}

/// The LLM alerts the spec writes.
pub fn alert_rules(plan: &Plan<'_>) -> Vec<Value> {
    if !llm_metrics(plan.spec()) {
        return Vec::new();
    }
    let alerts = &plan.monitoring.alerts;
    let mut rules = Vec::new();
    let names = ["LLMTimeToFirstTokenHigh", "LLMTimePerOutputTokenHigh", "LLMQueueTimeHigh"];
    for ((histogram, alert_spec), name) in histograms(plan).into_iter().zip(names) {
        let Some(threshold) = alert_spec else { continue };
        let q = quantile(Some(threshold));
        let word = super::promql::percentile(q);
        for (variant, version) in plan.serving() {
            rules.push(alert(
                plan,
                &AlertSpec {
                    name,
                    expr: format!("{} > {} / 1000", series(histogram, q, plan, version), threshold.threshold_ms),
                    for_: for_or(threshold.for_.as_ref(), "5m"),
                    severity: threshold.severity.unwrap_or(AlertSeverity::Warning),
                    version,
                    variant: Some(variant),
                    summary: format!(
                        "{}: {word} {} above {} ms",
                        who(plan, variant, version),
                        histogram.what,
                        threshold.threshold_ms
                    ),
                    description: format!(
                        "The {word} of the {} of {} has been above {} ms; it is {{{{ $value | humanizeDuration }}}}.",
                        histogram.what,
                        who(plan, variant, version),
                        threshold.threshold_ms
                    ),
                },
            ));
        }
    }
    if let Some(kv) = &alerts.kv_cache {
        for (variant, version) in plan.serving() {
            rules.push(alert(
                plan,
                &AlertSpec {
                    name: "LLMKVCacheSaturated",
                    expr: format!("{KV_CACHE_MAX}{} > {} / 100", plan.only(version), kv.percent),
                    for_: for_or(kv.for_.as_ref(), "10m"),
                    severity: kv.severity.unwrap_or(AlertSeverity::Warning),
                    version,
                    variant: Some(variant),
                    summary: format!("{}: KV cache more than {}% full", who(plan, variant, version), kv.percent),
                    description: format!(
                        "The fullest replica of {} uses {{{{ $value | humanizePercentage }}}} of its KV cache, above {}%: requests queue or are preempted. Add replicas, or lower `engine.maxModelLen`.",
                        who(plan, variant, version),
                        kv.percent
                    ),
                },
            ));
        }
    }
    rules.extend(canary_rules(plan));
    rules
}

/// With a canary: its time to first token and per output token against the stable's.
fn canary_rules(plan: &Plan<'_>) -> Vec<Value> {
    let (Some(canary), Some(stable)) = (plan.version(Variant::Canary), plan.version(Variant::Stable)) else {
        return Vec::new();
    };
    let alerts = &plan.monitoring.alerts;
    let settings = alerts.canary.clone().unwrap_or_default();
    let severity = settings.severity.unwrap_or(AlertSeverity::Critical);
    let for_ = for_or(settings.for_.as_ref(), "5m");
    let compared = [
        ("CanaryTimeToFirstTokenAboveStable", TTFT, &alerts.time_to_first_token, settings.time_to_first_token_factor),
        (
            "CanaryTimePerOutputTokenAboveStable",
            TPOT,
            &alerts.time_per_output_token,
            settings.time_per_output_token_factor,
        ),
    ];
    let mut rules = Vec::new();
    for (name, histogram, threshold, factor) in compared {
        if threshold.is_none() && factor.is_none() {
            continue;
        }
        let factor = factor.unwrap_or(spec::DEFAULT_TOKEN_LATENCY_FACTOR);
        let q = quantile(threshold.as_ref());
        let word = super::promql::percentile(q);
        rules.push(alert(
            plan,
            &AlertSpec {
                name,
                expr: format!(
                    "{} > ignoring(version) {factor} * {}",
                    series(histogram, q, plan, canary),
                    series(histogram, q, plan, stable)
                ),
                for_: for_.clone(),
                severity,
                version: canary,
                variant: Some(Variant::Canary),
                summary: format!(
                    "{}: {word} {} more than {factor}x the stable's",
                    who(plan, Variant::Canary, canary),
                    histogram.what
                ),
                description: format!(
                    "The {word} of the {} of the canary {} {canary} is {{{{ $value | humanizeDuration }}}}, more than {factor} times that of the stable {stable}. Do not promote it.",
                    histogram.what,
                    plan.name()
                ),
            },
        ));
    }
    rules
}
