//! modelgen's generator: expands `ModelDeployment` specs into KServe serving resources.
//!
//! The logic is plain Rust, tested natively; [`guest`] (wasm32 only) exports
//! it as a WebAssembly component implementing `wit/generator.wit`.

pub mod context;
pub mod decode;
pub mod diagnostic;
pub mod fields;
pub mod generator;
pub mod manifest;
pub mod overlay;
pub mod patch;
pub mod path;
pub mod project;
pub mod render;
pub mod rules;
pub mod schema;
pub mod selector;
pub mod source;
pub mod spec;
pub mod validate;
pub mod yaml;

#[cfg(target_arch = "wasm32")]
mod guest;

pub use context::RenderContext;
pub use diagnostic::{Diagnostic, Position, Severity};
pub use generator::{Description, ModelSummary, describe, generate};
pub use manifest::{Manifest, Rendered};
pub use patch::Reference;
pub use schema::spec_schema;
pub use source::SourceFile;

/// The plugin's name, reported by `info`.
pub const NAME: &str = "modelgen-generator";
/// The plugin's version, reported by `info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The spec kinds this plugin handles, as `apiVersion/kind`.
pub fn kinds() -> Vec<String> {
    vec![format!("{}/{}", spec::API_VERSION, spec::KIND)]
}
