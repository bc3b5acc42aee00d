//! The Argo CD config management plugin, driven the way `argocd-cmp-server` drives it, and the files that install it.
//!
//! The harness reads the repository's own `deploy/argocd/plugin.yaml` and
//! does what the sidecar does for each request: unpacks the application
//! into a fresh directory with file modes reset, decides whether the plugin
//! applies, runs the parameters command and `generate` in the application's
//! directory with exactly the environment Argo CD builds (the sidecar's own
//! variables plus `ARGOCD_APP_*`, `KUBE_*`, `ARGOCD_ENV_*`, `PARAM_*`), and
//! judges stdout, stderr and the exit code as repo-server would.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mlua::Lua;
use serde_json::{Value, json};
use support::{documents, run_in, text, workspace};

/// A secret in the sidecar's own environment: it must never reach stderr.
const SIDECAR_SECRET: (&str, &str) = ("AWS_SECRET_ACCESS_KEY", "sidecar-secret-0f3c9a");
/// The commit the fake repo-server resolved.
const REVISION: &str = "53a4f2c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";
/// The repository the example Applications name.
const REPO_URL: &str = "https://github.com/modelgen/modelgen.git";

fn yaml(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

fn deploy(file: &str) -> PathBuf {
    workspace().join("deploy/argocd").join(file)
}

/// `deploy/argocd/plugin.yaml`, checked as cmp-server checks it at start.
struct Plugin {
    config: Value,
}

impl Plugin {
    fn load() -> Self {
        let config = yaml(&deploy("plugin.yaml"));
        // cmp-server's ValidatePluginConfig: it refuses to start otherwise.
        assert_eq!(config["apiVersion"], "argoproj.io/v1alpha1");
        assert_eq!(config["kind"], "ConfigManagementPlugin");
        assert!(config["metadata"]["name"].as_str().is_some_and(|n| !n.is_empty()), "metadata.name is required");
        assert!(!Self::command_of(&config["spec"]["generate"]).is_empty(), "spec.generate.command is required");
        Self { config }
    }

    /// The name Applications select it by: `<metadata.name>-<spec.version>`.
    fn name(&self) -> String {
        let name = self.config["metadata"]["name"].as_str().expect("name");
        match self.config["spec"]["version"].as_str() {
            Some(version) => format!("{name}-{version}"),
            None => name.to_owned(),
        }
    }

    /// `command[0]` with `command[1:] + args`, as cmp-server execs it.
    fn command_of(block: &Value) -> Vec<String> {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
        };
        let mut argv = strings(&block["command"]);
        argv.extend(strings(&block["args"]));
        argv
    }

    /// Whether an Application source selecting `plugin_name` gets this
    /// plugin. With a `discover` block cmp-server would also have to match
    /// the files; this plugin has none (see plugin.yaml), so it is used
    /// exactly when named and never by auto-discovery.
    fn selected_by(&self, plugin_name: Option<&str>) -> bool {
        assert!(
            self.config["spec"].get("discover").is_none(),
            "plugin.yaml gained a `discover` block: teach this harness to evaluate it, and update the README"
        );
        plugin_name == Some(self.name().as_str())
    }

    fn generate(&self) -> Vec<String> {
        Self::command_of(&self.config["spec"]["generate"])
    }

    fn parameters(&self) -> Vec<String> {
        Self::command_of(&self.config["spec"]["parameters"]["dynamic"])
    }
}

/// What the sidecar container itself carries: `modelgen` on `PATH` (as the
/// image installs it), a private cache, and a secret of its own.
struct Sidecar {
    _home: tempfile::TempDir,
    bin: PathBuf,
    tmp: PathBuf,
    cache: PathBuf,
}

impl Sidecar {
    /// A sidecar whose compile cache is warm (shared by the tests in this process).
    fn warm() -> &'static Sidecar {
        static WARM: OnceLock<Sidecar> = OnceLock::new();
        WARM.get_or_init(|| {
            let sidecar = Sidecar::cold();
            let out = Command::new(env!("CARGO_BIN_EXE_modelgen"))
                .arg("info")
                .env("MODELGEN_CACHE_DIR", &sidecar.cache)
                .output()
                .expect("run modelgen");
            assert!(out.status.success(), "{}", text(&out.stderr));
            sidecar
        })
    }

    /// A sidecar that never ran modelgen: an empty cache directory.
    fn cold() -> Sidecar {
        let home = tempfile::tempdir().expect("sidecar home");
        let bin = home.path().join("bin");
        let tmp = home.path().join("tmp");
        fs::create_dir_all(&bin).expect("bin");
        fs::create_dir_all(&tmp).expect("tmp");
        symlink(env!("CARGO_BIN_EXE_modelgen"), bin.join("modelgen")).expect("install modelgen");
        let cache = home.path().join("cache");
        Sidecar { bin, tmp, cache, _home: home }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), format!("{}:/usr/bin:/bin", self.bin.display())),
            ("HOME".into(), "/home/argocd".into()),
            ("TMPDIR".into(), self.tmp.display().to_string()),
            ("MODELGEN_CACHE_DIR".into(), self.cache.display().to_string()),
            (SIDECAR_SECRET.0.into(), SIDECAR_SECRET.1.into()),
        ]
    }
}

/// An Application's source and destination, as far as the plugin sees them.
#[derive(Clone, Debug)]
struct App {
    name: String,
    path: String,
    namespace: String,
    plugin_name: Option<String>,
    env: Vec<(String, String)>,
    parameters: Vec<Value>,
}

