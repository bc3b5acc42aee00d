//! Shared helpers of the end-to-end suites: running `modelgen`, golden files, and checking output against the CRDs.

// Each suite uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The smallest valid spec, for tests that need one to exist.
pub const TINY_SPEC: &str = "apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: tiny
spec:
  model:
    format: sklearn
    version: v1
    storageUri: s3://models/tiny/v1
";

/// The kinds the built-in plugin handles (its `info().kinds`), which pick
/// the files a render reads.
pub fn kinds() -> modelgen::input::kinds::Kinds {
    modelgen::input::kinds::Kinds::new(&["modelgen.dev/v1alpha1/ModelDeployment".to_owned()])
}

/// A Seldon Core 2 spec with a canary: four objects, two of which go away with the canary.
pub const SELDON_V2_CANARY: &str = "apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: iris
  namespace: ml
spec:
  backend: seldon-v2
  model:
    format: sklearn
    version: v1
    storageUri: s3://models/iris/v1
  canary:
    version: v2
    storageUri: s3://models/iris/v2
    trafficPercent: 10
";

/// A temporary application directory holding `files` (relative path, contents).
pub fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary app");
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }
    dir
}

/// Every file under `dir` with its bytes, by relative path.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("inside").display().to_string();
                files.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

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
            let cache = modelgen::plugin::cache::CompileCache::new(dir.path().join("cache"));
            modelgen::plugin::runtime::Runtime::builtin(Some(&cache), modelgen::plugin::runtime::Limits::default())
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
    let violations = modelgen::verify::crd::check(&documents(stream));
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

/// Which build of the hostile test plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hostile {
    /// Against the workspace's `wit/`: the misbehaving plugin.
    Current,
    /// Against a contract version no host speaks yet (`future-contract`).
    Future,
    /// A well-behaved plugin of contract 0.1.0, as released (`contract-0-1`).
    Released,
}

/// The hostile test plugin, built for `wasm32-wasip2` once per test process.
pub fn hostile_plugin(build: Hostile) -> PathBuf {
    static CURRENT: OnceLock<PathBuf> = OnceLock::new();
    static FUTURE: OnceLock<PathBuf> = OnceLock::new();
    static RELEASED: OnceLock<PathBuf> = OnceLock::new();
    let (cell, dir, feature) = match build {
        Hostile::Current => (&CURRENT, "hostile-build", None),
        Hostile::Future => (&FUTURE, "hostile-future", Some("future-contract")),
        Hostile::Released => (&RELEASED, "hostile-v0.1", Some("contract-0-1")),
    };
    cell.get_or_init(|| cargo_component("modelgen-hostile-plugin", feature.as_slice(), dir)).clone()
}

/// Builds a workspace crate for `wasm32-wasip2` into its own target folder.
pub fn cargo_component(package: &str, features: &[&str], dir: &str) -> PathBuf {
    let target_dir = workspace().join("target").join(dir);
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace()).args([
        "build",
        "--locked",
        "--quiet",
        "--package",
        package,
        "--target",
        "wasm32-wasip2",
        "--profile",
        "plugin",
        "--target-dir",
    ]);
    command.arg(&target_dir);
    for feature in features {
        command.args(["--features", feature]);
    }
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_TARGET_DIR"]
    {
        command.env_remove(var);
    }
    assert!(command.status().expect("run cargo").success(), "building `{package}` failed");
    target_dir.join("wasm32-wasip2/plugin").join(format!("{}.wasm", package.replace('-', "_")))
}

/// How a finished `modelgen` run went, measured by the kernel.
pub struct Measured {
    /// The exit code.
    pub code: Option<i32>,
    /// What it printed.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// User plus system CPU time.
    pub cpu: std::time::Duration,
    /// Peak resident memory, in bytes.
    pub max_rss: u64,
}

/// Runs `modelgen` to completion and measures its CPU time and peak memory
/// (`wait4`), so that tests bound them by measurement, not by a deadline.
pub fn measured(dir: &Path, args: &[&str]) -> Measured {
    let mut command = modelgen();
    command.current_dir(dir).args(args);
    measured_command(command)
}

/// Runs `command` (stdin as it set it) to completion and measures it as [`measured`] does.
pub fn measured_command(mut command: Command) -> Measured {
    use std::io::Read as _;
    // Reaped by `wait4` below, which also reports the child's CPU time and peak memory.
    #[allow(clippy::zombie_processes)]
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn modelgen");
    let mut stdout_pipe = child.stdout.take().expect("stdout");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let pid = i32::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills for our own child.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &raw mut status, 0, &raw mut usage), pid, "wait4");
        usage
    };
    let time = |t: libc::timeval| {
        std::time::Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + std::time::Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: text(&out_reader.join().expect("stdout reader")),
        stderr: text(&err_reader.join().expect("stderr reader")),
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        max_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    }
}

/// An outside tool installed by `tests/tools` into `target/tools/bin` (kubectl, promtool),
/// so that every run compares against the same pinned versions rather than whatever is on `PATH`.
/// A missing tool fails the test: nothing is skipped.
pub fn tool(name: &str) -> PathBuf {
    let path = workspace().join("target/tools/bin").join(name);
    assert!(
        path.exists(),
        "`{name}` is not installed: run `tests/run` (or `tests/tools` once) to install the test tools"
    );
    path
}

/// Rewrites the entry at `path` with `edit` applied to each of its
/// manifests, and a header whose length and checksum match: as only someone
/// with write access to the cache directory could.
pub fn tamper(path: &Path, edit: impl Fn(&str) -> String) {
    let bytes = std::fs::read(path).expect("read the entry");
    let newline = bytes.iter().position(|&b| b == b'\n').expect("a header line");
    let header = std::str::from_utf8(&bytes[..newline]).expect("UTF-8");
    let words: Vec<&str> = header.split(' ').collect();
    assert_eq!(words.len(), 5, "{header}");
    assert_eq!(words[..2], ["modelgen-render", "v1"]);
    let body = &bytes[newline + 1..];
    let split = body.iter().position(|&b| b == b'\n').expect("an index line");
    let mut index: Value = serde_json::from_slice(&body[..split]).expect("a JSON index");
    let mut rest = &body[split + 1..];
    let mut manifests = String::new();
    for item in index["manifests"].as_array_mut().expect("manifests") {
        let length = usize::try_from(item["bytes"].as_u64().expect("a length")).expect("fits");
        let (yaml, after) = rest.split_at(length);
        let edited = edit(std::str::from_utf8(yaml).expect("UTF-8"));
        item["bytes"] = Value::from(edited.len());
        manifests.push_str(&edited);
        rest = after;
    }
    let body = format!("{}\n{manifests}", serde_json::to_string(&index).expect("JSON"));
    let header =
        format!("{} {} {} {} {:08x}", words[0], words[1], words[2], body.len(), crc32fast::hash(body.as_bytes()));
    std::fs::write(path, format!("{header}\n{body}")).expect("rewrite the entry");
}

/// Replaces `from` with `to` in every manifest.
pub fn replace_in_manifests(from: &'static str, to: &'static str) -> impl Fn(&str) -> String {
    move |yaml| yaml.replace(from, to)
}

/// The render entries (not plugins' `info`) of the cache directory `cache`, by path.
pub fn render_entries(cache: &Path) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(cache.join("renders")) else { return Vec::new() };
    let mut entries: Vec<PathBuf> = dir
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !name.starts_with("info-") && !name.starts_with(".tmp-")
        })
        .collect();
    entries.sort();
    entries
}
