//! The command line as users and GitOps controllers meet it: exit codes, stdout discipline, messages, files.

mod support;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use support::{app, documents, modelgen, run_in, text, workspace};

const SPEC: &str = support::TINY_SPEC;

#[test]
fn a_valid_app_renders_to_stdout_and_exits_zero() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let docs = documents(&text(&out.stdout));
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["kind"], "InferenceService");
    assert_eq!(docs[0]["metadata"].get("namespace"), None, "no namespace unless asked for");
}

#[test]
fn namespace_flag_fills_in_specs_without_one() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let out = run_in(dir.path(), &["render", ".", "--namespace", "ml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(documents(&text(&out.stdout))[0]["metadata"]["namespace"], "ml");
}

#[test]
fn a_single_file_can_be_rendered() {
    let dir = app(&[("a.yaml", SPEC), ("b.yaml", &SPEC.replace("tiny", "other"))]);
    let out = run_in(dir.path(), &["render", "b.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let docs = documents(&text(&out.stdout));
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["metadata"]["name"], "other");
}

#[test]
fn invalid_input_exits_one_with_a_located_message_and_empty_stdout() {
    let bad = SPEC.replace("v1\n    storageUri", "v1\n    storageURI");
    let dir = app(&[("models/tiny.yaml", &bad), ("ok.yaml", &SPEC.replace("tiny", "fine"))]);
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "half a render reached stdout");
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("models/tiny.yaml:9:5: error: unknown field `storageURI`\n"), "{stderr}");
    assert!(stderr.contains("did you mean `storageUri`?"), "{stderr}");
    assert!(stderr.contains("9 |     storageURI: s3://models/tiny/v1\n"), "{stderr}");
}

#[test]
fn every_error_in_every_file_is_reported_at_once() {
    let dir = app(&[
        ("a.yaml", &SPEC.replace("name: tiny", "name: Tiny")),
        ("b.yaml", &SPEC.replace("format: sklearn", "format: sklearnn")),
        ("c.yaml", "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\n: : :\n"),
    ]);
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for expected in
        ["a.yaml:4:9: error:", "b.yaml:7:13: error: unknown value `sklearnn`", "c.yaml:3:", "failed with 3 errors"]
    {
        assert!(stderr.contains(expected), "missing `{expected}` in:\n{stderr}");
    }
}

#[test]
fn no_spec_at_all_is_an_error_not_an_empty_success() {
    let dir = app(&[("other.yaml", "apiVersion: v1\nkind: ConfigMap\n")]);
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("no `ModelDeployment` spec found"), "{}", text(&out.stderr));
}

#[test]
fn unrelated_yaml_is_not_our_business_even_when_broken() {
    let dir = app(&[("tiny.yaml", SPEC), ("values.yaml", "{ not: [valid"), ("notes.txt", "modelgen.dev/ mentioned")]);
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let out = run_in(&workspace(), &["render", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("`no/such/dir`"), "{}", text(&out.stderr));
}

#[test]
fn symlinks_out_of_the_app_are_refused() {
    let outside = app(&[("secret.yaml", SPEC)]);
    let dir = app(&[("tiny.yaml", SPEC)]);
    std::os::unix::fs::symlink(outside.path().join("secret.yaml"), dir.path().join("link.yaml")).expect("symlink");
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("outside the application directory"), "{}", text(&out.stderr));
}

#[test]
fn fifos_are_refused_rather_than_blocking_the_render() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let fifo = dir.path().join("pipe.yaml");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a regular file"), "{}", text(&out.stderr));
}

