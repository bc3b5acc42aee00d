//! What Prometheus says about a canary's rollout: each gate's verdict and value, the canary's requests, and how long its weight has been live.
//!
//! Every query that fails (no answer, an error, a limit) leaves its part of
//! the [`Observation`] unknown, with the reason kept for people: the
//! plugin's `decide` holds on anything unknown, so a broken Prometheus can
//! never advance or promote a canary.

use std::time::{Duration, SystemTime};

use super::{Gate, Observation, Rollout};
use crate::prometheus::{Client, QueryError};

/// A gate as read: its verdict and the value it compares.
#[derive(Clone, Debug, PartialEq)]
pub struct GateReading {
    /// The gate.
    pub gate: Gate,
    /// `Ok(true)` when it fails now, `Ok(false)` when it holds; why it is unknown otherwise.
    pub fails: Result<bool, String>,
    /// The compared value now, when the gate has one and Prometheus gave it.
    pub value: Option<f64>,
}

/// Everything read about one rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// When the queries were evaluated.
    pub at: SystemTime,
    /// Each gate, in the rollout's order.
    pub gates: Vec<GateReading>,
    /// The canary's requests over the interval, or why unknown.
    pub requests: Result<u64, String>,
    /// How long the weight has been live, or why unknown.
    pub live: Result<Duration, String>,
}

impl Reading {
    /// The observation `decide` takes.
    #[must_use]
    pub fn observation(&self) -> Observation {
        Observation {
            gates: self.gates.iter().map(|g| g.fails.as_ref().ok().copied()).collect(),
            canary_requests: self.requests.as_ref().ok().copied(),
            weight_live_ms: self.live.as_ref().ok().map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

/// Reads `rollout` from `client`, evaluated at `at`.
#[must_use]
pub fn observe(rollout: &Rollout, client: &Client, at: SystemTime) -> Reading {
    let gates = rollout
        .gates
        .iter()
        .map(|gate| GateReading {
            gate: gate.clone(),
            fails: client.instant(&gate.expr, at).map(|samples| !samples.is_empty()).map_err(|e| reason(&e)),
            value: gate
                .value
                .as_deref()
                .and_then(|expr| client.instant(expr, at).ok())
                .and_then(|samples| samples.iter().map(|s| s.value).reduce(f64::max)),
        })
        .collect();
    let requests = match rollout.requests.as_deref() {
        None => Err("the backend's metrics do not count the canary's requests".to_owned()),
        Some(expr) => client.instant(expr, at).map_err(|e| reason(&e)).map(|samples| {
            // No series: no request at all. A rate times seconds is a whole count up to float error: round.
            let total: f64 = samples.iter().map(|s| s.value).filter(|v| v.is_finite() && *v > 0.0).sum();
            whole(total)
        }),
    };
    let live = match rollout.live.as_deref() {
        None => Err("the backend's metrics do not count the canary's requests".to_owned()),
        Some(expr) => {
            let lookback = Duration::from_millis(rollout.interval_ms);
            let step = Duration::from_millis(rollout.step_ms.max(1));
            match client.held_for(expr, lookback, step, at) {
                Ok(Some(held)) => Ok(held),
                Ok(None) => Err(format!(
                    "the canary's observed share of requests is not near its weight of {}% (not synced yet, or no traffic)",
                    rollout.weight
                )),
                Err(e) => Err(reason(&e)),
            }
        }
    };
    Reading { at, gates, requests, live }
}

/// A non-negative count, rounded and capped.
fn whole(count: f64) -> u64 {
    // Above 2^53 precision is lost anyway; the cap keeps the cast exact.
    const CAP: f64 = 9_007_199_254_740_992.0;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = count.clamp(0.0, CAP).round() as u64;
    n
}

/// A query's failure, in one line for people.
fn reason(error: &QueryError) -> String {
    format!("no answer from Prometheus: {error}")
}
