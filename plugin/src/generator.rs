//! The render pipeline: source files in, manifests or diagnostics out, all or nothing.

use std::collections::BTreeMap;

use crate::assemble::stack::{self as overlay, Layer, Stack};
use crate::context::RenderContext;
use crate::diagnostic::{Diagnostic, Position};
use crate::manifest::{Manifest, Rendered};
use crate::model::project::{self, Environment};
use crate::model::spec::{API_GROUP_PREFIX, API_VERSION, KIND, ModelDeployment};
use crate::patch;
use crate::render;
use crate::render::object::Target;
use crate::rules::spec as validate;
use crate::source::SourceFile;
use crate::yaml::decoder::decode;
use crate::yaml::node::{self as yaml, Node, Value};
use crate::yaml::path::FieldPath;
use crate::yaml::unknown_field as fields;

/// The most diagnostics one render reports; past it, one line says how many more.
pub const MAX_DIAGNOSTICS: usize = 200;

/// A spec that decoded and passed validation, with where it came from.
struct Found<'a> {
    file: &'a str,
    document: Node,
    spec: ModelDeployment,
}

/// Everything a render needs before rendering: the project, the selected
/// environment and every valid spec, assembled from its layers.
struct Application<'a> {
    project: Option<project::Loaded>,
    environment: Option<&'a str>,
    found: Vec<Found<'a>>,
    /// Warnings so far (errors stop assembly).
    warnings: Vec<Diagnostic>,
}

/// Renders every spec in `sources`.
///
/// Every problem in every file is reported (not only the first); any error
/// means no manifests at all.
pub fn generate(sources: &[SourceFile], context: &RenderContext) -> Result<Rendered, Vec<Diagnostic>> {
    let app = assemble(sources, context)?;
    let mut diagnostics = app.warnings;
    let mut objects = Vec::new();
    let mut claims = Claims::default();
    for spec in &app.found {
        let namespace = spec.spec.metadata.namespace.as_deref().or(context.namespace.as_deref());
        let target = Target { spec: &spec.spec, source: spec.file, namespace };
        let rendered = render::render(&target);
        claims.check(spec, &rendered, &mut diagnostics);
        objects.extend(rendered.into_iter().map(|object| (object, spec.file)));
    }
    if let (Some(project), Some(name)) = (&app.project, app.environment) {
        patch::apply(project, name, sources, &mut objects, &mut diagnostics);
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        cap(&mut diagnostics);
        return Err(diagnostics);
    }
    let manifests = objects
        .iter_mut()
        .map(|(object, source)| {
            // After the patches: whatever they added is guarded too.
            render::substitution::guard_substitution(object);
            Manifest { yaml: yaml::emit(object), source: (*source).to_owned() }
        })
        .collect();
    Ok(Rendered { manifests, warnings: diagnostics })
}

/// What an application holds, for `context`, without rendering it.
pub fn describe(sources: &[SourceFile], context: &RenderContext) -> Result<Description, Vec<Diagnostic>> {
    let app = assemble(sources, context)?;
    let environments =
        app.project.as_ref().map(|p| p.project.environments.keys().cloned().collect()).unwrap_or_default();
    let models = app
        .found
        .iter()
        .map(|f| ModelSummary {
            name: f.spec.metadata.name.clone(),
            file: f.file.to_owned(),
            backend: f.spec.spec.backend.to_string(),
            canary_percent: f.spec.spec.canary.as_ref().map(|c| u8::try_from(c.traffic_percent).unwrap_or(100)),
        })
        .collect();
    let references = app.project.as_ref().map(patch::references).unwrap_or_default();
    Ok(Description { environments, models, references })
}

/// Parses, merges, decodes and validates every spec for the context's environment.
fn assemble<'a>(sources: &'a [SourceFile], context: &'a RenderContext) -> Result<Application<'a>, Vec<Diagnostic>> {
    let (mut diagnostics, weights) = check_context(context);
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
        project.as_ref().map(|p| patch::references(p).into_iter().map(|r| r.path).collect()).unwrap_or_default();
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

    let schema = crate::model::spec::schema();
    let mut found = Vec::new();
    let mut used_selectors = std::collections::BTreeSet::new();
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
            };
            if let Some(spec) = collect(file, document, &schema, &layers, &mut used_selectors, &mut diagnostics) {
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
    unique(&mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        cap(&mut diagnostics);
        return Err(diagnostics);
    }
    let environment = if selected.is_some() { environment } else { None };
    Ok(Application { project, environment, found, warnings: diagnostics })
}

/// What an application holds (see [`describe`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    /// The project's environments, sorted.
    pub environments: Vec<String>,
    /// The models, as configured for the context's environment.
    pub models: Vec<ModelSummary>,
    /// Files the project refers to, which the host must pass along.
    pub references: Vec<patch::Reference>,
}

