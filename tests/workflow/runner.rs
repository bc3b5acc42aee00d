//! Runs a GitHub Actions workflow's `run:` steps as the runner would: in order, with `bash --noprofile --norc -eo pipefail`, the workflow's, job's and step's `env`, `if:` conditions, step outputs, `$GITHUB_ENV` and a job summary.
//!
//! Only what the shipped workflows use is understood; anything else panics,
//! so that a workflow the emulation cannot follow fails its test instead of
//! being run wrongly. `uses:` steps go to a callback: only the test knows
//! what stands in for an action (a clone of a bare repository for
//! `actions/checkout`, nothing for a cache).

// Each suite uses its own subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{documents, modelgen, text, workspace};

/// A workflow file of the repository, parsed.
pub fn workflow(path: &str) -> Value {
    let source = std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    documents(&source).remove(0)
}

/// The documents of a YAML file in the repository.
pub fn repository_yaml(path: &str) -> Vec<Value> {
    let source = std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    documents(&source)
}

/// The workflow's `env` value `name`.
pub fn workflow_env(workflow: &Value, name: &str) -> String {
    workflow["env"][name].as_str().unwrap_or_else(|| panic!("the workflow sets no `{name}`")).to_owned()
}

/// The `run` script of the step called `name` in `job`.
pub fn step(workflow: &Value, job: &str, name: &str) -> String {
    let steps = workflow["jobs"][job]["steps"].as_array().unwrap_or_else(|| panic!("no job `{job}`"));
    let step = steps.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step `{name}` in `{job}`"));
    step["run"].as_str().expect("a run script").to_owned()
}

/// The directory of the `modelgen` binary under test.
fn modelgen_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_modelgen")).parent().expect("a directory").to_path_buf()
}

/// `bash --noprofile --norc -eo pipefail FILE`, the runner's `shell: bash`,
/// with `script` written to a file in `temp` as the runner does.
fn bash(dir: &Path, temp: &Path, script: &str) -> Command {
    std::fs::create_dir_all(temp).expect("mkdir");
    let file = tempfile::Builder::new().suffix(".sh").tempfile_in(temp).expect("a script file");
    let (_, path) = file.keep().expect("keep the script");
    std::fs::write(&path, script).expect("write the script");
    let mut command = Command::new("bash");
    command.current_dir(dir).args(["--noprofile", "--norc", "-eo", "pipefail"]).arg(path);
    // `modelgen` from this build, with the suite's plugin and compile cache.
    for (key, value) in modelgen().get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    command
}

/// Runs a workflow step's script with bash, as the runner would, with
/// `modelgen` from this build on the PATH and the workflow's `MODELS` and
/// `RENDERED`.
pub fn run_step(workflow: &Value, repo: &Path, script: &str) -> Output {
    let temp = repo.join(".runner-temp");
    let mut command = bash(repo, &temp, script);
    command
        .env("PATH", format!("{}:/usr/bin:/bin", modelgen_dir().display()))
        .env("MODELS", workflow_env(workflow, "MODELS"))
        .env("RENDERED", workflow_env(workflow, "RENDERED"))
        .env("RUNNER_TEMP", &temp)
        .env("GITHUB_STEP_SUMMARY", temp.join("summary.md"))
        .env("PR", "1")
        .env("GH_TOKEN", "");
    command.output().expect("run bash")
}

/// What happened to one step.
#[derive(Debug)]
pub struct StepRun {
    /// The step's `name`, or its `uses`.
    pub name: String,
    /// Its outcome: `success`, `failure` or `skipped`.
    pub outcome: &'static str,
    /// What its script printed (none for `uses:` and skipped steps).
    pub output: Option<Output>,
}

impl StepRun {
    /// The step's stdout and stderr, for messages.
    pub fn log(&self) -> String {
        self.output.as_ref().map(|o| format!("{}{}", text(&o.stdout), text(&o.stderr))).unwrap_or_default()
    }
}

