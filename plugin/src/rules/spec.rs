//! The spec's rules: what a well-typed spec must still satisfy before anything is rendered.
//!
//! Each rule reports the field it is about; the assembler turns the field
//! path into a file, line and column through the spec's layers.

use super::backend::kserve::STORAGE_SCHEMES;
use super::backend::kserve_llm::hf_uri;
use super::backend::{self, by_id as rule, gateway_api, knative};
use super::finding::{Finding, Findings};
use super::k8s::{dns_label, dns_subdomain, is_quantity, label_value, qualified_name};
use super::llm;
use super::monitoring::check_monitoring;
use super::{image, pinning, rollout};
use crate::diagnostic::{Severity, did_you_mean, quoted};
use crate::model::image::ImageReference;
use crate::model::percent::Percent;
use crate::model::policy::InForce;
use crate::model::spec::{API_GROUP_PREFIX, Acknowledgement, Backend, CanaryStrategy, Protocol, Router, Shadow};
use crate::model::spec::{Canary, DeploymentMode, ModelDeployment, ScaleMetric, TaintEffect, TolerationOperator};
use crate::render::object::RESERVED_LABELS;
use crate::render::variant::{Served, Variant};
use crate::render::{self, kserve, seldon};
use crate::yaml::path::FieldPath;

/// Checks one decoded spec; `namespace` is where its objects will go, if
/// known, and `policy` the project's rules for this render.
pub fn check(spec: &ModelDeployment, namespace: Option<&str>, policy: &InForce) -> Vec<Finding> {
    let mut found = Findings::default();
    check_metadata(spec, &mut found);
    check_model(spec, policy, &mut found);
    image::check(spec, policy, &mut found);
    check_scaling(spec, &mut found);
    check_placement(spec, &mut found);
    check_cluster(spec, &mut found);
    if let Some(canary) = &spec.spec.canary {
        check_canary(spec, canary, policy, &mut found);
    }
    if let Some(shadow) = &spec.spec.shadow {
        check_shadow(spec, shadow, policy, &mut found);
    }
    match spec.spec.backend {
        Backend::Kserve => check_kserve(spec, namespace, &mut found),
        Backend::Seldon | Backend::SeldonV2 => check_seldon(spec, &mut found),
        Backend::KserveLlm => {
            llm::check_kserve_llm(spec, namespace, &mut found);
            if let Some(shadow) = &spec.spec.shadow
                && spec.spec.router() == Router::GatewayApi
            {
                check_gateway_mirror(spec, shadow, &mut found);
            }
        }
    }
    llm::check_common(spec, namespace, &mut found);
    check_monitoring(spec, &mut found);
    found.list
}