/// One model, as [`describe`] sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    /// `metadata.name`.
    pub name: String,
    /// The file that defines it.
    pub file: String,
    /// The backend's name.
    pub backend: String,
    /// Its canary's share of traffic.
    pub canary_percent: Option<u8>,
}

/// The render parameter that sets a model's canary weight: `canary-weight.<model>`.
pub const CANARY_WEIGHT: &str = "canary-weight.";

/// Checks the context; returns its diagnostics and the canary weights it sets, by model.
fn check_context(context: &RenderContext) -> (Vec<Diagnostic>, BTreeMap<String, u64>) {
    let mut diagnostics = Vec::new();
    if let Some(ns) = &context.namespace {
        let valid = !ns.is_empty()
            && ns.len() <= 63
            && ns.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !ns.starts_with('-')
            && !ns.ends_with('-');
        if !valid {
            diagnostics.push(Diagnostic::error(format!("the default namespace `{ns}` is not a valid namespace name")));
        }
    }
    let mut weights = BTreeMap::new();
    for (key, value) in &context.parameters {
        let Some(model) = key.strip_prefix(CANARY_WEIGHT).filter(|m| !m.is_empty()) else {
            diagnostics.push(
                Diagnostic::error(format!("unknown parameter `{key}`"))
                    .field(key.clone())
                    .hint(format!("the one parameter is `{CANARY_WEIGHT}<model>` (a canary's traffic percent)")),
            );
            continue;
        };
        match value.trim().parse::<u64>() {
            Ok(weight) if weight <= 100 => {
                if weights.insert(model.to_owned(), weight).is_some() {
                    diagnostics
                        .push(Diagnostic::error(format!("the parameter `{key}` is given twice")).field(key.clone()));
                }
            }
            _ => diagnostics.push(
                Diagnostic::error(format!(
                    "the parameter `{key}` must be a whole percent from 0 to 100, not `{value}`"
                ))
                .field(key.clone()),
            ),
        }
    }
    (diagnostics, weights)
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
            std::mem::take(nodes).into_iter().partition(|d| is_ours(d) && project::is_project(d));
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
    project: Option<&'p project::Loaded>,
    environment: Option<(&'p str, &'p Environment)>,
    weights: &'p BTreeMap<String, u64>,
}

/// Checks one document and, when it is a valid spec once its layers are merged, returns it.
fn collect<'a>(
    path: &'a str,
    document: Node,
    schema: &serde_json::Value,
    layers: &Layers<'_>,
    used_selectors: &mut std::collections::BTreeSet<usize>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Found<'a>> {
    if let Value::Seq(items) = &document.value
        && items.iter().any(is_ours)
    {
        diagnostics.push(
            Diagnostic::error("this document is a list; a spec must be a mapping at the top level of its document")
                .in_file(path)
                .at(Some(document.position))
                .hint("put each spec in its own document, separated by `---`"),
        );
        return None;
    }
    if !is_ours(&document) {
        return None; // Other YAML in the directory is not our business.
    }
    let before = diagnostics.len();
    check_header(path, &document, diagnostics);
    if diagnostics.len() > before {
        return None;
    }
    let unknown = fields::unknown_fields(&document, schema);
    if !unknown.is_empty() {
        // Typed decoding would stop at the first of these; report them all.
        for field in unknown {
            diagnostics.push(
                Diagnostic::error(format!("unknown field `{}`", field.key))
                    .in_file(path)
                    .at(Some(field.position))
                    .field(field.path.to_string())
                    .hint(field.hint),
            );
        }
        return None;
    }
    let stack = stack(path, document, layers, used_selectors);
    let merged = stack.merged();
    let spec = match decode::<ModelDeployment>(&merged) {
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
            diagnostic.hint = e.hint.map(|h| crate::diagnostic::clip_quotes(&h));
            diagnostics.push(diagnostic);
            return None;
        }
    };
    let mut failed = false;
    let namespace = spec.metadata.namespace.as_deref().or(layers.namespace);
    for finding in validate::check(&spec, namespace) {
        failed |= finding.severity == crate::diagnostic::Severity::Error;
        let location = stack.locate(&finding.path, finding.on_key);
        let mut diagnostic = Diagnostic { severity: finding.severity, ..Diagnostic::error(finding.message) }
            .at(location.position)
            .field(location.field);
        diagnostic.file = location.file;
        diagnostic.hint = finding.hint.map(|h| crate::diagnostic::clip_quotes(&h));
        diagnostics.push(diagnostic);
    }
    let document = stack.spec_document().clone();
    (!failed).then_some(Found { file: path, document, spec })
}

