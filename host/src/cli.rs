//! The command line: `modelgen render`, `validate`, `diff`, `canary`, `bump`, `schema` and `info`, their options, and their exit codes.
//!
//! Exit codes: 0 success; 1 the input is wrong or too big (diagnostics on
//! stderr); 2 the command line is wrong; 3 the plugin failed, hit a limit,
//! produced objects their CRDs reject, or could not be loaded; 4 an edit
//! command had nothing to change (or `canary advance` holds or waits).
//! Nothing is written to stdout unless the whole command succeeded: a GitOps
//! controller applies whatever stdout holds.

pub mod canary;
pub mod edit;
pub mod failure;
pub mod options;
pub mod plugin;
pub mod terminal;

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::artifacts::diff;
use crate::artifacts::output;
use crate::diagnostic::{Rendered, Severity};
use crate::escape;
use crate::krm;
use crate::pipeline::{Outcome, Pipeline, Quotes};
use crate::plugin::runtime::{RenderContext, Reply};
use crate::report;
pub use failure::STDOUT_CLOSED_AT_START;
use failure::{Failure, emit};
pub use options::{LimitOptions, PluginOptions};
use terminal::{count, fs_name, print_human, shown, unreadable};

/// GitOps for ML serving: render model specs into KServe and Seldon Core resources, and move canaries by commits.
#[derive(Debug, Parser)]
#[command(name = "modelgen", version, about, long_about = None)]
pub struct Cli {
    /// Which plugin runs.
    #[command(flatten)]
    pub plugin: PluginOptions,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every spec under PATH and print the manifests as one YAML stream (or write them to `--out DIR`).
    Render(RenderCommand),
    /// Check every spec under PATH (and the objects it would render) without printing manifests.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the spec (for editors and CI).
    Schema,
    /// Print the plugin's name, version and the spec kinds it handles.
    Info,
    /// Show what changes between two render results, object by object.
    Diff(DiffArgs),
    /// Run as a KRM function: a `ResourceList` on stdin, the same list with the generated objects on stdout.
    Krm,
    /// Move a canary by editing its spec: set its weight, promote it, or roll it back.
    #[command(subcommand)]
    Canary(canary::CanaryCommand),
    /// Record a new model version in its spec (or start a canary with it), instead of a `sed` step in CI.
    Bump(edit::BumpArgs),
    /// Argo CD config management plugin entry points (run by `argocd-cmp-server`).
    #[command(subcommand)]
    Argocd(crate::argocd::Command),
    /// Scaffold a policy plugin (Rust, Python or JavaScript), or check a built one for `modelgen.yaml`.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

/// `modelgen render`: what to render, and where to put it.
#[derive(Debug, Args)]
pub struct RenderCommand {
    /// What to render.
    #[command(flatten)]
    pub input: RenderArgs,
    /// Where to write it.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where `modelgen render` writes.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write one file per object and a `kustomization.yaml` into DIR, atomically, instead of printing.
    /// Stale files modelgen wrote are removed; files it did not write are kept.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With `--out`: write nothing, print a diff and exit 1 if DIR is not what a render would write.
    #[arg(long, requires = "out")]
    pub check: bool,
    /// With `--out`: render every environment of the project file, each into `DIR/<env>/`, in one atomic write.
    #[arg(long, requires = "out", conflicts_with = "environment")]
    pub all_environments: bool,
}

/// Options of `modelgen diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old side: an application, a directory `render --out` wrote, rendered YAML, or `-` (stdin).
    pub old: PathBuf,
    /// The new side, likewise.
    pub new: PathBuf,
    /// How a side that is an application is rendered.
    #[command(flatten)]
    pub render: ContextArgs,
    /// `unified` (a diff per object) or `markdown` (a pull-request comment).
    #[arg(long, value_enum, default_value_t = DiffFormat::Unified)]
    pub format: DiffFormat,
    /// Lines of context around each change.
    #[arg(long, value_name = "LINES", default_value_t = 3)]
    pub context: usize,
    /// Exit 1 when the sides differ (as `git diff --exit-code`).
    #[arg(long)]
    pub exit_code: bool,
}

/// How `modelgen diff` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// A unified diff per object.
    Unified,
    /// Markdown for a pull-request comment: a summary, a table and collapsible diffs.
    Markdown,
}

