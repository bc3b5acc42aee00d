//! The JSON of Prometheus' query API (`/api/v1/query`, `/api/v1/query_range`), read into samples and series.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// One value of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels (`__name__` included when the result keeps it).
    pub labels: BTreeMap<String, String>,
    /// The value: finite or ±infinity, never NaN (a NaN sample is left out).
    pub value: f64,
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// The points in time order: finite or ±infinity, never NaN (NaN points are left out).
    pub points: Vec<(SystemTime, f64)>,
}

/// The envelope of every answer, successful or not.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    pub status: String,
    #[serde(default)]
    pub data: Option<Data>,
    #[serde(default, rename = "errorType")]
    pub error_type: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub(crate) enum Data {
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
    Scalar(RawPoint),
    /// A string result (`"foo"`); its text is never used.
    String(#[allow(dead_code)] RawPoint),
}

impl Data {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Vector(_) => "vector",
            Self::Matrix(_) => "matrix",
            Self::Scalar(_) => "scalar",
            Self::String(_) => "string",
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct VectorItem {
    #[serde(default)]
    pub metric: BTreeMap<String, String>,
    pub value: RawPoint,
}

#[derive(Deserialize)]
pub(crate) struct MatrixItem {
    #[serde(default)]
    pub metric: BTreeMap<String, String>,
    #[serde(default)]
    pub values: Vec<RawPoint>,
}

/// `[<unix seconds>, "<value>"]`.
#[derive(Deserialize)]
pub(crate) struct RawPoint(pub f64, pub String);

impl RawPoint {
    /// The time and value; `Ok(None)` for `NaN`, which Prometheus uses for "no value"
    /// (`0/0`); infinity (either sign) is kept, as `PromQL` comparisons treat it as a number.
    pub fn read(&self) -> Result<Option<(SystemTime, f64)>, String> {
        let time = time(self.0)?;
        let value = match self.1.as_str() {
            "NaN" => return Ok(None),
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            text => text
                .parse::<f64>()
                .map_err(|_| format!("the value `{}` is not a number", crate::escape::value(text)))?,
        };
        if value.is_nan() {
            return Ok(None);
        }
        Ok(Some((time, value)))
    }
}

/// Unix seconds as a time, to the millisecond (Prometheus' resolution).
fn time(seconds: f64) -> Result<SystemTime, String> {
    if !(0.0..=1e11).contains(&seconds) {
        return Err(format!("the timestamp {seconds} is out of range"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above: 0 ≤ ms ≤ 1e14
    let millis = (seconds * 1000.0).round() as u64;
    Ok(UNIX_EPOCH + Duration::from_millis(millis))
}

/// Milliseconds since the Unix epoch; `None` before it or too far ahead.
pub(crate) fn millis(at: SystemTime) -> Option<u64> {
    let since = at.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok().filter(|ms| *ms <= 100_000_000_000_000)
}

/// Milliseconds as Prometheus' `<unix seconds>.<millis>`.
pub(crate) fn format_millis(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_prometheus_writes_them() {
        let point = |v: &str| RawPoint(1_700_000_000.25, v.to_owned()).read();
        assert_eq!(point("1.5"), Ok(Some((UNIX_EPOCH + Duration::from_millis(1_700_000_000_250), 1.5))));
        assert_eq!(point("+Inf").map(|p| p.map(|(_, v)| v)), Ok(Some(f64::INFINITY)));
        assert_eq!(point("-Inf").map(|p| p.map(|(_, v)| v)), Ok(Some(f64::NEG_INFINITY)));
        assert_eq!(point("NaN"), Ok(None));
        assert!(point("twelve").is_err());
        assert!(RawPoint(-1.0, "1".into()).read().is_err());
        assert!(RawPoint(f64::INFINITY, "1".into()).read().is_err());
    }

    #[test]
    fn times_format_to_the_millisecond() {
        assert_eq!(format_millis(1_700_000_000_005), "1700000000.005");
        assert_eq!(millis(UNIX_EPOCH + Duration::from_nanos(1_999_999)), Some(1));
        assert_eq!(millis(UNIX_EPOCH - Duration::from_secs(1)), None);
    }
}
