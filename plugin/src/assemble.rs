//! Assembly: every spec of an application parsed, layered with the project's defaults and the selected environment, decoded and checked.
//!
//! Every problem in every file is reported, located in the file and layer
//! that wrote the field ([`stack`]); a spec reaches rendering only without
//! errors, and one error anywhere stops the render.

pub(crate) mod parameters;
pub(crate) mod stack;

use std::collections::{BTreeMap, BTreeSet};

use crate::context::RenderContext;
use crate::diagnostic::{self, Diagnostic, Position};
use crate::model::document;
use crate::model::layer::Layer;
use crate::model::percent::Percent;
use crate::model::policy::InForce;
use crate::model::project::{self, Environment};
use crate::model::spec::{API_VERSION, KIND, ModelDeployment};
use crate::rules::spec as validate;
use crate::source::SourceFile;
use crate::yaml::decoder::decode;
use crate::yaml::merge_patch;
use crate::yaml::node::{Node, Value};
use crate::yaml::path::FieldPath;
use crate::yaml::stream as yaml;
use crate::yaml::unknown_field as fields;
use stack::{Location, Stack};

/// A spec that decoded and passed validation, with where it came from.
pub struct Found<'a> {
    /// The file that holds it.
    pub file: &'a str,
    /// Its document as written, for positions.
    pub document: Node,
    /// The spec, its layers merged.
    pub spec: ModelDeployment,
    /// Which file writes each field an edit command may change
    /// ([`EDITABLE`]), as the environment rendered sees it; empty unless
    /// assembled for an edit ([`assemble_locating`]).
    pub located: Vec<(&'static str, Location)>,
}

/// The fields the edit commands change, whose writer [`Found::located`] records.
pub const EDITABLE: [&str; 5] =
    ["spec.canary", "spec.canary.trafficPercent", "spec.model.version", "spec.model.storageUri", "spec.model.image"];

/// [`EDITABLE`], parsed once per render rather than once per spec.
fn editable_paths() -> &'static [FieldPath; EDITABLE.len()] {
    static PATHS: std::sync::LazyLock<[FieldPath; EDITABLE.len()]> =
        std::sync::LazyLock::new(|| EDITABLE.map(FieldPath::parse));
    &PATHS
}

impl Found<'_> {
    /// Where `field` (one of [`EDITABLE`]) is written.
    pub fn locate(&self, field: &str) -> Option<&Location> {
        self.located.iter().find(|(f, _)| *f == field).map(|(_, l)| l)
    }
}

/// Everything a render needs before rendering: the project, the selected
/// environment and every valid spec, assembled from its layers.
pub struct Application<'a> {
    /// The project file, if the application has one.
    pub project: Option<project::Loaded>,
    /// The environment rendered, if any.
    pub environment: Option<&'a str>,
    /// Every valid spec, in file order.
    pub found: Vec<Found<'a>>,
    /// Warnings so far (errors stop assembly).
    pub warnings: Vec<Diagnostic>,
}

/// Parses, merges, decodes and validates every spec for the context's environment.
pub fn assemble<'a>(sources: &'a [SourceFile], context: &'a RenderContext) -> Result<Application<'a>, Vec<Diagnostic>> {
    assemble_with(sources, context, false)
}

/// [`assemble`], recording where each spec's [`EDITABLE`] fields are
/// written ([`Found::located`]), which only an edit needs.
pub fn assemble_locating<'a>(
    sources: &'a [SourceFile],
    context: &'a RenderContext,
) -> Result<Application<'a>, Vec<Diagnostic>> {
    assemble_with(sources, context, true)
}

