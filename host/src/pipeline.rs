//! The one render pipeline: read the input, follow the project's references, generate, and check the output.
//!
//! Every front end (`render`, `render --out`, `validate`, `diff`, `krm`,
//! `argocd generate`) runs a [`Pipeline`] and only formats its [`Outcome`]:
//! manifests that passed every check (output limit, contract, CRD schemas),
//! or the diagnostics that refuse the input. Anything else is an [`Error`]
//! whose variant decides the exit code; the command line adds the flag that
//! lifts a limit, since only it knows the flags.

pub mod renders;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context as _;

use crate::chain::{self, Chain};
use crate::diagnostic::{Diagnostic, PluginInfo, Project, Rendered, Severity};
use crate::digest::sha256_hex;
use crate::input::application::{self, Input};
use crate::input::kinds::Kinds;
use crate::input::source::{self, Budget, InputLimits, SourceFile, Sources};
use crate::plugin::cache::CompileCache;
use crate::plugin::runtime::{self, Limits, MAX_PLUGIN_BYTES, RenderContext, Reply, Runtime};
use crate::rollout::{EditAction, Edited};
use crate::verify::contract;
use crate::verify::crd;
use crate::verify::verdicts::Verdicts;
use renders::{Dependency, Key, Kind, Renders};

/// What a render comes to when nothing failed.
#[derive(Debug)]
pub enum Outcome {
    /// Manifests that passed every check, with the plugin's warnings.
    Rendered(Rendered),
    /// The input is wrong: the diagnostics, at least one of them an error.
    Refused(Vec<Diagnostic>),
}

/// Why a render failed other than by refusing its input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be read (a missing path, a limit, a refused file).
    #[error(transparent)]
    Input(anyhow::Error),
    /// The plugin could not be loaded or failed during a call.
    #[error(transparent)]
    Plugin(#[from] runtime::Error),
    /// The manifests are larger than the output limit.
    #[error("the render produced {size} bytes of manifests, more than the limit of {limit}")]
    OutputTooLarge {
        /// Bytes produced.
        size: usize,
        /// Bytes allowed.
        limit: usize,
    },
    /// The plugin failed the render but reported no error.
    #[error("the plugin failed the render without reporting an error")]
    Unreported,
    /// The output breaks the contract: a plugin bug.
    #[error(transparent)]
    Output(anyhow::Error),
    /// Objects their CRD schemas reject: a plugin bug.
    #[error("{0}")]
    Rejected(crd::Rejection),
    /// A policy plugin of the project's chain failed: its own bug.
    #[error("the policy plugin `{}` failed: {error}", crate::escape::value(plugin))]
    Policy {
        /// Its path, as the project file names it.
        plugin: String,
        /// What went wrong.
        #[source]
        error: runtime::Error,
    },
}

/// A render's spec files, as read from disk: kept for quoting source lines.
/// Other files (patch files) are never quoted: they may be anything.
#[derive(Debug, Default)]
pub struct Quotes {
    root: PathBuf,
    contents: HashMap<String, Vec<u8>>,
}

impl Quotes {
    /// `path` (relative to the application) as the user knows it.
    #[must_use]
    pub fn display(&self, path: &str) -> String {
        if self.root.as_os_str().is_empty() || self.root == Path::new(".") {
            path.to_owned()
        } else {
            self.root.join(path).display().to_string()
        }
    }

    /// The same quotes, with `file` holding `contents` (an edit not yet written).
    #[must_use]
    pub fn with(mut self, file: &str, contents: Vec<u8>) -> Self {
        self.contents.insert(file.to_owned(), contents);
        self
    }