/// The layers of one spec, lowest precedence first: project defaults, the
/// spec, the environment's overrides, the overrides of the selectors that
/// pick it, and the render parameters.
fn stack<'a>(
    path: &'a str,
    document: Node,
    layers: &Layers<'a>,
    used_selectors: &mut std::collections::BTreeSet<usize>,
) -> Stack<'a> {
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
    let merged = stack.merged();
    let name = merged.at(&FieldPath::parse("metadata.name")).and_then(Node::as_str);
    let weight = FieldPath::parse("spec.canary.trafficPercent");
    if let Some(&percent) = name.and_then(|n| layers.weights.get(n))
        && merged.at(&FieldPath::parse("spec.canary")).is_some_and(|c| matches!(c.value, Value::Map(_)))
    {
        stack.push(Layer::parameters(overlay::single(&weight, Value::UInt(percent))));
    }
    stack
}

fn project_layers<'a>(
    stack: &mut Stack<'a>,
    project: &'a project::Loaded,
    environment: Option<(&'a str, &'a Environment)>,
    used_selectors: &mut std::collections::BTreeSet<usize>,
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
    used: &std::collections::BTreeSet<usize>,
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
            Diagnostic::error(format!("this selector picks nothing: {what}"))
                .in_file(&project.file)
                .at(Some(project.document.position_of(&field)))
                .field(field.to_string())
                .hint("fix the selector or remove the entry"),
        );
    }
}

/// A canary weight parameter must name a model that has a canary.
fn check_weights(weights: &BTreeMap<String, u64>, found: &[Found<'_>], diagnostics: &mut Vec<Diagnostic>) {
    for model in weights.keys() {
        let key = format!("{CANARY_WEIGHT}{model}");
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
                let hint = crate::yaml::decoder::suggest(model, &names).unwrap_or_else(|| {
                    format!("models: {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
                });
                diagnostics
                    .push(Diagnostic::error(format!("the parameter `{key}` names no model")).field(key).hint(hint));
            }
        }
    }
}
/// A document is ours when its `apiVersion` is in the `modelgen.dev` group.
fn is_ours(document: &Node) -> bool {
    document.get("apiVersion").and_then(Node::as_str).is_some_and(|v| v.starts_with(API_GROUP_PREFIX))
}

fn check_header(path: &str, document: &Node, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(api_version) = document.get("apiVersion").filter(|v| v.as_str() != Some(API_VERSION)) {
        diagnostics.push(
            Diagnostic::error(format!(
                "unsupported apiVersion {}",
                api_version.describe().trim_start_matches("string ")
            ))
            .in_file(path)
            .at(Some(api_version.position))
            .field("apiVersion")
            .hint(format!("this plugin handles `{API_VERSION}`")),
        );
    }
    match document.get("kind") {
        Some(kind) if kind.as_str() == Some(KIND) => {}
        Some(kind) => diagnostics.push(
            Diagnostic::error(format!("unknown kind {}", kind.describe().trim_start_matches("string ")))
                .in_file(path)
                .at(Some(kind.position))
                .field("kind")
                .hint(format!("this plugin handles `{KIND}`")),
        ),
        None => diagnostics.push(
            Diagnostic::error("missing required field `kind`")
                .in_file(path)
                .at(Some(document.position))
                .field("kind")
                .hint(format!("add `kind: {KIND}`")),
        ),
    }
}

/// Which spec renders each object, and which objects KServe creates for it.
#[derive(Default)]
struct Claims<'a> {
    /// `(kind, namespace, name)` to the spec that claims it, and whether
    /// KServe creates it (rather than modelgen rendering it).
    owners: BTreeMap<(String, Option<String>, String), (&'a Found<'a>, bool)>,
}

