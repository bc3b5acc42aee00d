//! What the contract requires of a plugin's answer beyond its WIT types, checked before anything is printed or written.
//!
//! Whatever plugin runs, the host hands on only an answer that holds:
//!
//! - **At least one object.** An empty render would make Argo CD (with
//!   auto-prune) or Flux (`prune: true`) delete everything the application
//!   manages, and `render --out` remove every file it owns.
//! - **One YAML document per manifest, ending with a line break**
//!   (`wit/generator.wit`, `manifest.yaml`), so that the printed stream
//!   holds exactly the objects that were checked: no line of a manifest may
//!   start or end a document (`---`, `...`: YAML 1.2, section 9.1.4, never
//!   content) or be a directive, and it must end with a line break, or the
//!   next `---` would join its last line.
//! - **Names the API server accepts**, before any of them becomes a file
//!   name (`render --out`, `krm`): `metadata.name` a DNS-1123 subdomain, as
//!   for every custom resource (kubernetes/apiextensions-apiserver v0.35.7,
//!   `pkg/registry/customresource/validator.go`: `NameIsDNSSubdomain`) and
//!   for a `ConfigMap` (kubernetes v1.35, `pkg/apis/core/validation/validation.go`:
//!   `ValidateConfigMapName`); an `InferenceService` name as KServe's
//!   webhook wants it (kserve v0.20.0,
//!   `pkg/apis/serving/v1beta1/inference_service_validation.go`:
//!   `IsvcNameFmt`, a DNS-1035 label); `metadata.namespace` a DNS-1123 label
//!   (kubernetes/apimachinery v0.35.7, `pkg/api/validation/generic.go`:
//!   `ValidateNamespaceName`). Lengths as
//!   `pkg/util/validation/validation.go` there: 253 and 63.

use anyhow::{Result, bail};
use serde::Deserialize;
use serde_json::Value;

use super::verdicts::{self, Checker, Verdicts};
use crate::diagnostic::{Manifest, Rendered};
use crate::escape;

/// The version of the name rules, part of the key of a remembered verdict:
/// bump it when the rules change.
const NAME_RULES: &str = "modelgen name rules 1";

/// Checks that a successful render has objects and that each manifest is
/// one document (see the module documentation): before anything parses them.
/// The error names the broken rule; it is the plugin's fault.
pub fn check(rendered: &Rendered) -> Result<()> {
    if rendered.manifests.is_empty() {
        bail!(
            "the plugin rendered no objects; an empty render would make Argo CD or Flux prune everything the \
             application manages, so it is refused"
        );
    }
    for manifest in &rendered.manifests {
        if let Some(problem) = document_problem(&manifest.yaml) {
            bail!(
                "the plugin returned a manifest (from `{}`) that is not exactly one YAML document ending with a \
                 line break: {problem}",
                escape::value(&manifest.source)
            );
        }
    }
    Ok(())
}

/// Checks the names of a render's objects, once they are known to be
/// objects of kinds modelgen knows (see the module documentation). Reading
/// the names means parsing every object, so with a cache verdicts for the
/// exact output bytes and for each object's (SHA-256 digests: the plugin
/// may be hostile) are remembered, as the CRD check's are.
pub fn check_names(rendered: &Rendered, cache: Option<&Verdicts>) -> Result<()> {
    verdicts::check_unverified(
        cache,
        &CHECKER,
        &rendered.manifests,
        |m| &m.yaml,
        |manifests| manifests.iter().try_for_each(|m| check_manifest_names(m)),
    )
}

/// The name check as its verdicts name it.
const CHECKER: Checker = Checker { identity: &[NAME_RULES, env!("CARGO_PKG_VERSION")], prefix: "names-", log: "names" };

/// The parts of an object the name rules read; the rest is skipped, not built.
#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    kind: Value,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    name: Value,
    #[serde(default)]
    namespace: Value,
}

