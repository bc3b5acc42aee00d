//! The latest contract (`wit/`, 0.2.x): its bindings, and the calls that convert between its types and the host's.

use wasmtime::Store;

use super::RenderContext;
use crate::diagnostic::{
    Diagnostic, FileReference, Manifest, ModelSummary, Parameter, ParameterKind, PluginInfo, PluginRef, Project,
    Rendered, Severity,
};
use crate::input::source::SourceFile;
use crate::rollout::{Change, Decision, EditAction, Edited, Gate, Observation, OnFailure, Rollout};

super::bindings!("../wit");

/// A call's answer about its input: accepted, or the plugin's diagnostics.
pub type Answer<T> = Result<T, Vec<Diagnostic>>;

super::shared_calls!(d => d.secrets);

/// A project in the host types.
fn project(project: wit::Project) -> Project {
    Project {
        environments: project.environments,
        models: project.models.into_iter().map(model_summary).collect(),
        references: project
            .references
            .into_iter()
            .map(|r| FileReference { path: r.path, referrer: r.referrer, position: r.position.map(position) })
            .collect(),
        parameters: project.parameters.into_iter().map(parameter).collect(),
        plugins: project
            .plugins
            .into_iter()
            .map(|p| PluginRef {
                path: p.path,
                sha256: p.sha256,
                settings: p.settings,
                referrer: p.referrer,
                position: p.position.map(position),
            })
            .collect(),
    }
}

/// The plugin's name, version, kinds and project file.
pub fn info<T: 'static>(plugin: &Plugin, store: &mut Store<T>) -> wasmtime::Result<PluginInfo> {
    let info = plugin.modelgen_generator_generator().call_info(&mut *store)?;
    Ok(PluginInfo { name: info.name, version: info.version, kinds: info.kinds, project_file: info.project_file })
}

/// Applies `action` to the model `model`.
pub fn edit<T: 'static>(
    plugin: &Plugin,
    store: &mut Store<T>,
    sources: Vec<SourceFile>,
    context: &RenderContext,
    model: &str,
    action: &EditAction,
) -> wasmtime::Result<Answer<Edited>> {
    let action = match action {
        EditAction::SetCanaryWeight(weight) => wit::EditAction::SetCanaryWeight(*weight),
        EditAction::Promote => wit::EditAction::Promote,
        EditAction::Rollback(keep) => wit::EditAction::Rollback(*keep),
        EditAction::Bump(bump) => wit::EditAction::Bump(wit::Bump {
            version: bump.version.clone(),
            storage_uri: bump.storage_uri.clone(),
            image: bump.image.clone(),
            canary: bump.canary,
        }),
    };
    let result = call(plugin, store, sources, context, |api, store, sources, context| {
        api.call_edit(store, sources, context, model, &action)
    })?;
    Ok(result
        .map(|edited| Edited {
            file: edited.file,
            contents: edited.contents,
            changes: edited.changes.into_iter().map(|c| Change { field: c.field, old: c.old, new: c.new }).collect(),
            message: edited.message,
        })
        .map_err(diagnostics))
}

/// The next move of `rollout`, given `observed`.
pub fn decide<T: 'static>(
    plugin: &Plugin,
    store: &mut Store<T>,
    rollout: &Rollout,
    observed: &Observation,
) -> wasmtime::Result<Decision> {
    let rollout = wit::Rollout {
        weight: rollout.weight,
        steps: rollout.steps.clone(),
        interval_ms: rollout.interval_ms,
        min_requests: rollout.min_requests,
        on_failure: match rollout.on_failure {
            OnFailure::Rollback => wit::OnFailure::Rollback,
            OnFailure::Hold => wit::OnFailure::Hold,
        },
        gates: rollout
            .gates
            .iter()
            .map(|g| wit::Gate {
                alert: g.alert.clone(),
                expr: g.expr.clone(),
                value: g.value.clone(),
                threshold: g.threshold.clone(),
            })
            .collect(),
        requests: rollout.requests.clone(),
        live: rollout.live.clone(),
        step_ms: rollout.step_ms,
    };
    let observed = wit::Observation {
        gates: observed.gates.clone(),
        canary_requests: observed.canary_requests,
        weight_live_ms: observed.weight_live_ms,
    };
    Ok(match plugin.modelgen_generator_generator().call_decide(&mut *store, &rollout, &observed)? {
        wit::Decision::Advance(weight) => Decision::Advance(weight),
        wit::Decision::Promote => Decision::Promote,
        wit::Decision::Rollback(gate) => Decision::Rollback(gate),
        wit::Decision::Hold(why) => Decision::Hold(why),
        wit::Decision::Wait(ms) => Decision::Wait(ms),
    })
}

fn model_summary(m: wit::ModelSummary) -> ModelSummary {
    ModelSummary {
        name: m.name,
        file: m.file,
        position: m.position.map(position),
        backend: m.backend,
        backend_position: m.backend_position.map(position),
        version: m.version,
        canary_version: m.canary_version,
        canary_percent: m.canary_percent,
        rollout: m.rollout.map(|r| Rollout {
            weight: r.weight,
            steps: r.steps,
            interval_ms: r.interval_ms,
            min_requests: r.min_requests,
            on_failure: match r.on_failure {
                wit::OnFailure::Rollback => OnFailure::Rollback,
                wit::OnFailure::Hold => OnFailure::Hold,
            },
            gates: r
                .gates
                .into_iter()
                .map(|g| Gate { alert: g.alert, expr: g.expr, value: g.value, threshold: g.threshold })
                .collect(),
            requests: r.requests,
            live: r.live,
            step_ms: r.step_ms,
        }),
    }
}

fn parameter(p: wit::Parameter) -> Parameter {
    Parameter {
        name: p.name,
        title: p.title,
        tooltip: p.tooltip,
        kind: match p.kind {
            wit::ParameterKind::String(default) => ParameterKind::String(default),
            wit::ParameterKind::Map(entries) => ParameterKind::Map(entries),
        },
    }
}
