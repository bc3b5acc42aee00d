//! Contract 0.1.x (`wit/since_v0.1.0/`, as released): its bindings, adapted into the latest host types.
//!
//! What 0.1 lacks is filled in as the 0.1 host knew it: no model or backend
//! positions (problems found after rendering name the file alone), no
//! secret columns (a 0.1 plugin marks none: the lines its diagnostics point
//! at are quoted as they are), the parameters the 0.1
//! host announced for the built-in plugin (`canary-weight`, a map from each
//! model with a canary to its weight) and its project file
//! (`modelgen.yaml`). `edit` and `decide` do not exist: the runtime refuses
//! them with a typed error.

use wasmtime::Store;

use super::RenderContext;
use crate::diagnostic::{
    Diagnostic, FileReference, Manifest, ModelSummary, Parameter, ParameterKind, PluginInfo, Project, Rendered,
    Severity,
};
use crate::input::source::SourceFile;

mod bindings {
    //! Bindings generated from `wit/since_v0.1.0/generator.wit`.
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "plugin",
    });
}

pub use bindings::PluginPre;
use bindings::exports::modelgen::generator::generator as wit;

use super::latest::Answer;

/// The render parameter through which the 0.1 host set canary weights, and
/// the project file it read: the 0.1 contract did not carry them.
const CANARY_WEIGHT: &str = "canary-weight";
const PROJECT_FILE: &str = "modelgen.yaml";

/// Renders `sources`.
pub fn generate<T: 'static>(
    pre: &PluginPre<T>,
    store: &mut Store<T>,
    sources: Vec<SourceFile>,
    context: &RenderContext,
) -> wasmtime::Result<Answer<Rendered>> {
    let plugin = pre.instantiate(&mut *store)?;
    let (sources, context) = input(sources, context);
    let result = plugin.modelgen_generator_generator().call_generate(&mut *store, &sources, &context)?;
    Ok(result
        .map(|rendered| Rendered {
            manifests: rendered.manifests.into_iter().map(|m| Manifest { yaml: m.yaml, source: m.source }).collect(),
            warnings: diagnostics(rendered.warnings),
        })
        .map_err(diagnostics))
}

/// Describes the application in `sources`, with what 0.1 lacks filled in.
pub fn describe<T: 'static>(
    pre: &PluginPre<T>,
    store: &mut Store<T>,
    sources: Vec<SourceFile>,
    context: &RenderContext,
) -> wasmtime::Result<Answer<Project>> {
    let plugin = pre.instantiate(&mut *store)?;
    let (sources, context) = input(sources, context);
    let result = plugin.modelgen_generator_generator().call_describe(&mut *store, &sources, &context)?;
    Ok(result.map(adapt).map_err(diagnostics))
}

/// A 0.1 project in the latest host types.
fn adapt(project: wit::Project) -> Project {
    let weights: Vec<(String, String)> =
        project.models.iter().filter_map(|m| Some((m.name.clone(), m.canary_percent?.to_string()))).collect();
    Project {
        environments: project.environments,
        models: project
            .models
            .into_iter()
            .map(|m| ModelSummary {
                name: m.name,
                file: m.file,
                backend: m.backend,
                canary_percent: m.canary_percent,
                ..ModelSummary::default()
            })
            .collect(),
        references: project
            .references
            .into_iter()
            .map(|r| FileReference {
                path: r.path,
                referrer: r.referrer,
                position: r.position.map(|p| (p.line, p.column)),
            })
            .collect(),
        parameters: vec![Parameter {
            name: CANARY_WEIGHT.to_owned(),
            title: "Canary weight (%)".to_owned(),
            tooltip: "Percent of traffic each model's canary gets, 0 to 100. Defaults to the spec's \
                      spec.canary.trafficPercent."
                .to_owned(),
            kind: ParameterKind::Map(weights),
        }],
        project_file: Some(PROJECT_FILE.to_owned()),
    }
}

/// The plugin's spec JSON Schema.
pub fn spec_schema<T: 'static>(pre: &PluginPre<T>, store: &mut Store<T>) -> wasmtime::Result<String> {
    pre.instantiate(&mut *store)?.modelgen_generator_generator().call_spec_schema(&mut *store)
}

/// The plugin's name, version and kinds.
pub fn info<T: 'static>(pre: &PluginPre<T>, store: &mut Store<T>) -> wasmtime::Result<PluginInfo> {
    let info = pre.instantiate(&mut *store)?.modelgen_generator_generator().call_info(&mut *store)?;
    Ok(PluginInfo { name: info.name, version: info.version, kinds: info.kinds })
}

fn input(sources: Vec<SourceFile>, context: &RenderContext) -> (Vec<wit::SourceFile>, wit::RenderContext) {
    let sources = sources.into_iter().map(|f| wit::SourceFile { path: f.path, contents: f.contents }).collect();
    let context = wit::RenderContext {
        app_name: context.app_name.clone(),
        namespace: context.namespace.clone(),
        revision: context.revision.clone(),
        environment: context.environment.clone(),
        parameters: context.parameters.clone(),
    };
    (sources, context)
}

/// 0.1 diagnostics, which mark no secret columns.
fn diagnostics(list: Vec<wit::Diagnostic>) -> Vec<Diagnostic> {
    list.into_iter()
        .map(|d| Diagnostic {
            severity: match d.severity {
                wit::Severity::Error => Severity::Error,
                wit::Severity::Warning => Severity::Warning,
            },
            file: d.file,
            position: d.position.map(|p| (p.line, p.column)),
            field: d.field,
            message: d.message,
            hint: d.hint,
            secrets: Vec::new(),
        })
        .collect()
}
