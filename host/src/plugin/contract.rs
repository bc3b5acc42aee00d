//! The contract between host and plugin: the WIT versions this host speaks, the check that a component speaks one, and the bindings of each.
//!
//! Versions follow semver on the WIT package: a component is compatible when
//! it has the same major version, and while that is 0, the same minor. The
//! host speaks the latest version ([`latest`], from `wit/`) and every
//! earlier one it names in [`VERSIONS`] ([`since_v0_1`], from
//! `wit/since_v0.1.0/`, as released), adapted into the latest host types, so
//! that a plugin built for an earlier version keeps working.

pub mod latest;
pub mod since_v0_1;

use wasmtime::Engine;
use wasmtime::component::Component;

/// The interface a plugin must export.
pub const INTERFACE: &str = "modelgen:generator/generator";
/// The latest contract version (the WIT package version of `wit/`).
pub const CONTRACT_VERSION: &str = "0.2.0";
/// Every contract version this host speaks, latest first.
pub const VERSIONS: [&str; 2] = [CONTRACT_VERSION, "0.1.0"];

/// The bindings of one contract version, generated from the WIT folder at
/// `$path`, with the names every version's module uses: `PluginPre` (the
/// component, ready to instantiate), `Plugin` (an instance) and `wit` (the
/// interface's types).
macro_rules! bindings {
    ($path:literal) => {
        mod bindings {
            //! Bindings generated from the contract's WIT.
            #![allow(missing_docs)]
            wasmtime::component::bindgen!({ path: $path, world: "plugin" });
        }

        pub use bindings::{Plugin, PluginPre};
        use bindings::exports::modelgen::generator::generator as wit;
    };
}

pub(crate) use bindings;

/// The calls and conversions that every contract version has in the same
/// words, over the types its own bindings generate: `generate`,
/// `describe`, `spec_schema`, the input, positions and diagnostics.
/// A version's module invokes it where its bindings are in scope (`wit`,
/// `Plugin`, `Answer`) beside its own `fn project(wit::Project) ->
/// Project`, saying with `d => EXPR` what a diagnostic `d`'s secret columns
/// are in that version.
macro_rules! shared_calls {
    ($d:ident => $secrets:expr) => {
        /// Renders `sources`.
        pub fn generate<T: 'static>(
            plugin: &Plugin,
            store: &mut Store<T>,
            sources: Vec<SourceFile>,
            context: &RenderContext,
        ) -> wasmtime::Result<Answer<Rendered>> {
            let result = call(plugin, store, sources, context, |api, store, sources, context| {
                api.call_generate(store, sources, context)
            })?;
            Ok(result
                .map(|rendered| Rendered {
                    manifests: rendered
                        .manifests
                        .into_iter()
                        .map(|m| Manifest { yaml: m.yaml, source: m.source })
                        .collect(),
                    warnings: diagnostics(rendered.warnings),
                })
                .map_err(diagnostics))
        }

        /// Describes the application in `sources`.
        pub fn describe<T: 'static>(
            plugin: &Plugin,
            store: &mut Store<T>,
            sources: Vec<SourceFile>,
            context: &RenderContext,
        ) -> wasmtime::Result<Answer<Project>> {
            let result = call(plugin, store, sources, context, |api, store, sources, context| {
                api.call_describe(store, sources, context)
            })?;
            Ok(result.map(project).map_err(diagnostics))
        }

        /// The plugin's spec JSON Schema.
        pub fn spec_schema<T: 'static>(plugin: &Plugin, store: &mut Store<T>) -> wasmtime::Result<String> {
            plugin.modelgen_generator_generator().call_spec_schema(&mut *store)
        }

        /// Makes a call on the application `sources` for `context`.
        fn call<T: 'static, R>(
            plugin: &Plugin,
            store: &mut Store<T>,
            sources: Vec<SourceFile>,
            context: &RenderContext,
            call: impl FnOnce(
                &wit::Guest,
                &mut Store<T>,
                &[wit::SourceFile],
                &wit::RenderContext,
            ) -> wasmtime::Result<R>,
        ) -> wasmtime::Result<R> {
            let sources: Vec<wit::SourceFile> =
                sources.into_iter().map(|f| wit::SourceFile { path: f.path, contents: f.contents }).collect();
            let context = wit::RenderContext {
                app_name: context.app_name.clone(),
                namespace: context.namespace.clone(),
                revision: context.revision.clone(),
                environment: context.environment.clone(),
                parameters: context.parameters.clone(),
            };
            call(plugin.modelgen_generator_generator(), store, &sources, &context)
        }

        fn position(p: wit::Position) -> (u32, u32) {
            (p.line, p.column)
        }

        fn diagnostics(list: Vec<wit::Diagnostic>) -> Vec<Diagnostic> {
            list.into_iter()
                .map(|$d| Diagnostic {
                    secrets: $secrets,
                    severity: match $d.severity {
                        wit::Severity::Error => Severity::Error,
                        wit::Severity::Warning => Severity::Warning,
                    },
                    file: $d.file,
                    position: $d.position.map(position),
                    field: $d.field,
                    message: $d.message,
                    hint: $d.hint,
                })
                .collect()
        }
    };
}

