//! The rules of `spec.monitoring`: values in range, durations Prometheus reads, and no alert the backend's metrics cannot feed.

use super::backend;
use super::finding::Findings;
use super::k8s::dns_subdomain;
use crate::diagnostic::Severity;
use crate::model::monitoring as monitoring_spec;
use crate::model::spec::{Acknowledgement, Backend, ModelDeployment};
use crate::render::llm as llm_render;
use crate::render::monitoring::dashboard as monitoring_dashboard;
use crate::render::monitoring::promql::{MAX_INTERVAL_MS, WINDOW};
use crate::render::monitoring::source::{Source, llm_metrics, quality_missing};
use crate::render::object::RESERVED_LABELS;
use crate::yaml::path::FieldPath;

/// `spec.monitoring`: values in range, durations Prometheus reads, and no
/// alert that the backend's metrics cannot feed (it would never fire).
pub fn check_monitoring(spec: &ModelDeployment, found: &mut Findings) {
    let Some(monitoring) = &spec.spec.monitoring else { return };
    let base = FieldPath::parse("spec.monitoring");
    let reserved: Vec<&str> = RESERVED_LABELS.into_iter().chain([monitoring_dashboard::SIDECAR_LABEL]).collect();
    found.labels(&base.key("labels"), &monitoring.labels, &reserved, None);
    check_scrape(&monitoring.scrape, found);
    check_alert_values(spec, monitoring, found);
    if monitoring.enabled {
        check_monitoring_backend(spec, monitoring, found);
    }
}

/// A Prometheus duration at `path`, in milliseconds.
fn duration_at(path: &str, duration: Option<&monitoring_spec::Duration>, found: &mut Findings) -> Option<u64> {
    let duration = duration?;
    match duration.millis() {
        Ok(ms) => Some(ms),
        Err(why) => {
            found.error(
                path,
                format!("`{duration}` is not a duration: {why}"),
                Some("write a Prometheus duration such as `30s`, `5m` or `1h30m`"),
            );
            None
        }
    }
}

/// The scrape interval and timeout: Prometheus durations, four samples a rate window, the timeout within the interval.
fn check_scrape(scrape: &monitoring_spec::Scrape, found: &mut Findings) {
    let interval = duration_at("spec.monitoring.scrape.interval", scrape.interval.as_ref(), found);
    if interval == Some(0) {
        found.error("spec.monitoring.scrape.interval", "the scrape interval cannot be `0`".to_owned(), None);
    } else if let Some(ms) = interval
        && ms > MAX_INTERVAL_MS
    {
        found.error(
            "spec.monitoring.scrape.interval",
            format!(
                "a scrape interval of `{}` leaves fewer than four samples in the `{}` rate window of the alerts",
                scrape.interval(),
                WINDOW
            ),
            Some("scrape at least every `75s`"),
        );
    }
    let timeout = duration_at("spec.monitoring.scrape.timeout", scrape.timeout.as_ref(), found);
    if timeout == Some(0) {
        found.error("spec.monitoring.scrape.timeout", "the scrape timeout cannot be `0`".to_owned(), None);
    } else if let (Some(timeout), Some(interval)) = (
        timeout,
        if scrape.interval.is_some() {
            interval
        } else {
            monitoring_spec::parse_duration(monitoring_spec::DEFAULT_INTERVAL).ok()
        },
    ) && timeout > interval
    {
        found.error(
            "spec.monitoring.scrape.timeout",
            format!(
                "the scrape timeout `{}` is longer than the interval `{}`",
                scrape.timeout.as_ref().map(ToString::to_string).unwrap_or_default(),
                scrape.interval()
            ),
            Some("Prometheus refuses a timeout longer than the interval"),
        );
    }
}

/// A finite, positive number at `path`.
fn positive(path: &str, what: &str, value: f64, found: &mut Findings) -> bool {
    if value.is_finite() && value > 0.0 {
        return true;
    }
    found.error(path, format!("`{value}` is not a valid {what}: it must be a number above 0"), None);
    false
}

