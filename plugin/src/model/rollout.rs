//! `spec.canary.rollout`: the steps a canary's traffic takes, how long each must stay healthy, and what a failed gate does.
//!
//! The plan is data for `modelgen canary status|advance`, which read the
//! canary's gates from Prometheus and move the weight by commits; nothing in
//! the cluster reads it, so it renders to nothing and changing it rolls no pod.

use schemars::JsonSchema;
use serde::Deserialize;

use super::monitoring::Duration;

/// Canary requests an interval needs before its gates are judged, when the plan names no number.
pub const DEFAULT_MIN_REQUESTS: u64 = 100;

/// How a canary's traffic grows, step by step, while its gates hold.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rollout {
    /// The canary's traffic percentages, in increasing order, each from 1 to 99 (for example `[5, 25, 50]`); after the last step the canary is promoted.
    pub steps: Vec<u32>,
    /// The least time a step must stay healthy before the next, a Prometheus duration (for example `30m`); at least four scrape intervals, so that its rates have four samples.
    pub interval: Duration,
    /// The least canary requests in the interval for a verdict (default `100`); with fewer, the rollout holds.
    #[serde(default)]
    pub min_requests: Option<u64>,
    /// What a failed gate does: `rollback` (default) removes the canary, `hold` keeps its weight until a person decides.
    #[serde(default)]
    pub on_failure: Option<OnFailure>,
}

impl Rollout {
    /// The least canary requests for a verdict, defaulted.
    pub fn min_requests(&self) -> u64 {
        self.min_requests.unwrap_or(DEFAULT_MIN_REQUESTS)
    }

    /// What a failed gate does, defaulted.
    pub fn on_failure(&self) -> OnFailure {
        self.on_failure.unwrap_or(OnFailure::Rollback)
    }
}

/// What a failed gate does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Remove the canary: all traffic back to the stable model.
    Rollback,
    /// Keep the canary's weight and report the failure.
    Hold,
}
