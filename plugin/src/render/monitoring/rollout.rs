//! The `PromQL` a canary rollout reads beside its gates: the canary's requests over a step, and whether its observed share of traffic matches its weight.

use super::plan::Plan;
use super::promql::{quote, regex_escape, selector};
use crate::render::variant::Variant;

/// The queries that tell whether a step has enough evidence and how long it has been live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traffic {
    /// The canary's requests over the interval (one series; none without requests).
    pub requests: String,
    /// 1 while the canary's share of requests is nearer its weight than the
    /// step before, 0 otherwise.
    pub live: String,
    /// The scrape interval, in milliseconds: the resolution of `live`.
    pub step_ms: u64,
}

/// The rollout queries of `plan`'s canary, whose weight is `weight` and
/// whose step before was `previous` (0 for the first), over steps of
/// `interval_ms`; `None` when the backend counts no requests.
///
/// A weight is live once the canary's observed share of requests is closer
/// to it than to the step before: half way between the two. The share is
/// averaged over four scrape intervals, the shortest window whose rate has
/// four samples, so that it follows a change within a minute or two rather
/// than the five minutes of the recording rules.
pub fn traffic(plan: &Plan<'_>, weight: u8, previous: u8, interval_ms: u64) -> Option<Traffic> {
    let canary = plan.version(Variant::Canary)?;
    let stable = plan.version(Variant::Stable)?;
    let step_ms = plan.scrape_interval_ms();
    let interval = format!("{}s", interval_ms.div_ceil(1000).max(1));
    let requests = plan.source.requests_over(&plan.only(canary), &interval)?;
    let window = format!("{}s", (4 * step_ms).div_ceil(1000).max(1));
    let mut serving = plan.base();
    serving.push(format!("version=~{}", quote(&format!("{}|{}", regex_escape(stable), regex_escape(canary)))));
    let share = format!(
        "sum({}) / sum({})",
        plan.source.requests_over(&plan.only(canary), &window)?,
        plan.source.requests_over(&selector(&serving), &window)?
    );
    let threshold = (f64::from(previous) + f64::from(weight)) / 200.0;
    Some(Traffic {
        // A rate times the window's seconds is the increase over it.
        requests: format!("sum({requests}) * {}", interval_ms.div_ceil(1000).max(1)),
        live: format!("{share} >= bool {threshold}"),
        step_ms,
    })
}
