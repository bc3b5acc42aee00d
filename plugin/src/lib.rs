//! modelgen's generator: expands `ModelDeployment` specs into KServe, Seldon Core and Seldon Core 2 resources, routes and monitoring.
//!
//! The logic is plain Rust, tested natively; `guest` (wasm32 only) exports it
//! as a WebAssembly component implementing `wit/generator.wit`, and is the
//! only file that knows WIT. This file is the API the guest and the
//! host-side tests use; every module behind it is private to the crate, so
//! that rustc reports what nothing uses.
//!
//! The pipeline, in module order: [`generate`] (in `generator`) has
//! `assemble` parse the files (`yaml`), decode them into the spec and
//! project types (`model`), merge each spec's layers and check it against
//! the `rules`; then `render` turns each spec into objects, `patch` applies
//! the environment's patches, and `yaml` emits them.
//!
//! Beside the pipeline, [`edit_spec`] (in `edit`) changes one spec file in
//! place for the host's canary and bump commands, touching only the lines
//! that carry the change.

// Every item carries a doc comment, private ones too (`missing_docs` only
// sees the public API, which is small). Test builds are exempt.
#![cfg_attr(not(test), warn(clippy::missing_docs_in_private_items))]

pub(crate) mod assemble;
pub(crate) mod context;
pub(crate) mod decision;
pub(crate) mod diagnostic;
pub(crate) mod edit;
pub(crate) mod generator;
pub(crate) mod manifest;
pub(crate) mod model;
pub(crate) mod patch;
pub(crate) mod render;
pub(crate) mod rules;
pub(crate) mod source;
pub(crate) mod yaml;

#[cfg(target_arch = "wasm32")]
mod guest;

pub use assemble::parameters::{Parameter, ParameterKind};
pub use context::RenderContext;
pub use decision::{Decision, Gate, Observation, OnFailure, RolloutPlan, decide};
pub use diagnostic::{Diagnostic, Position, Severity};
pub use edit::{Change, EditError, EditRequest, Edited, EditedFile, edit, edit_spec};
pub use generator::{Description, ModelSummary, describe, generate};
pub use manifest::{Manifest, Rendered};
pub use model::percent::Percent;
pub use model::project::{PluginRef, Reference};
pub use model::schema::spec_schema;
/// The columns of each diagnostic's quoted line that hold a secret, for the guest to pass on.
pub use rules::secret::secret_columns;
pub use source::SourceFile;

/// KServe's stock serving runtimes as the plugin models them; a host-side
/// test checks the table against the vendored upstream files.
pub use rules::backend::kserve::{
    RUNTIMES as KSERVE_RUNTIMES, Runtime as KserveRuntime, SupportedFormat as KserveFormat,
};
/// The backend rules table as `docs/backend-requirements.md` prints it; a
/// host-side test keeps the two identical.
pub use rules::backend::markdown as backend_rules_markdown;

/// The plugin's name, reported by `info`.
pub const NAME: &str = "modelgen-generator";
/// The plugin's version, reported by `info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The project file at the application root, reported by `info`.
pub const PROJECT_FILE: &str = model::project::FILE;

/// The spec kinds this plugin handles, as `apiVersion/kind`.
pub fn kinds() -> Vec<String> {
    vec![format!("{}/{}", model::spec::API_VERSION, model::spec::KIND)]
}
