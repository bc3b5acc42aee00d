//! The plan of a spec's monitoring: its versions, where their metrics come from, and the selectors and metadata every monitoring object shares.

use serde_json::{Value, json};

use super::promql::{quote, selector};
use super::source::Source;
use crate::model::monitoring::{self as spec, Monitoring};
use crate::model::spec::Spec;
use crate::render::object::{Target, metadata};
use crate::render::variant::Variant;

/// The pieces every monitoring object is built from.
pub struct Plan<'a> {
    /// The spec and where its objects go.
    pub target: &'a Target<'a>,
    /// Its `spec.monitoring`.
    pub monitoring: &'a Monitoring,
    /// Where its backend's metrics come from.
    pub source: Source,
    /// The versions deployed, in order: stable, canary, shadow.
    pub variants: Vec<(Variant, &'a str)>,
}

impl<'a> Plan<'a> {
    /// The plan of `target`'s monitoring section `monitoring`.
    pub fn new(target: &'a Target<'a>, monitoring: &'a Monitoring) -> Self {
        let spec = &target.spec.spec;
        let variants = Variant::ALL
            .into_iter()
            .filter_map(|variant| variant.served(spec).map(|served| (variant, served.version)))
            .collect();
        Plan { target, monitoring, source: Source::of(spec), variants }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.target.spec.metadata.name
    }

    /// The spec's `spec`.
    pub fn spec(&self) -> &Spec {
        &self.target.spec.spec
    }

    /// The version `variant` serves, if it is deployed.
    pub fn version(&self, variant: Variant) -> Option<&'a str> {
        self.variants.iter().find(|(v, _)| *v == variant).map(|(_, version)| *version)
    }

    /// Stable and canary: the versions that answer callers.
    pub fn serving(&self) -> impl Iterator<Item = (Variant, &'a str)> + '_ {
        self.variants.iter().copied().filter(|(v, _)| *v != Variant::Shadow)
    }

    /// `namespace` (when known) and `model` matchers.
    pub fn base(&self) -> Vec<String> {
        let mut matchers = Vec::new();
        if let Some(namespace) = self.target.namespace {
            matchers.push(format!("namespace={}", quote(namespace)));
        }
        matchers.push(format!("model={}", quote(self.name())));
        matchers
    }

    /// Every series of this model that modelgen's scrape labelled.
    pub fn all_versions(&self) -> String {
        let mut matchers = self.base();
        matchers.push("version!=\"\"".to_owned());
        selector(&matchers)
    }

    /// The series of one version.
    pub fn only(&self, version: &str) -> String {
        let mut matchers = self.base();
        matchers.push(format!("version={}", quote(version)));
        selector(&matchers)
    }

    /// The scrape interval, in milliseconds (validated before a plan is used).
    pub fn scrape_interval_ms(&self) -> u64 {
        crate::model::monitoring::parse_duration(self.monitoring.scrape.interval()).unwrap_or(30_000)
    }

    /// Whether the backend's metrics give request rates and latencies.
    pub fn requests_available(&self) -> bool {
        self.source.requests_missing().is_none()
    }

    /// Whether the backend's metrics give error rates too.
    pub fn errors_available(&self) -> bool {
        self.requests_available() && self.source.errors_missing().is_none()
    }

    /// The latency quantile alerts and the dashboard compare, if the backend has quantiles.
    pub fn quantile(&self) -> Option<f64> {
        if self.source.quantiles_missing().is_some() {
            return None;
        }
        Some(self.monitoring.alerts.latency.as_ref().and_then(|l| l.quantile).unwrap_or(spec::DEFAULT_QUANTILE))
    }

    /// `metadata` of a monitoring object: the shared metadata, plus the labels Prometheus selects on.
    pub fn metadata(&self, name: &str, extra_labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Value {
        let stable = self.spec().model.version.as_str();
        let mut meta = metadata(self.target, name, stable, annotations);
        let labels = &mut meta["labels"];
        for (key, value) in &self.monitoring.labels {
            labels[key] = json!(value);
        }
        for (key, value) in extra_labels {
            labels[*key] = json!(value);
        }
        meta
    }
}