impl App {
    /// The Application an Argo CD `Application` manifest describes.
    fn from_manifest(manifest: &Value) -> Self {
        let source = &manifest["spec"]["source"];
        let plugin = &source["plugin"];
        App {
            name: manifest["metadata"]["name"].as_str().expect("name").into(),
            path: source["path"].as_str().expect("path").into(),
            namespace: manifest["spec"]["destination"]["namespace"].as_str().unwrap_or_default().into(),
            plugin_name: plugin["name"].as_str().map(str::to_owned),
            env: plugin["env"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| (e["name"].as_str().expect("env name").into(), e["value"].as_str().unwrap_or("").into()))
                .collect(),
            parameters: plugin["parameters"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// Argo CD's `PARAM_*` name escaping.
    fn escaped(name: &str) -> String {
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' }).collect()
    }

    /// `ARGOCD_APP_PARAMETERS` and the `PARAM_*` variables
    /// (`ApplicationSourcePluginParameters.Environ`).
    fn parameter_env(&self) -> Vec<(String, String)> {
        if self.parameters.is_empty() {
            return Vec::new();
        }
        let mut env = vec![("ARGOCD_APP_PARAMETERS".to_owned(), Value::Array(self.parameters.clone()).to_string())];
        for parameter in &self.parameters {
            let base = format!("PARAM_{}", Self::escaped(parameter["name"].as_str().expect("parameter name")));
            if let Some(s) = parameter["string"].as_str() {
                env.push((base.clone(), s.into()));
            }
            for (key, value) in parameter["map"].as_object().into_iter().flatten() {
                env.push((format!("{base}_{}", Self::escaped(key)), value.as_str().unwrap_or("").into()));
            }
            for (i, value) in parameter["array"].as_array().into_iter().flatten().enumerate() {
                env.push((format!("{base}_{i}"), value.as_str().unwrap_or("").into()));
            }
        }
        env
    }

    /// `plugin.env` as `ARGOCD_ENV_<NAME>`, values expanded against the
    /// build environment first (`$$` for a literal `$`), as repo-server does.
    fn user_env(&self, build: &[(String, String)]) -> Vec<(String, String)> {
        let lookup = |name: &str| build.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        self.env
            .iter()
            .map(|(name, value)| {
                let mut out = String::new();
                let mut rest = value.as_str();
                while let Some(i) = rest.find('$') {
                    out.push_str(&rest[..i]);
                    rest = &rest[i + 1..];
                    if let Some(r) = rest.strip_prefix('$') {
                        out.push('$');
                        rest = r;
                    } else if let Some(r) = rest.strip_prefix('{') {
                        let end = r.find('}').expect("closed ${}");
                        out.push_str(&lookup(&r[..end]));
                        rest = &r[end + 1..];
                    } else {
                        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
                        out.push_str(&lookup(&rest[..end]));
                        rest = &rest[end..];
                    }
                }
                out.push_str(rest);
                (format!("ARGOCD_ENV_{name}"), out)
            })
            .collect()
    }

    /// The environment of `generate`: the sidecar's, the build environment,
    /// the cluster's, the user's settings and the parameters.
    fn generate_env(&self, sidecar: &Sidecar, api_versions: &str) -> Vec<(String, String)> {
        let build: Vec<(String, String)> = [
            ("ARGOCD_APP_NAME", self.name.as_str()),
            ("ARGOCD_APP_NAMESPACE", self.namespace.as_str()),
            ("ARGOCD_APP_PROJECT_NAME", "default"),
            ("ARGOCD_APP_REVISION", REVISION),
            ("ARGOCD_APP_REVISION_SHORT", &REVISION[..7]),
            ("ARGOCD_APP_REVISION_SHORT_8", &REVISION[..8]),
            ("ARGOCD_APP_SOURCE_PATH", self.path.as_str()),
            ("ARGOCD_APP_SOURCE_REPO_URL", REPO_URL),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION", "main"),
            ("KUBE_VERSION", "1.34.1"),
            ("KUBE_API_VERSIONS", api_versions),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let mut env = sidecar.env();
        env.extend(self.user_env(&build));
        env.extend(build);
        env.extend(self.parameter_env());
        env
    }

    /// The smaller environment of the parameters command: no revision, no
    /// namespace, no cluster.
    fn parameters_env(&self, sidecar: &Sidecar) -> Vec<(String, String)> {
        let build: Vec<(String, String)> = [
            ("ARGOCD_APP_NAME", self.name.as_str()),
            ("ARGOCD_APP_SOURCE_REPO_URL", REPO_URL),
            ("ARGOCD_APP_SOURCE_PATH", self.path.as_str()),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION", "main"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let mut env = sidecar.env();
        env.extend(self.user_env(&build));
        env.extend(build);
        env.extend(self.parameter_env());
        env
    }
}

/// What a destination cluster with KServe, Seldon Core v1 and 2, Gateway API
/// and Istio serves, in `KUBE_API_VERSIONS` form (both `group/version` and
/// `group/version/Kind`, sorted).
fn full_cluster() -> String {
    let mut entries: Vec<String> = vec!["v1".into(), "v1/ConfigMap".into(), "v1/Service".into(), "apps/v1".into()];
    entries.push("apps/v1/Deployment".into());
    // Gateway API v1.4 (standard): `GRPCRoute` and `BackendTLSPolicy` are `v1`.
    entries.push("gateway.networking.k8s.io/v1/GRPCRoute".into());
    entries.push("gateway.networking.k8s.io/v1/BackendTLSPolicy".into());
    for (api_version, kind) in modelgen::crd::kinds() {
        entries.push(api_version.to_owned());
        entries.push(format!("{api_version}/{kind}"));
    }
    entries.sort();
    entries.dedup();
    entries.join(",")
}

/// The repository as the sidecar unpacks it for one request: a fresh
/// `<tmp>/_cmp_server/<id>/` holding the repository's files with modes reset
/// (0644 files, 0755 directories), `.git` excluded, and symlinks only when
/// they stay inside the tree (made relative), as `Untgz` does.
struct Unpacked {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Unpacked {
    /// Unpacks `subtree` of `repo` (a directory standing for the repository root).
    fn new(repo: &Path, subtree: &str, sidecar: &Sidecar) -> Self {
        let dir = tempfile::Builder::new().prefix("_cmp_server").tempdir_in(&sidecar.tmp).expect("work dir");
        let root = dir.path().join("3f6e1c2a-request");
        fs::create_dir_all(&root).expect("root");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod root");
        Self::copy(repo, &repo.join(subtree), &root);
        Unpacked { _dir: dir, root }
    }

    fn copy(repo: &Path, from: &Path, root: &Path) {
        let relative = from.strip_prefix(repo).expect("inside the repo");
        let to = root.join(relative);
        let meta = fs::symlink_metadata(from).expect("stat");
        if relative.starts_with(".git") {
            return; // --plugin-tar-exclude=.git/*
        }
        if meta.file_type().is_symlink() {
            let target = fs::canonicalize(from).expect("resolvable link");
            assert!(target.starts_with(repo), "Untgz refuses `{}`: illegal filepath in symlink", from.display());
            let relative_target =
                pathdiff(&target, from.parent().expect("parent")).expect("a relative path to the target");
            symlink(relative_target, &to).expect("symlink");
        } else if meta.is_dir() {
            fs::create_dir_all(&to).expect("mkdir");
            fs::set_permissions(&to, fs::Permissions::from_mode(0o755)).expect("chmod dir");
            for entry in fs::read_dir(from).expect("list") {
                Self::copy(repo, &entry.expect("entry").path(), root);
            }
        } else if meta.is_file() {
            fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            fs::copy(from, &to).expect("copy");
            fs::set_permissions(&to, fs::Permissions::from_mode(0o644)).expect("chmod file");
        }
        // Anything else (FIFOs, devices) is not archived at all.
    }

    fn app_dir(&self, app: &App) -> PathBuf {
        self.root.join(&app.path)
    }
}

/// `target` relative to `base` (both absolute, `base` a directory).
fn pathdiff(target: &Path, base: &Path) -> Option<PathBuf> {
    let base = fs::canonicalize(base).ok()?;
    let common = target.components().zip(base.components()).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in base.components().skip(common) {
        out.push("..");
    }
    for part in target.components().skip(common) {
        out.push(part);
    }
    Some(out)
}

/// Runs a plugin command as cmp-server does: a plain exec of `argv` (found
/// on the sidecar's `PATH`), in `dir`, with exactly `env`.
fn exec(argv: &[String], dir: &Path, env: &[(String, String)]) -> Output {
    Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(n, v)| (n, v)))
        .output()
        .unwrap_or_else(|e| panic!("exec {argv:?}: {e}"))
}

/// Checks a successful `generate` the way repo-server reads it: exit 0 and
/// a non-empty stream of Kubernetes objects.
fn objects(out: &Output, context: &str) -> Vec<Value> {
    assert_eq!(out.status.code(), Some(0), "{context}: generate failed:\n{}", text(&out.stderr));
    let docs = documents(&text(&out.stdout));
    assert!(!docs.is_empty(), "{context}: exit 0 with no objects would make Argo CD prune everything");
    for doc in &docs {
        assert!(doc["apiVersion"].is_string() && doc["kind"].is_string(), "{context}: not an object: {doc}");
        assert!(doc["metadata"]["name"].is_string(), "{context}: an object without a name: {doc}");
    }
    docs
}

/// Checks a failed `generate`: non-zero exit, nothing on stdout, a short
/// stderr that names the application and leaks no environment value.
fn failure(out: &Output, app: &App, context: &str) -> String {
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{context}: must fail");
    assert!(out.stdout.is_empty(), "{context}: a failure printed to stdout:\n{}", text(&out.stdout));
    assert!(
        stderr.lines().next().is_some_and(|l| l.contains(&format!("application `{}`", app.name))),
        "{context}: the first line must name the application:\n{stderr}"
    );
    assert!(stderr.lines().count() <= 50, "{context}: stderr is longer than a screen:\n{stderr}");
    assert!(!stderr.contains(SIDECAR_SECRET.1), "{context}: the sidecar's secret leaked:\n{stderr}");
    assert!(!stderr.contains(REVISION), "{context}: the full revision is noise:\n{stderr}");
    stderr
}

/// One Application per example directory, as deploy/argocd/applicationset.yaml makes them.
fn applicationset_apps() -> Vec<App> {
    let set = yaml(&deploy("applicationset.yaml"));
    assert_eq!(set["kind"], "ApplicationSet");
    let directories = set["spec"]["generators"][0]["git"]["directories"].as_array().expect("directories");
    let pattern = directories[0]["path"].as_str().expect("a directory glob");
    let parent = pattern.strip_suffix("/*").expect("a one-level `dir/*` glob");
    // Entries with `exclude: true` name directories that get no Application.
    let excluded: Vec<&str> =
        directories.iter().filter(|d| d["exclude"] == true).filter_map(|d| d["path"].as_str()).collect();
    let template = &set["spec"]["template"];
    let mut apps = Vec::new();
    for dir in support::subdirectories(&workspace().join(parent)) {
        let basename = dir.file_name().expect("name").to_string_lossy().into_owned();
        let path = format!("{parent}/{basename}");
        if excluded.contains(&path.as_str()) {
            continue;
        }
        let fill = |s: &str| s.replace("{{.path.basename}}", &basename).replace("{{.path.path}}", &path);
        let manifest = json!({
            "metadata": {"name": fill(template["metadata"]["name"].as_str().expect("name template"))},
            "spec": {
                "source": {
                    "path": fill(template["spec"]["source"]["path"].as_str().expect("path template")),
                    "plugin": template["spec"]["source"]["plugin"].clone(),
                },
                "destination": {"namespace": fill(template["spec"]["destination"]["namespace"].as_str().unwrap_or(""))},
            },
        });
        apps.push(App::from_manifest(&manifest));
    }
    assert!(apps.len() >= 5, "every example is an Application: {apps:?}");
    apps
}

/// What `modelgen render` prints for the same directory and namespace.
fn render(path: &str, namespace: &str) -> String {
    let out = run_in(&workspace(), &["render", path, "--namespace", namespace]);
    assert_eq!(out.status.code(), Some(0), "render {path}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn plugin_yaml_is_what_cmp_server_accepts_and_applications_name_it() {
    let plugin = Plugin::load();
    assert_eq!(plugin.name(), "modelgen-v1");
    assert_eq!(plugin.generate(), ["modelgen", "argocd", "generate"]);
    assert_eq!(plugin.parameters(), ["modelgen", "argocd", "parameters"]);
    assert_eq!(plugin.config["spec"]["preserveFileMode"], false);
    assert_eq!(plugin.config["spec"]["provideGitCreds"], false);
    // No discovery: named Applications get it, auto-discovery (`plugin: {}`) does not.
    assert!(plugin.selected_by(Some("modelgen-v1")));
    assert!(!plugin.selected_by(None));
    assert!(!plugin.selected_by(Some("modelgen")), "without the version the name does not match (argo-cd#13013)");
    let application = App::from_manifest(&yaml(&deploy("application.yaml")));
    assert!(plugin.selected_by(application.plugin_name.as_deref()), "application.yaml names the plugin");
    for app in applicationset_apps() {
        assert!(plugin.selected_by(app.plugin_name.as_deref()), "applicationset.yaml names the plugin");
    }
}

#[test]
fn every_example_renders_through_the_cmp_contract_exactly_as_modelgen_render() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    for app in applicationset_apps() {
        let repo = Unpacked::new(&workspace(), &app.path, sidecar);
        let dir = repo.app_dir(&app);
        assert!(plugin.selected_by(app.plugin_name.as_deref()));

        let announced = exec(&plugin.parameters(), &dir, &app.parameters_env(sidecar));
        assert_eq!(announced.status.code(), Some(0), "{}: parameters: {}", app.name, text(&announced.stderr));
        let announced: Value = serde_json::from_slice(&announced.stdout).expect("the announcement is JSON");
        let list = announced.as_array().expect("a JSON list of parameters");
        for parameter in list {
            assert!(parameter["name"].is_string() && parameter["collectionType"].is_string(), "{parameter}");
        }

        let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
        let docs = objects(&out, &app.name);
        assert_eq!(text(&out.stdout), render(&app.path, &app.namespace), "{}: generate differs from render", app.name);
        support::assert_valid_against_crds(&text(&out.stdout), &app.name);

        // The announced canary weights are the specs' own.
        let weights: BTreeMap<String, String> = docs
            .iter()
            .filter_map(|d| {
                let model = d["metadata"]["labels"]["app.kubernetes.io/name"].as_str()?;
                let percent = d["spec"]["predictor"]["canaryTrafficPercent"].as_u64()?;
                Some((model.to_owned(), percent.to_string()))
            })
            .collect();
        let announced_weights = list.iter().find(|p| p["name"] == "canary-weight").map(|p| p["map"].clone());
        if !weights.is_empty() {
            assert_eq!(announced_weights, Some(json!(weights)), "{}: canary-weight defaults", app.name);
        }
    }
}

#[test]
fn the_example_application_renders_with_its_parameters_and_settings() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let mut app = App::from_manifest(&yaml(&deploy("application.yaml")));
    assert!(!app.parameters.is_empty(), "the example shows a parameter");
    let repo = Unpacked::new(&workspace(), &app.path, sidecar);
    let expected = render(&app.path, &app.namespace);
    let out = exec(&plugin.generate(), &repo.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    objects(&out, "application.yaml");
    assert_eq!(text(&out.stdout), expected);

    // The same through `PARAM_*` alone, and with a setting in `plugin.env`
    // (expanded against the build environment, as Argo CD does).
    app.env.push(("MODELGEN_CHECK_APIS".into(), "true".into()));
    let env: Vec<(String, String)> =
        app.generate_env(sidecar, &full_cluster()).into_iter().filter(|(n, _)| n != "ARGOCD_APP_PARAMETERS").collect();
    assert!(env.iter().any(|(n, v)| n == "PARAM_CANARY_WEIGHT_MOCHANET" && v == "10"), "{env:?}");
    let out = exec(&plugin.generate(), &repo.app_dir(&app), &env);
    objects(&out, "PARAM_ variables");
    assert_eq!(text(&out.stdout), expected);
}

/// An application in a temporary repository, at `apps/<name>`.
fn temp_app(name: &str, files: &[(&str, &[u8])]) -> (tempfile::TempDir, App) {
    let repo = tempfile::tempdir().expect("repo");
    for (path, contents) in files {
        let path = repo.path().join("apps").join(name).join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, contents).expect("write");
    }
    let app = App {
        name: name.into(),
        path: format!("apps/{name}"),
        namespace: "models".into(),
        plugin_name: Some("modelgen-v1".into()),
        env: vec![("TOKEN".into(), "user-secret-77d1".into())],
        parameters: Vec::new(),
    };
    (repo, app)
}

#[test]
fn a_failing_app_exits_non_zero_with_empty_stdout_and_a_located_message() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let bad = support::TINY_SPEC.replace("    version: v1\n", "    version: v1\n    verison: v2\n");
    let (repo, app) = temp_app(
        "broken",
        &[("models/tiny.yaml", bad.as_bytes()), ("ok.yaml", support::TINY_SPEC.replace("tiny", "fine").as_bytes())],
    );
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let out = exec(&plugin.generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "broken");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("error: application `broken` (`apps/broken` at 53a4f2c): rendering failed with 1 error\n"),
        "{stderr}"
    );
    assert!(stderr.contains("apps/broken/models/tiny.yaml:9:5: error: unknown field `verison`"), "{stderr}");
    assert!(stderr.contains("spec.model.verison"), "{stderr}");
    assert!(!stderr.contains("user-secret-77d1"), "a plugin.env value leaked:\n{stderr}");
}

#[test]
fn many_errors_stay_on_one_screen() {
    let sidecar = Sidecar::warm();
    let bad = support::TINY_SPEC.replace("format: sklearn", "format: sklearn\n    fromat: x");
    let files: Vec<(String, Vec<u8>)> =
        (0..30).map(|i| (format!("m{i:02}.yaml"), bad.replace("tiny", &format!("tiny{i}")).into_bytes())).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    let (repo, app) = temp_app("many", &refs);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "many");
    assert!(stderr.contains("rendering failed with 30 errors"), "{stderr}");
    assert!(
        stderr.contains("... and 22 more; run `modelgen validate apps/many` in a checkout to see them all"),
        "{stderr}"
    );
}