/// One job's run: its steps, and whether it succeeded.
#[derive(Debug)]
pub struct JobRun {
    pub steps: Vec<StepRun>,
    /// The job summary (`$GITHUB_STEP_SUMMARY` of every step).
    pub summary: String,
}

impl JobRun {
    /// True when no step failed.
    pub fn succeeded(&self) -> bool {
        self.steps.iter().all(|s| s.outcome != "failure")
    }

    /// The step called `name`.
    pub fn step(&self, name: &str) -> &StepRun {
        self.steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no step `{name}`: {self}"))
    }
}

impl std::fmt::Display for JobRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for step in &self.steps {
            writeln!(f, "--- {} ({})\n{}", step.name, step.outcome, step.log())?;
        }
        Ok(())
    }
}

/// The runner: contexts the expressions read, and where the job runs.
pub struct Runner {
    /// `vars.*`.
    pub vars: BTreeMap<String, String>,
    /// `secrets.*`.
    pub secrets: BTreeMap<String, String>,
    /// `github.*` (dotted keys: `event.repository.default_branch`).
    pub github: BTreeMap<String, String>,
    /// `inputs.*`.
    pub inputs: BTreeMap<String, String>,
    /// `$GITHUB_WORKSPACE`, where the steps run.
    pub workspace: PathBuf,
    /// `$RUNNER_TEMP`, and `$HOME` beneath it.
    pub temp: PathBuf,
    /// Directories put before `modelgen`'s and the system's on `PATH` (stand-ins for `docker`, `gh`).
    pub path: Vec<PathBuf>,
    /// More environment for every step (what the stand-ins read).
    pub env: BTreeMap<String, String>,
}

impl Runner {
    /// A runner whose workspace and temporary directory are in `root`.
    pub fn new(root: &Path) -> Self {
        let workspace = root.join("workspace");
        let temp = root.join("runner-temp");
        std::fs::create_dir_all(&temp).expect("mkdir");
        let github = [
            ("token", "ghs_test-token"),
            ("repository", "Acme/models"),
            ("server_url", "https://github.com"),
            ("actor", "octocat"),
            ("run_id", "4242"),
            ("event.repository.default_branch", "main"),
        ];
        Self {
            vars: BTreeMap::new(),
            secrets: BTreeMap::new(),
            github: github.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            inputs: BTreeMap::new(),
            workspace,
            temp,
            path: Vec::new(),
            env: BTreeMap::new(),
        }
    }