/// The name (and every name derived from it), namespace, labels and annotations.
fn check_metadata(spec: &ModelDeployment, found: &mut Findings) {
    let meta = &spec.metadata;
    if let Err(why) = dns_label(&meta.name, true) {
        found.error(
            "metadata.name",
            format!("`{}` is not a valid name: {why}", meta.name),
            Some("use lowercase letters, digits and `-`, starting with a letter, as in `mochanet`"),
        );
    } else if let Some(derived) =
        render::names(spec).into_iter().filter(|d| d.name.len() > d.max).max_by_key(|d| d.name.len())
    {
        let allowed = meta.name.len() - (derived.name.len() - derived.max);
        found.error(
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
        found.error("metadata.namespace", format!("`{ns}` is not a valid namespace: {why}"), None);
    }
    found.labels(
        &FieldPath::parse("metadata.labels"),
        &meta.labels,
        &RESERVED_LABELS,
        Some("the model version comes from `spec.model.version`"),
    );
    for key in meta.annotations.keys() {
        let path = FieldPath::parse("metadata.annotations").key(key.clone());
        if key.starts_with(API_GROUP_PREFIX) || key == kserve::DEPLOYMENT_MODE_ANNOTATION {
            let hint = if key == kserve::DEPLOYMENT_MODE_ANNOTATION {
                Some("set `spec.deploymentMode` instead")
            } else {
                None
            };
            found.push(
                Severity::Error,
                path,
                format!("annotation `{key}` is set by modelgen and cannot be overridden"),
                hint,
            );
        } else if let Err(why) = qualified_name(key) {
            found.key_error(path, format!("`{key}` is not a valid annotation key: {why}"));
        }
    }
}

/// The stable model's version, what serves it, its storage URI, runtime and resources.
fn check_model(spec: &ModelDeployment, policy: &InForce, found: &mut Findings) {
    let model = &spec.spec.model;
    check_version("spec.model.version", &model.version, found);
    if model.image.is_none() {
        // A stock runtime needs both (with an image they are optional).
        match (model.format.is_none(), model.storage_uri.is_none()) {
            (true, true) => found.error(
                "spec.model",
                "the model names neither a stock runtime's `format` and `storageUri` nor an `image` that serves it"
                    .to_owned(),
                Some("add `format` and `storageUri`, or `image` for a model that ships its own server"),
            ),
            // An LLMInferenceService's format is always the Hugging Face checkpoint.
            (true, false) if spec.spec.backend == Backend::KserveLlm => {}
            (true, false) => found.error("spec.model.format", "missing required field `format`".to_owned(), None),
            (false, true) => {
                found.error("spec.model.storageUri", "missing required field `storageUri`".to_owned(), None);
            }
            (false, false) => {}
        }
    }
    if let Some(uri) = &model.storage_uri {
        check_storage_uri("spec.model.storageUri", uri, policy, found);
    }
    if let Some(runtime) = &model.runtime
        && let Err(why) = dns_subdomain(runtime)
    {
        found.error("spec.model.runtime", format!("`{runtime}` is not a valid runtime name: {why}"), None);
    }
    if let Some(resources) = &spec.spec.resources {
        for (field, quantity) in [("cpu", &resources.cpu), ("memory", &resources.memory)] {
            if let Some(q) = quantity
                && !is_quantity(&q.0)
            {
                found.error(
                    &format!("spec.resources.{field}"),
                    format!("`{}` is not a Kubernetes quantity", q.0),
                    Some("write it as `500m`, `\"2\"`, `512Mi` or `2Gi`"),
                );
            }
        }
    }
}

/// A model version, which becomes a label value.
fn check_version(path: &str, version: &str, found: &mut Findings) {
    if version.is_empty() {
        found.error(path, "the version is empty".to_owned(), Some("give the model's version, as in `v1.2.0`"));
    } else if let Err(why) = label_value(version) {
        found.error(
            path,
            format!("version `{version}` cannot be a label value: {why}"),
            Some("use letters, digits, `.`, `-` and `_`, as in `v1.2.0`"),
        );
    }
}

/// A storage URI: a scheme KServe's storage initializer reads, a location,
/// no credentials, the shape its scheme needs, and pinned as the policy asks.
fn check_storage_uri(path: &str, uri: &str, policy: &InForce, found: &mut Findings) {
    let Some((scheme, rest)) = uri.split_once("://") else {
        found.error(
            path,
            format!("`{uri}` is not a storage URI"),
            Some(&format!("start it with one of {}", STORAGE_SCHEMES.map(|s| format!("`{s}://`")).join(", "))),
        );
        return;
    };
    if !STORAGE_SCHEMES.contains(&scheme) {
        found.error(
            path,
            format!("storage scheme `{scheme}://` is not supported by KServe's storage initializer"),
            Some(&format!("use one of {}", STORAGE_SCHEMES.map(|s| format!("`{s}://`")).join(", "))),
        );
        return;
    }
    let authority = rest.split('/').next().unwrap_or_default();
    // An image reference has `@` only before its digest, never credentials.
    let oci = scheme.starts_with("oci");
    let reference = oci.then(|| ImageReference::parse(rest));
    if authority.contains('@') && !matches!(reference, Some(Ok(_))) {
        // Never echo the URI: it holds a secret.
        found.error(
            path,
            "the storage URI contains credentials; they would be stored in Git and in the cluster in clear text"
                .to_owned(),
            Some("remove the `user:password@` part and reference a Secret through `spec.serviceAccountName`"),
        );
    } else if rest.is_empty() || authority.is_empty() {
        found.error(path, format!("`{uri}` names no location after `{scheme}://`"), None);
    } else if scheme == "hf" {
        check_hugging_face(path, uri, rest, policy, found);
    } else if let Some(reference) = reference {
        match reference {
            Ok(reference) => pinning::check_image(found, path, uri, &format!("{scheme}://"), &reference, policy),
            Err(why) => found.refuse(
                path,
                rule("kserve-storage-oci"),
                format!("`{uri}` does not name an image a node can pull: {why}"),
                &format!("write it as `{scheme}://registry/repository@sha256:<digest>`"),
            ),
        }
    }
}

/// `hf://owner/model[:revision]`: a valid shape, pinned as the policy asks.
fn check_hugging_face(path: &str, uri: &str, rest: &str, policy: &InForce, found: &mut Findings) {
    let Some((repository, revision)) = split_hugging_face(rest) else {
        let message = format!("`{uri}` must name exactly an owner and a model, as in `hf://org/model`");
        if rest.trim_end_matches('/').split('/').count() == 2 {
            // An empty part (`hf://org/model/`, `hf://org/:main`), which counting alone let through.
            found.refuse(
                path,
                rule("kserve-storage-hf"),
                format!(
                    "{message}: KServe's storage initializer splits at every `/` and refuses an empty owner or model"
                ),
                "remove the trailing `/`, or write `hf://owner/model:<revision>`",
            );
        } else {
            found.error(path, message, None);
        }
        return;
    };
    pinning::check_hugging_face(found, path, uri, repository, revision, policy);
}

/// What follows `hf://`, split as KServe's storage initializer splits it
/// (`_download_hf`, see [`hf_uri`]). Returns `owner/model` and the revision.
fn split_hugging_face(rest: &str) -> Option<(&str, Option<&str>)> {
    let hf = hf_uri(rest)?;
    Some((&rest[..hf.owner.len() + 1 + hf.model.len()], hf.revision))
}

/// Replica bounds and the autoscaling metric, for the backend and mode.
fn check_scaling(spec: &ModelDeployment, found: &mut Findings) {
    let Some(scaling) = &spec.spec.scaling else { return };
    // Holds on every backend.
    if let (Some(min), Some(max)) = (scaling.min_replicas, scaling.max_replicas)
        && min > max
    {
        found.error(
            "spec.scaling.minReplicas",
            format!("minReplicas `{min}` is greater than maxReplicas `{max}`"),
            None,
        );
    }
    if spec.spec.backend != Backend::Kserve {
        return; // Seldon's own found are in `check_seldon_scaling`.
    }
    let standard = spec.spec.mode() == DeploymentMode::Standard;
    if let Some(metric) = scaling.metric {
        if standard && matches!(metric, ScaleMetric::Concurrency | ScaleMetric::Rps) {
            found.error(
                "spec.scaling.metric",
                format!("metric `{}` needs Knative's autoscaler; Standard mode scales with an HPA", metric.as_str()),
                Some("use `cpu` or `memory`, or `deploymentMode: Knative`"),
            );
        }
        if let Some(target) = scaling.target
            && matches!(metric, ScaleMetric::Cpu | ScaleMetric::Memory)
            && !(1..=100).contains(&target)
        {
            found.error(
                "spec.scaling.target",
                format!("target `{target}` is not a utilisation percentage from 1 to 100"),
                None,
            );
        }
    }
    // KEDA's own rules (`rules::llm`) decide about scale to zero.
    if standard && scaling.min_replicas == Some(0) && !scaling.metric.is_some_and(ScaleMetric::is_keda) {
        found.error(
            "spec.scaling.minReplicas",
            "minReplicas `0` (scale to zero) needs Knative mode".to_owned(),
            Some("use `deploymentMode: Knative`, or at least one replica"),
        );
    }
    if !standard {
        check_knative_scaling(spec, found);
    }
}

/// Knative mode: `cpu` runs on Knative's HPA class (which KServe's webhook
/// requires for it), `memory` cannot be expressed there, targets must be positive.
fn check_knative_scaling(spec: &ModelDeployment, found: &mut Findings) {
    let Some(scaling) = &spec.spec.scaling else { return };
    let hpa = rule("knative-hpa");
    match scaling.metric {
        Some(ScaleMetric::Memory) => found.refuse(
            "spec.scaling.metric",
            hpa,
            "metric `memory` cannot work in Knative mode: KServe's webhook accepts it only with Knative's HPA class, which reads the target as MiB per pod, while the webhook caps any HPA target at 100".to_owned(),
            "use `cpu` (a utilisation percentage), or `deploymentMode: Standard`, whose HPA takes memory utilisation",
        ),
        Some(ScaleMetric::Cpu) if scaling.min_replicas == Some(0) => found.refuse(
            "spec.scaling.minReplicas",
            hpa,
            "minReplicas `0` cannot work with metric `cpu` in Knative mode: Knative's HPA class never scales below one replica, so it would silently keep one".to_owned(),
            "use at least one replica, or `concurrency`/`rps`, which scale to zero",
        ),
        Some(ScaleMetric::Cpu) => found.unless_acknowledged(
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
        found.refuse(
            "spec.scaling.target",
            rule("knative-scale-target"),
            "target `0` is refused in Knative mode: the autoscaler's target must be at least 0.01 (and KServe's webhook wants an `rps` target of at least 1)".to_owned(),
            "give a target of at least 1, or remove it for Knative's default",
        );
    }
}

/// Knative mode copies node placement onto a revision, which Knative
/// accepts only with its `config-features` flags on.
fn check_knative_placement(spec: &ModelDeployment, found: &mut Findings) {
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
            Some(_) => found.refuse(
                field,
                flags,
                format!("`{what}` in Knative mode needs the Knative feature flag `{flag}`, which `cluster.knativeFeatures` does not list: Knative's webhook would reject the revision and the model would never serve"),
                &format!("set `{flag}: enabled` in Knative's `config-features` and add it to `cluster.knativeFeatures`, or use `deploymentMode: Standard`"),
            ),
            None => found.push(
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

/// `spec.cluster`: facts in the form their found read them.
fn check_cluster(spec: &ModelDeployment, found: &mut Findings) {
    let Some(cluster) = &spec.spec.cluster else { return };
    if let Some(version) = &cluster.gateway_api_version
        && gateway_api::parse_version(version).is_none()
    {
        found.error(
            "spec.cluster.gatewayApiVersion",
            format!("`{version}` is not a Gateway API release"),
            Some("write the installed release, as in `v1.3.0` or `v1.3`"),
        );
    }
    for (i, flag) in cluster.knative_features.iter().flatten().enumerate() {
        if !knative::is_feature(flag) {
            let hint = did_you_mean(flag, &knative::FEATURES)
                .unwrap_or_else(|| "list the keys of `config-features` that are `enabled` or `allowed`".to_owned());
            found.push(
                Severity::Error,
                FieldPath::parse("spec.cluster.knativeFeatures").index(i),
                format!("`{flag}` is not a feature flag of Knative Serving 1.20"),
                Some(&hint),
            );
        }
    }
}

/// Node selector, tolerations and service account.
fn check_placement(spec: &ModelDeployment, found: &mut Findings) {
    check_knative_placement(spec, found);
    if let Some(sa) = &spec.spec.service_account_name
        && let Err(why) = dns_subdomain(sa)
    {
        found.error("spec.serviceAccountName", format!("`{sa}` is not a valid service account name: {why}"), None);
    }
    found.labels(&FieldPath::parse("spec.nodeSelector"), &spec.spec.node_selector, &[], None);
    for (i, toleration) in spec.spec.tolerations.iter().enumerate() {
        let path = FieldPath::parse("spec.tolerations").index(i);
        let exists = toleration.operator == Some(TolerationOperator::Exists);
        if exists && toleration.value.as_deref().is_some_and(|v| !v.is_empty()) {
            found.push(
                Severity::Error,
                path.key("value"),
                "a toleration with `operator: Exists` cannot have a value".to_owned(),
                Some("remove `value`, or use `operator: Equal`"),
            );
        }
        if toleration.key.as_deref().unwrap_or_default().is_empty() && !exists {
            found.push(
                Severity::Error,
                path.clone(),
                "a toleration without a key must use `operator: Exists`".to_owned(),
                None,
            );
        }
        if toleration.seconds.is_some() && toleration.effect != Some(TaintEffect::NoExecute) {
            found.push(
                Severity::Error,
                path.key("tolerationSeconds"),
                "`tolerationSeconds` only applies to `effect: NoExecute`".to_owned(),
                None,
            );
        }
    }
}

/// The canary: a valid version and URI, both different from the stable model's, and a share of traffic.
fn check_canary(spec: &ModelDeployment, canary: &Canary, policy: &InForce, found: &mut Findings) {
    let model = &spec.spec.model;
    check_version("spec.canary.version", &canary.version, found);
    rollout::check_rollout(spec, found);
    check_served("spec.canary", canary.storage_uri.as_deref(), spec, policy, found);
    if Percent::new(canary.traffic_percent.into()).is_none() {
        found.error(
            "spec.canary.trafficPercent",
            format!("`{}` is not a percentage from 0 to 100", canary.traffic_percent),
            None,
        );
    }
    if canary.version == model.version {
        found.error(
            "spec.canary.version",
            format!("the canary has the same version `{}` as the stable model", canary.version),
            Some("to promote the canary, move its version and storageUri into `spec.model` and delete `spec.canary`"),
        );
    }
    let stable = Variant::Stable.served(&spec.spec);
    if let Some(same) = Variant::Canary.served(&spec.spec).and_then(|c| stable.and_then(|s| sameness(&s, &c))) {
        match same {
            Same::StorageUri => found.error(
                "spec.canary.storageUri",
                "the canary serves the same storageUri as the stable model".to_owned(),
                Some("point the canary at the new model's artifacts"),
            ),
            Same::Image(image) => found.error(
                match (&canary.image, &canary.storage_uri) {
                    (Some(_), _) => "spec.canary.image",
                    (None, Some(_)) => "spec.canary.storageUri",
                    (None, None) => "spec.canary",
                },
                format!("the canary serves the same image `{image}` and the same artifacts as the stable model"),
                Some("give the canary the new model's `image` (or `storageUri`)"),
            ),
        }
    }
    if spec.spec.backend == Backend::Kserve && kserve::standard_native_canary(&spec.spec) {
        found.push(
            Severity::Warning,
            FieldPath::parse("spec.canary"),
            "KServe v0.20.0 creates a Standard-mode canary's Deployment but does not route traffic to it; weighted routing landed after that release".to_owned(),
            Some("use `strategy: split` (the default in Standard mode), or check that your KServe release routes `spec.canary`"),
        );
    }
}

/// What a canary or shadow shares with another version that makes it serve nothing new.
enum Same<'a> {
    /// The same artifacts on the same stock runtime.
    StorageUri,
    /// The same image, with the same artifacts or none.
    Image(&'a str),
}

/// Whether `b` serves exactly what `a` serves (the same image, if any, and the same artifacts).
fn sameness<'a>(a: &Served<'a>, b: &Served<'a>) -> Option<Same<'a>> {
    if a.image != b.image || a.storage_uri != b.storage_uri {
        return None;
    }
    Some(b.image.map_or(Same::StorageUri, Same::Image))
}

/// A canary's or shadow's `storageUri`: required where a stock runtime
/// serves the model, and a valid URI where given.
fn check_served(at: &str, storage_uri: Option<&str>, spec: &ModelDeployment, policy: &InForce, found: &mut Findings) {
    match storage_uri {
        Some(uri) => check_storage_uri(&format!("{at}.storageUri"), uri, policy, found),
        None if spec.spec.model.image.is_none() => {
            found.error(&format!("{at}.storageUri"), "missing required field `storageUri`".to_owned(), None);
        }
        None => {}
    }
}

/// The shadow: a valid version and URI, different from the versions that serve callers.
fn check_shadow(spec: &ModelDeployment, shadow: &Shadow, policy: &InForce, found: &mut Findings) {
    check_version("spec.shadow.version", &shadow.version, found);
    check_served("spec.shadow", shadow.storage_uri.as_deref(), spec, policy, found);
    if Percent::new(shadow.percent.into()).is_none() {
        found.error("spec.shadow.percent", format!("`{}` is not a percentage from 0 to 100", shadow.percent), None);
    }
    let Some(mirrored) = Variant::Shadow.served(&spec.spec) else { return };
    for (what, variant) in [("stable model", Variant::Stable), ("canary", Variant::Canary)] {
        let Some(other) = variant.served(&spec.spec) else { continue };
        if other.version == shadow.version {
            found.error(
                "spec.shadow.version",
                format!("the shadow has the same version `{}` as the {what}", shadow.version),
                None,
            );
        }
        match sameness(&other, &mirrored) {
            Some(Same::StorageUri) => {
                found.error(
                    "spec.shadow.storageUri",
                    format!("the shadow serves the same storageUri as the {what}"),
                    None,
                );
            }
            Some(Same::Image(image)) => {
                let at = if shadow.image.is_some() { "spec.shadow.image" } else { "spec.shadow" };
                found.error(
                    at,
                    format!("the shadow serves the same image `{image}` and the same artifacts as the {what}"),
                    None,
                );
            }
            None => {}
        }
    }
}

/// Whether the spec's format is one the backend can serve.
fn check_format(spec: &ModelDeployment, found: &mut Findings) -> bool {
    let backend = spec.spec.backend;
    let formats = render::formats(backend);
    // No format: an image serves the model (or the format is missing, reported already).
    let Some(format) = spec.spec.model.format else { return true };
    if formats.contains(&format) {
        return true;
    }
    found.error(
        "spec.model.format",
        format!("backend `{backend}` cannot serve format `{}`", format.as_str()),
        Some(&format!(
            "`{backend}` serves {}; `kserve` serves every format",
            quoted(formats.iter().map(|f| f.as_str()))
        )),
    );
    false
}

/// What KServe needs: no Seldon-only fields, a runtime that serves the model, and a strategy and route that work in the mode.
fn check_kserve(spec: &ModelDeployment, namespace: Option<&str>, found: &mut Findings) {
    let s = &spec.spec;
    if s.storage_secret.is_some() {
        found.error(
            "spec.storageSecret",
            "KServe reads storage credentials from the Secrets of the service account, not from a named Secret"
                .to_owned(),
            Some("attach the Secret to a service account and set `spec.serviceAccountName`"),
        );
    }
    if s.server.is_some() {
        found.error(
            "spec.server",
            "`server` is a Seldon Core 2 setting; KServe picks a runtime".to_owned(),
            Some("use `spec.model.runtime`"),
        );
    }
    if let Some(mismatch) = backend::kserve::mismatch(&s.model) {
        let id = if s.model.runtime.is_some() { "kserve-pinned-runtime" } else { "kserve-runtime-match" };
        found.refuse(&format!("spec.model.{}", mismatch.field), rule(id), mismatch.message, &mismatch.hint);
    }
    let split_canary = s.canary.is_some() && s.canary_strategy() == CanaryStrategy::Split;
    if s.shadow.is_some() && s.mode() == DeploymentMode::Knative {
        found.refuse(
            "spec.shadow",
            rule("knative-shadow-host"),
            "a shadow cannot work in Knative mode: the mirrored request keeps the caller's `Host`, which Knative's cluster-local gateway does not route to the shadow's revision, so every copy gets a 404 that nobody sees (mirror answers are discarded)".to_owned(),
            "use `deploymentMode: Standard` for this model, whose predictor Services take any `Host`, or remove `shadow`",
        );
        return; // The route checks below would only add to this.
    }
    if s.canary.is_some() && !split_canary && s.mode() == DeploymentMode::Knative {
        found.unless_acknowledged(
            spec,
            "spec.canary",
            Acknowledgement::KnativeCanaryFirstApply,
            rule("knative-canary-first-apply"),
            "a native Knative canary splits only when KServe has a rolled-out revision of this InferenceService: on a fresh cluster, or if the InferenceService is recreated, the canary takes 100 % of the traffic (kserve#2649)".to_owned(),
            "use `strategy: split` (set `canary: {strategy: split}` in the project's `defaults` for every model) so that Git holds both versions and the weights",
        );
    }
    if s.shadow.is_some() && s.canary.is_some() && !split_canary {
        found.error(
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
        found.error(
            "spec.canary.router",
            "`router` applies to the `split` strategy only".to_owned(),
            Some("set `strategy: split`, or remove `router`"),
        );
    }
    if let (Some(a), Some(b)) = (s.canary.as_ref().and_then(|c| c.router), s.route.as_ref().and_then(|r| r.router))
        && a != b
    {
        found.error(
            "spec.route.router",
            "`spec.route.router` and `spec.canary.router` disagree".to_owned(),
            Some("set the router in one place"),
        );
    }
    if !s.kserve_split() {
        if s.route.is_some() {
            found.push(
                Severity::Warning,
                FieldPath::parse("spec.route"),
                "`spec.route` is unused: KServe splits this spec's traffic itself".to_owned(),
                Some("it applies to `canary.strategy: split` and to shadows"),
            );
        }
        return;
    }
    check_kserve_route(spec, split_canary, namespace, found);
}

/// The route of a KServe split: where it attaches and what it needs.
fn check_kserve_route(spec: &ModelDeployment, split_canary: bool, namespace: Option<&str>, found: &mut Findings) {
    let s = &spec.spec;
    let route = s.route.clone().unwrap_or_default();
    // Point at what asks for the route when there is no route block at all.
    let anchor = |field: &'static str| match (&s.route, split_canary) {
        (Some(_), _) => field,
        (None, true) => "spec.canary.strategy",
        (None, false) => "spec.shadow",
    };
    match s.router() {
        Router::GatewayApi if route.gateway.is_none() => found.error(
            anchor("spec.route.gateway"),
            "a Gateway API route needs the Gateway it attaches to".to_owned(),
            Some(if s.mode() == DeploymentMode::Standard && s.canary.as_ref().is_some_and(|c| c.strategy.is_none()) {
                "Standard mode splits with a route by default, because KServe v0.20.0 does not route `spec.canary`: set `spec.route.gateway: {name: ..., namespace: ...}`, or `canary.strategy: native` if your KServe release routes Standard-mode canaries"
            } else {
                "set `spec.route.gateway: {name: ..., namespace: ...}`"
            }),
        ),
        Router::Istio if route.hosts.is_empty() => found.error(
            anchor("spec.route.hosts"),
            "an Istio VirtualService needs the host names clients call".to_owned(),
            Some("set `spec.route.hosts: [model.example.com]`"),
        ),
        _ => {}
    }
    if let Some(gateway) = &route.gateway {
        if let Err(why) = dns_subdomain(&gateway.name) {
            found.error(
                "spec.route.gateway.name",
                format!("`{}` is not a valid Gateway name: {why}", gateway.name),
                None,
            );
        }
        if s.router() == Router::Istio && gateway.section_name.is_some() {
            found.error(
                "spec.route.gateway.sectionName",
                "`sectionName` is a Gateway API setting; Istio gateways have none".to_owned(),
                None,
            );
        }
    }
    for (i, host) in route.hosts.iter().enumerate() {
        let bare = host.strip_prefix("*.").unwrap_or(host);
        if let Err(why) = dns_subdomain(bare) {
            found.push(
                Severity::Error,
                FieldPath::parse("spec.route.hosts").index(i),
                format!("`{host}` is not a valid host name: {why}"),
                None,
            );
        }
    }
    if s.mode() == DeploymentMode::Knative && namespace.is_none() {
        found.error(
            "metadata.namespace",
            "a split route in Knative mode must name each predictor's cluster-local host, which needs the namespace"
                .to_owned(),
            Some("set `metadata.namespace`, or render with `--namespace`"),
        );
    }
    if s.router() == Router::GatewayApi {
        if s.mode() == DeploymentMode::Knative {
            check_gateway_knative_backends(spec, anchor("spec.route"), found);
        }
        if let Some(shadow) = &s.shadow {
            check_gateway_mirror(spec, shadow, found);
        }
    }
}

/// A Knative predictor is reached through an `ExternalName` Service with a
/// backend-level `Host` header: implementation-specific Gateway API.
fn check_gateway_knative_backends(spec: &ModelDeployment, anchor: &str, found: &mut Findings) {
    let cluster = spec.spec.cluster();
    let backends = rule("gateway-knative-backends");
    let hint = "use `router: istio` (an Istio VirtualService), `deploymentMode: Standard`, or a Gateway API implementation known to do both";
    let Some(id) = cluster.gateway_implementation else {
        found.refuse(
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
                found.refuse(
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
        found.refuse(
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
fn check_gateway_mirror(spec: &ModelDeployment, shadow: &Shadow, found: &mut Findings) {
    let cluster = spec.spec.cluster();
    let partial = shadow.mirrored() < Percent::ALL;
    if let Some(implementation) = cluster.gateway_implementation.and_then(gateway_api::implementation) {
        let name = implementation.id.as_str();
        let support = rule("gateway-mirror-support");
        if !implementation.mirror {
            found.refuse(
                "spec.shadow",
                support,
                format!("`{name}` does not implement the Gateway API `RequestMirror` filter (`HTTPRouteRequestMirror` is unsupported in {}), so the shadow would get no traffic", implementation.report_source()),
                "use `router: istio`, or remove `shadow`",
            );
        } else if partial && !implementation.percentage_mirror {
            found.refuse(
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
        Some((text, Some(_))) => found.refuse(
            "spec.shadow.percent",
            percent,
            format!("mirroring `{}` % needs `RequestMirror.percent`, which Gateway API `{text}` does not have (standard channel from v{major}.{minor}): the API server would prune it and mirror every request", shadow.percent),
            "upgrade the Gateway API CRDs, mirror 100 % (remove `percent`), or use `router: istio`",
        ),
        Some((_, None)) => {} // Reported by `check_cluster`.
        None => found.push(
            Severity::Warning,
            FieldPath::parse("spec.shadow.percent"),
            format!("mirroring `{}` % needs `RequestMirror.percent`, in the Gateway API standard channel from v{major}.{minor}: older CRDs prune it, so every request is mirrored and Argo CD shows the route OutOfSync forever", shadow.percent),
            Some(&format!("state the installed release in `cluster.gatewayApiVersion`, as in `v1.3.0` ({})", percent.cite())),
        ),
    }
}

/// What Seldon Core v1 and 2 need: a format they serve, a protocol they speak, and no KServe-only fields.
fn check_seldon(spec: &ModelDeployment, found: &mut Findings) {
    let s = &spec.spec;
    let backend = s.backend;
    if !check_format(spec, found) {
        return;
    }
    let ignored = |found: &mut Findings, path: &str, what: &str| {
        found.push(
            Severity::Warning,
            FieldPath::parse(path),
            format!("`{what}` is a KServe setting; `{backend}` ignores it"),
            None,
        );
    };
    if s.deployment_mode.is_some() {
        ignored(found, "spec.deploymentMode", "deploymentMode");
    }
    if s.model.runtime.is_some() && s.model.image.is_none() {
        ignored(found, "spec.model.runtime", "runtime");
    }
    if let Some(canary) = &s.canary {
        if canary.strategy.is_some() {
            ignored(found, "spec.canary.strategy", "strategy");
        }
        if canary.router.is_some() {
            ignored(found, "spec.canary.router", "router");
        }
    }
    if s.route.is_some() {
        found.push(
            Severity::Warning,
            FieldPath::parse("spec.route"),
            format!("`spec.route` is unused: `{backend}` routes canary and shadow traffic itself"),
            None,
        );
    }
    check_seldon_scaling(spec, found);
    let v1 = matches!(s.model.protocol, Some(Protocol::V1 | Protocol::GrpcV1));
    match backend {
        Backend::Seldon if v1 && s.model.format.is_some_and(seldon::needs_v2) => found.error(
            "spec.model.protocol",
            format!("Seldon's server for `{}` speaks only the V2 protocol", s.model.format.map_or("", |f| f.as_str())),
            Some("use `protocol: v2`, or remove `protocol`"),
        ),
        Backend::SeldonV2 if v1 => found.error(
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
            found.error("spec.server", format!("`{server}` is not a valid Server name: {why}"), None);
        }
        let pod_level = s.resources.as_ref().is_some_and(|r| r.cpu.is_some() || r.gpu > 0)
            || !s.node_selector.is_empty()
            || !s.tolerations.is_empty()
            || s.service_account_name.is_some();
        if pod_level {
            found.push(
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
        found.error("spec.storageSecret", format!("`{secret}` is not a valid Secret name: {why}"), None);
    }
}

/// The scaling Seldon can express: an HPA on cpu or memory (v1), its own signal (v2).
fn check_seldon_scaling(spec: &ModelDeployment, found: &mut Findings) {
    let backend = spec.spec.backend;
    let s = &spec.spec;
    if let Some(scaling) = &s.scaling {
        if scaling.min_replicas == Some(0) && backend == Backend::Seldon {
            found.error(
                "spec.scaling.minReplicas",
                "minReplicas `0` (scale to zero) needs KServe in Knative mode".to_owned(),
                None,
            );
        }
        match (backend, scaling.metric) {
            (Backend::Seldon, Some(metric)) if metric.is_keda() => found.error(
                "spec.scaling.metric",
                format!(
                    "Seldon Core v1 scales with an HPA on cpu or memory; metric `{}` needs KEDA on KServe",
                    metric.as_str()
                ),
                Some("use `cpu` or `memory`"),
            ),
            (Backend::Seldon, Some(metric @ (ScaleMetric::Concurrency | ScaleMetric::Rps))) => found.error(
                "spec.scaling.metric",
                format!("Seldon Core v1 scales with an HPA; metric `{}` needs KServe in Knative mode", metric.as_str()),
                Some("use `cpu` or `memory`"),
            ),
            (Backend::SeldonV2, Some(metric)) => found.error(
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
            found.error(
                "spec.scaling.target",
                format!("target `{target}` is not a utilisation percentage from 1 to 100"),
                None,
            );
        }
    }
}