#[test]
fn no_spec_at_all_is_an_error_not_an_empty_render() {
    let sidecar = Sidecar::warm();
    let (repo, app) =
        temp_app("empty", &[("kustomization.yaml", b"resources: []\n"), ("README.md", b"nothing here\n")]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "empty");
    assert!(stderr.contains("no `ModelDeployment` spec found"), "{stderr}");
}

#[test]
fn a_cluster_without_the_backend_api_fails_naming_the_api_and_the_model() {
    let sidecar = Sidecar::warm();
    let spec = support::TINY_SPEC.replace("spec:\n", "spec:\n  backend: seldon-v2\n");
    let (repo, app) = temp_app("iris", &[("iris.yaml", spec.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let without_seldon: String =
        full_cluster().split(',').filter(|e| !e.starts_with("mlops.seldon.io")).collect::<Vec<_>>().join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &without_seldon));
    let stderr = failure(&out, &app, "no Seldon Core 2");
    assert!(stderr.contains("apps/iris/iris.yaml:6:12: error: the destination cluster (Kubernetes 1.34.1) does not serve `mlops.seldon.io/v1alpha1/Model`, which model `tiny` needs"), "{stderr}");
    assert!(stderr.contains("^^^^^^^^^ spec.backend"), "{stderr}");
    assert!(stderr.contains("serves no `mlops.seldon.io` API at all"), "{stderr}");

    // Switched off in `plugin.env` (when another Application installs the CRDs).
    let mut off = app.clone();
    off.env.push(("MODELGEN_CHECK_APIS".into(), "false".into()));
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&off), &off.generate_env(sidecar, &without_seldon));
    objects(&out, "check switched off");

    // Without `KUBE_API_VERSIONS` nothing is assumed about the cluster.
    let env: Vec<_> = app.generate_env(sidecar, "").into_iter().filter(|(n, _)| n != "KUBE_API_VERSIONS").collect();
    objects(&exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &env), "no API list");
}

