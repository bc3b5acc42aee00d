//! One alerting rule as modelgen writes it: labelled for routing, annotated with the spec file and the runbook.

use serde_json::{Value, json};

use super::plan::Plan;
use crate::model::monitoring::{self as spec, AlertSeverity};
use crate::render::variant::Variant;

/// The runbook hint on every alert: in GitOps the spec is the state.
pub const RUNBOOK: &str = "roll back: revert the commit that changed the spec";

/// What every alert of a spec shares.
pub struct AlertSpec<'a> {
    /// The alert's name (`ModelLatencyHigh`, ...).
    pub name: &'a str,
    /// When it fires, in `PromQL`.
    pub expr: String,
    /// How long the condition must hold.
    pub for_: String,
    /// Its `severity` label.
    pub severity: AlertSeverity,
    /// The model version it watches.
    pub version: &'a str,
    /// The variant it watches; `None` for alerts about the whole model.
    pub variant: Option<Variant>,
    /// The one-line `summary` annotation.
    pub summary: String,
    /// The `description` annotation, before the spec file is named.
    pub description: String,
}

/// One alerting rule, labelled for routing and annotated with the spec and the runbook.
pub fn alert(plan: &Plan<'_>, alert: &AlertSpec<'_>) -> Value {
    let mut labels = json!({
        "severity": alert.severity.as_str(),
        "model": plan.name(),
        "version": alert.version,
        "backend": plan.spec().backend.as_str(),
    });
    if let Some(variant) = alert.variant {
        labels["variant"] = json!(variant.as_str());
    }
    let description = format!("{} Spec: `{}`.", alert.description, plan.target.source);
    json!({
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": labels,
        "annotations": { "summary": alert.summary, "description": description, "runbook": RUNBOOK },
    })
}

/// The spec's `for`, or the alert kind's default.
pub fn for_or(duration: Option<&spec::Duration>, default: &str) -> String {
    duration.map_or_else(|| default.to_owned(), |d| d.0.clone())
}

/// Who the alert is about, for messages: `mochanet v1.2.0 (stable)`.
pub fn who(plan: &Plan<'_>, variant: Variant, version: &str) -> String {
    format!("{} {version} ({})", plan.name(), variant.as_str())
}
