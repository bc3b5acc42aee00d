//! The policy chain: the project's policy plugins (`modelgen:policy`), run in order on the generator's output before the host checks it.
//!
//! Each plugin is read from inside the application root under the rules of
//! patch files, refused unless its SHA-256 is the one the project file
//! names, and run in the generator's sandbox and limits. A plugin's
//! findings become diagnostics at the spec that produced the object (the
//! line of the model's `metadata.name`, from `describe`); what it returns
//! instead of the objects is checked here, naming the plugin, before the
//! next plugin or the output checks see it.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Manifest, ModelSummary, PluginRef, Project, Rendered, Severity};
use crate::escape;
use crate::input::source::{self, Budget, InputLimits};
use crate::plugin::cache::CompileCache;
use crate::plugin::runtime::policy::{Context, Finding, Policy};
use crate::plugin::runtime::{self, Limits, MAX_PLUGIN_BYTES, RenderContext};
use crate::verify::contract;

/// The most plugins one render runs: each may use its whole time limit, and
/// the project file that lists them may come from an untrusted pull request.
pub const MAX_PLUGINS: usize = 16;

/// Why a chain did not produce objects.
#[derive(Debug)]
pub enum Stop {
    /// The input is wrong (a policy's errors, or a plugin file that may not be run): diagnostics.
    Refused(Vec<Diagnostic>),
    /// The plugin named failed: its own bug (a trap, a limit, an answer the contract forbids).
    Failed {
        /// The plugin's path, as the project file names it.
        plugin: String,
        /// What went wrong.
        error: runtime::Error,
    },
}

/// Loaded policy plugins, by digest: a render that runs several
/// environments (the edit commands) loads each component once.
#[derive(Default)]
pub struct Loaded {
    policies: Mutex<HashMap<String, Arc<Policy>>>,
}

impl Loaded {
    fn get(&self, sha256: &str, bytes: &[u8], cache: Option<&CompileCache>, limits: Limits) -> Result<Arc<Policy>> {
        let mut policies = self.policies.lock().map_err(|_| anyhow!("a policy load panicked"))?;
        if let Some(policy) = policies.get(sha256) {
            return Ok(Arc::clone(policy));
        }
        let policy = Arc::new(Policy::load(bytes, sha256, cache, limits)?);
        policies.insert(sha256.to_owned(), Arc::clone(&policy));
        Ok(policy)
    }
}

/// What the chain needs besides the render: where the application is, how
/// to load components, and what `describe` said.
pub struct Chain<'a> {
    /// The application root (`None` where no directory is read: `krm`).
    pub root: Option<&'a Path>,
    /// The compile cache.
    pub cache: Option<&'a CompileCache>,
    /// The limits every call gets.
    pub limits: Limits,
    /// Components loaded so far.
    pub loaded: &'a Loaded,
    /// The described application: its chain and its models' positions.
    pub project: &'a Project,
}