#[test]
fn gateway_api_crds_that_would_prune_the_mirror_percent_fail_the_render() {
    // The plugin cannot know the cluster's Gateway API release; Argo CD's
    // `KUBE_API_VERSIONS` can prove an old one (plugin rule `gateway-mirror-percent`).
    let sidecar = Sidecar::warm();
    let spec = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: ranker}\nspec:\n  deploymentMode: Standard\n  model: {format: lightgbm, version: v1, storageUri: s3://m/r/v1}\n  shadow: {version: v2, storageUri: s3://m/r/v2, percent: 10}\n  route: {gateway: {name: public}}\n  cluster: {gatewayApiVersion: v1.3.0}\n";
    let (repo, app) = temp_app("ranker", &[("ranker.yaml", spec.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    // The same cluster with the Gateway API v1.0 CRDs: no `GRPCRoute` yet.
    let v1_0: String = full_cluster()
        .split(',')
        .filter(|e| !e.ends_with("/GRPCRoute") && !e.ends_with("/BackendTLSPolicy"))
        .collect::<Vec<_>>()
        .join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &v1_0));
    let stderr = failure(&out, &app, "Gateway API v1.0");
    assert!(stderr.contains("prunes `requestMirror.percent` from the HTTPRoute `ranker-traffic`"), "{stderr}");
    assert!(stderr.contains("predate v1.1"), "{stderr}");
    // A current cluster takes it.
    objects(
        &exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster())),
        "Gateway API v1.4",
    );
}

#[test]
fn bad_parameters_and_settings_fail_generate_but_not_the_announcement() {
    let sidecar = Sidecar::warm();
    let canary = support::TINY_SPEC.to_owned()
        + "  canary:\n    version: v2\n    storageUri: s3://models/tiny/v2\n    trafficPercent: 10\n";
    let (repo, mut app) = temp_app("params", &[("tiny.yaml", canary.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let dir = unpacked.app_dir(&app);
    let plugin = Plugin::load();
    let cases: [(&str, Value, &str); 3] = [
        (
            "unknown model",
            json!({"name": "canary-weight", "map": {"tine": "20"}}),
            "names `tine`, which is not a model of this application; models with a canary: `tiny`",
        ),
        (
            "not a percent",
            json!({"name": "canary-weight", "map": {"tiny": "250"}}),
            "the parameter `canary-weight` for model `tiny` is not a whole percentage from 0 to 100",
        ),
        ("unknown parameter", json!({"name": "replicas", "string": "3"}), "unknown parameter `replicas`"),
    ];
    for (case, parameter, message) in cases {
        app.parameters = vec![parameter];
        let stderr = failure(&exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster())), &app, case);
        assert!(stderr.contains(message), "{case}: {stderr}");
        let announced = exec(&plugin.parameters(), &dir, &app.parameters_env(sidecar));
        assert_eq!(
            announced.status.code(),
            Some(0),
            "{case}: the UI must still get the announcement: {}",
            text(&announced.stderr)
        );
        let announced: Value = serde_json::from_slice(&announced.stdout).expect("JSON");
        assert_eq!(
            announced,
            json!([{
                "name": "canary-weight",
                "title": "Canary weight (%)",
                "tooltip": "Percent of traffic each model's canary gets, 0 to 100. Defaults to the spec's spec.canary.trafficPercent.",
                "collectionType": "map",
                "itemType": "string",
                "map": {"tiny": "10"},
            }])
        );
    }
    app.parameters.clear();
    app.env = vec![("MODELGEN_CHEK_APIS".into(), "false".into())];
    let stderr = failure(&exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster())), &app, "typo");
    assert!(stderr.contains("unknown setting `ARGOCD_ENV_MODELGEN_CHEK_APIS`"), "{stderr}");
}

