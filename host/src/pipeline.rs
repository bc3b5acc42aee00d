//! The one render pipeline: read the input, follow the project's references, generate, and check the output.
//!
//! Every front end (`render`, `render --out`, `validate`, `diff`, `krm`,
//! `argocd generate`) runs a [`Pipeline`] and only formats its [`Outcome`]:
//! manifests that passed every check (output limit, contract, CRD schemas),
//! or the diagnostics that refuse the input. Anything else is an [`Error`]
//! whose variant decides the exit code; the command line adds the flag that
//! lifts a limit, since only it knows the flags.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::chain::{self, Chain};
use crate::diagnostic::{Diagnostic, PluginInfo, Project, Rendered, Severity};
use crate::input::application::{self, Input};
use crate::input::kinds::Kinds;
use crate::input::source::{self, InputLimits, SourceFile, Sources};
use crate::plugin::cache::CompileCache;
use crate::plugin::runtime::{self, Limits, RenderContext, Reply, Runtime};
use crate::rollout::{EditAction, Edited};
use crate::verify::contract;
use crate::verify::crd;
use crate::verify::verdicts::Verdicts;

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

/// A loaded plugin and the checks its output must pass.
pub struct Pipeline {
    runtime: Runtime,
    /// The plugin's identity, asked once: its kinds choose the files read,
    /// its project file whether a render describes first.
    info: PluginInfo,
    kinds: Kinds,
    verdicts: Option<Verdicts>,
    max_output_bytes: usize,
    /// Policy plugins load through the same cache, with the same limits.
    cache: Option<CompileCache>,
    limits: Limits,
    policies: chain::Loaded,
}

impl Pipeline {
    /// Loads the plugin `settings` name.
    ///
    /// # Errors
    /// [`Error::Plugin`] when it cannot be read, compiled or linked.
    pub fn load(settings: Settings) -> Result<Self, Error> {
        let cache = settings.cache;
        let limits = settings.limits;
        let runtime = match &settings.plugin {
            Some(path) => Runtime::from_file(path, cache.as_ref(), settings.limits),
            None => Runtime::builtin(cache.as_ref(), settings.limits).context("cannot load the built-in plugin"),
        }
        .map_err(runtime::Error::Load)?;
        let verdicts = cache.as_ref().map(|cache| Verdicts::new(cache.dir()));
        let info = runtime.info()?;
        let kinds = Kinds::new(&info.kinds);
        Ok(Self {
            runtime,
            info,
            kinds,
            verdicts,
            max_output_bytes: settings.max_output_bytes,
            cache,
            limits,
            policies: chain::Loaded::default(),
        })
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

    /// The loaded plugin (for `schema` and `info`).
    #[must_use]
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Describes the application in `files` for `context`.
    ///
    /// # Errors
    /// [`Error::Plugin`] when the plugin fails.
    pub fn describe(&self, files: Vec<SourceFile>, context: &RenderContext) -> Result<Reply<Project>, Error> {
        Ok(self.runtime.describe(files, context)?)
    }

    /// Renders an application: its spec files plus the files its project
    /// file names, then checks the output.
    ///
    /// # Errors
    /// As for [`Self::render_files`].
    pub fn render(&self, sources: Sources, context: &RenderContext) -> Result<Outcome, Error> {
        let root = sources.root.clone();
        match application::files(&self.runtime, self.info.project_file.as_deref(), sources, context)? {
            Reply::Accepted(Input { files, project }) => {
                self.render_with(Some(&root), files, project.as_ref(), context)
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
        self.render_in(None, files, context)
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
                match self.runtime.describe(files.clone(), context)? {
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
        let rendered = match self.runtime.generate(files, context)? {
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
        let files = match application::files(&self.runtime, self.info.project_file.as_deref(), sources, context)? {
            Reply::Accepted(input) => input.files,
            Reply::Refused(diagnostics) => return Ok(Edit::Refused(diagnostics)),
        };
        let edited = match self.runtime.edit(files.clone(), context, model, action)? {
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
        let environments = match self.runtime.describe(files.clone(), &base)? {
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

/// A refusal must say why: one without an error is the plugin's bug.
fn refused(diagnostics: Vec<Diagnostic>) -> Result<Outcome, Error> {
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        Ok(Outcome::Refused(diagnostics))
    } else {
        Err(Error::Unreported)
    }
}
