//! Rendered directories for Flux and CI: `render --out` and `--check`, `modelgen diff`, substitution safety, and the shipped Flux and CI files.

mod support;

#[path = "workflow/runner.rs"]
mod runner;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use runner::{repository_yaml, run_step, step, workflow_env};
use serde_json::Value;
use support::{SELDON_V2_CANARY as SPEC, app, documents, modelgen, run_in, snapshot, text, workspace};

/// The same spec after the canary was promoted.
fn promoted() -> String {
    SPEC.replace("v1\n    storageUri: s3://models/iris/v1", "v2\n    storageUri: s3://models/iris/v2")
        .split("  canary:")
        .next()
        .expect("a prefix")
        .to_owned()
}

fn names(dir: &Path) -> Vec<String> {
    snapshot(dir).into_keys().collect()
}

/// The entries of `dir` itself, to spot leftover staging directories.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).expect("readable").flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
    names.sort();
    names
}

/// `kubectl kustomize dir`: what Flux's kustomize-controller would build.
fn kustomize(dir: &Path) -> Vec<Value> {
    let out = std::process::Command::new(support::tool("kubectl"))
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("run kubectl kustomize");
    assert!(out.status.success(), "kubectl kustomize {} failed:\n{}", dir.display(), text(&out.stderr));
    documents(&text(&out.stdout))
}

/// Objects keyed by `Kind namespace/name`, for order-insensitive comparison.
fn by_identity(objects: Vec<Value>) -> BTreeMap<String, Value> {
    objects
        .into_iter()
        .map(|o| {
            let key = format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            );
            (key, o)
        })
        .collect()
}