#[test]
fn outside_argo_cd_generate_refuses_to_guess() {
    let dir = tempfile::tempdir().expect("dir");
    fs::write(dir.path().join("tiny.yaml"), support::TINY_SPEC).expect("write");
    let out = run_in(dir.path(), &["argocd", "generate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("`ARGOCD_APP_NAME` is not set"), "{}", text(&out.stderr));
}

#[test]
fn two_generates_at_once_with_a_cold_cache_agree() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::cold();
    let app = App::from_manifest(&yaml(&deploy("application.yaml")));
    let repos: Vec<Unpacked> = (0..2).map(|_| Unpacked::new(&workspace(), &app.path, &sidecar)).collect();
    let env = app.generate_env(&sidecar, &full_cluster());
    let children: Vec<_> = repos
        .iter()
        .map(|repo| {
            Command::new(&plugin.generate()[0])
                .args(&plugin.generate()[1..])
                .current_dir(repo.app_dir(&app))
                .env_clear()
                .envs(env.iter().map(|(n, v)| (n, v)))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn generate")
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
    let first = objects(&outputs[0], "first");
    let second = objects(&outputs[1], "second");
    assert_eq!(first, second);
    assert_eq!(outputs[0].stdout, outputs[1].stdout);
    assert_eq!(text(&outputs[0].stdout), render(&app.path, &app.namespace));
    let entries: Vec<_> = fs::read_dir(&sidecar.cache).expect("the cache was created").flatten().collect();
    assert!(
        entries.iter().any(|e| e.path().extension().is_some_and(|x| x == "cwasm")),
        "the compiled plugin was cached"
    );
    assert!(
        !entries.iter().any(|e| e.file_name().to_string_lossy().starts_with(".tmp-")),
        "no half-written cache entry is left behind"
    );
}

#[test]
fn a_read_only_warm_cache_serves_the_sidecar() {
    // The image warms the cache at build time and runs with a read-only root
    // file system: loading must work without writing.
    let plugin = Plugin::load();
    let sidecar = Sidecar::cold();
    let warm = Command::new(env!("CARGO_BIN_EXE_modelgen"))
        .arg("info")
        .env("MODELGEN_CACHE_DIR", &sidecar.cache)
        .output()
        .expect("warm the cache");
    assert!(warm.status.success());
    let entry = fs::read_dir(&sidecar.cache)
        .expect("cache")
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .expect("an entry");
    let before = fs::metadata(entry.path()).expect("stat").modified().expect("mtime");
    // The deploy files mount a writable volume at `verdicts/` of the read-only cache.
    let verdicts = sidecar.cache.join("verdicts");
    fs::create_dir(&verdicts).expect("the mounted verdicts volume");
    fs::set_permissions(&sidecar.cache, fs::Permissions::from_mode(0o500)).expect("read-only");
    let app = App::from_manifest(&yaml(&deploy("application.yaml")));
    let repo = Unpacked::new(&workspace(), &app.path, &sidecar);
    let out = exec(&plugin.generate(), &repo.app_dir(&app), &app.generate_env(&sidecar, &full_cluster()));
    fs::set_permissions(&sidecar.cache, fs::Permissions::from_mode(0o700)).expect("restore");
    objects(&out, "read-only cache");
    assert_eq!(
        fs::metadata(entry.path()).expect("stat").modified().expect("mtime"),
        before,
        "the entry was loaded, not rewritten"
    );
    let recorded: Vec<_> = fs::read_dir(&verdicts).expect("verdicts").flatten().collect();
    assert!(!recorded.is_empty(), "the output check's verdict was remembered in the writable volume");
}

/// The volume mounts of the sidecar named `modelgen` in a pod spec's `containers` (or a list of containers).
fn verdicts_volume<'a>(containers: &'a Value, volumes: &'a Value, cache_dir: &str) -> &'a Value {
    let mount = named(containers, "modelgen")["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == format!("{cache_dir}/verdicts"))
        .expect("a writable volume for the verdict cache inside the read-only image cache");
    assert_ne!(mount["readOnly"], true);
    named(volumes, mount["name"].as_str().expect("name"))
}

#[test]
fn the_verdict_cache_is_writable_under_a_read_only_root() {
    // The image's cache directory (MODELGEN_CACHE_DIR) lies on the read-only
    // root file system; without a volume at `verdicts/`, every render would
    // compile the CRD schemas again.
    let dockerfile = fs::read_to_string(deploy("Dockerfile")).expect("Dockerfile");
    let cache_dir = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENV MODELGEN_CACHE_DIR="))
        .expect("the image names its cache")
        .trim();
    let patch = yaml(&deploy("repo-server-patch.yaml"));
    let pod = &patch["spec"]["template"]["spec"];
    assert_eq!(named(&pod["containers"], "modelgen")["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(verdicts_volume(&pod["containers"], &pod["volumes"], cache_dir)["emptyDir"], json!({}));
    let values = yaml(&deploy("helm-values.yaml"));
    let repo_server = &values["repoServer"];
    assert_eq!(
        verdicts_volume(&repo_server["extraContainers"], &repo_server["volumes"], cache_dir)["emptyDir"],
        json!({})
    );
    assert!(
        dockerfile.contains("mkdir -p /cache/modelgen/verdicts"),
        "the mount point exists in the image, owned by 999"
    );
}

/// A case of a hostile application: its name, how to make it, what the error says.
type Setup<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);

#[test]
fn the_sidecar_reads_only_regular_files_inside_the_application() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let secret_dir = tempfile::tempdir().expect("outside");
    let outside = secret_dir.path().join("stolen.yaml");
    fs::write(&outside, format!("# modelgen.dev/ {}\n{}", "secret-of-the-host-9d2e", support::TINY_SPEC))
        .expect("write");

    let setups: [Setup<'_>; 4] = [
        (
            "symlink out of the repository",
            &|dir: &Path| symlink(&outside, dir.join("link.yaml")).expect("symlink"),
            "`link.yaml` is a symlink to",
        ),
        (
            "symlink up and out",
            &|dir: &Path| {
                symlink("../../../../../../../../../../../../etc/passwd", dir.join("up.yaml")).expect("symlink");
            },
            "`up.yaml` is a symlink to",
        ),
        (
            "a FIFO",
            &|dir: &Path| {
                let path = std::ffi::CString::new(dir.join("pipe.yaml").as_os_str().as_encoded_bytes()).expect("path");
                // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
                #[allow(unsafe_code)]
                let rc = unsafe { libc::mkfifo(path.as_ptr(), 0o644) };
                assert_eq!(rc, 0, "mkfifo");
            },
            "`pipe.yaml` is not a regular file",
        ),
        (
            "a file over the size limit",
            &|dir: &Path| {
                let mut big = support::TINY_SPEC.as_bytes().to_vec();
                big.resize(33 * 1024 * 1024, b'#');
                fs::write(dir.join("big.yaml"), big).expect("write");
            },
            "past the limit of 33554432 bytes",
        ),
    ];
    for (case, setup, message) in setups {
        let (repo, app) = temp_app("guarded", &[("tiny.yaml", support::TINY_SPEC.as_bytes())]);
        let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
        let dir = unpacked.app_dir(&app);
        setup(&dir);
        let started = std::time::Instant::now();
        let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
        assert!(started.elapsed() < std::time::Duration::from_mins(1), "{case}: took too long");
        let stderr = failure(&out, &app, case);
        assert!(stderr.contains(message), "{case}: {stderr}");
        assert!(!stderr.contains("secret-of-the-host-9d2e"), "{case}: the file outside was read:\n{stderr}");
    }

    // A link that stays inside the application is followed.
    let (repo, app) = temp_app("linked", &[("specs/tiny.txt", support::TINY_SPEC.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let dir = unpacked.app_dir(&app);
    symlink("specs/tiny.txt", dir.join("tiny.yaml")).expect("symlink");
    let docs = objects(&exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster())), "inside link");
    assert_eq!(docs.len(), 1, "{docs:?}");
}

/// The multi-environment example as an Application with parameters.
fn fraud(parameters: Vec<Value>, env: Vec<(String, String)>) -> App {
    App {
        name: "fraud".into(),
        path: "examples/fraud-environments".into(),
        namespace: "fraud".into(),
        plugin_name: Some("modelgen-v1".into()),
        env,
        parameters,
    }
}

fn render_with(path: &str, args: &[&str]) -> String {
    let mut all = vec!["render", path];
    all.extend_from_slice(args);
    let out = run_in(&workspace(), &all);
    assert_eq!(out.status.code(), Some(0), "render {all:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn environment_and_canary_weight_parameters_reach_the_render() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let generate = |app: &App| -> String {
        let repo = Unpacked::new(&workspace(), &app.path, sidecar);
        let out = exec(&plugin.generate(), &repo.app_dir(app), &app.generate_env(sidecar, &full_cluster()));
        objects(&out, &app.name);
        text(&out.stdout)
    };
    let announce = |app: &App| -> Value {
        let repo = Unpacked::new(&workspace(), &app.path, sidecar);
        let out = exec(&plugin.parameters(), &repo.app_dir(app), &app.parameters_env(sidecar));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let path = "examples/fraud-environments";

    // prod with a raised canary: the environment's patch files are read too.
    let prod_40 = fraud(
        vec![
            json!({"name": "environment", "string": "prod"}),
            json!({"name": "canary-weight", "map": {"fraud": "40"}}),
        ],
        vec![],
    );
    let expected = render_with(path, &["-n", "fraud", "--env", "prod", "--param", "canary-weight.fraud=40"]);
    assert!(expected.contains("canaryTrafficPercent: 40") && expected.contains("cc-fraud-prod"), "{expected}");
    assert_eq!(generate(&prod_40), expected);

    // The environment's own weight is the default: setting it changes nothing.
    let prod_10 = fraud(
        vec![
            json!({"name": "environment", "string": "prod"}),
            json!({"name": "canary-weight", "map": {"fraud": "10"}}),
        ],
        vec![],
    );
    assert_eq!(generate(&prod_10), render_with(path, &["-n", "fraud", "--env", "prod"]));

    // The environment from `plugin.env` instead of a parameter.
    let staging = fraud(vec![], vec![("MODELGEN_ENVIRONMENT".into(), "staging".into())]);
    assert_eq!(generate(&staging), render_with(path, &["-n", "fraud", "--env", "staging"]));

    // The announcement lists the environments and the canary weights as the
    // chosen environment renders them: dev has no canary at all.
    let announced = announce(&fraud(vec![], vec![]));
    assert_eq!(announced[0]["name"], "environment");
    assert_eq!(announced[0]["string"], "");
    assert!(announced[0]["tooltip"].as_str().is_some_and(|t| t.contains("`dev`, `prod`, `staging`")), "{announced}");
    assert_eq!(announced[1]["map"], json!({"fraud": "10"}));
    let dev = announce(&fraud(vec![json!({"name": "environment", "string": "dev"})], vec![]));
    assert_eq!(dev.as_array().map(Vec::len), Some(1), "no canary to weigh in dev: {dev}");
    assert_eq!(announce(&staging)[0]["string"], "staging", "the setting is the default");

    // An environment that does not exist fails generate, listing the real
    // ones, but not the announcement (the UI is where it gets fixed).
    let typo = fraud(vec![json!({"name": "environment", "string": "prdo"})], vec![]);
    let repo = Unpacked::new(&workspace(), &typo.path, sidecar);
    let out = exec(&plugin.generate(), &repo.app_dir(&typo), &typo.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &typo, "unknown environment");
    assert!(stderr.contains("prdo") && stderr.contains("prod"), "{stderr}");
    assert_eq!(announce(&typo)[0]["name"], "environment");
}

#[test]
fn every_deploy_file_parses_as_what_it_claims_to_be() {
    let kinds: BTreeMap<&str, &str> = [
        ("plugin.yaml", "ConfigManagementPlugin"),
        ("repo-server-patch.yaml", "Deployment"),
        ("kustomization.yaml", "Component"),
        ("application.yaml", "Application"),
        ("applicationset.yaml", "ApplicationSet"),
    ]
    .into_iter()
    .collect();
    let mut seen = 0;
    for entry in fs::read_dir(workspace().join("deploy/argocd")).expect("deploy/argocd").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(kind) = kinds.get(name.as_str()) {
            assert_eq!(yaml(&entry.path())["kind"], *kind, "{name}");
            seen += 1;
        } else if name == "helm-values.yaml" {
            assert!(yaml(&entry.path())["repoServer"]["extraContainers"].is_array(), "{name}");
        } else {
            assert!(name == "Dockerfile" || name == "health", "`deploy/argocd/{name}` is not checked by any test");
        }
    }
    assert_eq!(seen, kinds.len());
    let lua = Lua::new();
    for (key, path) in health_checks() {
        lua.load(fs::read_to_string(&path).expect("read")).set_name(key).into_function().expect("Lua 5.1 syntax");
    }
}

/// The `resource.customizations.health.<group>_<kind>` keys and their scripts.
fn health_checks() -> Vec<(String, PathBuf)> {
    let mut checks: Vec<(String, PathBuf)> = fs::read_dir(deploy("health"))
        .expect("health")
        .flatten()
        .map(|e| {
            let stem = e.path().file_stem().expect("stem").to_string_lossy().into_owned();
            (format!("resource.customizations.health.{stem}"), e.path())
        })
        .collect();
    checks.sort();
    checks
}

/// `kubectl kustomize` of a stock Argo CD (the repo-server Deployment from
/// tests/data/argocd and the stock, empty `argocd-cm`) with deploy/argocd as
/// a component, as the README installs it.
fn kustomized() -> Vec<Value> {
    let dir = tempfile::tempdir().expect("kustomization");
    fs::copy(
        workspace().join("tests/data/argocd/argocd-repo-server-deployment.yaml"),
        dir.path().join("argocd-repo-server-deployment.yaml"),
    )
    .expect("copy the stock Deployment");
    // The stock argocd-cm (manifests/base/config/argocd-cm.yaml) carries no data.
    fs::write(
        dir.path().join("argocd-cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  labels:\n    app.kubernetes.io/name: argocd-cm\n    app.kubernetes.io/part-of: argocd\n",
    )
    .expect("argocd-cm");
    let component = pathdiff(&workspace().join("deploy/argocd"), dir.path()).expect("relative path");
    fs::write(
        dir.path().join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\nresources:\n  - argocd-repo-server-deployment.yaml\n  - argocd-cm.yaml\ncomponents:\n  - {}\n",
            component.display()
        ),
    )
    .expect("kustomization");
    let out = Command::new(support::tool("kubectl"))
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("run kubectl kustomize");
    assert!(out.status.success(), "kubectl kustomize failed:\n{}", text(&out.stderr));
    documents(&text(&out.stdout))
}

fn find<'a>(items: &'a [Value], kind: &str, name_prefix: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(name_prefix)))
        .unwrap_or_else(|| panic!("no {kind} {name_prefix}*"))
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().into_iter().flatten().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no `{name}` in {list}"))
}

#[test]
fn the_sidecar_patch_applies_cleanly_to_the_stock_repo_server() {
    let stock = yaml(&workspace().join("tests/data/argocd/argocd-repo-server-deployment.yaml"));
    let items = kustomized();
    let deployment = find(&items, "Deployment", "argocd-repo-server");
    let pod = &deployment["spec"]["template"]["spec"];

    // The stock parts are untouched.
    let stock_pod = &stock["spec"]["template"]["spec"];
    assert_eq!(named(&pod["containers"], "argocd-repo-server"), named(&stock_pod["containers"], "argocd-repo-server"));
    assert_eq!(pod["initContainers"], stock_pod["initContainers"]);
    for volume in stock_pod["volumes"].as_array().expect("volumes") {
        assert_eq!(named(&pod["volumes"], volume["name"].as_str().expect("name")), volume);
    }

    // The sidecar, as Argo CD's CMP documentation requires it.
    let sidecar = named(&pod["containers"], "modelgen");
    assert_eq!(sidecar["command"], json!(["/var/run/argocd/argocd-cmp-server"]));
    assert_eq!(sidecar["securityContext"]["runAsUser"], 999);
    assert_eq!(sidecar["securityContext"]["runAsNonRoot"], true);
    let mounts = &sidecar["volumeMounts"];
    assert_eq!(named(mounts, "var-files")["mountPath"], "/var/run/argocd");
    assert_eq!(named(mounts, "plugins")["mountPath"], "/home/argocd/cmp-server/plugins");
    let tmp = mounts.as_array().expect("mounts").iter().find(|m| m["mountPath"] == "/tmp").expect("its own /tmp");
    assert_ne!(tmp["name"], "tmp", "the sidecar must not share the repo-server's /tmp");
    assert_eq!(named(&pod["volumes"], tmp["name"].as_str().expect("name"))["emptyDir"], json!({}));
    let config = mounts
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == "/home/argocd/cmp-server/config/plugin.yaml")
        .expect("plugin.yaml mounted");
    assert_eq!(config["subPath"], "plugin.yaml");
    let volume = named(&pod["volumes"], config["name"].as_str().expect("name"));
    let configmap = find(&items, "ConfigMap", volume["configMap"]["name"].as_str().expect("a ConfigMap volume"));
    assert_eq!(
        configmap["data"]["plugin.yaml"].as_str(),
        Some(fs::read_to_string(deploy("plugin.yaml")).expect("plugin.yaml").as_str()),
        "the ConfigMap holds the repository's plugin.yaml"
    );
    assert_eq!(configmap["metadata"]["namespace"], "argocd");

    // The health checks land in argocd-cm, under Argo CD's key names.
    let cm = find(&items, "ConfigMap", "argocd-cm");
    assert_eq!(cm["metadata"]["name"], "argocd-cm", "argocd-cm keeps its name (no hash suffix)");
    for (key, path) in health_checks() {
        assert_eq!(cm["data"][&key].as_str(), Some(fs::read_to_string(path).expect("lua").as_str()), "{key}");
    }
}

#[test]
fn the_helm_values_install_the_same_plugin_sidecar_and_health_checks() {
    let values = yaml(&deploy("helm-values.yaml"));
    let plugin = yaml(&deploy("plugin.yaml"));
    let patch = yaml(&deploy("repo-server-patch.yaml"));

    // configs.cmp.plugins.<name> becomes a ConfigManagementPlugin with that name and spec.
    assert_eq!(values["configs"]["cmp"]["create"], true);
    let plugins = values["configs"]["cmp"]["plugins"].as_object().expect("plugins");
    let name = plugin["metadata"]["name"].as_str().expect("name");
    assert_eq!(plugins.get(name), Some(&plugin["spec"]), "configs.cmp.plugins.{name} is plugin.yaml's spec");

    // The same container; the plugin file comes from the chart's argocd-cmp-cm.
    let mut from_values = named(&values["repoServer"]["extraContainers"], "modelgen").clone();
    let mut from_patch = named(&patch["spec"]["template"]["spec"]["containers"], "modelgen").clone();
    let config = |c: &mut Value| -> Value {
        let mounts = c["volumeMounts"].as_array_mut().expect("mounts");
        let at =
            mounts.iter().position(|m| m["mountPath"] == "/home/argocd/cmp-server/config/plugin.yaml").expect("config");
        mounts.remove(at)
    };
    let values_config = config(&mut from_values);
    config(&mut from_patch);
    assert_eq!(from_values, from_patch);
    assert_eq!(values_config["subPath"], format!("{name}.yaml"));
    let volume = named(&values["repoServer"]["volumes"], values_config["name"].as_str().expect("name"));
    assert_eq!(volume["configMap"]["name"], "argocd-cmp-cm");
    let patch_volumes = &patch["spec"]["template"]["spec"]["volumes"];
    let tmp = named(&from_values["volumeMounts"], "modelgen-tmp");
    assert_eq!(tmp["mountPath"], "/tmp");
    assert_eq!(named(&values["repoServer"]["volumes"], "modelgen-tmp"), named(patch_volumes, "modelgen-tmp"));

    for (key, path) in health_checks() {
        assert_eq!(
            values["configs"]["cm"][&key].as_str(),
            Some(fs::read_to_string(path).expect("lua").as_str()),
            "{key}"
        );
    }
}

#[test]
fn the_dockerfile_builds_the_image_the_sidecar_patch_expects() {
    let dockerfile = fs::read_to_string(deploy("Dockerfile")).expect("Dockerfile");
    // Instructions, with line continuations joined and comments dropped.
    let joined = dockerfile.replace("\\\n", " ");
    let instructions: Vec<(String, String)> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_ascii_uppercase(), rest.trim().to_owned())
        })
        .collect();
    let last_from = instructions.iter().rposition(|(op, _)| op == "FROM").expect("a FROM");
    let (build, runtime) = instructions.split_at(last_from);
    assert!(build.iter().any(|(op, arg)| op == "RUN" && arg.contains("cargo build --release --locked -p modelgen")));
    assert!(runtime[0].1.contains("distroless"), "the runtime image is distroless: {}", runtime[0].1);
    assert!(!runtime.iter().any(|(op, _)| op == "RUN"), "the runtime stage needs no shell");
    let value = |op: &str| -> Vec<&str> { runtime.iter().filter(|(o, _)| o == op).map(|(_, a)| a.as_str()).collect() };
    assert_eq!(value("USER"), ["999:999"], "Argo CD's sidecars run as 999");

    // `modelgen` lands on the PATH the plugin's commands rely on.
    let plugin = Plugin::load();
    assert_eq!(plugin.generate()[0], "modelgen");
    assert!(value("COPY").iter().any(|c| c.ends_with("/src/target/release/modelgen /usr/local/bin/modelgen")));

    // The cache the build warms is the one the image uses: owned by 999 and
    // named by MODELGEN_CACHE_DIR.
    let env = value("ENV");
    let cache_dir = env.iter().find_map(|e| e.strip_prefix("MODELGEN_CACHE_DIR=")).expect("MODELGEN_CACHE_DIR");
    let warm = build.iter().find(|(op, arg)| op == "RUN" && arg.contains("modelgen info")).expect("a warm-up run");
    let warmed = warm.1.split_whitespace().find_map(|w| w.strip_prefix("MODELGEN_CACHE_DIR=")).expect("warmed dir");
    assert!(warm.1.contains(&format!("chown -R 999:999 {warmed}")), "{}", warm.1);
    assert!(
        value("COPY").iter().any(|c| c.contains("--chown=999:999") && c.ends_with(&format!("{warmed} {cache_dir}"))),
        "the warm cache is copied to MODELGEN_CACHE_DIR"
    );
    assert!(
        value("COPY")
            .iter()
            .any(|c| c.ends_with("deploy/argocd/plugin.yaml /home/argocd/cmp-server/config/plugin.yaml")),
        "plugin.yaml is baked in where cmp-server reads it"
    );
}

