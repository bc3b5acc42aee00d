//! The WebAssembly side: exports the `modelgen:generator` world and converts between WIT and domain types.

// The generated canonical-ABI glue is `unsafe` by nature; nothing else here is.
#![allow(unsafe_code)]

mod bindings {
    //! Bindings generated from `wit/generator.wit`; generated code is not linted.
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    wit_bindgen::generate!({
        path: "../wit",
        world: "plugin",
    });
}

use bindings::exports::modelgen::generator::generator as wit;

/// The allocator: Talc rather than wasi-libc's dlmalloc, which was a tenth
/// of a large render (an instance lives for one call, allocating much and
/// freeing in bulk).
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The component's exports, implemented by the root API.
struct Plugin;

impl wit::Guest for Plugin {
    fn generate(
        sources: Vec<wit::SourceFile>,
        context: wit::RenderContext,
    ) -> Result<wit::Rendered, Vec<wit::Diagnostic>> {
        let (sources, context) = input(sources, context);
        let rendered = crate::generate(&sources, &context).map_err(|list| diagnostics(list, &sources))?;
        Ok(wit::Rendered {
            manifests: rendered
                .manifests
                .into_iter()
                .map(|m| wit::Manifest { yaml: m.yaml, source: m.source })
                .collect(),
            warnings: diagnostics(rendered.warnings, &sources),
        })
    }

    fn describe(
        sources: Vec<wit::SourceFile>,
        context: wit::RenderContext,
    ) -> Result<wit::Project, Vec<wit::Diagnostic>> {
        let description = call(crate::describe, sources, context)?;
        Ok(wit::Project {
            environments: description.environments,
            models: description.models.into_iter().map(model_summary).collect(),
            references: description
                .references
                .into_iter()
                .map(|r| wit::FileReference { path: r.path, referrer: r.referrer, position: r.position.map(position) })
                .collect(),
            parameters: description.parameters.into_iter().map(parameter).collect(),
            plugins: description
                .plugins
                .into_iter()
                .map(|p| wit::PluginRef {
                    path: p.path,
                    sha256: p.sha256,
                    settings: p.settings,
                    referrer: p.referrer,
                    position: p.position.map(position),
                })
                .collect(),
        })
    }

    fn edit(
        sources: Vec<wit::SourceFile>,
        context: wit::RenderContext,
        model: String,
        action: wit::EditAction,
    ) -> Result<wit::Edited, Vec<wit::Diagnostic>> {
        let request = match action {
            wit::EditAction::SetCanaryWeight(weight) => crate::EditRequest::SetCanaryWeight(percent(weight)?),
            wit::EditAction::Promote => crate::EditRequest::Promote,
            wit::EditAction::Rollback(keep) => crate::EditRequest::Rollback { keep },
            wit::EditAction::Bump(bump) => crate::EditRequest::Bump {
                version: bump.version,
                storage_uri: bump.storage_uri,
                image: bump.image,
                canary: bump.canary.map(percent).transpose()?,
            },
        };
        let (sources, context) = input(sources, context);
        let edited = crate::edit(&sources, &context, &model, &request).map_err(|list| diagnostics(list, &sources))?;
        Ok(wit::Edited {
            file: edited.file,
            contents: edited.edited.text.into_bytes(),
            changes: edited
                .edited
                .changes
                .into_iter()
                .map(|c| wit::Change { field: c.field, old: c.old, new: c.new })
                .collect(),
            message: edited.edited.message,
        })
    }

    fn decide(rollout: wit::Rollout, observed: wit::Observation) -> wit::Decision {
        let plan = crate::RolloutPlan {
            weight: rollout.weight,
            steps: rollout.steps,
            interval_ms: rollout.interval_ms,
            min_requests: rollout.min_requests,
            on_failure: match rollout.on_failure {
                wit::OnFailure::Rollback => crate::OnFailure::Rollback,
                wit::OnFailure::Hold => crate::OnFailure::Hold,
            },
            gates: rollout
                .gates
                .into_iter()
                .map(|g| crate::Gate { alert: g.alert, expr: g.expr, value: g.value, threshold: g.threshold })
                .collect(),
            requests: rollout.requests,
            live: rollout.live,
            step_ms: rollout.step_ms,
        };
        let observed = crate::Observation {
            gates: observed.gates,
            canary_requests: observed.canary_requests,
            weight_live_ms: observed.weight_live_ms,
        };
        match crate::decide(&plan, &observed) {
            crate::Decision::Advance(weight) => wit::Decision::Advance(weight),
            crate::Decision::Promote => wit::Decision::Promote,
            crate::Decision::Rollback(gate) => wit::Decision::Rollback(gate),
            crate::Decision::Hold(why) => wit::Decision::Hold(why),
            crate::Decision::Wait(ms) => wit::Decision::Wait(ms),
        }
    }

