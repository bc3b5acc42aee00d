//! Semantic rules a well-typed spec must still satisfy before anything is rendered.
//!
//! Each rule reports the field it is about; the generator turns the field
//! path into a line and column through the document's [`Node`](crate::yaml::Node) tree.

use crate::diagnostic::Severity;
use crate::path::FieldPath;
use crate::spec::{Canary, DeploymentMode, ModelDeployment, ScaleMetric, TaintEffect, TolerationOperator};

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The field it is about.
    pub path: FieldPath,
    /// What is wrong, quoting the bad value.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Whether the problem is the mapping key itself rather than its value.
    pub on_key: bool,
}

/// Longest InferenceService name: KServe derives `<name>-predictor` (a
/// 63-character DNS label) and does not shorten it.
pub const MAX_NAME: usize = 63 - "-predictor".len();
/// Longest name with a Standard-mode canary, whose Service is `<name>-canary-predictor`.
pub const MAX_NAME_WITH_STANDARD_CANARY: usize = 63 - "-canary-predictor".len();

/// Labels that modelgen sets itself and users may not override.
pub const RESERVED_LABELS: [&str; 3] =
    ["app.kubernetes.io/name", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"];

/// URI schemes KServe's storage initializer understands (v0.20 `SupportedStorageURIPrefixList`).
pub const STORAGE_SCHEMES: [&str; 11] =
    ["s3", "gs", "pvc", "file", "https", "http", "hdfs", "webhdfs", "oci", "oci+native", "hf"];

struct Rules {
    findings: Vec<Finding>,
}

impl Rules {
    fn error(&mut self, path: &str, message: String, hint: Option<&str>) {
        self.push(Severity::Error, FieldPath::parse(path), message, hint);
    }

    fn push(&mut self, severity: Severity, path: FieldPath, message: String, hint: Option<&str>) {
        self.findings.push(Finding { severity, path, message, hint: hint.map(str::to_owned), on_key: false });
    }

    fn key_error(&mut self, path: FieldPath, message: String) {
        self.findings.push(Finding { severity: Severity::Error, path, message, hint: None, on_key: true });
    }
}

/// Checks one decoded spec.
pub fn check(spec: &ModelDeployment) -> Vec<Finding> {
    let mut rules = Rules { findings: Vec::new() };
    check_metadata(spec, &mut rules);
    check_model(spec, &mut rules);
    check_scaling(spec, &mut rules);
    check_placement(spec, &mut rules);
    if let Some(canary) = &spec.spec.canary {
        check_canary(spec, canary, &mut rules);
    }
    rules.findings
}

fn check_metadata(spec: &ModelDeployment, rules: &mut Rules) {
    let meta = &spec.metadata;
    let standard_canary = spec.spec.canary.is_some() && spec.spec.deployment_mode == DeploymentMode::Standard;
    let max = if standard_canary { MAX_NAME_WITH_STANDARD_CANARY } else { MAX_NAME };
    if let Err(why) = dns_label(&meta.name, true) {
        rules.error(
            "metadata.name",
            format!("`{}` is not a valid name: {why}", meta.name),
            Some("use lowercase letters, digits and `-`, starting with a letter, as in `mochanet`"),
        );
    } else if meta.name.len() > max {
        let why = if standard_canary { "`-canary-predictor`" } else { "`-predictor`" };
        rules.error(
            "metadata.name",
            format!("`{}` is {} characters long; at most {max} fit, because KServe appends {why} to form a 63-character Service name", meta.name, meta.name.len()),
            None,
        );
    }
    if let Some(ns) = &meta.namespace
        && let Err(why) = dns_label(ns, false)
    {
        rules.error("metadata.namespace", format!("`{ns}` is not a valid namespace: {why}"), None);
    }
    for (key, value) in &meta.labels {
        let path = FieldPath::parse("metadata.labels").key(key.clone());
        if RESERVED_LABELS.contains(&key.as_str()) {
            rules.push(
                Severity::Error,
                path,
                format!("label `{key}` is set by modelgen and cannot be overridden"),
                Some("the model version comes from `spec.model.version`"),
            );
        } else if let Err(why) = qualified_name(key) {
            rules.key_error(path, format!("`{key}` is not a valid label key: {why}"));
        } else if let Err(why) = label_value(value) {
            rules.push(Severity::Error, path, format!("`{value}` is not a valid label value: {why}"), None);
        }
    }
    for key in meta.annotations.keys() {
        let path = FieldPath::parse("metadata.annotations").key(key.clone());
        if key.starts_with("modelgen.dev/") || key == "serving.kserve.io/deploymentMode" {
            let hint = if key == "serving.kserve.io/deploymentMode" {
                Some("set `spec.deploymentMode` instead")
            } else {
                None
            };
            rules.push(
                Severity::Error,
                path,
                format!("annotation `{key}` is set by modelgen and cannot be overridden"),
                hint,
            );
        } else if let Err(why) = qualified_name(key) {
            rules.key_error(path, format!("`{key}` is not a valid annotation key: {why}"));
        }
    }
}

fn check_model(spec: &ModelDeployment, rules: &mut Rules) {
    let model = &spec.spec.model;
    check_version("spec.model.version", &model.version, rules);
    check_storage_uri("spec.model.storageUri", &model.storage_uri, rules);
    if let Some(runtime) = &model.runtime
        && let Err(why) = dns_subdomain(runtime)
    {
        rules.error("spec.model.runtime", format!("`{runtime}` is not a valid runtime name: {why}"), None);
    }
    if let Some(resources) = &spec.spec.resources {
        for (field, quantity) in [("cpu", &resources.cpu), ("memory", &resources.memory)] {
            if let Some(q) = quantity
                && !is_quantity(&q.0)
            {
                rules.error(
                    &format!("spec.resources.{field}"),
                    format!("`{}` is not a Kubernetes quantity", q.0),
                    Some("write it as `500m`, `\"2\"`, `512Mi` or `2Gi`"),
                );
            }
        }
    }
}

fn check_version(path: &str, version: &str, rules: &mut Rules) {
    if version.is_empty() {
        rules.error(path, "the version is empty".to_owned(), Some("give the model's version, as in `v1.2.0`"));
    } else if let Err(why) = label_value(version) {
        rules.error(
            path,
            format!("version `{version}` cannot be a label value: {why}"),
            Some("use letters, digits, `.`, `-` and `_`, as in `v1.2.0`"),
        );
    }
}

fn check_storage_uri(path: &str, uri: &str, rules: &mut Rules) {
    let Some((scheme, rest)) = uri.split_once("://") else {
        rules.error(
            path,
            format!("`{uri}` is not a storage URI"),
            Some(&format!("start it with one of {}", STORAGE_SCHEMES.map(|s| format!("`{s}://`")).join(", "))),
        );
        return;
    };
    if !STORAGE_SCHEMES.contains(&scheme) {
        rules.error(
            path,
            format!("storage scheme `{scheme}://` is not supported by KServe's storage initializer"),
            Some(&format!("use one of {}", STORAGE_SCHEMES.map(|s| format!("`{s}://`")).join(", "))),
        );
        return;
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        // Never echo the URI: it holds a secret.
        rules.error(
            path,
            "the storage URI contains credentials; they would be stored in Git and in the cluster in clear text"
                .to_owned(),
            Some("remove the `user:password@` part and reference a Secret through `spec.serviceAccountName`"),
        );
    } else if rest.is_empty() || authority.is_empty() {
        rules.error(path, format!("`{uri}` names no location after `{scheme}://`"), None);
    } else if scheme == "hf" && rest.trim_end_matches('/').split('/').count() != 2 {
        rules.error(path, format!("`{uri}` must name exactly an owner and a model, as in `hf://org/model`"), None);
    }
}

fn check_scaling(spec: &ModelDeployment, rules: &mut Rules) {
    let Some(scaling) = &spec.spec.scaling else {
        return;
    };
    let standard = spec.spec.deployment_mode == DeploymentMode::Standard;
    if let (Some(min), Some(max)) = (scaling.min_replicas, scaling.max_replicas)
        && min > max
    {
        rules.error(
            "spec.scaling.minReplicas",
            format!("minReplicas `{min}` is greater than maxReplicas `{max}`"),
            None,
        );
    }
    if let Some(metric) = scaling.metric {
        if standard && matches!(metric, ScaleMetric::Concurrency | ScaleMetric::Rps) {
            rules.error(
                "spec.scaling.metric",
                format!("metric `{}` needs Knative's autoscaler; Standard mode scales with an HPA", metric.as_str()),
                Some("use `cpu` or `memory`, or `deploymentMode: Knative`"),
            );
        }
        if let Some(target) = scaling.target
            && matches!(metric, ScaleMetric::Cpu | ScaleMetric::Memory)
            && !(1..=100).contains(&target)
        {
            rules.error(
                "spec.scaling.target",
                format!("target `{target}` is not a utilisation percentage from 1 to 100"),
                None,
            );
        }
    }
    if standard && scaling.min_replicas == Some(0) {
        rules.error(
            "spec.scaling.minReplicas",
            "minReplicas `0` (scale to zero) needs Knative mode".to_owned(),
            Some("use `deploymentMode: Knative`, or at least one replica"),
        );
    }
}

fn check_placement(spec: &ModelDeployment, rules: &mut Rules) {
    if let Some(sa) = &spec.spec.service_account_name
        && let Err(why) = dns_subdomain(sa)
    {
        rules.error("spec.serviceAccountName", format!("`{sa}` is not a valid service account name: {why}"), None);
    }
    for (key, value) in &spec.spec.node_selector {
        let path = FieldPath::parse("spec.nodeSelector").key(key.clone());
        if let Err(why) = qualified_name(key) {
            rules.key_error(path, format!("`{key}` is not a valid label key: {why}"));
        } else if let Err(why) = label_value(value) {
            rules.push(Severity::Error, path, format!("`{value}` is not a valid label value: {why}"), None);
        }
    }
    for (i, toleration) in spec.spec.tolerations.iter().enumerate() {
        let path = FieldPath::parse("spec.tolerations").index(i);
        let exists = toleration.operator == Some(TolerationOperator::Exists);
        if exists && toleration.value.as_deref().is_some_and(|v| !v.is_empty()) {
            rules.push(
                Severity::Error,
                path.key("value"),
                "a toleration with `operator: Exists` cannot have a value".to_owned(),
                Some("remove `value`, or use `operator: Equal`"),
            );
        }
        if toleration.key.as_deref().unwrap_or_default().is_empty() && !exists {
            rules.push(
                Severity::Error,
                path.clone(),
                "a toleration without a key must use `operator: Exists`".to_owned(),
                None,
            );
        }
        if toleration.toleration_seconds.is_some() && toleration.effect != Some(TaintEffect::NoExecute) {
            rules.push(
                Severity::Error,
                path.key("tolerationSeconds"),
                "`tolerationSeconds` only applies to `effect: NoExecute`".to_owned(),
                None,
            );
        }
    }
}

fn check_canary(spec: &ModelDeployment, canary: &Canary, rules: &mut Rules) {
    let model = &spec.spec.model;
    check_version("spec.canary.version", &canary.version, rules);
    check_storage_uri("spec.canary.storageUri", &canary.storage_uri, rules);
    if canary.traffic_percent > 100 {
        rules.error(
            "spec.canary.trafficPercent",
            format!("`{}` is not a percentage from 0 to 100", canary.traffic_percent),
            None,
        );
    }
    if canary.version == model.version {
        rules.error(
            "spec.canary.version",
            format!("the canary has the same version `{}` as the stable model", canary.version),
            Some("to promote the canary, move its version and storageUri into `spec.model` and delete `spec.canary`"),
        );
    }
    if canary.storage_uri == model.storage_uri {
        rules.error(
            "spec.canary.storageUri",
            "the canary serves the same storageUri as the stable model".to_owned(),
            Some("point the canary at the new model's artifacts"),
        );
    }
    if spec.spec.deployment_mode == DeploymentMode::Standard {
        rules.push(
            Severity::Warning,
            FieldPath::parse("spec.canary"),
            "KServe v0.20.0 creates a Standard-mode canary's Deployment but does not route traffic to it; weighted routing landed after that release".to_owned(),
            Some("check that your KServe release routes `spec.canary`, or use `deploymentMode: Knative`"),
        );
    }
}

/// RFC 1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63); KServe also wants a leading letter.
fn dns_label(name: &str, leading_letter: bool) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > 63 {
        return Err(format!("it is {} characters long, more than 63", name.len()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!("it contains `{c}`"));
    }
    if leading_letter && !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a lowercase letter".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
fn dns_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!("it is {} characters long, more than 253", name.len()));
    }
    name.split('.').try_for_each(|label| dns_label(label, false))
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric (or empty).
fn label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err(format!("it is {} characters long, more than 63", value.len()));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("it contains `{c}`"));
    }
    let alphanumeric_ends =
        value.starts_with(|c: char| c.is_ascii_alphanumeric()) && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !value.is_empty() && !alphanumeric_ends {
        return Err("it must start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name.
fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        dns_subdomain(prefix).map_err(|why| format!("its prefix `{prefix}` is not a DNS subdomain: {why}"))?;
    }
    if name.is_empty() {
        return Err("its name part is empty".to_owned());
    }
    label_value(name)
}