    /// The spec files read, sorted by path, as the walk passed them to the
    /// plugin (to ask it again about what it rendered).
    #[must_use]
    pub fn files(&self) -> Vec<SourceFile> {
        let mut files: Vec<SourceFile> = self
            .contents
            .iter()
            .map(|(path, contents)| SourceFile { path: path.clone(), contents: contents.clone() })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    /// The contents of spec file `file`, if it was read.
    #[must_use]
    pub fn source(&self, file: &str) -> Option<&[u8]> {
        self.contents.get(file).map(Vec::as_slice)
    }
}

/// Which plugin runs, and what it may use and produce.
#[derive(Debug, Default)]
pub struct Settings {
    /// A plugin component to run instead of the built-in one.
    pub plugin: Option<PathBuf>,
    /// Where compiled code and CRD verdicts are cached (none: compile each run).
    pub cache: Option<CompileCache>,
    /// The plugin's time and memory limits.
    pub limits: Limits,
    /// Bytes of manifests a render may produce.
    pub max_output_bytes: usize,
}

/// A plugin and the checks its output must pass.
pub struct Pipeline {
    /// The plugin, loaded on first use: a render kept in the store, and a
    /// plugin whose `info` is kept, need none.
    runtime: OnceLock<Runtime>,
    plugin: Plugin,
    /// The plugin's identity, asked once: its kinds choose the files read,
    /// its project file whether a render describes first.
    info: PluginInfo,
    kinds: Kinds,
    verdicts: Option<Verdicts>,
    /// Renders already done, by everything their output depends on.
    renders: Option<Renders>,
    /// Whether a render's slot in the store is its directory's too (see [`Renders::key`]).
    slot_by_directory: bool,
    max_output_bytes: usize,
    /// Policy plugins load through the same cache, with the same limits.
    cache: Option<CompileCache>,
    limits: Limits,
    policies: chain::Loaded,
}

/// Which component a pipeline runs.
enum Plugin {
    /// The one built into modelgen.
    Builtin,
    /// A `--plugin` file, as read when the pipeline was set up.
    File {
        /// As the user named it.
        path: PathBuf,
        /// The component.
        wasm: Vec<u8>,
        /// Its hex SHA-256.
        sha256: String,
    },
}

impl Plugin {
    /// Reads the plugin `path` names (the built-in one without a path).
    fn read(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else { return Ok(Self::Builtin) };
        let shown = crate::escape::value(&path.to_string_lossy()).into_owned();
        let wasm = runtime::read_plugin(path).with_context(|| format!("cannot read the plugin `{shown}`"))?;
        let sha256 = sha256_hex(&wasm);
        Ok(Self::File { path: path.to_owned(), wasm, sha256 })
    }

    /// The component's hex SHA-256.
    fn sha256(&self) -> &str {
        match self {
            Self::Builtin => Runtime::builtin_sha256(),
            Self::File { sha256, .. } => sha256,
        }
    }

    /// Compiles (or loads the compiled code of) and links the component.
    fn load(&self, cache: Option<&CompileCache>, limits: Limits) -> Result<Runtime, Error> {
        match self {
            Self::Builtin => Runtime::builtin(cache, limits).context("cannot load the built-in plugin"),
            Self::File { path, wasm, sha256 } => Runtime::with_digest(wasm, sha256.clone(), cache, limits)
                .with_context(|| format!("cannot load the plugin `{}`", crate::escape::value(&path.to_string_lossy()))),
        }
        .map_err(|e| Error::Plugin(runtime::Error::Load(e)))
    }
}

impl Pipeline {
    /// Sets up the plugin `settings` name: read, and asked for its `info`
    /// unless its answer is kept in the cache.
    ///
    /// # Errors
    /// [`Error::Plugin`] when it cannot be read, compiled or linked.
    pub fn load(settings: Settings) -> Result<Self, Error> {
        let cache = settings.cache;
        let limits = settings.limits;
        let plugin = Plugin::read(settings.plugin.as_deref()).map_err(|e| Error::Plugin(runtime::Error::Load(e)))?;
        let verdicts = cache.as_ref().map(|cache| Verdicts::new(cache.dir()));
        let renders = cache
            .as_ref()
            .and_then(|cache| Renders::new(cache.dir(), plugin.sha256(), limits, settings.max_output_bytes));
        let runtime = OnceLock::new();
        let info = if let Some(info) = renders.as_ref().and_then(Renders::info) {
            info
        } else {
            let loaded = plugin.load(cache.as_ref(), limits)?;
            let info = loaded.info()?;
            if let Some(renders) = &renders {
                renders.put_info(&info);
            }
            let _ = runtime.set(loaded);
            info
        };
        let kinds = Kinds::new(&info.kinds);
        Ok(Self {
            runtime,
            plugin,
            info,
            kinds,
            verdicts,
            renders,
            slot_by_directory: true,
            max_output_bytes: settings.max_output_bytes,
            cache,
            limits,
            policies: chain::Loaded::default(),
        })
    }