#[test]
fn out_writes_one_file_per_object_and_a_kustomization_that_builds_to_the_render() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let out = run_in(dir.path(), &["render", "models", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "--out prints nothing to stdout");
    assert!(text(&out.stderr).contains("wrote `rendered`: 4 files, 4 changed, 0 removed"), "{}", text(&out.stderr));
    let rendered = dir.path().join("rendered");
    assert_eq!(
        names(&rendered),
        [
            ".modelgen-owned",
            "kustomization.yaml",
            "ml/experiment_iris-experiment.yaml",
            "ml/model_iris-canary.yaml",
            "ml/model_iris.yaml"
        ]
    );
    let stream = run_in(dir.path(), &["render", "models"]);
    let printed = documents(&text(&stream.stdout));
    assert_eq!(by_identity(kustomize(&rendered)), by_identity(printed.clone()), "the directory builds to the render");
    // Each file is exactly one rendered document.
    let file = std::fs::read_to_string(rendered.join("ml/model_iris.yaml")).expect("written");
    assert!(text(&stream.stdout).contains(&format!("---\n{file}")), "{file}");
    // The kustomization lists the objects in render order.
    let kustomization = documents(&std::fs::read_to_string(rendered.join("kustomization.yaml")).expect("written"));
    let listed: Vec<&str> =
        kustomization[0]["resources"].as_array().expect("a list").iter().filter_map(Value::as_str).collect();
    let order: Vec<String> = printed
        .iter()
        .map(|o| {
            format!(
                "ml/{}_{}.yaml",
                o["kind"].as_str().unwrap_or_default().to_lowercase(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(listed, order);
}

#[test]
fn a_rerender_updates_prunes_stale_files_and_keeps_foreign_ones_untouched() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let rendered = dir.path().join("rendered");
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    std::fs::write(rendered.join("README.md"), "rendered by CI\n").expect("a foreign file");
    std::fs::write(rendered.join("ml/notes.txt"), "mine\n").expect("a foreign file among ours");
    let inode = std::fs::metadata(rendered.join("README.md")).expect("stat").ino();

    std::fs::write(dir.path().join("models/iris.yaml"), promoted()).expect("promote");
    let out = run_in(dir.path(), &["render", "models", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("2 removed"), "{}", text(&out.stderr));
    let files = names(&rendered);
    assert!(!files.iter().any(|f| f.contains("canary") || f.contains("experiment")), "stale files stay: {files:?}");
    assert!(files.contains(&"ml/model_iris.yaml".to_owned()));
    assert_eq!(std::fs::read_to_string(rendered.join("README.md")).expect("kept"), "rendered by CI\n");
    assert_eq!(std::fs::read_to_string(rendered.join("ml/notes.txt")).expect("kept"), "mine\n");
    assert_eq!(std::fs::metadata(rendered.join("README.md")).expect("stat").ino(), inode, "the same file, not a copy");
    let owned = std::fs::read_to_string(rendered.join(".modelgen-owned")).expect("manifest");
    assert!(!owned.contains("README.md") && !owned.contains("notes.txt") && !owned.contains("canary"), "{owned}");
    assert_eq!(entries(dir.path()), ["models", "rendered"], "no staging directory is left behind");
    let model = std::fs::read_to_string(rendered.join("ml/model_iris.yaml")).expect("written");
    assert!(model.contains("s3://models/iris/v2"), "{model}");
    let again = run_in(dir.path(), &["render", "models", "--out", "rendered"]);
    assert_eq!(text(&again.stderr), "`rendered` is up to date: 2 files\n");
}

// The fault-injection hooks exist only in builds with debug assertions
// (the test suite's); `a_release_build_injects_no_faults` covers the others.
#[cfg(debug_assertions)]
#[test]
fn a_failed_write_or_render_leaves_the_previous_output_intact() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let rendered = dir.path().join("rendered");
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    let before = snapshot(&rendered);

    // The disk fills up after two files of the new version.
    std::fs::write(dir.path().join("models/iris.yaml"), promoted()).expect("promote");
    let out = modelgen()
        .current_dir(dir.path())
        .args(["render", "models", "--out", "rendered"])
        .env("MODELGEN_TEST_FAIL_WRITE_AFTER", "2")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("injected failure"), "{}", text(&out.stderr));
    assert_eq!(snapshot(&rendered), before, "the previous output changed");
    assert_eq!(entries(dir.path()), ["models", "rendered"], "the staging directory was not removed");

    // A spec error: nothing is written either.
    std::fs::write(dir.path().join("models/iris.yaml"), SPEC.replace("trafficPercent: 10", "trafficPercent: 150"))
        .expect("break");
    let out = run_in(dir.path(), &["render", "models", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`150` is not a percentage"), "{}", text(&out.stderr));
    assert_eq!(snapshot(&rendered), before);
}

#[test]
fn foreign_files_where_modelgen_would_write_are_an_error_and_stay() {
    let dir = app(&[("models/iris.yaml", SPEC), ("rendered/ml/model_iris.yaml", "hand-written\n")]);
    let out = run_in(dir.path(), &["render", "models", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("holds a file that modelgen did not write") && stderr.contains("rendered/ml/model_iris.yaml"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("rendered/ml/model_iris.yaml")).expect("kept"),
        "hand-written\n"
    );
    assert_eq!(names(&dir.path().join("rendered")), ["ml/model_iris.yaml"]);
}

#[test]
fn unusable_output_paths_are_clear_errors() {
    let dir = app(&[("models/iris.yaml", SPEC), ("file", "x")]);
    for (target, expected) in [
        ("file", "`file` is a file, not a directory"),
        ("file/rendered", "cannot use `file/rendered` as the output directory"),
        ("models/..", "contains the application"),
    ] {
        let out = run_in(dir.path(), &["render", "models", "--out", target]);
        assert_eq!(out.status.code(), Some(1), "{target}");
        assert!(out.stdout.is_empty(), "{target}");
        assert!(text(&out.stderr).contains(expected), "{target}: {}", text(&out.stderr));
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("file")).expect("kept"), "x");
    let usage = run_in(dir.path(), &["render", "models", "--check"]);
    assert_eq!(usage.status.code(), Some(2), "--check needs --out");
}

#[test]
fn check_passes_when_current_and_prints_a_diff_when_stale() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let missing = run_in(dir.path(), &["render", "models", "--out", "rendered", "--check"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());
    assert!(text(&missing.stderr).contains("`rendered` does not exist"), "{}", text(&missing.stderr));

    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    let before = snapshot(&dir.path().join("rendered"));
    let clean = run_in(dir.path(), &["render", "models", "--out", "rendered", "--check"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    assert!(clean.stdout.is_empty() && clean.stderr.is_empty());

    // A hand edit and a forgotten render.
    let model = dir.path().join("rendered/ml/model_iris.yaml");
    let edited = std::fs::read_to_string(&model).expect("read") + "# a hand edit\n";
    std::fs::write(&model, &edited).expect("hand edit");
    std::fs::write(dir.path().join("models/iris.yaml"), promoted()).expect("promote");
    let edited_snapshot = snapshot(&dir.path().join("rendered"));
    let stale = run_in(dir.path(), &["render", "models", "--out", "rendered", "--check"]);
    assert_eq!(stale.status.code(), Some(1));
    let diff = text(&stale.stdout);
    assert!(diff.contains("--- a/rendered/ml/model_iris.yaml\n+++ b/rendered/ml/model_iris.yaml\n"), "{diff}");
    assert!(
        diff.contains("-  storageUri: s3://models/iris/v1\n-# a hand edit\n+  storageUri: s3://models/iris/v2\n"),
        "{diff}"
    );
    assert!(diff.contains("--- a/rendered/ml/model_iris-canary.yaml\n+++ /dev/null\n"), "{diff}");
    assert!(text(&stale.stderr).contains("`rendered` is out of date"), "{}", text(&stale.stderr));
    assert_eq!(snapshot(&dir.path().join("rendered")), edited_snapshot, "--check writes nothing");
    assert!(edited_snapshot != before, "the hand edit did not happen");

    // The printed diff is a patch that brings the directory up to date.
    let patch = std::process::Command::new("git")
        .current_dir(dir.path())
        .args(["apply", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().expect("stdin").write_all(diff.as_bytes())?;
            child.wait()
        })
        .expect("run git apply");
    assert!(patch.success(), "git apply refused the diff");
    let again = run_in(dir.path(), &["render", "models", "--out", "rendered", "--check"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
}

#[test]
fn diff_compares_two_applications_object_by_object() {
    let base = app(&[("models/iris.yaml", SPEC)]);
    let head = app(&[("models/iris.yaml", &promoted())]);
    let (a, b) = (base.path().join("models"), head.path().join("models"));
    let out = modelgen().args(["diff"]).arg(&a).arg(&b).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(
        diff.contains("diff --modelgen a/Model/ml/iris b/Model/ml/iris\n--- a/Model/ml/iris\n+++ b/Model/ml/iris\n"),
        "{diff}"
    );
    assert!(diff.contains("-  storageUri: s3://models/iris/v1\n+  storageUri: s3://models/iris/v2\n"), "{diff}");
    assert!(diff.contains("--- a/Model/ml/iris-canary\n+++ /dev/null\n"), "{diff}");
    assert!(text(&out.stderr).contains("1 changed, 0 added, 2 removed"), "{}", text(&out.stderr));

    let strict = modelgen().args(["diff", "--exit-code"]).arg(&a).arg(&b).output().expect("run");
    assert_eq!(strict.status.code(), Some(1));
    let same = modelgen().args(["diff", "--exit-code"]).arg(&a).arg(&a).output().expect("run");
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty() && text(&same.stderr).contains("no differences"), "{}", text(&same.stderr));

    let markdown = modelgen().args(["diff", "--format", "markdown"]).arg(&a).arg(&b).output().expect("run");
    let comment = text(&markdown.stdout);
    assert!(comment.starts_with("### modelgen diff\n\n"), "{comment}");
    assert!(comment.contains("| changed | `Model ml/iris` |\n| removed | `Model ml/iris-canary` |\n"), "{comment}");
    assert!(comment.contains("<summary>removed: <code>Experiment ml/iris-experiment</code></summary>"), "{comment}");
    assert!(comment.contains("```diff\n@@"), "{comment}");
}

#[test]
fn diff_reads_rendered_directories_streams_and_stdin_alike() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    let stream = run_in(dir.path(), &["render", "models"]).stdout;
    std::fs::write(dir.path().join("all.yaml"), &stream).expect("write");
    // An application, what `--out` wrote, and the printed stream are the same render.
    for (a, b) in [("models", "rendered"), ("rendered", "all.yaml"), ("all.yaml", "models")] {
        let out = run_in(dir.path(), &["diff", "--exit-code", a, b]);
        assert_eq!(out.status.code(), Some(0), "{a} vs {b}: {}{}", text(&out.stdout), text(&out.stderr));
    }
    std::fs::write(dir.path().join("models/iris.yaml"), promoted()).expect("promote");
    let mut child = modelgen()
        .current_dir(dir.path())
        .args(["diff", "-", "models"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all(&stream).expect("feed stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("1 changed, 0 added, 2 removed"), "{}", text(&out.stderr));

    let broken = run_in(dir.path(), &["diff", "models", "nowhere"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(broken.stdout.is_empty() && text(&broken.stderr).contains("`nowhere`"), "{}", text(&broken.stderr));
    std::fs::write(dir.path().join("models/iris.yaml"), SPEC.replace("sklearn", "sk-learn")).expect("break");
    let invalid = run_in(dir.path(), &["diff", "rendered", "models"]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(invalid.stdout.is_empty());
    assert!(
        text(&invalid.stderr).contains("iris.yaml:9:13: error: unknown value `sk-learn`"),
        "{}",
        text(&invalid.stderr)
    );
}

#[test]
fn objects_that_mention_a_variable_are_safe_under_flux_substitution() {
    // Every pinned render: an object whose text holds `${` opts out of Flux's
    // post-build substitution; the others are left as they are.
    let mut guarded = 0;
    let mut pinned: Vec<PathBuf> = support::subdirectories(&workspace().join("tests/cases"))
        .into_iter()
        .map(|c| c.join("expected.yaml"))
        .collect();
    pinned.extend(support::subdirectories(&workspace().join("examples")).into_iter().map(|e| e.join("rendered.yaml")));
    for file in pinned.into_iter().filter(|f| f.exists()) {
        let stream = std::fs::read_to_string(&file).expect("read");
        for document in stream.split("---\n").filter(|d| !d.trim().is_empty()) {
            let object = &documents(document)[0];
            let annotation = &object["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/substitute"];
            if document.contains("${") {
                assert_eq!(annotation, "disabled", "{}: {document}", file.display());
                guarded += 1;
            } else {
                assert!(annotation.is_null(), "{}: {document}", file.display());
            }
        }
    }
    assert!(guarded > 0, "no pinned render mentions a variable: the guard is untested");

    // Through the rendered directory: the spec's annotation is on every
    // object, so every object opts out, and kustomize keeps the text as is.
    let spec = SPEC.replace("  namespace: ml\n", "  namespace: ml\n  annotations:\n    docs: https://wiki/${MODEL}\n");
    let dir = app(&[("models/m.yaml", &spec)]);
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    let built = kustomize(&dir.path().join("rendered"));
    assert_eq!(built.len(), 3);
    for object in built {
        let annotations = &object["metadata"]["annotations"];
        assert_eq!(annotations["kustomize.toolkit.fluxcd.io/substitute"], "disabled", "{object}");
        assert_eq!(annotations["docs"], "https://wiki/${MODEL}");
    }
}

/// A repository laid out as the CI workflow expects: two examples' specs in `models/`.
fn repository(workflow: &Value) -> tempfile::TempDir {
    let repo = tempfile::tempdir().expect("tempdir");
    let models = repo.path().join(workflow_env(workflow, "MODELS"));
    std::fs::create_dir_all(&models).expect("mkdir");
    for example in ["iris-seldon-v2/iris.yaml", "mochanet/mochanet.yaml"] {
        let from = workspace().join("examples").join(example);
        std::fs::copy(&from, models.join(from.file_name().expect("a name"))).expect("copy an example");
    }
    repo
}

#[test]
fn the_flux_manifests_build_and_their_kustomizations_point_at_what_out_writes() {
    let workflow = repository_yaml("examples/ci/github-actions.yml").remove(0);
    let rendered = workflow_env(&workflow, "RENDERED");
    let repo = repository(&workflow);
    // The workflow's own render step writes the directory Flux reads.
    let render = run_step(&workflow, repo.path(), &step(&workflow, "publish-git", "Render"));
    assert!(render.status.success(), "{}", text(&render.stderr));
    let printed = run_in(repo.path(), &["render", &workflow_env(&workflow, "MODELS")]);
    let expected = by_identity(documents(&text(&printed.stdout)));
    assert!(expected.len() >= 5, "both examples render");

    let push = step(&workflow, "publish-oci", "Push and sign the artifact");
    assert!(push.contains("--path=\"./$RENDERED\""), "the artifact is the rendered directory: {push}");
    let mut kustomizations = Vec::new();
    for (variant, source_kind, root) in
        [("oci", "OCIRepository", repo.path().join(&rendered)), ("git", "GitRepository", repo.path().to_path_buf())]
    {
        let objects = kustomize(&workspace().join("deploy/flux").join(variant));
        assert_eq!(objects.len(), 2, "{variant}: a source and a Kustomization");
        let find =
            |kind: &str| objects.iter().find(|o| o["kind"] == kind).unwrap_or_else(|| panic!("{variant}: no {kind}"));
        let (source, kustomization) = (find(source_kind), find("Kustomization"));
        assert_eq!(
            (source["apiVersion"].as_str(), source["kind"].as_str()),
            (Some("source.toolkit.fluxcd.io/v1"), Some(source_kind))
        );
        assert_eq!(kustomization["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
        assert_eq!(kustomization["kind"], "Kustomization");
        let spec = &kustomization["spec"];
        assert_eq!((spec["prune"].as_bool(), spec["wait"].as_bool()), (Some(true), Some(true)), "{variant}");
        assert_eq!(spec["sourceRef"]["kind"], source_kind);
        assert_eq!(spec["sourceRef"]["name"], source["metadata"]["name"]);
        assert_eq!(kustomization["metadata"]["namespace"], source["metadata"]["namespace"]);
        // What Flux's kustomize-controller builds at that path is the render.
        let path = spec["path"].as_str().expect("a path");
        assert_eq!(by_identity(kustomize(&root.join(path))), expected, "{variant}: `{path}` in the source");
        if variant == "oci" {
            let verify = &source["spec"]["verify"];
            assert_eq!(verify["provider"], "cosign");
            let identity = &verify["matchOIDCIdentity"][0];
            assert_eq!(identity["issuer"], "^https://token\\.actions\\.githubusercontent\\.com$");
            let subject = identity["subject"].as_str().expect("a subject");
            assert!(subject.ends_with("/\\.github/workflows/models\\.yml@refs/heads/main$"), "{subject}");
        } else {
            let ignore = source["spec"]["ignore"].as_str().expect("an ignore list");
            assert!(ignore.contains(&format!("!/{rendered}/")), "the rendered directory is fetched: {ignore}");
        }
        kustomizations.push(kustomization.clone());
    }
    // The two differ in where the files come from, nothing else.
    let [oci, git] = kustomizations.as_mut_slice() else { unreachable!() };
    for k in [&mut *oci, &mut *git] {
        k["spec"]["sourceRef"]["kind"] = Value::Null;
        k["spec"]["path"] = Value::Null;
    }
    assert_eq!(oci, git, "deploy/flux/oci and deploy/flux/git disagree beyond their source");
}

#[test]
fn health_check_expressions_judge_every_serving_kind() {
    let kustomization = kustomize(&workspace().join("deploy/flux/oci"))
        .into_iter()
        .find(|o| o["kind"] == "Kustomization")
        .expect("a Kustomization");
    let checks = kustomization["spec"]["healthCheckExprs"].as_array().expect("healthCheckExprs").clone();
    // Every kind modelgen renders that reports readiness is covered. Flux
    // keys the checks by API group and kind (a second one for the same pair
    // is refused), so the version does not matter.
    let group_kind = |api_version: &str, kind: &str| {
        (api_version.rsplit_once('/').map_or("", |(g, _)| g).to_owned(), kind.to_owned())
    };
    let covered: Vec<(String, String)> = checks
        .iter()
        .map(|c| group_kind(c["apiVersion"].as_str().expect("apiVersion"), c["kind"].as_str().expect("kind")))
        .collect();
    let mut unique = covered.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), covered.len(), "one check per group and kind");
    for (api_version, kind) in modelgen::verify::crd::kinds() {
        let status =
            modelgen::verify::crd::schema(api_version, kind).map(|s| s["properties"]["status"]["properties"].clone());
        let reports = status.is_some_and(|s| s["conditions"].is_object() || s["state"].is_object());
        let is_route = matches!(kind, "HTTPRoute" | "VirtualService");
        if reports && !is_route {
            assert!(covered.contains(&group_kind(api_version, kind)), "no health check for {api_version} {kind}");
        }
    }
    // Evaluated as Flux does: the object's top-level fields are the variables.
    let evaluate = |expression: &str, object: &Value| -> Option<bool> {
        let program =
            cel::Program::compile(expression).unwrap_or_else(|e| panic!("`{expression}` does not parse: {e}"));
        let mut context = cel::Context::default();
        for (key, value) in object.as_object().expect("an object") {
            context.add_variable_from_value(key.as_str(), cel::to_value(value).expect("a CEL value"));
        }
        match program.execute(&context) {
            Ok(cel::Value::Bool(b)) => Some(b),
            Ok(other) => panic!("`{expression}` returned {other:?}"),
            // Flux keeps waiting on an expression that cannot be evaluated yet.
            Err(_) => None,
        }
    };
    let judge = |kind: &str, status: Value| -> &'static str {
        let check = checks.iter().find(|c| c["kind"] == kind).expect("a check");
        let object = serde_json::json!({"apiVersion": check["apiVersion"], "kind": kind, "metadata": {"name": "m"}, "status": status});
        if check["failed"].as_str().is_some_and(|e| evaluate(e, &object) == Some(true)) {
            return "failed";
        }
        if evaluate(check["current"].as_str().expect("current"), &object) == Some(true) {
            "current"
        } else {
            "in progress"
        }
    };
    let ready = |status: &str| serde_json::json!({"conditions": [{"type": "PredictorReady", "status": "True"}, {"type": "Ready", "status": status}]});
    assert_eq!(judge("InferenceService", ready("True")), "current");
    assert_eq!(judge("InferenceService", ready("Unknown")), "in progress");
    assert_eq!(judge("InferenceService", ready("False")), "in progress", "a Standard-mode rollout reports Ready=False");
    let mut blocked = ready("False");
    blocked["modelStatus"] = serde_json::json!({"transitionStatus": "BlockedByFailedLoad"});
    assert_eq!(judge("InferenceService", blocked), "failed");
    let mut loading = ready("Unknown");
    loading["modelStatus"] = serde_json::json!({"states": {"activeModelState": "Loading"}});
    assert_eq!(judge("InferenceService", loading), "in progress");
    assert_eq!(judge("InferenceService", serde_json::json!({})), "in progress");
    for (state, verdict) in [("Available", "current"), ("Creating", "in progress"), ("Failed", "failed")] {
        assert_eq!(judge("SeldonDeployment", serde_json::json!({ "state": state })), verdict);
    }
    for kind in ["Model", "Experiment", "Server"] {
        let progressing = serde_json::json!({"conditions": [{"type": "ModelReady", "status": "False", "reason": "ModelProgressing"}, {"type": "Ready", "status": "False"}]});
        assert_eq!(judge(kind, progressing), "in progress", "{kind}: Seldon reports Ready=False while loading");
        assert_eq!(
            judge(kind, serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]})),
            "current",
            "{kind}"
        );
        assert_eq!(judge(kind, serde_json::json!({"conditions": []})), "in progress", "{kind}");
    }
    // KServe v0.20.0's LLMInferenceService conditions.
    let llm = |conditions: Value| serde_json::json!({ "conditions": conditions });
    let ready = serde_json::json!([
        {"type": "PresetsCombined", "status": "True"},
        {"type": "MainWorkloadReady", "status": "True"},
        {"type": "Ready", "status": "True"},
    ]);
    assert_eq!(judge("LLMInferenceService", llm(ready)), "current");
    let loading = serde_json::json!([
        {"type": "MainWorkloadReady", "status": "False", "reason": "MinimumReplicasUnavailable"},
        {"type": "Ready", "status": "False"},
    ]);
    assert_eq!(judge("LLMInferenceService", llm(loading)), "in progress");
    let stuck = serde_json::json!([
        {"type": "MainWorkloadReady", "status": "False", "reason": "ProgressDeadlineExceeded"},
        {"type": "Ready", "status": "False"},
    ]);
    assert_eq!(judge("LLMInferenceService", llm(stuck)), "failed");
    // A missing preset stops reconciliation while Ready may still say True.
    let missing = serde_json::json!([
        {"type": "PresetsCombined", "status": "False", "reason": "ConfigNotFound"},
        {"type": "Ready", "status": "True"},
    ]);
    assert_eq!(judge("LLMInferenceService", llm(missing)), "failed");
    let scaler = serde_json::json!([{"type": "Ready", "status": "True"}, {"type": "Active", "status": "False"}]);
    assert_eq!(judge("ScaledObject", llm(scaler)), "current", "an idle ScaledObject is ready");
    assert_eq!(judge("ScaledObject", llm(serde_json::json!([{"type": "Ready", "status": "Unknown"}]))), "in progress");
}

#[test]
fn the_ci_workflow_validates_checks_drift_and_comments_with_modelgen() {
    let workflow = repository_yaml("examples/ci/github-actions.yml").remove(0);
    let jobs = &workflow["jobs"];
    assert_eq!(jobs["check"]["if"], "github.event_name == 'pull_request'");
    assert_eq!(jobs["check"]["permissions"]["pull-requests"], "write");
    assert_eq!(jobs["publish-git"]["permissions"]["contents"], "write");
    assert_eq!(jobs["publish-oci"]["permissions"]["id-token"], "write", "keyless cosign needs the OIDC token");
    let push = step(&workflow, "publish-oci", "Push and sign the artifact");
    for expected in [
        "flux push artifact",
        "--source=\"$SOURCE\"",
        "--revision=\"$GITHUB_REF_NAME@sha1:$GITHUB_SHA\"",
        "cosign sign --yes",
        "flux tag artifact",
    ] {
        assert!(push.contains(expected), "`{expected}` missing from:\n{push}");
    }
    assert_eq!(step(&workflow, "publish-oci", "Render"), step(&workflow, "publish-git", "Render"));

    // The pull-request steps, run as the runner would run them.
    let repo = repository(&workflow);
    let validate = step(&workflow, "check", "Validate the specs");
    let clean = run_step(&workflow, repo.path(), &validate);
    assert!(clean.status.success() && clean.stdout.is_empty(), "{}{}", text(&clean.stdout), text(&clean.stderr));
    let spec = repo.path().join("models/mochanet.yaml");
    let good = std::fs::read_to_string(&spec).expect("read");
    std::fs::write(&spec, good.replace("trafficPercent: 10", "trafficPercent: 150")).expect("break");
    let broken = run_step(&workflow, repo.path(), &validate);
    assert!(!broken.status.success());
    assert!(text(&broken.stdout).starts_with("::error file=models/mochanet.yaml,line="), "{}", text(&broken.stdout));
    std::fs::write(&spec, &good).expect("repair");

    let render = step(&workflow, "publish-git", "Render");
    assert!(run_step(&workflow, repo.path(), &render).status.success());
    let drift = step(&workflow, "check", "Check that the committed rendered output is current");
    assert!(run_step(&workflow, repo.path(), &drift).status.success(), "current after a render");
    std::fs::write(&spec, good.replace("trafficPercent: 10", "trafficPercent: 20")).expect("change the canary");
    let stale = run_step(&workflow, repo.path(), &drift);
    assert!(!stale.status.success(), "a forgotten render is caught");
    assert!(text(&stale.stdout).contains("+    canaryTrafficPercent: 20"), "{}", text(&stale.stdout));

    // The comment: the base is the specs before the change.
    let base = repo.path().join(".base").join(workflow_env(&workflow, "MODELS"));
    std::fs::create_dir_all(&base).expect("mkdir");
    std::fs::write(base.join("mochanet.yaml"), &good).expect("base");
    let comment = run_step(&workflow, repo.path(), &step(&workflow, "check", "Comment what changes"));
    assert!(comment.status.success(), "{}", text(&comment.stderr));
    assert!(
        text(&comment.stdout).contains("::warning::could not comment"),
        "no GitHub here: {}",
        text(&comment.stdout)
    );
    let summary = std::fs::read_to_string(repo.path().join(".runner-temp/summary.md")).expect("a job summary");
    assert!(summary.contains("1 changed, 4 added, 0 removed"), "{summary}");
    assert!(summary.contains("| changed | `InferenceService coffee/mochanet` |"), "{summary}");
    assert!(summary.contains("-    canaryTrafficPercent: 10\n+    canaryTrafficPercent: 20\n"), "{summary}");
}

#[test]
fn all_environments_render_into_a_directory_each_in_one_write() {
    let example = workspace().join("examples/fraud-environments");
    let out = tempfile::tempdir().expect("output");
    let dir = out.path().join("rendered");
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let example_arg = example.to_str().expect("UTF-8 path");
    let written = run_in(&workspace(), &["render", example_arg, "--all-environments", "--out", dir_arg]);
    assert_eq!(written.status.code(), Some(0), "{}", text(&written.stderr));
    assert!(written.stdout.is_empty(), "--out prints nothing");
    for environment in ["dev", "staging", "prod"] {
        // Each directory builds to exactly what `render --env` prints.
        let alone = run_in(&workspace(), &["render", example_arg, "--env", environment]);
        assert_eq!(
            by_identity(kustomize(&dir.join(environment))),
            by_identity(documents(&text(&alone.stdout))),
            "{environment}"
        );
    }
    let check = run_in(&workspace(), &["render", example_arg, "--all-environments", "--out", dir_arg, "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));

    // One broken environment writes nothing at all.
    let broken = tempfile::tempdir().expect("app");
    for file in ["fraud.yaml", "modelgen.yaml", "patches/no-eviction.yaml"] {
        let to = broken.path().join(file);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(example.join(file), to).expect("copy");
    }
    let project = std::fs::read_to_string(broken.path().join("modelgen.yaml")).expect("project");
    std::fs::write(broken.path().join("modelgen.yaml"), project.replace("minReplicas: 3", "minReplicas: three"))
        .expect("write");
    let before = snapshot(&dir);
    let failed = run_in(broken.path(), &["render", ".", "--all-environments", "--out", dir_arg]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        text(&failed.stderr).contains("environments.prod.overrides.scaling.minReplicas"),
        "{}",
        text(&failed.stderr)
    );
    assert_eq!(snapshot(&dir), before, "a failed environment must leave every directory as it was");

    let none = run_in(&workspace().join("examples/mochanet"), &["render", ".", "--all-environments", "--out", dir_arg]);
    assert_eq!(none.status.code(), Some(1));
    assert!(text(&none.stderr).contains("defines no environments"), "{}", text(&none.stderr));
}

/// An ownership manifest in the format of the releases before format v2,
/// listing `paths`: what a directory rendered earlier holds.
fn owned_v1(paths: &[&str]) -> String {
    let mut text = String::from("# modelgen owned files v1\n");
    for path in paths {
        text.push_str(path);
        text.push('\n');
    }
    text
}

/// The files `render --out rendered` writes for `SPEC`.
const RENDERED: [&str; 4] =
    ["kustomization.yaml", "ml/experiment_iris-experiment.yaml", "ml/model_iris-canary.yaml", "ml/model_iris.yaml"];

#[test]
fn a_directory_an_earlier_release_rendered_keeps_working() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let rendered = dir.path().join("rendered");
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    std::fs::write(rendered.join(".modelgen-owned"), owned_v1(&RENDERED)).expect("the earlier format");
    let check = run_in(dir.path(), &["render", "models", "--out", "rendered", "--check"]);
    assert_eq!(check.status.code(), Some(1), "only the manifest's format differs");
    assert!(text(&check.stdout).contains("-# modelgen owned files v1\n+# modelgen owned files v2\n"));
    std::fs::write(dir.path().join("models/iris.yaml"), promoted()).expect("promote");
    let out = run_in(dir.path(), &["render", "models", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("2 removed"), "{}", text(&out.stderr));
    let owned = std::fs::read_to_string(rendered.join(".modelgen-owned")).expect("manifest");
    assert!(owned.starts_with("# modelgen owned files v2\n"), "{owned}");
}

#[test]
fn check_never_reads_through_a_linked_directory() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let rendered = dir.path().join("rendered");
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    // A pull request adds a directory link to a secret, and lists a file in it as owned.
    let outside = tempfile::tempdir().expect("outside");
    std::fs::write(outside.path().join("secret_token.yaml"), "token: SECRET-TOKEN-1\n").expect("a secret");
    std::os::unix::fs::symlink(outside.path(), rendered.join("leak")).expect("symlink");
    let mut owned: Vec<&str> = RENDERED.to_vec();
    owned.push("leak/secret_token.yaml");
    std::fs::write(rendered.join(".modelgen-owned"), owned_v1(&owned)).expect("tampered manifest");
    let out = run_in(dir.path(), &["render", "models", "--out", "rendered", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("SECRET-TOKEN-1"), "read through the link:\n{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("-(not read: `leak` is a symbolic link, which is never followed here)"), "{stdout}");

    // A link to the process's own environment is refused before anything is read.
    std::fs::remove_file(rendered.join("leak")).expect("unlink");
    std::os::unix::fs::symlink("/proc/self", rendered.join("proc")).expect("symlink");
    owned.push("proc/environ");
    std::fs::write(rendered.join(".modelgen-owned"), owned_v1(&owned)).expect("tampered manifest");
    let out = modelgen()
        .current_dir(dir.path())
        .args(["render", "models", "--out", "rendered", "--check"])
        .env("MODELGEN_TEST_SECRET", "SECRET-TOKEN-2")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("SECRET-TOKEN-2"), "the environment was printed:\n{all}");
}

#[test]
fn diff_never_reads_through_a_linked_directory() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let rendered = dir.path().join("rendered");
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    std::fs::write(rendered.join(".modelgen-owned"), owned_v1(&RENDERED)).expect("manifest");
    // `ml` becomes a link to a directory holding a file of the same name.
    let outside = tempfile::tempdir().expect("outside");
    for (i, file) in RENDERED[1..].iter().enumerate() {
        let secret = format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s{i}, namespace: ml}}\nstringData: {{token: SECRET-TOKEN-3}}\n"
        );
        std::fs::write(outside.path().join(file.trim_start_matches("ml/")), secret).expect("write");
    }
    std::fs::remove_dir_all(rendered.join("ml")).expect("remove");
    std::os::unix::fs::symlink(outside.path(), rendered.join("ml")).expect("symlink");
    let out = run_in(dir.path(), &["diff", "rendered", "models"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("SECRET-TOKEN-3"), "read through the link:\n{all}");
    assert!(all.contains("`ml` is a symbolic link, which is never followed here"), "{all}");
}

#[test]
fn diff_reads_rendered_files_within_the_input_limit() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let rendered = dir.path().join("rendered");
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    let model = rendered.join("ml/model_iris.yaml");
    let padded = std::fs::read_to_string(&model).expect("read") + &"# padding\n".repeat(300_000);
    std::fs::write(&model, padded).expect("grow a rendered file to 3 MB");
    let out = run_in(dir.path(), &["diff", "--max-input-bytes", "1000000", "rendered", "models"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("past the limit of 1000000 bytes"), "{}", text(&out.stderr));
    let raised = run_in(dir.path(), &["diff", "rendered", "models"]);
    assert_eq!(raised.status.code(), Some(0), "{}", text(&raised.stderr));
}

#[cfg(debug_assertions)]
#[test]
fn staging_copies_a_killed_render_left_are_removed_by_the_next_one() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    // A render killed halfway (`kill -9` runs no clean-up).
    std::fs::write(dir.path().join("models/iris.yaml"), promoted()).expect("promote");
    let killed = modelgen()
        .current_dir(dir.path())
        .args(["render", "models", "--out", "rendered"])
        .env("MODELGEN_TEST_KILL_AFTER", "1")
        .output()
        .expect("run");
    assert_eq!(killed.status.code(), None, "the render was not killed: {}", text(&killed.stderr));
    // And one from long ago, as an earlier release would have left it.
    let old = dir.path().join(".rendered.modelgen-Xk3Pq9");
    std::fs::create_dir_all(old.join("ml")).expect("mkdir");
    std::fs::write(old.join("ml/model_iris.yaml"), "stale\n").expect("write");
    // A render that is still running holds its lock: its directory stays.
    let live = dir.path().join(".rendered.modelgen-Live01");
    std::fs::create_dir(&live).expect("mkdir");
    let lock = std::fs::File::open(&live).expect("open");
    // SAFETY: `flock` on a descriptor this test owns.
    #[allow(unsafe_code)]
    let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(locked, 0, "lock");
    assert_eq!(entries(dir.path()).len(), 5, "{:?}", entries(dir.path()));

    let out = run_in(dir.path(), &["render", "models", "--out", "rendered"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(entries(dir.path()), [".rendered.modelgen-Live01", "models", "rendered"]);
    assert_eq!(names(&dir.path().join("rendered")), [".modelgen-owned", "kustomization.yaml", "ml/model_iris.yaml"]);
    drop(lock);
}

/// Runs `script` with `sh` in a new user and mount namespace (as root
/// there), where it can mount; `$MODELGEN` is the binary. Mounts end with it.
fn in_mount_namespace(dir: &Path, script: &str) -> std::process::Output {
    std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .current_dir(dir)
        .env("MODELGEN", env!("CARGO_BIN_EXE_modelgen"))
        .output()
        .expect("run unshare (util-linux) for a mount namespace")
}

#[test]
fn a_mount_inside_the_output_directory_is_never_moved_or_emptied() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    std::fs::create_dir(dir.path().join("rendered/data")).expect("a mount point");
    let volume = tempfile::tempdir().expect("volume");
    std::fs::write(volume.path().join("user.txt"), "the user's data\n").expect("write");
    std::fs::write(dir.path().join("models/iris.yaml"), promoted()).expect("promote");
    let script = format!(
        "mount --bind '{}' rendered/data || exit 99; \"$MODELGEN\" render models --out rendered --no-cache",
        volume.path().display()
    );
    let out = in_mount_namespace(dir.path(), &script);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rendered/data` is a mount point inside the output directory"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(volume.path().join("user.txt")).expect("kept"), "the user's data\n");
    assert_eq!(entries(dir.path()), ["models", "rendered"], "a staging directory was left behind");

    // A single file bound in place (as a Kubernetes `subPath` mount is) is a mount too.
    std::fs::write(dir.path().join("rendered/notes.txt"), "placeholder\n").expect("a mount point");
    let script = format!(
        "mount --bind '{}' rendered/notes.txt || exit 99; \"$MODELGEN\" render models --out rendered --no-cache",
        volume.path().join("user.txt").display()
    );
    let out = in_mount_namespace(dir.path(), &script);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rendered/notes.txt` is a mount point inside the output directory"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(volume.path().join("user.txt")).expect("kept"), "the user's data\n");
}

#[test]
fn an_output_directory_that_is_a_mount_point_is_a_clear_error() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    assert_eq!(run_in(dir.path(), &["render", "models", "--out", "rendered"]).status.code(), Some(0));
    let volume = tempfile::tempdir().expect("volume");
    std::fs::write(volume.path().join("notes.txt"), "notes\n").expect("write");
    let script = format!(
        "mount --bind '{}' rendered || exit 99; \"$MODELGEN\" render models --out rendered --no-cache",
        volume.path().display()
    );
    let out = in_mount_namespace(dir.path(), &script);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("`rendered` is a mount point: "), "{}", text(&out.stderr));
    assert_eq!(names(volume.path()), ["notes.txt"], "the mounted volume changed");
    assert_eq!(entries(dir.path()), ["models", "rendered"], "a staging directory was left behind");
}

/// A release build, the one that ships, has no fault injection: the hooks'
/// variables change nothing (`cargo test --release` runs this).
#[cfg(not(debug_assertions))]
#[test]
fn a_release_build_injects_no_faults() {
    let dir = app(&[("models/iris.yaml", SPEC)]);
    let out = modelgen()
        .current_dir(dir.path())
        .args(["render", "models", "--out", "rendered"])
        .env("MODELGEN_TEST_FAIL_WRITE_AFTER", "0")
        .env("MODELGEN_TEST_KILL_AFTER", "0")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("rendered/ml/model_iris.yaml").is_file(), "the render was written");
}
