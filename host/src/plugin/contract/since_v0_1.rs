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

super::bindings!("../wit/since_v0.1.0");

use super::latest::Answer;

/// The render parameter through which the 0.1 host set canary weights, and
/// the project file it read: the 0.1 contract did not carry them.
const CANARY_WEIGHT: &str = "canary-weight";
const PROJECT_FILE: &str = "modelgen.yaml";

// 0.1 marks no secret columns.
super::shared_calls!(d => Vec::new());

/// A 0.1 project in the latest host types.
fn project(project: wit::Project) -> Project {
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
        // 0.1 has no policy plugins: a 0.1 generator runs alone.
        plugins: Vec::new(),
    }
}

/// The plugin's name, version and kinds; 0.1 plugins read the project file
/// the 0.1 host knew, `modelgen.yaml`.
pub fn info<T: 'static>(plugin: &Plugin, store: &mut Store<T>) -> wasmtime::Result<PluginInfo> {
    let info = plugin.modelgen_generator_generator().call_info(&mut *store)?;
    Ok(PluginInfo {
        name: info.name,
        version: info.version,
        kinds: info.kinds,
        project_file: Some(PROJECT_FILE.to_owned()),
    })
}
