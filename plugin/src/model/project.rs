//! The project file `modelgen.yaml`: defaults for every spec and the environments an application renders into.
//!
//! The spec fragments (`defaults`, `overrides`) are kept as YAML trees rather
//! than typed here, so that each value keeps the line it was written on; they
//! are checked against the spec's schema where they are used (see
//! [`crate::model::layer`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use crate::diagnostic::{Diagnostic, Position, did_you_mean, quoted};
use crate::model::layer::Layer;
use crate::model::policy::{InForce, Policy};
use crate::model::spec::{API_VERSION, Cluster};
use crate::rules::k8s;
use crate::yaml::decoder::decode;
use crate::yaml::node::Node;
use crate::yaml::path::FieldPath;
use crate::yaml::unknown_field as fields;

/// The project file's path, relative to the application root.
pub const FILE: &str = "modelgen.yaml";
/// The kind of the project file's document.
pub const KIND: &str = "Project";

/// An application's defaults and environments.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Project")]
pub struct Project {
    /// Always `modelgen.dev/v1alpha1`.
    #[schemars(schema_with = "crate::model::spec::api_version_schema")]
    pub api_version: String,
    /// Always `Project`.
    #[expect(
        dead_code,
        reason = "checked on the document tree before decoding, to point at the value; typed for the schema"
    )]
    #[schemars(schema_with = "kind_schema")]
    pub kind: String,
    /// The project's name (informational).
    #[expect(dead_code, reason = "informational: nothing reads it; typed for the schema")]
    #[serde(default)]
    pub metadata: Option<ProjectMetadata>,
    /// Values every spec starts from: `namespace`, `labels`, `annotations` and any field of a spec's `spec` (for example `backend` or `resources`). A spec's own values win. Its `canary`, `shadow` and `route` refine a spec that has a canary or shadow; they never add one.
    #[expect(
        dead_code,
        reason = "read from the document tree, whose values keep their positions; typed for the schema and its type checks"
    )]
    #[serde(default)]
    pub defaults: Option<Fragment>,
    /// Facts about the cluster every spec is deployed to (Gateway API implementation and version, Knative feature flags, confirmed prerequisites), under every spec's own `cluster`.
    #[expect(
        dead_code,
        reason = "read from the document tree, whose values keep their positions; typed for the schema and its type checks"
    )]
    #[serde(default)]
    pub cluster: Option<Cluster>,
    /// The environments, by name (for example `dev`, `staging`, `prod`). Render one with `modelgen render --env NAME`.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// Rules every spec is held to, such as whether image and model references must be pinned by digest (`mutableReferences: deny`). An environment's `policy` overrides it field by field; a spec cannot loosen it.
    #[serde(default)]
    pub policy: Option<Policy>,
    /// Policy plugins (WebAssembly components of the `modelgen:policy` contract) run in order after the generator on every render; an environment's `plugins` run after these.
    #[serde(default)]
    pub plugins: Vec<PluginEntry>,
}

/// One policy plugin of the chain.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginEntry {
    /// The component (`.wasm`), relative to the application root.
    pub path: String,
    /// The SHA-256 of the component, 64 lowercase hex digits (`modelgen plugin check FILE` prints it): the host refuses a component with another digest.
    pub sha256: String,
    /// Settings passed to the plugin as JSON (what it accepts is the plugin's own).
    #[expect(dead_code, reason = "read from the document tree and passed on as JSON; typed for the schema")]
    #[serde(default)]
    pub settings: Option<Settings>,
}

/// A plugin's settings: any mapping, passed on as JSON.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings;

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Settings)
    }
}

impl JsonSchema for Settings {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PluginSettings".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "The plugin's settings, passed to it as JSON."
        })
    }
}

/// A plugin of the chain, as `describe` hands it to the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRef {
    /// The component, relative to the application root, normalised.
    pub path: String,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// Its settings, as a JSON document.
    pub settings: String,
    /// The file that names it.
    pub referrer: String,
    /// Where the referrer names it.
    pub position: Option<Position>,
}