pub(crate) use shared_calls;

/// Everything a render may know about the outside world.
#[derive(Clone, Debug, Default)]
pub struct RenderContext {
    /// The application's name.
    pub app_name: String,
    /// Namespace for specs that set none.
    pub namespace: Option<String>,
    /// The source revision.
    pub revision: Option<String>,
    /// The environment to render.
    pub environment: Option<String>,
    /// Free parameters.
    pub parameters: Vec<(String, String)>,
}

/// The contract version a component speaks, among [`VERSIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// 0.2.x: the latest.
    Latest,
    /// 0.1.x: no model positions, parameters, secret columns, `edit` or `decide`.
    V0_1,
}

impl Version {
    /// The version as the WIT package names it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Latest => VERSIONS[0],
            Version::V0_1 => VERSIONS[1],
        }
    }
}

/// Why a component is not a plugin this host can run.
#[derive(Debug, thiserror::Error)]
pub enum Mismatch {
    /// It does not export the generator interface at all.
    #[error(
        "the component does not export `{INTERFACE}` (it exports {exports}); it is not a modelgen generator plugin"
    )]
    NotAGenerator {
        /// What it exports, quoted, or `nothing`.
        exports: String,
    },
    /// It exports a version of it this host does not speak.
    #[error(
        "the plugin implements `{INTERFACE}@{found}`, but this host speaks {}; use a plugin built for {}, or a \
         modelgen release that speaks {found}",
        spoken(),
        ranges()
    )]
    Version {
        /// The version the component exports.
        found: String,
    },
}

/// Checks, before anything is linked, that the component exports a version
/// of the generator interface this host speaks, and which; else says which
/// version it found and which this host speaks.
pub(crate) fn check(engine: &Engine, component: &Component) -> Result<Version, Mismatch> {
    let exports: Vec<String> = component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect();
    let Some(found) = exports.iter().find_map(|name| name.strip_prefix(INTERFACE)) else {
        return Err(Mismatch::NotAGenerator {
            exports: if exports.is_empty() {
                "nothing".to_owned()
            } else {
                exports.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
            },
        });
    };
    let version = found.strip_prefix('@').unwrap_or("(unversioned)");
    match VERSIONS.iter().position(|spoken| compatible(version, spoken)) {
        Some(0) => Ok(Version::Latest),
        Some(_) => Ok(Version::V0_1),
        None => Err(Mismatch::Version { found: version.to_owned() }),
    }
}

/// Semver compatibility: the same major version, and while it is 0, the same minor.
pub(crate) fn compatible(found: &str, needed: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parts(found), parts(needed)) {
        (Some((major, minor)), Some((needed_major, needed_minor))) => {
            major == needed_major && (major != 0 || minor == needed_minor)
        }
        _ => false,
    }
}

/// The versions this host speaks, quoted: `` `0.2.0` and `0.1.0` ``.
fn spoken() -> String {
    let quoted: Vec<String> = VERSIONS.iter().map(|v| format!("`{v}`")).collect();
    quoted.join(" and ")
}

/// The ranges of versions this host accepts: `0.2.x or 0.1.x`.
fn ranges() -> String {
    let ranges: Vec<String> = VERSIONS.iter().map(|v| compatible_range(v)).collect();
    ranges.join(" or ")
}

fn compatible_range(version: &str) -> String {
    let mut it = version.split('.');
    match (it.next(), it.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}.x"),
        (Some(major), _) => format!("{major}.x"),
        _ => version.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_versions_follow_semver() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.7", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(!compatible("(unversioned)", "0.1.0"));
        assert_eq!(compatible_range("0.1.0"), "0.1.x");
        assert_eq!(compatible_range("1.2.0"), "1.x");
    }

    #[test]
    fn a_version_the_host_does_not_speak_is_refused_naming_those_it_does() {
        let message = Mismatch::Version { found: "0.3.0".to_owned() }.to_string();
        assert_eq!(
            message,
            "the plugin implements `modelgen:generator/generator@0.3.0`, but this host speaks `0.2.0` and `0.1.0`; \
             use a plugin built for 0.2.x or 0.1.x, or a modelgen release that speaks 0.3.0"
        );
        assert_eq!(Version::Latest.as_str(), CONTRACT_VERSION);
        assert_eq!(Version::V0_1.as_str(), "0.1.0");
    }
}
