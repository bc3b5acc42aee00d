//! `modelgen krm`: the KRM function interface, a `ResourceList` in on stdin and out on stdout, for kustomize and kpt.
//!
//! The specs are the `functionConfig` (a spec of a kind the plugin handles,
//! such as the built-in plugin's `ModelDeployment`, or a `List` of them, as
//! kustomize's `generators:` and `kpt fn eval --fn-config` pass them) or,
//! without one, the spec items of the package. The
//! output holds the input items, minus what an earlier run generated from the
//! same specs, plus the generated objects; problems are `results` with
//! severity, message, `resourceRef`, `field` and `file`. Items are passed
//! through as data: the orchestrator puts comments and field order back
//! (kyaml does, through `config.k8s.io/id`). Every step is linear in the
//! number of items and specs (lookups go through indexes), and every text
//! taken from the input that a message repeats is escaped and clipped.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{Result, bail};
use serde_json::{Map, Value, json};

use crate::artifacts::output;
use crate::diagnostic::{Diagnostic, Rendered, Severity};
use crate::escape;
use crate::input::kinds::Kinds;
use crate::input::source::SourceFile;
use crate::pipeline::Outcome;

/// The `ResourceList` versions modelgen reads (and answers in).
pub const API_VERSIONS: [&str; 2] = ["config.kubernetes.io/v1", "config.kubernetes.io/v1beta1"];

/// Where an orchestrator keeps an item's file, current and legacy spelling.
const PATH_ANNOTATIONS: [&str; 2] = ["internal.config.kubernetes.io/path", "config.kubernetes.io/path"];
/// An item's position in its file, current and legacy spelling.
const INDEX_ANNOTATIONS: [&str; 2] = ["internal.config.kubernetes.io/index", "config.kubernetes.io/index"];
/// Annotations that belong to the orchestrator, not to the spec: they must
/// not be copied onto generated objects.
const ORCHESTRATOR_PREFIXES: [&str; 4] =
    ["config.kubernetes.io/", "internal.config.kubernetes.io/", "config.k8s.io/", "kustomize.config.k8s.io/"];
/// The annotation naming the spec file an object was generated from.
const SOURCE_ANNOTATION: &str = "modelgen.dev/source";
/// Names the specs when the orchestrator does not say which file they are in.
const UNNAMED_SOURCE: &str = "functionConfig";

/// A spec, its order within its file, and its file and index in the package.
type Placed = (u64, Value, Option<(String, u64)>);

/// A spec and what the results need to point at it.
struct Spec {
    /// Its source file, as passed to the plugin.
    source: String,
    /// The 0-based line its document starts on in that source.
    first_line: u32,
    /// `apiVersion`, `kind`, `name` and `namespace`.
    resource_ref: Value,
    /// Its file and index in the package, when the orchestrator said.
    file: Option<(String, u64)>,
}

/// A `ResourceList` read from stdin.
pub struct Request {
    api_version: String,
    items: Vec<Value>,
    specs: Vec<Spec>,
    sources: Vec<SourceFile>,
    /// The plugin's spec kinds.
    kinds: Kinds,
    /// Problems found before rendering (as results).
    problems: Vec<Value>,
    /// Whether items carry file annotations (kpt): generated objects get them too.
    file_backed: bool,
}

/// The answer: a `ResourceList` and whether it reports an error.
pub struct Response {
    /// The `ResourceList` as YAML.
    pub text: String,
    /// Whether a result has severity `error` (the exit code is then 1).
    pub failed: bool,
}

impl Request {
    /// Reads a `ResourceList`. A document that is not one is an error;
    /// specs that are missing or wrong become results instead, so that the
    /// orchestrator can show them.
    pub fn parse(text: &str, kinds: &Kinds) -> Result<Self> {
        // YAML 1.2 booleans and duplicate keys refused, as for specs; room for
        // a large package in one list; no snippet, which could quote a Secret.
        let options = serde_saphyr::options! {
            strict_booleans: true,
            with_snippet: false,
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
            budget: serde_saphyr::budget! {
                max_nodes: 2_000_000,
                max_events: 10_000_000,
            },
        };
        let list: Value = serde_saphyr::from_str_with_options(text, options).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(fields) = list.as_object() else { bail!("it is not a mapping") };
        let api_version = fields.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if !API_VERSIONS.contains(&api_version) {
            bail!("`apiVersion` is `{}`, not `{}`", escape::value(api_version), API_VERSIONS[0]);
        }
        if fields.get("kind").and_then(Value::as_str) != Some("ResourceList") {
            bail!("`kind` is not `ResourceList`");
        }
        let Some(items) = fields.get("items").and_then(Value::as_array) else {
            bail!("`items` is missing or not a list");
        };
        if let Some(i) = items.iter().position(|item| !item.is_object()) {
            bail!("`items[{i}]` is not an object");
        }
        let file_backed = items.iter().any(|item| annotation(item, &PATH_ANNOTATIONS).is_some());
        let mut request = Self {
            api_version: api_version.to_owned(),
            items: items.clone(),
            specs: Vec::new(),
            sources: Vec::new(),
            kinds: kinds.clone(),
            problems: Vec::new(),
            file_backed,
        };
        // kpt passes an empty `ConfigMap` when it was given no function config.
        let empty_config_map = |c: &&Value| {
            c["kind"] == "ConfigMap" && c["apiVersion"] == "v1" && c["data"].as_object().is_none_or(Map::is_empty)
        };
        let config = fields.get("functionConfig").filter(|c| !c.is_null() && !empty_config_map(c));
        let specs = request.collect_specs(config);
        request.group(specs);
        Ok(request)
    }