/// The project's identity.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectMetadata {
    /// The project's name.
    #[expect(dead_code, reason = "informational: nothing reads it; typed for the schema")]
    #[serde(default)]
    pub name: Option<String>,
}

/// How one environment differs from the specs as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// Facts about this environment's cluster, merged over the project's and the specs' `cluster`.
    #[expect(
        dead_code,
        reason = "read from the document tree, whose values keep their positions; typed for the schema and its type checks"
    )]
    #[serde(default)]
    pub cluster: Option<Cluster>,
    /// Merged into every spec (JSON merge patch: maps merge, other values replace, `null` deletes): `namespace`, `labels`, `annotations` and any field of a spec's `spec`.
    #[expect(
        dead_code,
        reason = "read from the document tree, whose values keep their positions; typed for the schema and its type checks"
    )]
    #[serde(default)]
    pub overrides: Option<Fragment>,
    /// Overrides for the models a selector picks, applied in order after `overrides`.
    #[serde(default)]
    pub models: Vec<ModelOverride>,
    /// Patches of the rendered objects, in kustomize's `patches:` format, applied in order after rendering.
    #[serde(default)]
    pub patches: Vec<PatchEntry>,
    /// This environment's rules, over the project's `policy` field by field (for example `mutableReferences: deny` in prod only).
    #[serde(default)]
    pub policy: Option<Policy>,
    /// Policy plugins run after the project's `plugins` in this environment.
    #[serde(default)]
    pub plugins: Vec<PluginEntry>,
}

/// Overrides for some models of an environment.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelOverride {
    /// The model's name (`metadata.name`).
    #[serde(default)]
    pub name: Option<String>,
    /// Labels the model must carry (after the project's defaults).
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// What to merge into the selected models, as for the environment's `overrides`.
    #[expect(
        dead_code,
        reason = "read from the document tree, whose values keep their positions; typed for the schema and its type checks"
    )]
    pub overrides: Fragment,
}

/// One patch of the rendered objects: kustomize's `patches:` entry.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchEntry {
    /// A file holding the patch, relative to the application root.
    #[serde(default)]
    pub path: Option<String>,
    /// The patch itself: a strategic-merge patch (a partial object) or an RFC 6902 JSON patch (a list of operations).
    #[serde(default)]
    pub patch: Option<String>,
    /// Which objects to patch. Without it, a strategic-merge patch applies to the object its own `apiVersion`, `kind` and `metadata.name` name.
    #[serde(default)]
    pub target: Option<PatchTarget>,
    /// kustomize's patch options.
    #[serde(default)]
    pub options: PatchOptions,
}

/// Which objects a patch applies to; every field given must match (names are anchored regular expressions, as in kustomize).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchTarget {
    /// API group (regular expression).
    #[serde(default)]
    pub group: Option<String>,
    /// API version (regular expression).
    #[serde(default)]
    pub version: Option<String>,
    /// Kind (regular expression).
    #[serde(default)]
    pub kind: Option<String>,
    /// Object name (regular expression).
    #[serde(default)]
    pub name: Option<String>,
    /// Namespace (regular expression).
    #[serde(default)]
    pub namespace: Option<String>,
    /// A Kubernetes label selector (`app=x,tier in (a,b),!legacy`).
    #[serde(default)]
    pub label_selector: Option<String>,
    /// A label selector over annotations.
    #[serde(default)]
    pub annotation_selector: Option<String>,
}

/// kustomize's patch options.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchOptions {
    /// Allow the patch to change an object's name.
    #[serde(default)]
    pub allow_name_change: bool,
    /// Allow the patch to change an object's kind.
    #[serde(default)]
    pub allow_kind_change: bool,
}

/// The schema of the project's `kind`: the constant `Project`.
fn kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "const": KIND, "description": "Always `Project`." })
}

