//! Hostile plugins and hostile input: every one ends in a clear error (or a render), never a hang, a crash or half an output.
//!
//! Time and memory are bounded by measurement (the child's CPU time and
//! peak RSS from the kernel), not by wall-clock deadlines.

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use modelgen::diagnostic::ParameterKind;
use modelgen::input::source::SourceFile;
use modelgen::plugin::runtime::{self, Limits, RenderContext, Reply, Runtime};
use modelgen::rollout::{Decision, EditAction, Gate, Observation, OnFailure, Rollout};
use support::{Hostile, hostile_plugin, measured};

const SPEC: &str = support::TINY_SPEC;

/// Generous bounds: far above a normal render (milliseconds, tens of MiB),
/// far below what an unbounded run would take.
const MAX_CPU: Duration = Duration::from_secs(30);
const MAX_RSS: u64 = 1024 * 1024 * 1024;

fn app(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary app");
    for (path, contents) in files {
        std::fs::write(dir.path().join(path), contents).expect("write");
    }
    dir
}

fn with_hostile(mode: &str, extra: &[&str]) -> support::Measured {
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    hostile_in(dir.path(), "render", mode, extra)
}

/// `modelgen COMMAND . --plugin hostile --param mode=MODE EXTRA...` in `dir`.
fn hostile_in(dir: &Path, command: &str, mode: &str, extra: &[&str]) -> support::Measured {
    let plugin = hostile_plugin(Hostile::Current);
    let param = format!("mode={mode}");
    let mut args = vec![command, ".", "--plugin", plugin.to_str().expect("UTF-8 path"), "--param", &param];
    args.extend_from_slice(extra);
    measured(dir, &args)
}

/// A generator component from `hostile-plugin/generator.wat`, with
/// `declarations` added to its core module and `generate` running `body`.
fn wat_plugin(dir: &Path, declarations: &str, body: &str) -> PathBuf {
    let text = include_str!("hostile-plugin/generator.wat")
        .replace(";; DECLARATIONS", declarations)
        .replace(";; GENERATE", body);
    let wasm = wat::parse_str(&text).expect("the hostile component is valid text");
    let path = dir.join("hostile.wasm");
    std::fs::write(&path, wasm).expect("write the plugin");
    path
}

/// A project file, which the hostile plugin names as its own: a render describes first.
const PROJECT: &str = "apiVersion: modelgen.dev/v1alpha1\nkind: Project\n";

/// `text(i)` for each `i`, one per line.
fn each(range: std::ops::RangeInclusive<usize>, text: impl Fn(usize) -> String) -> String {
    range.fold(String::new(), |mut out, i| {
        let _ = writeln!(out, "{}", text(i));
        out
    })
}

/// A line the GitHub Actions runner would take for a workflow command.
fn is_workflow_command(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("::") || line.starts_with("##[")
}

fn assert_refused(run: &support::Measured, code: i32, needle: &str) {
    assert_eq!(run.code, Some(code), "stderr:\n{}", run.stderr);
    assert!(run.stdout.is_empty(), "a refused render printed:\n{}", run.stdout);
    assert!(run.stderr.contains(needle), "expected `{needle}` in:\n{}", run.stderr);
    assert!(run.stderr.lines().count() < 40, "the message should fit a screen:\n{}", run.stderr);
    assert!(run.cpu < MAX_CPU && run.max_rss < MAX_RSS, "used {:?} CPU and {} bytes", run.cpu, run.max_rss);
}

#[test]
fn the_harness_plugin_works_when_it_behaves() {
    let run = with_hostile("ok", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("kind: InferenceService"));
}

#[test]
fn an_endless_loop_hits_the_time_limit() {
    let run = with_hostile("loop", &["--timeout", "0.5"]);
    assert_refused(&run, 3, "ran longer than its time limit of 0.5 s (raise it with `--timeout`)");
}

#[test]
fn a_memory_hog_hits_the_memory_limit() {
    let run = with_hostile("hog", &["--max-memory", "64"]);
    assert_refused(&run, 3, "more than its memory limit of 64 MiB (raise it with `--max-memory`)");
    assert!(run.max_rss < 256 * 1024 * 1024, "the host itself grew to {} bytes", run.max_rss);
}

