//! Golden tests: every example and every case under `tests/cases/` rendered through the real binary and component.
//!
//! A case is a folder: `app/` is the application directory, `args` (optional)
//! holds extra `modelgen render` arguments one per line, `expected.yaml` the
//! exact stdout of a successful render, and `expected.stderr` the exact
//! diagnostics. A case without `expected.yaml` must fail with exit code 1 and
//! print nothing on stdout. `BLESS=1 cargo test` rewrites the expectations.

mod support;

use std::path::{Path, PathBuf};

use support::{assert_golden, assert_valid_against_crds, run_in, subdirectories, text, workspace};

fn check_case(case: &Path, app: &Path, args: &[String], expected_stdout: &Path, expected_stderr: &Path) {
    let mut command_line = vec!["render", "."];
    command_line.extend(args.iter().map(String::as_str));
    let output = run_in(app, &command_line);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    if bless {
        for (path, content) in [(expected_stdout, &stdout), (expected_stderr, &stderr)] {
            if content.is_empty() {
                let _ = std::fs::remove_file(path);
            } else {
                assert_golden(path, content);
            }
        }
        return;
    }
    let name = case.display();
    if expected_stdout.exists() {
        assert_eq!(output.status.code(), Some(0), "{name}: expected success, stderr:\n{stderr}");
        assert_golden(expected_stdout, &stdout);
        assert_valid_against_crds(&stdout, &name.to_string());
    } else {
        assert_eq!(output.status.code(), Some(1), "{name}: expected exit code 1, stderr:\n{stderr}");
        assert!(stdout.is_empty(), "{name}: a failed render printed to stdout:\n{stdout}");
    }
    if expected_stderr.exists() || !stderr.is_empty() {
        assert_golden(expected_stderr, &stderr);
    }
}

