//! `modelgen krm`: the KRM function round trip (a `ResourceList` in, items and results out), bad input, and a real `kpt fn eval --exec`.

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use support::{SELDON_V2_CANARY as SPEC, documents, modelgen, run_in, snapshot, text};

fn spec() -> Value {
    documents(SPEC).remove(0)
}

/// Runs `modelgen krm` with `input` on stdin.
fn krm(input: &str) -> Output {
    let mut child = modelgen()
        .arg("krm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn modelgen krm");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("feed stdin");
    child.wait_with_output().expect("wait")
}

fn resource_list(items: &[Value], config: Option<Value>) -> String {
    let mut list = json!({ "apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": items });
    if let Some(config) = config {
        list["functionConfig"] = config;
    }
    serde_json::to_string_pretty(&list).expect("JSON")
}

fn with_annotations(mut object: Value, annotations: &[(&str, &str)]) -> Value {
    for (key, value) in annotations {
        object["metadata"]["annotations"][*key] = json!(value);
    }
    object
}

/// How kpt hands over a spec read from `models/iris.yaml`.
fn kpt_item(object: Value, path: &str, id: &str) -> Value {
    with_annotations(
        object,
        &[
            ("config.kubernetes.io/index", "0"),
            ("config.kubernetes.io/path", path),
            ("internal.config.kubernetes.io/index", "0"),
            ("internal.config.kubernetes.io/path", path),
            ("config.k8s.io/id", id),
        ],
    )
}

fn config_map() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"enabled": "yes", "n": "1.10"}})
}

/// The objects `modelgen render` makes of `SPEC`, from a file named `file`.
fn rendered(spec: &str, file: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join(file).parent().expect("parent")).expect("mkdir");
    std::fs::write(dir.path().join(file), spec).expect("write");
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    documents(&text(&out.stdout))
}

fn output(out: &Output) -> Value {
    let list = documents(&text(&out.stdout));
    assert_eq!(list.len(), 1, "one ResourceList on stdout");
    list.into_iter().next().expect("one")
}

#[test]
fn a_kustomize_generator_gets_the_input_items_and_the_generated_objects() {
    // kustomize passes the config as the function config and as the only
    // item, marked local so that it stays out of the build.
    let config = with_annotations(spec(), &[("config.kubernetes.io/local-config", "true")]);
    let out = krm(&resource_list(&[config.clone(), config_map()], Some(config.clone())));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let list = output(&out);
    assert_eq!(list["apiVersion"], "config.kubernetes.io/v1");
    assert_eq!(list["kind"], "ResourceList");
    assert!(list.get("results").is_none(), "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items[0], config, "input items pass through unchanged");
    assert_eq!(items[1], config_map(), "YAML 1.2 strings stay strings");
    let generated = &items[2..];
    // The same objects as `modelgen render`, named after the function config.
    let mut expected = rendered(SPEC, "spec.yaml");
    for object in &mut expected {
        object["metadata"]["annotations"]["modelgen.dev/source"] = json!("functionConfig");
    }
    assert_eq!(generated, expected.as_slice(), "the orchestrator's annotations are not copied onto objects");
    assert_eq!(modelgen::verify::crd::check(generated), [], "the generated objects match their CRDs");
}

#[test]
fn a_file_backed_package_gets_files_and_earlier_output_is_replaced() {
    let item = kpt_item(spec(), "models/iris.yaml", "1");
    // What an earlier run generated, before the canary weight changed and
    // with an object the spec no longer makes.
    let mut earlier: Vec<Value> =
        rendered(&SPEC.replace("trafficPercent: 10", "trafficPercent: 5"), "models/iris.yaml");
    let mut stale = earlier[0].clone();
    stale["metadata"]["name"] = json!("iris-shadow");
    earlier.push(stale);
    let earlier: Vec<Value> = earlier.into_iter().map(|o| kpt_item(o, "ml/whatever.yaml", "9")).collect();
    let mut items = vec![config_map(), item.clone()];
    items.extend(earlier);
    let kpt_default_config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}});
    let out = krm(&resource_list(&items, Some(kpt_default_config)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list = output(&out);
    let items = list["items"].as_array().expect("items");
    assert_eq!(&items[..2], &[config_map(), item], "the package's own items come first, unchanged");
    let generated: BTreeMap<String, &Value> = items[2..]
        .iter()
        .map(|o| {
            (o["metadata"]["annotations"]["internal.config.kubernetes.io/path"].as_str().expect("a path").to_owned(), o)
        })
        .collect();
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        ["ml/experiment_iris-experiment.yaml", "ml/model_iris-canary.yaml", "ml/model_iris.yaml"],
        "one file per object, and nothing stale"
    );
    for (path, object) in &generated {
        let annotations = &object["metadata"]["annotations"];
        assert_eq!(annotations["config.kubernetes.io/path"], path.as_str());
        assert_eq!(annotations["internal.config.kubernetes.io/index"], "0");
        assert_eq!(annotations["config.kubernetes.io/index"], "0");
        assert_eq!(annotations["modelgen.dev/source"], "models/iris.yaml", "the spec's file, as `render` names it");
    }
    assert_eq!(generated["ml/experiment_iris-experiment.yaml"]["spec"]["candidates"][1]["weight"], 10);
}