    /// Keeps renders by application name, namespace and environment alone,
    /// not by directory: for Argo CD, which names each application uniquely
    /// and unpacks every request into a new temporary directory.
    #[must_use]
    pub fn slots_by_name(mut self) -> Self {
        self.slot_by_directory = false;
        self
    }

    /// The plugin's name, version, kinds and project file.
    #[must_use]
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The spec kinds the plugin handles.
    #[must_use]
    pub fn kinds(&self) -> &Kinds {
        &self.kinds
    }

    /// Reads the plugin's spec files under `path`, and keeps their contents for quoting.
    ///
    /// # Errors
    /// [`Error::Input`] when the path cannot be read or a limit is exceeded.
    pub fn read(&self, path: &Path, limits: InputLimits) -> Result<(Sources, Quotes), Error> {
        let sources = source::discover(path, limits, &self.kinds).map_err(Error::Input)?;
        let quotes = Quotes {
            root: sources.root.clone(),
            contents: sources.files.iter().map(|f| (f.path.clone(), f.contents.clone())).collect(),
        };
        Ok((sources, quotes))
    }

    /// The loaded plugin (for `schema` and `info`), loaded now if it was not.
    ///
    /// # Errors
    /// [`Error::Plugin`] when it cannot be compiled or linked.
    pub fn runtime(&self) -> Result<&Runtime, Error> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let loaded = self.plugin.load(self.cache.as_ref(), self.limits)?;
        Ok(self.runtime.get_or_init(|| loaded))
    }

    /// Describes the application in `files` for `context`.
    ///
    /// # Errors
    /// [`Error::Plugin`] when the plugin fails.
    pub fn describe(&self, files: Vec<SourceFile>, context: &RenderContext) -> Result<Reply<Project>, Error> {
        Ok(self.runtime()?.describe(files, context)?)
    }

    /// Renders an application: its spec files plus the files its project
    /// file names, then checks the output. A render of exactly this input
    /// kept in the cache is checked and returned without running the plugin.
    ///
    /// # Errors
    /// As for [`Self::render_files`].
    pub fn render(&self, sources: Sources, context: &RenderContext) -> Result<Outcome, Error> {
        let root = sources.root.clone();
        let location = self.slot_by_directory.then_some(root.as_path());
        let key = self.renders.as_ref().map(|renders| renders.key(location, true, context, &sources.files));
        if let Some(rendered) = key.as_ref().and_then(|key| self.replay(key, Some(&root), sources.budget)) {
            return Ok(Outcome::Rendered(rendered));
        }
        // Only what is kept needs to know which files were spec files.
        let spec_files: Option<HashSet<String>> =
            key.as_ref().map(|_| sources.files.iter().map(|f| f.path.clone()).collect());
        match application::files(self.runtime()?, self.info.project_file.as_deref(), sources, context)? {
            Reply::Accepted(Input { files, project }) => {
                let dependencies = spec_files.map(|spec| dependencies(&spec, &files, project.as_ref()));
                let outcome = self.render_with(Some(&root), files, project.as_ref(), context)?;
                self.keep(key.as_ref(), dependencies.as_deref().unwrap_or_default(), &outcome);
                Ok(outcome)
            }
            Reply::Refused(diagnostics) => refused(diagnostics),
        }
    }

    /// Renders `files` as they are (no project references, no directory to
    /// read policy plugins from), then checks the output.
    ///
    /// # Errors
    /// [`Error::Plugin`] when the plugin fails; [`Error::Unreported`] when it
    /// refuses the input without an error; [`Error::OutputTooLarge`] and
    /// [`Error::Output`] when its output may not be shown.
    pub fn render_files(&self, files: Vec<SourceFile>, context: &RenderContext) -> Result<Outcome, Error> {
        let key = self.renders.as_ref().map(|renders| renders.key(None, false, context, &files));
        let unread = Budget::new(InputLimits { max_bytes: 0, max_files: 0 });
        if let Some(rendered) = key.as_ref().and_then(|key| self.replay(key, None, unread)) {
            return Ok(Outcome::Rendered(rendered));
        }
        // Without a directory nothing is read besides `files`.
        let outcome = self.render_in(None, files, context)?;
        self.keep(key.as_ref(), &[], &outcome);
        Ok(outcome)
    }

