//! Policy plugins (`modelgen:policy`, `wit/policy/`): loaded and called in the generator's sandbox, with its limits and compile cache.
//!
//! A child of the runtime so that it shares the sandbox (the store, the
//! limiter, the WASI that grants nothing, the epoch ticker and the way a
//! failed call is explained) without those becoming public.

use anyhow::{Context as _, Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::super::cache::{self, CompileCache};
use super::super::component::Wasm;
use super::super::contract::compatible;
use super::{Error, Limits, Runtime, Sandbox, sandbox, ticker, wasi};
use crate::diagnostic::{Manifest, Severity};

mod bindings {
    //! Bindings generated from the policy contract's WIT.
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({ path: "../wit/policy", world: "plugin" });
}

use bindings::exports::modelgen::policy::policy as wit;

/// The interface a policy plugin must export.
pub const INTERFACE: &str = "modelgen:policy/policy";
/// The policy contract version this host speaks (the WIT package version of `wit/policy/`).
pub const CONTRACT_VERSION: &str = "0.1.0";

/// What a policy plugin is told about the render.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The application's name.
    pub app_name: String,
    /// The render's namespace, if any.
    pub namespace: Option<String>,
    /// The environment rendered, if any.
    pub environment: Option<String>,
    /// The plugin's settings, as JSON.
    pub settings: String,
}

/// One finding of a policy plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error (blocks the render) or warning.
    pub severity: Severity,
    /// The index of the object it is about, in the list the plugin was given.
    pub object: Option<u32>,
    /// The field inside that object.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// What a policy plugin returned.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// `None`: the objects are unchanged; otherwise the full new list.
    pub objects: Option<Vec<Manifest>>,
    /// Its findings.
    pub findings: Vec<Finding>,
}

/// A loaded policy plugin, ready to be instantiated per call.
pub struct Policy {
    engine: Engine,
    pre: bindings::PluginPre<Sandbox>,
    limits: Limits,
    /// Dropping it stops the epoch ticker thread.
    _ticker: std::sync::mpsc::Sender<()>,
}

impl Policy {
    /// Loads `bytes` (a component whose digest is `sha256`, already checked
    /// by the caller) through `cache` when given, and checks that it
    /// implements the policy contract and imports only what the sandbox links.
    pub fn load(bytes: &[u8], sha256: &str, cache: Option<&CompileCache>, limits: Limits) -> Result<Self> {
        let engine = Runtime::engine()?;
        let wasm = Wasm { bytes, sha256: sha256.to_owned(), prebuilt: None };
        let component = match cache {
            Some(cache) => cache.load_or_compile(&engine, &wasm)?,
            None => cache::compile(&engine, bytes, "note: compiling a policy plugin (`--no-cache`: on every run)")?,
        };
        check(&engine, &component)?;
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker, &engine, &component).map_err(anyhow::Error::from).context("link WASI")?;
        let pre = linker.instantiate_pre(&component).map_err(anyhow::Error::from).context(
            "the plugin imports something the host does not provide (only WASI 0.2 is linked, with no \
             capabilities and no `wasi:sockets` or `wasi:http`)",
        )?;
        let pre = bindings::PluginPre::new(pre)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("the component does not implement `{INTERFACE}@{CONTRACT_VERSION}`"))?;
        Ok(Self { _ticker: ticker(&engine), engine, pre, limits })
    }

    /// Runs the plugin on `objects` for `context`, in a fresh sandbox whose
    /// limits scale with the objects' size.
    ///
    /// # Errors
    /// When the plugin traps or hits a limit.
    pub fn apply(&self, objects: &[Manifest], context: &Context) -> Result<Outcome, Error> {
        let input: usize =
            objects.iter().map(|m| m.yaml.len() + m.source.len()).sum::<usize>() + context.settings.len();
        let mut store = sandbox(&self.engine, self.limits, input);
        let objects: Vec<wit::Object> =
            objects.iter().map(|m| wit::Object { yaml: m.yaml.clone(), source: m.source.clone() }).collect();
        let context = wit::Context {
            app_name: context.app_name.clone(),
            namespace: context.namespace.clone(),
            environment: context.environment.clone(),
            settings: context.settings.clone(),
        };
        let outcome = self
            .pre
            .instantiate(&mut store)
            .and_then(|plugin| plugin.modelgen_policy_policy().call_apply(&mut store, &objects, &context))
            .map_err(|e| Runtime::explain(&store, e))?;
        Ok(Outcome {
            objects: outcome
                .objects
                .map(|list| list.into_iter().map(|o| Manifest { yaml: o.yaml, source: o.source }).collect()),
            findings: outcome
                .findings
                .into_iter()
                .map(|f| Finding {
                    severity: match f.severity {
                        wit::Severity::Error => Severity::Error,
                        wit::Severity::Warning => Severity::Warning,
                    },
                    object: f.object,
                    field: f.field,
                    message: f.message,
                    hint: f.hint,
                })
                .collect(),
        })
    }
}

/// What a component exports, for messages and `modelgen plugin check`.
pub fn exports(engine: &Engine, component: &Component) -> Vec<String> {
    component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect()
}

/// Checks, before anything is linked, that the component exports a version
/// of the policy interface this host speaks.
fn check(engine: &Engine, component: &Component) -> Result<()> {
    let exports = exports(engine, component);
    let Some(found) = exports.iter().find_map(|name| name.strip_prefix(INTERFACE)) else {
        let listed = if exports.is_empty() {
            "nothing".to_owned()
        } else {
            exports.iter().map(|e| format!("`{}`", crate::escape::value(e))).collect::<Vec<_>>().join(", ")
        };
        bail!("the component does not export `{INTERFACE}` (it exports {listed}); it is not a modelgen policy plugin");
    };
    let version = found.strip_prefix('@').unwrap_or("(unversioned)");
    if !compatible(version, CONTRACT_VERSION) {
        bail!(
            "the plugin implements `{INTERFACE}@{}`, but this host speaks `{CONTRACT_VERSION}`; build it against \
             `wit/policy/policy.wit` of this release",
            crate::escape::value(version)
        );
    }
    Ok(())
}
