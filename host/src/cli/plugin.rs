//! `modelgen plugin`: scaffold a policy plugin in Rust, Python or JavaScript, and check a built component before it goes into `modelgen.yaml`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use wasmtime::component::Component;

use super::failure::{Failure, emit};
use super::options::{PluginOptions, cache};
use crate::escape;
use crate::plugin::contract;
use crate::plugin::runtime::policy::{self, Policy};
use crate::plugin::runtime::{Runtime, read_plugin};

/// Scaffold or check a policy plugin (`modelgen:policy`).
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a policy plugin from a template that builds as it is.
    New(NewArgs),
    /// Report which contract and version a component implements, its imports, and its `sha256` for `modelgen.yaml`.
    Check(CheckArgs),
}

/// `modelgen plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The language of the plugin.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// The plugin's name: lowercase letters, digits and `-`, starting with a letter.
    pub name: String,
    /// Where to create it (a directory that does not exist yet) [default: NAME].
    pub dir: Option<PathBuf>,
}

/// `modelgen plugin check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The component (`.wasm`).
    pub file: PathBuf,
}

/// The languages with a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust, built with `cargo build --target wasm32-wasip2`.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
}

/// The policy contract, copied into every template so that it builds on its own.
const POLICY_WIT: &str = include_str!("../../../wit/policy/policy.wit");

/// A template's files: path and text, with `{{name}}` and `{{crate}}` to fill in.
fn template(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::Rust => &[
            ("Cargo.toml", include_str!("../../templates/plugin/rust/Cargo.toml")),
            ("src/lib.rs", include_str!("../../templates/plugin/rust/src/lib.rs")),
            ("README.md", include_str!("../../templates/plugin/rust/README.md")),
            ("wit/policy.wit", POLICY_WIT),
        ],
        Lang::Python => &[
            ("app.py", include_str!("../../templates/plugin/python/app.py")),
            ("README.md", include_str!("../../templates/plugin/python/README.md")),
            ("wit/policy.wit", POLICY_WIT),
        ],
        Lang::Js => &[
            ("policy.js", include_str!("../../templates/plugin/js/policy.js")),
            ("README.md", include_str!("../../templates/plugin/js/README.md")),
            ("wit/policy.wit", POLICY_WIT),
        ],
    }
}

impl PluginCommand {
    /// Runs the command.
    pub(crate) fn run(&self, options: &PluginOptions) -> Result<(), Failure> {
        match self {
            PluginCommand::New(args) => new(args),
            PluginCommand::Check(args) => check(options, &args.file),
        }
    }
}

/// A plugin name: it names a directory, a Cargo package and a file.
fn is_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// Writes the template into a new directory; an existing one is never touched.
fn new(args: &NewArgs) -> Result<(), Failure> {
    if !is_name(&args.name) {
        return Err(Failure::Usage(anyhow!(
            "`{}` is not a plugin name: use lowercase letters, digits and `-`, starting with a letter",
            escape::value(&args.name)
        )));
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    let shown = escape::value(&dir.to_string_lossy()).into_owned();
    // `create_dir` fails if anything is there: a user's files are never overwritten.
    std::fs::create_dir(&dir).with_context(|| format!("cannot create `{shown}` (it must not exist yet)"))?;
    let crate_name = args.name.replace('-', "_");
    for (path, text) in template(args.lang) {
        let text = text.replace("{{name}}", &args.name).replace("{{crate}}", &crate_name);
        let to = dir.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&to, text).with_context(|| format!("cannot write `{}`", to.display()))?;
    }
    let lang = match args.lang {
        Lang::Rust => "Rust",
        Lang::Python => "Python",
        Lang::Js => "JavaScript",
    };
    eprintln!("created the {lang} policy plugin `{}` in `{shown}`; its README says how to build it", args.name);
    Ok(())
}

/// Reports what the component at `file` is, and whether this host runs it.
fn check(options: &PluginOptions, file: &Path) -> Result<(), Failure> {
    let shown = escape::value(&file.to_string_lossy()).into_owned();
    let wasm = read_plugin(file).with_context(|| format!("cannot read the plugin `{shown}`"))?;
    let sha256 = crate::digest::sha256_hex(&wasm);
    let engine = Runtime::engine()?;
    let component = Component::new(&engine, &wasm)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("`{shown}` is not a WebAssembly component"))?;
    let exports = policy::exports(&engine, &component);
    let mut imports: Vec<String> =
        component.component_type().imports(&engine).map(|(name, _)| name.to_owned()).collect();
    imports.sort();
    let found = |interface: &str| exports.iter().find_map(|e| e.strip_prefix(interface)?.strip_prefix('@'));
    let mut text = format!("file: {shown}\n");
    let loads = if let Some(version) = found(policy::INTERFACE) {
        let _ = write!(
            text,
            "contract: {}@{}\nkind: policy plugin (`plugins:` in modelgen.yaml)\n",
            policy::INTERFACE,
            escape::value(version)
        );
        Policy::load(&wasm, &sha256, cache(options).as_ref(), options.limits.runtime()?).map(|_| ())
    } else if let Some(version) = found(contract::INTERFACE) {
        let _ = write!(
            text,
            "contract: {}@{}\nkind: generator plugin (`--plugin FILE`)\n",
            contract::INTERFACE,
            escape::value(version)
        );
        Runtime::with_limits(&wasm, cache(options).as_ref(), options.limits.runtime()?).map(|_| ())
    } else {
        text.push_str(
            "contract: none (it exports neither `modelgen:policy/policy` nor `modelgen:generator/generator`)\n",
        );
        Err(anyhow!("`{shown}` is not a modelgen plugin"))
    };
    text.push_str("imports:\n");
    for import in &imports {
        let _ = writeln!(text, "- {}", escape::value(import));
    }
    let _ = writeln!(text, "runs on this host: {}", if loads.is_ok() { "yes" } else { "no" });
    if found(policy::INTERFACE).is_some() {
        let _ = write!(
            text,
            "# for `plugins:` in modelgen.yaml (path relative to the application):\n- path: {shown}\n  sha256: \"{sha256}\"\n"
        );
    } else {
        let _ = writeln!(text, "sha256: \"{sha256}\"");
    }
    emit(&text)?;
    loads.map_err(|e| Failure::Plugin(e.context(format!("this host cannot run `{shown}`"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_name_a_directory_a_package_and_a_file() {
        assert!(is_name("team-labels2"));
        assert!(!is_name("Team"));
        assert!(!is_name("2fast"));
        assert!(!is_name("../x"));
        assert!(!is_name("a-"));
        assert!(!is_name(""));
    }

    #[test]
    fn every_template_carries_the_contract_and_a_readme() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            let files = template(lang);
            assert!(
                files.iter().any(|(path, text)| *path == "wit/policy.wit" && text.contains("package modelgen:policy@"))
            );
            assert!(files.iter().any(|(path, text)| *path == "README.md" && text.contains("modelgen plugin check")));
        }
    }
}
