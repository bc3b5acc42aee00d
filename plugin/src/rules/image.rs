//! A model served by its own image: the references, the fields that only an image or only a stock runtime understands, and what each backend reserves.

use super::backend::{by_id as rule, knative, kserve, seldon};
use super::finding::Findings;
use super::k8s::{dns_subdomain, env_var_name};
use super::pinning;
use super::secret::credential;
use crate::diagnostic::Severity;
use crate::model::image::ImageReference;
use crate::model::policy::InForce;
use crate::model::spec::{Backend, DeploymentMode, ModelDeployment, Spec};
use crate::render::kserve as kserve_render;
use crate::yaml::path::FieldPath;

/// Checks the image fields of a spec (with or without `spec.model.image`).
pub fn check(spec: &ModelDeployment, policy: &InForce, found: &mut Findings) {
    let s = &spec.spec;
    let images = images(s);
    if s.backend == Backend::SeldonV2 && !images.is_empty() {
        for (path, _) in images {
            found.refuse(
                path,
                rule("seldon-v2-servers"),
                "Seldon Core 2 cannot run a model on its own server image: its Servers load each Model's `storageUri` into an inference server through the Open Inference Protocol's model repository API".to_owned(),
                "use `backend: kserve` or `backend: seldon` for this model, or package the server as a ServerConfig of your own, pin `spec.server` to a Server of it and give the artifacts in `storageUri`",
            );
        }
        return;
    }
    if s.backend == Backend::KserveLlm && !images.is_empty() {
        for (path, _) in images {
            found.refuse(
                path,
                rule("llm-fields"),
                "an `LLMInferenceService` runs vLLM from KServe's presets on the checkpoint at `storageUri`; a server image of your own is not a field of it".to_owned(),
                "give the checkpoint in `storageUri`, or serve the image with `backend: kserve`",
            );
        }
        return;
    }
    if s.model.image.is_none() {
        check_without_image(s, found);
        return;
    }
    for (field, present) in [
        ("format", s.model.format.is_some()),
        ("formatVersion", s.model.format_version.is_some()),
        ("runtime", s.model.runtime.is_some()),
    ] {
        if present {
            found.error(
                &format!("spec.model.{field}"),
                format!("`{field}` selects a stock serving runtime, but this model is served by its own `image`"),
                Some(&format!("remove `{field}`, or remove `image` to serve the model with a stock runtime")),
            );
        }
    }
    for (path, reference) in images {
        check_reference(path, reference, policy, found);
    }
    check_port(s, found);
    check_env(s, found);
    check_env_from(s, found);
    check_process(s, found);
    if s.backend == Backend::Kserve && kserve_render::standard_native_canary(s) && s.model.storage_uri.is_none() {
        found.refuse(
            "spec.canary.strategy",
            rule("kserve-canary-needs-model"),
            "KServe refuses a Standard-mode `spec.canary` whose stable predictor has neither a model nor a storage URI (\"canary requires a stable predictor with a model\"), and this model is served by its image alone".to_owned(),
            "use `strategy: split` (the default in Standard mode)",
        );
    }
}

/// `command` and `args`: no credentials (they are in Git and in the pod spec).
fn check_process(s: &Spec, found: &mut Findings) {
    for (field, what, values) in [("command", "entry", &s.model.command), ("args", "argument", &s.model.args)] {
        for (i, value) in values.iter().enumerate() {
            if let Some(why) = credential(None, value) {
                found.push(
                    Severity::Error,
                    FieldPath::parse(&format!("spec.model.{field}")).index(i),
                    format!("this {what} holds a credential ({why}); it would be stored in Git and in the cluster in clear text"),
                    Some("put the secret in a Secret, reference it with `envFrom: [{secret: NAME}]`, and read the variable in the server"),
                );
            }
        }
    }
}

/// The image fields the spec sets, with their paths.
fn images(s: &Spec) -> Vec<(&'static str, &str)> {
    let canary = s.canary.as_ref().and_then(|c| c.image.as_deref());
    let shadow = s.shadow.as_ref().and_then(|c| c.image.as_deref());
    [("spec.model.image", s.model.image.as_deref()), ("spec.canary.image", canary), ("spec.shadow.image", shadow)]
        .into_iter()
        .filter_map(|(path, image)| image.map(|image| (path, image)))
        .collect()
}

/// Without `spec.model.image`, nothing that configures an image may be set.
fn check_without_image(s: &Spec, found: &mut Findings) {
    let model = &s.model;
    for (field, present) in [
        ("port", model.port.is_some()),
        ("command", !model.command.is_empty()),
        ("args", !model.args.is_empty()),
        ("env", !model.env.is_empty()),
        ("envFrom", !model.env_from.is_empty()),
    ] {
        if present {
            found.error(
                &format!("spec.model.{field}"),
                format!("`{field}` configures the server of a model served by its own image, but `spec.model.image` is not set"),
                Some(&format!(
                    "set `spec.model.image`, or remove `{field}`: a stock runtime's container is the backend's to configure"
                )),
            );
        }
    }
    for variant in ["canary", "shadow"] {
        let path = format!("spec.{variant}.image");
        if images(s).iter().any(|(p, _)| *p == path) {
            found.error(
                &path,
                format!("the {variant} sets `image`, but the stable model is served by a stock runtime"),
                Some(&format!(
                    "remove the {variant}'s `image` (it runs on the stable model's kind of server), or serve the stable model from an image too (`spec.model.image`)"
                )),
            );
        }
    }
}

/// One image reference: valid as a node parses it, and pinned as the policy asks.
fn check_reference(path: &str, text: &str, policy: &InForce, found: &mut Findings) {
    match ImageReference::parse(text) {
        Ok(reference) => pinning::check_image(found, path, text, "", &reference, policy),
        Err(why) => found.refuse(
            path,
            rule("image-reference"),
            format!("`{text}` is not an image reference a node can pull: {why}"),
            "write it as `registry/repository:tag` or, pinned, `registry/repository@sha256:<digest>`",
        ),
    }
}

