//! A small, bounded, blocking client of Prometheus' HTTP query API, for the canary gates of `modelgen canary`.
//!
//! # Access
//! [`Access::new`] takes the parsed flags ([`AccessOptions`]: base URL, CA
//! file, limits) and reads credentials from these environment variables:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `MODELGEN_PROMETHEUS_TOKEN` | bearer token (`Authorization: Bearer …`) |
//! | `MODELGEN_PROMETHEUS_TOKEN_FILE` | a file holding the bearer token |
//! | `MODELGEN_PROMETHEUS_USERNAME` | basic auth user name |
//! | `MODELGEN_PROMETHEUS_PASSWORD` | basic auth password |
//! | `MODELGEN_PROMETHEUS_PASSWORD_FILE` | a file holding the basic auth password |
//!
//! A variable and its `_FILE` form are exclusive, and so are the token and
//! basic auth; files are read up to 64 KiB and trimmed of surrounding
//! whitespace (as Prometheus' own `bearer_token_file`/`password_file`). The
//! URL must be `http` or `https` and must not hold `user:password@`, so that
//! no credential is ever in a URL, and so in no message: credentials are
//! held in [`Secret`], whose `Debug` and `Display` print `***`, and are
//! scrubbed from any text a failure quotes. A CA file (PEM) replaces the
//! built-in roots (Mozilla's, from `webpki-roots`). Redirects are not
//! followed (an `Authorization` header must not travel to another host);
//! `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` are honoured.
//!
//! # Limits
//! Every request is bounded by the per-request timeout (connection, TLS,
//! sending and the answer's last byte: a server that drips bytes runs into
//! it), by what is left of the client's overall deadline, and by the size
//! limit of the answer's body. Expressions are sent in a POST form body, so
//! that long ones fit, with Prometheus' own `timeout` parameter.
//!
//! # Failures
//! A [`QueryError`] means "no answer" and says nothing about a canary: the
//! caller holds. NaN (`0/0`, Prometheus' "no value") samples and points are
//! left out; ±infinity is kept as a number.

mod access;
mod answer;
mod error;

use std::time::{Duration, Instant, SystemTime};

pub use access::{
    Access, AccessError, AccessOptions, Auth, DEFAULT_DEADLINE, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
    PASSWORD_ENV, PASSWORD_FILE_ENV, Secret, TOKEN_ENV, TOKEN_FILE_ENV, USERNAME_ENV,
};
pub use answer::{Sample, Series};
pub use error::QueryError;

use answer::{Data, Envelope, format_millis, millis};

use crate::escape;

/// Prometheus refuses range queries of more points per series than this
/// (`web/api/v1/api.go`: "exceeded maximum resolution of 11,000 points per timeseries").
pub const MAX_POINTS: u64 = 11_000;
/// The most characters of a server's text quoted in an error.
const QUOTED_CHARS: usize = 300;

/// Queries one Prometheus within one overall deadline.
#[derive(Debug)]
pub struct Client {
    access: Access,
    agent: ureq::Agent,
    /// When the overall deadline runs out.
    end: Instant,
}

