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

/// The component's exports, implemented by the root API.
struct Plugin;

impl wit::Guest for Plugin {
    fn generate(
        sources: Vec<wit::SourceFile>,
        context: wit::RenderContext,
    ) -> Result<wit::Rendered, Vec<wit::Diagnostic>> {
        let rendered = call(crate::generate, sources, context)?;
        Ok(wit::Rendered {
            manifests: rendered
                .manifests
                .into_iter()
                .map(|m| wit::Manifest { yaml: m.yaml, source: m.source })
                .collect(),
            warnings: diagnostics(rendered.warnings),
        })
    }

    fn describe(
        sources: Vec<wit::SourceFile>,
        context: wit::RenderContext,
    ) -> Result<wit::Project, Vec<wit::Diagnostic>> {
        let description = call(crate::describe, sources, context)?;
        Ok(wit::Project {
            environments: description.environments,
            models: description
                .models
                .into_iter()
                .map(|m| wit::ModelSummary {
                    name: m.name,
                    file: m.file,
                    backend: m.backend,
                    canary_percent: m.canary_percent,
                })
                .collect(),
            references: description
                .references
                .into_iter()
                .map(|r| wit::FileReference { path: r.path, referrer: r.referrer, position: r.position.map(position) })
                .collect(),
        })
    }

    fn spec_schema() -> String {
        crate::spec_schema()
    }

    fn info() -> wit::PluginInfo {
        wit::PluginInfo { name: crate::NAME.to_owned(), version: crate::VERSION.to_owned(), kinds: crate::kinds() }
    }
}

/// Calls `function` of the root API with a call's arguments, its diagnostics as the contract carries them.
fn call<T>(
    function: fn(&[crate::SourceFile], &crate::RenderContext) -> Result<T, Vec<crate::Diagnostic>>,
    sources: Vec<wit::SourceFile>,
    context: wit::RenderContext,
) -> Result<T, Vec<wit::Diagnostic>> {
    let (sources, context) = input(sources, context);
    function(&sources, &context).map_err(diagnostics)
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

/// A position as the contract carries it.
fn position(p: crate::Position) -> wit::Position {
    wit::Position { line: p.line, column: p.column }
}

/// Diagnostics as the contract carries them.
fn diagnostics(list: Vec<crate::Diagnostic>) -> Vec<wit::Diagnostic> {
    list.into_iter().map(diagnostic).collect()
}

/// One diagnostic as the contract carries it.
fn diagnostic(d: crate::Diagnostic) -> wit::Diagnostic {
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
    }
}

bindings::export!(Plugin with_types_in bindings);