impl<'a> Claims<'a> {
    /// Records what `spec` renders; an object another spec renders, or that
    /// KServe creates for another spec's InferenceService (its HTTPRoute or
    /// VirtualService of the same name), is an error: the two would
    /// overwrite each other on every sync or reconcile.
    fn check(&mut self, spec: &'a Found<'a>, objects: &[serde_json::Value], diagnostics: &mut Vec<Diagnostic>) {
        let key = |object: &serde_json::Value, kind: &str| {
            let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
            (kind.to_owned(), namespace, object["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        };
        let mut mine: Vec<_> =
            objects.iter().map(|o| (key(o, o["kind"].as_str().unwrap_or_default()), false)).collect();
        for isvc in objects.iter().filter(|o| o["kind"] == "InferenceService") {
            // KServe's own top-level routes (rule `kserve-own-routes`).
            mine.extend(["HTTPRoute", "VirtualService"].map(|route| (key(isvc, route), true)));
        }
        for (claim, derived) in mine {
            match self.owners.get(&claim) {
                Some((other, theirs_derived)) if !std::ptr::eq(*other, spec) => {
                    let (kind, _, name) = &claim;
                    let (owner, file) = (&other.spec.metadata.name, other.file);
                    let message = match (derived, theirs_derived) {
                        (false, false) => format!(
                            "the {kind} `{name}` of this model is also rendered for model `{owner}` in `{file}`"
                        ),
                        (false, true) => format!(
                            "the {kind} `{name}` of this model has the name of the {kind} KServe creates for model `{owner}` in `{file}`, which KServe rewrites on every reconcile"
                        ),
                        (true, _) => format!(
                            "KServe would create the {kind} `{name}` for this model, but model `{owner}` in `{file}` renders one of that name: each would overwrite the other"
                        ),
                    };
                    let path = FieldPath::parse("metadata.name");
                    diagnostics.push(
                        Diagnostic::error(message)
                            .in_file(spec.file)
                            .at(Some(spec.document.position_of(&path)))
                            .field(path.to_string())
                            .hint("rename one of the models"),
                    );
                    return;
                }
                Some(_) => {}
                None => {
                    self.owners.insert(claim, (spec, derived));
                }
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

/// Drops repeated diagnostics: a bad value in the project file is found
/// once per spec it is merged into, and reported once.
fn unique(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert(d.clone()));
}

/// Keeps the report readable when a directory is badly broken.
fn cap(diagnostics: &mut Vec<Diagnostic>) {
    if diagnostics.len() > MAX_DIAGNOSTICS {
        let more = diagnostics.len() - MAX_DIAGNOSTICS;
        diagnostics.truncate(MAX_DIAGNOSTICS);
        diagnostics
            .push(Diagnostic::error(format!("{more} more diagnostics not shown")).hint("fix the ones above first"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badly_broken_directory_reports_a_capped_list() {
        let broken = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: Bad}\nspec: {}\n";
        let sources: Vec<SourceFile> = (0..300).map(|i| SourceFile::new(format!("m{i:03}.yaml"), broken)).collect();
        let diagnostics = generate(&sources, &RenderContext::default()).expect_err("all invalid");
        assert_eq!(diagnostics.len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(diagnostics[MAX_DIAGNOSTICS].message, "100 more diagnostics not shown");
    }

    const SPEC: &str = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: fraud}\nspec:\n  model: {format: sklearn, version: v1, storageUri: s3://m/1}\n  canary: {version: v2, storageUri: s3://m/2, trafficPercent: 10}\n";
    const PROJECT: &str = "apiVersion: modelgen.dev/v1alpha1\nkind: Project\nenvironments:\n  prod:\n    overrides: {canary: {trafficPercent: 25}}\n    patches: [{path: patches/x.yaml, target: {kind: InferenceService}}]\n  dev:\n    overrides: {canary: null}\n";

    #[test]
    fn describe_lists_environments_models_and_patch_files_for_the_environment() {
        let sources = [SourceFile::new("fraud.yaml", SPEC), SourceFile::new("modelgen.yaml", PROJECT)];
        let context = |environment: Option<&str>| RenderContext {
            environment: environment.map(str::to_owned),
            ..RenderContext::default()
        };
        let base = describe(&sources, &context(None)).expect("describes");
        assert_eq!(base.environments, ["dev", "prod"]);
        assert_eq!(base.models[0].name, "fraud");
        assert_eq!(base.models[0].canary_percent, Some(10));
        assert_eq!(base.references[0].path, "patches/x.yaml");
        assert_eq!(base.references[0].position, Some(Position { line: 5, column: 21 }));
        assert_eq!(describe(&sources, &context(Some("prod"))).expect("prod").models[0].canary_percent, Some(25));
        assert_eq!(describe(&sources, &context(Some("dev"))).expect("dev").models[0].canary_percent, None);
    }

    #[test]
    fn a_canary_weight_parameter_wins_over_every_file() {
        let sources = [SourceFile::new("fraud.yaml", SPEC), SourceFile::new("modelgen.yaml", PROJECT)];
        let context = RenderContext {
            environment: Some("prod".into()),
            parameters: vec![("canary-weight.fraud".into(), "40".into())],
            ..RenderContext::default()
        };
        assert_eq!(describe(&sources, &context).expect("describes").models[0].canary_percent, Some(40));
    }

    #[test]
    fn output_does_not_depend_on_the_order_files_are_given_in() {
        let spec = |name: &str| {
            format!(
                "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {{name: {name}}}\nspec:\n  model: {{format: sklearn, version: v1, storageUri: s3://m/{name}}}\n"
            )
        };
        let a = SourceFile::new("a.yaml", spec("alpha"));
        let b = SourceFile::new("b.yaml", spec("beta"));
        let forward = generate(&[a.clone(), b.clone()], &RenderContext::default()).expect("renders");
        let backward = generate(&[b, a], &RenderContext::default()).expect("renders");
        assert_eq!(forward, backward);
    }
}