    fn spec_schema() -> String {
        crate::spec_schema()
    }

    fn info() -> wit::PluginInfo {
        wit::PluginInfo {
            name: crate::NAME.to_owned(),
            version: crate::VERSION.to_owned(),
            kinds: crate::kinds(),
            project_file: Some(crate::PROJECT_FILE.to_owned()),
        }
    }
}

/// Calls `function` of the root API with a call's arguments, its diagnostics as the contract carries them.
fn call<T>(
    function: fn(&[crate::SourceFile], &crate::RenderContext) -> Result<T, Vec<crate::Diagnostic>>,
    sources: Vec<wit::SourceFile>,
    context: wit::RenderContext,
) -> Result<T, Vec<wit::Diagnostic>> {
    let (sources, context) = input(sources, context);
    function(&sources, &context).map_err(|list| diagnostics(list, &sources))
}

/// A call's arguments as the root API takes them.
fn input(sources: Vec<wit::SourceFile>, context: wit::RenderContext) -> (Vec<crate::SourceFile>, crate::RenderContext) {
    let sources = sources.into_iter().map(|f| crate::SourceFile { path: f.path, contents: f.contents }).collect();
    let context = crate::RenderContext {
        app_name: context.app_name,
        namespace: context.namespace,
        revision: context.revision,
        environment: context.environment,
        parameters: context.parameters,
    };
    (sources, context)
}

/// A weight from the contract, which carries any `u8`.
fn percent(weight: u8) -> Result<crate::Percent, Vec<wit::Diagnostic>> {
    crate::Percent::new(u64::from(weight)).ok_or_else(|| {
        diagnostics(
            vec![crate::Diagnostic::error(format!("the weight `{weight}` is not a percent from 0 to 100"))],
            &[],
        )
    })
}

/// A model as the contract carries it.
fn model_summary(m: crate::ModelSummary) -> wit::ModelSummary {
    wit::ModelSummary {
        name: m.name,
        file: m.file,
        position: m.position.map(position),
        backend: m.backend,
        backend_position: m.backend_position.map(position),
        version: m.version,
        canary_version: m.canary_version,
        canary_percent: m.canary_percent,
        rollout: m.rollout.map(|r| wit::Rollout {
            weight: r.weight,
            steps: r.steps,
            interval_ms: r.interval_ms,
            min_requests: r.min_requests,
            on_failure: match r.on_failure {
                crate::OnFailure::Rollback => wit::OnFailure::Rollback,
                crate::OnFailure::Hold => wit::OnFailure::Hold,
            },
            gates: r
                .gates
                .into_iter()
                .map(|g| wit::Gate { alert: g.alert, expr: g.expr, value: g.value, threshold: g.threshold })
                .collect(),
            requests: r.requests,
            live: r.live,
            step_ms: r.step_ms,
        }),
    }
}

/// A render parameter as the contract carries it.
fn parameter(p: crate::Parameter) -> wit::Parameter {
    wit::Parameter {
        name: p.name,
        title: p.title,
        tooltip: p.tooltip,
        kind: match p.kind {
            crate::ParameterKind::String(default) => wit::ParameterKind::String(default),
            crate::ParameterKind::Map(entries) => wit::ParameterKind::Map(entries),
        },
    }
}

/// A position as the contract carries it.
fn position(p: crate::Position) -> wit::Position {
    wit::Position { line: p.line, column: p.column }
}

/// Diagnostics as the contract carries them, with the columns of their
/// quoted lines (in `sources`) that hold a secret.
fn diagnostics(list: Vec<crate::Diagnostic>, sources: &[crate::SourceFile]) -> Vec<wit::Diagnostic> {
    let secrets = crate::secret_columns(&list, sources);
    list.into_iter().zip(secrets).map(|(d, secrets)| diagnostic(d, secrets)).collect()
}

/// One diagnostic as the contract carries it.
fn diagnostic(d: crate::Diagnostic, secrets: Vec<(u32, u32)>) -> wit::Diagnostic {
    wit::Diagnostic {
        severity: match d.severity {
            crate::Severity::Error => wit::Severity::Error,
            crate::Severity::Warning => wit::Severity::Warning,
        },
        file: d.file,
        position: d.position.map(position),
        field: d.field,
        message: d.message,
        hint: d.hint,
        secrets,
    }
}

bindings::export!(Plugin with_types_in bindings);
