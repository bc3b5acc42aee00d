//! The backend rules table: what each serving stack refuses, overwrites or ignores, with the upstream source of each rule.
//!
//! Schema-valid is not enough: a rendered object can pass its CRD and still
//! never serve. Every rule that validation and rendering apply because of a
//! backend's behaviour lives here, one module per backend, each citing the
//! upstream file and release it was read from. The README's "Backend
//! requirements" section is generated from [`markdown`] (a test keeps it
//! current), so the next KServe release is an update of these tables.

pub(crate) mod gateway_api;
pub(crate) mod istio;
pub(crate) mod knative;
pub(crate) mod kserve;
pub(crate) mod seldon;

use std::fmt::Write as _;

/// The stack a rule belongs to, with the release it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// KServe (`serving.kserve.io`).
    Kserve,
    /// Knative Serving, under KServe's Knative mode.
    Knative,
    /// Gateway API, for modelgen's `split` routes.
    GatewayApi,
    /// Istio, for modelgen's `split` routes and as a mesh.
    Istio,
    /// Seldon Core v1 (`machinelearning.seldon.io`).
    SeldonV1,
}

impl Component {
    /// The stack and the release the rules were read from.
    pub fn title(self) -> &'static str {
        match self {
            Component::Kserve => "KServe v0.20.0",
            Component::Knative => "Knative Serving 1.20",
            Component::GatewayApi => "Gateway API v1.6.1",
            Component::Istio => "Istio",
            Component::SeldonV1 => "Seldon Core v1.17.1",
        }
    }
}

/// One backend rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// A stable id, named in the diagnostics the rule causes (and, where the
    /// rule is a prerequisite modelgen cannot check, accepted by `cluster.acknowledge`).
    pub id: &'static str,
    /// The stack it belongs to.
    pub component: Component,
    /// What the cluster does.
    pub cluster: &'static str,
    /// What modelgen does about it.
    pub modelgen: &'static str,
    /// Where upstream says so: `repo@tag:path` (or an issue), read at the release of [`Component::title`].
    pub source: &'static str,
    /// The golden case or example that pins modelgen's side.
    pub case: &'static str,
}

impl Rule {
    /// How diagnostics cite the rule: `` (rule `id`, from source) ``.
    pub fn cite(&self) -> String {
        format!("rule `{}`, from {}", self.id, self.source)
    }
}

/// Every rule, grouped by component in the order the README lists them.
pub fn all() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = kserve::RULES
        .iter()
        .chain(knative::RULES)
        .chain(gateway_api::RULES)
        .chain(istio::RULES)
        .chain(seldon::RULES)
        .collect();
    rules.sort_by_key(|r| r.component);
    rules
}

/// The README's "Backend requirements" tables, generated from [`all`].
pub fn markdown() -> String {
    let mut out = String::new();
    let rules = all();
    let mut components: Vec<Component> = rules.iter().map(|r| r.component).collect();
    components.dedup();
    for component in components {
        let _ = writeln!(out, "**{}**\n", component.title());
        out.push_str("| Rule | What the cluster does | What modelgen does | Source | Pinned by |\n");
        out.push_str("|---|---|---|---|---|\n");
        for rule in rules.iter().filter(|r| r.component == component) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | `{}` |",
                rule.id, rule.cluster, rule.modelgen, rule.source, rule.case
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_rule_cites_a_source_and_a_case() {
        let rules = all();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
        for rule in rules {
            assert!(
                rule.source.contains('@') || rule.source.contains("://") || rule.source.contains('#'),
                "{}",
                rule.id
            );
            assert!(rule.case.starts_with("tests/cases/") || rule.case.starts_with("examples/"), "{}", rule.id);
            assert!(!rule.cluster.contains('|') && !rule.modelgen.contains('|'), "{}: a `|` breaks the table", rule.id);
        }
    }

    #[test]
    fn every_acknowledgement_names_a_rule() {
        use crate::model::spec::Acknowledgement;
        for ack in [
            Acknowledgement::KnativeHpa,
            Acknowledgement::KnativeRequestMetrics,
            Acknowledgement::KnativeCanaryFirstApply,
            Acknowledgement::GatewayKnativeBackends,
        ] {
            assert!(all().iter().any(|r| r.id == ack.as_str()), "`{}` has no rule", ack.as_str());
        }
    }
}