/// [`assemble`], recording the editable fields' writers when `locate` is set.
fn assemble_with<'a>(
    sources: &'a [SourceFile],
    context: &'a RenderContext,
    locate: bool,
) -> Result<Application<'a>, Vec<Diagnostic>> {
    let (mut diagnostics, weights) = parameters::check_context(context);
    let mut files: Vec<&SourceFile> = sources.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut documents = Vec::new();
    for file in &files {
        if let Some(parsed) = parse(file, &mut diagnostics) {
            documents.push((file.path.as_str(), parsed));
        }
    }
    let project = load_project(sources, &mut documents, &mut diagnostics);
    let referenced: Vec<String> =
        project.as_ref().map(|p| p.references().into_iter().map(|r| r.path).collect()).unwrap_or_default();
    let environment = context.environment.as_deref().filter(|e| !e.is_empty());
    let selected = match (environment, &project) {
        (None, _) => None,
        (Some(name), Some(project)) => match project.environment(name) {
            Ok(environment) => Some((name, environment)),
            Err(diagnostic) => {
                diagnostics.push(diagnostic.field("environment"));
                None
            }
        },
        // A project file that failed to load has been reported already.
        (Some(_), None) if files.iter().any(|f| f.path == project::FILE) => None,
        (Some(name), None) => {
            diagnostics.push(
                Diagnostic::error(format!("unknown environment `{name}`: this application has no `{}`", project::FILE))
                    .field("environment")
                    .hint(format!("define environments in a `{}` at the application root", project::FILE)),
            );
            None
        }
    };

    let policy = project.as_ref().map(|p| p.policy(selected.map(|(name, _)| name))).unwrap_or_default();
    let schema = crate::model::spec::compiled_fields();
    let mut found = Vec::new();
    let mut used_selectors = BTreeSet::new();
    for (file, documents) in documents {
        if referenced.iter().any(|r| r == file) {
            continue; // A patch file, not specs.
        }
        for document in documents {
            let layers = Layers {
                namespace: context.namespace.as_deref(),
                project: project.as_ref(),
                environment: selected,
                weights: &weights,
                policy: &policy,
                locate,
            };
            if let Some(spec) = collect(file, document, schema, &layers, &mut used_selectors, &mut diagnostics) {
                found.push(spec);
            }
        }
    }
    if let Some((name, environment)) = selected
        && let Some(project) = &project
    {
        check_selectors(project, name, environment, &used_selectors, &mut diagnostics);
    }
    check_weights(&weights, &found, &mut diagnostics);
    if found.is_empty() && !diagnostics.iter().any(Diagnostic::is_error) {
        diagnostics.push(
            Diagnostic::error(format!("no `{KIND}` spec found"))
                .hint(format!("a spec is a YAML document with `apiVersion: {API_VERSION}` and `kind: {KIND}`")),
        );
    }
    check_duplicates(&found, &mut diagnostics);
    diagnostic::unique(&mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        diagnostic::cap(&mut diagnostics);
        return Err(diagnostics);
    }
    let environment = if selected.is_some() { environment } else { None };
    Ok(Application { project, environment, found, warnings: diagnostics })
}

/// Parses one file into documents; problems become diagnostics.
fn parse(file: &SourceFile, diagnostics: &mut Vec<Diagnostic>) -> Option<Vec<Node>> {
    let path = file.path.as_str();
    let text = match std::str::from_utf8(&file.contents) {
        Ok(text) => text,
        Err(e) => {
            let valid = &file.contents[..e.valid_up_to()];
            diagnostics.push(
                Diagnostic::error("the file is not valid UTF-8")
                    .in_file(path)
                    .at(Some(end_position(valid)))
                    .hint("save it as UTF-8"),
            );
            return None;
        }
    };
    match yaml::parse_stream(text) {
        Ok(documents) => Some(documents),
        Err(e) => {
            diagnostics.push(Diagnostic::error(e.message).in_file(path).at(e.position));
            None
        }
    }
}

/// Takes the project document out of `documents`; a `Project` anywhere else is an error.
fn load_project(
    sources: &[SourceFile],
    documents: &mut [(&str, Vec<Node>)],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<project::Loaded> {
    let mut loaded = None;
    for (file, nodes) in documents.iter_mut() {
        let (projects, specs): (Vec<Node>, Vec<Node>) =
            std::mem::take(nodes).into_iter().partition(|d| document::is_ours(d) && document::is_project(d));
        *nodes = specs;
        for document in projects {
            if *file != project::FILE {
                diagnostics.push(
                    Diagnostic::error(format!(
                        "a `{}` belongs in `{}` at the application root",
                        project::KIND,
                        project::FILE
                    ))
                    .in_file(*file)
                    .at(document.get("kind").map(|k| k.position))
                    .field("kind"),
                );
            } else if loaded.is_some() {
                diagnostics.push(
                    Diagnostic::error(format!("`{}` holds more than one `{}`", project::FILE, project::KIND))
                        .in_file(*file)
                        .at(Some(document.position))
                        .hint("keep one project document"),
                );
            } else {
                let text = sources.iter().find(|s| s.path == *file).map(|s| String::from_utf8_lossy(&s.contents));
                loaded = project::load(file, text.as_deref().unwrap_or_default(), document, diagnostics);
            }
        }
    }
    loaded
}

/// The project layers that apply to every spec of a render.
struct Layers<'p> {
    /// The context's namespace, for specs that set none.
    namespace: Option<&'p str>,
    /// The project file, when the application has one.
    project: Option<&'p project::Loaded>,
    /// The selected environment, by name.
    environment: Option<(&'p str, &'p Environment)>,
    /// Canary weights set for the render, by model.
    weights: &'p BTreeMap<String, Percent>,
    /// The project's policy for the render.
    policy: &'p InForce,
    /// Whether to record where the editable fields are written.
    locate: bool,
}

