//! Policy plugins (`modelgen:policy`) chained after the generator: the Rust, Python and JavaScript examples built from source and run through the real binary, the chain's order per environment, and hostile plugins.
//!
//! Time and memory of the hostile cases are bounded by measurement (the
//! child's CPU time and peak RSS from the kernel), not by deadlines.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use support::{cargo_component, measured, workspace};

/// Generous bounds: far above a normal render, far below an unbounded run.
const MAX_CPU: Duration = Duration::from_mins(1);
const MAX_RSS: u64 = 1024 * 1024 * 1024;

/// A model with a GPU, its storage in a bucket and a team label: what the
/// policies below judge.
const SPEC: &str = "apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: cat-classifier
  namespace: vision
  labels:
    team: vision
spec:
  backend: kserve
  deploymentMode: Standard
  model:
    format: onnx
    version: v4.1.0
    storageUri: gs://acme-models/cat-classifier/v4.1.0
    runtime: kserve-tritonserver
    protocol: v2
  resources:
    cpu: \"2\"
    memory: 8Gi
    gpu: 1
";

/// The line (1-based) and column of `metadata.name`'s value in [`SPEC`].
const NAME_AT: &str = "line=4,col=9";

/// The Rust policy pack, `examples/plugins/rust`, built from source.
fn rust_pack() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| cargo_component("modelgen-policy-pack", &[], "policy-build")).clone()
}

/// The hostile policy plugin, `tests/hostile-policy`.
fn hostile() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| cargo_component("modelgen-hostile-policy", &[], "policy-build")).clone()
}

/// The hostile policy plugin with a TCP connection: it imports `wasi:sockets`.
fn hostile_with_sockets() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| cargo_component("modelgen-hostile-policy", &["sockets"], "policy-sockets")).clone()
}

/// The hostile policy plugin of a contract version no host speaks.
fn hostile_future() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| cargo_component("modelgen-hostile-policy", &["future-contract"], "policy-future")).clone()
}

/// An example built by its own `build.sh` with the tool `tests/tools` pinned.
fn scripted(example: &str, tool: &str) -> PathBuf {
    let out = workspace().join("target/policy-build").join(format!("{example}.wasm"));
    std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
    let script = workspace().join("examples/plugins").join(example).join("build.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .arg(support::tool(tool))
        .status()
        .expect("run the example's build script");
    assert!(status.success(), "building the {example} example with `{tool}` failed");
    out
}

/// The Python example, built with componentize-py.
fn python_policy() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| scripted("python", "componentize-py")).clone()
}

/// The JavaScript example, built with componentize-js.
fn js_transformer() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| scripted("js", "componentize-js")).clone()
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read the plugin");
    Sha256::digest(&bytes).iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// One entry of a `plugins:` list: the component copied into the
/// application at `path`, its digest, and `settings` (a YAML flow mapping).
struct Entry<'a> {
    wasm: PathBuf,
    path: &'a str,
    settings: &'a str,
}

impl Entry<'_> {
    fn yaml(&self, indent: &str) -> String {
        format!(
            "{indent}- path: {}\n{indent}  sha256: \"{}\"\n{indent}  settings: {}\n",
            self.path,
            sha256(&self.wasm),
            self.settings
        )
    }
}

/// An application with [`SPEC`], its plugins copied in, and a project file
/// with `project` plugins and per environment `environments` plugins.
fn application(project: &[Entry<'_>], environments: &[(&str, &[Entry<'_>])]) -> tempfile::TempDir {
    let dir = support::app(&[("cat-classifier.yaml", SPEC)]);
    let mut text = "apiVersion: modelgen.dev/v1alpha1\nkind: Project\n".to_owned();
    let copy = |entry: &Entry<'_>| {
        let to = dir.path().join(entry.path);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry.wasm, to).expect("copy the plugin");
    };
    if !project.is_empty() {
        text.push_str("plugins:\n");
        for entry in project {
            copy(entry);
            text.push_str(&entry.yaml("  "));
        }
    }
    if !environments.is_empty() {
        text.push_str("environments:\n");
        for (name, entries) in environments {
            let _ = writeln!(text, "  {name}:{}", if entries.is_empty() { " {}" } else { "" });
            if !entries.is_empty() {
                text.push_str("    plugins:\n");
            }
            for entry in *entries {
                copy(entry);
                text.push_str(&entry.yaml("      "));
            }
        }
    }
    std::fs::write(dir.path().join("modelgen.yaml"), text).expect("write the project file");
    dir
}