#[test]
fn problems_are_results_that_point_at_the_spec_and_leave_the_package_as_it_was() {
    let broken = documents(
        &SPEC.replace("trafficPercent: 10", "trafficPercent: 150").replace("format: sklearn", "format: sklearnn"),
    )
    .remove(0);
    let items = vec![kpt_item(broken, "models/iris.yaml", "1"), config_map()];
    let out = krm(&resource_list(&items, None));
    assert_eq!(out.status.code(), Some(1));
    let list = output(&out);
    assert_eq!(list["items"].as_array().expect("items"), &items, "nothing is generated on error");
    let results = list["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "shape errors stop at the first per document: {results:?}");
    assert_eq!(
        results[0],
        json!({
            "severity": "error",
            "message": "unknown value `sklearnn`; hint: did you mean `sklearn`?",
            "resourceRef": {"apiVersion": "modelgen.dev/v1alpha1", "kind": "ModelDeployment", "name": "iris", "namespace": "ml"},
            "field": {"path": "spec.model.format"},
            "file": {"path": "models/iris.yaml", "index": 0},
        })
    );
    // For people: the file and field, no line numbers that would point nowhere.
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("models/iris.yaml: error: unknown value `sklearnn`\n"), "{stderr}");

    // A warning is a result too, and no failure.
    let warned = documents(&SPEC.replace("spec:\n", "spec:\n  route: {hosts: [a.example.com]}\n")).remove(0);
    let out = krm(&resource_list(&[], Some(warned)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let results = output(&out)["results"].as_array().expect("results").clone();
    assert_eq!(results[0]["severity"], "warning");
    assert_eq!(results[0]["field"]["path"], "spec.route");
    assert!(results[0].get("file").is_none(), "the function config has no file");
}

#[test]
fn a_list_of_specs_is_one_function_config_and_anything_else_is_refused() {
    let other = documents(&SPEC.replace("name: iris", "name: lily")).remove(0);
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [spec(), other]});
    let out = krm(&resource_list(&[], Some(list)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let names: Vec<String> = output(&out)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| o["kind"] == "Model")
        .map(|o| o["metadata"]["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["iris", "iris-canary", "lily", "lily-canary"]);

    for (config, message) in [
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}),
            "the `functionConfig` is `v1/ConfigMap c`; it must be a `ModelDeployment` or a `v1` `List` of them",
        ),
        (
            json!({"apiVersion": "v1", "kind": "List", "items": [config_map()]}),
            "`functionConfig.items[0]` is `v1/ConfigMap settings`, not a `ModelDeployment`",
        ),
        (
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}}),
            "no `ModelDeployment` to render",
        ),
    ] {
        let out = krm(&resource_list(&[config_map()], Some(config)));
        assert_eq!(out.status.code(), Some(1));
        let list = output(&out);
        assert!(list["results"][0]["message"].as_str().expect("message").starts_with(message), "{list}");
        assert_eq!(list["items"], json!([config_map()]));
    }
}

