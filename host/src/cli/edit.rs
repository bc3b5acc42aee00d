//! `modelgen canary set-weight|promote|rollback` and `modelgen bump`: one model's spec edited in place, checked by rendering every environment, then written atomically.
//!
//! The plugin edits (it alone knows the spec's vocabulary) and the pipeline
//! renders the edited application without an environment and in each of
//! its environments, with every check; only then is the one changed file
//! written, and only if it still holds what was read. What changed goes to
//! stderr; the suggested commit message (with `Modelgen-*` trailers) is the
//! only thing on stdout, so that `git commit -F <(modelgen ...)` works.

use std::path::{Path, PathBuf};

use clap::Args;

use super::failure::{Failure, emit};
use super::options::PluginOptions;
use super::terminal::{count, fs_name, print_human, shown};
use crate::artifacts::spec_file;
use crate::diagnostic::Severity;
use crate::escape;
use crate::pipeline::Edit;
use crate::plugin::runtime::RenderContext;
use crate::rollout::{Bump, EditAction, Edited};

/// Where and how an edit happens: the options every edit command shares.
#[derive(Clone, Debug, Args)]
pub struct EditOptions {
    /// The environment whose configuration is edited: the project file's
    /// override when the environment sets the changed field, else the spec.
    #[arg(long = "env", value_name = "NAME")]
    pub environment: Option<String>,
    /// Namespace for specs that do not set `metadata.namespace` (as for `render`).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Check the edit and print what would change and the commit message, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `canary set-weight MODEL PERCENT [PATH]`.
#[derive(Debug, Args)]
pub struct SetWeightArgs {
    /// The model (its `metadata.name`).
    pub model: String,
    /// The canary's new share of traffic, 0 to 100.
    #[arg(value_parser = clap::value_parser!(u8).range(0..=100))]
    pub percent: u8,
    /// The application directory (or a single spec file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Where and how.
    #[command(flatten)]
    pub edit: EditOptions,
}

/// `canary promote MODEL [PATH]`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The model (its `metadata.name`).
    pub model: String,
    /// The application directory (or a single spec file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Where and how.
    #[command(flatten)]
    pub edit: EditOptions,
}

/// `canary rollback MODEL [PATH] [--keep]`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The model (its `metadata.name`).
    pub model: String,
    /// The application directory (or a single spec file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Keep the canary deployed with no traffic (`trafficPercent: 0`) instead of removing it.
    #[arg(long)]
    pub keep: bool,
    /// Where and how.
    #[command(flatten)]
    pub edit: EditOptions,
}

/// `bump MODEL --version V [PATH]`.
#[derive(Debug, Args)]
pub struct BumpArgs {
    /// The model (its `metadata.name`).
    pub model: String,
    /// The application directory (or a single spec file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The new version.
    #[arg(long, value_name = "VERSION")]
    pub version: String,
    /// The new artifacts' URI (`s3://…`, `oci://…`, `hf://…`), when they move.
    #[arg(long, value_name = "URI")]
    pub storage_uri: Option<String>,
    /// The new model-server image (best with a digest: `REPO@sha256:…`).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Start a canary with the new version at PERCENT instead of replacing the stable model.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub canary: Option<u8>,
    /// Where and how.
    #[command(flatten)]
    pub edit: EditOptions,
}

impl SetWeightArgs {
    pub(crate) fn run(&self, options: &PluginOptions) -> Result<(), Failure> {
        let action = EditAction::SetCanaryWeight(self.percent);
        apply(options, &self.path, &self.edit, &self.model, &action, true).map(drop)
    }
}

impl PromoteArgs {
    pub(crate) fn run(&self, options: &PluginOptions) -> Result<(), Failure> {
        apply(options, &self.path, &self.edit, &self.model, &EditAction::Promote, true).map(drop)
    }
}