impl Chain<'_> {
    /// Runs every plugin of the chain on `rendered`, in order.
    ///
    /// # Errors
    /// [`Stop::Refused`] with the diagnostics that refuse the render;
    /// [`Stop::Failed`] naming the plugin that failed.
    pub fn run(&self, mut rendered: Rendered, context: &RenderContext) -> Result<Rendered, Stop> {
        if let Some(extra) = self.project.plugins.get(MAX_PLUGINS) {
            return Err(Stop::Refused(vec![Diagnostic {
                severity: Severity::Error,
                file: Some(extra.referrer.clone()),
                position: extra.position,
                field: None,
                message: format!(
                    "a render may run at most {MAX_PLUGINS} policy plugins, and this one has {}",
                    self.project.plugins.len()
                ),
                hint: Some("merge the rules into fewer plugins".to_owned()),
                secrets: Vec::new(),
            }]));
        }
        let mut diagnostics = Vec::new();
        for plugin in &self.project.plugins {
            let policy = self.load(plugin)?;
            let failed = |error: runtime::Error| Stop::Failed { plugin: plugin.path.clone(), error };
            let call = Context {
                app_name: context.app_name.clone(),
                namespace: context.namespace.clone(),
                environment: context.environment.clone(),
                settings: plugin.settings.clone(),
            };
            let outcome = policy.apply(&rendered.manifests, &call).map_err(failed)?;
            for finding in outcome.findings {
                diagnostics.push(self.diagnostic(plugin, &rendered.manifests, finding).map_err(failed)?);
            }
            if let Some(objects) = outcome.objects {
                checked(&rendered.manifests, &objects).map_err(|e| failed(runtime::Error::Broken(format!("{e:#}"))))?;
                rendered.manifests = objects;
            }
        }
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            let mut all = rendered.warnings;
            all.extend(diagnostics);
            return Err(Stop::Refused(all));
        }
        rendered.warnings.extend(diagnostics);
        Ok(rendered)
    }

    /// Reads `plugin` from the application, checks its digest, and loads it.
    fn load(&self, plugin: &PluginRef) -> Result<Arc<Policy>, Stop> {
        let refuse = |message: String, hint: &str| {
            Stop::Refused(vec![Diagnostic {
                severity: Severity::Error,
                file: Some(plugin.referrer.clone()),
                position: plugin.position,
                field: None,
                message,
                hint: Some(hint.to_owned()),
                secrets: Vec::new(),
            }])
        };
        let shown = escape::value(&plugin.path).into_owned();
        let Some(root) = self.root else {
            return Err(refuse(
                format!("the policy plugin `{shown}` cannot run here: this command reads no application directory"),
                "render the application directory with `modelgen render` instead",
            ));
        };
        let mut budget = Budget::new(InputLimits { max_bytes: MAX_PLUGIN_BYTES, max_files: 1 });
        let file = match source::read_reference(root, &plugin.path, &mut budget) {
            Ok(Some(file)) => file,
            Ok(None) => {
                return Err(refuse(
                    format!("the policy plugin `{shown}` does not exist"),
                    "build it, and commit the `.wasm` file at this path",
                ));
            }
            Err(e) => {
                return Err(refuse(
                    format!("cannot read the policy plugin: {e:#}"),
                    "policy plugins must be regular files inside the application directory, outside hidden directories",
                ));
            }
        };
        let digest = crate::digest::sha256_hex(&file.contents);
        if digest != plugin.sha256 {
            return Err(refuse(
                format!(
                    "the policy plugin `{shown}` has the SHA-256 `{digest}`, not the `{}` the project file requires",
                    escape::value(&plugin.sha256)
                ),
                &format!("if this plugin is the one you mean to run, set `sha256: {digest}`"),
            ));
        }
        self.loaded
            .get(&digest, &file.contents, self.cache, self.limits)
            .map_err(|e| Stop::Failed { plugin: plugin.path.clone(), error: runtime::Error::Load(e) })
    }

    /// A finding as a diagnostic: at the spec line that names the model
    /// whose object it is about, or at the plugin's entry in the project
    /// file when it concerns no object.
    fn diagnostic(
        &self,
        plugin: &PluginRef,
        objects: &[Manifest],
        finding: Finding,
    ) -> Result<Diagnostic, runtime::Error> {
        let shown = escape::value(&plugin.path);
        let (file, position, message) = match finding.object {
            None => (Some(plugin.referrer.clone()), plugin.position, format!("{shown}: {}", finding.message)),
            Some(index) => {
                let manifest = usize::try_from(index).ok().and_then(|i| objects.get(i)).ok_or_else(|| {
                    runtime::Error::Broken(format!(
                        "a finding is about object {index}, but it was given {} objects",
                        objects.len()
                    ))
                })?;
                let object: Value = serde_saphyr::from_str(&manifest.yaml).unwrap_or(Value::Null);
                let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or("?").to_owned();
                let (kind, name) = (text("/kind"), text("/metadata/name"));
                let position = model(&self.project.models, &manifest.source, &object).and_then(|m| m.position);
                let message =
                    format!("{shown}: {} `{}`: {}", escape::value(&kind), escape::value(&name), finding.message);
                (Some(manifest.source.clone()), position, message)
            }
        };
        Ok(Diagnostic {
            severity: finding.severity,
            file,
            position,
            field: finding.field,
            message,
            hint: finding.hint,
            secrets: Vec::new(),
        })
    }
}

/// The model in `file` that `object` belongs to: the one its
/// `app.kubernetes.io/name` label or its name names, else the file's first.
fn model<'a>(models: &'a [ModelSummary], file: &str, object: &Value) -> Option<&'a ModelSummary> {
    let in_file: Vec<&ModelSummary> = models.iter().filter(|m| m.file == file).collect();
    let named = |pointer: &str| {
        let name = object.pointer(pointer).and_then(Value::as_str)?;
        in_file.iter().copied().find(|m| m.name == name)
    };
    named("/metadata/labels/app.kubernetes.io~1name")
        .or_else(|| named("/metadata/name"))
        .or_else(|| in_file.first().copied())
}

/// Checks what a transformer returned: objects the output checks can read
/// (one YAML document each, with `apiVersion`, `kind` and `metadata.name`),
/// each from a spec file of the input, and no two the same object.
fn checked(before: &[Manifest], after: &[Manifest]) -> Result<()> {
    contract::check(&Rendered { manifests: after.to_vec(), warnings: Vec::new() })?;
    let sources: HashSet<&str> = before.iter().map(|m| m.source.as_str()).collect();
    let mut seen: HashMap<(String, String, String, String), usize> = HashMap::new();
    for (i, manifest) in after.iter().enumerate() {
        if !sources.contains(manifest.source.as_str()) {
            bail!(
                "object {i} names the source `{}`, which is not a spec file of the render",
                escape::value(&manifest.source)
            );
        }
        let object: Value = serde_saphyr::from_str(&manifest.yaml)
            .map_err(|e| anyhow!("object {i} is not valid YAML: {}", escape::value(&e.to_string())))?;
        let field = |pointer: &str, name: &str| -> Result<String> {
            match object.pointer(pointer) {
                Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
                _ => bail!("object {i} has no `{name}`"),
            }
        };
        let key = (
            field("/apiVersion", "apiVersion")?,
            field("/kind", "kind")?,
            object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_owned(),
            field("/metadata/name", "metadata.name")?,
        );
        if let Some(first) = seen.insert(key.clone(), i) {
            bail!(
                "objects {first} and {i} are the same object, {} `{}` (`{}`) in namespace `{}`",
                escape::value(&key.1),
                escape::value(&key.3),
                escape::value(&key.0),
                escape::value(&key.2)
            );
        }
    }
    Ok(())
}