    /// The render kept for `key`, if every file it read besides the spec
    /// files is as it was then (read again from `root` under `budget`, the
    /// same rules as the render's) and it passes every check of the output
    /// again. Anything else is a miss: the render runs.
    fn replay(&self, key: &Key, root: Option<&Path>, mut budget: Budget) -> Option<Rendered> {
        let renders = self.renders.as_ref()?;
        // The manifests, and room for the index and the warnings.
        let max_entry = u64::try_from(self.max_output_bytes).unwrap_or(u64::MAX).saturating_add(16 << 20);
        let (dependencies, rendered) = renders.get(key, max_entry)?;
        for dependency in &dependencies {
            let mut plugin_budget = Budget::new(InputLimits { max_bytes: MAX_PLUGIN_BYTES, max_files: 1 });
            let budget = match dependency.kind {
                Kind::Reference => &mut budget,
                Kind::Policy => &mut plugin_budget,
            };
            let file = source::read_reference(root?, &dependency.path, budget).ok()?;
            if file.map(|file| sha256_hex(&file.contents)) != dependency.sha256 {
                return None;
            }
        }
        self.verify(&rendered).ok()?;
        Some(rendered)
    }

    /// Keeps a render that passed every check for `key`.
    fn keep(&self, key: Option<&Key>, dependencies: &[Dependency], outcome: &Outcome) {
        if let (Some(renders), Some(key), Outcome::Rendered(rendered)) = (&self.renders, key, outcome) {
            renders.put(key, dependencies, rendered);
        }
    }

    /// Renders `files` of the application at `root`: described first when
    /// they hold the project file, for its chain of policy plugins.
    fn render_in(
        &self,
        root: Option<&Path>,
        files: Vec<SourceFile>,
        context: &RenderContext,
    ) -> Result<Outcome, Error> {
        let project = match self.info.project_file.as_deref() {
            Some(name) if files.iter().any(|f| f.path == name) => {
                match self.runtime()?.describe(files.clone(), context)? {
                    Reply::Accepted(project) => Some(project),
                    Reply::Refused(diagnostics) => return refused(diagnostics),
                }
            }
            _ => None,
        };
        self.render_with(root, files, project.as_ref(), context)
    }

    /// Generates, runs the project's chain of policy plugins, and checks the output.
    fn render_with(
        &self,
        root: Option<&Path>,
        files: Vec<SourceFile>,
        project: Option<&Project>,
        context: &RenderContext,
    ) -> Result<Outcome, Error> {
        let rendered = match self.runtime()?.generate(files, context)? {
            Reply::Accepted(rendered) => rendered,
            Reply::Refused(diagnostics) => return refused(diagnostics),
        };
        let rendered = match project.filter(|p| !p.plugins.is_empty()) {
            None => rendered,
            Some(project) => {
                // The generator's own output is checked before a policy plugin reads it.
                contract::check(&rendered).map_err(Error::Output)?;
                let chain =
                    Chain { root, cache: self.cache.as_ref(), limits: self.limits, loaded: &self.policies, project };
                match chain.run(rendered, context) {
                    Ok(rendered) => rendered,
                    Err(chain::Stop::Refused(diagnostics)) => return refused(diagnostics),
                    Err(chain::Stop::Failed { plugin, error }) => return Err(Error::Policy { plugin, error }),
                }
            }
        };
        self.verify(&rendered)?;
        Ok(Outcome::Rendered(rendered))
    }

    /// The trust boundary: nothing is printed or written unless the render
    /// fits the output limit, keeps the contract (one document per manifest,
    /// Kubernetes names, at least one object) and every object matches its CRD.
    fn verify(&self, rendered: &Rendered) -> Result<(), Error> {
        let size: usize = rendered.manifests.iter().map(|m| m.yaml.len()).sum();
        if size > self.max_output_bytes {
            return Err(Error::OutputTooLarge { size, limit: self.max_output_bytes });
        }
        contract::check(rendered).map_err(Error::Output)?;
        crd::verify(rendered, self.verdicts.as_ref()).map_err(Error::Rejected)?;
        contract::check_names(rendered, self.verdicts.as_ref()).map_err(Error::Output)
    }
}