#[test]
fn hidden_directories_are_skipped() {
    let dir = app(&[("tiny.yaml", SPEC), (".git/x.yaml", &SPEC.replace("name: tiny", "name: BAD"))]);
    let out = run_in(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn schema_prints_the_spec_json_schema() {
    let out = run_in(&workspace(), &["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(schema["$defs"]["ModelDeployment"]["title"], "ModelDeployment");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

#[test]
fn info_names_the_plugin_and_its_kinds() {
    let out = run_in(&workspace(), &["info"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("- modelgen.dev/v1alpha1/ModelDeployment"), "{}", text(&out.stdout));
}

#[test]
fn another_plugin_file_can_be_swapped_in() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let plugin = dir.path().join("plugin.wasm");
    std::fs::write(&plugin, modelgen::plugin::runtime::EMBEDDED_PLUGIN).expect("write plugin");
    let builtin = run_in(dir.path(), &["render"]);
    let swapped = run_in(dir.path(), &["render", "--plugin", plugin.to_str().expect("UTF-8 path")]);
    assert_eq!(swapped.status.code(), Some(0), "{}", text(&swapped.stderr));
    assert_eq!(builtin.stdout, swapped.stdout);
}

#[test]
fn a_plugin_that_is_not_a_component_fails_with_exit_three() {
    let dir = app(&[("tiny.yaml", SPEC), ("bad.wasm", "not wasm at all")]);
    let out = run_in(dir.path(), &["render", "--plugin", "bad.wasm"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("cannot load the plugin `bad.wasm`"), "{}", text(&out.stderr));
    let missing = run_in(dir.path(), &["render", "--plugin", "missing.wasm"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(text(&missing.stderr).contains("cannot read the plugin `missing.wasm`"), "{}", text(&missing.stderr));
}

#[test]
fn unknown_parameters_and_environments_are_errors() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let out = run_in(dir.path(), &["render", "--param", "weight=5", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown parameter `weight`") && stderr.contains("unknown environment `prod`"), "{stderr}");
    let usage = run_in(dir.path(), &["render", "--param", "novalue"]);
    assert_eq!(usage.status.code(), Some(2), "a malformed flag is a usage error");
}

/// `modelgen render` of `dir` with a plugin that is not built in (the
/// well-behaved mode of the hostile test plugin), so that its compiled code
/// goes through the cache in `cache`.
fn render_through_cache(dir: &std::path::Path, cache: &std::path::Path) -> std::process::Command {
    let mut command = modelgen();
    command
        .current_dir(dir)
        .args(["render", "tiny.yaml", "--param", "mode=ok", "--plugin"])
        .arg(support::hostile_plugin(support::Hostile::Current))
        .env("MODELGEN_CACHE_DIR", cache);
    command
}

#[test]
fn the_compile_cache_is_written_once_and_survives_damage() {
    // The built-in plugin ships precompiled; another plugin goes through the cache.
    let dir = app(&[("tiny.yaml", SPEC)]);
    let cache = dir.path().join("cache");
    // Each render forgets the renders kept before it, so that the plugin runs:
    // the compiled code is what is under test.
    let render = || {
        let _ = std::fs::remove_dir_all(cache.join("renders"));
        render_through_cache(dir.path(), &cache).output().expect("run")
    };
    let first = render();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let mut entries: Vec<_> =
        std::fs::read_dir(&cache).expect("cache created").flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    entries.sort();
    assert_eq!(entries.len(), 2, "one compiled entry and its checksum, no leftovers: {entries:?}");
    assert!(cache.join("verdicts").is_dir(), "the output check's verdict is remembered");
    let entry = &entries[0];
    assert_eq!(entry.extension().and_then(|e| e.to_str()), Some("cwasm"));
    assert_eq!(entries[1], modelgen::plugin::cache::CompileCache::checksum_path(entry));
    assert!(modelgen::plugin::cache::CompileCache::entry_is_whole(entry));
    assert_eq!(std::fs::metadata(&cache).expect("stat").permissions().mode() & 0o777, 0o700);

    // A damaged entry is recompiled, not trusted and not fatal.
    std::fs::write(entry, b"garbage").expect("damage the entry");
    let second = render();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert_eq!(first.stdout, second.stdout);
    assert!(std::fs::read(entry).expect("rewritten").len() > 1000, "the damaged entry was replaced");

    // An entry others could have written is ignored.
    std::fs::set_permissions(entry, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let third = render();
    assert_eq!(third.status.code(), Some(0), "{}", text(&third.stderr));
}

#[test]
fn renders_in_parallel_with_a_cold_cache_agree() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let cache = dir.path().join("cold-cache");
    let spawn =
        || render_through_cache(dir.path(), &cache).stdout(std::process::Stdio::piped()).spawn().expect("spawn");
    let children: Vec<_> = (0..3).map(|_| spawn()).collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
    for out in &outputs {
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stdout, outputs[0].stdout);
    }
    let leftovers = std::fs::read_dir(&cache)
        .expect("cache")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0, "temporary cache files were left behind");
}

#[test]
fn validate_prints_no_manifests_and_sets_the_exit_code() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let clean = run_in(dir.path(), &["validate"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    assert!(clean.stdout.is_empty(), "validate printed manifests");
    assert!(text(&clean.stderr).contains("0 errors and 0 warnings"), "{}", text(&clean.stderr));

    let bad = app(&[("tiny.yaml", &SPEC.replace("format: sklearn", "format: sk-learn"))]);
    let out = run_in(bad.path(), &["validate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["file"], "tiny.yaml");
    assert_eq!(lines[0]["line"], 7);
    assert_eq!(lines[0]["column"], 13);
    assert_eq!(lines[0]["field"], "spec.model.format");
    assert_eq!(lines[0]["severity"], "error");
}

#[test]
fn validate_github_format_is_pinned() {
    let dir = app(&[("models/tiny.yaml", &SPEC.replace("storageUri", "storageURI"))]);
    let out = run_in(dir.path(), &["validate", "--format", "github", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "::error file=models/tiny.yaml,line=9,col=5,title=spec.model.storageURI::unknown field `storageURI`%0Ahint: did you mean `storageUri`?\n"
    );
    // Paths are as the user gave them, so annotations land on the right file in the repository.
    let from_parent = modelgen()
        .current_dir(dir.path().parent().expect("parent"))
        .args(["validate", "--format", "github"])
        .arg(dir.path().file_name().expect("name"))
        .output()
        .expect("run");
    assert!(
        text(&from_parent.stdout).starts_with(&format!(
            "::error file={}/models/tiny.yaml,",
            dir.path().file_name().expect("name").to_string_lossy()
        )),
        "{}",
        text(&from_parent.stdout)
    );
}

#[test]
fn warnings_fail_validate_only_when_denied() {
    let spec = SPEC.replace("spec:\n", "spec:\n  route: {hosts: [a.example.com]}\n");
    let dir = app(&[("tiny.yaml", &spec)]);
    let lenient = run_in(dir.path(), &["validate", "--format", "github"]);
    assert_eq!(lenient.status.code(), Some(0));
    assert!(
        text(&lenient.stdout).starts_with("::warning file=tiny.yaml,line=6,col=3,title=spec.route::"),
        "{}",
        text(&lenient.stdout)
    );
    let strict = run_in(dir.path(), &["validate", "--deny-warnings"]);
    assert_eq!(strict.status.code(), Some(1));
    // `render` prints the warning and the manifests.
    let render = run_in(dir.path(), &["render"]);
    assert_eq!(render.status.code(), Some(0));
    assert!(!render.stdout.is_empty() && text(&render.stderr).contains("warning: `spec.route` is unused"));
}

#[test]
fn a_cold_cache_is_filled_with_the_machine_code_the_build_made() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let cache = dir.path().join("cache");
    let out =
        modelgen().current_dir(dir.path()).args(["render"]).env("MODELGEN_CACHE_DIR", &cache).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    // The entry is the build's precompiled code, checked whole, so the next render memory-maps it.
    assert!(std::fs::read(&entries[0]).expect("entry") == modelgen::plugin::runtime::EMBEDDED_PRECOMPILED);
    assert!(modelgen::plugin::cache::CompileCache::entry_is_whole(&entries[0]));
}

const PROJECT_WITH_PATCH_FILE: &str = "apiVersion: modelgen.dev/v1alpha1
kind: Project
environments:
  prod:
    patches:
      - path: patches/gpu.patch
        target: {kind: InferenceService}
";

#[test]
fn a_patch_file_behind_a_symlink_that_leaves_the_app_is_refused_at_its_line() {
    let outside = app(&[("gpu.patch", "- {op: add, path: /metadata/labels/leaked, value: \"yes\"}\n")]);
    let dir = app(&[("tiny.yaml", SPEC), ("modelgen.yaml", PROJECT_WITH_PATCH_FILE)]);
    std::fs::create_dir(dir.path().join("patches")).expect("mkdir");
    std::os::unix::fs::symlink(outside.path().join("gpu.patch"), dir.path().join("patches/gpu.patch"))
        .expect("symlink");
    let out = run_in(dir.path(), &["render", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "a refused render printed manifests");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("modelgen.yaml:6:15: error: `patches/gpu.patch` leads outside the application directory"),
        "{stderr}"
    );
    // The same file inside the application is read and applied.
    std::fs::remove_file(dir.path().join("patches/gpu.patch")).expect("unlink");
    std::fs::copy(outside.path().join("gpu.patch"), dir.path().join("patches/gpu.patch")).expect("copy");
    let out = run_in(dir.path(), &["render", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("leaked: \"yes\""));
}

#[test]
fn deny_warnings_turns_an_unmatched_patch_into_a_failed_render() {
    let project = PROJECT_WITH_PATCH_FILE.replace("kind: InferenceService", "kind: SeldonDeployment");
    let dir =
        app(&[("tiny.yaml", SPEC), ("modelgen.yaml", &project), ("patches/gpu.patch", "- {op: remove, path: /x}\n")]);
    let lenient = run_in(dir.path(), &["render", "--env", "prod"]);
    assert_eq!(lenient.status.code(), Some(0));
    assert!(text(&lenient.stderr).contains("warning: this patch matches no object"));
    let strict = run_in(dir.path(), &["render", "--env", "prod", "--deny-warnings"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(strict.stdout.is_empty());
}

/// The project file of `PROJECT_WITH_PATCH_FILE`, with three patch files.
const PROJECT_WITH_THREE_PATCH_FILES: &str = "apiVersion: modelgen.dev/v1alpha1
kind: Project
environments:
  prod:
    patches:
      - path: patches/a.patch
        target: {kind: InferenceService}
      - path: patches/b.patch
        target: {kind: InferenceService}
      - path: patches/c.patch
        target: {kind: InferenceService}
";

#[test]
fn patch_files_are_read_from_the_same_budget_as_spec_files() {
    // Each patch file is under the limit; together they are over it.
    let mut patch = String::from("- {op: add, path: /metadata/labels/patched, value: \"yes\"}\n");
    while patch.len() < 400_000 {
        patch.push_str("# padding, so that three of these pass the limit together\n");
    }
    let dir = app(&[
        ("tiny.yaml", SPEC),
        ("modelgen.yaml", PROJECT_WITH_THREE_PATCH_FILES),
        ("patches/a.patch", &patch),
        ("patches/b.patch", &patch),
        ("patches/c.patch", &patch),
    ]);
    let out = run_in(dir.path(), &["render", "--env", "prod", "--max-input-bytes", "1000000"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("modelgen.yaml:10:15: error: reading `patches/c.patch` (")
            && stderr.contains("past the limit of 1000000 bytes (raise it with `--max-input-bytes`)"),
        "{stderr}"
    );
    // Within a limit that holds them all, they are applied.
    let out = run_in(dir.path(), &["render", "--env", "prod", "--max-input-bytes", "2000000"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("patched: \"yes\""));
}

#[test]
fn a_patch_file_in_a_hidden_directory_is_refused_and_never_quoted() {
    let project = PROJECT_WITH_PATCH_FILE.replace("patches/gpu.patch", ".git/config");
    let dir = app(&[
        ("tiny.yaml", SPEC),
        ("modelgen.yaml", &project),
        (".git/config", "url = https://x-access-token:ghp_SECRET1@github.com/o/r.git\n"),
    ]);
    let out = run_in(dir.path(), &["render", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("modelgen.yaml:6:15: error: `.git/config` is in a hidden entry"), "{stderr}");
    assert!(!stderr.contains("ghp_SECRET1"), "a hidden file was read and quoted:\n{stderr}");
}

#[test]
fn lines_of_patch_files_are_never_quoted() {
    // The plugin reports the line; its text (which may hold anything) is not shown.
    let dir = app(&[
        ("tiny.yaml", SPEC),
        ("modelgen.yaml", PROJECT_WITH_PATCH_FILE),
        ("patches/gpu.patch", "- {op: frobnicate, path: /x, value: ghp_SECRET2}\n"),
    ]);
    let out = run_in(dir.path(), &["render", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("patches/gpu.patch:1:3: error: not a JSON patch operation"), "{stderr}");
    assert!(!stderr.contains("ghp_SECRET2"), "a patch file's line was quoted:\n{stderr}");
    // A spec file's line still is.
    let bad = app(&[("tiny.yaml", &SPEC.replace("format: sklearn", "format: sk-learn"))]);
    let out = run_in(bad.path(), &["render"]);
    assert!(text(&out.stderr).contains("7 |     format: sk-learn"), "{}", text(&out.stderr));
}

#[test]
fn files_that_are_not_specs_never_fail_the_render() {
    // A values file over the input limit, and a picture whose name is not UTF-8.
    let dir = app(&[("tiny.yaml", SPEC), ("values.yaml", &"replicas: 3\n".repeat(500))]);
    let picture = std::ffi::OsStr::from_bytes(b"logo-\xff\xfe.png");
    std::fs::write(dir.path().join(picture), b"\x89PNG").expect("write");
    let out = run_in(dir.path(), &["render", "--max-input-bytes", "2000"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("kind: InferenceService"));
    // A spec over the limit still fails.
    let big = app(&[("tiny.yaml", &format!("{SPEC}{}", "# padding\n".repeat(300)))]);
    let out = run_in(big.path(), &["render", "--max-input-bytes", "2000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("past the limit of 2000 bytes"), "{}", text(&out.stderr));
    // A 40 MB file that is not a spec is scanned, never held.
    let large = app(&[("tiny.yaml", SPEC)]);
    let mut values = std::io::BufWriter::new(std::fs::File::create(large.path().join("values.yaml")).expect("create"));
    for _ in 0..(40 * 1024 * 1024 / 32) {
        std::io::Write::write_all(&mut values, b"key: a value that is not a spec\n").expect("write");
    }
    drop(values);
    let run = support::measured(large.path(), &["render"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.max_rss < 200 * 1024 * 1024, "reading a 40 MB file that is not a spec took {} bytes", run.max_rss);
}

#[test]
fn a_closed_standard_output_fails_the_render() {
    // `render >&-`: the runtime would point stdout at /dev/null and lose the output.
    let dir = app(&[("tiny.yaml", SPEC)]);
    let shell = |redirect: &str| {
        std::process::Command::new("sh")
            .current_dir(dir.path())
            .arg("-c")
            .arg(format!("exec \"$0\" render --no-cache {redirect}"))
            .arg(env!("CARGO_BIN_EXE_modelgen"))
            .output()
            .expect("run sh")
    };
    let closed = shell(">&-");
    assert_eq!(closed.status.code(), Some(1), "{}", text(&closed.stderr));
    assert!(text(&closed.stderr).contains("cannot write to stdout: it was closed"), "{}", text(&closed.stderr));
    // Output thrown away on purpose is fine.
    assert_eq!(shell(">/dev/null").status.code(), Some(0));
}

#[test]
fn a_cache_directory_others_can_write_is_not_used_and_costs_no_compile() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let cache = dir.path().join("shared");
    std::fs::create_dir(&cache).expect("mkdir");
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let cache_arg = cache.to_str().expect("UTF-8");
    for _ in 0..2 {
        let run = support::measured(dir.path(), &["render", "--cache-dir", cache_arg]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(run.stdout.contains("kind: InferenceService"));
        assert_eq!(run.stderr.matches("warning: the cache directory").count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("others can write to it (mode 777)"), "{}", run.stderr);
        // Compiling the component takes seconds of CPU; the built-in machine code, milliseconds.
        assert!(run.cpu < std::time::Duration::from_millis(1500), "used {:?} of CPU", run.cpu);
        assert!(run.max_rss < 100 * 1024 * 1024, "peaked at {} bytes", run.max_rss);
    }
    assert_eq!(std::fs::read_dir(&cache).expect("list").count(), 0, "nothing was written into it");
}

#[test]
fn a_damaged_cache_entry_is_never_run() {
    let dir = app(&[("tiny.yaml", SPEC)]);
    let cache = dir.path().join("cache");
    let cache_arg = cache.to_str().expect("UTF-8");
    // Each render forgets the renders kept before it, so that the plugin
    // runs: the compiled code is what is under test.
    let render = || {
        let _ = std::fs::remove_dir_all(cache.join("renders"));
        support::measured(dir.path(), &["render", "--cache-dir", cache_arg])
    };
    let first = render();
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let entry = std::fs::read_dir(&cache)
        .expect("cache")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("an entry");
    // Found whole by a render once it has settled, the entry's identity is
    // recorded, so that later renders need not read its bytes again.
    let checksum = modelgen::plugin::cache::CompileCache::checksum_path(&entry);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let settled = render();
    assert_eq!((settled.code, &settled.stdout), (Some(0), &first.stdout), "{}", settled.stderr);
    let recorded = std::fs::read_to_string(&checksum).expect("checksum");
    let meta = std::fs::metadata(&entry).expect("stat");
    let identity = format!(
        "checked {} {} {} {} {} {} {}\n",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.ctime(),
        meta.ctime_nsec(),
        meta.mtime(),
        meta.mtime_nsec()
    );
    assert!(recorded.ends_with(&identity), "{recorded:?} does not record {identity:?}");
    // The machine code's middle overwritten with breakpoints in place (the
    // identity changes with it); its header intact.
    let mut bytes = std::fs::read(&entry).expect("entry");
    let len = bytes.len();
    bytes[len / 4..len * 3 / 4].fill(0xcc);
    std::fs::write(&entry, &bytes).expect("damage");
    let second = render();
    assert_eq!(second.code, Some(0), "the damaged entry ran: {:?}\n{}", second.code, second.stderr);
    assert_eq!(second.stdout, first.stdout);
    assert!(
        std::fs::read(&entry).expect("entry") == modelgen::plugin::runtime::EMBEDDED_PRECOMPILED,
        "the entry was replaced"
    );
    // A damaged checksum is damage too.
    std::fs::write(modelgen::plugin::cache::CompileCache::checksum_path(&entry), "v1 12 00000000\n").expect("damage");
    let third = render();
    assert_eq!((third.code, third.stdout), (Some(0), first.stdout));
    assert!(modelgen::plugin::cache::CompileCache::entry_is_whole(&entry), "the checksum was rewritten");
}

/// Specs whose diagnostics point at lines that hold secrets: a credential
/// in a storage URI, a token in an environment variable, and the same on a
/// line whose error is about another field.
const LEAKY_SPECS: [(&str, &str); 4] = [
    (
        "uri.yaml",
        "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: uri\nspec:\n  model:\n    \
         format: sklearn\n    version: v1\n    storageUri: s3://user:hunter2@bucket/m\n",
    ),
    (
        "token.yaml",
        "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: token\nspec:\n  model:\n    \
         version: v1\n    image: ghcr.io/acme/cat:v1\n    env:\n      \
         - {name: HF_TOKEN, value: hf_SecretTokenQwErTyUiOpAsDfGhJkLzXcVb}\n",
    ),
    (
        "beside.yaml",
        "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: beside\nspec:\n  model: \
         {format: sklearn, version: v1, storageUri: \"s3://admin:s3cr3tpw@bucket/m\", bogus: 1}\n",
    ),
    (
        // Secret by its name only, on a line whose error is about another field.
        "named.yaml",
        "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: named\nspec:\n  model:\n    \
         version: v1\n    image: ghcr.io/acme/cat:v1\n    env:\n      \
         - {name: API_PASSWORD, value: plain-password-77, bogus: 1}\n",
    ),
];

/// The secrets in [`LEAKY_SPECS`].
const SECRETS: [&str; 4] = ["hunter2", "hf_SecretTokenQwErTyUiOpAsDfGhJkLzXcVb", "s3cr3tpw", "plain-password-77"];

#[test]
fn a_secret_in_a_spec_is_never_printed_in_any_format() {
    let dir = app(&LEAKY_SPECS);
    let runs = [["validate", "human"], ["validate", "json"], ["validate", "github"], ["render", ""], ["diff", ""]];
    for [command, format] in runs {
        let args: Vec<&str> = match (command, format) {
            ("diff", _) => vec!["diff", ".", "."],
            (_, "") => vec![command, "."],
            _ => vec![command, ".", "--format", format],
        };
        let format = if format.is_empty() { "human" } else { format };
        let out = run_in(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{command} {format}: {}", text(&out.stderr));
        let printed = format!("{}{}", text(&out.stdout), text(&out.stderr));
        for secret in SECRETS {
            assert!(!printed.contains(secret), "{command} {format} printed `{secret}`:\n{printed}");
        }
        for file in ["uri.yaml", "token.yaml", "beside.yaml", "named.yaml"] {
            assert!(printed.contains(file), "{command} {format}: nothing about `{file}`:\n{printed}");
        }
        if format == "human" {
            // The lines are quoted, masked.
            assert!(printed.contains("9 |     storageUri: s3://***@bucket/m\n"), "{printed}");
            assert!(printed.contains("10 |       - {name: HF_TOKEN, value: ***"), "{printed}");
            assert!(printed.contains("\"s3://***@bucket/m\", bogus: 1}"), "{printed}");
            // Only the value is masked: the rest of the flow mapping stays readable.
            assert!(printed.contains("- {name: API_PASSWORD, value: ***, bogus: 1}"), "{printed}");
        }
    }
}

#[test]
fn after_one_spec_changed_only_its_objects_are_checked_again() {
    let other = |name: &str| SPEC.replace("tiny", name);
    let dir = app(&[("a.yaml", &other("a")), ("b.yaml", &other("b")), ("c.yaml", &other("c"))]);
    let cache = dir.path().join("cache");
    let render = || {
        let out = modelgen().current_dir(dir.path()).arg("render").env("MODELGEN_CACHE_DIR", &cache).output();
        let out = out.expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out.stdout
    };
    // One 32-byte verdict per object and check (the CRD schemas, the names).
    let logs =
        || ["objects", "names"].map(|log| std::fs::metadata(cache.join("verdicts").join(log)).map_or(0, |m| m.len()));
    let first = render();
    assert_eq!(documents(&text(&first)).len(), 3);
    assert_eq!(logs(), [3 * 32, 3 * 32], "every object of a cold render is recorded");
    assert_eq!(render(), first);
    assert_eq!(logs(), [3 * 32, 3 * 32], "a warm render records nothing");
    std::fs::write(dir.path().join("b.yaml"), other("b2")).expect("edit one spec");
    let edited = render();
    assert_eq!(logs(), [4 * 32, 4 * 32], "only the changed spec's object was checked and recorded");
    let fresh = modelgen().current_dir(dir.path()).args(["render", "--no-cache"]).output().expect("run");
    assert_eq!(edited, fresh.stdout, "verdicts change no output");
}
