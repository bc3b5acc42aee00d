//! `modelgen canary set-weight|promote|rollback` and `modelgen bump` end to end: files changed only where the change is, every environment rendered before a write, and nothing written or printed on stdout when refused.

mod support;

use std::path::Path;

use support::{app, run_in, snapshot, text};

/// A spec as people write them: comments, a flow mapping, quoted scalars
/// (and, through [`crlf`], CRLF line endings).
const SPEC_LF: &str = "# The ranker: a canary of v2 takes a tenth of the traffic.
apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata: {name: ranker, namespace: search}
spec:
  model:
    format: sklearn
    version: \"v1\"   # the stable one
    storageUri: 's3://models/ranker/v1'
  canary: {version: v2, storageUri: s3://models/ranker/v2, trafficPercent: 10}
---
# Another model in the same file stays as it is.
apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata: {name: other, namespace: search}
spec:
  model: {format: sklearn, version: v9, storageUri: s3://models/other/v9}
";

/// [`SPEC_LF`] with CRLF line endings, as a Windows editor saves it.
fn crlf() -> String {
    SPEC_LF.replace('\n', "\r\n")
}

/// The lines of `after` that differ from `before`, with their line numbers (1-based).
fn changed_lines(before: &str, after: &str) -> Vec<(usize, String)> {
    let (old, new): (Vec<&str>, Vec<&str>) = (before.split('\n').collect(), after.split('\n').collect());
    assert_eq!(old.len(), new.len(), "the edit added or removed lines:\n{after}");
    old.iter().zip(&new).enumerate().filter(|(_, (o, n))| o != n).map(|(i, (_, n))| (i + 1, (*n).to_owned())).collect()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).expect("read")
}

/// Runs `args`, expecting success; returns stdout (the commit message) and stderr.
fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let out = run_in(dir, args);
    assert!(out.status.success(), "{args:?} failed:\n{}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

/// Runs `args`, expecting exit `code`, nothing on stdout and no file changed; returns stderr.
fn refused(dir: &Path, args: &[&str], code: i32) -> String {
    let before = snapshot(dir);
    let out = run_in(dir, args);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout: {}", text(&out.stdout));
    assert_eq!(snapshot(dir), before, "{args:?} changed a file");
    text(&out.stderr)
}

#[test]
fn set_weight_changes_one_scalar_and_prints_a_commit_message_with_trailers() {
    let dir = app(&[("models/ranker.yaml", &crlf())]);
    let (message, stderr) = ok(dir.path(), &["canary", "set-weight", "ranker", "25"]);
    let after = read(dir.path(), "models/ranker.yaml");
    assert_eq!(
        changed_lines(&crlf(), &after),
        [(10, "  canary: {version: v2, storageUri: s3://models/ranker/v2, trafficPercent: 25}\r".to_owned())]
    );
    assert!(message.starts_with("Set the canary of `ranker` to 25%\n\n"), "{message}");
    for trailer in [
        "Modelgen-Model: ranker",
        "Modelgen-Action: set-weight",
        "Modelgen-From: v1 90%, v2 10%",
        "Modelgen-To: v1 75%, v2 25%",
    ] {
        assert!(message.lines().any(|l| l == trailer), "missing {trailer:?} in:\n{message}");
    }
    assert!(stderr.contains("spec.canary.trafficPercent: `10` -> `25`"), "{stderr}");
    // The same command again has nothing to change: exit 4, a distinct "nothing to do".
    let stderr = refused(dir.path(), &["canary", "set-weight", "ranker", "25"], 4);
    assert!(stderr.contains("nothing to change"), "{stderr}");
}

#[test]
fn promote_moves_the_canary_into_the_model_and_rollback_removes_it() {
    let dir = app(&[("ranker.yaml", &crlf())]);
    let (message, _) = ok(dir.path(), &["canary", "promote", "ranker"]);
    let after = read(dir.path(), "ranker.yaml");
    let expected = crlf()
        .replace("    version: \"v1\"   # the stable one", "    version: \"v2\"   # the stable one")
        .replace("'s3://models/ranker/v1'", "'s3://models/ranker/v2'")
        .replace("  canary: {version: v2, storageUri: s3://models/ranker/v2, trafficPercent: 10}\r\n", "");
    assert_eq!(after, expected, "only the promoted fields change, quoting and comments kept");
    assert!(message.contains("Modelgen-To: v2 100%"), "{message}");

    let dir = app(&[("ranker.yaml", &crlf())]);
    ok(dir.path(), &["canary", "rollback", "ranker", "--keep"]);
    assert_eq!(changed_lines(&crlf(), &read(dir.path(), "ranker.yaml")).len(), 1);
    ok(dir.path(), &["canary", "rollback", "ranker"]);
    assert_eq!(
        read(dir.path(), "ranker.yaml"),
        crlf().replace("  canary: {version: v2, storageUri: s3://models/ranker/v2, trafficPercent: 10}\r\n", "")
    );
}

#[test]
fn bump_replaces_the_stable_model_or_starts_a_canary() {
    let single = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: cat\nspec:\n  model:\n    format: sklearn\n    version: v1  # keep me\n    storageUri: s3://models/cat/v1\n";
    let dir = app(&[("cat.yaml", single)]);
    let (message, _) = ok(dir.path(), &["bump", "cat", "--version", "v2", "--storage-uri", "s3://models/cat/v2"]);
    assert_eq!(
        read(dir.path(), "cat.yaml"),
        single.replace("version: v1  # keep me", "version: v2  # keep me").replace("cat/v1", "cat/v2")
    );
    assert!(message.lines().any(|l| l == "Modelgen-Version: v2"), "{message}");
    ok(dir.path(), &["bump", "cat", "--version", "v3", "--storage-uri", "s3://models/cat/v3", "--canary", "10"]);
    let after = read(dir.path(), "cat.yaml");
    assert!(
        after.starts_with(
            &single.replace("version: v1  # keep me", "version: v2  # keep me").replace("cat/v1", "cat/v2")
        ),
        "{after}"
    );
    assert!(
        after.contains("  canary:\n    version: v3\n    storageUri: s3://models/cat/v3\n    trafficPercent: 10\n"),
        "{after}"
    );
    // A second canary is refused at the existing one.
    let stderr = refused(dir.path(), &["bump", "cat", "--version", "v4", "--canary", "5"], 1);
    assert!(stderr.contains("already has a canary") && stderr.contains("cat.yaml:10:"), "{stderr}");
}

#[test]
fn bad_requests_are_refused_with_nothing_written() {
    let dir = app(&[("ranker.yaml", &crlf()), ("other.yaml", &support::TINY_SPEC.replace("tiny", "plain"))]);
    let stderr = refused(dir.path(), &["canary", "set-weight", "nope", "5"], 1);
    assert!(stderr.contains("no model named `nope`") && stderr.contains("`other`, `plain`, `ranker`"), "{stderr}");
    let stderr = refused(dir.path(), &["canary", "promote", "plain"], 1);
    assert!(stderr.contains("has no canary"), "{stderr}");
    refused(dir.path(), &["canary", "set-weight", "ranker", "101"], 2);
    let stderr = refused(dir.path(), &["canary", "set-weight", "ranker", "5", "--env", "prod"], 1);
    assert!(stderr.contains("prod"), "{stderr}");
    // A version that is not a label value breaks the render: the edit is checked before it is written.
    let stderr = refused(dir.path(), &["bump", "ranker", "--version", "bad version!"], 1);
    assert!(stderr.contains("would not render") && stderr.contains("ranker.yaml:8:"), "{stderr}");
    // Two specs with the same model name: an edit would not know which to change.
    let twice = app(&[("a.yaml", support::TINY_SPEC), ("b.yaml", support::TINY_SPEC)]);
    refused(twice.path(), &["bump", "tiny", "--version", "v2"], 1);
}

const PROJECT: &str = "apiVersion: modelgen.dev/v1alpha1
kind: Project
environments:
  dev:
    overrides:
      canary: null          # no canary in dev
  staging:
    overrides:
      canary: {trafficPercent: 50}   # staging tries it harder
  prod:
    policy: {mutableReferences: deny}
";

const IMAGE_SPEC: &str = "apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata: {name: cat}
spec:
  model:
    version: v1
    image: registry.example.com/cat@sha256:1111111111111111111111111111111111111111111111111111111111111111
    port: 8080
  canary:
    version: v2
    image: registry.example.com/cat@sha256:2222222222222222222222222222222222222222222222222222222222222222
    trafficPercent: 10
";

#[test]
fn with_env_the_value_the_environment_renders_is_edited_where_it_is_written() {
    let dir = app(&[("modelgen.yaml", PROJECT), ("cat.yaml", IMAGE_SPEC)]);
    // Staging's weight lives in the project file: that line changes, the spec does not.
    let (message, _) = ok(dir.path(), &["canary", "set-weight", "cat", "60", "--env", "staging"]);
    assert_eq!(
        changed_lines(PROJECT, &read(dir.path(), "modelgen.yaml")),
        [(9, "      canary: {trafficPercent: 60}   # staging tries it harder".to_owned())]
    );
    assert_eq!(read(dir.path(), "cat.yaml"), IMAGE_SPEC);
    assert!(message.starts_with("Set the canary of `cat` to 60% in `staging`"), "{message}");
    assert!(message.contains("Modelgen-From: v1 50%, v2 50%"), "{message}");
    // Prod renders the spec's weight: the spec changes.
    ok(dir.path(), &["canary", "set-weight", "cat", "20", "--env", "prod"]);
    assert_eq!(changed_lines(IMAGE_SPEC, &read(dir.path(), "cat.yaml")), [(12, "    trafficPercent: 20".to_owned())]);
    // Dev removes the canary: there is none to change there.
    let stderr = refused(dir.path(), &["canary", "set-weight", "cat", "5", "--env", "dev"], 1);
    assert!(stderr.contains("modelgen.yaml:6:") && stderr.contains("removes the canary"), "{stderr}");
    // A structural change to what staging defines is refused, not guessed.
    let stderr = refused(dir.path(), &["canary", "promote", "cat", "--env", "staging"], 1);
    assert!(stderr.contains("modelgen.yaml:9:"), "{stderr}");
}

#[test]
fn an_edit_that_breaks_one_environment_writes_nothing() {
    let dir = app(&[("modelgen.yaml", PROJECT), ("cat.yaml", IMAGE_SPEC)]);
    // A tag is only a warning by default, but prod denies mutable references.
    let stderr = refused(dir.path(), &["bump", "cat", "--version", "v3", "--image", "registry.example.com/cat:v3"], 1);
    assert!(stderr.contains("in environment `prod`") && stderr.contains("cat.yaml:7:"), "{stderr}");
    // Pinned by digest, it renders everywhere and is written.
    let digest = format!("registry.example.com/cat@sha256:{}", "3".repeat(64));
    let (message, stderr) = ok(dir.path(), &["bump", "cat", "--version", "v3", "--image", &digest]);
    assert!(stderr.contains("`dev`, `prod`, `staging`"), "{stderr}");
    assert!(message.contains("Modelgen-Version: v3"), "{message}");
    assert_eq!(changed_lines(IMAGE_SPEC, &read(dir.path(), "cat.yaml")).len(), 2);
}

#[test]
fn a_dry_run_checks_and_prints_but_writes_nothing() {
    let dir = app(&[("ranker.yaml", &crlf())]);
    let before = snapshot(dir.path());
    let (message, stderr) = ok(dir.path(), &["canary", "set-weight", "ranker", "50", "--dry-run"]);
    assert!(message.contains("Modelgen-To: v1 50%, v2 50%"), "{message}");
    assert!(stderr.contains("dry run"), "{stderr}");
    assert_eq!(snapshot(dir.path()), before);
}