/// Every alert's values: thresholds, quantiles, factors and durations in range.
fn check_alert_values(spec: &ModelDeployment, monitoring: &monitoring_spec::Monitoring, found: &mut Findings) {
    let alerts = &monitoring.alerts;
    let at = |field: &str| format!("spec.monitoring.alerts.{field}");
    if let Some(latency) = &alerts.latency {
        positive(&at("latency.thresholdMs"), "latency threshold", latency.threshold_ms, found);
        if let Some(q) = latency.quantile
            && !(q > 0.0 && q < 1.0)
        {
            found.error(
                &at("latency.quantile"),
                format!("`{q}` is not a quantile: it must lie between 0 and 1"),
                Some("`0.99` is the 99th percentile"),
            );
        }
        duration_at(&at("latency.for"), latency.for_.as_ref(), found);
    }
    if let Some(errors) = &alerts.error_rate {
        if !(errors.percent.is_finite() && (0.0..=100.0).contains(&errors.percent)) {
            found.error(
                &at("errorRate.percent"),
                format!("`{}` is not a percentage from 0 to 100", errors.percent),
                None,
            );
        } else if errors.percent >= 100.0 {
            found.error(
                &at("errorRate.percent"),
                "an error rate cannot rise above `100` percent, so the alert would never fire".to_owned(),
                Some("alert on a share such as `1` or `5` percent"),
            );
        }
        duration_at(&at("errorRate.for"), errors.for_.as_ref(), found);
    }
    if let Some(traffic) = &alerts.traffic {
        positive(&at("traffic.minRequestsPerSecond"), "request rate", traffic.min_requests_per_second, found);
        duration_at(&at("traffic.for"), traffic.for_.as_ref(), found);
    }
    if let Some(quality) = &alerts.quality {
        let name_ok = quality.metric.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && quality.metric.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        if !name_ok {
            found.error(
                &at("quality.metric"),
                format!("`{}` is not a Prometheus metric name", quality.metric),
                Some("use letters, digits, `_` and `:`, not starting with a digit, as in `mochanet_accuracy`"),
            );
        }
        if !quality.threshold.is_finite() {
            found.error(&at("quality.threshold"), format!("`{}` is not a finite number", quality.threshold), None);
        }
        duration_at(&at("quality.for"), quality.for_.as_ref(), found);
    }
    check_llm_alert_values(alerts, found);
    if let Some(canary) = &alerts.canary {
        for (field, factor) in [
            ("errorRateFactor", canary.error_rate_factor),
            ("latencyFactor", canary.latency_factor),
            ("timeToFirstTokenFactor", canary.time_to_first_token_factor),
            ("timePerOutputTokenFactor", canary.time_per_output_token_factor),
        ] {
            if let Some(factor) = factor
                && !(factor.is_finite() && factor >= 1.0)
            {
                found.error(
                    &at(&format!("canary.{field}")),
                    format!("`{factor}` is not a factor of at least 1"),
                    Some("a factor below 1 would alert on a canary that does better than the stable model"),
                );
            }
        }
        duration_at(&at("canary.for"), canary.for_.as_ref(), found);
        if spec.spec.canary.is_none() {
            found.push(
                Severity::Warning,
                FieldPath::parse(&at("canary")),
                "`alerts.canary` is unused: the spec has no canary".to_owned(),
                Some("it applies while `spec.canary` is set"),
            );
        }
    }
}

/// The LLM alerts' values: thresholds, quantiles, shares and durations in range.
fn check_llm_alert_values(alerts: &monitoring_spec::Alerts, found: &mut Findings) {
    let at = |field: &str| format!("spec.monitoring.alerts.{field}");
    for (field, alert) in [
        ("timeToFirstToken", &alerts.time_to_first_token),
        ("timePerOutputToken", &alerts.time_per_output_token),
        ("queueTime", &alerts.queue_time),
    ] {
        let Some(alert) = alert else { continue };
        positive(&at(&format!("{field}.thresholdMs")), "latency threshold", alert.threshold_ms, found);
        if let Some(q) = alert.quantile
            && !(q > 0.0 && q < 1.0)
        {
            found.error(
                &at(&format!("{field}.quantile")),
                format!("`{q}` is not a quantile: it must lie between 0 and 1"),
                Some("`0.99` is the 99th percentile"),
            );
        }
        duration_at(&at(&format!("{field}.for")), alert.for_.as_ref(), found);
    }
    if let Some(kv) = &alerts.kv_cache {
        if !(kv.percent.is_finite() && kv.percent > 0.0 && kv.percent <= 100.0) {
            found.error(
                &at("kvCache.percent"),
                format!("`{}` is not a share of the KV cache: it must be above 0 and at most 100", kv.percent),
                Some("`90` alerts when the fullest replica uses more than 90 % of its KV cache"),
            );
        }
        duration_at(&at("kvCache.for"), kv.for_.as_ref(), found);
    }
}