/// How an application is rendered: the options `render`, `validate` and `diff` share.
#[derive(Clone, Debug, Args)]
pub struct ContextArgs {
    /// Namespace for specs that do not set `metadata.namespace`.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// The environment to render.
    #[arg(long = "env", value_name = "NAME")]
    pub environment: Option<String>,
    /// A render parameter the plugin accepts, KEY=VALUE (repeatable); the
    /// built-in plugin takes `canary-weight.<model>=N`, a model's canary
    /// traffic percent.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub parameters: Vec<(String, String)>,
}

/// Options of `modelgen render`.
#[derive(Clone, Debug, Args)]
pub struct RenderArgs {
    /// The application directory (searched recursively), or a single spec file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// How it is rendered.
    #[command(flatten)]
    pub render: ContextArgs,
    /// Fail (exit 1, nothing on stdout) on warnings too, such as a patch whose target matches nothing.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Options of `modelgen validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// What to check, as for `render`.
    #[command(flatten)]
    pub input: RenderArgs,
    /// How to print diagnostics: `human` (to stderr), `json` (one object per
    /// line) or `github` (workflow annotations), the last two to stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Diagnostic output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `path:line:col: error: message`, the source line and a caret.
    Human,
    /// One JSON object per diagnostic and line.
    Json,
    /// GitHub Actions workflow commands (`::error file=...,line=...::message`).
    Github,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    text.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

/// Runs the parsed command line and returns the process's exit code.
pub fn run(cli: &Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Render(command) => match &command.output.out {
            Some(dir) => render_out(&cli.plugin, &command.input, dir, &command.output),
            None => render(&cli.plugin, &command.input),
        },
        Command::Diff(args) => diff_command(&cli.plugin, args),
        Command::Krm => krm_command(&cli.plugin),
        Command::Validate(args) => validate(&cli.plugin, args),
        Command::Schema => {
            cli.plugin.pipeline().and_then(|p| Ok(p.runtime()?.spec_schema()?)).and_then(|schema| emit(&schema))
        }
        Command::Info => cli.plugin.pipeline().and_then(|p| {
            let info = p.runtime()?.info()?;
            let mut text = format!("name: {}\nversion: {}\nkinds:\n", info.name, info.version);
            for kind in &info.kinds {
                text.push_str("- ");
                text.push_str(kind);
                text.push('\n');
            }
            emit(&text)
        }),
        Command::Canary(command) => command.run(&cli.plugin),
        Command::Bump(args) => args.run(&cli.plugin),
        Command::Argocd(command) => crate::argocd::run(&cli.plugin, command),
        Command::Plugin(command) => command.run(&cli.plugin),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            failure.exit_code()
        }
    }
}

/// Reads the input and runs the pipeline: the part that `render`,
/// `validate` and `diff` share.
fn generate(options: &PluginOptions, args: &RenderArgs) -> Result<(Quotes, Outcome), Failure> {
    generate_with(&options.pipeline()?, options, args)
}

/// [`generate`] with a loaded plugin.
fn generate_with(
    pipeline: &Pipeline,
    options: &PluginOptions,
    args: &RenderArgs,
) -> Result<(Quotes, Outcome), Failure> {
    let (sources, quotes) = pipeline.read(&args.path, options.limits.input())?;
    let context = RenderContext {
        app_name: fs_name(&args.path),
        namespace: args.render.namespace.clone(),
        revision: None,
        environment: args.render.environment.clone(),
        parameters: args.render.parameters.clone(),
    };
    let outcome = pipeline.render(sources, &context)?;
    Ok((quotes, outcome))
}

fn render(options: &PluginOptions, args: &RenderArgs) -> Result<(), Failure> {
    let (input, result) = generate(options, args)?;
    let rendered = rendered_or_report(&input, result, &args.path, args.deny_warnings)?;
    emit(&rendered.to_stream())
}

