//! Differential tests: each environment patch in `tests/patches/cases/` applied by modelgen and by `kubectl kustomize`.
//!
//! For each case, the application in `tests/patches/app/` is rendered twice by
//! modelgen, without and with an environment holding the case's `patches:`;
//! kustomize then applies the same `patches:` to the first render. The two
//! results must be equal as data (kustomize reorders documents and keys). A
//! case with `outcome: error` must fail in both tools; one with
//! `outcome: modelgen-rejects` is a deliberate difference, named in
//! `docs/environments.md`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::{documents, run_in, text, tool, workspace};

/// What a case expects.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Both tools produce the same objects.
    Same,
    /// Both tools fail.
    Error,
    /// modelgen refuses what kustomize accepts (a documented difference).
    ModelgenRejects,
    /// Both succeed with different objects (a documented difference).
    Differs,
}

struct Case {
    name: String,
    patches: Value,
    files: BTreeMap<String, String>,
    outcome: Outcome,
}

fn cases() -> Vec<Case> {
    let dir = workspace().join("tests/patches/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("cases").flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("case file");
            let case: Value = serde_saphyr::from_str(&text).expect("case YAML");
            let files = case["files"]
                .as_object()
                .map(|f| f.iter().map(|(k, v)| (k.clone(), v.as_str().expect("file text").to_owned())).collect())
                .unwrap_or_default();
            let outcome = match case["outcome"].as_str() {
                None => Outcome::Same,
                Some("error") => Outcome::Error,
                Some("modelgen-rejects") => Outcome::ModelgenRejects,
                Some("differs") => Outcome::Differs,
                Some(other) => panic!("{}: unknown outcome `{other}`", path.display()),
            };
            let name = path.file_stem().expect("name").to_string_lossy().into_owned();
            Case { name, patches: case["patches"].clone(), files, outcome }
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read app").flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn write_files(root: &Path, files: &BTreeMap<String, String>) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write patch file");
    }
}

/// Objects keyed by identity, so that order does not matter.
fn by_identity(stream: &str) -> BTreeMap<String, Value> {
    documents(stream)
        .into_iter()
        .map(|d| {
            let key = format!(
                "{}/{} {}/{}",
                d["apiVersion"].as_str().unwrap_or_default(),
                d["kind"].as_str().unwrap_or_default(),
                d["metadata"]["namespace"].as_str().unwrap_or_default(),
                d["metadata"]["name"].as_str().unwrap_or_default()
            );
            (key, d)
        })
        .collect()
}

fn pretty(objects: &BTreeMap<String, Value>) -> String {
    serde_json::to_string_pretty(objects).expect("JSON")
}

#[test]
fn environment_patches_behave_like_kubectl_kustomize() {
    let kubectl = tool("kubectl");
    let cases = cases();
    assert!(cases.len() >= 25, "the differential corpus has only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = check(&kubectl, case) {
            failures.push(format!("--- {}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from kustomize:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn check(kubectl: &Path, case: &Case) -> Result<(), String> {
    let scratch = tempfile::tempdir().expect("temp dir");
    let app = scratch.path().join("app");
    copy_dir(&workspace().join("tests/patches/app"), &app);
    write_files(&app, &case.files);
    let project = json!({
        "apiVersion": "modelgen.dev/v1alpha1",
        "kind": "Project",
        "environments": {"test": {"patches": case.patches}},
    });
    std::fs::write(app.join("modelgen.yaml"), serde_json::to_string_pretty(&project).expect("JSON")).expect("write");

    let base = run_in(&app, &["render", "."]);
    if !base.status.success() {
        return Err(format!("the base render failed:\n{}", text(&base.stderr)));
    }
    let patched = run_in(&app, &["render", ".", "--env", "test"]);

    let overlay = scratch.path().join("kustomize");
    std::fs::create_dir_all(&overlay).expect("mkdir");
    std::fs::write(overlay.join("base.yaml"), &base.stdout).expect("write base");
    write_files(&overlay, &case.files);
    let kustomization = json!({"resources": ["base.yaml"], "patches": case.patches});
    std::fs::write(overlay.join("kustomization.yaml"), serde_json::to_string_pretty(&kustomization).expect("JSON"))
        .expect("write kustomization");
    let kustomized = Command::new(kubectl).arg("kustomize").arg(&overlay).output().expect("run kubectl");

    let (ours, theirs) = (patched.status.success(), kustomized.status.success());
    if matches!(case.outcome, Outcome::ModelgenRejects | Outcome::Differs) {
        let page = std::fs::read_to_string(workspace().join("docs/environments.md")).expect("docs/environments.md");
        if !page.contains(&format!("`{}`", case.name)) {
            return Err("a deliberate difference must be named in docs/environments.md".to_owned());
        }
    }
    match case.outcome {
        Outcome::Error => {
            if ours || theirs {
                return Err(format!(
                    "expected both to fail; modelgen exit {:?}, kustomize exit {:?}\n{}",
                    patched.status.code(),
                    kustomized.status.code(),
                    text(&kustomized.stderr)
                ));
            }
            if !patched.stdout.is_empty() {
                return Err("modelgen failed but printed to stdout".to_owned());
            }
            Ok(())
        }
        Outcome::ModelgenRejects => {
            if ours || !theirs || !patched.stdout.is_empty() {
                return Err(format!(
                    "expected modelgen to refuse what kustomize accepts; modelgen exit {:?}, kustomize exit {:?}",
                    patched.status.code(),
                    kustomized.status.code()
                ));
            }
            Ok(())
        }
        Outcome::Same | Outcome::Differs => {
            if !ours {
                return Err(format!("modelgen failed:\n{}", text(&patched.stderr)));
            }
            if !theirs {
                return Err(format!("kustomize failed:\n{}", text(&kustomized.stderr)));
            }
            let (ours, theirs) = (by_identity(&text(&patched.stdout)), by_identity(&text(&kustomized.stdout)));
            if case.outcome == Outcome::Differs {
                return if ours == theirs {
                    Err("documented as a difference, but both tools agree: update the case and docs/environments.md"
                        .to_owned())
                } else {
                    Ok(())
                };
            }
            if ours == theirs {
                Ok(())
            } else {
                let (theirs, ours) = (pretty(&theirs), pretty(&ours));
                let diff = similar::TextDiff::from_lines(theirs.as_str(), ours.as_str())
                    .unified_diff()
                    .context_radius(2)
                    .header("kustomize", "modelgen")
                    .to_string();
                Err(format!("the results differ:\n{diff}"))
            }
        }
    }
}
