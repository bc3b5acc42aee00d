//! Builds the default generator plugin for `wasm32-wasip2` and embeds it into the binary.
//!
//! `cargo build`, `cargo run` and `cargo install` then need no extra step. The
//! plugin is built by a nested cargo into its own target directory, because
//! the outer cargo holds the lock on the workspace's. Packagers who build the
//! component separately set `MODELGEN_PLUGIN_WASM` to its path instead.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

#[path = "src/verify/crd/structural.rs"]
mod structural;

#[path = "src/verify/crd/table.rs"]
mod table;

#[path = "src/plugin/engine.rs"]
mod engine;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    println!("cargo:rerun-if-env-changed=MODELGEN_PLUGIN_WASM");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wasm = match env::var_os("MODELGEN_PLUGIN_WASM") {
        Some(path) => PathBuf::from(path),
        None => build_plugin(),
    };
    println!("cargo:rerun-if-changed={}", wasm.display());
    let bytes =
        std::fs::read(&wasm).unwrap_or_else(|e| panic!("cannot read the plugin component `{}`: {e}", wasm.display()));
    std::fs::write(out.join("plugin.wasm"), &bytes).expect("write plugin.wasm into OUT_DIR");
    std::fs::write(out.join("plugin.wasm.sha256"), engine::hex(&Sha256::digest(&bytes)))
        .expect("write plugin.wasm.sha256");
    precompile(&out, &bytes);
    bundle_crds(&out);
}

/// Compiles the plugin with the runtime's engine settings, so that a
/// binary's first render loads machine code instead of compiling (the
/// runtime falls back to compiling when its engine is not compatible).
fn precompile(out: &Path, wasm: &[u8]) {
    let engine = wasmtime::Engine::new(&engine::config()).expect("create the wasm engine");
    let compiled = engine.precompile_component(wasm).expect("precompile the plugin component");
    std::fs::write(out.join("plugin.cwasm"), compiled).expect("write plugin.cwasm");
    std::fs::write(out.join("plugin.cwasm.key"), engine::compatibility_key(&engine)).expect("write plugin.cwasm.key");
}

/// Converts every vendored CRD into JSON Schemas, one file per served
/// version, and writes `crd_bundle.rs`, the table `src/verify/crd.rs` embeds, and
/// `crd_table.rs`, the same schemas as the checker's nodes.
fn bundle_crds(out: &Path) {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest_dir.join("crds");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("host/crds exists")
        .flatten()
        .filter(|group| group.path().is_dir())
        .flat_map(|group| std::fs::read_dir(group.path()).expect("readable").flatten().map(|f| f.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut digest = Sha256::new();
    let mut bundle = String::from(
        "/// `(apiVersion, kind, JSON Schema)` of every served CRD version.\npub const SCHEMAS: &[(&str, &str, &str)] = &[\n",
    );
    let mut nodes = table::Builder::default();
    let mut kinds = String::from(
        "/// `(apiVersion, kind, root node)` of every served CRD version.\npub static KINDS: &[(&str, &str, u32)] = &[\n",
    );
    for (i, file) in files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
            let crd: serde_json::Value =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
            structural::served_schemas(&crd)
        })
        .enumerate()
    {
        let (api_version, kind, schema) = file;
        let json = serde_json::to_string(&schema).expect("schemas serialize");
        digest.update(api_version.as_bytes());
        digest.update(kind.as_bytes());
        digest.update(json.as_bytes());
        let name = format!("crd-{i}.json");
        std::fs::write(out.join(&name), json).expect("write schema");
        let _ =
            writeln!(bundle, "    ({api_version:?}, {kind:?}, include_str!(concat!(env!(\"OUT_DIR\"), \"/{name}\"))),");
        let root = nodes.add(&schema).unwrap_or_else(|e| panic!("the schema of `{api_version}` `{kind}`: {e}"));
        let _ = writeln!(kinds, "    ({api_version:?}, {kind:?}, {root}),");
    }
    kinds.push_str("];\n");
    let source = nodes.source() + &kinds;
    // The verdict cache trusts a verdict only for the same schemas and the
    // same checker: its code is part of the fingerprint.
    digest.update(source.as_bytes());
    let checker = manifest_dir.join("src/verify/crd/node.rs");
    println!("cargo:rerun-if-changed={}", checker.display());
    digest.update(std::fs::read(&checker).expect("read src/verify/crd/node.rs"));
    let hex = engine::hex(&digest.finalize());
    let _ =
        writeln!(bundle, "];\n/// SHA-256 of the schemas above and of the checker.\npub const DIGEST: &str = {hex:?};");
    std::fs::write(out.join("crd_bundle.rs"), bundle).expect("write crd_bundle.rs");
    std::fs::write(out.join("crd_table.rs"), source).expect("write crd_table.rs");
}

fn build_plugin() -> PathBuf {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("host/ sits in the workspace").to_path_buf();
    for watched in ["plugin/src", "plugin/Cargo.toml", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    check_target_installed();

    let target_dir =
        env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from).join("plugin-build");
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--locked",
            "--package",
            "modelgen-plugin",
            "--lib",
            "--target",
            TARGET,
            "--profile",
            "plugin",
            "--target-dir",
        ])
        .arg(&target_dir);
    // Flags and wrappers meant for the host build (clippy's driver,
    // coverage or sanitizer flags) must not leak into the wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        command.env_remove(var);
    }
    // Keep machine-specific paths out of the component, so that the same
    // sources give the same bytes (and the same compilation-cache key).
    if let Some(home) =
        env::var_os("CARGO_HOME").or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo").into_os_string()))
    {
        let flags = format!(
            "--remap-path-prefix={}=/cargo\x1f--remap-path-prefix={}=/modelgen",
            Path::new(&home).display(),
            workspace.display()
        );
        command.env("CARGO_ENCODED_RUSTFLAGS", flags);
    }
    let status = command.status().expect("run cargo to build the plugin component");
    assert!(status.success(), "building the generator plugin for {TARGET} failed (see the errors above)");
    target_dir.join(TARGET).join("plugin").join("modelgen_plugin.wasm")
}

/// A missing target is the one failure a newcomer will hit; name the fix.
fn check_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "target-libdir", "--target", TARGET]).output() else {
        return;
    };
    let libdir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    assert!(
        output.status.success() && libdir.exists(),
        "\n\nthe Rust target `{TARGET}` is not installed; the generator plugin is built for it.\nrun: rustup target add {TARGET}\n\n"
    );
}