fn validate(options: &PluginOptions, args: &ValidateArgs) -> Result<(), Failure> {
    let (input, result) = generate(options, &args.input)?;
    let diagnostics = match result {
        Outcome::Rendered(rendered) => rendered.warnings,
        Outcome::Refused(diagnostics) => diagnostics,
    };
    let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diagnostics.len() - errors;
    match args.format {
        Format::Human => {
            print_human(&diagnostics, &input);
            let summary = format!(
                "{} and {}",
                count(&diagnostics, Severity::Error, "error"),
                count(&diagnostics, Severity::Warning, "warning")
            );
            eprintln!("{}: `{}`: {summary}", if errors == 0 { "ok" } else { "error" }, shown(&args.input.path));
        }
        Format::Json | Format::Github => {
            let mut text = String::new();
            for diagnostic in &diagnostics {
                let mut located = diagnostic.clone();
                located.file = diagnostic.file.as_deref().map(|f| input.display(f));
                text.push_str(&if args.format == Format::Json {
                    report::json(&located)
                } else {
                    report::github(&located)
                });
                text.push('\n');
            }
            emit(&text)?;
        }
    }
    if errors > 0 || (args.input.deny_warnings && warnings > 0) { Err(Failure::Input) } else { Ok(()) }
}

/// The manifests of a successful render; otherwise the diagnostics are
/// printed and the render fails.
fn rendered_or_report(input: &Quotes, result: Outcome, path: &Path, deny_warnings: bool) -> Result<Rendered, Failure> {
    match result {
        Outcome::Rendered(rendered) => {
            print_human(&rendered.warnings, input);
            if deny_warnings && !rendered.warnings.is_empty() {
                eprintln!(
                    "error: rendering `{}` failed: {} and `--deny-warnings`",
                    shown(path),
                    count(&rendered.warnings, Severity::Warning, "warning")
                );
                return Err(Failure::Input);
            }
            Ok(rendered)
        }
        Outcome::Refused(diagnostics) => {
            print_human(&diagnostics, input);
            eprintln!(
                "error: rendering `{}` failed with {}",
                shown(path),
                count(&diagnostics, Severity::Error, "error")
            );
            Err(Failure::Input)
        }
    }
}

/// `modelgen render --out DIR [--check]`: files instead of stdout.
fn render_out(options: &PluginOptions, args: &RenderArgs, dir: &Path, output: &OutputArgs) -> Result<(), Failure> {
    if let (Ok(app), Ok(out)) = (std::fs::canonicalize(&args.path), std::fs::canonicalize(dir))
        && app.starts_with(&out)
    {
        return Err(anyhow::anyhow!(
            "the output directory `{}` contains the application `{}`: write the output to a directory of its own",
            shown(dir),
            shown(&args.path)
        )
        .into());
    }
    // One render, or one per environment; nothing is written unless all succeed.
    let renders: Vec<(Option<String>, Rendered)> = if output.all_environments {
        let mut renders = Vec::new();
        for environment in environments(options, args)? {
            let mut args = args.clone();
            args.render.environment = Some(environment.clone());
            let (input, result) = generate(options, &args)?;
            renders.push((Some(environment), rendered_or_report(&input, result, &args.path, args.deny_warnings)?));
        }
        renders
    } else {
        let (input, result) = generate(options, args)?;
        vec![(None, rendered_or_report(&input, result, &args.path, args.deny_warnings)?)]
    };
    let sets: Vec<output::Set<'_>> =
        renders.iter().map(|(environment, rendered)| (environment.as_deref(), rendered.manifests.as_slice())).collect();
    let check = output.check;
    if check {
        let changes = output::check(dir, &sets, options.limits.input())?;
        if changes.is_empty() {
            return Ok(());
        }
        emit(&output::unified_diff(dir, &changes))?;
        eprintln!(
            "error: `{}` is out of date: {} file{} differ{} from a render of `{}`; render it again with `--out` and commit the result",
            shown(dir),
            changes.len(),
            if changes.len() == 1 { "" } else { "s" },
            if changes.len() == 1 { "s" } else { "" },
            shown(&args.path)
        );
        return Err(Failure::Input);
    }
    let summary = output::write(dir, &sets, options.limits.input())?;
    if summary.changed == 0 && summary.removed.is_empty() {
        eprintln!("`{}` is up to date: {} files", shown(dir), summary.written);
        return Ok(());
    }
    eprintln!(
        "wrote `{}`: {} files, {} changed, {} removed",
        shown(dir),
        summary.written,
        summary.changed,
        summary.removed.len()
    );
    if let Some(leftover) = summary.leftover {
        eprintln!("warning: the previous output could not be deleted from `{}`", shown(&leftover));
    }
    Ok(())
}