    /// The specs as source files for the plugin.
    pub fn sources(&self) -> &[SourceFile] {
        &self.sources
    }

    /// Whether the request is wrong before anything is rendered.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The specs: the function config, or the package's specs.
    fn collect_specs(&mut self, config: Option<&Value>) -> Vec<Value> {
        let kinds = self.kinds.names();
        let Some(config) = config else {
            let specs: Vec<Value> = self.items.iter().filter(|item| self.kinds.is_spec(item)).cloned().collect();
            if specs.is_empty() {
                self.problem(&format!(
                    "no {kinds} to render: pass one as the `functionConfig`, or put specs in the package"
                ));
            }
            return specs;
        };
        if self.kinds.is_spec(config) {
            return vec![config.clone()];
        }
        if config["kind"] == "List" && config["apiVersion"] == "v1" {
            let items = config["items"].as_array().cloned().unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                if !self.kinds.is_spec(item) {
                    self.problem(&format!("`functionConfig.items[{i}]` is `{}`, not a {kinds}", describe(item)));
                }
            }
            if items.is_empty() {
                self.problem(&format!("the `functionConfig` is an empty `List`: it needs at least one {kinds}"));
            }
            return items;
        }
        self.problem(&format!(
            "the `functionConfig` is `{}`; it must be a {kinds} or a `v1` `List` of them",
            describe(config)
        ));
        Vec::new()
    }

    fn problem(&mut self, message: &str) {
        self.problems.push(json!({ "severity": "error", "message": message }));
    }

    /// Groups the specs into one source file per package file, in index order.
    fn group(&mut self, specs: Vec<Value>) {
        if self.has_problems() {
            return;
        }
        // Where each spec item of the package is, by identity (the first
        // item of an identity, as a search from the start would find it).
        let mut located: HashMap<String, usize> = HashMap::new();
        for (i, item) in self.items.iter().enumerate() {
            if self.kinds.is_spec(item) {
                located.entry(identity(item)).or_insert(i);
            }
        }
        let mut files: BTreeMap<String, Vec<Placed>> = BTreeMap::new();
        for (position, spec) in specs.into_iter().enumerate() {
            let file = self.file_of(&spec, &located);
            let (source, order) = match &file {
                Some((path, index)) => (path.clone(), *index),
                None => (UNNAMED_SOURCE.to_owned(), position as u64),
            };
            files.entry(source).or_default().push((order, spec, file));
        }
        for (source, mut specs) in files {
            specs.sort_by_key(|(order, _, _)| *order);
            let mut text = String::new();
            let mut lines: usize = 0;
            for (_, spec, file) in specs {
                let first_line = u32::try_from(lines).unwrap_or(u32::MAX);
                let cleaned = without_orchestrator_annotations(&spec);
                let start = text.len();
                text.push_str(&serde_json::to_string_pretty(&cleaned).unwrap_or_default());
                text.push_str("\n---\n");
                lines += text[start..].matches('\n').count();
                let mut resource_ref = json!({
                    "apiVersion": spec["apiVersion"],
                    "kind": spec["kind"],
                    "name": spec["metadata"]["name"],
                });
                if let Some(namespace) = spec["metadata"]["namespace"].as_str() {
                    resource_ref["namespace"] = json!(namespace);
                }
                self.specs.push(Spec { source: source.clone(), first_line, resource_ref, file });
            }
            self.sources.push(SourceFile { path: source, contents: text.into_bytes() });
        }
    }

    /// The package file a spec is in: its own annotations (an item), or those
    /// of the item it is a copy of (kpt passes the function config without
    /// them), found through `located` (spec items by identity).
    fn file_of(&self, spec: &Value, located: &HashMap<String, usize>) -> Option<(String, u64)> {
        let located = if annotation(spec, &PATH_ANNOTATIONS).is_some() {
            spec
        } else {
            &self.items[*located.get(&identity(spec))?]
        };
        let path = annotation(located, &PATH_ANNOTATIONS)?;
        let index = annotation(located, &INDEX_ANNOTATIONS).and_then(|i| i.parse().ok()).unwrap_or(0);
        Some((path.to_owned(), index))
    }

    /// The answer to a render (`None`: the request had problems and was not rendered).
    pub fn respond(&self, result: Option<&Outcome>) -> Result<Response> {
        let mut results = self.problems.clone();
        let mut items = self.items.clone();
        match result {
            None => {}
            Some(Outcome::Refused(diagnostics)) => {
                let index = self.spec_index();
                results.extend(diagnostics.iter().map(|d| self.result(d, &index)));
            }
            Some(Outcome::Rendered(rendered)) => {
                let index = self.spec_index();
                results.extend(rendered.warnings.iter().map(|d| self.result(d, &index)));
                let generated = self.generated(rendered)?;
                // What an earlier run generated from these specs is replaced.
                let sources: HashSet<&str> = self.sources.iter().map(|s| s.path.as_str()).collect();
                items.retain(|item| !is_previous_output(item, &sources));
                let mut by_reference: HashMap<String, usize> = HashMap::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    by_reference.entry(reference(item).to_string()).or_insert(i);
                }
                for object in &generated {
                    if let Some(clash) = by_reference.get(&reference(object).to_string()).map(|i| &items[*i]) {
                        let path = annotation(clash, &PATH_ANNOTATIONS);
                        results.push(json!({
                            "severity": "error",
                            "message": format!(
                                "`{}` is generated from `{}`, but the package already has an object of that name{}",
                                describe(object),
                                escape::value(
                                    object["metadata"]["annotations"][SOURCE_ANNOTATION].as_str().unwrap_or_default()
                                ),
                                path.map(|p| format!(" in `{}`", escape::value(p))).unwrap_or_default()
                            ),
                            "resourceRef": reference(object),
                        }));
                    }
                }
                items.extend(generated);
            }
        }
        let failed = results.iter().any(|r| r["severity"] == "error");
        if failed {
            // All or nothing, as for `render`: the package is returned unchanged.
            items.clone_from(&self.items);
        }
        let mut list = json!({ "apiVersion": self.api_version, "kind": "ResourceList", "items": items });
        if !results.is_empty() {
            list["results"] = Value::Array(results);
        }
        let text = serde_saphyr::to_string(&list).map_err(|e| anyhow::anyhow!("cannot write the ResourceList: {e}"))?;
        Ok(Response { text, failed })
    }

    /// The rendered objects as items, with file annotations when the
    /// package is file-backed (so kpt writes each to its own file).
    fn generated(&self, rendered: &Rendered) -> Result<Vec<Value>> {
        let mut objects = Vec::with_capacity(rendered.manifests.len());
        for manifest in &rendered.manifests {
            let mut object: Value = serde_saphyr::from_str(&manifest.yaml)
                .map_err(|e| anyhow::anyhow!("the plugin returned an object that is not YAML: {e}"))?;
            if self.file_backed {
                let text = |v: &Value| v.as_str().map(str::to_owned);
                let (kind, name) = (text(&object["kind"]).unwrap_or_default(), text(&object["metadata"]["name"]));
                let path =
                    output::object_path(&kind, object["metadata"]["namespace"].as_str(), &name.unwrap_or_default())?;
                let annotations = object["metadata"]
                    .as_object_mut()
                    .map(|m| m.entry("annotations").or_insert_with(|| Value::Object(Map::new())));
                if let Some(Value::Object(annotations)) = annotations {
                    for key in PATH_ANNOTATIONS {
                        annotations.insert(key.to_owned(), json!(path));
                    }
                    for key in INDEX_ANNOTATIONS {
                        annotations.insert(key.to_owned(), json!("0"));
                    }
                }
            }
            objects.push(object);
        }
        Ok(objects)
    }

    /// For each source, its specs' first lines and indexes, in line order
    /// (the order they were written in): the spec a diagnostic is about is
    /// found by a binary search.
    fn spec_index(&self) -> HashMap<&str, Vec<(u32, usize)>> {
        let mut index: HashMap<&str, Vec<(u32, usize)>> = HashMap::new();
        for (i, spec) in self.specs.iter().enumerate() {
            index.entry(spec.source.as_str()).or_default().push((spec.first_line, i));
        }
        index
    }

    /// A diagnostic as a KRM result, pointing at the spec it is about.
    fn result(&self, diagnostic: &Diagnostic, index: &HashMap<&str, Vec<(u32, usize)>>) -> Value {
        let severity = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = escape::message(&diagnostic.message).into_owned();
        if let Some(hint) = &diagnostic.hint {
            message.push_str("; hint: ");
            message.push_str(&escape::message(hint));
        }
        let mut result = json!({ "severity": severity, "message": message });
        let spec = diagnostic.file.as_deref().and_then(|file| {
            let line = diagnostic.position.map_or(0, |(line, _)| line);
            let specs = index.get(file)?;
            // The last spec that starts at or before the line.
            let after = specs.partition_point(|(first, _)| *first <= line);
            after.checked_sub(1).map(|i| &self.specs[specs[i].1])
        });
        let field = diagnostic.field.as_deref().map(escape::value);
        if let Some(spec) = spec {
            result["resourceRef"] = spec.resource_ref.clone();
            if let Some(field) = &field {
                result["field"] = json!({ "path": field });
            }
            if let Some((path, index)) = &spec.file {
                result["file"] = json!({ "path": path, "index": index });
            }
        } else if let Some(field) = &field {
            result["message"] = json!(format!("{message} (at `{field}`)"));
        }
        result
    }

    /// The diagnostics to show on stderr: located in the package files, not
    /// in the text modelgen made of the specs (whose lines mean nothing).
    pub fn for_people(&self, diagnostics: &[Diagnostic]) -> Vec<Diagnostic> {
        let mut files: HashMap<&str, Option<&str>> = HashMap::new();
        for spec in &self.specs {
            files.entry(spec.source.as_str()).or_insert(spec.file.as_ref().map(|(path, _)| path.as_str()));
        }
        diagnostics
            .iter()
            .map(|d| {
                let file = d.file.as_deref().and_then(|f| files.get(f).copied().flatten()).map(str::to_owned);
                Diagnostic { position: None, file: file.or_else(|| d.file.clone()), ..d.clone() }
            })
            .collect()
    }

    /// The problems found before rendering, to show on stderr as well as in
    /// the results.
    pub fn problems_for_people(&self) -> Vec<Diagnostic> {
        self.problems
            .iter()
            .map(|problem| Diagnostic {
                secrets: Vec::new(),
                severity: Severity::Error,
                file: None,
                position: None,
                field: None,
                message: problem["message"].as_str().unwrap_or_default().to_owned(),
                hint: None,
            })
            .collect()
    }
}

