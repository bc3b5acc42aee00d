//! Shared helpers of the end-to-end suites: running `modelgen`, golden files, and checking output against the CRDs.

// Each suite uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ is in the workspace").to_path_buf()
}

/// A compile cache shared by every run in this test process, warmed once,
/// so that only the first render pays for compiling the component.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temporary cache directory");
            let cache = modelgen::cache::CompileCache::new(dir.path().join("cache"));
            modelgen::runtime::Runtime::new(modelgen::runtime::EMBEDDED_PLUGIN, Some(&cache))
                .expect("the built-in plugin loads");
            dir
        })
        .path()
}

/// `modelgen` with the shared cache and a clean environment.
pub fn modelgen() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelgen"));
    command.env("MODELGEN_CACHE_DIR", shared_cache().join("cache")).env_remove("MODELGEN_PLUGIN");
    command
}

/// Runs `modelgen` with `args` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    modelgen().current_dir(dir).args(args).output().expect("run modelgen")
}

/// Text of a process stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Compares `actual` with the golden file at `path`; with `BLESS=1`, rewrites it.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual);
        panic!(
            "{} is out of date (rerun with BLESS=1 to accept):\n{}",
            path.display(),
            diff.unified_diff().context_radius(3).header("expected", "actual")
        );
    }
}

/// Splits a YAML stream into documents as JSON values.
pub fn documents(stream: &str) -> Vec<Value> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_multiple_with_options::<Value, Vec<Value>>(stream, options)
        .expect("the output is valid YAML")
}

/// Panics with every way any document of `stream` breaks its CRD schema
/// (the host's own check, which `modelgen render` also applies).
pub fn assert_valid_against_crds(stream: &str, context: &str) {
    let violations = modelgen::crd::check(&documents(stream));
    let lines: Vec<String> = violations.iter().map(|v| format!("{}: {}: {}", v.object, v.path, v.message)).collect();
    assert!(lines.is_empty(), "{context}: rendered objects break their CRD schemas:\n{}", lines.join("\n"));
}

/// The directories under `dir`, sorted.
pub fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("readable").flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}
