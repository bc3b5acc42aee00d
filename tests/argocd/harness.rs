//! The harness of the Argo CD suites: the plugin as `plugin.yaml` declares it, the sidecar, Applications, and how cmp-server runs and judges a command.
#![allow(dead_code, unused_imports)]

pub(crate) use std::collections::BTreeMap;
pub(crate) use std::fs;
pub(crate) use std::os::unix::fs::{PermissionsExt, symlink};
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::{Command, Output};
pub(crate) use std::sync::OnceLock;

pub(crate) use serde_json::{Value, json};

pub(crate) use crate::support::{self, documents, run_in, text, workspace};

/// A secret in the sidecar's own environment: it must never reach stderr.
pub(crate) const SIDECAR_SECRET: (&str, &str) = ("AWS_SECRET_ACCESS_KEY", "sidecar-secret-0f3c9a");
/// The commit the fake repo-server resolved.
pub(crate) const REVISION: &str = "53a4f2c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6";
/// The repository the example Applications name.
pub(crate) const REPO_URL: &str = "https://github.com/modelgen/modelgen.git";

pub(crate) fn yaml(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

pub(crate) fn deploy(file: &str) -> PathBuf {
    workspace().join("deploy/argocd").join(file)
}

/// `deploy/argocd/plugin.yaml`, checked as cmp-server checks it at start.
pub(crate) struct Plugin {
    pub(crate) config: Value,
}

impl Plugin {
    pub(crate) fn load() -> Self {
        let config = yaml(&deploy("plugin.yaml"));
        // cmp-server's ValidatePluginConfig: it refuses to start otherwise.
        assert_eq!(config["apiVersion"], "argoproj.io/v1alpha1");
        assert_eq!(config["kind"], "ConfigManagementPlugin");
        assert!(config["metadata"]["name"].as_str().is_some_and(|n| !n.is_empty()), "metadata.name is required");
        assert!(!Self::command_of(&config["spec"]["generate"]).is_empty(), "spec.generate.command is required");
        Self { config }
    }

    /// The name Applications select it by: `<metadata.name>-<spec.version>`.
    pub(crate) fn name(&self) -> String {
        let name = self.config["metadata"]["name"].as_str().expect("name");
        match self.config["spec"]["version"].as_str() {
            Some(version) => format!("{name}-{version}"),
            None => name.to_owned(),
        }
    }

    /// `command[0]` with `command[1:] + args`, as cmp-server execs it.
    pub(crate) fn command_of(block: &Value) -> Vec<String> {
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
    pub(crate) fn selected_by(&self, plugin_name: Option<&str>) -> bool {
        assert!(
            self.config["spec"].get("discover").is_none(),
            "plugin.yaml gained a `discover` block: teach this harness to evaluate it, and update the README"
        );
        plugin_name == Some(self.name().as_str())
    }

    pub(crate) fn generate(&self) -> Vec<String> {
        Self::command_of(&self.config["spec"]["generate"])
    }

    pub(crate) fn parameters(&self) -> Vec<String> {
        Self::command_of(&self.config["spec"]["parameters"]["dynamic"])
    }
}

/// What the sidecar container itself carries: `modelgen` on `PATH` (as the
/// image installs it), a private cache, and a secret of its own.
pub(crate) struct Sidecar {
    pub(crate) _home: tempfile::TempDir,
    pub(crate) bin: PathBuf,
    pub(crate) tmp: PathBuf,
    pub(crate) cache: PathBuf,
}

impl Sidecar {
    /// A sidecar whose compile cache is warm (shared by the tests in this process).
    pub(crate) fn warm() -> &'static Sidecar {
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
    pub(crate) fn cold() -> Sidecar {
        let home = tempfile::tempdir().expect("sidecar home");
        let bin = home.path().join("bin");
        let tmp = home.path().join("tmp");
        fs::create_dir_all(&bin).expect("bin");
        fs::create_dir_all(&tmp).expect("tmp");
        symlink(env!("CARGO_BIN_EXE_modelgen"), bin.join("modelgen")).expect("install modelgen");
        let cache = home.path().join("cache");
        Sidecar { bin, tmp, cache, _home: home }
    }

    pub(crate) fn env(&self) -> Vec<(String, String)> {
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
pub(crate) struct App {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) namespace: String,
    pub(crate) plugin_name: Option<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) parameters: Vec<Value>,
}

impl App {
    /// The Application an Argo CD `Application` manifest describes.
    pub(crate) fn from_manifest(manifest: &Value) -> Self {
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
    pub(crate) fn escaped(name: &str) -> String {
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_ascii_uppercase() } else { '_' }).collect()
    }

    /// `ARGOCD_APP_PARAMETERS` and the `PARAM_*` variables
    /// (`ApplicationSourcePluginParameters.Environ`).
    pub(crate) fn parameter_env(&self) -> Vec<(String, String)> {
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
    pub(crate) fn user_env(&self, build: &[(String, String)]) -> Vec<(String, String)> {
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
    pub(crate) fn generate_env(&self, sidecar: &Sidecar, api_versions: &str) -> Vec<(String, String)> {
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
    pub(crate) fn parameters_env(&self, sidecar: &Sidecar) -> Vec<(String, String)> {
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
pub(crate) fn full_cluster() -> String {
    let mut entries: Vec<String> = vec!["v1".into(), "v1/ConfigMap".into(), "v1/Service".into(), "apps/v1".into()];
    entries.push("apps/v1/Deployment".into());
    // Gateway API v1.4 (standard): `GRPCRoute` and `BackendTLSPolicy` are `v1`.
    entries.push("gateway.networking.k8s.io/v1/GRPCRoute".into());
    entries.push("gateway.networking.k8s.io/v1/BackendTLSPolicy".into());
    for (api_version, kind) in modelgen::verify::crd::kinds() {
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
pub(crate) struct Unpacked {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
}

impl Unpacked {
    /// Unpacks `subtree` of `repo` (a directory standing for the repository root).
    pub(crate) fn new(repo: &Path, subtree: &str, sidecar: &Sidecar) -> Self {
        let dir = tempfile::Builder::new().prefix("_cmp_server").tempdir_in(&sidecar.tmp).expect("work dir");
        let root = dir.path().join("3f6e1c2a-request");
        fs::create_dir_all(&root).expect("root");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod root");
        Self::copy(repo, &repo.join(subtree), &root);
        Unpacked { _dir: dir, root }
    }

    pub(crate) fn copy(repo: &Path, from: &Path, root: &Path) {
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

    pub(crate) fn app_dir(&self, app: &App) -> PathBuf {
        self.root.join(&app.path)
    }
}

/// `target` relative to `base` (both absolute, `base` a directory).
pub(crate) fn pathdiff(target: &Path, base: &Path) -> Option<PathBuf> {
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
pub(crate) fn exec(argv: &[String], dir: &Path, env: &[(String, String)]) -> Output {
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
pub(crate) fn objects(out: &Output, context: &str) -> Vec<Value> {
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
pub(crate) fn failure(out: &Output, app: &App, context: &str) -> String {
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
pub(crate) fn applicationset_apps() -> Vec<App> {
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
pub(crate) fn render(path: &str, namespace: &str) -> String {
    let out = run_in(&workspace(), &["render", path, "--namespace", namespace]);
    assert_eq!(out.status.code(), Some(0), "render {path}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// An application in a temporary repository, at `apps/<name>`.
pub(crate) fn temp_app(name: &str, files: &[(&str, &[u8])]) -> (tempfile::TempDir, App) {
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

/// The volume mounts of the sidecar named `modelgen` in a pod spec's `containers` (or a list of containers).
pub(crate) fn verdicts_volume<'a>(containers: &'a Value, volumes: &'a Value, cache_dir: &str) -> &'a Value {
    let mount = named(containers, "modelgen")["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == format!("{cache_dir}/verdicts"))
        .expect("a writable volume for the verdict cache inside the read-only image cache");
    assert_ne!(mount["readOnly"], true);
    named(volumes, mount["name"].as_str().expect("name"))
}

/// The multi-environment example as an Application with parameters.
pub(crate) fn fraud(parameters: Vec<Value>, env: Vec<(String, String)>) -> App {
    App {
        name: "fraud".into(),
        path: "examples/fraud-environments".into(),
        namespace: "fraud".into(),
        plugin_name: Some("modelgen-v1".into()),
        env,
        parameters,
    }
}

pub(crate) fn render_with(path: &str, args: &[&str]) -> String {
    let mut all = vec!["render", path];
    all.extend_from_slice(args);
    let out = run_in(&workspace(), &all);
    assert_eq!(out.status.code(), Some(0), "render {all:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The `resource.customizations.health.<group>_<kind>` keys and their scripts.
pub(crate) fn health_checks() -> Vec<(String, PathBuf)> {
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
pub(crate) fn kustomized() -> Vec<Value> {
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

pub(crate) fn find<'a>(items: &'a [Value], kind: &str, name_prefix: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(name_prefix)))
        .unwrap_or_else(|| panic!("no {kind} {name_prefix}*"))
}

pub(crate) fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().into_iter().flatten().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no `{name}` in {list}"))
}
