//! The command line: `modelgen render`, `validate`, `schema` and `info`, their options, and their exit codes.
//!
//! Exit codes: 0 success; 1 the input is wrong or too big (diagnostics on
//! stderr); 2 the command line is wrong; 3 the plugin failed, hit a limit,
//! produced objects their CRDs reject, or could not be loaded.
//! Nothing is written to stdout unless the whole command succeeded: a GitOps
//! controller applies whatever stdout holds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::application;
use crate::cache::CompileCache;
use crate::contract;
use crate::crd;
use crate::diagnostic::{Diagnostic, Rendered, Severity};
use crate::diff;
use crate::escape;
use crate::krm;
use crate::output;
use crate::report;
use crate::runtime::{Limits, RenderContext, Runtime};
use crate::source::{self, InputLimits, SourceFile};

/// The longest `--timeout`: far beyond any render, and small enough that
/// the deadline, counted in ticks, cannot overflow.
const MAX_TIMEOUT_SECONDS: f64 = 1_000_000.0;

/// The most diagnostics printed for people in one run: every problem is
/// reported, but a plugin's flood of warnings does not bury the terminal.
const MAX_PRINTED: usize = 1_000;

/// Set by the binary when standard output was closed when it started
/// (`modelgen render >&-`): the runtime then points it at `/dev/null`,
/// where output would be lost without an error.
pub static STDOUT_CLOSED_AT_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// GitOps for ML serving: render `ModelDeployment` specs into KServe resources.
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

/// Which generator runs, and how its compiled code is cached.
#[derive(Debug, Args)]
pub struct PluginOptions {
    /// Use this generator component (`.wasm`) instead of the built-in one.
    #[arg(long, global = true, value_name = "FILE", env = "MODELGEN_PLUGIN")]
    pub plugin: Option<PathBuf>,
    /// Where compiled plugin code is cached [default: `$XDG_CACHE_HOME/modelgen` or `~/.cache/modelgen`].
    #[arg(long, global = true, value_name = "DIR", env = "MODELGEN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile the plugin on every run instead of using the cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Limits on what a render may read, use and print.
    #[command(flatten)]
    pub limits: LimitOptions,
}

/// Limits on what a render may read, use and print (defaults suit thousands of specs).
#[derive(Debug, Args)]
pub struct LimitOptions {
    /// Wall-clock seconds one plugin call may take [default: 5, plus 2 per MiB of spec input].
    #[arg(long, global = true, value_name = "SECONDS", env = "MODELGEN_TIMEOUT")]
    pub timeout: Option<f64>,
    /// Memory the plugin may use, in MiB [default: 256, plus 8 per MiB of spec input].
    #[arg(long, global = true, value_name = "MIB", env = "MODELGEN_MAX_MEMORY")]
    pub max_memory: Option<usize>,
    /// Total bytes of spec files read (and the largest one file may be).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = source::DEFAULT_MAX_BYTES)]
    pub max_input_bytes: u64,
    /// Number of spec files read.
    #[arg(long, global = true, value_name = "COUNT", default_value_t = source::DEFAULT_MAX_FILES)]
    pub max_files: usize,
    /// Bytes of manifests a render may produce.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_output_bytes: usize,
}

impl LimitOptions {
    /// The plugin's limits: a limit the user sets is exact; a default one
    /// grows with the input (see [`Limits`]).
    fn runtime(&self) -> Result<Limits, Failure> {
        let usage = |message: String| Failure::Error(anyhow::anyhow!(message), ExitCode::from(2));
        let mut limits = Limits::default();
        if let Some(seconds) = self.timeout {
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(usage("`--timeout` must be a positive number of seconds".to_owned()));
            }
            if seconds > MAX_TIMEOUT_SECONDS {
                return Err(usage(format!("`--timeout` must be at most {MAX_TIMEOUT_SECONDS} seconds")));
            }
            limits.timeout = Duration::try_from_secs_f64(seconds)
                .map_err(|_| usage("`--timeout` must be a positive number of seconds".to_owned()))?;
            limits.timeout_per_mib = Duration::ZERO;
        }
        if let Some(mib) = self.max_memory {
            limits.memory_bytes = mib.saturating_mul(1024 * 1024);
            limits.memory_per_mib = 0;
        }
        Ok(limits)
    }

    pub(crate) fn input(&self) -> InputLimits {
        InputLimits { max_bytes: self.max_input_bytes, max_files: self.max_files }
    }
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
    /// Argo CD config management plugin entry points (run by `argocd-cmp-server`).
    #[command(subcommand)]
    Argocd(crate::argocd::Command),
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
    /// Namespace for specs that do not set `metadata.namespace` (applications only).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// The environment to render (applications only).
    #[arg(long = "env", value_name = "NAME")]
    pub environment: Option<String>,
    /// A render parameter, KEY=VALUE (repeatable; applications only).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub parameters: Vec<(String, String)>,
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