/// Runs a health check as Argo CD does (gopher-lua, Lua 5.1): the object
/// as the global `obj`, the script returning `{status, message}`.
fn health(check: &str, object: &Value) -> (String, String) {
    let (_, path) = health_checks().into_iter().find(|(key, _)| key.ends_with(check)).expect("a health check");
    let lua = Lua::new();
    let options = mlua::serde::SerializeOptions::new().serialize_none_to_null(false).serialize_unit_to_null(false);
    let obj = mlua::serde::LuaSerdeExt::to_value_with(&lua, object, options).expect("object to Lua");
    lua.globals().set("obj", obj).expect("set obj");
    let result: mlua::Table = lua.load(fs::read_to_string(path).expect("lua")).eval().expect("the script runs");
    let status: String = result.get("status").expect("status");
    let message: String = result.get("message").expect("message");
    assert!(!message.is_empty(), "{check}: Argo CD shows the message; say something");
    (status, message)
}

/// A rendered object of `kind` from an example's committed output, with a
/// generation and `status` as the controller writes it.
fn sample(example: &str, kind: &str, generation: u64, status: Option<Value>) -> Value {
    let rendered =
        fs::read_to_string(workspace().join("examples").join(example).join("rendered.yaml")).expect("rendered");
    let mut object = documents(&rendered).into_iter().find(|d| d["kind"] == kind).expect("the kind is rendered");
    object["metadata"]["generation"] = json!(generation);
    if let Some(status) = status {
        object["status"] = status;
    }
    object
}