/// A part of a spec (checked where it is used, so that its values keep their positions).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fragment;

impl<'de> Deserialize<'de> for Fragment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Fragment)
    }
}

impl JsonSchema for Fragment {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SpecFragment".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "`namespace`, `labels`, `annotations` and any field of a ModelDeployment's `spec`."
        })
    }
}

/// A file the project refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Relative to the application root, normalised.
    pub path: String,
    /// The file that names it.
    pub referrer: String,
    /// Where the referrer names it.
    pub position: Option<Position>,
}

/// The project file, parsed and checked.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Its path, relative to the application root.
    pub file: String,
    /// Its text, to map positions inside inline patches.
    pub text: String,
    /// Its document, for positions and fragments.
    pub document: Node,
    /// Its typed content.
    pub project: Project,
}

impl Loaded {
    /// The environment called `name`, or a diagnostic listing the known ones.
    pub fn environment(&self, name: &str) -> Result<&Environment, Diagnostic> {
        self.project.environments.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.project.environments.keys().map(String::as_str).collect();
            let hint = if names.is_empty() {
                format!("`{}` defines no environments", self.file)
            } else {
                let known = quoted(&names);
                did_you_mean(name, &names).map_or_else(
                    || format!("known environments: {known}"),
                    |s| format!("{s} (known environments: {known})"),
                )
            };
            Diagnostic::error(format!("unknown environment `{name}`")).hint(hint)
        })
    }

    /// The policy a render of `environment` (or of no environment) applies.
    pub fn policy(&self, environment: Option<&str>) -> InForce {
        let selected =
            environment.and_then(|name| self.project.environments.get(name).map(|env| (name, env.policy.as_ref())));
        InForce::resolve(&self.file, self.project.policy.as_ref(), selected)
    }

    /// An error about the project file's field at `path`.
    pub fn error(&self, message: impl Into<String>, path: &FieldPath) -> Diagnostic {
        Diagnostic::error(message).in_file(&self.file).at(Some(self.document.position_of(path))).field(path.to_string())
    }

    /// Every patch file of every environment (the host reads them for `generate`).
    pub fn references(&self) -> Vec<Reference> {
        let mut found = Vec::new();
        for (name, environment) in &self.project.environments {
            for (i, entry) in environment.patches.iter().enumerate() {
                let Some(path) = entry.path.as_deref() else { continue };
                let Ok(path) = relative_path(path) else { continue };
                let at = patch_path(name, i).key("path");
                found.push(Reference {
                    path,
                    referrer: self.file.clone(),
                    position: Some(self.document.position_of(&at)),
                });
            }
        }
        found
    }

    /// The chain of policy plugins a render of `environment` runs: the project's, then the environment's.
    pub fn plugins(&self, environment: Option<&str>) -> Vec<PluginRef> {
        let project =
            self.project.plugins.iter().enumerate().map(|(i, entry)| (FieldPath::parse("plugins").index(i), entry));
        let selected = environment.and_then(|name| self.project.environments.get(name).map(|env| (name, env)));
        let environment = selected.into_iter().flat_map(|(name, env)| {
            env.plugins
                .iter()
                .enumerate()
                .map(move |(i, entry)| (FieldPath::parse("environments").key(name).key("plugins").index(i), entry))
        });
        project
            .chain(environment)
            .filter_map(|(at, entry)| {
                let path = relative_path(&entry.path).ok()?;
                let settings = self
                    .document
                    .at(&at.key("settings"))
                    .map_or_else(|| "{}".to_owned(), |node| node.to_json().to_string());
                Some(PluginRef {
                    path,
                    sha256: entry.sha256.clone(),
                    settings,
                    referrer: self.file.clone(),
                    position: Some(self.document.position_of(&at.key("path"))),
                })
            })
            .collect()
    }

    /// The cluster facts at `path` (the project's or an environment's `cluster`), as a layer.
    pub fn cluster_layer(&self, path: &FieldPath) -> Option<Layer<'_>> {
        self.document.at(path).map(|node| Layer::cluster(&self.file, node, path.clone()))
    }

    /// The fragment at `path` (a mapping), as a layer.
    pub fn layer(&self, path: &FieldPath) -> Option<Layer<'_>> {
        self.document.at(path).map(|node| Layer::fragment(&self.file, node, path.clone()))
    }
}

