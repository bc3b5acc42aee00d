//! The command line: `modelgen render`, `schema` and `info`, their options, and their exit codes.
//!
//! Exit codes: 0 success; 1 the input is wrong (diagnostics on stderr);
//! 2 the command line is wrong; 3 the plugin failed or could not be loaded.
//! Nothing is written to stdout unless the whole command succeeded: a GitOps
//! controller applies whatever stdout holds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::cache::CompileCache;
use crate::crd;
use crate::diagnostic::{Diagnostic, Rendered, Severity};
use crate::report;
use crate::runtime::{EMBEDDED_PLUGIN, RenderContext, Runtime};
use crate::source;

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
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every spec under PATH and print the manifests as one YAML stream.
    Render(RenderArgs),
    /// Print the JSON Schema of the spec (for editors and CI).
    Schema,
    /// Print the plugin's name, version and the spec kinds it handles.
    Info,
}

/// Options of `modelgen render`.
#[derive(Debug, Args)]
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
    /// A render parameter, KEY=VALUE (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub parameters: Vec<(String, String)>,
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    text.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

/// Why a command failed, which decides the exit code.
enum Failure {
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
        Command::Render(args) => render(&cli.plugin, args),
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input) => ExitCode::from(1),
        Err(Failure::Error(e, code)) => {
            eprintln!("error: {e:#}");
            code
        }
    }
}

fn plugin_failed(e: anyhow::Error) -> Failure {
    Failure::Error(e, ExitCode::from(3))
}

fn cache(options: &PluginOptions) -> Option<CompileCache> {
    (!options.no_cache).then(|| CompileCache::new(options.cache_dir.clone().unwrap_or_else(CompileCache::default_dir)))
}

fn load(options: &PluginOptions, cache: Option<&CompileCache>) -> Result<Runtime, Failure> {
    let runtime = match &options.plugin {
        Some(path) => Runtime::from_file(path, cache),
        None => Runtime::new(EMBEDDED_PLUGIN, cache).context("cannot load the built-in plugin"),
    };
    runtime.map_err(plugin_failed)
}

/// The trust boundary: nothing is printed unless every object matches its CRD.
fn check_output(rendered: &Rendered, cache: Option<&CompileCache>) -> Result<(), Failure> {
    let violations = match crd::verify(rendered, cache) {
        Ok(()) => return Ok(()),
        Err(crd::Rejection::NotYaml { source, error }) => {
            return Err(plugin_failed(anyhow::anyhow!(
                "the plugin returned a document that is not YAML (from `{source}`): {error}"
            )));
        }
        Err(crd::Rejection::Violations(violations)) => violations,
    };
    let mut message = String::from(
        "the plugin produced objects that their CRD schemas reject (a bug in the plugin, not in your spec):",
    );
    for v in violations.iter().take(20) {
        let _ = write!(message, "\n  {}: {}: {}", v.object, if v.path.is_empty() { "/" } else { &v.path }, v.message);
    }
    if violations.len() > 20 {
        let _ = write!(message, "\n  ... and {} more", violations.len() - 20);
    }
    Err(Failure::Error(anyhow::anyhow!(message), ExitCode::from(3)))
}

fn render(options: &PluginOptions, args: &RenderArgs) -> Result<(), Failure> {
    let sources = source::discover(&args.path)?;
    let contents: HashMap<String, Vec<u8>> =
        sources.files.iter().map(|f| (f.path.clone(), f.contents.clone())).collect();
    let display = |path: &str| display_path(&sources.root, path);
    let app_name = fs_name(&args.path);
    let context = RenderContext {
        app_name,
        namespace: args.namespace.clone(),
        revision: None,
        environment: args.environment.clone(),
        parameters: args.parameters.clone(),
    };
    let cache = cache(options);
    let runtime = load(options, cache.as_ref())?;
    match runtime.generate(sources.files, &context).map_err(plugin_failed)? {
        Ok(rendered) => {
            print_diagnostics(&rendered.warnings, &display, &contents);
            check_output(&rendered, cache.as_ref())?;
            emit(&rendered.to_stream())
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, &display, &contents);
            let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
            if errors == 0 {
                return Err(Failure::Error(
                    anyhow::anyhow!("the plugin failed the render without reporting an error"),
                    ExitCode::from(3),
                ));
            }
            eprintln!(
                "error: rendering `{}` failed with {errors} error{}",
                args.path.display(),
                if errors == 1 { "" } else { "s" }
            );
            Err(Failure::Input)
        }
    }
}

fn print_diagnostics(
    diagnostics: &[Diagnostic],
    display: &dyn Fn(&str) -> String,
    contents: &HashMap<String, Vec<u8>>,
) {
    let mut stderr = io::stderr().lock();
    for diagnostic in diagnostics {
        let text = report::human(diagnostic, display, |file| contents.get(file).map(Vec::as_slice));
        let _ = writeln!(stderr, "{text}");
    }
}

/// Writes `text` to stdout in one go; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<(), Failure> {
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