/// Options of `modelgen render`.
#[derive(Clone, Debug, Args)]
pub struct RenderArgs {
    /// The application directory (searched recursively), or a single spec file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Namespace for specs that do not set `metadata.namespace`.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// The environment to render.
    #[arg(long = "env", value_name = "NAME")]
    pub environment: Option<String>,
    /// A render parameter, KEY=VALUE (repeatable): `canary-weight.<model>=N`
    /// sets a model's canary traffic percent.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub parameters: Vec<(String, String)>,
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

/// Why a command failed, which decides the exit code.
pub(crate) enum Failure {
    /// The input is wrong; diagnostics were printed.
    Input,
    /// Something else went wrong.
    Error(anyhow::Error, ExitCode),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e, ExitCode::from(1))
    }
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
        Command::Schema => load(&cli.plugin, cache(&cli.plugin).as_ref())
            .and_then(|rt| rt.spec_schema().map_err(plugin_failed))
            .and_then(|schema| emit(&schema)),
        Command::Info => load(&cli.plugin, cache(&cli.plugin).as_ref()).and_then(|rt| {
            let info = rt.info().map_err(plugin_failed)?;
            let mut text = format!("name: {}\nversion: {}\nkinds:\n", info.name, info.version);
            for kind in &info.kinds {
                text.push_str("- ");
                text.push_str(kind);
                text.push('\n');
            }
            emit(&text)
        }),
        Command::Argocd(command) => crate::argocd::run(&cli.plugin, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input) => ExitCode::from(1),
        Err(Failure::Error(e, code)) => {
            // Messages quote paths and values from the input and the plugin.
            eprintln!("{}", escape::lines(&format!("error: {e:#}")));
            code
        }
    }
}

pub(crate) fn plugin_failed(e: anyhow::Error) -> Failure {
    Failure::Error(e, ExitCode::from(3))
}

pub(crate) fn cache(options: &PluginOptions) -> Option<CompileCache> {
    (!options.no_cache).then(|| CompileCache::new(options.cache_dir.clone().unwrap_or_else(CompileCache::default_dir)))
}

pub(crate) fn load(options: &PluginOptions, cache: Option<&CompileCache>) -> Result<Runtime, Failure> {
    let limits = options.limits.runtime()?;
    let runtime = match &options.plugin {
        Some(path) => Runtime::from_file(path, cache, limits),
        None => Runtime::builtin(cache, limits).context("cannot load the built-in plugin"),
    };
    runtime.map_err(plugin_failed)
}

/// The trust boundary: nothing is printed or written unless the render
/// fits the output limit, keeps the contract (one document per manifest,
/// Kubernetes names, at least one object) and every object matches its CRD.
pub(crate) fn check_rendered(
    options: &PluginOptions,
    rendered: &Rendered,
    cache: Option<&CompileCache>,
) -> Result<(), Failure> {
    let size: usize = rendered.manifests.iter().map(|m| m.yaml.len()).sum();
    if size > options.limits.max_output_bytes {
        return Err(plugin_failed(anyhow::anyhow!(
            "the render produced {size} bytes of manifests, more than the limit of {} (raise it with `--max-output-bytes`)",
            options.limits.max_output_bytes
        )));
    }
    contract::check(rendered).map_err(plugin_failed)?;
    check_output(rendered, cache)?;
    contract::check_names(rendered, cache).map_err(plugin_failed)
}