/// A condition as knative's condition set writes it.
fn condition(kind: &str, status: &str, message: &str, reason: &str) -> Value {
    let mut c = json!({"type": kind, "status": status, "lastTransitionTime": "2026-11-20T10:00:00Z"});
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    if !reason.is_empty() {
        c["reason"] = json!(reason);
    }
    c
}

#[test]
fn seldon_deployment_health_follows_the_operator_state() {
    let check = "SeldonDeployment";
    // What Seldon Core v1.17.1's operator writes: no `observedGeneration`
    // (its status inlines duckv1.Status, but nothing sets that field), so
    // the check cannot and does not compare generations (rule `seldon-status-generation`).
    let available = json!({
        "state": "Available", "replicas": 1,
        "address": {"url": "http://fraud-detector-default.fraud.svc.cluster.local:8000/api/v1.0/predictions"},
        "deploymentStatus": {"fraud-detector-default-0-classifier": {"availableReplicas": 1, "replicas": 1}},
        "conditions": [condition("DeploymentsReady", "True", "", "All Deployments are Ready"), condition("Ready", "True", "", "")],
    });
    assert_eq!(health(check, &sample("fraud-seldon", "SeldonDeployment", 3, Some(available))).0, "Healthy");
    let script = fs::read_to_string(deploy("health/machinelearning.seldon.io_SeldonDeployment.lua")).expect("lua");
    assert!(!script.contains("observedGeneration"), "a branch on a field the operator never writes never runs");
    let creating = json!({"state": "Creating", "description": "", "conditions": [condition("DeploymentsReady", "False", "", "Not all deployments are ready")]});
    assert_eq!(
        health(check, &sample("fraud-seldon", "SeldonDeployment", 1, Some(creating))),
        ("Progressing".into(), "Creating".into())
    );
    let failed =
        json!({"state": "Failed", "description": "Cannot find defined container classifier in componentSpecs"});
    assert_eq!(
        health(check, &sample("fraud-seldon", "SeldonDeployment", 1, Some(failed))),
        ("Degraded".into(), "Cannot find defined container classifier in componentSpecs".into())
    );
    assert_eq!(health(check, &sample("fraud-seldon", "SeldonDeployment", 1, None)).0, "Progressing");
}

#[test]
fn seldon_model_health_follows_the_scheduler_state() {
    let check = "mlops.seldon.io_Model";
    let model = |status| sample("iris-seldon-v2", "Model", 1, status);
    let ready = json!({"replicas": 1, "conditions": [
        condition("ModelReady", "True", "ModelAvailable", ""),
        condition("Ready", "True", "ModelAvailable", ""),
    ]});
    assert_eq!(health(check, &model(Some(ready))), ("Healthy".into(), "ModelAvailable".into()));
    let loading = json!({"replicas": 1, "conditions": [
        condition("ModelReady", "False", "ModelProgressing", ""),
        condition("Ready", "False", "ModelProgressing", ""),
    ]});
    assert_eq!(health(check, &model(Some(loading))).0, "Progressing");
    let unschedulable = json!({"replicas": 0, "conditions": [
        condition("ModelReady", "False", "ScheduleFailed", "failed to schedule model iris. [no matching servers are available]"),
        condition("Ready", "False", "ScheduleFailed", "failed to schedule model iris. [no matching servers are available]"),
    ]});
    let (status, message) = health(check, &model(Some(unschedulable)));
    assert_eq!(status, "Degraded");
    assert_eq!(message, "ScheduleFailed: failed to schedule model iris. [no matching servers are available]");
    // Releases before 2.8 put the scheduler's reason alone in `reason`.
    let old = json!({"conditions": [condition("ModelReady", "False", "", "Failed to load model: artifact not found"), condition("Ready", "False", "", "")]});
    assert_eq!(health(check, &model(Some(old))).0, "Degraded");
    assert_eq!(health(check, &model(None)).0, "Progressing");
}

#[test]
fn seldon_experiment_health_follows_its_candidates() {
    let check = "mlops.seldon.io_Experiment";
    let experiment = |status| sample("iris-seldon-v2", "Experiment", 1, status);
    let active = json!({"conditions": [
        condition("CandidatesReady", "True", "", "Candidates ready"),
        condition("ExperimentReady", "True", "", "experiment active"),
        condition("MirrorReady", "True", "", "Mirror ready"),
        condition("Ready", "True", "", ""),
    ]});
    assert_eq!(health(check, &experiment(Some(active))), ("Healthy".into(), "experiment active".into()));
    let waiting = json!({"conditions": [
        condition("CandidatesReady", "False", "", "Candidates not ready"),
        condition("ExperimentReady", "False", "", "Candidates not ready"),
        condition("MirrorReady", "True", "", "Mirror ready"),
        condition("Ready", "False", "", "Candidates not ready"),
    ]});
    assert_eq!(
        health(check, &experiment(Some(waiting))),
        ("Progressing".into(), "Waiting for the candidate models to be ready".into())
    );
    let mirror = json!({"conditions": [
        condition("CandidatesReady", "True", "", "Candidates ready"),
        condition("MirrorReady", "False", "", "Mirror not ready"),
        condition("Ready", "False", "", "Mirror not ready"),
    ]});
    assert_eq!(health(check, &experiment(Some(mirror))).1, "Waiting for the mirror model to be ready");
    let refused = json!({"conditions": [
        condition("ModelReady", "False", "", "rpc error: code = FailedPrecondition desc = default model iris-x is not a candidate"),
        condition("Ready", "False", "", ""),
    ]});
    let (status, message) = health(check, &experiment(Some(refused)));
    assert_eq!(status, "Degraded");
    assert!(message.contains("is not a candidate"), "{message}");
    assert_eq!(health(check, &experiment(None)).0, "Progressing");
}