fn check_manifest_names(manifest: &Manifest) -> Result<()> {
    let source = escape::value(&manifest.source);
    let object: Named = serde_saphyr::from_str(&manifest.yaml).map_err(|e| {
        anyhow::anyhow!(
            "the plugin returned a document that is not a Kubernetes object (from `{source}`): {}",
            escape::message(&e.to_string())
        )
    })?;
    let kind = object.kind.as_str().unwrap_or_default().to_owned();
    let name = object.metadata.name.as_str().unwrap_or_default().to_owned();
    let kind_shown = escape::value(&kind);
    let rule = if kind == "InferenceService" { Rule::Dns1035Label } else { Rule::Dns1123Subdomain };
    if let Err(why) = rule.check(&name) {
        bail!(
            "the plugin returned a `{kind_shown}` (from `{source}`) named `{}`, which is not a valid name: {why}; \
             it must be {}",
            escape::value(&name),
            rule.describe()
        );
    }
    match &object.metadata.namespace {
        Value::Null => {}
        Value::String(namespace) => {
            if let Err(why) = Rule::Dns1123Label.check(namespace) {
                bail!(
                    "the plugin returned a `{kind_shown}` `{}` (from `{source}`) in the namespace `{}`, which is not a \
                     valid namespace name: {why}; it must be {}",
                    escape::value(&name),
                    escape::value(namespace),
                    Rule::Dns1123Label.describe()
                );
            }
        }
        _ => bail!(
            "the plugin returned a `{kind_shown}` `{}` (from `{source}`) whose namespace is not a string",
            escape::value(&name)
        ),
    }
    Ok(())
}

/// Why `yaml` is not exactly one document that ends with a line break, if it is not.
fn document_problem(yaml: &str) -> Option<&'static str> {
    if !yaml.ends_with('\n') {
        return Some("it does not end with a line break");
    }
    // YAML 1.2 line breaks are LF, CR LF and CR alone.
    for line in yaml.split(['\n', '\r']) {
        let marker =
            |m: &str| line.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if marker("---") {
            return Some("a line of it starts a new document (`---`)");
        }
        if marker("...") {
            return Some("a line of it ends the document (`...`)");
        }
        if line.starts_with('%') {
            return Some("a line of it is a directive (`%`)");
        }
    }
    if yaml.contains('\u{feff}') {
        return Some("it holds a byte order mark, which may start a document");
    }
    None
}

/// A Kubernetes name rule.
#[derive(Clone, Copy)]
enum Rule {
    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63.
    Dns1123Label,
    /// Labels joined by dots, at most 253.
    Dns1123Subdomain,
    /// `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63.
    Dns1035Label,
}

impl Rule {
    fn describe(self) -> &'static str {
        match self {
            Rule::Dns1123Label => {
                "a DNS-1123 label: at most 63 lowercase letters, digits and `-`, starting and ending alphanumeric"
            }
            Rule::Dns1123Subdomain => {
                "a DNS-1123 subdomain: at most 253 lowercase letters, digits, `-` and `.`, each part starting and ending alphanumeric"
            }
            Rule::Dns1035Label => {
                "a DNS-1035 label: at most 63 lowercase letters, digits and `-`, starting with a letter and ending alphanumeric"
            }
        }
    }

    fn check(self, name: &str) -> Result<(), String> {
        let (max, labels) = match self {
            Rule::Dns1123Subdomain => (253, name.split('.').collect()),
            Rule::Dns1123Label | Rule::Dns1035Label => (63, vec![name]),
        };
        if name.is_empty() {
            return Err("it is empty".to_owned());
        }
        if name.len() > max {
            return Err(format!("it is {} characters long, more than {max}", name.len()));
        }
        if let Some(c) =
            name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')))
        {
            return Err(format!("it contains `{}`", escape::value(&c.to_string())));
        }
        for label in labels {
            let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if label.contains('.') {
                return Err("it contains `.`".to_owned());
            }
            if label.len() > 63 {
                return Err(format!("a part of it is {} characters long, more than 63", label.len()));
            }
            if !alphanumeric(label.chars().next()) || !alphanumeric(label.chars().last()) {
                return Err("each part must start and end with a lowercase letter or digit".to_owned());
            }
        }
        if matches!(self, Rule::Dns1035Label) && !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("it must start with a lowercase letter".to_owned());
        }
        Ok(())
    }
}

/// Whether `name` is a DNS-1123 label (a namespace, an environment's directory).
pub fn is_dns1123_label(name: &str) -> bool {
    Rule::Dns1123Label.check(name).is_ok()
}