#[test]
fn cases_render_as_pinned() {
    let cases = subdirectories(&workspace().join("tests/cases"));
    assert!(cases.len() >= 10, "the case corpus is missing");
    for case in cases {
        let args: Vec<String> = std::fs::read_to_string(case.join("args"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        check_case(&case, &case.join("app"), &args, &case.join("expected.yaml"), &case.join("expected.stderr"));
    }
}

#[test]
fn examples_render_to_their_committed_output() {
    let examples: Vec<_> = subdirectories(&workspace().join("examples"))
        .into_iter()
        .filter(|d| d.join("rendered.yaml").exists())
        .collect();
    assert!(examples.len() >= 2, "examples are missing their rendered output");
    let mut environments = 0;
    for example in examples {
        check_case(&example, &example, &[], &example.join("rendered.yaml"), &example.join("rendered.stderr"));
        // Each environment of the project file renders to `rendered/<env>.yaml`.
        let Ok(project) = std::fs::read_to_string(example.join("modelgen.yaml")) else { continue };
        let project: serde_json::Value = serde_saphyr::from_str(&project).expect("project YAML");
        for name in
            project["environments"].as_object().map(|e| e.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
        {
            let rendered = example.join("rendered");
            let args = ["--env".to_owned(), name.clone()];
            check_case(
                &example,
                &example,
                &args,
                &rendered.join(format!("{name}.yaml")),
                &rendered.join(format!("{name}.stderr")),
            );
            environments += 1;
        }
    }
    assert!(environments >= 3, "the multi-environment example is missing");
}

#[test]
fn crd_validation_catches_unknown_and_mistyped_fields() {
    // The check must fail where the API server would prune or reject, or the
    // tests above would prove nothing. Start from a real rendered example.
    let stream = std::fs::read_to_string(workspace().join("examples/mochanet/rendered.yaml")).expect("example");
    let good = support::documents(&stream).remove(0);
    let check = |object: &serde_json::Value| modelgen::crd::check(std::slice::from_ref(object));
    assert_eq!(check(&good), []);
    let mut unknown = good.clone();
    unknown["spec"]["predictor"]["model"]["storageURI"] = "s3://m".into();
    assert!(check(&unknown).iter().any(|v| v.message.contains("storageURI")), "{:?}", check(&unknown));
    let mut mistyped = good.clone();
    mistyped["spec"]["predictor"]["minReplicas"] = "two".into();
    assert!(!check(&mistyped).is_empty());
    let mut canary_without_name = good;
    canary_without_name["spec"]["canary"] = serde_json::json!([{
        "trafficPercent": 10,
        "predictor": {"name": "canary", "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://n"}},
    }]);
    assert!(!check(&canary_without_name).is_empty(), "the CRD requires `name` inside the canary's model");
}

#[test]
fn crd_validation_holds_the_llm_kinds_to_their_schemas() {
    // The LLM example renders an LLMInferenceService and KEDA ScaledObjects;
    // their vendored CRDs must catch what the API server would prune or refuse.
    let stream = std::fs::read_to_string(workspace().join("examples/gpt-oss/rendered.yaml")).expect("example");
    let objects = support::documents(&stream);
    let check = |object: &serde_json::Value| modelgen::crd::check(std::slice::from_ref(object));
    let service = objects.iter().find(|o| o["kind"] == "LLMInferenceService").expect("an LLMInferenceService").clone();
    assert_eq!(service["apiVersion"], "serving.kserve.io/v1alpha2");
    assert_eq!(check(&service), []);
    let mut unknown = service.clone();
    unknown["spec"]["router"]["route"]["wieght"] = 10.into();
    assert!(check(&unknown).iter().any(|v| v.message.contains("wieght")), "{:?}", check(&unknown));
    let mut negative = service.clone();
    negative["spec"]["router"]["route"]["weight"] = (-1).into();
    assert!(!check(&negative).is_empty(), "weights start at 0");
    let mut group = service;
    group["spec"]["router"]["route"]["group"] = "Not_A_Label".into();
    assert!(!check(&group).is_empty(), "a group is a DNS label");
    let scaler = objects.iter().find(|o| o["kind"] == "ScaledObject").expect("a ScaledObject").clone();
    assert_eq!(check(&scaler), []);
    let mut no_triggers = scaler.clone();
    no_triggers["spec"]["triggers"] = serde_json::json!([]);
    assert!(!check(&no_triggers).is_empty(), "a ScaledObject needs a trigger");
    let mut number = scaler;
    number["spec"]["triggers"][0]["metadata"]["threshold"] = 5.into();
    assert!(!check(&number).is_empty(), "trigger metadata are strings");
    let config = serde_json::json!({
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceServiceConfig",
        "metadata": { "name": "gpt-oss-runtime-v1", "namespace": "llm" },
        "spec": { "template": { "containers": [{ "name": "main", "image": "ghcr.io/llm-d/llm-d-cuda:v0.8.0" }] } },
    });
    assert_eq!(check(&config), [], "a preset of the user's is checked against the same release");
}

#[test]
fn every_case_the_docs_cite_exists_and_is_pinned() {
    // The behaviour tables of the README and of `docs/` name the golden case
    // behind each row.
    let mut pages = vec![workspace().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(workspace().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    let mut cited = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("a page");
        let name = page.strip_prefix(workspace()).unwrap_or(page).display().to_string();
        for line in text.lines().filter(|l| l.starts_with('|')) {
            for piece in line
                .split('`')
                .skip(1)
                .step_by(2)
                .chain(line.split("](").skip(1).map(|p| p.split(')').next().unwrap_or_default()))
            {
                // A link from `docs/` reaches the repository through `../`.
                let piece = piece.strip_prefix("../").unwrap_or(piece);
                let Some(dir) =
                    piece.strip_prefix("tests/cases/").map(|c| workspace().join("tests/cases").join(c)).or_else(|| {
                        piece
                            .strip_prefix("examples/")
                            .map(|e| workspace().join("examples").join(e.split('/').next().unwrap_or_default()))
                    })
                else {
                    continue;
                };
                let pinned = ["expected.yaml", "expected.stderr", "rendered.yaml"].iter().any(|f| dir.join(f).exists());
                assert!(pinned, "{name} cites `{piece}`, which is not a pinned case or example");
                cited += 1;
            }
        }
    }
    assert!(cited >= 15, "the docs' tables cite only {cited} cases");
}

#[test]
fn the_published_schema_is_current_and_accepts_every_valid_spec() {
    let out = run_in(&workspace(), &["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let text = text(&out.stdout);
    assert_golden(&workspace().join("examples/modelgen.schema.json"), &text);
    let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut checked = 0;
    let apps = subdirectories(&workspace().join("examples")).into_iter().chain(
        subdirectories(&workspace().join("tests/cases"))
            .into_iter()
            .filter(|c| c.join("expected.yaml").exists())
            .map(|c| c.join("app")),
    );
    for app in apps {
        for file in modelgen::source::discover(&app, modelgen::source::InputLimits::default(), &support::kinds())
            .expect("readable")
            .files
        {
            let text = String::from_utf8(file.contents).expect("UTF-8");
            for doc in support::documents(&text)
                .into_iter()
                .filter(|d| d["kind"] == "ModelDeployment" || d["kind"] == "Project")
            {
                let errors: Vec<String> =
                    validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
                assert!(
                    errors.is_empty(),
                    "{}/{}: the schema rejects a valid spec:\n{}",
                    app.display(),
                    file.path,
                    errors.join("\n")
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} specs checked");
    // And it rejects what the plugin rejects for shape: unknown fields and wrong types.
    let typo = serde_json::json!({"apiVersion": "modelgen.dev/v1alpha1", "kind": "ModelDeployment", "metadata": {"name": "m"},
        "spec": {"model": {"format": "sklearn", "version": "v1", "storageURI": "s3://m"}}});
    assert!(!validator.is_valid(&typo));
    let project_typo = serde_json::json!({"apiVersion": "modelgen.dev/v1alpha1", "kind": "Project",
        "environments": {"prod": {"overrides": {"scalling": {"minReplicas": 3}}}}});
    assert!(!validator.is_valid(&project_typo), "the schema must catch a typo in an override");
}

#[test]
fn the_documented_backend_requirements_are_the_rules_table() {
    // The table in `docs/backend-requirements.md` is generated from the
    // plugin's rules table, which validation uses: the two cannot drift apart.
    let path = workspace().join("docs/backend-requirements.md");
    let page = std::fs::read_to_string(&path).expect("docs/backend-requirements.md");
    let (begin, end) = ("<!-- backend-rules:begin -->\n", "<!-- backend-rules:end -->");
    let start = page.find(begin).expect("the begin marker") + begin.len();
    let stop = page[start..].find(end).expect("the end marker") + start;
    let generated = modelgen_plugin::backend_rules_markdown();
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        let updated = format!("{}{generated}{}", &page[..start], &page[stop..]);
        std::fs::write(&path, updated).expect("rewrite docs/backend-requirements.md");
        return;
    }
    if page[start..stop] != generated {
        let diff = similar::TextDiff::from_lines(&page[start..stop], generated.as_str());
        panic!(
            "docs/backend-requirements.md differs from plugin/src/rules/ (BLESS=1 rewrites it):\n{}",
            diff.unified_diff().context_radius(2).header("docs/backend-requirements.md", "rules table")
        );
    }
    assert!(generated.matches("\n| `").count() >= 15, "the table lists the rules");
}