/// The environments of the application's project file; none is an error.
fn environments(options: &PluginOptions, args: &RenderArgs) -> Result<Vec<String>, Failure> {
    let pipeline = options.pipeline()?;
    let (sources, input) = pipeline.read(&args.path, options.limits.input())?;
    let context = RenderContext { app_name: fs_name(&args.path), ..RenderContext::default() };
    match pipeline.describe(sources.files, &context)? {
        Reply::Accepted(project) if project.environments.is_empty() => Err(anyhow::anyhow!(
            "`--all-environments`: `{}` defines no environments{}",
            shown(&args.path),
            pipeline
                .info()
                .project_file
                .as_deref()
                .map(|file| format!(" (they are listed under `environments:` in `{}`)", escape::value(file)))
                .unwrap_or_default()
        )
        .into()),
        Reply::Accepted(project) => Ok(project.environments),
        Reply::Refused(diagnostics) => Err(unreadable(&diagnostics, &input, &args.path)),
    }
}

/// `modelgen diff OLD NEW`.
fn diff_command(options: &PluginOptions, args: &DiffArgs) -> Result<(), Failure> {
    let pipeline = options.pipeline()?;
    let mut stdin_used = false;
    let mut side = |path: &PathBuf| -> Result<Vec<diff::Object>, Failure> {
        let read_stdin = || {
            anyhow::ensure!(!stdin_used, "only one side can be `-` (stdin)");
            read_stdin(options.limits.max_input_bytes)
        };
        let loaded = diff::load(path, options.limits.input(), pipeline.kinds(), read_stdin)
            .with_context(|| format!("cannot read `{}`", shown(path)))?;
        stdin_used |= path.as_os_str() == "-";
        match loaded {
            diff::Side::Objects(objects) => Ok(objects),
            diff::Side::App => {
                let render_args = RenderArgs { path: path.clone(), render: args.render.clone(), deny_warnings: false };
                let (input, result) = generate_with(&pipeline, options, &render_args)?;
                let rendered = rendered_or_report(&input, result, path, false)?;
                Ok(diff::from_manifests(&rendered.manifests)?)
            }
        }
    };
    let old = side(&args.old)?;
    let new = side(&args.new)?;
    let (old_label, new_label) = (shown(&args.old), shown(&args.new));
    let differences = diff::compare(old, new, &old_label, &new_label)?;
    let text = match args.format {
        DiffFormat::Unified => diff::unified(&differences, args.context),
        DiffFormat::Markdown => diff::markdown(&differences, &old_label, &new_label, args.context),
    };
    emit(&text)?;
    if differences.is_empty() {
        eprintln!("no differences between `{old_label}` and `{new_label}`");
        return Ok(());
    }
    eprintln!("`{old_label}` → `{new_label}`: {}", diff::summary(&differences));
    if args.exit_code { Err(Failure::Input) } else { Ok(()) }
}

/// `modelgen krm`: a KRM function (see [`krm`]).
fn krm_command(options: &PluginOptions) -> Result<(), Failure> {
    let text = read_stdin(options.limits.max_input_bytes)?;
    let pipeline = options.pipeline()?;
    let request = krm::Request::parse(&text, pipeline.kinds()).context("the ResourceList on stdin is malformed")?;
    let result = if request.has_problems() {
        None
    } else {
        let context = RenderContext { app_name: fs_name(Path::new(".")), ..RenderContext::default() };
        Some(pipeline.render_files(request.sources().to_vec(), &context)?)
    };
    let response = request.respond(result.as_ref())?;
    let input = Quotes::default();
    match &result {
        // Problems found before rendering are results, and for people too.
        None => print_human(&request.problems_for_people(), &input),
        Some(Outcome::Rendered(rendered)) => print_human(&request.for_people(&rendered.warnings), &input),
        Some(Outcome::Refused(diagnostics)) => print_human(&request.for_people(diagnostics), &input),
    }
    emit(&response.text)?;
    if response.failed { Err(Failure::Input) } else { Ok(()) }
}

/// All of stdin as UTF-8, at most `max` bytes.
fn read_stdin(max: u64) -> Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    io::stdin().lock().take(max.saturating_add(1)).read_to_end(&mut bytes).context("cannot read stdin")?;
    if bytes.len() as u64 > max {
        anyhow::bail!("stdin holds more than {max} bytes (raise the limit with `--max-input-bytes`)");
    }
    String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("stdin is not UTF-8 (at byte {})", e.utf8_error().valid_up_to()))
}
