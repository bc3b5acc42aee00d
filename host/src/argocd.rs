//! `modelgen argocd generate` and `parameters`: the Argo CD config management plugin, driven by the environment `argocd-cmp-server` sets.
//!
//! Argo CD applies whatever `generate` prints and deletes what it no longer
//! prints (with auto-prune), so stdout gets the manifests only once the
//! whole render succeeded and was checked; any failure leaves it empty and
//! exits non-zero. stderr (shown in the Argo CD UI) starts with a line naming
//! the application, then at most a screenful of located diagnostics, and
//! never quotes an environment value.

pub mod app;
pub mod cluster;
pub mod env;
pub mod parameters;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use clap::Subcommand;

use crate::cli::failure::{Failure, emit};
use crate::cli::options::PluginOptions;
use crate::diagnostic::{Diagnostic, ModelSummary, Rendered, Severity};
use crate::escape;
use crate::input::source::{SourceFile, Sources};
use crate::pipeline::{Outcome, Pipeline, Quotes};
use crate::plugin::runtime::{RenderContext, Reply};
use crate::report;
use app::Application;
use env::Vars;

/// The plugin's commands, as `plugin.yaml` runs them in the application's directory.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the application in the current directory (the plugin's `generate` command).
    Generate,
    /// Print the parameters the Argo CD UI offers, as JSON (the plugin's dynamic parameters command).
    Parameters,
}

/// The most diagnostics printed: Argo CD shows stderr in a status message,
/// where a screenful is useful and a thousand lines are not.
const MAX_SHOWN: usize = 8;

/// Runs an Argo CD command with the process's environment.
pub(crate) fn run(options: &PluginOptions, command: &Command) -> Result<(), Failure> {
    let vars = Vars::from_process();
    match command {
        Command::Generate => generate(options, &vars),
        Command::Parameters => announce(options, &vars),
    }
}

/// A failure that is the input's or the Application's fault: the message, exit code 1.
fn setup_failed(label: Option<&str>, error: anyhow::Error) -> Failure {
    let error = match label {
        Some(label) => error.context(label.to_owned()),
        None => error,
    };
    Failure::Error(error)
}

/// The spec files of the application in the current directory, and their
/// contents for quoting source lines.
fn read_sources(pipeline: &Pipeline, options: &PluginOptions, label: &str) -> Result<(Sources, Quotes), Failure> {
    pipeline.read(Path::new("."), options.limits.input()).map_err(|e| Failure::from(e).context(label))
}

/// Prints `headline` and then the diagnostics, errors first, at most [`MAX_SHOWN`].
fn print_diagnostics(app: &Application, headline: &str, diagnostics: &[Diagnostic], contents: &Quotes) {
    let mut ordered: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
    ordered.extend(diagnostics.iter().filter(|d| d.severity == Severity::Warning));
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", escape::lines(headline));
    for diagnostic in ordered.iter().take(MAX_SHOWN) {
        let text = report::human(diagnostic, |p| app.display_path(p), |f| contents.source(f));
        let _ = write!(stderr, "{text}");
    }
    if ordered.len() > MAX_SHOWN {
        let path = escape::value(app.source_path.as_deref().unwrap_or("."));
        let _ = writeln!(
            stderr,
            "... and {} more; run `modelgen validate {path}` in a checkout to see them all",
            ordered.len() - MAX_SHOWN
        );
    }
}