    /// Runs `job` of `workflow`: each step in order; after a failure only
    /// the steps whose `if:` asks for it (`always()`, `failure()`) run.
    /// `uses` stands in for each `uses:` step (given the step and the workspace)
    /// and returns whether it succeeded.
    pub fn run(&self, workflow: &Value, job: &str, mut uses: impl FnMut(&Value, &Path) -> bool) -> JobRun {
        let steps = workflow["jobs"][job]["steps"].as_array().unwrap_or_else(|| panic!("no job `{job}`"));
        let summary = self.temp.join("summary.md");
        let _ = std::fs::remove_file(&summary);
        let github_env = self.temp.join("github-env");
        std::fs::write(&github_env, "").expect("write");
        let home = self.temp.join("home");
        std::fs::create_dir_all(&home).expect("mkdir");
        let mut context = Context { runner: self, env: BTreeMap::new(), steps: BTreeMap::new(), failed: false };
        let mut runs = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let name = step["name"].as_str().or_else(|| step["uses"].as_str()).expect("a named step").to_owned();
            // The env the step sees: workflow, job, `$GITHUB_ENV` so far, then the step's.
            let mut env = BTreeMap::new();
            for scope in [&workflow["env"], &workflow["jobs"][job]["env"]] {
                for (key, value) in scope.as_object().into_iter().flatten() {
                    context.env.clone_from(&env);
                    env.insert(key.clone(), context.interpolate(value.as_str().expect("a string")));
                }
            }
            env.extend(read_env_file(&github_env));
            context.env.clone_from(&env);
            for (key, value) in step["env"].as_object().into_iter().flatten() {
                env.insert(key.clone(), context.interpolate(value.as_str().expect("a string")));
            }
            context.env.clone_from(&env);
            let condition = step["if"].as_str().unwrap_or("success()");
            if !context.truthy(condition) {
                runs.push(StepRun { name, outcome: "skipped", output: None });
                continue;
            }
            let (outcome, output) = if let Some(script) = step["run"].as_str() {
                let outputs = self.temp.join(format!("output-{i}"));
                std::fs::write(&outputs, "").expect("write");
                let mut command = bash(&self.workspace, &self.temp, script);
                let mut path: Vec<String> = self.path.iter().map(|p| p.display().to_string()).collect();
                path.push(modelgen_dir().display().to_string());
                path.push(tools(&self.temp).display().to_string());
                path.extend(["/usr/bin".to_owned(), "/bin".to_owned()]);
                command
                    .env_clear()
                    .envs(modelgen().get_envs().filter_map(|(k, v)| Some((k, v?))))
                    .env("PATH", path.join(":"))
                    .env("HOME", &home)
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("CI", "true")
                    .env("GITHUB_ACTIONS", "true")
                    .env("GITHUB_WORKSPACE", &self.workspace)
                    .env("GITHUB_REPOSITORY", &self.github["repository"])
                    .env("GITHUB_SERVER_URL", &self.github["server_url"])
                    .env("GITHUB_ACTOR", &self.github["actor"])
                    .env("GITHUB_RUN_ID", &self.github["run_id"])
                    .env("GITHUB_SHA", head(&self.workspace))
                    .env("RUNNER_TEMP", &self.temp)
                    .env("GITHUB_STEP_SUMMARY", &summary)
                    .env("GITHUB_OUTPUT", &outputs)
                    .env("GITHUB_ENV", &github_env)
                    .envs(&self.env)
                    .envs(&env);
                let output = command.output().expect("run bash");
                if let Some(id) = step["id"].as_str() {
                    context.steps.insert(id.to_owned(), read_env_file(&outputs));
                }
                (if output.status.success() { "success" } else { "failure" }, Some(output))
            } else {
                assert!(step["uses"].is_string(), "step `{name}` neither runs nor uses");
                (if uses(step, &self.workspace) { "success" } else { "failure" }, None)
            };
            context.failed |= outcome == "failure";
            runs.push(StepRun { name, outcome, output });
        }
        JobRun { steps: runs, summary: std::fs::read_to_string(&summary).unwrap_or_default() }
    }

    /// `${{ ... }}` in a `with:` value of `step`, evaluated.
    pub fn with(&self, step: &Value, key: &str) -> Option<String> {
        let context = Context { runner: self, env: BTreeMap::new(), steps: BTreeMap::new(), failed: false };
        step["with"][key].as_str().map(|v| context.interpolate(v))
    }
}

/// A directory with the tools the steps may use beside the system's
/// (`git` and `jq`, wherever this machine has them), but not `docker` or `gh`,
/// which each test stands in for.
fn tools(temp: &Path) -> PathBuf {
    let dir = temp.join("tools");
    if dir.exists() {
        return dir;
    }
    std::fs::create_dir_all(&dir).expect("mkdir");
    for tool in ["git", "jq"] {
        let found = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("`{tool}` is not on PATH"));
        std::os::unix::fs::symlink(found, dir.join(tool)).expect("link a tool");
    }
    dir
}