/// Alerts the backend's metrics cannot feed are errors: they would never fire.
fn check_monitoring_backend(spec: &ModelDeployment, monitoring: &monitoring_spec::Monitoring, found: &mut Findings) {
    let alerts = &monitoring.alerts;
    let source = Source::of(&spec.spec);
    let at = |field: &str| format!("spec.monitoring.alerts.{field}");
    let backend = spec.spec.backend;
    let refuse = |found: &mut Findings, path: String, what: &str, why: &str, hint: &str| {
        found.error(&path, format!("{what} cannot work on `{backend}` here: {why}"), Some(hint));
    };
    let knative_hint = "use `deploymentMode: Knative` (its queue-proxy counts requests), or remove this alert";
    if source == Source::QueueProxy {
        found.unless_acknowledged(
            spec,
            "spec.monitoring",
            Acknowledgement::KnativeRequestMetrics,
            backend::by_id("knative-request-metrics"),
            "the request metrics of Knative mode come from the queue-proxy, which from Knative 1.19 exports them only with `request-metrics-protocol: prometheus` in `config-observability` (the default is `none`): without it the dashboard is empty and only `ModelTrafficLow` fires".to_owned(),
            "set `request-metrics-protocol: prometheus` in the `config-observability` ConfigMap of `knative-serving` (Knative 1.18 and older export them by default)",
        );
    }
    if let Some(why) = source.requests_missing() {
        let hint = "use `deploymentMode: Knative`, pin one of KServe's Python runtimes (`kserve-sklearnserver`, ...), or remove this alert";
        if alerts.latency.is_some() {
            refuse(found, at("latency"), "a latency alert", why, hint);
        }
        if alerts.traffic.is_some() {
            refuse(found, at("traffic"), "a traffic alert", why, hint);
        }
        if alerts.canary.as_ref().is_some_and(|c| c.latency_factor.is_some()) {
            refuse(found, at("canary.latencyFactor"), "a canary latency comparison", why, hint);
        }
    }
    if let Some(why) = source.errors_missing() {
        if alerts.error_rate.is_some() {
            refuse(found, at("errorRate"), "an error-rate alert", why, knative_hint);
        }
        if alerts.canary.as_ref().is_some_and(|c| c.error_rate_factor.is_some()) {
            refuse(found, at("canary.errorRateFactor"), "a canary error-rate comparison", why, knative_hint);
        }
    }
    if let Some(why) = source.quantiles_missing()
        && alerts.latency.as_ref().is_some_and(|l| l.quantile.is_some())
    {
        refuse(
            found,
            at("latency.quantile"),
            "a latency quantile",
            why,
            "remove `quantile` (a spec removes a project default with `quantile: null`): the alert then compares the mean latency",
        );
    }
    if alerts.quality.is_some()
        && let Some(why) = quality_missing(&spec.spec)
    {
        refuse(found, at("quality"), "a quality alert", &why, "serve the model on MLServer, or remove this alert");
    }
    check_llm_monitoring(spec, monitoring, found);
}

/// The LLM alerts read vLLM's own metrics, and the scheduler's scrape needs a scheduler.
fn check_llm_monitoring(spec: &ModelDeployment, monitoring: &monitoring_spec::Monitoring, found: &mut Findings) {
    let alerts = &monitoring.alerts;
    let at = |field: &str| format!("spec.monitoring.alerts.{field}");
    if !llm_metrics(&spec.spec) {
        let why = "these alerts read vLLM's own metrics, which only an LLMInferenceService or KServe's Hugging Face server with its vLLM backend exports";
        let hint =
            "use `backend: kserve-llm`, or `format: huggingface` with `engine` on `kserve`, or remove this alert";
        let canary = alerts.canary.as_ref();
        for (field, present) in [
            ("timeToFirstToken", alerts.time_to_first_token.is_some()),
            ("timePerOutputToken", alerts.time_per_output_token.is_some()),
            ("queueTime", alerts.queue_time.is_some()),
            ("kvCache", alerts.kv_cache.is_some()),
            ("canary.timeToFirstTokenFactor", canary.is_some_and(|c| c.time_to_first_token_factor.is_some())),
            ("canary.timePerOutputTokenFactor", canary.is_some_and(|c| c.time_per_output_token_factor.is_some())),
        ] {
            if present {
                found.error(
                    &at(field),
                    format!("`{field}` cannot work on `{}` here: {why}", spec.spec.backend),
                    Some(hint),
                );
            }
        }
    }
    let Some(scheduler) = &monitoring.scheduler else { return };
    if spec.spec.backend != Backend::KserveLlm || !llm_render::scheduler(&spec.spec) {
        found.refuse(
            "spec.monitoring.scheduler",
            backend::by_id("llm-scheduler-metrics"),
            "there is no scheduler to scrape: llm-d's endpoint picker runs for an LLMInferenceService with `llm.scheduler` on".to_owned(),
            "remove `monitoring.scheduler`",
        );
    }
    if let Err(why) = dns_subdomain(&scheduler.bearer_token.name) {
        found.error(
            "spec.monitoring.scheduler.bearerToken.name",
            format!("`{}` is not a valid Secret name: {why}", scheduler.bearer_token.name),
            None,
        );
    }
    let key = &scheduler.bearer_token.key;
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        found.error(
            "spec.monitoring.scheduler.bearerToken.key",
            format!("`{key}` is not a valid Secret key"),
            Some("use letters, digits, `-`, `_` and `.`, as in `token`"),
        );
    }
}