/// What an edit comes to when nothing failed.
#[derive(Debug)]
pub enum Edit {
    /// The edited file, with which the application renders, with every check,
    /// without an environment and in each of `environments`.
    Checked {
        /// The file's new contents and what changed.
        edited: Edited,
        /// What the file held when it was read (the write checks it still does).
        read: Vec<u8>,
        /// The environments rendered besides none.
        environments: Vec<String>,
    },
    /// The plugin refused the edit: its diagnostics.
    Refused(Vec<Diagnostic>),
    /// The edit would break the render of `environment` (`None`: without one).
    Breaks {
        /// The edit that breaks it (its file is what the diagnostics quote).
        edited: Edited,
        /// The environment whose render failed.
        environment: Option<String>,
        /// Why.
        diagnostics: Vec<Diagnostic>,
    },
}

impl Pipeline {
    /// Has the plugin apply `action` to `model`, then renders the edited
    /// application with every check, without an environment and in each of
    /// its environments: an edit is written only when all of them succeed.
    ///
    /// # Errors
    /// As for [`Self::render_files`]; [`Error::Output`] when the plugin
    /// edits a file it was not given.
    pub fn edit(
        &self,
        sources: Sources,
        context: &RenderContext,
        model: &str,
        action: &EditAction,
    ) -> Result<Edit, Error> {
        let root = sources.root.clone();
        let files = match application::files(self.runtime()?, self.info.project_file.as_deref(), sources, context)? {
            Reply::Accepted(input) => input.files,
            Reply::Refused(diagnostics) => return Ok(Edit::Refused(diagnostics)),
        };
        let edited = match self.runtime()?.edit(files.clone(), context, model, action)? {
            Reply::Accepted(edited) => edited,
            Reply::Refused(diagnostics) => {
                refused(diagnostics.clone())?;
                return Ok(Edit::Refused(diagnostics));
            }
        };
        // The plugin names the file; only one it was given may be written.
        let mut files = files;
        let Some(target) = files.iter_mut().find(|f| f.path == edited.file) else {
            return Err(Error::Output(anyhow::anyhow!(
                "the plugin edited `{}`, which is not a file of the application",
                crate::escape::value(&edited.file)
            )));
        };
        let read = std::mem::replace(&mut target.contents, edited.contents.clone());
        let base = RenderContext { environment: None, parameters: Vec::new(), ..context.clone() };
        let environments = match self.runtime()?.describe(files.clone(), &base)? {
            Reply::Accepted(project) => project.environments,
            Reply::Refused(diagnostics) => return Ok(Edit::Breaks { edited, environment: None, diagnostics }),
        };
        for environment in std::iter::once(None).chain(environments.iter().cloned().map(Some)) {
            let context = RenderContext { environment: environment.clone(), ..base.clone() };
            if let Outcome::Refused(diagnostics) = self.render_in(Some(&root), files.clone(), &context)? {
                return Ok(Edit::Breaks { edited, environment, diagnostics });
            }
        }
        Ok(Edit::Checked { edited, read, environments })
    }
}

/// What a render read besides its spec files, for its entry in the store:
/// the files its project file names (those that were missing too) and the
/// policy plugins of its chain, whose contents a successful render had
/// checked against the digests the project pins.
fn dependencies(spec_files: &HashSet<String>, files: &[SourceFile], project: Option<&Project>) -> Vec<Dependency> {
    let read = files.iter().filter(|f| !spec_files.contains(&f.path));
    let mut dependencies: Vec<Dependency> = read
        .map(|f| Dependency { path: f.path.clone(), sha256: Some(sha256_hex(&f.contents)), kind: Kind::Reference })
        .collect();
    let Some(project) = project else { return dependencies };
    for reference in &project.references {
        if !files.iter().any(|f| f.path == reference.path) {
            dependencies.push(Dependency { path: reference.path.clone(), sha256: None, kind: Kind::Reference });
        }
    }
    for plugin in &project.plugins {
        dependencies.push(Dependency {
            path: plugin.path.clone(),
            sha256: Some(plugin.sha256.clone()),
            kind: Kind::Policy,
        });
    }
    dependencies
}

/// A refusal must say why: one without an error is the plugin's bug.
fn refused(diagnostics: Vec<Diagnostic>) -> Result<Outcome, Error> {
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        Ok(Outcome::Refused(diagnostics))
    } else {
        Err(Error::Unreported)
    }
}