/// The checked-out commit, or nothing before the checkout.
fn head(dir: &Path) -> String {
    Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// `NAME=value` lines of `$GITHUB_OUTPUT` or `$GITHUB_ENV` (the
/// `NAME<<DELIMITER` form is not used by the shipped workflows).
fn read_env_file(path: &Path) -> BTreeMap<String, String> {
    let content = std::fs::read_to_string(path).unwrap_or_default();
    content
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            assert!(!line.contains("<<"), "multi-line values are not emulated: {line}");
            let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not NAME=value: {line}"));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// What expressions read while one job runs.
struct Context<'a> {
    runner: &'a Runner,
    env: BTreeMap<String, String>,
    /// `steps.<id>.outputs`.
    steps: BTreeMap<String, BTreeMap<String, String>>,
    failed: bool,
}

impl Context<'_> {
    /// A string with each `${{ expression }}` replaced by its value.
    fn interpolate(&self, value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap_or_else(|| panic!("unclosed expression in {value}")) + start;
            out.push_str(&self.evaluate(rest[start + 3..end].trim()));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// An `if:` condition (with or without `${{ }}`).
    fn truthy(&self, condition: &str) -> bool {
        let condition = condition.trim();
        let condition = condition.strip_prefix("${{").and_then(|c| c.strip_suffix("}}")).unwrap_or(condition);
        !self.evaluate(condition.trim()).is_empty()
    }

    /// `a || b`, `a && b`, `a == b`, `a != b` over literals, contexts and
    /// the status functions; a false value is the empty string, true is `true`.
    fn evaluate(&self, expression: &str) -> String {
        if let Some((left, right)) = split(expression, "||") {
            let left = self.evaluate(left);
            return if left.is_empty() { self.evaluate(right) } else { left };
        }
        if let Some((left, right)) = split(expression, "&&") {
            let left = self.evaluate(left);
            return if left.is_empty() { left } else { self.evaluate(right) };
        }
        for (operator, equal) in [("==", true), ("!=", false)] {
            if let Some((left, right)) = split(expression, operator) {
                // GitHub compares strings ignoring case.
                let same = self.evaluate(left).eq_ignore_ascii_case(&self.evaluate(right));
                return if same == equal { "true".to_owned() } else { String::new() };
            }
        }
        let operand = expression.trim();
        let boolean = |b: bool| if b { "true".to_owned() } else { String::new() };
        match operand {
            "success()" => return boolean(!self.failed),
            "failure()" => return boolean(self.failed),
            "always()" => return "true".to_owned(),
            _ => {}
        }
        if let Some(literal) = operand.strip_prefix('\'').and_then(|o| o.strip_suffix('\'')) {
            return literal.replace("''", "'");
        }
        let (scope, key) = operand.split_once('.').unwrap_or_else(|| panic!("not emulated: `{operand}`"));
        let runner = self.runner;
        let value = match scope {
            "vars" => runner.vars.get(key),
            "secrets" => runner.secrets.get(key),
            "inputs" => runner.inputs.get(key),
            "env" => self.env.get(key),
            "github" => runner.github.get(key),
            "runner" if key == "os" => return "Linux".to_owned(),
            "steps" => {
                let (id, output) = key.split_once(".outputs.").unwrap_or_else(|| panic!("not emulated: `{operand}`"));
                self.steps.get(id).and_then(|o| o.get(output))
            }
            _ => panic!("not emulated: `{operand}`"),
        };
        if scope == "github" {
            assert!(value.is_some(), "the emulated `github` context has no `{key}`");
        }
        value.cloned().unwrap_or_default()
    }
}

/// `expression` split at the first `operator` outside quotes.
fn split<'e>(expression: &'e str, operator: &str) -> Option<(&'e str, &'e str)> {
    let mut quoted = false;
    for (i, c) in expression.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && expression[i..].starts_with(operator) {
            return Some((&expression[..i], &expression[i + operator.len()..]));
        }
    }
    None
}

/// Makes `script` an executable file `name` in `dir` (a stand-in for a tool).
pub fn stand_in(dir: &Path, name: &str, script: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let path = dir.join(name);
    std::fs::write(&path, script).expect("write a stand-in");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
}
