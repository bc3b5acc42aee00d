//! The contract between host and plugin: the WIT interface and version this host speaks, and the check that a component speaks it too.
//!
//! Versions follow semver on the WIT package: a plugin is compatible when it
//! has the same major version, and while that is 0, the same minor.

use wasmtime::Engine;
use wasmtime::component::Component;

/// The interface a plugin must export.
pub const INTERFACE: &str = "modelgen:generator/generator";
/// The contract version (the WIT package version) this host was built against.
pub const CONTRACT_VERSION: &str = "0.2.0";

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
    /// It exports an incompatible version of it.
    #[error(
        "the plugin implements `{INTERFACE}@{found}`, but this host speaks `{needed}`; use a plugin built for {}, or a \
         modelgen release that speaks {found}",
        compatible_range(needed)
    )]
    Version {
        /// The version the component exports.
        found: String,
        /// The version this host speaks.
        needed: &'static str,
    },
}

/// Checks, before anything is linked, that the component exports a
/// compatible version of the generator interface, and says which version it
/// found and which this host needs.
pub(crate) fn check(engine: &Engine, component: &Component) -> Result<(), Mismatch> {
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
    if !compatible(version, CONTRACT_VERSION) {
        return Err(Mismatch::Version { found: version.to_owned(), needed: CONTRACT_VERSION });
    }
    Ok(())
}

/// Semver compatibility: the same major version, and while it is 0, the same minor.
fn compatible(found: &str, needed: &str) -> bool {
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
}