impl Client {
    /// A client whose overall deadline starts now.
    pub fn new(access: Access) -> Self {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(ca) = &access.ca {
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(ca));
        }
        let config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("modelgen/", env!("CARGO_PKG_VERSION")))
            .build();
        let end = Instant::now() + access.deadline;
        Self { agent: config.into(), access, end }
    }

    /// The base URL queried.
    pub fn url(&self) -> &str {
        self.access.url()
    }

    /// The value of `expr` at `at` (`/api/v1/query`): one sample per series,
    /// or one unlabelled sample for a scalar result.
    pub fn instant(&self, expr: &str, at: SystemTime) -> Result<Vec<Sample>, QueryError> {
        let url = format!("{}/api/v1/query", self.access.url());
        let at = millis(at).ok_or_else(|| arguments(&url, "the evaluation time is before 1970 or too far ahead"))?;
        let data = self.post(&url, &[("query", expr), ("time", &format_millis(at))])?;
        let malformed = |reason: String| QueryError::Malformed { url: url.clone(), reason };
        let mut samples = Vec::new();
        match data {
            Data::Vector(items) => {
                for item in items {
                    if let Some((_, value)) = item.value.read().map_err(malformed)? {
                        samples.push(Sample { labels: item.metric, value });
                    }
                }
            }
            Data::Scalar(point) => {
                if let Some((_, value)) = point.read().map_err(malformed)? {
                    samples.push(Sample { labels: std::collections::BTreeMap::new(), value });
                }
            }
            other => {
                return Err(malformed(format!("an instant query gave a `{}`, not a vector or scalar", other.kind())));
            }
        }
        Ok(samples)
    }

    /// The values of `expr` from `start` to `end` every `step`
    /// (`/api/v1/query_range`); Prometheus evaluates at `start`, `start + step`, … up to `end`.
    pub fn range(
        &self,
        expr: &str,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
    ) -> Result<Vec<Series>, QueryError> {
        let url = format!("{}/api/v1/query_range", self.access.url());
        let (start, end) = match (millis(start), millis(end)) {
            (Some(start), Some(end)) if start <= end => (start, end),
            (Some(_), Some(_)) => return Err(arguments(&url, "the range ends before it starts")),
            _ => return Err(arguments(&url, "a time of the range is before 1970 or too far ahead")),
        };
        let step_ms = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        if step_ms == 0 {
            return Err(arguments(&url, "the step must be at least a millisecond"));
        }
        if (end - start) / step_ms + 1 > MAX_POINTS {
            return Err(arguments(
                &url,
                &format!("the range has more than {MAX_POINTS} steps, more than Prometheus answers"),
            ));
        }
        let data = self.post(
            &url,
            &[
                ("query", expr),
                ("start", &format_millis(start)),
                ("end", &format_millis(end)),
                ("step", &format_millis(step_ms)),
            ],
        )?;
        let Data::Matrix(items) = data else {
            return Err(QueryError::Malformed {
                url,
                reason: format!("a range query gave a `{}`, not a matrix", data.kind()),
            });
        };
        let mut all = Vec::with_capacity(items.len());
        for item in items {
            let mut points = Vec::with_capacity(item.values.len());
            for point in &item.values {
                if let Some(point) =
                    point.read().map_err(|reason| QueryError::Malformed { url: url.clone(), reason })?
                {
                    points.push(point);
                }
            }
            all.push(Series { labels: item.metric, points });
        }
        Ok(all)
    }

    /// How long, up to `lookback`, `expr` has held without a break up to `now`.
    ///
    /// `expr` is evaluated at `now`, `now - step`, `now - 2·step`, … back to
    /// `now - k·step` with `k = ⌊lookback / step⌋` (`now` truncated to the
    /// millisecond). It *holds* at a point when at least one series has a
    /// value there that is neither zero nor NaN; a point without any value
    /// (no series, a gap, NaN) or with only zeros breaks the run. The answer
    /// is `None` when it does not hold at `now`, and otherwise `n · step`
    /// where `n` is the number of earlier points in the unbroken run: a lower
    /// bound, since it started to hold somewhere in the step before the run's
    /// first point. It is at most `k · step`, reached when it held at every
    /// point looked at.
    pub fn held_for(
        &self,
        expr: &str,
        lookback: Duration,
        step: Duration,
        now: SystemTime,
    ) -> Result<Option<Duration>, QueryError> {
        let url = format!("{}/api/v1/query_range", self.access.url());
        let now_ms =
            millis(now).ok_or_else(|| arguments(&url, "the evaluation time is before 1970 or too far ahead"))?;
        let step_ms = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        if step_ms == 0 {
            return Err(arguments(&url, "the step must be at least a millisecond"));
        }
        let lookback_ms = u64::try_from(lookback.as_millis()).unwrap_or(u64::MAX);
        let steps = (lookback_ms / step_ms).min(now_ms / step_ms);
        if steps + 1 > MAX_POINTS {
            return Err(arguments(
                &url,
                &format!("the lookback has more than {MAX_POINTS} steps, more than Prometheus answers"),
            ));
        }
        let start_ms = now_ms - steps * step_ms;
        let at = |ms: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        let series = self.range(expr, at(start_ms), at(now_ms), Duration::from_millis(step_ms))?;
        let length = usize::try_from(steps + 1).unwrap_or(usize::MAX);
        let mut holds = vec![false; length];
        for point in series.iter().flat_map(|s| &s.points) {
            let Some(ms) = millis(point.0) else { continue };
            // Prometheus answers at exactly the grid's times; anything else is ignored.
            if ms < start_ms || (ms - start_ms) % step_ms != 0 {
                continue;
            }
            let index = usize::try_from((ms - start_ms) / step_ms).unwrap_or(usize::MAX);
            if index < holds.len() && point.1 != 0.0 {
                holds[index] = true;
            }
        }
        if holds.last() != Some(&true) {
            return Ok(None);
        }
        let run = holds.iter().rev().take_while(|held| **held).count() as u64;
        Ok(Some(Duration::from_millis((run - 1) * step_ms)))
    }

    /// POSTs `form` to `url` and reads a successful answer's `data`.
    fn post(&self, url: &str, form: &[(&str, &str)]) -> Result<Data, QueryError> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(QueryError::Timeout {
                url: url.to_owned(),
                limit: self.access.deadline,
                what: "the overall deadline ran out",
            });
        }
        let (limit, what) = if left < self.access.timeout {
            (left, "the overall deadline ran out")
        } else {
            (self.access.timeout, "the request timeout")
        };
        // Prometheus stops evaluating after its own `timeout` parameter.
        let timeout = format!("{}ms", limit.as_millis().max(1));
        let mut fields = form.to_vec();
        fields.push(("timeout", &timeout));
        let mut request =
            self.agent.post(url).header("Accept", "application/json").config().timeout_global(Some(limit)).build();
        if let Some(header) = self.access.auth.header() {
            request = request.header("Authorization", header.expose());
        }
        let failure = |e: ureq::Error| self.failure(url, limit, what, &e);
        let mut response = request.send_form(fields).map_err(failure)?;
        let status = response.status().as_u16();
        let body =
            response.body_mut().with_config().limit(self.access.max_response_bytes).read_to_vec().map_err(failure)?;
        let envelope = serde_json::from_slice::<Envelope>(&body);
        match envelope {
            Ok(envelope) if envelope.status == "success" && (200..300).contains(&status) => {
                envelope.data.ok_or_else(|| QueryError::Malformed {
                    url: url.to_owned(),
                    reason: "a successful answer without `data`".into(),
                })
            }
            Ok(envelope) if envelope.status == "error" => Err(QueryError::Rejected {
                url: url.to_owned(),
                status,
                error_type: self.quote(envelope.error_type.as_deref().unwrap_or("unknown")),
                error: self.quote(envelope.error.as_deref().unwrap_or("")),
            }),
            _ if !(200..300).contains(&status) => Err(QueryError::Status {
                url: url.to_owned(),
                status,
                body: self.quote(String::from_utf8_lossy(&body).trim()),
            }),
            Ok(envelope) => Err(QueryError::Malformed {
                url: url.to_owned(),
                reason: format!("`status` is `{}`, not `success` or `error`", self.quote(&envelope.status)),
            }),
            Err(e) => Err(QueryError::Malformed {
                url: url.to_owned(),
                reason: self.quote(&format!("not the JSON of the query API: {e}")),
            }),
        }
    }

    /// A transport failure as a [`QueryError`].
    fn failure(&self, url: &str, limit: Duration, what: &'static str, error: &ureq::Error) -> QueryError {
        let url = url.to_owned();
        match error {
            ureq::Error::Timeout(_) => QueryError::Timeout { url, limit, what },
            ureq::Error::Io(io)
                if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) =>
            {
                QueryError::Timeout { url, limit, what }
            }
            ureq::Error::BodyExceedsLimit(limit) => QueryError::TooLarge { url, limit: *limit },
            ureq::Error::Protocol(_)
            | ureq::Error::BadUri(_)
            | ureq::Error::LargeResponseHeader(..)
            | ureq::Error::BodyStalled => QueryError::Malformed { url, reason: self.quote(&error.to_string()) },
            _ => QueryError::Unreachable { url, reason: self.quote(&error.to_string()) },
        }
    }

    /// Text from the server or a library as one clipped, escaped line
    /// without any credential in it.
    fn quote(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.access.auth.secrets() {
            text = text.replace(&secret, "***");
        }
        escape::line(&text, QUOTED_CHARS).into_owned()
    }
}

fn arguments(url: &str, reason: &str) -> QueryError {
    QueryError::Arguments { url: url.to_owned(), reason: reason.to_owned() }
}