#[test]
fn llm_inference_service_health_follows_kserves_conditions() {
    let check = "serving.kserve.io_LLMInferenceService";
    let service = |generation, status| sample("gpt-oss", "LLMInferenceService", generation, status);
    // What KServe v0.20.0's controller writes once the pods, the scheduler and the route are up.
    let ready = |observed: u64| {
        json!({"observedGeneration": observed, "conditions": [
            condition("HTTPRoutesReady", "True", "", ""),
            condition("InferencePoolReady", "True", "", ""),
            condition("MainWorkloadReady", "True", "", ""),
            condition("PresetsCombined", "True", "", ""),
            condition("Ready", "True", "", ""),
            condition("RouterReady", "True", "", ""),
            condition("SchedulerWorkloadReady", "True", "", ""),
            condition("WorkloadsReady", "True", "", ""),
            condition("GroupReady", "True", "", ""),
            // False is the healthy value of this one.
            condition("GroupDegraded", "False", "", ""),
        ]})
    };
    assert_eq!(health(check, &service(2, Some(ready(2)))), ("Healthy".into(), "Ready".into()));
    // A new spec the controller has not reconciled yet: Ready is from the last generation.
    assert_eq!(health(check, &service(3, Some(ready(2)))).0, "Progressing");
    // Pods still loading the model.
    let loading = json!({"observedGeneration": 1, "conditions": [
        condition("MainWorkloadReady", "False", "Deployment does not have minimum availability.", "MinimumReplicasUnavailable"),
        condition("PresetsCombined", "True", "", ""),
        condition("Ready", "False", "", "MinimumReplicasUnavailable"),
        condition("WorkloadsReady", "False", "", "MinimumReplicasUnavailable"),
    ]});
    let (status, message) = health(check, &service(1, Some(loading)));
    assert_eq!(status, "Progressing");
    assert!(message.contains("MainWorkloadReady: MinimumReplicasUnavailable"), "{message}");
    // A rollout past its deadline needs a person.
    let stuck = json!({"observedGeneration": 1, "conditions": [
        condition("MainWorkloadReady", "False", "ReplicaSet \"gpt-oss-kserve-7f\" has timed out progressing.", "ProgressDeadlineExceeded"),
        condition("Ready", "False", "", "ProgressDeadlineExceeded"),
    ]});
    assert_eq!(health(check, &service(1, Some(stuck))).0, "Degraded");
    // A preset named in `llm.presets` that does not exist stops reconciliation; Ready may still say True.
    let mut missing = ready(1);
    missing["conditions"][3] = condition(
        "PresetsCombined",
        "False",
        "LLMInferenceServiceConfig gpt-oss-runtime-v1 not found",
        "ConfigNotFound",
    );
    let (status, message) = health(check, &service(1, Some(missing)));
    assert_eq!(status, "Degraded");
    assert!(message.contains("gpt-oss-runtime-v1"), "{message}");
    // A routing-group member with another model name is left out of the split.
    let mut divergent = ready(1);
    divergent["conditions"][9] =
        condition("GroupDegraded", "True", "group has members with different model sets: other", "MemberDivergence");
    assert_eq!(health(check, &service(1, Some(divergent))).0, "Degraded");
    // Stopped with `serving.kserve.io/stop`.
    let stopped = json!({"observedGeneration": 1, "conditions": [
        condition("MainWorkloadReady", "False", "Service is stopped", "Stopped"),
        condition("Ready", "False", "", "Stopped"),
    ]});
    assert_eq!(health(check, &service(1, Some(stopped))).0, "Suspended");
    assert_eq!(health(check, &service(1, None)).0, "Progressing");
}

#[test]
fn an_llm_spec_fails_on_a_cluster_without_kserves_v1alpha2_llm_api_or_keda() {
    let sidecar = Sidecar::warm();
    let spec = fs::read(workspace().join("examples/gpt-oss/gpt-oss.yaml")).expect("the LLM example");
    let (repo, app) = temp_app("gpt-oss", &[("gpt-oss.yaml", spec.as_slice())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    // A KServe before v0.20 serves LLMInferenceService at v1alpha1 only.
    let old_kserve: String = full_cluster()
        .split(',')
        .filter(|e| !e.starts_with("serving.kserve.io/v1alpha2"))
        .chain(["serving.kserve.io/v1alpha1", "serving.kserve.io/v1alpha1/LLMInferenceService"])
        .collect::<Vec<_>>()
        .join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &old_kserve));
    let stderr = failure(&out, &app, "KServe without v1alpha2");
    assert!(
        stderr.contains("`serving.kserve.io/v1alpha2/LLMInferenceService`, which model `gpt-oss` needs"),
        "{stderr}"
    );
    // Without KEDA, the ScaledObjects of the KEDA metric cannot be applied.
    let without_keda: String =
        full_cluster().split(',').filter(|e| !e.starts_with("keda.sh")).collect::<Vec<_>>().join(",");
    let out = exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &without_keda));
    let stderr = failure(&out, &app, "no KEDA");
    assert!(stderr.contains("`keda.sh/v1alpha1/ScaledObject`"), "{stderr}");
    objects(
        &exec(&Plugin::load().generate(), &unpacked.app_dir(&app), &app.generate_env(sidecar, &full_cluster())),
        "a cluster with both",
    );
}

#[test]
fn values_from_the_environment_are_never_echoed_and_the_application_is_named_once() {
    let plugin = Plugin::load();
    let sidecar = Sidecar::warm();
    let canary = support::TINY_SPEC.to_owned()
        + "  canary:\n    version: v2\n    storageUri: s3://models/tiny/v2\n    trafficPercent: 10\n";
    let (repo, app) = temp_app("echo", &[("tiny.yaml", canary.as_bytes())]);
    let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
    let dir = unpacked.app_dir(&app);
    let clean = |stderr: &str, secret: &str, case: &str| {
        assert!(!stderr.contains(secret), "{case}: a value from the environment was echoed:\n{stderr}");
        assert!(!stderr.contains('\u{1b}') && !stderr.contains('\u{7}'), "{case}: an escape reached stderr:\n{stderr}");
        assert!(!stderr.lines().any(|l| l.trim_start().starts_with("::")), "{case}: a workflow command:\n{stderr}");
        assert_eq!(stderr.matches("application `echo`").count(), 1, "{case}: named more than once:\n{stderr}");
    };
    let cases: [(&str, App, &str, &str); 4] = [
        (
            "destination namespace",
            App { namespace: "ns\n\u{1b}[31mSECRET-NS-1".into(), ..app.clone() },
            "SECRET-NS-1",
            "`ARGOCD_APP_NAMESPACE` (the Application's destination namespace) is not a valid namespace name",
        ),
        (
            "environment parameter",
            App {
                parameters: vec![json!({"name": "environment", "string": "prod\n::add-mask::SECRET-ENV-2"})],
                ..app.clone()
            },
            "SECRET-ENV-2",
            "is not an environment name",
        ),
        (
            "parameter name",
            App {
                parameters: vec![json!({"name": "x\u{1b}]0;pwned\u{7}\n::error::SECRET-NAME-3", "string": "1"})],
                ..app.clone()
            },
            "SECRET-NAME-3",
            "unknown parameter a name that is not a plain name (not shown)",
        ),
        (
            "canary weight of an unknown model",
            App {
                parameters: vec![json!({"name": "canary-weight", "map": {"tine\n::error::SECRET-MODEL-4": "20"}})],
                ..app.clone()
            },
            "SECRET-MODEL-4",
            "names a name that is not a plain name (not shown), which is not a model of this application",
        ),
    ];
    for (case, app, secret, message) in cases {
        let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
        let stderr = failure(&out, &app, case);
        assert!(stderr.contains(message), "{case}: {stderr}");
        clean(&stderr, secret, case);
    }
    // The application itself is named once, also when a parameter is wrong.
    let app = App { parameters: vec![json!({"name": "canary-weight", "map": {"tine": "20"}})], ..app };
    let out = exec(&plugin.generate(), &dir, &app.generate_env(sidecar, &full_cluster()));
    let stderr = failure(&out, &app, "unknown model");
    assert!(stderr.starts_with("error: application `echo` (`apps/echo` at 53a4f2c): the parameter"), "{stderr}");
    clean(&stderr, "SECRET", "unknown model");
}

#[test]
fn missing_apis_cost_time_in_proportion_to_the_number_of_models() {
    // Every model of a file needs an API the cluster lacks: each is located
    // in the file, which is read once, not once per model.
    let sidecar = Sidecar::warm();
    let without_seldon: String =
        full_cluster().split(',').filter(|e| !e.starts_with("mlops.seldon.io")).collect::<Vec<_>>().join(",");
    let run = |n: usize| {
        let specs: String = (0..n)
            .map(|i| {
                support::TINY_SPEC
                    .replace("name: tiny", &format!("name: m{i}"))
                    .replace("spec:\n", "spec:\n  backend: seldon-v2\n")
            })
            .collect::<Vec<_>>()
            .join("---\n");
        let (repo, app) = temp_app("many-models", &[("models.yaml", specs.as_bytes())]);
        let unpacked = Unpacked::new(repo.path(), "apps", sidecar);
        let plugin = Plugin::load().generate();
        let mut command = Command::new(&plugin[0]);
        command
            .args(&plugin[1..])
            .current_dir(unpacked.app_dir(&app))
            .env_clear()
            .envs(app.generate_env(sidecar, &without_seldon));
        let run = support::measured_command(command);
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains(&format!("lacks {n} APIs the render needs")), "{}", run.stderr);
        // Located at the line that chose the backend, also in a file of more than 1,024 documents.
        assert!(run.stderr.contains("apps/many-models/models.yaml:6:12: error: "), "{}", run.stderr);
        run
    };
    let (small, large) = (run(150), run(1200));
    let ratio = large.cpu.as_secs_f64() / small.cpu.as_secs_f64().max(0.01);
    assert!(ratio < 16.0, "1,200 models took {:?} of CPU, 150 took {:?} (×{ratio:.1})", large.cpu, small.cpu);
}
