//! `PromQL` as modelgen writes it: the series its recording rules record, selectors, and rate and quantile expressions.

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

/// The label every scraped series of a model gets: the spec's name.
pub const MODEL_LABEL: &str = "model";
/// The label every scraped series gets: the model version its pod serves.
pub const VERSION_LABEL: &str = "version";
/// The label an `LLMInferenceService`'s series get: the pod's llm-d role (`both`, `decode` or `prefill`).
pub const ROLE_LABEL: &str = "role";

/// The rate window of every recording rule.
pub const WINDOW: &str = "5m";

/// The longest scrape interval that leaves four samples in [`WINDOW`].
pub const MAX_INTERVAL_MS: u64 = 75_000;

/// `sum by (namespace, model, version) (rate(<metric>{<selector>}[5m]))`.
pub fn rate_by_version(metric: &str, selector: &str) -> String {
    rate_by_version_over(metric, selector, WINDOW)
}

/// [`rate_by_version`] over another window (a rollout's interval).
pub fn rate_by_version_over(metric: &str, selector: &str, window: &str) -> String {
    format!("sum by (namespace, model, version) (rate({metric}{selector}[{window}]))")
}

/// `histogram_quantile` over a histogram's buckets, per version.
pub fn quantile_by_version(q: f64, buckets: &str, selector: &str) -> String {
    format!("histogram_quantile({q}, sum by (namespace, model, version, le) (rate({buckets}{selector}[{WINDOW}])))")
}

/// A selector with one more matcher.
pub fn and(selector: &str, matcher: &str) -> String {
    format!("{}, {matcher}}}", selector.trim_end_matches('}'))
}

/// A `PromQL` selector from matchers.
pub fn selector(matchers: &[String]) -> String {
    format!("{{{}}}", matchers.join(", "))
}

/// A `PromQL` string literal.
pub fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `value` as a regular expression that matches only itself.
pub fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_literals_are_escaped() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(regex_escape("v1.2.0"), r"v1\.2\.0");
        assert_eq!(and("{model=\"m\"}", "code=\"5\""), "{model=\"m\", code=\"5\"}");
    }

    #[test]
    fn quantiles_read_as_percentiles() {
        assert_eq!(percentile(0.99), "p99");
        assert_eq!(percentile(0.5), "p50");
        assert_eq!(percentile(0.995), "p99.5");
    }
}