fn assert_bounded(run: &support::Measured) {
    assert!(run.cpu < MAX_CPU && run.max_rss < MAX_RSS, "used {:?} CPU and {} bytes", run.cpu, run.max_rss);
}

/// A render that failed with `code`, printed nothing, and said `needle`.
fn assert_refused(run: &support::Measured, code: i32, needle: &str) {
    assert_eq!(run.code, Some(code), "stderr:\n{}", run.stderr);
    assert!(run.stdout.is_empty(), "a refused render printed:\n{}", run.stdout);
    assert!(run.stderr.contains(needle), "expected `{needle}` in:\n{}", run.stderr);
    assert_bounded(run);
}

/// What the same application renders to without any plugin.
fn render_without_plugins() -> String {
    let dir = support::app(&[("cat-classifier.yaml", SPEC)]);
    let run = measured(dir.path(), &["render", "."]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.stdout
}

#[test]
fn the_rust_policy_pack_blocks_a_render_at_the_specs_line() {
    let strict = "{requiredLabels: [cost-center], allowedStoragePrefixes: [\"s3://acme/\"], gpuLimits: {vision: 0}}";
    let dir = application(&[Entry { wasm: rust_pack(), path: "policies/pack.wasm", settings: strict }], &[]);
    let run = measured(dir.path(), &["render", "."]);
    assert_refused(
        &run,
        1,
        "cat-classifier.yaml:4:9: error: policies/pack.wasm: InferenceService `cat-classifier`: the label `cost-center` is missing",
    );
    assert!(
        run.stderr
            .contains("the storage URI `gs://acme-models/cat-classifier/v4.1.0` is outside the allowed locations")
    );
    assert!(run.stderr.contains("it asks for 1 GPUs, more than the 0 allowed per object in the namespace `vision`"));
    // In a pull request's checks, each error is an annotation at the spec's line.
    let run = measured(dir.path(), &["validate", ".", "--format", "github"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let annotations: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(annotations.len(), 3, "{}", run.stdout);
    for annotation in &annotations {
        assert!(annotation.starts_with(&format!("::error file=cat-classifier.yaml,{NAME_AT},")), "{annotation}");
    }
    assert!(annotations[1].contains("title=spec.predictor.model.storageUri::"), "{}", annotations[1]);
}

#[test]
fn a_policy_that_passes_leaves_the_render_as_it_was() {
    let lenient = "{requiredLabels: [team], allowedStoragePrefixes: [\"gs://acme-models/\"], gpuLimits: {vision: 1}}";
    let dir = application(&[Entry { wasm: rust_pack(), path: "policies/pack.wasm", settings: lenient }], &[]);
    let run = measured(dir.path(), &["render", "."]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, render_without_plugins());
    // The render is kept and replayed (an entry tampered with shows it); a
    // plugin changed since is read again, and refused as without the store.
    let cache = tempfile::tempdir().expect("cache directory");
    let render = || {
        let mut command = support::modelgen();
        command.env("MODELGEN_CACHE_DIR", cache.path()).current_dir(dir.path()).args(["render", "."]);
        support::measured_command(command)
    };
    assert_eq!(render().stdout, run.stdout);
    assert!(run.stdout.contains("team: vision"), "the label the entry is tampered with");
    let entries = support::render_entries(cache.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    support::tamper(&entries[0], support::replace_in_manifests("team: vision", "team: tampered"));
    assert_eq!(render().stdout, run.stdout.replace("team: vision", "team: tampered"), "replayed");
    let plugin = dir.path().join("policies/pack.wasm");
    let mut bytes = std::fs::read(&plugin).expect("read the plugin");
    bytes.extend_from_slice(b"\0");
    std::fs::write(&plugin, bytes).expect("change the plugin");
    assert_refused(&render(), 1, "the policy plugin `policies/pack.wasm` has the SHA-256");
}

#[test]
fn bad_settings_are_an_error_at_the_plugins_entry() {
    let dir =
        application(&[Entry { wasm: rust_pack(), path: "policies/pack.wasm", settings: "{requiredLabel: [x]}" }], &[]);
    let run = measured(dir.path(), &["render", "."]);
    assert_refused(&run, 1, "modelgen.yaml:4:11: error: policies/pack.wasm: the policy pack's settings are wrong");
}

#[test]
fn the_python_policy_built_with_componentize_py_runs() {
    let deny_gs = Entry { wasm: python_policy(), path: "policies/python.wasm", settings: "{forbiddenSchemes: [gs]}" };
    let dir = application(&[deny_gs], &[]);
    let run = measured(dir.path(), &["validate", ".", "--format", "github"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("::error file=cat-classifier.yaml,{NAME_AT},title=storageUri::policies/python.wasm: InferenceService `cat-classifier`: the model URI `gs://acme-models/cat-classifier/v4.1.0` uses the forbidden scheme `gs`")),
        "{}",
        run.stdout
    );
    // Its default forbids `http` only: this model passes.
    let dir = application(&[Entry { wasm: python_policy(), path: "policies/python.wasm", settings: "{}" }], &[]);
    let run = measured(dir.path(), &["render", "."]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, render_without_plugins());
}

#[test]
fn the_javascript_transformer_built_with_componentize_js_changes_every_object() {
    let owner = Entry { wasm: js_transformer(), path: "policies/owner.wasm", settings: "{team: ml-platform}" };
    // The pack runs after it, and sees its output: an annotation is no label, so it passes.
    let pack = Entry { wasm: rust_pack(), path: "policies/pack.wasm", settings: "{requiredLabels: [team]}" };
    let dir = application(&[owner, pack], &[]);
    let run = measured(dir.path(), &["render", "."]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let objects = support::documents(&run.stdout);
    assert!(!objects.is_empty());
    for object in &objects {
        assert_eq!(object["metadata"]["annotations"]["example.com/owner"], "ml-platform", "{object}");
    }
    // Everything else is as the generator rendered it, and checked against the CRDs.
    let plain = support::documents(&render_without_plugins());
    assert_eq!(objects.len(), plain.len());
    for (mut changed, plain) in objects.into_iter().zip(plain) {
        changed["metadata"]["annotations"].as_object_mut().expect("annotations").remove("example.com/owner");
        assert_eq!(changed, plain);
    }
    support::assert_valid_against_crds(&run.stdout, "the transformed render");
    // Without its setting, it refuses at its entry in the project file.
    let owner = Entry { wasm: js_transformer(), path: "policies/owner.wasm", settings: "{}" };
    let run = measured(application(&[owner], &[]).path(), &["render", "."]);
    assert_refused(&run, 1, "policies/owner.wasm: the owner transformer needs `settings.team`");
}

#[test]
fn the_chain_runs_in_order_the_projects_plugins_then_the_environments() {
    let tag = |n: &'static str, path: &'static str| Entry {
        wasm: hostile(),
        path,
        settings: match n {
            "1" => "{mode: tag-1}",
            "2" => "{mode: tag-2}",
            _ => "{mode: tag-3}",
        },
    };
    let dir = application(
        &[tag("1", "policies/one.wasm"), tag("2", "policies/two.wasm")],
        &[("prod", &[tag("3", "policies/three.wasm")]), ("dev", &[])],
    );
    let annotations = |env: Option<&str>| {
        let mut args = vec!["render", "."];
        if let Some(env) = env {
            args.extend(["--env", env]);
        }
        let run = measured(dir.path(), &args);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let objects = support::documents(&run.stdout);
        objects[0]["metadata"]["annotations"].clone()
    };
    let none = annotations(None);
    assert_eq!(none["modelgen.dev/chain-1"], "after [] in []");
    assert_eq!(none["modelgen.dev/chain-2"], "after [1] in []");
    assert!(none.get("modelgen.dev/chain-3").is_none(), "{none}");
    let prod = annotations(Some("prod"));
    assert_eq!(prod["modelgen.dev/chain-1"], "after [] in [prod]");
    assert_eq!(prod["modelgen.dev/chain-2"], "after [1] in [prod]");
    assert_eq!(prod["modelgen.dev/chain-3"], "after [2 1] in [prod]");
    let dev = annotations(Some("dev"));
    assert!(dev.get("modelgen.dev/chain-3").is_none(), "{dev}");
}

#[test]
fn errors_block_and_warnings_do_not() {
    let deny = Entry { wasm: hostile(), path: "policies/deny.wasm", settings: "{mode: deny}" };
    let run = measured(application(&[deny], &[]).path(), &["render", "."]);
    assert_refused(
        &run,
        1,
        "cat-classifier.yaml:4:9: error: policies/deny.wasm: InferenceService `cat-classifier`: the label `cost-center` is missing",
    );
    assert!(run.stderr.contains("modelgen.yaml:4:11: error: policies/deny.wasm: a problem about no object"));
    // A plugin that looks for the host's files finds none, and its warning leaves the render standing.
    let snoop = Entry { wasm: hostile(), path: "policies/snoop.wasm", settings: "{mode: read-files}" };
    let run = measured(application(&[snoop], &[]).path(), &["render", "."]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, render_without_plugins());
    assert!(run.stderr.contains("warning: policies/snoop.wasm: passwd: denied"), "{}", run.stderr);
    assert!(run.stderr.contains("dir: denied") && run.stderr.contains("env vars: 0"), "{}", run.stderr);
    assert!(!run.stderr.contains("root:"), "{}", run.stderr);
}

/// A render with the hostile policy plugin in `mode`.
fn hostile_render(mode: &str, extra: &[&str]) -> support::Measured {
    let settings = format!("{{mode: {mode}}}");
    let dir = application(&[Entry { wasm: hostile(), path: "policies/hostile.wasm", settings: &settings }], &[]);
    let mut args = vec!["render", "."];
    args.extend_from_slice(extra);
    measured(dir.path(), &args)
}

const FAILED: &str = "error: the policy plugin `policies/hostile.wasm` failed: ";

#[test]
fn a_looping_policy_hits_the_time_limit() {
    let run = hostile_render("loop", &["--timeout", "0.5"]);
    assert_refused(
        &run,
        3,
        &format!("{FAILED}the plugin ran longer than its time limit of 0.5 s (raise it with `--timeout`)"),
    );
}

#[test]
fn a_memory_hog_policy_hits_the_memory_limit() {
    let run = hostile_render("hog", &["--max-memory", "64"]);
    assert_refused(&run, 3, &format!("{FAILED}the plugin tried to use more than its memory limit of 64 MiB"));
    assert!(run.max_rss < 256 * 1024 * 1024, "the host itself grew to {} bytes", run.max_rss);
}

#[test]
fn a_trapping_policy_is_an_internal_error_naming_it() {
    assert_refused(&hostile_render("trap", &[]), 3, &format!("{FAILED}the plugin crashed"));
}

#[test]
fn broken_transformer_output_is_refused_naming_the_plugin() {
    let broke = |mode: &str, needle: &str| {
        assert_refused(&hostile_render(mode, &[]), 3, &format!("{FAILED}the plugin broke the contract: {needle}"));
    };
    broke("not-yaml", "object 0 is not valid YAML");
    broke("no-kind", "object 0 has no `kind`");
    broke("collide", "objects 0 and ");
    broke("bad-index", "a finding is about object 9999");
}

#[test]
fn a_policy_that_imports_sockets_is_refused_before_it_runs() {
    let entry = Entry { wasm: hostile_with_sockets(), path: "policies/hostile.wasm", settings: "{mode: connect}" };
    let run = measured(application(&[entry], &[]).path(), &["render", "."]);
    assert_refused(&run, 3, "the plugin imports something the host does not provide");
    assert!(run.stderr.contains("policies/hostile.wasm"), "{}", run.stderr);
}

#[test]
fn components_of_another_contract_or_version_are_refused() {
    let entry = Entry { wasm: hostile_future(), path: "policies/hostile.wasm", settings: "{}" };
    let run = measured(application(&[entry], &[]).path(), &["render", "."]);
    assert_refused(&run, 3, "the plugin implements `modelgen:policy/policy@0.2.0`, but this host speaks `0.1.0`");
    // A generator is no policy.
    let scratch = tempfile::tempdir().expect("scratch");
    let generator = scratch.path().join("generator.wasm");
    std::fs::write(&generator, modelgen::plugin::runtime::EMBEDDED_PLUGIN).expect("write");
    let entry = Entry { wasm: generator, path: "policies/generator.wasm", settings: "{}" };
    let run = measured(application(&[entry], &[]).path(), &["render", "."]);
    assert_refused(&run, 3, "the component does not export `modelgen:policy/policy`");
    assert!(run.stderr.contains("`modelgen:generator/generator@0.2.0`"), "{}", run.stderr);
}

/// A project file naming one plugin at `path` with `sha256`.
fn project(path: &str, sha256: &str) -> String {
    format!("apiVersion: modelgen.dev/v1alpha1\nkind: Project\nplugins:\n  - path: {path}\n    sha256: \"{sha256}\"\n")
}

#[test]
fn a_digest_mismatch_is_refused_before_the_plugin_is_loaded() {
    let dir = support::app(&[("cat-classifier.yaml", SPEC)]);
    std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
    std::fs::copy(hostile(), dir.path().join("policies/p.wasm")).expect("copy");
    std::fs::write(dir.path().join("modelgen.yaml"), project("policies/p.wasm", &"0".repeat(64))).expect("write");
    let run = measured(dir.path(), &["render", "."]);
    assert_refused(
        &run,
        1,
        &format!(
            "modelgen.yaml:4:11: error: the policy plugin `policies/p.wasm` has the SHA-256 `{}`, not the `{}` the project file requires",
            sha256(&hostile()),
            "0".repeat(64)
        ),
    );
}

#[test]
fn plugin_files_are_read_like_patch_files() {
    let digest = sha256(&hostile());
    let refused = |setup: &dyn Fn(&Path), path: &str, needle: &str| {
        let dir = support::app(&[("cat-classifier.yaml", SPEC)]);
        setup(dir.path());
        std::fs::write(dir.path().join("modelgen.yaml"), project(path, &digest)).expect("write");
        let run = measured(dir.path(), &["render", "."]);
        assert_refused(&run, 1, needle);
        assert!(run.stderr.contains("modelgen.yaml:4:11"), "{}", run.stderr);
    };
    refused(&|_| {}, "policies/missing.wasm", "the policy plugin `policies/missing.wasm` does not exist");
    refused(&|_| {}, "../outside.wasm", "the plugin file `../outside.wasm` is outside the application directory");
    refused(&|_| {}, "/etc/passwd", "the plugin file `/etc/passwd` is not a relative path");
    let outside = tempfile::tempdir().expect("outside");
    std::fs::copy(hostile(), outside.path().join("p.wasm")).expect("copy");
    let link = |root: &Path| {
        std::os::unix::fs::symlink(outside.path().join("p.wasm"), root.join("p.wasm")).expect("symlink");
    };
    refused(&link, "p.wasm", "leads outside the application directory");
    let through = |root: &Path| std::os::unix::fs::symlink(outside.path(), root.join("policies")).expect("symlink");
    refused(&through, "policies/p.wasm", "leads outside the application directory or through a symlink");
    let hidden = |root: &Path| {
        std::fs::create_dir(root.join(".git")).expect("mkdir");
        std::fs::copy(hostile(), root.join(".git/p.wasm")).expect("copy");
    };
    refused(&hidden, ".git/p.wasm", "is in a hidden entry");
}

#[test]
fn a_digest_must_be_64_lowercase_hex_digits() {
    let dir = support::app(&[("cat-classifier.yaml", SPEC)]);
    std::fs::write(dir.path().join("modelgen.yaml"), project("p.wasm", "sha256:abc")).expect("write");
    let run = measured(dir.path(), &["render", "."]);
    assert_refused(&run, 1, "modelgen.yaml:5:13: error: `sha256:abc` is not a SHA-256 digest");
}

/// Runs `program args` in `dir`, which must succeed.
fn build_in(dir: &Path, program: &Path, args: &[&str]) {
    let mut command = Command::new(program);
    command.current_dir(dir).args(args);
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_TARGET_DIR"]
    {
        command.env_remove(var);
    }
    let status = command.status().expect("run the build");
    assert!(status.success(), "`{} {}` failed in {}", program.display(), args.join(" "), dir.display());
}

#[test]
fn every_template_of_plugin_new_builds_as_it_is_and_runs() {
    let scratch = tempfile::tempdir().expect("scratch");
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let target_dir = workspace().join("target/template-build");
    let target = target_dir.to_str().expect("UTF-8 path");
    let built: Vec<(&str, PathBuf)> = ["rust", "python", "js"]
        .into_iter()
        .map(|lang| {
            let name = format!("team-{lang}");
            let run = measured(scratch.path(), &["plugin", "new", "--lang", lang, &name]);
            assert_eq!(run.code, Some(0), "{}", run.stderr);
            let dir = scratch.path().join(&name);
            // The commands each template's README gives.
            let readme = std::fs::read_to_string(dir.join("README.md")).expect("a README");
            let wasm = match lang {
                "rust" => {
                    assert!(readme.contains("cargo build --release --target wasm32-wasip2"));
                    build_in(&dir, &cargo, &["build", "--quiet", "--release", "--target", "wasm32-wasip2", "--target-dir", target]);
                    target_dir.join("wasm32-wasip2/release/team_rust.wasm")
                }
                "python" => {
                    assert!(readme.contains("componentize-py -d wit -w plugin componentize --stub-wasi app -o team-python.wasm"));
                    let args = ["-d", "wit", "-w", "plugin", "componentize", "--stub-wasi", "app", "-o", "team-python.wasm"];
                    build_in(&dir, &support::tool("componentize-py"), &args);
                    dir.join("team-python.wasm")
                }
                _ => {
                    assert!(readme.contains("componentize-js policy.js --wit wit --world-name plugin -d stdio random clocks http fetch-event -o team-js.wasm"));
                    let args = ["policy.js", "--wit", "wit", "--world-name", "plugin", "-d", "stdio", "random", "clocks", "http", "fetch-event", "-o", "team-js.wasm"];
                    build_in(&dir, &support::tool("componentize-js"), &args);
                    dir.join("team-js.wasm")
                }
            };
            (lang, wasm)
        })
        .collect();
    // An existing directory is never written into.
    let again = measured(scratch.path(), &["plugin", "new", "--lang", "rust", "team-rust"]);
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(again.stderr.contains("it must not exist yet"), "{}", again.stderr);
    for (lang, wasm) in built {
        // `plugin check` names the contract and prints the digest line.
        let run = measured(scratch.path(), &["plugin", "check", wasm.to_str().expect("UTF-8 path")]);
        assert_eq!(run.code, Some(0), "{lang}: {}", run.stderr);
        assert!(run.stdout.contains("contract: modelgen:policy/policy@0.1.0\n"), "{lang}: {}", run.stdout);
        assert!(run.stdout.contains("runs on this host: yes\n"), "{lang}: {}", run.stdout);
        assert!(run.stdout.contains(&format!("  sha256: \"{}\"\n", sha256(&wasm))), "{lang}: {}", run.stdout);
        // It warns about a model without a `team` label, and the render goes on.
        let dir = support::app(&[("tiny.yaml", support::TINY_SPEC)]);
        std::fs::copy(&wasm, dir.path().join("p.wasm")).expect("copy");
        std::fs::write(dir.path().join("modelgen.yaml"), project("p.wasm", &sha256(&wasm))).expect("write");
        let run = measured(dir.path(), &["render", "."]);
        assert_eq!(run.code, Some(0), "{lang}: {}", run.stderr);
        assert!(run.stdout.contains("kind: InferenceService"), "{lang}");
        assert!(
            run.stderr
                .contains("tiny.yaml:4:9: warning: p.wasm: InferenceService `tiny`: the object has no `team` label"),
            "{lang}: {}",
            run.stderr
        );
    }
    // A generator is reported as one, and a file that is no component is refused.
    let generator = scratch.path().join("generator.wasm");
    std::fs::write(&generator, modelgen::plugin::runtime::EMBEDDED_PLUGIN).expect("write");
    let run = measured(scratch.path(), &["plugin", "check", "generator.wasm"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("contract: modelgen:generator/generator@0.2.0\n"), "{}", run.stdout);
    std::fs::write(scratch.path().join("junk.wasm"), b"not wasm").expect("write");
    let run = measured(scratch.path(), &["plugin", "check", "junk.wasm"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stdout.is_empty() && run.stderr.contains("`junk.wasm` is not a WebAssembly component"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_chain_is_at_most_sixteen_plugins_long() {
    let entries: Vec<Entry<'_>> =
        (0..17).map(|_| Entry { wasm: hostile(), path: "policies/p.wasm", settings: "{mode: ok}" }).collect();
    let run = measured(application(&entries, &[]).path(), &["render", "."]);
    // The seventeenth entry's `path` (each entry takes three lines after the two of the header).
    assert_refused(
        &run,
        1,
        "modelgen.yaml:52:11: error: a render may run at most 16 policy plugins, and this one has 17",
    );
    let entries: Vec<Entry<'_>> =
        (0..16).map(|_| Entry { wasm: hostile(), path: "policies/p.wasm", settings: "{mode: ok}" }).collect();
    let run = measured(application(&entries, &[]).path(), &["render", "."]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}