#[test]
fn a_malformed_resource_list_is_an_error_with_nothing_on_stdout() {
    for (input, expected) in [
        ("", "it is not a mapping"),
        ("items: [unclosed", "line 1"),
        ("apiVersion: config.kubernetes.io/v1\nkind: List\nitems: []\n", "`kind` is not `ResourceList`"),
        ("apiVersion: v1\nkind: ResourceList\nitems: []\n", "`apiVersion` is `v1`, not `config.kubernetes.io/v1`"),
        ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n", "`items` is missing or not a list"),
        ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [1]\n", "`items[0]` is not an object"),
        ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nitems: []\n", "duplicate"),
    ] {
        let out = krm(input);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert!(out.stdout.is_empty(), "{input:?}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error: the ResourceList on stdin is malformed: "), "{input:?}: {stderr}");
        assert!(stderr.to_lowercase().contains(&expected.to_lowercase()), "{input:?}: {stderr}");
    }
}

/// Every file of a package with its text.
fn package(dir: &Path) -> BTreeMap<String, String> {
    snapshot(dir).into_iter().map(|(path, bytes)| (path, String::from_utf8(bytes).expect("text"))).collect()
}

/// `kpt fn eval DIR --exec "modelgen krm"`, as kpt users run it.
fn kpt_eval(dir: &Path) -> Output {
    let exec = format!("{} krm", env!("CARGO_BIN_EXE_modelgen"));
    let cache =
        modelgen().get_envs().find(|(k, _)| *k == "MODELGEN_CACHE_DIR").and_then(|(_, v)| v.map(ToOwned::to_owned));
    let mut command = Command::new("kpt");
    command.args(["fn", "eval"]).arg(dir).args(["--exec", &exec, "--truncate-output=false"]);
    if let Some(cache) = cache {
        command.env("MODELGEN_CACHE_DIR", cache);
    }
    command.output().expect("`kpt` is on PATH (kpt 1.0.0-beta.56 is part of the image and of CI)")
}

#[test]
fn kpt_fn_eval_runs_modelgen_as_an_exec_function() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(pkg.join("models")).expect("mkdir");
    let commented =
        format!("# The iris classifier; see the runbook.\n{}", SPEC.replace("version: v1\n", "version: v1 # pinned\n"));
    std::fs::write(pkg.join("models/iris.yaml"), &commented).expect("write");
    std::fs::write(
        pkg.join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  enabled: \"yes\"\n",
    )
    .expect("write");

    let out = kpt_eval(&pkg);
    assert!(out.status.success(), "kpt failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    let files = package(&pkg);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "ml/experiment_iris-experiment.yaml",
            "ml/model_iris-canary.yaml",
            "ml/model_iris.yaml",
            "models/iris.yaml",
            "settings.yaml"
        ]
    );
    assert_eq!(files["models/iris.yaml"], commented, "kpt keeps the spec's comments: the function passed it through");
    // The generated files hold what `modelgen render` prints for the package.
    let expected = rendered(SPEC, "models/iris.yaml");
    for object in &expected {
        let file = format!(
            "ml/{}_{}.yaml",
            object["kind"].as_str().expect("kind").to_lowercase(),
            object["metadata"]["name"].as_str().expect("name")
        );
        assert_eq!(&documents(&files[&file])[0], object, "{file}");
    }

    // Idempotent: a second run changes nothing.
    let again = kpt_eval(&pkg);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(package(&pkg), files);

    // Promoting the canary removes what only the canary needed.
    let promoted = commented
        .replace("s3://models/iris/v1", "s3://models/iris/v2")
        .replace("version: v1 # pinned", "version: v2 # pinned");
    let promoted = promoted.split("  canary:").next().expect("prefix").to_owned();
    std::fs::write(pkg.join("models/iris.yaml"), &promoted).expect("promote");
    let out = kpt_eval(&pkg);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(package(&pkg).keys().collect::<Vec<_>>(), ["ml/model_iris.yaml", "models/iris.yaml", "settings.yaml"]);

    // A broken spec fails the function, kpt reports it, and the package stays.
    let before = package(&pkg);
    std::fs::write(pkg.join("models/iris.yaml"), promoted.replace("format: sklearn", "format: sklearnn"))
        .expect("break");
    let out = kpt_eval(&pkg);
    assert!(!out.status.success());
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(report.contains("spec.model.format: unknown value `sklearnn`"), "{report}");
    let after = package(&pkg);
    assert_eq!(after["ml/model_iris.yaml"], before["ml/model_iris.yaml"]);
    assert_eq!(after.len(), before.len());
}

