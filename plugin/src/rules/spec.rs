//! Semantic rules a well-typed spec must still satisfy before anything is rendered.
//!
//! Each rule reports the field it is about; the generator turns the field
//! path into a line and column through the document's [`Node`](crate::yaml::Node) tree.

use crate::diagnostic::Severity;
use crate::model::monitoring as monitoring_spec;
use crate::model::spec::{Acknowledgement, Backend, CanaryStrategy, Protocol, Router, Shadow};
use crate::model::spec::{Canary, DeploymentMode, ModelDeployment, ScaleMetric, TaintEffect, TolerationOperator};
use crate::render::monitoring::dashboard as monitoring_dashboard;
use crate::render::monitoring::promql::{MAX_INTERVAL_MS, WINDOW};
use crate::render::monitoring::source::{Source, quality_missing};
use crate::render::object::RESERVED_LABELS;
use crate::render::{self, kserve, seldon};
use crate::rules::backend::rule::Rule;
use crate::rules::backend::{self as rules, gateway_api, knative};
use crate::yaml::path::FieldPath;

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

pub use crate::rules::backend::kserve::STORAGE_SCHEMES;

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

    /// An error that a backend rule causes; the hint cites the rule.
    fn refuse(&mut self, path: &str, rule: &Rule, message: String, hint: &str) {
        self.error(path, message, Some(&format!("{hint} ({})", rule.cite())));
    }

    /// A warning about a prerequisite modelgen cannot check, unless the
    /// spec's `cluster.acknowledge` confirms it.
    fn unless_acknowledged(
        &mut self,
        spec: &ModelDeployment,
        path: &str,
        what: Acknowledgement,
        rule: &Rule,
        message: String,
        hint: &str,
    ) {
        if spec.spec.cluster().acknowledges(what) {
            return;
        }
        self.push(
            Severity::Warning,
            FieldPath::parse(path),
            message,
            Some(&format!(
                "{hint}; once the cluster is set up, add `{}` to `cluster.acknowledge` ({})",
                what.as_str(),
                rule.cite()
            )),
        );
    }
}

/// The rule called `id` (the tables are static: a missing id is a bug the tests catch).
fn rule(id: &str) -> &'static Rule {
    rules::all().into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no backend rule `{id}`"))
}

/// Checks one decoded spec; `namespace` is where its objects will go, if known.
pub fn check(spec: &ModelDeployment, namespace: Option<&str>) -> Vec<Finding> {
    let mut rules = Rules { findings: Vec::new() };
    check_metadata(spec, &mut rules);
    check_model(spec, &mut rules);
    check_scaling(spec, &mut rules);
    check_placement(spec, &mut rules);
    check_cluster(spec, &mut rules);
    if let Some(canary) = &spec.spec.canary {
        check_canary(spec, canary, &mut rules);
    }
    if let Some(shadow) = &spec.spec.shadow {
        check_shadow(spec, shadow, &mut rules);
    }
    match spec.spec.backend {
        Backend::Kserve => check_kserve(spec, namespace, &mut rules),
        Backend::Seldon | Backend::SeldonV2 => check_seldon(spec, &mut rules),
    }
    check_monitoring(spec, &mut rules);
    rules.findings
}