fn count(diagnostics: &[Diagnostic], severity: Severity, noun: &str) -> String {
    let n = diagnostics.iter().filter(|d| d.severity == severity).count();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Prints why the application cannot be rendered and returns the input failure.
fn input_failed(app: &Application, diagnostics: &[Diagnostic], contents: &Quotes) -> Failure {
    let headline =
        format!("error: {}: rendering failed with {}", app.label(), count(diagnostics, Severity::Error, "error"));
    print_diagnostics(app, &headline, diagnostics, contents);
    Failure::Input
}

/// The render context for `app`: Argo CD's namespace and revision, the
/// environment, and the plugin's parameters the Application sets (resolved
/// against what `describe` announces, only when it sets any).
fn context(
    pipeline: &Pipeline,
    app: &Application,
    files: &[SourceFile],
    contents: &Quotes,
) -> Result<RenderContext, Failure> {
    let mut context = RenderContext {
        app_name: app.name.clone(),
        namespace: app.namespace.clone(),
        revision: app.revision.clone(),
        environment: app.requested.environment.clone(),
        parameters: Vec::new(),
    };
    if !app.requested.settings.is_empty() {
        let project = match pipeline.describe(files.to_vec(), &context)? {
            Reply::Accepted(project) => project,
            Reply::Refused(diagnostics) => return Err(input_failed(app, &diagnostics, contents)),
        };
        // The caller names the application.
        context.parameters =
            parameters::render_parameters(&app.requested, &project).map_err(|e| setup_failed(None, e))?;
    }
    Ok(context)
}

fn generate(options: &PluginOptions, vars: &Vars) -> Result<(), Failure> {
    let app = Application::from_vars(vars).map_err(|e| setup_failed(None, e))?;
    let label = app.label();
    let pipeline = options.pipeline().map_err(|f| f.context(&label))?.slots_by_name();
    let (sources, contents) = read_sources(&pipeline, options, &label)?;
    let context = context(&pipeline, &app, &sources.files, &contents).map_err(|f| f.context(&label))?;
    let rendered = match pipeline.render(sources, &context).map_err(|e| Failure::from(e).context(&label))? {
        Outcome::Rendered(rendered) => rendered,
        Outcome::Refused(diagnostics) => return Err(input_failed(&app, &diagnostics, &contents)),
    };
    check_apis(&pipeline, &context, &app, &rendered, &contents).map_err(|f| f.context(&label))?;
    if !rendered.warnings.is_empty() {
        let headline = format!("warning: {label}: {}", count(&rendered.warnings, Severity::Warning, "warning"));
        print_diagnostics(&app, &headline, &rendered.warnings, &contents);
    }
    emit(&rendered.to_stream()).map_err(|f| f.context(&label))
}

/// What a render must pass before Argo CD sees it, beyond the pipeline's
/// checks (among them at least one object: an empty stream makes an
/// auto-pruning Application delete everything it manages): the destination
/// cluster's APIs.
fn check_apis(
    pipeline: &Pipeline,
    context: &RenderContext,
    app: &Application,
    rendered: &Rendered,
    contents: &Quotes,
) -> Result<(), Failure> {
    let label = app.label();
    let Some(apis) = app.api_versions.as_ref().filter(|_| app.settings.check_apis) else { return Ok(()) };
    let missing = cluster::missing(&rendered.manifests, apis);
    if missing.is_empty() {
        return Ok(());
    }
    let cluster = app.kube_version.as_deref().map_or_else(
        || "the destination cluster".to_owned(),
        |version| format!("the destination cluster (Kubernetes {})", escape::value(version)),
    );
    // Where each model's spec chooses its backend, as the plugin describes
    // it: the backend field when the spec sets one, else the model's name.
    let described = match pipeline.describe(contents.files(), context)? {
        Reply::Accepted(project) => project.models,
        Reply::Refused(_) => Vec::new(), // It rendered: this cannot happen; messages then name the file alone.
    };
    // The first model of a name in a file wins, as a lookup would find it.
    let mut by_name: HashMap<(&str, &str), &ModelSummary> = HashMap::new();
    for model in &described {
        by_name.entry((model.file.as_str(), model.name.as_str())).or_insert(model);
    }
    let diagnostics: Vec<Diagnostic> = missing
        .iter()
        .map(|m| {
            let model = by_name.get(&(m.file.as_str(), m.model.as_str()));
            let located = model.and_then(|d| match (d.backend_position, d.position) {
                (Some(position), _) => Some((position, "spec.backend")),
                (None, Some(position)) => Some((position, "metadata.name")),
                (None, None) => None,
            });
            Diagnostic {
                secrets: Vec::new(),
                severity: Severity::Error,
                file: Some(m.file.clone()),
                position: located.map(|(position, _)| position),
                field: located.map(|(_, field)| field.to_owned()),
                message: match &m.problem {
                    Some(problem) => format!("{cluster} {problem} (model `{}`)", m.model),
                    None => format!("{cluster} does not serve `{}`, which model `{}` needs", m.api, m.model),
                },
                hint: Some(format!(
                    "{}; or, if another Application installs it, set `MODELGEN_CHECK_APIS` to `false` in `plugin.env`",
                    m.hint
                )),
            }
        })
        .collect();
    let headline = format!(
        "error: {label}: {cluster} lacks {} the render needs (from `KUBE_API_VERSIONS`)",
        if missing.len() == 1 { "an API".to_owned() } else { format!("{} APIs", missing.len()) }
    );
    print_diagnostics(app, &headline, &diagnostics, contents);
    Err(Failure::Input)
}

/// The parameters command. It must work while the Application's parameters
/// or settings are wrong, since the UI that shows them is where the user
/// fixes them; `generate` reports those errors.
fn announce(options: &PluginOptions, vars: &Vars) -> Result<(), Failure> {
    let app = Application::for_announcement(vars).map_err(|e| setup_failed(None, e))?;
    let label = app.label();
    let pipeline = options.pipeline().map_err(|f| f.context(&label))?;
    let (sources, contents) = read_sources(&pipeline, options, &label)?;
    // The models as the requested environment configures them, so that the
    // announced canary weights are the ones `generate` would render; an
    // environment that does not exist falls back to the specs as written
    // (`generate` reports it).
    let mut context = RenderContext {
        app_name: app.name.clone(),
        environment: app.requested.environment.clone(),
        ..RenderContext::default()
    };
    let mut described = pipeline.describe(sources.files.clone(), &context);
    if matches!(described, Ok(Reply::Refused(_))) && context.environment.is_some() {
        context.environment = None;
        described = pipeline.describe(sources.files, &context);
    }
    let project = match described.map_err(|e| Failure::from(e).context(&label))? {
        Reply::Accepted(project) => project,
        Reply::Refused(diagnostics) => return Err(input_failed(&app, &diagnostics, &contents)),
    };
    if project.models.is_empty() {
        return Err(setup_failed(Some(&label), anyhow::anyhow!("the plugin found no model in the application")));
    }
    let announcement = parameters::announcement(&project, pipeline.info().project_file.as_deref(), &app.settings);
    let mut text = serde_json::to_string_pretty(&announcement).map_err(|e| setup_failed(Some(&label), e.into()))?;
    text.push('\n');
    emit(&text).map_err(|f| f.context(&label))
}
