//! The backend rules table: what each serving stack refuses, overwrites or ignores, with the upstream source of each rule.
//!
//! Schema-valid is not enough: a rendered object can pass its CRD and still
//! never serve. Every rule that validation and rendering apply because of a
//! backend's behaviour lives here, one module per backend, each citing the
//! upstream file and release it was read from. The "Backend requirements"
//! section of `docs/backend-requirements.md` is generated from [`markdown`]
//! (a test keeps it current), so the next KServe release is an update of
//! these tables.

pub(crate) mod container;
pub(crate) mod gateway_api;
pub(crate) mod istio;
pub(crate) mod keda;
pub(crate) mod knative;
pub(crate) mod kserve;
pub(crate) mod kserve_llm;
pub(crate) mod rule;
pub(crate) mod seldon;
pub(crate) mod seldon_v2;
pub(crate) mod vllm;

use std::fmt::Write as _;

use rule::{Component, Rule};

/// The rule called `id` (the tables are static: a missing id is a bug the tests catch).
/// Searched in the tables as they are: rules are looked up for every spec,
/// and collecting and sorting them each time was 3 % of a large render.
pub fn by_id(id: &str) -> &'static Rule {
    tables().into_iter().flatten().find(|r| r.id == id).unwrap_or_else(|| panic!("no backend rule `{id}`"))
}

/// Every rule, grouped by component in the order `docs/backend-requirements.md` lists them.
pub fn all() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = tables().into_iter().flatten().collect();
    rules.sort_by_key(|r| r.component);
    rules
}

/// The rule tables, one per component.
fn tables() -> [&'static [Rule]; 10] {
    [
        kserve::RULES,
        keda::RULES,
        kserve_llm::RULES,
        vllm::RULES,
        knative::RULES,
        gateway_api::RULES,
        istio::RULES,
        seldon::RULES,
        seldon_v2::RULES,
        container::RULES,
    ]
}

/// The "Backend requirements" tables of `docs/backend-requirements.md`, generated from [`all`].
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