fn check_metadata(spec: &ModelDeployment, rules: &mut Rules) {
    let meta = &spec.metadata;
    if let Err(why) = dns_label(&meta.name, true) {
        rules.error(
            "metadata.name",
            format!("`{}` is not a valid name: {why}", meta.name),
            Some("use lowercase letters, digits and `-`, starting with a letter, as in `mochanet`"),
        );
    } else if let Some(derived) =
        render::names(spec).into_iter().filter(|d| d.name.len() > d.max).max_by_key(|d| d.name.len())
    {
        let allowed = meta.name.len() - (derived.name.len() - derived.max);
        rules.error(
            "metadata.name",
            format!(
                "`{}` is too long: the {} `{}` derived from it would be {} characters, over the limit of {}",
                meta.name,
                derived.what,
                derived.name,
                derived.name.len(),
                derived.max
            ),
            Some(&format!("shorten the name to at most {allowed} characters")),
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
    let Some(scaling) = &spec.spec.scaling else { return };
    // Holds on every backend.
    if let (Some(min), Some(max)) = (scaling.min_replicas, scaling.max_replicas)
        && min > max
    {
        rules.error(
            "spec.scaling.minReplicas",
            format!("minReplicas `{min}` is greater than maxReplicas `{max}`"),
            None,
        );
    }
    if spec.spec.backend != Backend::Kserve {
        return; // Seldon's own rules are in `check_seldon_scaling`.
    }
    let standard = spec.spec.mode() == DeploymentMode::Standard;
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
    if !standard {
        check_knative_scaling(spec, rules);
    }
}

/// Knative mode: `cpu` runs on Knative's HPA class (which KServe's webhook
/// requires for it), `memory` cannot be expressed there, targets must be positive.
fn check_knative_scaling(spec: &ModelDeployment, rules: &mut Rules) {
    let Some(scaling) = &spec.spec.scaling else { return };
    let hpa = rule("knative-hpa");
    match scaling.metric {
        Some(ScaleMetric::Memory) => rules.refuse(
            "spec.scaling.metric",
            hpa,
            "metric `memory` cannot work in Knative mode: KServe's webhook accepts it only with Knative's HPA class, which reads the target as MiB per pod, while the webhook caps any HPA target at 100".to_owned(),
            "use `cpu` (a utilisation percentage), or `deploymentMode: Standard`, whose HPA takes memory utilisation",
        ),
        Some(ScaleMetric::Cpu) if scaling.min_replicas == Some(0) => rules.refuse(
            "spec.scaling.minReplicas",
            hpa,
            "minReplicas `0` cannot work with metric `cpu` in Knative mode: Knative's HPA class never scales below one replica, so it would silently keep one".to_owned(),
            "use at least one replica, or `concurrency`/`rps`, which scale to zero",
        ),
        Some(ScaleMetric::Cpu) => rules.unless_acknowledged(
            spec,
            "spec.scaling.metric",
            Acknowledgement::KnativeHpa,
            hpa,
            "metric `cpu` in Knative mode runs on Knative's HPA class (modelgen sets `autoscaling.knative.dev/class: hpa.autoscaling.knative.dev`), which needs Knative's `serving-hpa` extension; without it the revision is never scaled and never becomes ready".to_owned(),
            "install `serving-hpa.yaml` of your Knative release",
        ),
        _ => {}
    }
    if scaling.target == Some(0) && !matches!(scaling.metric, Some(ScaleMetric::Cpu | ScaleMetric::Memory)) {
        rules.refuse(
            "spec.scaling.target",
            rule("knative-scale-target"),
            "target `0` is refused in Knative mode: the autoscaler's target must be at least 0.01 (and KServe's webhook wants an `rps` target of at least 1)".to_owned(),
            "give a target of at least 1, or remove it for Knative's default",
        );
    }
}

/// Knative mode copies node placement onto a revision, which Knative
/// accepts only with its `config-features` flags on.
fn check_knative_placement(spec: &ModelDeployment, rules: &mut Rules) {
    let s = &spec.spec;
    if s.backend != Backend::Kserve || s.mode() != DeploymentMode::Knative {
        return;
    }
    let flags = rule("knative-podspec-flags");
    for (field, present, flag) in [
        ("spec.nodeSelector", !s.node_selector.is_empty(), knative::NODE_SELECTOR),
        ("spec.tolerations", !s.tolerations.is_empty(), knative::TOLERATIONS),
    ] {
        if !present {
            continue;
        }
        let what = field.trim_start_matches("spec.");
        match &s.cluster().knative_features {
            Some(enabled) if enabled.iter().any(|f| f == flag) => {}
            Some(_) => rules.refuse(
                field,
                flags,
                format!("`{what}` in Knative mode needs the Knative feature flag `{flag}`, which `cluster.knativeFeatures` does not list: Knative's webhook would reject the revision and the model would never serve"),
                &format!("set `{flag}: enabled` in Knative's `config-features` and add it to `cluster.knativeFeatures`, or use `deploymentMode: Standard`"),
            ),
            None => rules.push(
                Severity::Warning,
                FieldPath::parse(field),
                format!("`{what}` in Knative mode needs the Knative feature flag `{flag}` (disabled by default): without it Knative's webhook rejects the revision and the model never serves"),
                Some(&format!(
                    "set `{flag}: enabled` in Knative's `config-features`, then state it in `cluster.knativeFeatures` ({})",
                    flags.cite()
                )),
            ),
        }
    }
}

/// `spec.cluster`: facts in the form their rules read them.
fn check_cluster(spec: &ModelDeployment, rules: &mut Rules) {
    let Some(cluster) = &spec.spec.cluster else { return };
    if let Some(version) = &cluster.gateway_api_version
        && gateway_api::parse_version(version).is_none()
    {
        rules.error(
            "spec.cluster.gatewayApiVersion",
            format!("`{version}` is not a Gateway API release"),
            Some("write the installed release, as in `v1.3.0` or `v1.3`"),
        );
    }
    for (i, flag) in cluster.knative_features.iter().flatten().enumerate() {
        if !knative::is_feature(flag) {
            let hint = crate::yaml::decoder::suggest(flag, &knative::FEATURES)
                .unwrap_or_else(|| "list the keys of `config-features` that are `enabled` or `allowed`".to_owned());
            rules.push(
                Severity::Error,
                FieldPath::parse("spec.cluster.knativeFeatures").index(i),
                format!("`{flag}` is not a feature flag of Knative Serving 1.20"),
                Some(&hint),
            );
        }
    }
}

fn check_placement(spec: &ModelDeployment, rules: &mut Rules) {
    check_knative_placement(spec, rules);
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
        if toleration.seconds.is_some() && toleration.effect != Some(TaintEffect::NoExecute) {
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
    if spec.spec.backend == Backend::Kserve && kserve::standard_native_canary(&spec.spec) {
        rules.push(
            Severity::Warning,
            FieldPath::parse("spec.canary"),
            "KServe v0.20.0 creates a Standard-mode canary's Deployment but does not route traffic to it; weighted routing landed after that release".to_owned(),
            Some("use `strategy: split` (the default in Standard mode), or check that your KServe release routes `spec.canary`"),
        );
    }
}

fn check_shadow(spec: &ModelDeployment, shadow: &Shadow, rules: &mut Rules) {
    check_version("spec.shadow.version", &shadow.version, rules);
    check_storage_uri("spec.shadow.storageUri", &shadow.storage_uri, rules);
    if shadow.percent > 100 {
        rules.error("spec.shadow.percent", format!("`{}` is not a percentage from 0 to 100", shadow.percent), None);
    }
    let others = [("stable model", Some(&spec.spec.model.version), Some(&spec.spec.model.storage_uri))]
        .into_iter()
        .chain(spec.spec.canary.as_ref().map(|c| ("canary", Some(&c.version), Some(&c.storage_uri))));
    for (what, version, uri) in others {
        if version == Some(&shadow.version) {
            rules.error(
                "spec.shadow.version",
                format!("the shadow has the same version `{}` as the {what}", shadow.version),
                None,
            );
        }
        if uri == Some(&shadow.storage_uri) {
            rules.error("spec.shadow.storageUri", format!("the shadow serves the same storageUri as the {what}"), None);
        }
    }
}

/// Whether the spec's format is one the backend can serve.
fn check_format(spec: &ModelDeployment, rules: &mut Rules) -> bool {
    let backend = spec.spec.backend;
    let formats = render::formats(backend);
    if formats.contains(&spec.spec.model.format) {
        return true;
    }
    let list: Vec<String> = formats.iter().map(|f| format!("`{}`", f.as_str())).collect();
    rules.error(
        "spec.model.format",
        format!("backend `{backend}` cannot serve format `{}`", spec.spec.model.format.as_str()),
        Some(&format!("`{backend}` serves {}; `kserve` serves every format", list.join(", "))),
    );
    false
}

fn check_kserve(spec: &ModelDeployment, namespace: Option<&str>, rules: &mut Rules) {
    let s = &spec.spec;
    if s.storage_secret.is_some() {
        rules.error(
            "spec.storageSecret",
            "KServe reads storage credentials from the Secrets of the service account, not from a named Secret"
                .to_owned(),
            Some("attach the Secret to a service account and set `spec.serviceAccountName`"),
        );
    }
    if s.server.is_some() {
        rules.error(
            "spec.server",
            "`server` is a Seldon Core 2 setting; KServe picks a runtime".to_owned(),
            Some("use `spec.model.runtime`"),
        );
    }
    if let Some(mismatch) = rules::kserve::mismatch(&s.model) {
        let id = if s.model.runtime.is_some() { "kserve-pinned-runtime" } else { "kserve-runtime-match" };
        rules.refuse(&format!("spec.model.{}", mismatch.field), rule(id), mismatch.message, &mismatch.hint);
    }
    let split_canary = s.canary.is_some() && s.canary_strategy() == CanaryStrategy::Split;
    if s.shadow.is_some() && s.mode() == DeploymentMode::Knative {
        rules.refuse(
            "spec.shadow",
            rule("knative-shadow-host"),
            "a shadow cannot work in Knative mode: the mirrored request keeps the caller's `Host`, which Knative's cluster-local gateway does not route to the shadow's revision, so every copy gets a 404 that nobody sees (mirror answers are discarded)".to_owned(),
            "use `deploymentMode: Standard` for this model, whose predictor Services take any `Host`, or remove `shadow`",
        );
        return; // The route checks below would only add to this.
    }
    if s.canary.is_some() && !split_canary && s.mode() == DeploymentMode::Knative {
        rules.unless_acknowledged(
            spec,
            "spec.canary",
            Acknowledgement::KnativeCanaryFirstApply,
            rule("knative-canary-first-apply"),
            "a native Knative canary splits only when KServe has a rolled-out revision of this InferenceService: on a fresh cluster, or if the InferenceService is recreated, the canary takes 100 % of the traffic (kserve#2649)".to_owned(),
            "use `strategy: split` (set `canary: {strategy: split}` in the project's `defaults` for every model) so that Git holds both versions and the weights",
        );
    }
    if s.shadow.is_some() && s.canary.is_some() && !split_canary {
        rules.error(
            "spec.shadow",
            "on KServe a shadow is mirrored by modelgen's split route, but the canary uses strategy `native`, which has no route to mirror from".to_owned(),
            Some("set `spec.canary.strategy: split`"),
        );
        return; // The route checks below would only repeat this.
    }
    if let Some(canary) = &s.canary
        && canary.router.is_some()
        && !split_canary
    {
        rules.error(
            "spec.canary.router",
            "`router` applies to the `split` strategy only".to_owned(),
            Some("set `strategy: split`, or remove `router`"),
        );
    }
    if let (Some(a), Some(b)) = (s.canary.as_ref().and_then(|c| c.router), s.route.as_ref().and_then(|r| r.router))
        && a != b
    {
        rules.error(
            "spec.route.router",
            "`spec.route.router` and `spec.canary.router` disagree".to_owned(),
            Some("set the router in one place"),
        );
    }
    if !s.kserve_split() {
        if s.route.is_some() {
            rules.push(
                Severity::Warning,
                FieldPath::parse("spec.route"),
                "`spec.route` is unused: KServe splits this spec's traffic itself".to_owned(),
                Some("it applies to `canary.strategy: split` and to shadows"),
            );
        }
        return;
    }
    check_kserve_route(spec, split_canary, namespace, rules);
}

/// The route of a KServe split: where it attaches and what it needs.
fn check_kserve_route(spec: &ModelDeployment, split_canary: bool, namespace: Option<&str>, rules: &mut Rules) {
    let s = &spec.spec;
    let route = s.route.clone().unwrap_or_default();
    // Point at what asks for the route when there is no route block at all.
    let anchor = |field: &'static str| match (&s.route, split_canary) {
        (Some(_), _) => field,
        (None, true) => "spec.canary.strategy",
        (None, false) => "spec.shadow",
    };
    match s.router() {
        Router::GatewayApi if route.gateway.is_none() => rules.error(
            anchor("spec.route.gateway"),
            "a Gateway API route needs the Gateway it attaches to".to_owned(),
            Some(if s.mode() == DeploymentMode::Standard && s.canary.as_ref().is_some_and(|c| c.strategy.is_none()) {
                "Standard mode splits with a route by default, because KServe v0.20.0 does not route `spec.canary`: set `spec.route.gateway: {name: ..., namespace: ...}`, or `canary.strategy: native` if your KServe release routes Standard-mode canaries"
            } else {
                "set `spec.route.gateway: {name: ..., namespace: ...}`"
            }),
        ),
        Router::Istio if route.hosts.is_empty() => rules.error(
            anchor("spec.route.hosts"),
            "an Istio VirtualService needs the host names clients call".to_owned(),
            Some("set `spec.route.hosts: [model.example.com]`"),
        ),
        _ => {}
    }
    if let Some(gateway) = &route.gateway {
        if let Err(why) = dns_subdomain(&gateway.name) {
            rules.error(
                "spec.route.gateway.name",
                format!("`{}` is not a valid Gateway name: {why}", gateway.name),
                None,
            );
        }
        if s.router() == Router::Istio && gateway.section_name.is_some() {
            rules.error(
                "spec.route.gateway.sectionName",
                "`sectionName` is a Gateway API setting; Istio gateways have none".to_owned(),
                None,
            );
        }
    }
    for (i, host) in route.hosts.iter().enumerate() {
        let bare = host.strip_prefix("*.").unwrap_or(host);
        if let Err(why) = dns_subdomain(bare) {
            rules.push(
                Severity::Error,
                FieldPath::parse("spec.route.hosts").index(i),
                format!("`{host}` is not a valid host name: {why}"),
                None,
            );
        }
    }
    if s.mode() == DeploymentMode::Knative && namespace.is_none() {
        rules.error(
            "metadata.namespace",
            "a split route in Knative mode must name each predictor's cluster-local host, which needs the namespace"
                .to_owned(),
            Some("set `metadata.namespace`, or render with `--namespace`"),
        );
    }
    if s.router() == Router::GatewayApi {
        if s.mode() == DeploymentMode::Knative {
            check_gateway_knative_backends(spec, anchor("spec.route"), rules);
        }
        if let Some(shadow) = &s.shadow {
            check_gateway_mirror(spec, shadow, rules);
        }
    }
}

/// A Knative predictor is reached through an `ExternalName` Service with a
/// backend-level `Host` header: implementation-specific Gateway API.
fn check_gateway_knative_backends(spec: &ModelDeployment, anchor: &str, rules: &mut Rules) {
    let cluster = spec.spec.cluster();
    let backends = rule("gateway-knative-backends");
    let hint = "use `router: istio` (an Istio VirtualService), `deploymentMode: Standard`, or a Gateway API implementation known to do both";
    let Some(id) = cluster.gateway_implementation else {
        rules.refuse(
            anchor,
            backends,
            "a split route in Knative mode reaches each predictor through an `ExternalName` Service with a backend-level `Host` header, which most Gateway API implementations do not support; modelgen cannot tell whether yours does".to_owned(),
            &format!("state the implementation in `cluster.gatewayImplementation` (`istio` does both), or {hint}"),
        );
        return;
    };
    let at = "spec.cluster.gatewayImplementation";
    let verified = match gateway_api::implementation(id) {
        Some(implementation) => match implementation.knative_backends() {
            Ok(known) => known,
            Err(why) => {
                rules.refuse(
                    at,
                    backends,
                    format!("a split route in Knative mode cannot work through `{}`: {why}", id.as_str()),
                    hint,
                );
                return;
            }
        },
        None => false,
    };
    if !verified && !cluster.acknowledges(Acknowledgement::GatewayKnativeBackends) {
        rules.refuse(
            at,
            backends,
            format!(
                "modelgen cannot tell whether `{}` routes to `ExternalName` Services and applies a backend-level `RequestHeaderModifier` on `Host`, which a split route in Knative mode needs",
                id.as_str()
            ),
            &format!("if it does, add `{}` to `cluster.acknowledge`; otherwise {hint}", Acknowledgement::GatewayKnativeBackends.as_str()),
        );
    }
}

/// A Gateway API mirror: the implementation must mirror, and `percent`
/// needs CRDs of v1.3 or later.
fn check_gateway_mirror(spec: &ModelDeployment, shadow: &Shadow, rules: &mut Rules) {
    let cluster = spec.spec.cluster();
    let partial = shadow.percent < 100;
    if let Some(implementation) = cluster.gateway_implementation.and_then(gateway_api::implementation) {
        let name = implementation.id.as_str();
        let support = rule("gateway-mirror-support");
        if !implementation.mirror {
            rules.refuse(
                "spec.shadow",
                support,
                format!("`{name}` does not implement the Gateway API `RequestMirror` filter (`HTTPRouteRequestMirror` is unsupported in {}), so the shadow would get no traffic", implementation.report_source()),
                "use `router: istio`, or remove `shadow`",
            );
        } else if partial && !implementation.percentage_mirror {
            rules.refuse(
                "spec.shadow.percent",
                support,
                format!("`{name}` does not implement `RequestMirror.percent` (`HTTPRouteRequestPercentageMirror` is unsupported in {}), so every request would be mirrored", implementation.report_source()),
                "mirror 100 % (remove `percent`), or use `router: istio`",
            );
        }
    }
    if !partial {
        return;
    }
    let percent = rule("gateway-mirror-percent");
    let (major, minor) = gateway_api::MIRROR_PERCENT_SINCE;
    match cluster.gateway_api_version.as_deref().map(|v| (v, gateway_api::parse_version(v))) {
        Some((_, Some(version))) if version >= (major, minor) => {}
        Some((text, Some(_))) => rules.refuse(
            "spec.shadow.percent",
            percent,
            format!("mirroring `{}` % needs `RequestMirror.percent`, which Gateway API `{text}` does not have (standard channel from v{major}.{minor}): the API server would prune it and mirror every request", shadow.percent),
            "upgrade the Gateway API CRDs, mirror 100 % (remove `percent`), or use `router: istio`",
        ),
        Some((_, None)) => {} // Reported by `check_cluster`.
        None => rules.push(
            Severity::Warning,
            FieldPath::parse("spec.shadow.percent"),
            format!("mirroring `{}` % needs `RequestMirror.percent`, in the Gateway API standard channel from v{major}.{minor}: older CRDs prune it, so every request is mirrored and Argo CD shows the route OutOfSync forever", shadow.percent),
            Some(&format!("state the installed release in `cluster.gatewayApiVersion`, as in `v1.3.0` ({})", percent.cite())),
        ),
    }
}

fn check_seldon(spec: &ModelDeployment, rules: &mut Rules) {
    let s = &spec.spec;
    let backend = s.backend;
    if !check_format(spec, rules) {
        return;
    }
    let ignored = |rules: &mut Rules, path: &str, what: &str| {
        rules.push(
            Severity::Warning,
            FieldPath::parse(path),
            format!("`{what}` is a KServe setting; `{backend}` ignores it"),
            None,
        );
    };
    if s.deployment_mode.is_some() {
        ignored(rules, "spec.deploymentMode", "deploymentMode");
    }
    if s.model.runtime.is_some() {
        ignored(rules, "spec.model.runtime", "runtime");
    }
    if let Some(canary) = &s.canary {
        if canary.strategy.is_some() {
            ignored(rules, "spec.canary.strategy", "strategy");
        }
        if canary.router.is_some() {
            ignored(rules, "spec.canary.router", "router");
        }
    }
    if s.route.is_some() {
        rules.push(
            Severity::Warning,
            FieldPath::parse("spec.route"),
            format!("`spec.route` is unused: `{backend}` routes canary and shadow traffic itself"),
            None,
        );
    }
    check_seldon_scaling(spec, rules);
    let v1 = matches!(s.model.protocol, Some(Protocol::V1 | Protocol::GrpcV1));
    match backend {
        Backend::Seldon if v1 && seldon::needs_v2(s.model.format) => rules.error(
            "spec.model.protocol",
            format!("Seldon's server for `{}` speaks only the V2 protocol", s.model.format.as_str()),
            Some("use `protocol: v2`, or remove `protocol`"),
        ),
        Backend::SeldonV2 if v1 => rules.error(
            "spec.model.protocol",
            "Seldon Core 2 serves the Open Inference Protocol (V2) only".to_owned(),
            Some("use `protocol: v2`, or remove `protocol`"),
        ),
        _ => {}
    }
    if backend == Backend::SeldonV2
        && let Some(server) = &s.server
    {
        if let Err(why) = dns_label(server, false) {
            rules.error("spec.server", format!("`{server}` is not a valid Server name: {why}"), None);
        }
        let pod_level = s.resources.as_ref().is_some_and(|r| r.cpu.is_some() || r.gpu > 0)
            || !s.node_selector.is_empty()
            || !s.tolerations.is_empty()
            || s.service_account_name.is_some();
        if pod_level {
            rules.push(
                Severity::Warning,
                FieldPath::parse("spec.server"),
                format!("cpu, gpu, node placement and the service account belong to the Server `{server}`; they are ignored here"),
                Some("remove `server` to let modelgen render a dedicated Server with them"),
            );
        }
    }
    if let Some(secret) = &s.storage_secret
        && let Err(why) = dns_subdomain(secret)
    {
        rules.error("spec.storageSecret", format!("`{secret}` is not a valid Secret name: {why}"), None);
    }
}

fn check_seldon_scaling(spec: &ModelDeployment, rules: &mut Rules) {
    let backend = spec.spec.backend;
    let s = &spec.spec;
    if let Some(scaling) = &s.scaling {
        if scaling.min_replicas == Some(0) && backend == Backend::Seldon {
            rules.error(
                "spec.scaling.minReplicas",
                "minReplicas `0` (scale to zero) needs KServe in Knative mode".to_owned(),
                None,
            );
        }
        match (backend, scaling.metric) {
            (Backend::Seldon, Some(metric @ (ScaleMetric::Concurrency | ScaleMetric::Rps))) => rules.error(
                "spec.scaling.metric",
                format!("Seldon Core v1 scales with an HPA; metric `{}` needs KServe in Knative mode", metric.as_str()),
                Some("use `cpu` or `memory`"),
            ),
            (Backend::SeldonV2, Some(metric)) => rules.error(
                "spec.scaling.metric",
                format!(
                    "Seldon Core 2 autoscales models on its own signal; metric `{}` cannot be chosen",
                    metric.as_str()
                ),
                Some("keep `minReplicas` and `maxReplicas`, remove `metric` and `target`"),
            ),
            _ => {}
        }
        if let Some(target) = scaling.target
            && matches!(scaling.metric, Some(ScaleMetric::Cpu | ScaleMetric::Memory))
            && !(1..=100).contains(&target)
        {
            rules.error(
                "spec.scaling.target",
                format!("target `{target}` is not a utilisation percentage from 1 to 100"),
                None,
            );
        }
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
        return Err(if c.is_uppercase() {
            format!("it contains the uppercase letter `{c}`; names are lowercase")
        } else {
            format!("it contains `{c}`")
        });
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

/// `spec.monitoring`: values in range, durations Prometheus reads, and no
/// alert that the backend's metrics cannot feed (it would never fire).
fn check_monitoring(spec: &ModelDeployment, rules: &mut Rules) {
    let Some(monitoring) = &spec.spec.monitoring else { return };
    let base = FieldPath::parse("spec.monitoring");
    for (key, value) in &monitoring.labels {
        let path = base.key("labels").key(key.clone());
        if RESERVED_LABELS.contains(&key.as_str()) || key == monitoring_dashboard::SIDECAR_LABEL {
            rules.push(
                Severity::Error,
                path,
                format!("label `{key}` is set by modelgen and cannot be overridden"),
                None,
            );
        } else if let Err(why) = qualified_name(key) {
            rules.key_error(path, format!("`{key}` is not a valid label key: {why}"));
        } else if let Err(why) = label_value(value) {
            rules.push(Severity::Error, path, format!("`{value}` is not a valid label value: {why}"), None);
        }
    }
    check_scrape(&monitoring.scrape, rules);
    check_alert_values(spec, monitoring, rules);
    if monitoring.enabled {
        check_monitoring_backend(spec, monitoring, rules);
    }
}

/// A Prometheus duration at `path`, in milliseconds.
fn duration_at(path: &str, duration: Option<&monitoring_spec::Duration>, rules: &mut Rules) -> Option<u64> {
    let duration = duration?;
    match duration.millis() {
        Ok(ms) => Some(ms),
        Err(why) => {
            rules.error(
                path,
                format!("`{duration}` is not a duration: {why}"),
                Some("write a Prometheus duration such as `30s`, `5m` or `1h30m`"),
            );
            None
        }
    }
}

fn check_scrape(scrape: &monitoring_spec::Scrape, rules: &mut Rules) {
    let interval = duration_at("spec.monitoring.scrape.interval", scrape.interval.as_ref(), rules);
    if interval == Some(0) {
        rules.error("spec.monitoring.scrape.interval", "the scrape interval cannot be `0`".to_owned(), None);
    } else if let Some(ms) = interval
        && ms > MAX_INTERVAL_MS
    {
        rules.error(
            "spec.monitoring.scrape.interval",
            format!(
                "a scrape interval of `{}` leaves fewer than four samples in the `{}` rate window of the alerts",
                scrape.interval(),
                WINDOW
            ),
            Some("scrape at least every `75s`"),
        );
    }
    let timeout = duration_at("spec.monitoring.scrape.timeout", scrape.timeout.as_ref(), rules);
    if timeout == Some(0) {
        rules.error("spec.monitoring.scrape.timeout", "the scrape timeout cannot be `0`".to_owned(), None);
    } else if let (Some(timeout), Some(interval)) = (
        timeout,
        if scrape.interval.is_some() {
            interval
        } else {
            monitoring_spec::parse_duration(monitoring_spec::DEFAULT_INTERVAL).ok()
        },
    ) && timeout > interval
    {
        rules.error(
            "spec.monitoring.scrape.timeout",
            format!(
                "the scrape timeout `{}` is longer than the interval `{}`",
                scrape.timeout.as_ref().map(ToString::to_string).unwrap_or_default(),
                scrape.interval()
            ),
            Some("Prometheus refuses a timeout longer than the interval"),
        );
    }
}

/// A finite, positive number at `path`.
fn positive(path: &str, what: &str, value: f64, rules: &mut Rules) -> bool {
    if value.is_finite() && value > 0.0 {
        return true;
    }
    rules.error(path, format!("`{value}` is not a valid {what}: it must be a number above 0"), None);
    false
}

fn check_alert_values(spec: &ModelDeployment, monitoring: &monitoring_spec::Monitoring, rules: &mut Rules) {
    let alerts = &monitoring.alerts;
    let at = |field: &str| format!("spec.monitoring.alerts.{field}");
    if let Some(latency) = &alerts.latency {
        positive(&at("latency.thresholdMs"), "latency threshold", latency.threshold_ms, rules);
        if let Some(q) = latency.quantile
            && !(q > 0.0 && q < 1.0)
        {
            rules.error(
                &at("latency.quantile"),
                format!("`{q}` is not a quantile: it must lie between 0 and 1"),
                Some("`0.99` is the 99th percentile"),
            );
        }
        duration_at(&at("latency.for"), latency.for_.as_ref(), rules);
    }
    if let Some(errors) = &alerts.error_rate {
        if !(errors.percent.is_finite() && (0.0..=100.0).contains(&errors.percent)) {
            rules.error(
                &at("errorRate.percent"),
                format!("`{}` is not a percentage from 0 to 100", errors.percent),
                None,
            );
        } else if errors.percent >= 100.0 {
            rules.error(
                &at("errorRate.percent"),
                "an error rate cannot rise above `100` percent, so the alert would never fire".to_owned(),
                Some("alert on a share such as `1` or `5` percent"),
            );
        }
        duration_at(&at("errorRate.for"), errors.for_.as_ref(), rules);
    }
    if let Some(traffic) = &alerts.traffic {
        positive(&at("traffic.minRequestsPerSecond"), "request rate", traffic.min_requests_per_second, rules);
        duration_at(&at("traffic.for"), traffic.for_.as_ref(), rules);
    }
    if let Some(quality) = &alerts.quality {
        let name_ok = quality.metric.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && quality.metric.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        if !name_ok {
            rules.error(
                &at("quality.metric"),
                format!("`{}` is not a Prometheus metric name", quality.metric),
                Some("use letters, digits, `_` and `:`, not starting with a digit, as in `mochanet_accuracy`"),
            );
        }
        if !quality.threshold.is_finite() {
            rules.error(&at("quality.threshold"), format!("`{}` is not a finite number", quality.threshold), None);
        }
        duration_at(&at("quality.for"), quality.for_.as_ref(), rules);
    }
    if let Some(canary) = &alerts.canary {
        for (field, factor) in [("errorRateFactor", canary.error_rate_factor), ("latencyFactor", canary.latency_factor)]
        {
            if let Some(factor) = factor
                && !(factor.is_finite() && factor >= 1.0)
            {
                rules.error(
                    &at(&format!("canary.{field}")),
                    format!("`{factor}` is not a factor of at least 1"),
                    Some("a factor below 1 would alert on a canary that does better than the stable model"),
                );
            }
        }
        duration_at(&at("canary.for"), canary.for_.as_ref(), rules);
        if spec.spec.canary.is_none() {
            rules.push(
                Severity::Warning,
                FieldPath::parse(&at("canary")),
                "`alerts.canary` is unused: the spec has no canary".to_owned(),
                Some("it applies while `spec.canary` is set"),
            );
        }
    }
}

/// Alerts the backend's metrics cannot feed are errors: they would never fire.
fn check_monitoring_backend(spec: &ModelDeployment, monitoring: &monitoring_spec::Monitoring, rules: &mut Rules) {
    let alerts = &monitoring.alerts;
    let source = Source::of(&spec.spec);
    let at = |field: &str| format!("spec.monitoring.alerts.{field}");
    let backend = spec.spec.backend;
    let refuse = |rules: &mut Rules, path: String, what: &str, why: &str, hint: &str| {
        rules.error(&path, format!("{what} cannot work on `{backend}` here: {why}"), Some(hint));
    };
    let knative_hint = "use `deploymentMode: Knative` (its queue-proxy counts requests), or remove this alert";
    if source == Source::QueueProxy {
        rules.unless_acknowledged(
            spec,
            "spec.monitoring",
            Acknowledgement::KnativeRequestMetrics,
            rule("knative-request-metrics"),
            "the request metrics of Knative mode come from the queue-proxy, which from Knative 1.19 exports them only with `request-metrics-protocol: prometheus` in `config-observability` (the default is `none`): without it the dashboard is empty and only `ModelTrafficLow` fires".to_owned(),
            "set `request-metrics-protocol: prometheus` in the `config-observability` ConfigMap of `knative-serving` (Knative 1.18 and older export them by default)",
        );
    }
    if let Some(why) = source.requests_missing() {
        let hint = "use `deploymentMode: Knative`, pin one of KServe's Python runtimes (`kserve-sklearnserver`, ...), or remove this alert";
        if alerts.latency.is_some() {
            refuse(rules, at("latency"), "a latency alert", why, hint);
        }
        if alerts.traffic.is_some() {
            refuse(rules, at("traffic"), "a traffic alert", why, hint);
        }
        if alerts.canary.as_ref().is_some_and(|c| c.latency_factor.is_some()) {
            refuse(rules, at("canary.latencyFactor"), "a canary latency comparison", why, hint);
        }
    }
    if let Some(why) = source.errors_missing() {
        if alerts.error_rate.is_some() {
            refuse(rules, at("errorRate"), "an error-rate alert", why, knative_hint);
        }
        if alerts.canary.as_ref().is_some_and(|c| c.error_rate_factor.is_some()) {
            refuse(rules, at("canary.errorRateFactor"), "a canary error-rate comparison", why, knative_hint);
        }
    }
    if let Some(why) = source.quantiles_missing()
        && alerts.latency.as_ref().is_some_and(|l| l.quantile.is_some())
    {
        refuse(
            rules,
            at("latency.quantile"),
            "a latency quantile",
            why,
            "remove `quantile` (a spec removes a project default with `quantile: null`): the alert then compares the mean latency",
        );
    }
    if alerts.quality.is_some()
        && let Some(why) = quality_missing(&spec.spec)
    {
        refuse(rules, at("quality"), "a quality alert", &why, "serve the model on MLServer, or remove this alert");
    }
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
