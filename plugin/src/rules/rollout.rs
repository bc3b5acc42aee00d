//! The rules of `spec.canary.rollout`: steps that only grow, an interval Prometheus can judge, and at least one gate.

use super::finding::Findings;
use crate::decision::RolloutPlan;
use crate::diagnostic::Severity;
use crate::model::monitoring::{DEFAULT_INTERVAL, parse_duration};
use crate::model::spec::ModelDeployment;
use crate::render::object::Target;
use crate::yaml::path::FieldPath;

/// Scrapes a rate needs inside the interval, as for the alerts' rate window.
const SAMPLES_PER_INTERVAL: u64 = 4;

/// `spec.canary.rollout`, when written.
pub fn check_rollout(spec: &ModelDeployment, found: &mut Findings) {
    let Some(rollout) = spec.spec.canary.as_ref().and_then(|c| c.rollout.as_ref()) else { return };
    let steps = FieldPath::parse("spec.canary.rollout.steps");
    if rollout.steps.is_empty() {
        found.push(
            Severity::Error,
            steps.clone(),
            "a rollout needs at least one step".to_owned(),
            Some("list the canary's traffic percentages, as in `steps: [5, 25, 50]`"),
        );
    }
    for (i, &step) in rollout.steps.iter().enumerate() {
        if !(1..=99).contains(&step) {
            found.push(
                Severity::Error,
                steps.clone().index(i),
                format!("step `{step}` is not a percentage from 1 to 99"),
                Some("promotion follows the last step, and a rollback removes the canary: neither is a step"),
            );
        } else if let Some(&before) = i.checked_sub(1).and_then(|j| rollout.steps.get(j))
            && step <= before
        {
            found.push(
                Severity::Error,
                steps.clone().index(i),
                format!("step `{step}` does not grow on the step before it, `{before}`"),
                Some("list the steps in increasing order, each once"),
            );
        }
    }
    check_interval(spec, found);
    if rollout.min_requests == Some(0) {
        found.error(
            "spec.canary.rollout.minRequests",
            "`minRequests` is `0`: a canary that got no request would pass its gates".to_owned(),
            Some("ask for at least one request per interval (the default is 100)"),
        );
    }
    check_gates(spec, found);
}

/// The interval: a Prometheus duration holding four scrapes.
fn check_interval(spec: &ModelDeployment, found: &mut Findings) {
    let Some(rollout) = spec.spec.canary.as_ref().and_then(|c| c.rollout.as_ref()) else { return };
    let path = "spec.canary.rollout.interval";
    let interval = match rollout.interval.millis() {
        Ok(ms) => ms,
        Err(why) => {
            found.error(
                path,
                format!("`{}` is not a duration: {why}", rollout.interval),
                Some("write a Prometheus duration such as `30m` or `1h`"),
            );
            return;
        }
    };
    let scrape = spec.spec.monitoring.as_ref().map_or(DEFAULT_INTERVAL, |m| m.scrape.interval());
    // A bad scrape interval is reported at its own field.
    let Ok(scrape_ms) = parse_duration(scrape) else { return };
    if interval < SAMPLES_PER_INTERVAL * scrape_ms {
        found.error(
            path,
            format!(
                "an interval of `{}` holds fewer than {SAMPLES_PER_INTERVAL} scrapes at the scrape interval `{scrape}`, too few for the gates' rates",
                rollout.interval
            ),
            Some(&format!("make it at least {SAMPLES_PER_INTERVAL} times the scrape interval")),
        );
    }
}

/// At least one alert watches the canary; a rollout without one would advance blind.
fn check_gates(spec: &ModelDeployment, found: &mut Findings) {
    let path = "spec.canary.rollout";
    if !spec.spec.monitoring.as_ref().is_some_and(|m| m.enabled) {
        let why = if spec.spec.monitoring.is_some() { "its monitoring is off" } else { "the spec has no monitoring" };
        found.error(
            path,
            format!("a rollout needs a gate, and {why}: nothing would tell a bad canary from a good one"),
            Some("add `spec.monitoring.alerts`, as in `errorRate: {percent: 1}` with `canary: {errorRateFactor: 2}`"),
        );
    } else if RolloutPlan::of(&Target { spec, source: "", namespace: None }).is_some_and(|plan| plan.gates.is_empty()) {
        found.error(
            path,
            "none of `spec.monitoring.alerts` watches the canary on this backend, so the rollout would have no gate"
                .to_owned(),
            Some(
                "add `latency`, `errorRate` or `quality` (compared with the stable model through `alerts.canary`); `traffic` is no gate: `minRequests` is",
            ),
        );
    }
}
