//! The shipped workflows `examples/ci/canary-rollout.yml` and `examples/ci/build-and-bump.yml`, run step by step as the runner would against a local bare repository (the checkout is a clone of it, and the steps push back into it), with a real Prometheus for the rollout and recording stand-ins for `docker` and `gh`.

mod support;

#[path = "prometheus/harness.rs"]
mod harness;

#[path = "workflow/runner.rs"]
mod runner;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use harness::{Data, Options, Prometheus};
use runner::{JobRun, Runner, stand_in, workflow};
use serde_json::Value;
use support::{text, workspace};

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=someone", "-c", "user.email=someone@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    out
}

/// A bare repository (`origin.git` in `root`) whose `main` holds `files`.
fn origin(root: &Path, files: &[(&str, &str)]) -> PathBuf {
    let bare = root.join("origin.git");
    git(root, &["init", "-q", "--bare", "-b", "main", bare.to_str().expect("UTF-8")]);
    let seed = root.join("seed");
    git(root, &["clone", "-q", bare.to_str().expect("UTF-8"), seed.to_str().expect("UTF-8")]);
    for (path, contents) in files {
        let path = seed.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "the models"]);
    git(&seed, &["push", "-q", "origin", "main"]);
    std::fs::remove_dir_all(&seed).expect("remove the seed clone");
    bare
}

/// `git -C bare ARGS` output as text.
fn show(bare: &Path, args: &[&str]) -> String {
    text(&git(bare, args).stdout)
}

/// The branches of the bare repository.
fn branches(bare: &Path) -> Vec<String> {
    show(bare, &["for-each-ref", "--format=%(refname:short)", "refs/heads"]).lines().map(str::to_owned).collect()
}

/// Stands in for the `uses:` steps: `actions/checkout` clones the bare
/// repository (shallow, as the action does by default) at its `ref`; a cache
/// or a builder set-up does nothing, since `modelgen` is on `PATH` already
/// and `docker` is a stand-in.
fn actions<'r>(runner: &'r Runner, bare: &'r Path) -> impl FnMut(&Value, &Path) -> bool + 'r {
    move |step, workspace| {
        let uses = step["uses"].as_str().expect("uses");
        match uses.split('@').next() {
            Some("actions/checkout") => {
                let reference = runner.with(step, "ref").filter(|r| !r.is_empty()).unwrap_or_else(|| "main".into());
                let url = format!("file://{}", bare.display());
                let out = Command::new("git")
                    .args(["clone", "-q", "--depth", "1", "--branch", &reference, &url])
                    .arg(workspace)
                    .output()
                    .expect("git clone");
                out.status.success()
            }
            Some("actions/cache" | "docker/setup-buildx-action") => true,
            _ => panic!("`{uses}` is not emulated"),
        }
    }
}

/// Records each call of a stand-in: its arguments, one per line, after `--- NAME`.
const RECORD: &str = r#"printf -- '--- %s\n' "$(basename "$0")" >> "$STAND_IN_LOG"
printf '%s\n' "$@" >> "$STAND_IN_LOG"
"#;