/// Whether `name` is a DNS-1123 subdomain (the name of most objects).
pub fn is_dns1123_subdomain(name: &str) -> bool {
    Rule::Dns1123Subdomain.check(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(yaml: &str) -> Rendered {
        Rendered { manifests: vec![Manifest { yaml: yaml.to_owned(), source: "m.yaml".into() }], warnings: vec![] }
    }

    fn check_all(rendered: &Rendered) -> Result<()> {
        check(rendered)?;
        check_names(rendered, None)
    }

    #[test]
    fn a_verdict_is_remembered_for_the_exact_output_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("cache");
        let cache = Verdicts::new(&root);
        std::fs::create_dir(&root).expect("mkdir");
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
        check_names(&rendered(OBJECT), Some(&cache)).expect("valid");
        let mut recorded: Vec<_> = std::fs::read_dir(dir.path().join("cache/verdicts"))
            .expect("verdicts")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        recorded.sort();
        assert_eq!(recorded.len(), 2, "the output's verdict and the object log: {recorded:?}");
        assert!(recorded[0] == "names" && recorded[1].starts_with("names-"), "{recorded:?}");
        let bad = rendered(&OBJECT.replace("a.b-c", "Bad"));
        assert!(check_names(&bad, Some(&cache)).is_err());
        assert!(check_names(&bad, Some(&cache)).is_err(), "a failure is never remembered");
        // A verdict planted for a bad name proves that an object with a
        // verdict is skipped, and that one without is checked.
        let bad_object = OBJECT.replace("a.b-c", "Bad");
        std::fs::write(root.join("verdicts/names"), CHECKER.object_digest(&bad_object)).expect("plant");
        let two = |a: &str, b: &str| Rendered {
            manifests: [a, b].map(|yaml| Manifest { yaml: yaml.to_owned(), source: "m.yaml".into() }).into(),
            warnings: vec![],
        };
        check_names(&two(&bad_object, OBJECT), Some(&cache)).expect("skipped");
        let e = check_names(&two(&bad_object, &OBJECT.replace("a.b-c", "Worse")), Some(&cache)).expect_err("checked");
        assert!(e.to_string().contains("`Worse`"), "{e}");
    }

    const OBJECT: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a.b-c\n  namespace: ml\n";

    #[test]
    fn one_document_ending_with_a_line_break_passes() {
        check_all(&rendered(OBJECT)).expect("valid");
        check_all(&rendered(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  k: \"--- not a marker\"\n",
        ))
        .expect("a marker inside a value is content");
    }

    #[test]
    fn documents_that_would_print_differently_are_refused() {
        for (yaml, why) in [
            (OBJECT.trim_end(), "does not end with a line break"),
            (&format!("{OBJECT}---\n{OBJECT}") as &str, "starts a new document"),
            (&format!("{OBJECT}...\n"), "ends the document"),
            (&format!("%YAML 1.2\n---\n{OBJECT}"), "directive"),
            (&OBJECT.replace("\n  namespace", "\r---\r  namespace"), "starts a new document"),
        ] {
            let e = check_all(&rendered(yaml)).expect_err(why).to_string();
            assert!(e.contains(why), "{e}");
        }
        let e = check_all(&Rendered { manifests: vec![], warnings: vec![] }).expect_err("empty").to_string();
        assert!(e.contains("rendered no objects"), "{e}");
    }

    #[test]
    fn names_must_be_kubernetes_names() {
        for name in ["\"a\\nREADME.md\"", "UPPER", "a_b", "-a", "a..b", "\"\"", &"a".repeat(254)] {
            let yaml = OBJECT.replace("a.b-c", name);
            let e = check_all(&rendered(&yaml)).expect_err(name).to_string();
            assert!(e.contains("is not a valid name") && !e.contains('\n'), "{e}");
        }
        let isvc = OBJECT.replace("ConfigMap", "InferenceService");
        let e = check_all(&rendered(&isvc)).expect_err("a dot").to_string();
        assert!(e.contains("DNS-1035 label"), "{e}");
        check_all(&rendered(&isvc.replace("a.b-c", "iris-v2"))).expect("valid");
        let e = check_all(&rendered(&OBJECT.replace("ml", "\"m\\u001b[31m\""))).expect_err("namespace").to_string();
        assert!(e.contains("not a valid namespace name") && !e.contains('\u{1b}'), "{e}");
        assert!(is_dns1123_label("prod-eu1") && !is_dns1123_label("a.b") && is_dns1123_subdomain("a.b"));
    }
}