/// Every object must match its CRD.
fn check_output(rendered: &Rendered, cache: Option<&CompileCache>) -> Result<(), Failure> {
    let violations = match crd::verify(rendered, cache) {
        Ok(()) => return Ok(()),
        Err(crd::Rejection::NotYaml { source, error }) => {
            return Err(plugin_failed(anyhow::anyhow!(
                "the plugin returned a document that is not YAML (from `{}`): {}",
                escape::value(&source),
                escape::message(&error)
            )));
        }
        Err(crd::Rejection::Violations(violations)) => violations,
    };
    let mut message = String::from(
        "the plugin produced objects that their CRD schemas reject (a bug in the plugin, not in your spec):",
    );
    for v in violations.iter().take(20) {
        let path = if v.path.is_empty() { "/" } else { &v.path };
        let _ = write!(
            message,
            "\n  {}: {}: {}",
            escape::value(&v.object),
            escape::value(path),
            escape::message(&v.message)
        );
    }
    if violations.len() > 20 {
        let _ = write!(message, "\n  ... and {} more", violations.len() - 20);
    }
    Err(Failure::Error(anyhow::anyhow!(message), ExitCode::from(3)))
}

/// A render's spec files, as read from disk: kept for quoting source lines.
/// Other files (patch files) are never quoted: they may be anything.
struct Input {
    root: PathBuf,
    contents: HashMap<String, Vec<u8>>,
}

impl Input {
    fn display(&self, path: &str) -> String {
        display_path(&self.root, path)
    }

    fn source(&self, path: &str) -> Option<&[u8]> {
        self.contents.get(path).map(Vec::as_slice)
    }
}

/// Reads the input, runs the plugin and checks its output: the part that
/// `render` and `validate` share.
fn generate(options: &PluginOptions, args: &RenderArgs) -> Result<(Input, Result<Rendered, Vec<Diagnostic>>), Failure> {
    let sources = source::discover(&args.path, options.limits.input())?;
    let input = Input {
        root: sources.root.clone(),
        contents: sources.files.iter().map(|f| (f.path.clone(), f.contents.clone())).collect(),
    };
    let context = RenderContext {
        app_name: fs_name(&args.path),
        namespace: args.namespace.clone(),
        revision: None,
        environment: args.environment.clone(),
        parameters: args.parameters.clone(),
    };
    let cache = cache(options);
    let runtime = load(options, cache.as_ref())?;
    let result = match application::files(&runtime, sources, &context).map_err(plugin_failed)? {
        Ok(files) => runtime.generate(files, &context).map_err(plugin_failed)?,
        Err(diagnostics) => Err(diagnostics),
    };
    check_result(options, cache.as_ref(), &result)?;
    Ok((input, result))
}

/// Runs the plugin on `files` as they are (no project references), checked
/// like any render.
fn run_plugin(
    options: &PluginOptions,
    files: Vec<SourceFile>,
    context: &RenderContext,
) -> Result<Result<Rendered, Vec<Diagnostic>>, Failure> {
    let cache = cache(options);
    let runtime = load(options, cache.as_ref())?;
    let result = runtime.generate(files, context).map_err(plugin_failed)?;
    check_result(options, cache.as_ref(), &result)?;
    Ok(result)
}

/// Nothing a plugin returns reaches anyone unless it passes
/// [`check_rendered`], and a failed render reports an error.
fn check_result(
    options: &PluginOptions,
    cache: Option<&CompileCache>,
    result: &Result<Rendered, Vec<Diagnostic>>,
) -> Result<(), Failure> {
    match result {
        Ok(rendered) => check_rendered(options, rendered, cache)?,
        Err(diagnostics) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => {
            return Err(Failure::Error(
                anyhow::anyhow!("the plugin failed the render without reporting an error"),
                ExitCode::from(3),
            ));
        }
        Err(_) => {}
    }
    Ok(())
}

fn render(options: &PluginOptions, args: &RenderArgs) -> Result<(), Failure> {
    let (input, result) = generate(options, args)?;
    let rendered = rendered_or_report(&input, result, &args.path, args.deny_warnings)?;
    emit(&rendered.to_stream())
}

