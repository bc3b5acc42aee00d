//! Hostile plugins and hostile input: every one ends in a clear error (or a render), never a hang, a crash or half an output.
//!
//! Time and memory are bounded by measurement (the child's CPU time and
//! peak RSS from the kernel), not by wall-clock deadlines.

mod support;

use std::fmt::Write as _;
use std::time::Duration;

use support::{hostile_plugin, measured};

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
    let plugin = hostile_plugin(false);
    let param = format!("mode={mode}");
    let mut args = vec!["render", ".", "--plugin", plugin.to_str().expect("UTF-8 path"), "--param", &param];
    args.extend_from_slice(extra);
    measured(dir.path(), &args)
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
    let plugin = hostile_plugin(true);
    let run = measured(dir.path(), &["render", "--plugin", plugin.to_str().expect("UTF-8 path")]);
    assert_refused(
        &run,
        3,
        "the plugin implements `modelgen:generator/generator@0.2.0`, but this host speaks `0.1.0`; use a plugin built for 0.1.x",
    );
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
fn measurement_helpers_measure() {
    // Guard against a harness that would make every bound above vacuous.
    let run = hostile_input(&[("tiny.yaml", SPEC.into())], &[]);
    assert!(run.cpu > Duration::ZERO && run.max_rss > 1024 * 1024, "{:?} {}", run.cpu, run.max_rss);
}