/// Checks one document and, when it is a valid spec once its layers are merged, returns it.
fn collect<'a>(
    path: &'a str,
    document: Node,
    schema: &fields::Fields,
    layers: &Layers<'_>,
    used_selectors: &mut BTreeSet<usize>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Found<'a>> {
    if let Value::Seq(items) = &document.value
        && items.iter().any(document::is_ours)
    {
        diagnostics.push(
            Diagnostic::error("this document is a list; a spec must be a mapping at the top level of its document")
                .in_file(path)
                .at(Some(document.position))
                .hint("put each spec in its own document, separated by `---`"),
        );
        return None;
    }
    if !document::is_ours(&document) {
        return None; // Other YAML in the directory is not our business.
    }
    let before = diagnostics.len();
    document::check_header(path, &document, diagnostics);
    if diagnostics.len() > before {
        return None;
    }
    let unknown = fields::unknown_fields(&document, schema);
    if !unknown.is_empty() {
        // Typed decoding would stop at the first of these; report them all.
        for field in unknown {
            let at = field.path.clone();
            diagnostics.push(field.error(path, &at));
        }
        return None;
    }
    let stack = stack(path, document, layers, used_selectors);
    let spec = match decode::<ModelDeployment>(&stack.merged_or_spec()) {
        Ok(spec) => spec,
        Err(e) => {
            let mut location = stack.locate(&e.path, false);
            // With the spec as the only layer, the node's own position is
            // exact even where the path cannot be walked (a `null` key).
            if let Some(position) = e.position.filter(|_| !e.missing && stack.is_single()) {
                location.position = Some(position);
            }
            let mut diagnostic = Diagnostic::error(e.message).at(location.position).field(location.field);
            diagnostic.file = location.file;
            diagnostic.hint = e.hint.map(|h| diagnostic::clip_quotes(&h));
            diagnostics.push(diagnostic);
            return None;
        }
    };
    let mut failed = false;
    let namespace = spec.metadata.namespace.as_deref().or(layers.namespace);
    for finding in validate::check(&spec, namespace, layers.policy) {
        failed |= finding.severity == diagnostic::Severity::Error;
        let location = stack.locate(&finding.path, finding.on_key);
        let mut diagnostic = Diagnostic { severity: finding.severity, ..Diagnostic::error(finding.message) }
            .at(location.position)
            .field(location.field);
        diagnostic.file = location.file;
        diagnostic.hint = finding.hint.map(|h| diagnostic::clip_quotes(&h));
        diagnostic.hides_value = finding.secret;
        diagnostics.push(diagnostic);
    }
    if failed {
        return None;
    }
    let located = if layers.locate {
        EDITABLE.iter().zip(editable_paths()).map(|(&field, at)| (field, stack.locate(at, false))).collect()
    } else {
        Vec::new()
    };
    Some(Found { file: path, document: stack.into_spec_document(), spec, located })
}

/// The layers of one spec, lowest precedence first: project defaults, the
/// spec, the environment's overrides, the overrides of the selectors that
/// pick it, and the render parameters.
fn stack<'a>(path: &'a str, document: Node, layers: &Layers<'a>, used_selectors: &mut BTreeSet<usize>) -> Stack<'a> {
    let mut stack = Stack::new(Layer::spec(path, document));
    if let Some(project) = layers.project {
        project_layers(&mut stack, project, layers.environment, used_selectors);
        // Defaults for a canary, a shadow or their route describe how to
        // run one; they never add one to a spec that has none.
        let (canary, shadow) = (FieldPath::parse("spec.canary"), FieldPath::parse("spec.shadow"));
        stack.drop_unclaimed_defaults(&canary, std::slice::from_ref(&canary));
        stack.drop_unclaimed_defaults(&shadow, std::slice::from_ref(&shadow));
        stack.drop_unclaimed_defaults(&FieldPath::parse("spec.route"), &[canary, shadow]);
    }
    // A canary weight set for the render (Argo CD parameters) wins over every
    // file; it only ever adjusts an existing canary (see `check_weights`).
    if layers.weights.is_empty() {
        return stack; // Most renders: no merge needed to find out.
    }
    let merged = stack.merged_or_spec();
    let name = merged.at(&FieldPath::parse("metadata.name")).and_then(Node::as_str);
    let percent = name
        .and_then(|n| layers.weights.get(n))
        .copied()
        .filter(|_| merged.at(&FieldPath::parse("spec.canary")).is_some_and(|c| matches!(c.value, Value::Map(_))));
    drop(merged);
    if let Some(percent) = percent {
        let weight = FieldPath::parse("spec.canary.trafficPercent");
        stack.push(Layer::parameters(merge_patch::setting(&weight, Value::UInt(percent.get().into()))));
    }
    stack
}

