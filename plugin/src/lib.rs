//! modelgen's generator: expands `ModelDeployment` specs into KServe serving resources.
//!
//! The logic is plain Rust, tested natively; [`guest`] (wasm32 only) exports
//! it as a WebAssembly component implementing `wit/generator.wit`.

pub mod assemble;
pub mod context;
pub mod diagnostic;
pub mod generator;
pub mod manifest;
pub mod model;
pub mod patch;
pub mod render;
pub mod rules;
pub mod source;
pub mod yaml;

#[cfg(target_arch = "wasm32")]
mod guest;

pub use context::RenderContext;
pub use diagnostic::{Diagnostic, Position, Severity};
pub use generator::{Description, ModelSummary, describe, generate};
pub use manifest::{Manifest, Rendered};
pub use model::schema::spec_schema;
pub use patch::Reference;
pub use source::SourceFile;

/// The plugin's name, reported by `info`.
pub const NAME: &str = "modelgen-generator";
/// The plugin's version, reported by `info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The spec kinds this plugin handles, as `apiVersion/kind`.
pub fn kinds() -> Vec<String> {
    vec![format!("{}/{}", model::spec::API_VERSION, model::spec::KIND)]
}
