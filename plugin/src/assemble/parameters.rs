//! Render parameters (`canary-weight.<model>`) and the context's default namespace, checked.

use std::collections::BTreeMap;

use crate::context::RenderContext;
use crate::diagnostic::Diagnostic;
use crate::model::percent::Percent;
use crate::rules::k8s;

/// The render parameter that sets a model's canary weight: `canary-weight.<model>`.
pub const CANARY_WEIGHT: &str = "canary-weight.";

/// A render parameter the plugin accepts, for hosts that announce them (Argo CD's UI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// A short title.
    pub title: String,
    /// One sentence on what it does.
    pub tooltip: String,
    /// Its kind.
    pub kind: ParameterKind,
}

/// How a parameter takes its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterKind {
    /// One string, with its default.
    String(Option<String>),
    /// A map, each entry passed as `<name>.<key>`: the keys a user may set, with their current values.
    Map(Vec<(String, String)>),
}

/// The parameters an application accepts: `canary-weight`, a map from each
/// model with a canary to its weight as configured (`canaries`).
pub fn announced<'a>(canaries: impl Iterator<Item = (&'a str, u8)>) -> Vec<Parameter> {
    let weights = canaries.map(|(name, percent)| (name.to_owned(), percent.to_string())).collect();
    vec![Parameter {
        name: CANARY_WEIGHT.trim_end_matches('.').to_owned(),
        title: "Canary weight (%)".to_owned(),
        tooltip:
            "Percent of traffic each model's canary gets, 0 to 100. Defaults to the spec's spec.canary.trafficPercent."
                .to_owned(),
        kind: ParameterKind::Map(weights),
    }]
}

/// Checks the context; returns its diagnostics and the canary weights it sets, by model.
pub fn check_context(context: &RenderContext) -> (Vec<Diagnostic>, BTreeMap<String, Percent>) {
    let mut diagnostics = Vec::new();
    if let Some(ns) = &context.namespace
        && k8s::dns_label(ns, false).is_err()
    {
        diagnostics.push(Diagnostic::error(format!("the default namespace `{ns}` is not a valid namespace name")));
    }
    let mut weights = BTreeMap::new();
    for (key, value) in &context.parameters {
        let Some(model) = key.strip_prefix(CANARY_WEIGHT).filter(|m| !m.is_empty()) else {
            diagnostics.push(
                Diagnostic::error(format!("unknown parameter `{key}`"))
                    .field(key.clone())
                    .hint(format!("the one parameter is `{CANARY_WEIGHT}<model>` (a canary's traffic percent)")),
            );
            continue;
        };
        match value.trim().parse::<u64>().ok().and_then(Percent::new) {
            Some(weight) => {
                if weights.insert(model.to_owned(), weight).is_some() {
                    diagnostics
                        .push(Diagnostic::error(format!("the parameter `{key}` is given twice")).field(key.clone()));
                }
            }
            None => diagnostics.push(
                Diagnostic::error(format!(
                    "the parameter `{key}` must be a whole percent from 0 to 100, not `{value}`"
                ))
                .field(key.clone()),
            ),
        }
    }
    (diagnostics, weights)
}