/// Reads the project document of `file`, reporting every problem.
pub fn load(file: &str, text: &str, document: Node, diagnostics: &mut Vec<Diagnostic>) -> Option<Loaded> {
    let before = diagnostics.len();
    for field in fields::unknown_fields(&document, &super::project_fields::FIELDS) {
        let path = field.path.clone();
        diagnostics.push(field.error(file, &path));
    }
    if diagnostics.len() > before {
        return None;
    }
    let project = match decode::<Project>(&document) {
        Ok(project) => project,
        Err(e) => {
            let position = match e.position {
                Some(position) if !e.missing => position,
                _ => document.position_of(&e.path),
            };
            let mut diagnostic =
                Diagnostic::error(e.message).in_file(file).at(Some(position)).field(e.path.to_string());
            diagnostic.hint = e.hint;
            diagnostics.push(diagnostic);
            return None;
        }
    };
    let loaded = Loaded { file: file.to_owned(), text: text.to_owned(), document, project };
    check(&loaded, diagnostics);
    (diagnostics.len() == before).then_some(loaded)
}

/// Checks what typing cannot: names, fragments, and each patch's source.
fn check(loaded: &Loaded, diagnostics: &mut Vec<Diagnostic>) {
    let error = |message: String, path: FieldPath| loaded.error(message, &path);
    if loaded.project.api_version != API_VERSION {
        diagnostics.push(
            error(format!("unsupported apiVersion `{}`", loaded.project.api_version), FieldPath::parse("apiVersion"))
                .hint(format!("use `{API_VERSION}`")),
        );
    }
    let mut fragments = vec![FieldPath::parse("defaults")];
    check_plugins(loaded, &loaded.project.plugins, &FieldPath::parse("plugins"), diagnostics);
    for (name, environment) in &loaded.project.environments {
        let at = FieldPath::parse("environments").key(name);
        check_plugins(loaded, &environment.plugins, &at.key("plugins"), diagnostics);
        if !is_environment_name(name) {
            diagnostics.push(
                Diagnostic::error(format!("`{name}` is not a valid environment name"))
                    .in_file(&loaded.file)
                    .at(Some(loaded.document.key_position_of(&at)))
                    .field(at.to_string())
                    .hint("use lowercase letters, digits and `-`, starting with a letter (it names a directory)"),
            );
        }
        fragments.push(at.key("overrides"));
        for (i, selector) in environment.models.iter().enumerate() {
            let item = at.key("models").index(i);
            if selector.name.is_none() && selector.match_labels.is_empty() {
                diagnostics.push(
                    error("this entry selects no model".to_owned(), item.clone())
                        .hint("give `name` or `matchLabels` (use the environment's `overrides` for every model)"),
                );
            }
            fragments.push(item.key("overrides"));
        }
        for (i, entry) in environment.patches.iter().enumerate() {
            let item = at.key("patches").index(i);
            match (&entry.path, &entry.patch) {
                (Some(_), Some(_)) => diagnostics.push(
                    error("a patch has both `path` and `patch`".to_owned(), item.key("patch"))
                        .hint("keep one: the file or the inline patch"),
                ),
                (None, None) => diagnostics.push(
                    error("a patch needs `path` or `patch`".to_owned(), item.clone())
                        .hint("name a file with `path`, or write the patch inline under `patch: |`"),
                ),
                (Some(path), None) => {
                    if let Err(why) = relative_path(path) {
                        diagnostics.push(
                            error(format!("the patch file `{path}` {why}"), item.key("path"))
                                .hint("patch files must be inside the application directory"),
                        );
                    }
                }
                (None, Some(_)) => {}
            }
        }
    }
    let schema = crate::model::spec::compiled_fields();
    for path in fragments {
        if let Some(layer) = loaded.layer(&path) {
            diagnostics.extend(layer.check(schema));
        }
    }
}