fn validate(options: &PluginOptions, args: &ValidateArgs) -> Result<(), Failure> {
    let (input, result) = generate(options, &args.input)?;
    let diagnostics = match result {
        Ok(rendered) => rendered.warnings,
        Err(diagnostics) => diagnostics,
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

fn count(diagnostics: &[Diagnostic], severity: Severity, noun: &str) -> String {
    let n = diagnostics.iter().filter(|d| d.severity == severity).count();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn print_human(diagnostics: &[Diagnostic], input: &Input) {
    let mut stderr = io::stderr().lock();
    for diagnostic in diagnostics.iter().take(MAX_PRINTED) {
        let text = report::human(diagnostic, |path| input.display(path), |file| input.source(file));
        let _ = writeln!(stderr, "{text}");
    }
    if diagnostics.len() > MAX_PRINTED {
        let _ = writeln!(
            stderr,
            "... and {} more diagnostics (`validate --format json` lists them all)\n",
            diagnostics.len() - MAX_PRINTED
        );
    }
}

/// A path the user gave, for a message (escaped: it may come from a script).
pub(crate) fn shown(path: &Path) -> String {
    escape::value(&path.to_string_lossy()).into_owned()
}

/// Writes `text` to stdout in one go; a closed pipe (`| head`) is not an
/// error, but a standard output that was closed from the start is: what
/// would be printed would be lost.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    if STDOUT_CLOSED_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(anyhow::anyhow!(
            "cannot write to stdout: it was closed when modelgen started, so the output would be lost"
        )
        .into());
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::from(e).context("cannot write to stdout").into())
        }
        _ => Ok(()),
    }
}

fn display_path(root: &Path, path: &str) -> String {
    if root.as_os_str().is_empty() || root == Path::new(".") {
        path.to_owned()
    } else {
        root.join(path).display().to_string()
    }
}

fn fs_name(path: &Path) -> String {
    std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// The manifests of a successful render; otherwise the diagnostics are
/// printed and the render fails.
fn rendered_or_report(
    input: &Input,
    result: Result<Rendered, Vec<Diagnostic>>,
    path: &Path,
    deny_warnings: bool,
) -> Result<Rendered, Failure> {
    match result {
        Ok(rendered) => {
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
        Err(diagnostics) => {
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
            let args = RenderArgs { environment: Some(environment.clone()), ..args.clone() };
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
    let sources = source::discover(&args.path, options.limits.input())?;
    let input = Input {
        root: sources.root.clone(),
        contents: sources.files.iter().map(|f| (f.path.clone(), f.contents.clone())).collect(),
    };
    let runtime = load(options, cache(options).as_ref())?;
    let context = RenderContext { app_name: fs_name(&args.path), ..RenderContext::default() };
    match runtime.describe(sources.files, &context).map_err(plugin_failed)? {
        Ok(project) if project.environments.is_empty() => Err(anyhow::anyhow!(
            "`--all-environments`: `{}` defines no environments (they are listed under `environments:` in `{}`)",
            shown(&args.path),
            application::PROJECT_FILE
        )
        .into()),
        Ok(project) => Ok(project.environments),
        Err(diagnostics) => {
            print_human(&diagnostics, &input);
            eprintln!(
                "error: reading `{}` failed with {}",
                shown(&args.path),
                count(&diagnostics, Severity::Error, "error")
            );
            Err(Failure::Input)
        }
    }
}

/// `modelgen diff OLD NEW`.
fn diff_command(options: &PluginOptions, args: &DiffArgs) -> Result<(), Failure> {
    let mut stdin_used = false;
    let mut side = |path: &PathBuf| -> Result<Vec<diff::Object>, Failure> {
        let read_stdin = || {
            anyhow::ensure!(!stdin_used, "only one side can be `-` (stdin)");
            read_stdin(options.limits.max_input_bytes)
        };
        let loaded = diff::load(path, options.limits.input(), read_stdin)
            .with_context(|| format!("cannot read `{}`", shown(path)))?;
        stdin_used |= path.as_os_str() == "-";
        match loaded {
            diff::Side::Objects(objects) => Ok(objects),
            diff::Side::App => {
                let render_args = RenderArgs {
                    path: path.clone(),
                    namespace: args.namespace.clone(),
                    environment: args.environment.clone(),
                    parameters: args.parameters.clone(),
                    deny_warnings: false,
                };
                let (input, result) = generate(options, &render_args)?;
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
    let request = krm::Request::parse(&text).context("the ResourceList on stdin is malformed")?;
    let result = if request.has_problems() {
        None
    } else {
        let context = RenderContext { app_name: fs_name(Path::new(".")), ..RenderContext::default() };
        Some(run_plugin(options, request.sources().to_vec(), &context)?)
    };
    let response = request.respond(result.as_ref())?;
    let input = Input { root: PathBuf::new(), contents: HashMap::new() };
    match &result {
        // Problems found before rendering are results, and for people too.
        None => print_human(&request.problems_for_people(), &input),
        Some(Ok(rendered)) => print_human(&request.for_people(&rendered.warnings), &input),
        Some(Err(diagnostics)) => print_human(&request.for_people(diagnostics), &input),
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