impl RollbackArgs {
    pub(crate) fn run(&self, options: &PluginOptions) -> Result<(), Failure> {
        apply(options, &self.path, &self.edit, &self.model, &EditAction::Rollback(self.keep), true).map(drop)
    }
}

impl BumpArgs {
    pub(crate) fn run(&self, options: &PluginOptions) -> Result<(), Failure> {
        let bump = Bump {
            version: self.version.clone(),
            storage_uri: self.storage_uri.clone(),
            image: self.image.clone(),
            canary: self.canary,
        };
        apply(options, &self.path, &self.edit, &self.model, &EditAction::Bump(bump), true).map(drop)
    }
}

/// Edits `model` in the application at `path`, checks the result in every
/// environment, writes it (unless a dry run) and prints what changed (and,
/// with `print_message`, the commit message); returns the edit.
pub(crate) fn apply(
    options: &PluginOptions,
    path: &Path,
    edit: &EditOptions,
    model: &str,
    action: &EditAction,
    print_message: bool,
) -> Result<Edited, Failure> {
    let pipeline = options.pipeline()?;
    let (sources, quotes) = pipeline.read(path, options.limits.input())?;
    let root = sources.root.clone();
    let context = RenderContext {
        app_name: fs_name(path),
        namespace: edit.namespace.clone(),
        revision: None,
        environment: edit.environment.clone(),
        parameters: Vec::new(),
    };
    let model_shown = escape::value(model).into_owned();
    match pipeline.edit(sources, &context, model, action)? {
        Edit::Refused(diagnostics) => {
            print_human(&diagnostics, &quotes);
            eprintln!(
                "error: cannot edit model `{model_shown}` in `{}`: {}, nothing written",
                shown(path),
                count(&diagnostics, Severity::Error, "error")
            );
            Err(Failure::Input)
        }
        Edit::Breaks { edited, environment, diagnostics } => {
            let quotes = quotes.with(&edited.file, edited.contents.clone());
            print_human(&diagnostics, &quotes);
            let place = environment.map_or_else(
                || "without an environment".to_owned(),
                |e| format!("in environment `{}`", escape::value(&e)),
            );
            eprintln!(
                "error: after this edit, `{}` would not render {place} ({}); nothing written",
                shown(path),
                count(&diagnostics, Severity::Error, "error")
            );
            Err(Failure::Input)
        }
        Edit::Checked { edited, read, environments } => {
            if edited.changes.is_empty() || edited.contents == read {
                eprintln!(
                    "nothing to change: `{}` already says so for model `{model_shown}`; nothing written",
                    escape::value(&quotes.display(&edited.file))
                );
                return Err(Failure::Unchanged);
            }
            if !edit.dry_run {
                spec_file::replace(&root, &edited.file, &read, &edited.contents)?;
            }
            report(&quotes.display(&edited.file), &edited, &environments, edit.dry_run);
            if print_message {
                emit(&edited.message)?;
            }
            Ok(edited)
        }
    }
}

/// What changed, for people, on stderr.
fn report(file: &str, edited: &Edited, environments: &[String], dry_run: bool) {
    use std::fmt::Write as _;
    let verb = if dry_run { "would edit (dry run, nothing written)" } else { "edited" };
    let mut text = format!("{verb} `{}`:\n", escape::value(file));
    let value =
        |v: &Option<String>| v.as_deref().map_or_else(|| "(none)".to_owned(), |v| format!("`{}`", escape::value(v)));
    for change in &edited.changes {
        let _ = writeln!(text, "  {}: {} -> {}", escape::value(&change.field), value(&change.old), value(&change.new));
    }
    let checked: Vec<String> = environments.iter().map(|e| format!("`{}`", escape::value(e))).collect();
    if checked.is_empty() {
        text.push_str("checked: the application renders with every check\n");
    } else {
        let _ = writeln!(
            text,
            "checked: the application renders with every check, without an environment and in {}",
            checked.join(", ")
        );
    }
    eprint!("{text}");
}