/// Whether an input item is what an earlier run made from one of the
/// specs, whose sources are `sources`.
fn is_previous_output(item: &Value, sources: &HashSet<&str>) -> bool {
    let metadata = &item["metadata"];
    metadata["labels"]["app.kubernetes.io/managed-by"] == "modelgen"
        && metadata["annotations"][SOURCE_ANNOTATION].as_str().is_some_and(|source| sources.contains(source))
}

/// An item's identity as text: `apiVersion`, `kind`, name and namespace.
fn identity(value: &Value) -> String {
    json!([value["apiVersion"], value["kind"], value["metadata"]["name"], value["metadata"]["namespace"]]).to_string()
}

/// `apiVersion/Kind name`, for messages (escaped and clipped: it comes from the input).
fn describe(value: &Value) -> String {
    let text = |v: &Value| escape::value(v.as_str().unwrap_or("?")).into_owned();
    let mut out = format!("{}/{}", text(&value["apiVersion"]), text(&value["kind"]));
    if let Some(name) = value["metadata"]["name"].as_str() {
        out.push(' ');
        out.push_str(&escape::value(name));
    }
    out
}

fn reference(object: &Value) -> Value {
    let mut reference =
        json!({ "apiVersion": object["apiVersion"], "kind": object["kind"], "name": object["metadata"]["name"] });
    if let Some(namespace) = object["metadata"]["namespace"].as_str() {
        reference["namespace"] = json!(namespace);
    }
    reference
}

fn annotation<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|key| value["metadata"]["annotations"][*key].as_str())
}

fn without_orchestrator_annotations(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(metadata) = spec.get_mut("metadata").and_then(Value::as_object_mut)
        && let Some(Value::Object(annotations)) = metadata.get_mut("annotations")
    {
        annotations.retain(|key, _| !ORCHESTRATOR_PREFIXES.iter().any(|prefix| key.starts_with(prefix)));
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
    spec
}