/// Kubernetes quantity syntax: a decimal number with an optional SI, binary or exponent suffix.
pub fn is_quantity(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits_end = unsigned.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(digits_end);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let has_digits = !whole.is_empty() || fraction.is_some_and(|f| !f.is_empty());
    let number_ok = has_digits && !fraction.is_some_and(|f| f.contains('.'));
    let suffix_ok = matches!(
        suffix,
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|exp| exp.strip_prefix(['+', '-']).unwrap_or(exp))
        .is_some_and(|exp| !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()));
    number_ok && suffix_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["1", "500m", "2Gi", "0.5", ".5", "1e3", "1E-2", "+1", "128974848", "129M"] {
            assert!(is_quantity(ok), "{ok} should be a quantity");
        }
        for bad in ["", "one", "1GB", "2gi", "1.2.3", "m", "1e", "--1", "1 Gi"] {
            assert!(!is_quantity(bad), "{bad} should not be a quantity");
        }
    }

    #[test]
    fn names() {
        assert!(dns_label("mochanet", true).is_ok());
        assert!(dns_label("2fa", true).is_err());
        assert!(dns_label("2fa", false).is_ok());
        assert!(dns_label("a.b", false).is_err());
        assert!(dns_label("Upper", false).is_err());
        assert!(dns_label("trailing-", false).is_err());
        assert!(dns_subdomain("models-s3").is_ok());
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("bad key").is_err());
        assert!(qualified_name("Example.com/x").is_err());
        assert!(label_value("v1.2.0").is_ok());
        assert!(label_value("1.2.0+build").is_err());
        assert!(label_value("").is_ok());
    }
}