/// Adds the project's layers to a spec's stack: defaults and cluster facts
/// under the spec, the environment's overrides and cluster facts over it,
/// then the overrides of every selector that picks the model (recorded in
/// `used_selectors`).
fn project_layers<'a>(
    stack: &mut Stack<'a>,
    project: &'a project::Loaded,
    environment: Option<(&'a str, &'a Environment)>,
    used_selectors: &mut BTreeSet<usize>,
) {
    if let Some(defaults) = project.layer(&FieldPath::parse("defaults")) {
        stack.push_under(defaults);
    }
    if let Some(facts) = project.cluster_layer(&FieldPath::parse("cluster")) {
        stack.push_under(facts);
    }
    if let Some((name, environment)) = environment {
        let at = FieldPath::parse("environments").key(name);
        if let Some(overrides) = project.layer(&at.key("overrides")) {
            stack.push(overrides);
        }
        if let Some(facts) = project.cluster_layer(&at.key("cluster")) {
            stack.push(facts);
        }
        // Selectors see the model as configured so far (its name and labels after the defaults).
        let so_far = stack.merged();
        let model = so_far.at(&FieldPath::parse("metadata.name")).and_then(Node::as_str).unwrap_or_default();
        let labels = so_far.at(&FieldPath::parse("metadata.labels"));
        for (i, selector) in environment.models.iter().enumerate() {
            let by_name = selector.name.as_deref().is_none_or(|n| n == model);
            let by_labels = selector
                .match_labels
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)).and_then(Node::as_str) == Some(v.as_str()));
            if by_name && by_labels {
                used_selectors.insert(i);
                if let Some(overrides) = project.layer(&at.key("models").index(i).key("overrides")) {
                    stack.push(overrides);
                }
            }
        }
    }
}

/// A `models` entry that picks no model is almost always a typo.
fn check_selectors(
    project: &project::Loaded,
    name: &str,
    environment: &Environment,
    used: &BTreeSet<usize>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (i, selector) in environment.models.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        let path = FieldPath::parse("environments").key(name).key("models").index(i);
        let (field, what) = match &selector.name {
            Some(model) => (path.key("name"), format!("no model is named `{model}`")),
            None => (path.key("matchLabels"), "no model has these labels".to_owned()),
        };
        diagnostics.push(
            project
                .error(format!("this selector picks nothing: {what}"), &field)
                .hint("fix the selector or remove the entry"),
        );
    }
}

/// A canary weight parameter must name a model that has a canary.
fn check_weights(weights: &BTreeMap<String, Percent>, found: &[Found<'_>], diagnostics: &mut Vec<Diagnostic>) {
    for model in weights.keys() {
        let key = format!("{}{model}", parameters::CANARY_WEIGHT);
        match found.iter().find(|f| f.spec.metadata.name == *model) {
            Some(f) if f.spec.spec.canary.is_some() => {}
            Some(f) => diagnostics.push(
                Diagnostic::error(format!(
                    "the parameter `{key}` sets a canary weight, but model `{model}` has no canary"
                ))
                .field(key)
                .hint(format!("add `spec.canary` to `{}` first", f.file)),
            ),
            None => {
                let names: Vec<&str> = found.iter().map(|f| f.spec.metadata.name.as_str()).collect();
                let hint = diagnostic::did_you_mean(model, &names)
                    .unwrap_or_else(|| format!("models: {}", diagnostic::quoted(&names)));
                diagnostics
                    .push(Diagnostic::error(format!("the parameter `{key}` names no model")).field(key).hint(hint));
            }
        }
    }
}

/// Two specs must not produce the same object.
fn check_duplicates(found: &[Found<'_>], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(Option<&str>, &str), &Found<'_>> = BTreeMap::new();
    for spec in found {
        let key = (spec.spec.metadata.namespace.as_deref(), spec.spec.metadata.name.as_str());
        if let Some(first) = seen.get(&key) {
            let path = FieldPath::parse("metadata.name");
            diagnostics.push(
                Diagnostic::error(format!("a model named `{}` is already defined in `{}`", key.1, first.file))
                    .in_file(spec.file)
                    .at(Some(spec.document.position_of(&path)))
                    .field(path.to_string())
                    .hint("give each model its own name, or its own namespace"),
            );
        } else {
            seen.insert(key, spec);
        }
    }
}

/// The position just after `text` (where the first invalid byte starts).
fn end_position(text: &[u8]) -> Position {
    // `text` is the valid UTF-8 prefix, so this cannot fail.
    let text = std::str::from_utf8(text).unwrap_or_default();
    let line = text.matches('\n').count();
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count());
    Position { line: u32::try_from(line).unwrap_or(u32::MAX), column: u32::try_from(column).unwrap_or(u32::MAX) }
}
