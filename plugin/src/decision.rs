//! The next move of a canary rollout (advance, promote, roll back, hold or wait), decided from its plan and what Prometheus observed.
//!
//! Pure: the host asks Prometheus and passes the answers in, so the same
//! observations always give the same decision, and every path that lacks
//! evidence holds rather than moves traffic.

use crate::model::monitoring::{DEFAULT_INTERVAL, parse_duration};
pub use crate::model::rollout::OnFailure;
use crate::render::monitoring::plan::Plan;
pub use crate::render::monitoring::prometheus_rule::Gate;
use crate::render::monitoring::prometheus_rule::canary_gates;
use crate::render::monitoring::rollout::traffic;
use crate::render::object::Target;

/// A canary's rollout as its spec states it, with the gates that judge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutPlan {
    /// The canary's current share of traffic, in percent.
    pub weight: u8,
    /// The steps, in percent, increasing.
    pub steps: Vec<u8>,
    /// How long a step must stay healthy, in milliseconds.
    pub interval_ms: u64,
    /// The least canary requests in the interval for a verdict.
    pub min_requests: u64,
    /// What a failed gate does.
    pub on_failure: OnFailure,
    /// The alerts that watch the canary; the rollout moves only while none fires.
    pub gates: Vec<Gate>,
    /// `PromQL`: the canary's requests over the interval; `None` when the
    /// backend counts no requests.
    pub requests: Option<String>,
    /// `PromQL`: 1 while the canary's observed share of requests matches
    /// `weight` (see [`crate::render::monitoring::rollout::traffic`]).
    pub live: Option<String>,
    /// The resolution at which `live` is read: the scrape interval, in milliseconds.
    pub step_ms: u64,
}

/// What Prometheus said about a canary, for one decision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Per gate of the plan, in its order: whether it fails now; `None`
    /// when that is unknown (a query error, no answer).
    pub gates: Vec<Option<bool>>,
    /// Requests the canary answered over the interval, if known.
    pub canary_requests: Option<u64>,
    /// How long the canary's current weight has been in effect in the
    /// cluster, in milliseconds, if known (measured from traffic, not from
    /// the commit, so that a late sync does not shorten a step).
    pub weight_live_ms: Option<u64>,
}

/// The next move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Set the canary's weight to this percentage.
    Advance(u8),
    /// Make the canary the model: its last step held.
    Promote,
    /// Remove the canary: this gate failed.
    Rollback(String),
    /// Change nothing, for this reason.
    Hold(String),
    /// Change nothing yet: the step has this many milliseconds to go.
    Wait(u64),
}

impl RolloutPlan {
    /// The plan of the canary of `target`'s spec, when it has a rollout.
    /// The gates' expressions select the namespace the objects go to.
    pub(crate) fn of(target: &Target<'_>) -> Option<Self> {
        let spec = target.spec;
        let canary = spec.spec.canary.as_ref()?;
        let rollout = canary.rollout.as_ref()?;
        let weight = canary.traffic().get();
        let steps: Vec<u8> = rollout.steps.iter().filter_map(|s| u8::try_from(*s).ok()).collect();
        // Validation refuses a bad interval before a plan is used.
        let interval_ms = rollout.interval.millis().unwrap_or_else(|_| parse_duration(DEFAULT_INTERVAL).unwrap_or(0));
        let previous = steps.iter().copied().filter(|&s| s < weight).max().unwrap_or(0);
        let monitoring = spec.spec.monitoring.as_ref().filter(|m| m.enabled);
        let plan = monitoring.map(|monitoring| Plan::new(target, monitoring));
        let gates = plan.as_ref().map(canary_gates).unwrap_or_default();
        let traffic = plan.as_ref().and_then(|plan| traffic(plan, weight, previous, interval_ms));
        Some(RolloutPlan {
            weight,
            steps,
            interval_ms,
            min_requests: rollout.min_requests(),
            on_failure: rollout.on_failure(),
            gates,
            step_ms: traffic.as_ref().map_or(30_000, |t| t.step_ms),
            requests: traffic.as_ref().map(|t| t.requests.clone()),
            live: traffic.map(|t| t.live),
        })
    }
}