/// `gh`: records the call and keeps the `--body-file` it was given.
fn gh(dir: &Path) {
    let script = format!(
        r#"#!/bin/bash
set -eu
{RECORD}
while [ $# -gt 0 ]; do
  if [ "$1" = --body-file ]; then cp "$2" "$STAND_IN_LOG.body"; fi
  shift
done
echo "https://github.com/acme/models/pull/7"
"#
    );
    stand_in(dir, "gh", &script);
}

/// The calls the stand-ins recorded: each call's program and arguments.
fn calls(log: &Path) -> Vec<Vec<String>> {
    let recorded = std::fs::read_to_string(log).unwrap_or_default();
    let mut calls: Vec<Vec<String>> = Vec::new();
    for line in recorded.lines() {
        if let Some(program) = line.strip_prefix("--- ") {
            calls.push(vec![program.to_owned()]);
        } else {
            calls.last_mut().expect("a call").push(line.to_owned());
        }
    }
    calls
}

/// A runner in `root` whose `PATH` begins with the stand-ins, which log to `root/calls`.
fn runner_in(root: &Path) -> (Runner, PathBuf) {
    let mut runner = Runner::new(root);
    let stand_ins = root.join("stand-ins");
    gh(&stand_ins);
    runner.path.push(stand_ins);
    let log = root.join("calls");
    runner.env.insert("STAND_IN_LOG".into(), log.display().to_string());
    (runner, log)
}

// ---------------------------------------------------------------------------
// canary-rollout.yml

/// The data's span before now, scraped every 30 s.
const SPAN: u64 = 3_600;
const SCRAPE: u64 = 30;

/// Knative queue-proxy request counters of one model: the stable `v1` and
/// the canary `v2` at 5 % of `rate` requests a second, 1 % of each failing,
/// from `base` until `end` (Unix seconds).
fn knative(data: &mut Data, model: &str, rate: f64, end: u64) {
    for (version, share) in [("v1", 0.95), ("v2", 0.05)] {
        for (class, fraction) in [("2xx", 0.99), ("5xx", 0.01)] {
            let samples = harness::every(0, end - data.base(), SCRAPE, |t| {
                rate * share * fraction * f64::from(u32::try_from(t).expect("small"))
            });
            let labels = [("namespace", "ml"), ("model", model), ("version", version), ("response_code_class", class)];
            data.gauge("revision_app_request_count", &labels, &samples);
        }
    }
}

/// A spec with a canary at 5 % and a rollout plan of 5, 25, 50 %, thirty minutes each.
fn canary_spec(model: &str) -> String {
    format!(
        "apiVersion: modelgen.dev/v1alpha1
kind: ModelDeployment
metadata: {{name: {model}, namespace: ml}}
spec:
  backend: kserve
  model: {{format: sklearn, version: v1, storageUri: s3://models/{model}/v1}}
  canary:
    version: v2
    storageUri: s3://models/{model}/v2
    trafficPercent: 5
    rollout: {{steps: [5, 25, 50], interval: 30m, minRequests: 100}}
  monitoring:
    alerts:
      errorRate: {{percent: 5}}
      canary: {{errorRateFactor: 2}}
"
    )
}

/// A real Prometheus with the last hour of two models' traffic up to now:
/// `busy` (20 requests a second, its canary healthy at 5 % for the whole
/// hour) and `quiet` (too few requests for a verdict).
fn prometheus_until_now() -> Prometheus {
    prometheus_until_now_with(&Options::default())
}

/// As [`prometheus_until_now`], reached as `options` say.
fn prometheus_until_now_with(options: &Options) -> Prometheus {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    let end = now - now % SCRAPE;
    let mut data = Data::new(end - SPAN);
    knative(&mut data, "busy", 20.0, end);
    knative(&mut data, "quiet", 0.02, end);
    Prometheus::start_with(&data, options)
}

fn rollout_origin(root: &Path) -> PathBuf {
    origin(root, &[("models/busy.yaml", &canary_spec("busy")), ("models/quiet.yaml", &canary_spec("quiet"))])
}

/// Runs the rollout workflow's job against `bare` with `vars`.
fn rollout(root: &Path, bare: &Path, vars: &[(&str, &str)]) -> (JobRun, PathBuf) {
    rollout_with(root, bare, vars, |_| {})
}

/// As [`rollout`], calling `meanwhile` with the bare repository right after the checkout.
fn rollout_with(root: &Path, bare: &Path, vars: &[(&str, &str)], meanwhile: impl Fn(&Path)) -> (JobRun, PathBuf) {
    let workflow = workflow("examples/ci/canary-rollout.yml");
    let (mut runner, log) = runner_in(root);
    runner.vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let mut checkout = actions(&runner, bare);
    let run = runner.run(&workflow, "advance", |step, workspace| {
        let ok = checkout(step, workspace);
        if step["uses"].as_str().is_some_and(|u| u.starts_with("actions/checkout")) {
            meanwhile(bare);
        }
        ok
    });
    (run, log)
}

/// The spec `file` on `main` of the bare repository.
fn spec_on(bare: &Path, reference: &str, file: &str) -> Value {
    serde_saphyr::from_str(&show(bare, &["show", &format!("{reference}:{file}")])).expect("YAML")
}

/// Each line of the trailers of `reference`'s commit.
fn trailers(bare: &Path, reference: &str) -> Vec<String> {
    show(bare, &["log", "-1", "--format=%(trailers)", reference]).lines().map(str::to_owned).collect()
}

fn assert_moved_busy_to_25(bare: &Path, reference: &str) {
    assert_eq!(spec_on(bare, reference, "models/busy.yaml")["spec"]["canary"]["trafficPercent"], 25);
    assert_eq!(spec_on(bare, reference, "models/quiet.yaml")["spec"]["canary"]["trafficPercent"], 5, "it holds");
    let trailers = trailers(bare, reference);
    for line in ["Modelgen-Model: busy", "Modelgen-Action: set-weight", "Modelgen-To: v1 75%, v2 25%"] {
        assert!(trailers.iter().any(|l| l == line), "{line:?} missing from {trailers:#?}");
    }
}

#[test]
fn the_rollout_workflow_runs_on_a_schedule_never_twice_at_once_and_keeps_secrets_off_the_command_line() {
    let workflow = workflow("examples/ci/canary-rollout.yml");
    assert!(workflow["on"]["schedule"][0]["cron"].is_string(), "{workflow:#}");
    assert!(workflow["on"].get("workflow_dispatch").is_some());
    // One group for every run, whatever its trigger, and none cancelled mid-push.
    assert_eq!(workflow["concurrency"]["group"], "canary-rollout");
    assert_eq!(workflow["concurrency"]["cancel-in-progress"], false);
    assert_eq!(workflow["permissions"]["contents"], "write");
    let job = &workflow["jobs"]["advance"];
    for name in ["MODELGEN_PROMETHEUS_TOKEN", "MODELGEN_PROMETHEUS_USERNAME", "MODELGEN_PROMETHEUS_PASSWORD"] {
        assert_eq!(job["env"][name], format!("${{{{ secrets.{name} }}}}"), "{name} reaches modelgen as environment");
    }
    let scripts: Vec<&str> = job["steps"].as_array().expect("steps").iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(scripts.iter().all(|s| !s.contains("--prometheus")), "the URL and credentials come from the environment");
    assert!(scripts.iter().all(|s| !s.contains("--force") && !s.contains("push -f")), "never a forced push");
}

#[test]
fn the_rollout_workflow_commits_a_decided_move_to_main_and_nothing_else() {
    let prometheus = prometheus_until_now();
    let root = tempfile::tempdir().expect("tempdir");
    let bare = rollout_origin(root.path());
    let vars = [("MODELGEN_PROMETHEUS_URL", prometheus.url.as_str()), ("MODELGEN_PUBLISH", "git")];

    let first = root.path().join("first");
    let (run, calls_log) = rollout(&first, &bare, &vars);
    assert!(run.succeeded(), "{run}");
    assert_eq!(run.step("Commit the moves").outcome, "success", "{run}");
    assert_eq!(branches(&bare), ["main"]);
    assert_eq!(show(&bare, &["rev-list", "--count", "main"]).trim(), "2", "one commit on the seed");
    assert_moved_busy_to_25(&bare, "main");
    assert_eq!(
        show(&bare, &["log", "-1", "--format=%an <%ae>", "main"]).trim(),
        "modelgen <modelgen@users.noreply.github.com>"
    );
    // The commit message is exactly what `advance` printed.
    let message = std::fs::read_to_string(first.join("runner-temp/message")).expect("the message");
    assert_eq!(show(&bare, &["log", "-1", "--format=%B", "main"]).trim_end(), message.trim_end());
    // `MODELGEN_PUBLISH=git`: the rendered output changed in the same commit.
    let changed = show(&bare, &["diff", "--name-only", "main~1", "main"]);
    assert!(changed.lines().any(|l| l == "models/busy.yaml"), "{changed}");
    let rendered = show(&bare, &["show", "main:rendered/ml/inferenceservice_busy.yaml"]);
    assert!(rendered.contains("canaryTrafficPercent: 25"), "{rendered}");
    // The job summary: each gate and the decision, whether or not it moved.
    assert!(run.summary.contains("advance to 25"), "{}", run.summary);
    assert!(run.summary.contains("hold"), "{}", run.summary);
    assert!(calls(&calls_log).is_empty(), "no pull request in push mode");

    // The next run: 25 % has not taken effect in the cluster (Prometheus still
    // sees 5 %), so there is nothing to do: success, and no commit.
    let second = root.path().join("second");
    let (run, _) = rollout(&second, &bare, &vars);
    assert!(run.succeeded(), "{run}");
    assert_eq!(run.step("Commit the moves").outcome, "skipped", "{run}");
    assert!(run.step("Advance").log().contains("nothing to commit"), "{run}");
    assert_eq!(show(&bare, &["rev-list", "--count", "main"]).trim(), "2");
    // The summary is written on every run, and says why nothing moved.
    assert!(run.summary.contains("### `busy`: canary `v2` at 25%"), "{}", run.summary);
    assert!(run.summary.contains("not near its weight of 25%"), "{}", run.summary);
}

#[test]
fn credentials_and_the_ca_come_from_secrets_and_never_show() {
    let password = "s3cret-pa55word";
    let options = Options { basic_auth: Some(("ci".into(), password.into())), tls: true, bearer: None };
    let prometheus = prometheus_until_now_with(&options);
    let ca = std::fs::read_to_string(prometheus.ca_file.as_ref().expect("a CA")).expect("read the CA");
    let root = tempfile::tempdir().expect("tempdir");
    let bare = rollout_origin(root.path());
    let workflow = workflow("examples/ci/canary-rollout.yml");
    let (mut runner, _) = runner_in(&root.path().join("run"));
    runner.vars.insert("MODELGEN_PROMETHEUS_URL".into(), prometheus.url.clone());
    for (name, value) in [
        ("MODELGEN_PROMETHEUS_USERNAME", "ci"),
        ("MODELGEN_PROMETHEUS_PASSWORD", password),
        ("MODELGEN_PROMETHEUS_CA", ca.as_str()),
    ] {
        runner.secrets.insert(name.into(), value.into());
    }
    let run = runner.run(&workflow, "advance", actions(&runner, &bare));
    assert!(run.succeeded(), "{run}");
    assert!(prometheus.url.starts_with("https://"));
    assert_moved_busy_to_25(&bare, "main");
    assert!(!format!("{run}{}", run.summary).contains(password), "the password shows:\n{run}");

    // A wrong password: Prometheus answers 401, every canary holds, nothing is committed.
    let other = tempfile::tempdir().expect("tempdir");
    let bare = rollout_origin(other.path());
    let (mut runner, _) = runner_in(&other.path().join("run"));
    runner.vars.insert("MODELGEN_PROMETHEUS_URL".into(), prometheus.url.clone());
    runner.secrets.insert("MODELGEN_PROMETHEUS_USERNAME".into(), "ci".into());
    runner.secrets.insert("MODELGEN_PROMETHEUS_PASSWORD".into(), "wrong".into());
    runner.secrets.insert("MODELGEN_PROMETHEUS_CA".into(), ca);
    let run = runner.run(&workflow, "advance", actions(&runner, &bare));
    assert!(run.succeeded(), "{run}");
    assert_eq!(run.step("Commit the moves").outcome, "skipped");
    assert!(run.summary.contains("401"), "{}", run.summary);
    assert_eq!(show(&bare, &["rev-list", "--count", "main"]).trim(), "1");
}

#[test]
fn an_unreachable_prometheus_holds_every_canary_and_the_summary_says_why() {
    let root = tempfile::tempdir().expect("tempdir");
    let bare = rollout_origin(root.path());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let (run, _) = rollout(&root.path().join("run"), &bare, &[("MODELGEN_PROMETHEUS_URL", &url)]);
    // Holding is a decision, not a failure: the job succeeds, and the summary
    // (and the `Advance` log) shows each canary holding with the reason.
    assert!(run.succeeded(), "{run}");
    assert_eq!(run.step("Commit the moves").outcome, "skipped");
    let hold = "**Decision: hold: gate 'ModelErrorRateHigh' has no answer from Prometheus**";
    assert_eq!(run.summary.matches(hold).count(), 2, "both canaries: {}", run.summary);
    assert!(run.summary.contains("cannot reach Prometheus at"), "{}", run.summary);
    assert!(run.step("Advance").log().contains("nothing to commit"), "{run}");
    assert_eq!(show(&bare, &["rev-list", "--count", "main"]).trim(), "1", "no commit");

    // Without the variable the job fails and says which to set.
    let (run, _) = rollout(&root.path().join("unset"), &bare, &[]);
    assert!(!run.succeeded());
    assert!(run.step("Prepare").log().contains("MODELGEN_PROMETHEUS_URL"), "{run}");
    assert_eq!(run.step("Advance").outcome, "skipped");
}

#[test]
fn a_push_race_is_rebased_once_and_a_conflict_fails_without_force() {
    let prometheus = prometheus_until_now();
    let root = tempfile::tempdir().expect("tempdir");
    let bare = rollout_origin(root.path());
    let vars = [("MODELGEN_PROMETHEUS_URL", prometheus.url.as_str())];
    // Someone pushes another file while the job runs: the move lands on top.
    let someone = |bare: &Path, file: &str, contents: &str| {
        let clone = tempfile::tempdir().expect("tempdir");
        git(clone.path(), &["clone", "-q", bare.to_str().expect("UTF-8"), "."]);
        std::fs::write(clone.path().join(file), contents).expect("write");
        git(clone.path(), &["commit", "-q", "-am", "meanwhile"]);
        git(clone.path(), &["push", "-q", "origin", "main"]);
    };
    let (run, _) = rollout_with(&root.path().join("race"), &bare, &vars, |bare| {
        let clone = tempfile::tempdir().expect("tempdir");
        git(clone.path(), &["clone", "-q", bare.to_str().expect("UTF-8"), "."]);
        std::fs::write(clone.path().join("README.md"), "models\n").expect("write");
        git(clone.path(), &["add", "README.md"]);
        git(clone.path(), &["commit", "-q", "-m", "meanwhile"]);
        git(clone.path(), &["push", "-q", "origin", "main"]);
    });
    assert!(run.succeeded(), "{run}");
    assert_eq!(show(&bare, &["log", "--format=%s", "main"]).lines().nth(1), Some("meanwhile"), "kept, underneath");
    assert_moved_busy_to_25(&bare, "main");
    assert!(show(&bare, &["show", "main:README.md"]).contains("models"));

    // Someone changes the same line meanwhile: the job fails, their change stays.
    let other = tempfile::tempdir().expect("tempdir");
    let bare = rollout_origin(other.path());
    let (run, _) = rollout_with(&other.path().join("conflict"), &bare, &vars, |bare| {
        someone(bare, "models/busy.yaml", &canary_spec("busy").replace("trafficPercent: 5", "trafficPercent: 7"));
    });
    assert!(!run.succeeded(), "{run}");
    assert!(run.step("Commit the moves").log().contains("changed the same lines meanwhile"), "{run}");
    assert_eq!(show(&bare, &["log", "-1", "--format=%s", "main"]).trim(), "meanwhile");
    assert_eq!(spec_on(&bare, "main", "models/busy.yaml")["spec"]["canary"]["trafficPercent"], 7);
}

#[test]
fn in_pull_request_mode_the_moves_go_to_a_branch_and_gh_opens_one_pull_request() {
    let prometheus = prometheus_until_now();
    let root = tempfile::tempdir().expect("tempdir");
    let bare = rollout_origin(root.path());
    let vars = [("MODELGEN_PROMETHEUS_URL", prometheus.url.as_str()), ("MODELGEN_ROLLOUT_MODE", "pull-request")];
    let first = root.path().join("first");
    let (run, log) = rollout(&first, &bare, &vars);
    assert!(run.succeeded(), "{run}");
    assert_eq!(branches(&bare), ["main", "modelgen/canary-rollout"]);
    assert_eq!(show(&bare, &["rev-list", "--count", "main"]).trim(), "1", "main is untouched");
    assert_moved_busy_to_25(&bare, "modelgen/canary-rollout");
    let message = std::fs::read_to_string(first.join("runner-temp/message")).expect("the message");
    let title = message.lines().next().expect("a subject").to_owned();
    let recorded = calls(&log);
    let expected: Vec<String> =
        ["gh", "pr", "create", "--base", "main", "--head", "modelgen/canary-rollout", "--title", &title, "--body-file"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0][..expected.len()], expected[..], "{recorded:?}");
    // The body is the status report the job summary shows.
    let body = std::fs::read_to_string(log.with_extension("body")).expect("the body gh was given");
    assert!(body.contains("advance to 25"), "{body}");
    assert_eq!(run.summary, body);

    // While that branch exists no second pull request is proposed.
    let (run, log) = rollout(&root.path().join("second"), &bare, &vars);
    assert!(run.succeeded(), "{run}");
    assert!(run.step("Commit the moves").log().contains("merge or close its pull request"), "{run}");
    assert!(calls(&log).is_empty());
    assert_eq!(branches(&bare), ["main", "modelgen/canary-rollout"]);
}

#[test]
fn a_spec_that_does_not_render_fails_the_job_and_commits_nothing() {
    let root = tempfile::tempdir().expect("tempdir");
    let broken = canary_spec("busy").replace("trafficPercent: 5", "trafficPercent: 150");
    let bare = origin(root.path(), &[("models/busy.yaml", &broken)]);
    let prometheus = prometheus_until_now();
    let (run, _) = rollout(&root.path().join("run"), &bare, &[("MODELGEN_PROMETHEUS_URL", &prometheus.url)]);
    assert!(!run.succeeded(), "{run}");
    assert!(run.steps.iter().any(|s| s.log().contains("trafficPercent")), "{run}");
    assert_eq!(run.step("Commit the moves").outcome, "skipped");
    assert_eq!(show(&bare, &["rev-list", "--count", "main"]).trim(), "1");
}

// ---------------------------------------------------------------------------
// build-and-bump.yml

/// The digest the `docker` stand-in reports for every build.
const DIGEST: &str = "sha256:5d41402abc4b2a76b9719d911017c592aaf4b3f1c8fd52ee2c3e1cb8d6c4b8e1";

/// `docker`: records the call (and, for `login`, whether a password came on
/// stdin); `buildx build --metadata-file F` writes F as buildx does, with
/// the pushed manifest's digest, or without one when `$NO_DIGEST` is set.
fn docker(dir: &Path) {
    let script = format!(
        r#"#!/bin/bash
set -eu
{RECORD}
if [ "$1" = login ]; then
  if [ "$(cat)" = ghs_test-token ]; then echo "password from stdin" >> "$STAND_IN_LOG"; fi
  exit 0
fi
metadata= tag=
while [ $# -gt 0 ]; do
  case "$1" in
    --metadata-file) metadata="$2"; shift ;;
    --tag) tag="$2"; shift ;;
  esac
  shift
done
if [ -n "${{NO_DIGEST:-}}" ]; then
  printf '{{"image.name": "%s"}}\n' "$tag" > "$metadata"
else
  printf '{{"containerimage.digest": "{DIGEST}", "image.name": "%s"}}\n' "$tag" > "$metadata"
fi
"#
    );
    stand_in(dir, "docker", &script);
}

/// The example's spec without its canary: the bump starts one.
fn whiskers() -> String {
    let spec = std::fs::read_to_string(workspace().join("examples/cat-classifier-image/whiskers.yaml")).expect("read");
    let start = spec.find("  # The next build").expect("the canary's comment");
    let end = spec.find("  route:").expect("the route");
    format!("{}{}", &spec[..start], &spec[end..])
}

fn bump_origin(root: &Path, spec: &str) -> PathBuf {
    let project =
        std::fs::read_to_string(workspace().join("examples/cat-classifier-image/modelgen.yaml")).expect("read");
    origin(
        root,
        &[
            ("models/whiskers.yaml", spec),
            ("models/modelgen.yaml", &project),
            (
                "servers/whiskers/Dockerfile",
                "FROM python:3.12-slim\nCOPY . /srv\nCMD [\"python\", \"/srv/serve.py\"]\n",
            ),
        ],
    )
}

fn build_and_bump(root: &Path, bare: &Path, no_digest: bool) -> (JobRun, PathBuf) {
    let workflow = workflow("examples/ci/build-and-bump.yml");
    let (mut runner, log) = runner_in(root);
    let stand_ins = runner.path[0].clone();
    docker(&stand_ins);
    if no_digest {
        runner.env.insert("NO_DIGEST".into(), "1".into());
    }
    runner.inputs =
        [("model", "whiskers"), ("version", "v2.4.0"), ("canary", "10")].map(|(k, v)| (k.into(), v.into())).into();
    let mut uses = actions(&runner, bare);
    let run = runner.run(&workflow, "build-and-bump", |step, workspace| uses(step, workspace));
    (run, log)
}

#[test]
fn build_and_bump_pins_the_pushed_digest_and_opens_a_pull_request() {
    let root = tempfile::tempdir().expect("tempdir");
    let spec = whiskers();
    let bare = bump_origin(root.path(), &spec);
    let run_root = root.path().join("run");
    let (run, log) = build_and_bump(&run_root, &bare, false);
    assert!(run.succeeded(), "{run}");

    // The image was built from the model's directory, tagged, pushed, and the
    // registry token came on stdin, never on the command line.
    let calls = calls(&log);
    assert_eq!(calls[0][..3], ["docker", "login", "ghcr.io"], "{calls:?}");
    assert!(calls[0].iter().any(|a| a == "password from stdin"), "{calls:?}");
    assert!(!calls.iter().flatten().any(|a| a == "ghs_test-token"), "{calls:?}");
    let build = &calls[1];
    assert_eq!(build[..4], ["docker", "buildx", "build", "servers/whiskers"], "{calls:?}");
    let image = "ghcr.io/acme/models/whiskers";
    assert!(build.windows(2).any(|w| w[0] == "--tag" && w[1] == format!("{image}:v2.4.0")), "lowercased: {build:?}");
    assert!(build.iter().any(|a| a == "--push"), "{build:?}");

    // A branch with one commit: the canary at 10 % on the pushed digest.
    let branch = "modelgen/bump-whiskers-v2.4.0";
    assert_eq!(branches(&bare), ["main", branch]);
    assert_eq!(show(&bare, &["rev-list", "--count", "main"]).trim(), "1", "main is untouched");
    let bumped = spec_on(&bare, branch, "models/whiskers.yaml");
    let canary = &bumped["spec"]["canary"];
    assert_eq!(canary["version"], "v2.4.0");
    assert_eq!(canary["image"], format!("{image}@{DIGEST}"));
    assert_eq!(canary["trafficPercent"], 10);
    assert_eq!(bumped["spec"]["model"]["version"], "v2.3.0", "the stable model stays");
    // Every line of the spec as written is still there, in order: only lines were added.
    let after = show(&bare, &["show", &format!("{branch}:models/whiskers.yaml")]);
    let mut rest = after.lines();
    for line in spec.lines() {
        assert!(rest.any(|l| l == line), "`{line}` was changed:\n{after}");
    }
    let trailers = trailers(&bare, branch);
    for line in ["Modelgen-Model: whiskers", "Modelgen-Version: v2.4.0"] {
        assert!(trailers.iter().any(|l| l == line), "{line:?} missing from {trailers:#?}");
    }

    // The pull request: title and body from the printed message.
    let message = std::fs::read_to_string(run_root.join("runner-temp/message")).expect("the message");
    assert_eq!(show(&bare, &["log", "-1", "--format=%B", branch]).trim_end(), message.trim_end());
    let title = message.lines().next().expect("a subject");
    let pr = calls.iter().find(|c| c[0] == "gh").expect("gh was called");
    assert_eq!(pr[1..6], ["pr", "create", "--head", branch, "--title"], "{pr:?}");
    assert_eq!(pr[6], title);
    assert_eq!(std::fs::read_to_string(log.with_extension("body")).expect("the body"), message);
}

#[test]
fn build_and_bump_writes_and_pushes_nothing_without_a_digest_or_with_a_canary_already() {
    // No digest reported: the job stops before the spec is touched.
    let root = tempfile::tempdir().expect("tempdir");
    let bare = bump_origin(root.path(), &whiskers());
    let (run, log) = build_and_bump(&root.path().join("run"), &bare, true);
    assert!(!run.succeeded(), "{run}");
    assert!(run.step("Build and push the image").log().contains("the build reported no image digest"), "{run}");
    assert_eq!(run.step("Bump the spec").outcome, "skipped");
    assert_eq!(branches(&bare), ["main"]);
    assert!(!calls(&log).iter().any(|c| c[0] == "gh"));

    // The example as shipped already runs a canary: `bump --canary` refuses, nothing is pushed.
    let other = tempfile::tempdir().expect("tempdir");
    let shipped =
        std::fs::read_to_string(workspace().join("examples/cat-classifier-image/whiskers.yaml")).expect("read");
    let bare = bump_origin(other.path(), &shipped);
    let (run, log) = build_and_bump(&other.path().join("run"), &bare, false);
    assert!(!run.succeeded(), "{run}");
    let bump = run.step("Bump the spec");
    assert_eq!(bump.outcome, "failure");
    assert!(bump.output.as_ref().is_some_and(|o| o.stdout.is_empty()), "nothing on stdout: {run}");
    assert!(bump.log().contains("canary"), "{run}");
    assert_eq!(branches(&bare), ["main"]);
    assert!(!calls(&log).iter().any(|c| c[0] == "gh"));
}