#[test]
fn a_trap_is_an_internal_error() {
    assert_refused(&with_hostile("trap", &[]), 3, "the plugin crashed (a bug in the plugin, not in your spec)");
}

#[test]
fn strings_that_are_not_utf8_are_refused() {
    assert_refused(&with_hostile("bad-utf8", &[]), 3, "the plugin crashed");
}

#[test]
fn documents_that_are_no_kubernetes_objects_are_refused() {
    assert_refused(&with_hostile("not-kubernetes", &[]), 3, "is not a kind modelgen knows the schema of");
    assert_refused(&with_hostile("not-yaml", &[]), 3, "a document that is not YAML");
}

#[test]
fn a_renderer_that_writes_an_unknown_field_is_caught_before_printing() {
    let run = with_hostile("unknown-field", &[]);
    assert_refused(
        &run,
        3,
        "InferenceService hostile: /spec/predictor/model: Additional properties are not allowed ('storageURI' was unexpected)",
    );
}

#[test]
fn a_plugin_built_for_another_contract_version_is_refused_before_linking() {
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let plugin = hostile_plugin(Hostile::Future);
    let run = measured(dir.path(), &["render", "--plugin", plugin.to_str().expect("UTF-8 path")]);
    assert_refused(
        &run,
        3,
        "the plugin implements `modelgen:generator/generator@0.3.0`, but this host speaks `0.2.0` and `0.1.0`; use a \
         plugin built for 0.2.x or 0.1.x, or a modelgen release that speaks 0.3.0",
    );
}

/// The hostile plugin (or `build`), loaded in this process with a short
/// time limit and a small memory limit.
fn runtime(build: Hostile) -> Runtime {
    let limits = Limits {
        timeout: Duration::from_millis(500),
        memory_bytes: 64 * 1024 * 1024,
        timeout_per_mib: Duration::ZERO,
        memory_per_mib: 0,
    };
    Runtime::from_file(&hostile_plugin(build), None, limits).expect("the hostile plugin loads")
}

fn with_mode(mode: &str) -> RenderContext {
    RenderContext { parameters: vec![("mode".to_owned(), mode.to_owned())], ..RenderContext::default() }
}

fn tiny() -> Vec<SourceFile> {
    vec![SourceFile { path: "tiny.yaml".to_owned(), contents: SPEC.into() }]
}

/// A rollout whose first gate's alert name is the hostile `decide`'s mode.
fn rollout(mode: &str) -> Rollout {
    Rollout {
        weight: 10,
        steps: vec![10, 50, 100],
        interval_ms: 60_000,
        min_requests: 100,
        on_failure: OnFailure::Rollback,
        gates: vec![Gate { alert: mode.to_owned(), expr: "vector(1)".to_owned(), value: None, threshold: "x".into() }],
        requests: None,
        live: None,
        step_ms: 15_000,
    }
}

