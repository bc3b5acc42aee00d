//! Monitoring objects: a `PodMonitor` for exactly the model's pods, a `PrometheusRule` with recording rules and alerts, and a Grafana dashboard.
//!
//! The `PodMonitor` labels every series it scrapes with `model` (the spec's
//! name) and `version` (the model version the pod serves), whatever the
//! backend calls them, so that the rules and the dashboard pick stable,
//! canary and shadow the same way on every backend. What differs between
//! backends is which metrics they really export; that lives in [`source`].
//! The recording rules turn each backend's metrics into the same series
//! (`modelgen:requests:rate5m`, ...), and the alerts read only those.

pub(crate) mod alert;
pub(crate) mod dashboard;
pub(crate) mod llm;
pub(crate) mod plan;
pub(crate) mod pod_monitor;
pub(crate) mod prometheus_rule;
pub(crate) mod promql;
pub(crate) mod rollout;
pub(crate) mod source;

use serde_json::Value;

use crate::render::object::Target;
use plan::Plan;

/// Adds the monitoring objects of a spec with `monitoring` enabled. (A KServe
/// native canary's pods carry its version already: see `render::kserve`.)
pub fn render(target: &Target<'_>, objects: &mut Vec<Value>) {
    let Some(monitoring) = target.spec.spec.monitoring.as_ref().filter(|m| m.enabled) else { return };
    let plan = Plan::new(target, monitoring);
    objects.push(pod_monitor::render(&plan));
    if let Some(scheduler) = pod_monitor::scheduler(&plan) {
        objects.push(scheduler);
    }
    if let Some(rule) = prometheus_rule::render(&plan) {
        objects.push(rule);
    }
    if monitoring.dashboard.enabled
        && let Some(config_map) = dashboard::config_map(&plan)
    {
        objects.push(config_map);
    }
}
