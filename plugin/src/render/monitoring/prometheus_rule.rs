//! The `PrometheusRule`: recording rules that turn each backend's metrics into modelgen's series, and the alerts that read only those.

use serde_json::{Value, json};

use super::alert::{AlertSpec, alert, for_or, who};
use super::llm;
use super::plan::Plan;
use super::promql::{
    ERROR_RATIO, ERRORS, LATENCY_MEAN, LATENCY_QUANTILE, REQUESTS, and, percentile, quote, regex_escape, selector,
};
use super::source::{Source, quality_missing};
use crate::model::monitoring::{self as spec, AlertSeverity, Direction};
use crate::render::variant::Variant;

/// The `PrometheusRule`: recording rules that turn the backend's metrics
/// into modelgen's per-version series, then the alerts, which read only those.
pub fn render(plan: &Plan<'_>) -> Option<Value> {
    let mut groups = Vec::new();
    let mut recording = recording_rules(plan);
    recording.extend(llm::recording_rules(plan));
    if !recording.is_empty() {
        groups.push(json!({ "name": format!("modelgen.{}.recording", plan.name()), "rules": recording }));
    }
    let mut alerts = alert_rules(plan);
    alerts.extend(llm::alert_rules(plan));
    if !alerts.is_empty() {
        groups.push(json!({ "name": format!("modelgen.{}.alerts", plan.name()), "rules": alerts }));
    }
    if groups.is_empty() {
        return None;
    }
    Some(json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": plan.metadata(plan.name(), &[], &[]),
        "spec": { "groups": groups },
    }))
}

/// One gate of a canary rollout: an alerting rule that watches the canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// The alert's name, as rendered.
    pub alert: String,
    /// Its `PromQL` expression: the gate fails while it returns a series.
    pub expr: String,
    /// The value it compares (the left side of its one comparison), on the
    /// raw metrics too; `None` when the expression is not one comparison.
    pub value: Option<String>,
    /// The threshold in words: the alert's `summary`.
    pub threshold: String,
}

/// The canary's gates: the alerting rules that watch the canary (alone, or
/// against the stable model). A rollout advances only while none fires, so
/// the gates are exactly the alerts this file renders, never a second
/// definition of them; their expressions are rewritten onto the raw metrics
/// the backend exports, so that a gate can be judged where the recording
/// rules are not deployed (or not yet evaluated for a new canary).
pub fn canary_gates(plan: &Plan<'_>) -> Vec<Gate> {
    let mut alerts = alert_rules(plan);
    alerts.extend(llm::alert_rules(plan));
    let mut recording = recording_rules(plan);
    recording.extend(llm::recording_rules(plan));
    let all = plan.all_versions();
    alerts
        .iter()
        .filter(|rule| rule["labels"]["variant"] == Variant::Canary.as_str())
        .filter_map(|rule| {
            let expr = rule["expr"].as_str()?;
            Some(Gate {
                alert: rule["alert"].as_str()?.to_owned(),
                expr: on_raw_metrics(expr, &recording, &all),
                value: compared(expr).map(|lhs| on_raw_metrics(lhs, &recording, &all)),
                threshold: rule["annotations"]["summary"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// The left side of `expr` when `expr` is one comparison (`A > B`, outside
/// parentheses and strings) with no set operator or `bool` beside it.
fn compared(expr: &str) -> Option<&str> {
    let mut depth = 0_i32;
    let mut quoted = false;
    let mut escaped = false;
    let mut comparison = None;
    for (i, b) in expr.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            b'>' | b'<' if depth == 0 && comparison.replace(i).is_some() => return None,
            b' ' if depth == 0 => {
                let word = expr[i + 1..].split(' ').next().unwrap_or_default().to_ascii_lowercase();
                if ["and", "or", "unless", "bool"].contains(&word.as_str()) {
                    return None;
                }
            }
            _ => {}
        }
    }
    let at = comparison?;
    Some(expr[..at].trim_end())
}

/// `expr` with every recorded series replaced by its recording rule's
/// expression, narrowed to the series' selector. The rules aggregate `by
/// (namespace, model, version)` over `all` (this model's every version), so
/// narrowing their selector to one version before aggregating gives the
/// recorded series of that version exactly; a rule's static labels (the
/// quantile) pick the rule and leave the selector.
fn on_raw_metrics(expr: &str, recording: &[Value], all: &str) -> String {
    let all_open = all.trim_end_matches('}');
    let mut out = expr.to_owned();
    // Each pass replaces one series; a rule refers only to rules before it, so this ends.
    for _ in 0..64 {
        let found = recording.iter().filter_map(|rule| {
            let record = rule["record"].as_str()?;
            let at = out.match_indices(record).map(|(i, _)| i).find(|&i| out[i + record.len()..].starts_with('{'))?;
            Some((at, record, rule))
        });
        let Some((at, record, _)) = found.min_by_key(|(at, _, _)| *at) else { break };
        let open = at + record.len();
        let Some(close) = selector_end(&out[open..]).map(|end| open + end) else { break };
        let matchers = matchers(&out[open + 1..close]);
        // The rule whose static labels the selector names; they leave it.
        let chosen = recording.iter().find(|rule| {
            rule["record"] == record
                && rule["labels"].as_object().is_none_or(|labels| {
                    labels
                        .iter()
                        .all(|(k, v)| matchers.contains(&format!("{k}={}", quote(v.as_str().unwrap_or_default()))))
                })
        });
        let Some(rule) = chosen else { break };
        let statics: Vec<String> = rule["labels"]
            .as_object()
            .map(|labels| {
                labels.iter().map(|(k, v)| format!("{k}={}", quote(v.as_str().unwrap_or_default()))).collect()
            })
            .unwrap_or_default();
        let narrowed: Vec<String> = matchers.into_iter().filter(|m| !statics.contains(m)).collect();
        let narrowed = selector(&narrowed);
        let body = rule["expr"].as_str().unwrap_or_default().replace(all_open, narrowed.trim_end_matches('}'));
        out.replace_range(at..=close, &format!("({body})"));
    }
    out
}

/// Where the selector that opens `text` (at its `{`) closes, past quoted strings.
fn selector_end(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The matchers of a selector's inside, as written (`model="m"`).
fn matchers(inside: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in inside.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// The recording rules that turn the backend's metrics into modelgen's series.
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

/// Every alert the spec writes that the backend's metrics can feed.
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
