//! Why a query got no answer: every failure of a request to Prometheus, each one line that names the URL and never a credential.

use std::time::Duration;

use thiserror::Error;

/// A query that did not give an answer. Callers that decide a canary treat
/// every variant as "hold": none of them says anything about the canary.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum QueryError {
    /// No connection: refused, unresolvable host, TLS handshake or certificate failure.
    #[error("cannot reach Prometheus at `{url}`: {reason}")]
    Unreachable {
        /// The request URL (never with credentials).
        url: String,
        /// Why, escaped and clipped.
        reason: String,
    },
    /// The request, or all requests together, took too long.
    #[error("Prometheus at `{url}` did not answer within {}: {what}", seconds(*limit))]
    Timeout {
        /// The request URL.
        url: String,
        /// The limit that ran out.
        limit: Duration,
        /// Which limit: the request timeout or the overall deadline.
        what: &'static str,
    },
    /// An HTTP status other than 2xx without a Prometheus error in the body (a proxy's 401, a 502).
    #[error("Prometheus at `{url}` answered HTTP {status}{}", excerpt(body))]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body, escaped and clipped.
        body: String,
    },
    /// Prometheus' own `{"status":"error"}` answer: a bad expression, an execution error, a query timeout.
    #[error("Prometheus at `{url}` refused the query (HTTP {status}, {error_type}): {error}")]
    Rejected {
        /// The request URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// Prometheus' `errorType` (`bad_data`, `execution`, `timeout`, …), escaped and clipped.
        error_type: String,
        /// Prometheus' `error`, escaped and clipped.
        error: String,
    },
    /// An answer body over the size limit.
    #[error("Prometheus at `{url}` sent an answer larger than the limit of {limit} bytes")]
    TooLarge {
        /// The request URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// Not HTTP, not JSON, or JSON of another shape than the Prometheus API's.
    #[error("Prometheus at `{url}` sent a malformed answer: {reason}")]
    Malformed {
        /// The request URL.
        url: String,
        /// What is wrong, escaped and clipped.
        reason: String,
    },
    /// Arguments the client refuses before sending anything (a zero step, too many points).
    #[error("cannot query Prometheus at `{url}`: {reason}")]
    Arguments {
        /// The request URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

impl QueryError {
    /// The URL the failed request went to.
    pub fn url(&self) -> &str {
        match self {
            Self::Unreachable { url, .. }
            | Self::Timeout { url, .. }
            | Self::Status { url, .. }
            | Self::Rejected { url, .. }
            | Self::TooLarge { url, .. }
            | Self::Malformed { url, .. }
            | Self::Arguments { url, .. } => url,
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

fn excerpt(body: &str) -> String {
    if body.is_empty() { String::new() } else { format!(": {body}") }
}