/// The next move of the rollout `plan`, given `observed`. A failed gate
/// decides first; then any missing evidence holds; then time; then the step.
pub fn decide(plan: &RolloutPlan, observed: &Observation) -> Decision {
    if let Some(gate) = plan.gates.iter().zip(&observed.gates).find(|(_, fails)| **fails == Some(true)).map(|(g, _)| g)
    {
        return match plan.on_failure {
            OnFailure::Rollback => Decision::Rollback(gate.alert.clone()),
            OnFailure::Hold => Decision::Hold(format!("gate `{}` fails (`onFailure: hold`)", gate.alert)),
        };
    }
    if plan.weight == 0 {
        return Decision::Hold("the canary's weight is 0: set a weight to start or resume the rollout".to_owned());
    }
    if plan.gates.is_empty() {
        return Decision::Hold("no alert watches the canary, so nothing can judge it".to_owned());
    }
    if let Some(gate) = plan
        .gates
        .iter()
        .zip(observed.gates.iter().chain(std::iter::repeat(&None)))
        .find(|(_, f)| f.is_none())
        .map(|(g, _)| g)
    {
        return Decision::Hold(format!("gate `{}` has no answer from Prometheus", gate.alert));
    }
    match observed.canary_requests {
        None => return Decision::Hold("the canary's request count is unknown".to_owned()),
        Some(n) if n < plan.min_requests => {
            return Decision::Hold(format!(
                "the canary answered {n} requests in the interval, fewer than the {} a verdict needs",
                plan.min_requests
            ));
        }
        Some(_) => {}
    }
    match observed.weight_live_ms {
        None => return Decision::Hold("how long the weight has been live is unknown".to_owned()),
        Some(live) if live < plan.interval_ms => return Decision::Wait(plan.interval_ms - live),
        Some(_) => {}
    }
    plan.steps.iter().find(|&&step| step > plan.weight).map_or(Decision::Promote, |&step| Decision::Advance(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(weight: u8, on_failure: OnFailure) -> RolloutPlan {
        RolloutPlan {
            weight,
            steps: vec![5, 25, 50],
            interval_ms: 30 * 60_000,
            min_requests: 100,
            on_failure,
            gates: ["CanaryErrorRateAboveStable", "CanaryLatencyAboveStable"]
                .map(|alert| Gate {
                    alert: alert.to_owned(),
                    expr: "x > 1".to_owned(),
                    value: Some("x".to_owned()),
                    threshold: "above 1".to_owned(),
                })
                .to_vec(),
            requests: Some("r".to_owned()),
            live: Some("l".to_owned()),
            step_ms: 30_000,
        }
    }

    fn healthy() -> Observation {
        Observation {
            gates: vec![Some(false), Some(false)],
            canary_requests: Some(500),
            weight_live_ms: Some(31 * 60_000),
        }
    }

    #[test]
    fn a_healthy_step_advances_to_the_next_and_the_last_promotes() {
        assert_eq!(decide(&plan(5, OnFailure::Rollback), &healthy()), Decision::Advance(25));
        assert_eq!(decide(&plan(25, OnFailure::Rollback), &healthy()), Decision::Advance(50));
        assert_eq!(decide(&plan(50, OnFailure::Rollback), &healthy()), Decision::Promote);
        // A weight set by hand between steps goes on to the next step above it.
        assert_eq!(decide(&plan(10, OnFailure::Rollback), &healthy()), Decision::Advance(25));
        assert_eq!(decide(&plan(80, OnFailure::Rollback), &healthy()), Decision::Promote);
    }

    #[test]
    fn a_failed_gate_rolls_back_or_holds_even_before_the_interval_is_over() {
        let failing = Observation { gates: vec![Some(false), Some(true)], weight_live_ms: Some(60_000), ..healthy() };
        assert_eq!(
            decide(&plan(25, OnFailure::Rollback), &failing),
            Decision::Rollback("CanaryLatencyAboveStable".to_owned())
        );
        let Decision::Hold(why) = decide(&plan(25, OnFailure::Hold), &failing) else { panic!("holds") };
        assert!(why.contains("CanaryLatencyAboveStable"), "{why}");
    }

    #[test]
    fn missing_evidence_holds_and_never_moves_traffic() {
        let hold = |observed: Observation| match decide(&plan(25, OnFailure::Rollback), &observed) {
            Decision::Hold(why) => why,
            other => panic!("expected a hold, got {other:?}"),
        };
        assert!(hold(Observation { gates: vec![Some(false), None], ..healthy() }).contains("no answer"));
        assert!(hold(Observation { gates: vec![Some(false)], ..healthy() }).contains("no answer"), "a gate not asked");
        assert!(hold(Observation { canary_requests: None, ..healthy() }).contains("unknown"));
        assert!(hold(Observation { canary_requests: Some(99), ..healthy() }).contains("fewer than the 100"));
        assert!(hold(Observation { weight_live_ms: None, ..healthy() }).contains("unknown"));
        let no_gates = RolloutPlan { gates: Vec::new(), ..plan(25, OnFailure::Rollback) };
        assert!(matches!(decide(&no_gates, &Observation::default()), Decision::Hold(_)));
        assert!(matches!(decide(&plan(0, OnFailure::Rollback), &healthy()), Decision::Hold(_)), "weight 0 is a pause");
    }

    #[test]
    fn a_young_step_waits_for_the_rest_of_its_interval() {
        let young = Observation { weight_live_ms: Some(10 * 60_000), ..healthy() };
        assert_eq!(decide(&plan(5, OnFailure::Rollback), &young), Decision::Wait(20 * 60_000));
    }

    /// The fraud example's Seldon Core v1 spec, with a rollout.
    const FRAUD: &str = "apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata: {name: fraud, namespace: payments}
spec:
  backend: seldon
  model: {format: xgboost, version: v7.0.0, storageUri: s3://models/fraud/v7.0.0}
  canary:
    version: v7.1.0
    storageUri: s3://models/fraud/v7.1.0
    trafficPercent: 5
    rollout: {steps: [5, 25, 50], interval: 30m, onFailure: hold}
  monitoring:
    alerts:
      latency: {thresholdMs: 50}
      errorRate: {percent: 0.5}
      traffic: {minRequestsPerSecond: 10}
      canary: {errorRateFactor: 1.5}
";

    fn rendered_alerts(spec: &str) -> Vec<(String, String)> {
        let rendered = crate::generate(&[crate::SourceFile::new("fraud.yaml", spec)], &crate::RenderContext::default())
            .expect("renders");
        let rule = rendered.manifests.iter().find(|m| m.yaml.contains("kind: PrometheusRule")).expect("a rule");
        let value: serde_json::Value = serde_saphyr::from_str(&rule.yaml).expect("YAML");
        value["spec"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .filter(|r| r["labels"]["variant"] == "canary")
            .map(|r| {
                (r["alert"].as_str().unwrap_or_default().to_owned(), r["expr"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    }

    #[test]
    fn the_gates_are_the_rendered_alerts_that_watch_the_canary() {
        let description =
            crate::describe(&[crate::SourceFile::new("fraud.yaml", FRAUD)], &crate::RenderContext::default())
                .expect("describes");
        let plan = description.models[0].rollout.clone().expect("a rollout");
        assert_eq!((plan.weight, plan.steps.clone(), plan.interval_ms), (5, vec![5, 25, 50], 30 * 60_000));
        assert_eq!((plan.min_requests, plan.on_failure), (100, OnFailure::Hold));
        // The simple comparisons show their value; the canary-vs-stable ones (`A > k * B and ...`) have none.
        let values: Vec<Option<&str>> = plan.gates.iter().map(|g| g.value.as_deref()).collect();
        assert!(values[0].is_some_and(|v| v.starts_with('(') && !v.contains(" > ")), "{values:?}");
        assert!(values[1].is_some_and(|v| !v.contains(" > ")), "{values:?}");
        assert_eq!(plan.gates[1].threshold, "fraud v7.1.0 (canary): more than 0.5% of requests fail");
        let requests = plan.requests.clone().expect("Seldon's executor counts requests");
        assert!(
            requests.contains("[1800s]") && requests.ends_with(" * 1800") && requests.contains("v7.1.0"),
            "{requests}"
        );
        let live = plan.live.clone().expect("a share query");
        // The first step is live once the share is past half of it.
        assert!(live.ends_with(" >= bool 0.025") && live.contains("[120s]"), "{live}");
        assert_eq!(plan.step_ms, 30_000);
        let gates: Vec<(String, String)> = plan.gates.into_iter().map(|g| (g.alert, g.expr)).collect();
        let names: Vec<&str> = gates.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            names,
            ["ModelLatencyHigh", "ModelErrorRateHigh", "CanaryErrorRateAboveStable", "CanaryLatencyAboveStable"],
            "the traffic alert is about the whole model, not a gate"
        );
        let rendered: Vec<String> = rendered_alerts(FRAUD).into_iter().map(|(alert, _)| alert).collect();
        assert_eq!(names, rendered, "the same alerts as the PrometheusRule");
        for (alert, expr) in &gates {
            assert!(!expr.contains("modelgen:"), "{alert} reads a recorded series: {expr}");
        }
    }

    #[test]
    fn a_rollout_renders_nothing() {
        let without = FRAUD.replace("    rollout: {steps: [5, 25, 50], interval: 30m, onFailure: hold}\n", "");
        assert_ne!(without, FRAUD);
        let render = |spec: &str| {
            crate::generate(&[crate::SourceFile::new("fraud.yaml", spec)], &crate::RenderContext::default())
                .expect("renders")
                .manifests
        };
        assert_eq!(render(FRAUD), render(&without));
    }
}