/// The server's port: a port number, and not one the backend's own containers take.
fn check_port(s: &Spec, found: &mut Findings) {
    let Some(port) = s.model.port else { return };
    let path = "spec.model.port";
    if !(1..=65535).contains(&port) {
        found.error(
            path,
            format!("port `{port}` is outside 1–65535"),
            Some("give the port the server listens on, as in `8080`"),
        );
        return;
    }
    match s.backend {
        Backend::Kserve if s.mode() == DeploymentMode::Knative && knative::RESERVED_PORTS.contains(&port) => found.refuse(
            path,
            rule("knative-user-container"),
            format!("port `{port}` is reserved in Knative mode: Knative's queue-proxy (or its profiling) listens there, and its webhook refuses the revision"),
            &format!("serve on another port, such as `{}`", crate::model::spec::DEFAULT_PORT),
        ),
        Backend::Seldon if seldon::EXECUTOR_PORTS.contains(&port) => found.refuse(
            path,
            rule("seldon-executor-ports"),
            format!("port `{port}` is taken by Seldon's executor, which runs in the model's pod"),
            &format!("serve on another port, such as `{}`", crate::model::spec::DEFAULT_PORT),
        ),
        _ => {}
    }
}

/// Variable names: valid, once each, none the backend sets; values: no credentials.
fn check_env(s: &Spec, found: &mut Findings) {
    let base = FieldPath::parse("spec.model.env");
    for (i, var) in s.model.env.iter().enumerate() {
        let at = base.index(i);
        if let Err(why) = env_var_name(&var.name) {
            found.push(
                Severity::Error,
                at.key("name"),
                format!("`{}` is not a valid variable name: {why}", var.name),
                None,
            );
            continue;
        }
        if s.model.env[..i].iter().any(|earlier| earlier.name == var.name) {
            found.push(
                Severity::Error,
                at.key("name"),
                format!("the variable `{}` is set twice", var.name),
                Some("keep one: the container would get the last value"),
            );
        }
        if let Some((id, why, hint)) = reserved(s, &var.name) {
            found.push(
                Severity::Error,
                at.key("name"),
                format!("the variable `{}` is {why}", var.name),
                Some(&format!("{hint} ({})", rule(id).cite())),
            );
        }
        if let Some(why) = credential(Some(&var.name), &var.value) {
            // Never echo the value.
            found.secret(
                at.key("value"),
                format!("the variable `{}` holds a credential ({why}); it would be stored in Git and in the cluster in clear text", var.name),
                "put it in a Secret and reference it with `envFrom: [{secret: NAME}]`",
            );
        }
    }
}

/// Why the backend owns a variable called `name`, with the rule that says
/// so and what to do instead.
fn reserved(s: &Spec, name: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let custom = "kserve-custom-predictor";
    match s.backend {
        Backend::Kserve if name == kserve::STORAGE_URI_ENV => {
            Some((custom, "written by modelgen from `storageUri`", "remove it and set `storageUri`"))
        }
        Backend::Kserve if name == kserve::PROTOCOL_ENV => {
            Some((custom, "written by modelgen from `protocol`", "remove it and set `protocol`"))
        }
        Backend::Kserve if kserve::BLOCKED_ENV.contains(&name) => Some((
            custom,
            "refused by KServe's webhook on every predictor container",
            "remove it and set the path in the image",
        )),
        Backend::Kserve if s.mode() == DeploymentMode::Knative && knative::RESERVED_ENV.contains(&name) => Some((
            "knative-user-container",
            "set by Knative, whose webhook refuses a revision that sets it",
            "remove it: Knative sets it (the port the server listens on is `port`)",
        )),
        Backend::Seldon if seldon::OPERATOR_ENV.contains(&name) => Some((
            "seldon-custom-container",
            "set by Seldon's operator on every graph container",
            "remove it: the operator sets it from `port`, the predictor and the deployment",
        )),
        _ => None,
    }
}

/// `envFrom`: each entry names exactly one Secret or ConfigMap, by a valid name.
fn check_env_from(s: &Spec, found: &mut Findings) {
    let base = FieldPath::parse("spec.model.envFrom");
    for (i, source) in s.model.env_from.iter().enumerate() {
        let at = base.index(i);
        match (&source.secret, &source.config_map) {
            (Some(_), Some(_)) => found.push(
                Severity::Error,
                at,
                "an `envFrom` entry names exactly one `secret` or `configMap`, this one both".to_owned(),
                Some("split it into two entries, as in `[{secret: a}, {configMap: b}]`"),
            ),
            (None, None) => found.push(
                Severity::Error,
                at,
                "an `envFrom` entry names exactly one `secret` or `configMap`, this one neither".to_owned(),
                Some("name the Secret or ConfigMap whose keys become variables, as in `{secret: hub-token}`"),
            ),
            (Some(name), None) | (None, Some(name)) => {
                let (field, kind) =
                    if source.secret.is_some() { ("secret", "Secret") } else { ("configMap", "ConfigMap") };
                if let Err(why) = dns_subdomain(name) {
                    found.push(
                        Severity::Error,
                        at.key(field),
                        format!("`{name}` is not a valid {kind} name: {why}"),
                        None,
                    );
                }
            }
        }
        if let Some(prefix) = &source.prefix
            && let Err(why) = env_var_name(prefix)
        {
            found.push(
                Severity::Error,
                base.index(i).key("prefix"),
                format!("`{prefix}` is not a valid variable prefix: {why}"),
                None,
            );
        }
    }
}
