//! The render pipeline: source files in, manifests or diagnostics out, all or nothing.
//!
//! [`crate::assemble`] turns the files into checked specs; each is rendered
//! by its backend, the environment's patches apply, and the objects are
//! emitted as YAML only when nothing failed.

use std::collections::HashMap;

use crate::assemble::parameters::{self, Parameter};
use crate::assemble::{self, Found};
use crate::context::RenderContext;
use crate::decision::RolloutPlan;
use crate::diagnostic::{self, Diagnostic, Position};
use crate::manifest::{Manifest, Rendered};
use crate::model::project::{Loaded, PluginRef, Reference};
use crate::patch;
use crate::render;
use crate::render::object::Target;
use crate::source::SourceFile;
use crate::yaml::path::FieldPath;
use crate::yaml::stream as yaml;

/// Renders every spec in `sources`.
///
/// Every problem in every file is reported (not only the first); any error
/// means no manifests at all.
pub fn generate(sources: &[SourceFile], context: &RenderContext) -> Result<Rendered, Vec<Diagnostic>> {
    let mut app = assemble::assemble(sources, context)?;
    let mut diagnostics = std::mem::take(&mut app.warnings);
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
        diagnostic::cap(&mut diagnostics);
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
    // A component instance serves one call, then its memory is discarded
    // whole: freeing the specs and objects one by one would be wasted work
    // (3–5 % of a large render). The native library frees them.
    #[cfg(target_family = "wasm")]
    {
        std::mem::forget(claims);
        std::mem::forget(objects);
        std::mem::forget(app);
    }
    Ok(Rendered { manifests, warnings: diagnostics })
}

/// What an application holds, for `context`, without rendering it.
pub fn describe(sources: &[SourceFile], context: &RenderContext) -> Result<Description, Vec<Diagnostic>> {
    let app = assemble::assemble(sources, context)?;
    let environments =
        app.project.as_ref().map(|p| p.project.environments.keys().cloned().collect()).unwrap_or_default();
    let models: Vec<ModelSummary> = app
        .found
        .iter()
        .map(|f| {
            let canary = f.spec.spec.canary.as_ref();
            ModelSummary {
                name: f.spec.metadata.name.clone(),
                file: f.file.to_owned(),
                position: Some(f.document.position_of(&FieldPath::parse("metadata.name"))),
                backend: f.spec.spec.backend.as_str().to_owned(),
                // As written in this file: a backend from the project file is not here.
                backend_position: f.document.at(&FieldPath::parse("spec.backend")).map(|node| node.position),
                version: Some(f.spec.spec.model.version.clone()),
                canary_version: canary.map(|c| c.version.clone()),
                canary_percent: canary.map(|c| c.traffic().get()),
                rollout: RolloutPlan::of(&Target {
                    spec: &f.spec,
                    source: f.file,
                    namespace: f.spec.metadata.namespace.as_deref().or(context.namespace.as_deref()),
                }),
            }
        })
        .collect();
    let references = app.project.as_ref().map(Loaded::references).unwrap_or_default();
    let plugins = app.project.as_ref().map(|p| p.plugins(context.environment.as_deref())).unwrap_or_default();
    let parameters = parameters::announced(models.iter().filter_map(|m| Some((m.name.as_str(), m.canary_percent?))));
    Ok(Description { environments, models, references, parameters, plugins })
}

/// What an application holds (see [`describe`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    /// The project's environments, sorted.
    pub environments: Vec<String>,
    /// The models, as configured for the context's environment.
    pub models: Vec<ModelSummary>,
    /// Files the project refers to, which the host must pass along.
    pub references: Vec<Reference>,
    /// The render parameters this application accepts, beside the environment.
    pub parameters: Vec<Parameter>,
    /// The policy plugins a render of the context's environment runs after the generator, in order.
    pub plugins: Vec<PluginRef>,
}

/// One model, as [`describe`] sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    /// `metadata.name`.
    pub name: String,
    /// The file that defines it.
    pub file: String,
    /// Where its `metadata.name` is.
    pub position: Option<Position>,
    /// The backend's name.
    pub backend: String,
    /// Where `spec.backend` is, when the spec sets it.
    pub backend_position: Option<Position>,
    /// The stable model's version.
    pub version: Option<String>,
    /// The canary's version.
    pub canary_version: Option<String>,
    /// Its canary's share of traffic.
    pub canary_percent: Option<u8>,
    /// Its canary's rollout plan and gates, when the canary has one.
    pub rollout: Option<RolloutPlan>,
}

/// The claim of an `LLMInferenceService`'s model name (not a kind).
const SERVED_NAME: &str = "served model name";

/// Which spec renders each object, and which objects KServe creates for it.
#[derive(Default)]
struct Claims<'a> {
    /// `(kind, namespace, name)` to the spec that claims it, and whether
    /// KServe creates it (rather than modelgen rendering it). Hashed: only
    /// looked up, never listed, and a tree compared keys sharing long
    /// prefixes a dozen times per object.
    owners: HashMap<(String, Option<String>, String), (&'a Found<'a>, bool)>,
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
        // An LLMInferenceService's model name is its address in the namespace:
        // KServe's publisher paths and model-routing header are built from it.
        for llm in objects.iter().filter(|o| o["kind"] == "LLMInferenceService") {
            let namespace = llm["metadata"]["namespace"].as_str().map(str::to_owned);
            let served = llm["spec"]["model"]["name"].as_str().unwrap_or_default().to_owned();
            mine.push(((SERVED_NAME.to_owned(), namespace, served), false));
        }
        for (claim, derived) in mine {
            match self.owners.get(&claim) {
                Some((other, theirs_derived)) if !std::ptr::eq(*other, spec) => {
                    let (kind, _, name) = &claim;
                    let (owner, file) = (&other.spec.metadata.name, other.file);
                    if kind == SERVED_NAME {
                        let served = spec.spec.spec.model.served_name.is_some();
                        let path = FieldPath::parse(if served { "spec.model.servedName" } else { "metadata.name" });
                        diagnostics.push(
                            Diagnostic::error(format!(
                                "model `{owner}` in `{file}` serves the same model name `{name}` in this namespace: KServe builds the publisher paths and the model-routing header from it, so one service would shadow the other"
                            ))
                            .in_file(spec.file)
                            .at(Some(spec.document.position_of(&path)))
                            .field(path.to_string())
                            .hint("give one a different `servedName`; a new version of the same model belongs in `canary`"),
                        );
                        return;
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{MAX_DIAGNOSTICS, Position};

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