/// A spec named `m<i>`, optionally where kpt says it is (`models/m<i>.yaml`).
fn numbered_spec(i: usize, placed: bool) -> Value {
    let mut spec = json!({
        "apiVersion": "modelgen.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": format!("m{i}"), "namespace": "ml"},
        "spec": {"model": {"format": "sklearn", "version": "v1", "storageUri": format!("s3://models/m{i}/v1")}},
    });
    if placed {
        let path = format!("models/m{i}.yaml");
        spec = with_annotations(
            spec,
            &[("internal.config.kubernetes.io/path", &path), ("config.kubernetes.io/path", &path)],
        );
    }
    spec
}

/// `modelgen krm` with `input` on stdin, measured (CPU time and peak memory).
fn measured_krm(input: &str) -> support::Measured {
    let file = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(file.path(), input).expect("write the ResourceList");
    let mut command = modelgen();
    command.arg("krm").stdin(std::fs::File::open(file.path()).expect("open"));
    support::measured_command(command)
}

#[test]
fn large_packages_cost_time_in_proportion_to_their_size() {
    // Eight times the specs must cost about eight times the CPU, not sixty-four:
    // a package of specs without files (one source), and one whose specs
    // kpt placed in files, passed again as a `List` function config.
    let package = |n: usize| resource_list(&(0..n).map(|i| numbered_spec(i, false)).collect::<Vec<_>>(), None);
    let listed = |n: usize| {
        let items: Vec<Value> = (0..n).map(|i| numbered_spec(i, true)).collect();
        let config = json!({"apiVersion": "v1", "kind": "List", "items": (0..n).map(|i| numbered_spec(i, false)).collect::<Vec<_>>()});
        resource_list(&items, Some(config))
    };
    for (shape, input) in [("package", &package as &dyn Fn(usize) -> String), ("listed", &listed)] {
        let small = measured_krm(&input(250));
        let large = measured_krm(&input(2000));
        assert_eq!((small.code, large.code), (Some(0), Some(0)), "{shape}: {}{}", small.stderr, large.stderr);
        assert_eq!(documents(&large.stdout)[0]["items"].as_array().map(Vec::len), Some(4000));
        let ratio = large.cpu.as_secs_f64() / small.cpu.as_secs_f64().max(0.01);
        assert!(
            ratio < 14.0,
            "{shape}: 2,000 specs took {:?} of CPU, 250 took {:?} (×{ratio:.1})",
            large.cpu,
            small.cpu
        );
    }
}

#[test]
fn values_from_the_input_are_clipped_and_problems_are_printed_too() {
    // A megabyte-long `apiVersion` and a line break in a kind, in a function config that is no spec.
    let long = "x".repeat(1024 * 1024);
    let config = json!({"apiVersion": long, "kind": "Foo\n::error::injected", "metadata": {"name": "f"}});
    let out = krm(&resource_list(&[config_map()], Some(config)));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.len() < 64 * 1024, "the ResourceList repeats the input: {} bytes", out.stdout.len());
    let list = output(&out);
    let message = list["results"][0]["message"].as_str().expect("a result");
    assert!(message.starts_with("the `functionConfig` is `xxx") && message.contains("bytes in all)"), "{message}");
    assert!(message.contains("Foo\\n::error::injected"), "{message}");
    // Problems found before rendering are on stderr too, for people.
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: the `functionConfig` is `xxx"), "{stderr}");
    assert!(stderr.len() < 16 * 1024 && !stderr.lines().any(|l| l.starts_with("::")), "{stderr}");
    // A malformed list is refused without repeating it.
    let out = krm(&format!("apiVersion: {long}\nkind: ResourceList\nitems: []\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.len() < 16 * 1024, "stderr is {} bytes", out.stderr.len());
}