/// Checks a chain of policy plugins: paths inside the root, digests in the form the host compares.
fn check_plugins(loaded: &Loaded, entries: &[PluginEntry], at: &FieldPath, diagnostics: &mut Vec<Diagnostic>) {
    for (i, entry) in entries.iter().enumerate() {
        let item = at.index(i);
        if let Err(why) = relative_path(&entry.path) {
            diagnostics.push(
                loaded
                    .error(format!("the plugin file `{}` {why}", entry.path), &item.key("path"))
                    .hint("plugin files must be inside the application directory"),
            );
        }
        if !is_sha256(&entry.sha256) {
            diagnostics.push(
                loaded
                    .error(format!("`{}` is not a SHA-256 digest", entry.sha256), &item.key("sha256"))
                    .hint("give the 64 lowercase hex digits `modelgen plugin check FILE` prints"),
            );
        }
        let settings = item.key("settings");
        if loaded.document.at(&settings).is_some_and(|node| !node.to_json().is_object()) {
            diagnostics.push(
                loaded
                    .error("a plugin's `settings` must be a mapping".to_owned(), &settings)
                    .hint("write `settings: {key: value}`"),
            );
        }
    }
}

/// A SHA-256 digest as 64 lowercase hex digits.
fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where environment `environment`'s patch number `index` is written.
pub fn patch_path(environment: &str, index: usize) -> FieldPath {
    FieldPath::parse("environments").key(environment).key("patches").index(index)
}

/// A path relative to the application root, normalised, or why it is not one.
pub fn relative_path(path: &str) -> Result<String, &'static str> {
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Err("is not a relative path");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("is outside the application directory");
                }
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("names no file");
    }
    Ok(parts.join("/"))
}

/// An environment name names a directory (`render --out DIR/<env>`): a DNS label that starts with a letter.
fn is_environment_name(name: &str) -> bool {
    k8s::dns_label(name, true).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_fields_are_the_generated_schema_reduced() {
        // What a project file's unknown fields are checked against: its
        // schema reduced and compiled like the spec's.
        let schema = schemars::schema_for!(Project).to_value();
        let path = "src/model/project_fields.rs";
        let current = include_str!("project_fields.rs");
        assert!(
            crate::model::spec::fields_module_is_current(current, &schema, "The project file's fields", path),
            "`plugin/{path}` is stale: run the tests with BLESS=1"
        );
    }

    #[test]
    fn relative_paths_stay_inside_the_root() {
        assert_eq!(relative_path("patches/./gpu.yaml"), Ok("patches/gpu.yaml".to_owned()));
        assert_eq!(relative_path("a/../b.yaml"), Ok("b.yaml".to_owned()));
        assert!(relative_path("../b.yaml").is_err());
        assert!(relative_path("a/../../b.yaml").is_err());
        assert!(relative_path("/etc/passwd").is_err());
        assert!(relative_path(".").is_err());
    }

    #[test]
    fn digests_are_64_lowercase_hex_digits() {
        assert!(is_sha256(&"ab01".repeat(16)));
        assert!(!is_sha256(&"AB01".repeat(16)));
        assert!(!is_sha256(&"ab01".repeat(15)));
        assert!(!is_sha256(&format!("sha256:{}", "ab01".repeat(16))));
    }

    #[test]
    fn environment_names_are_directory_safe() {
        assert!(is_environment_name("prod-eu1"));
        assert!(!is_environment_name("Prod"));
        assert!(!is_environment_name("../x"));
        assert!(!is_environment_name("1prod"));
    }
}