#[test]
fn a_plugin_of_contract_0_1_renders_through_the_adapter() {
    // Its kind is of another API group than the built-in plugin's: the host
    // passes the files of that group, and no others.
    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";
    let dir = app(&[("tiny.yaml", SPEC.into()), ("widget.yaml", widget.into())]);
    let plugin = hostile_plugin(Hostile::Released);
    let plugin = plugin.to_str().expect("UTF-8 path");
    let run = measured(dir.path(), &["render", ".", "--plugin", plugin]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("---\napiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("warning: given: widget.yaml\n"), "{}", run.stderr);
    // Its diagnostics are located and quoted as any plugin's.
    let refused = measured(dir.path(), &["validate", ".", "--plugin", plugin, "--param", "mode=refuse"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("widget.yaml:4:9: error: refused by a plugin of contract 0.1.0"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("4 |   name: w\n"), "the line is quoted:\n{}", refused.stderr);
    // What 0.1 lacks is filled in as the 0.1 host knew it.
    let released = runtime(Hostile::Released);
    assert_eq!(released.contract(), "0.1.0");
    let Ok(Reply::Accepted(project)) = released.describe(tiny(), &RenderContext::default()) else {
        panic!("a 0.1 plugin describes");
    };
    assert_eq!(project.models.len(), 1);
    assert_eq!((project.models[0].position, project.models[0].backend_position), (None, None));
    assert_eq!(project.models[0].canary_percent, Some(10));
    assert_eq!(project.parameters.len(), 1);
    assert_eq!(project.parameters[0].name, "canary-weight");
    assert_eq!(project.parameters[0].kind, ParameterKind::Map(vec![("hostile".to_owned(), "10".to_owned())]));
    let info = released.info().expect("info");
    assert_eq!(info.kinds, vec!["example.com/v1/Widget".to_owned()]);
    assert_eq!(info.project_file.as_deref(), Some("modelgen.yaml"));
}

#[test]
fn edit_and_decide_on_a_plugin_of_contract_0_1_are_a_clear_error() {
    let released = runtime(Hostile::Released);
    let edit = released.edit(tiny(), &RenderContext::default(), "hostile", &EditAction::Promote);
    let edit = edit.expect_err("0.1 has no edit");
    assert!(matches!(edit, runtime::Error::Unsupported { function: "edit", found: "0.1.0", needed: "0.2.0" }));
    assert_eq!(
        edit.to_string(),
        "the plugin implements `modelgen:generator/generator@0.1.0`, which has no `edit`; this command needs a \
         plugin built for contract 0.2.0 or later"
    );
    let decide = released.decide(&rollout("ok"), &Observation::default()).expect_err("0.1 has no decide");
    assert!(decide.to_string().contains("which has no `decide`"), "{decide}");
    // The same calls on the current build reach the plugin.
    let current = runtime(Hostile::Current);
    assert_eq!(current.contract(), "0.2.0");
    assert!(matches!(current.edit(tiny(), &with_mode("ok"), "hostile", &EditAction::Promote), Ok(Reply::Accepted(_))));
    assert_eq!(
        current.decide(&rollout("ok"), &Observation::default()).expect("decides"),
        Decision::Hold("hostile".into())
    );
}

#[test]
fn a_hostile_describe_hits_the_limits_before_anything_renders() {
    // The host describes first when the application holds the plugin's project file.
    let dir = app(&[("tiny.yaml", SPEC.into()), ("modelgen.yaml", PROJECT.into())]);
    for (mode, needle) in [
        ("describe-loop", "ran longer than its time limit of 0.5 s"),
        ("describe-hog", "more than its memory limit of 64 MiB"),
        ("describe-trap", "the plugin crashed"),
    ] {
        let run = hostile_in(dir.path(), "render", mode, &["--timeout", "0.5", "--max-memory", "64"]);
        assert_refused(&run, 3, needle);
    }
}

#[test]
fn files_a_hostile_describe_refers_to_outside_the_application_are_never_read() {
    let repo = tempfile::tempdir().expect("repository");
    std::fs::write(repo.path().join("outside.yaml"), "SECRET-OUTSIDE\n").expect("write");
    let app = repo.path().join("app");
    std::fs::create_dir_all(app.join(".git")).expect("mkdir");
    std::fs::write(app.join(".git/config"), "SECRET-GIT\n").expect("write");
    std::fs::write(app.join("tiny.yaml"), SPEC).expect("write");
    std::fs::write(app.join("modelgen.yaml"), PROJECT).expect("write");
    let run = hostile_in(&app, "render", "describe-escape", &[]);
    assert_refused(&run, 1, "tiny.yaml:1:1: error: `../outside.yaml` is not a path inside the application directory");
    for refused in
        ["`/etc/passwd` is not a path inside", "`.git/config` is in a hidden entry", "`sub/../../outside.yaml`"]
    {
        assert!(run.stderr.contains(refused), "`{refused}` in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("SECRET") && !run.stderr.contains("root:"), "{}", run.stderr);
}

#[test]
fn a_hostile_edit_changes_nothing() {
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let before = support::snapshot(dir.path());
    let current = runtime(Hostile::Current);
    for (mode, expected) in [("edit-loop", "time limit"), ("edit-hog", "memory limit"), ("edit-trap", "crashed")] {
        let error = current.edit(tiny(), &with_mode(mode), "hostile", &EditAction::SetCanaryWeight(50));
        let error = error.expect_err("a hostile edit fails");
        assert!(error.to_string().contains(expected), "{mode}: {error}");
    }
    // Nor may it name a file it was not given: the caller would write it.
    let outside = current.edit(tiny(), &with_mode("edit-outside"), "hostile", &EditAction::Promote);
    let outside = outside.expect_err("an edit outside the given files is refused");
    assert_eq!(
        outside.to_string(),
        "the plugin broke the contract: it edited `../outside.yaml`, which is not one of the files it was given"
    );
    assert_eq!(support::snapshot(dir.path()), before, "the application changed");
}

#[test]
fn a_hostile_decide_is_never_taken_as_an_advance() {
    let current = runtime(Hostile::Current);
    for (mode, expected) in [
        ("loop", "time limit"),
        ("hog", "memory limit"),
        ("trap", "crashed"),
        ("advance-past-100", "advance the canary to `250` %, which is not a percentage"),
    ] {
        let decided = current.decide(&rollout(mode), &Observation::default());
        let error = decided.expect_err("a hostile decide fails");
        assert!(error.to_string().contains(expected), "{mode}: {error}");
    }
}

#[test]
fn secret_columns_from_a_plugin_cannot_break_the_quoted_line() {
    // Reversed, overlapping and far past the line: the line is still quoted,
    // masked where the columns are sane, and the caret still points.
    for format in ["human", "json", "github"] {
        let dir = app(&[("tiny.yaml", SPEC.into())]);
        let run = hostile_in(dir.path(), "validate", "bad-secrets", &["--format", format]);
        assert_eq!(run.code, Some(1), "{format}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{format}: {}", run.stderr);
    }
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let run = hostile_in(dir.path(), "validate", "bad-secrets", &[]);
    assert!(run.stderr.contains("tiny.yaml:1:1: error: x\n"), "{}", run.stderr);
    assert!(run.stderr.contains("***"), "{}", run.stderr);
    assert!(!run.stderr.contains("apiVersion: modelgen.dev"), "secret columns were not masked:\n{}", run.stderr);
}

fn hostile_input(files: &[(&str, Vec<u8>)], args: &[&str]) -> support::Measured {
    let dir = app(files);
    let mut all = vec!["render", "."];
    all.extend_from_slice(args);
    let run = measured(dir.path(), &all);
    assert!(matches!(run.code, Some(0 | 1 | 3)), "crashed: {:?}\n{}", run.code, run.stderr);
    if run.code != Some(0) {
        assert!(run.stdout.is_empty(), "a failed render printed to stdout");
        assert!(!run.stderr.trim().is_empty(), "a failed render said nothing");
    }
    assert!(run.cpu < MAX_CPU, "took {:?} of CPU", run.cpu);
    assert!(run.max_rss < MAX_RSS, "peaked at {} bytes", run.max_rss);
    run
}

#[test]
fn a_billion_laughs_alias_bomb_is_refused() {
    let mut bomb = String::from(
        "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: lol}\nlol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let refs = (0..9).map(|_| format!("*a{}", i - 1)).collect::<Vec<_>>().join(", ");
        let _ = writeln!(bomb, "lol{i}: &a{i} [{refs}]");
    }
    let run = hostile_input(&[("bomb.yaml", bomb.into_bytes())], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("bomb.yaml"), "{}", run.stderr);
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused() {
    let flow = format!("{SPEC}  nodeSelector: {{a: {}{}}}\n", "[".repeat(10_000), "]".repeat(10_000));
    // Compact block sequences nest one level per `- `.
    let block = format!("apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nspec: {}x\n", "- ".repeat(10_000));
    let run = hostile_input(&[("flow.yaml", flow.into_bytes()), ("block.yaml", block.into_bytes())], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("flow.yaml") && run.stderr.contains("block.yaml"), "{}", run.stderr);
}

#[test]
fn a_fifty_megabyte_file_is_refused_by_the_input_limit_or_rendered() {
    let mut big = SPEC.as_bytes().to_vec();
    big.extend(std::iter::repeat_n(b"# padding to fifty megabytes\n".as_slice(), 50 * 1024 * 1024 / 29).flatten());
    let files = [("big.yaml", big)];
    let refused = hostile_input(&files, &[]);
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("raise it with `--max-input-bytes`"), "{}", refused.stderr);
    // Raised limits: it renders, within the time and memory bounds.
    let raised = hostile_input(&files, &["--max-input-bytes", "100000000", "--max-memory", "1024", "--timeout", "60"]);
    assert_eq!(raised.code, Some(0), "{}", raised.stderr);
}

#[test]
fn very_long_scalars_are_reported_without_flooding_the_terminal() {
    // Plain filler, and a token prefix repeated so that every position starts
    // a candidate for the credential scan (linear, or this hits the time limit).
    for long in ["x".repeat(5 * 1024 * 1024), "hf_".repeat(5 * 1024 * 1024 / 3)] {
        let spec = SPEC.replace("name: tiny", &format!("name: tiny\n  labels: {{team: {long}}}"));
        let run = hostile_input(&[("long.yaml", spec.into_bytes())], &[]);
        assert_eq!(run.code, Some(1), "{}", &run.stderr[..run.stderr.len().min(2000)]);
        assert!(run.stderr.contains("is not a valid label value"), "{}", &run.stderr[..run.stderr.len().min(2000)]);
        assert!(run.stderr.len() < 64 * 1024, "stderr is {} bytes", run.stderr.len());
    }
}

#[test]
fn nul_bytes_and_invalid_utf8_are_located_errors() {
    let nul = SPEC.replace("version: v1", "version: v\u{0}1").into_bytes();
    let mut latin1 = SPEC.as_bytes().to_vec();
    latin1.extend_from_slice(b"# caf\xe9\n");
    let run = hostile_input(&[("nul.yaml", nul), ("latin1.yaml", latin1)], &[]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("nul.yaml:8:") && run.stderr.contains("latin1.yaml:10:"), "{}", run.stderr);
}

#[test]
fn thousands_of_documents_in_one_file_render() {
    let stream = (0..5_000).fold(String::new(), |mut stream, i| {
        stream.push_str("---\n");
        stream.push_str(&SPEC.replace("name: tiny", &format!("name: m{i}")));
        stream
    });
    let run = hostile_input(&[("many.yaml", stream.into_bytes())], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.matches("kind: InferenceService").count(), 5_000);
}

#[test]
fn too_many_files_hit_the_file_limit() {
    let files: Vec<(String, Vec<u8>)> = (0..30)
        .map(|i| (format!("m{i}.yaml"), SPEC.replace("name: tiny", &format!("name: m{i}")).into_bytes()))
        .collect();
    let borrowed: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    let run = hostile_input(&borrowed, &["--max-files", "20"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("more than 20 spec files (raise the limit with `--max-files`)"), "{}", run.stderr);
}

#[test]
fn output_over_the_limit_is_refused() {
    let run = hostile_input(&[("tiny.yaml", SPEC.into())], &["--max-output-bytes", "100"]);
    assert_eq!(run.code, Some(3));
    assert!(run.stderr.contains("raise it with `--max-output-bytes`"), "{}", run.stderr);
}

#[test]
fn a_plugin_that_sleeps_is_stopped_instead_of_waited_for() {
    // Thirty sleeps of 200 ms in a host call, where the epoch deadline
    // cannot reach: a plugin cannot wait at all.
    let run = with_hostile("sleep", &["--timeout", "0.5"]);
    assert_refused(&run, 3, "the plugin tried to wait (to sleep, or for a timer)");
    assert!(run.cpu < Duration::from_secs(5), "used {:?} of CPU", run.cpu);
}

#[test]
fn every_memory_of_the_instance_counts_against_one_limit() {
    // Six extra memories of 60 MiB each, every page touched: each is under
    // the 64 MiB limit, together they are five times over it.
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let memories = each(1..=6, |m| format!("(memory $m{m} 0)"));
    let fill = each(1..=6, |m| {
        format!(
            "(if (i32.eq (memory.grow $m{m} (i32.const 960)) (i32.const -1)) (then unreachable))
             (local.set $i (i32.const 0))
             (loop $touch
               (i32.store8 $m{m} (local.get $i) (i32.const 1))
               (local.set $i (i32.add (local.get $i) (i32.const 4096)))
               (br_if $touch (i32.lt_u (local.get $i) (i32.const 62914560))))"
        )
    });
    let plugin = wat_plugin(dir.path(), &memories, &fill);
    let run = measured(dir.path(), &["render", ".", "--max-memory", "64", "--plugin", plugin.to_str().expect("UTF-8")]);
    assert_refused(&run, 3, "the plugin tried to use more than its memory limit of 64 MiB");
    assert!(run.max_rss < 200 * 1024 * 1024, "the memories grew the host to {} bytes", run.max_rss);
}

#[test]
fn tables_count_against_the_memory_limit_too() {
    // Forty tables of 100,000 elements: each under any per-table cap, 64 MB
    // together against a 16 MiB limit.
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let tables = each(1..=40, |t| format!("(table $t{t} 0 funcref)"));
    let grow = each(1..=40, |t| {
        format!("(if (i32.eq (table.grow $t{t} (ref.null func) (i32.const 100000)) (i32.const -1)) (then unreachable))")
    });
    let plugin = wat_plugin(dir.path(), &tables, &grow);
    let run = measured(dir.path(), &["render", ".", "--max-memory", "16", "--plugin", plugin.to_str().expect("UTF-8")]);
    assert_refused(&run, 3, "the plugin tried to use more than its memory limit of 16 MiB");
}

#[test]
fn a_plugin_cannot_wait_on_a_shared_memory_either() {
    // `memory.atomic.wait32` with no timeout would park the thread where no
    // deadline reaches it: shared memories (threads) are not enabled.
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let plugin = wat_plugin(
        dir.path(),
        "(memory $shared 1 1 shared)",
        "(drop (memory.atomic.wait32 $shared (i32.const 0) (i32.const 0) (i64.const -1)))",
    );
    let run = measured(dir.path(), &["render", ".", "--timeout", "0.5", "--plugin", plugin.to_str().expect("UTF-8")]);
    assert_refused(&run, 3, "cannot load the plugin");
    assert!(run.stderr.contains("threads must be enabled for shared memories"), "{}", run.stderr);
}

#[test]
fn a_handwritten_component_without_excess_is_an_ordinary_crash() {
    // The harness itself: the component links and runs, and its `generate` traps.
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let plugin = wat_plugin(dir.path(), "", "");
    let run = measured(dir.path(), &["render", ".", "--plugin", plugin.to_str().expect("UTF-8")]);
    assert_refused(&run, 3, "the plugin crashed (a bug in the plugin, not in your spec)");
}

#[test]
fn an_object_name_cannot_add_a_line_to_the_ownership_manifest() {
    // The plugin names an object `x\nREADME.md\ny`: one line of a line-based
    // `.modelgen-owned` would be `README.md`, which the next render deletes.
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let out = tempfile::tempdir().expect("output");
    let rendered = out.path().join("rendered");
    let rendered_arg = rendered.to_str().expect("UTF-8");
    assert_eq!(hostile_in(dir.path(), "render", "ok", &["--out", rendered_arg]).code, Some(0));
    std::fs::write(rendered.join("README.md"), "the user's own notes\n").expect("a user's file");

    let hostile = hostile_in(dir.path(), "render", "bad-name", &["--out", rendered_arg]);
    assert_refused(&hostile, 3, "which is not a valid name");
    assert!(!hostile.stderr.contains("\nREADME.md"), "the name is escaped:\n{}", hostile.stderr);
    let again = hostile_in(dir.path(), "render", "ok", &["--out", rendered_arg]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(rendered.join("README.md")).expect("the user's file is still there"),
        "the user's own notes\n"
    );
    let owned = std::fs::read_to_string(rendered.join(".modelgen-owned")).expect("manifest");
    assert!(owned.starts_with("# modelgen owned files v2\n") && !owned.contains("README"), "{owned}");
}

#[test]
fn what_is_printed_is_exactly_what_was_checked() {
    // Without their final line break, two objects would print as one document.
    let run = with_hostile("no-newline", &[]);
    assert_refused(&run, 3, "does not end with a line break");
    // Two documents in one manifest would print as two objects, one unchecked.
    let run = with_hostile("two-documents", &[]);
    assert_refused(&run, 3, "is not exactly one YAML document");
}

#[test]
fn an_empty_render_is_an_error_everywhere() {
    let run = with_hostile("empty", &[]);
    assert_refused(&run, 3, "the plugin rendered no objects");
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    let validate = hostile_in(dir.path(), "validate", "empty", &[]);
    assert_refused(&validate, 3, "the plugin rendered no objects");
    // `--out` would prune every owned file: it changes nothing instead.
    let out = tempfile::tempdir().expect("output");
    let rendered = out.path().join("rendered");
    let rendered_arg = rendered.to_str().expect("UTF-8");
    assert_eq!(hostile_in(dir.path(), "render", "ok", &["--out", rendered_arg]).code, Some(0));
    let before = support::snapshot(&rendered);
    let pruned = hostile_in(dir.path(), "render", "empty", &["--out", rendered_arg]);
    assert_refused(&pruned, 3, "the plugin rendered no objects");
    assert_eq!(support::snapshot(&rendered), before, "an empty render changed the output");
}

#[test]
fn limits_that_cannot_be_represented_are_usage_errors() {
    let run = with_hostile("ok", &["--timeout", "1e20"]);
    assert_refused(&run, 2, "`--timeout` must be at most 1000000 seconds");
}

#[test]
fn positions_at_the_end_of_the_range_are_shown_without_overflow() {
    let run = with_hostile("far-position", &[]);
    assert_refused(&run, 1, "tiny.yaml:4294967296:4294967296: error: far away");
}

#[test]
fn a_flood_of_escapes_from_a_plugin_is_escaped_and_clipped() {
    // A 50 MB warning of terminal escapes and workflow commands.
    let run = with_hostile("flood", &[]);
    assert_eq!(run.code, Some(0), "{}", &run.stderr[..run.stderr.len().min(2000)]);
    assert!(run.stdout.contains("kind: InferenceService"));
    assert!(run.stderr.len() < 16 * 1024, "stderr is {} bytes", run.stderr.len());
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'), "{}", run.stderr);
    assert!(!run.stderr.lines().any(is_workflow_command), "{}", run.stderr);
    assert!(run.stderr.contains("\\u{1b}[2J") && run.stderr.contains("bytes in all)"), "{}", run.stderr);
    assert!(run.cpu < MAX_CPU && run.max_rss < MAX_RSS, "used {:?} CPU and {} bytes", run.cpu, run.max_rss);
}

#[test]
fn diagnostics_cannot_inject_workflow_commands_in_any_format() {
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    for format in ["human", "json", "github"] {
        let run = hostile_in(dir.path(), "validate", "injection", &["--format", format]);
        assert_eq!(run.code, Some(1), "{format}: {}", run.stderr);
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            for line in text.lines() {
                // The runner acts on lines that start with `::`: only our own annotations may.
                let ours = format == "github" && stream == "stdout" && line.starts_with("::error file=");
                assert!(ours || !is_workflow_command(line), "{format} {stream}: injected `{line}`");
                assert!(!line.contains('\u{1b}'), "{format} {stream}: an escape in `{line}`");
            }
        }
        if format == "github" {
            assert_eq!(run.stdout.lines().count(), 2, "one annotation per diagnostic:\n{}", run.stdout);
        }
    }
}

#[test]
fn a_plugin_file_that_is_not_a_regular_file_is_refused() {
    let dir = app(&[("tiny.yaml", SPEC.into())]);
    // `/dev/zero` would be read until memory runs out.
    let zero = measured(dir.path(), &["render", ".", "--plugin", "/dev/zero"]);
    assert_refused(&zero, 3, "cannot read the plugin `/dev/zero`: it is not a regular file");
    // A FIFO would block the open until someone writes, and then be read.
    let fifo = dir.path().join("plugin.wasm");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    // A writer, so that reading the FIFO ends (a refusal never opens it for
    // long enough to meet this writer, which then waits until the test ends).
    std::thread::spawn(move || {
        use std::io::Write as _;
        if let Ok(mut writer) = std::fs::OpenOptions::new().write(true).open(&fifo) {
            let _ = writer.write_all(b"not a component");
        }
    });
    let blocked = measured(dir.path(), &["render", ".", "--plugin", "plugin.wasm"]);
    assert_refused(&blocked, 3, "cannot read the plugin `plugin.wasm`: it is not a regular file");
}

#[test]
fn measurement_helpers_measure() {
    // Guard against a harness that would make every bound above vacuous.
    let run = hostile_input(&[("tiny.yaml", SPEC.into())], &[]);
    assert!(run.cpu > Duration::ZERO && run.max_rss > 1024 * 1024, "{:?} {}", run.cpu, run.max_rss);
}
