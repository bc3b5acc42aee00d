//! The wasmtime side: loads a generator component and calls it in a fresh, capability-free sandbox.
//!
//! Each call gets a new `Store` from a pre-instantiated component (about ten
//! microseconds), so no state survives between renders. The WASI context
//! grants nothing: no preopened directories, no environment, no arguments,
//! no sockets, stdio closed; and for determinism its random sources are
//! fixed seeds and its clocks stand still (Rust's `HashMap` in the guest is
//! seeded from `wasi:random/insecure-seed`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::cache::CompileCache;
use crate::diagnostic::{Diagnostic, Manifest, PluginInfo, Rendered, Severity};
use crate::source::SourceFile;

mod bindings {
    //! Bindings generated from `wit/generator.wit`.
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
    });
}

use bindings::exports::modelgen::generator::generator as wit;
use bindings::{Plugin, PluginPre};

/// The component built from `plugin/` by `build.rs`.
pub const EMBEDDED_PLUGIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plugin.wasm"));

/// Everything a render may know about the outside world.
#[derive(Clone, Debug, Default)]
pub struct RenderContext {
    /// The application's name.
    pub app_name: String,
    /// Namespace for specs that set none.
    pub namespace: Option<String>,
    /// The source revision.
    pub revision: Option<String>,
    /// The environment to render.
    pub environment: Option<String>,
    /// Free parameters.
    pub parameters: Vec<(String, String)>,
}

/// A loaded generator plugin, ready to be instantiated per call.
pub struct Runtime {
    engine: Engine,
    pre: PluginPre<Sandbox>,
}

/// The per-call store data: a WASI context that grants nothing.
struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A clock that always reads the Unix epoch: renders must not depend on time.
struct StoppedClock;

impl HostWallClock for StoppedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for StoppedClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl Runtime {
    /// The engine settings every component is compiled and run with.
    pub fn engine() -> Result<Engine> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).map_err(anyhow::Error::from).context("create the wasm engine")
    }

    /// Loads `wasm` (a component), through `cache` when given.
    pub fn new(wasm: &[u8], cache: Option<&CompileCache>) -> Result<Self> {
        let engine = Self::engine()?;
        let component = match cache {
            Some(cache) => cache.load_or_compile(&engine, wasm)?,
            None => {
                Component::new(&engine, wasm).map_err(anyhow::Error::from).context("compile the plugin component")?
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(anyhow::Error::from).context("link WASI")?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the plugin imports something the host does not provide")?;
        let pre = PluginPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the component does not implement the `modelgen:generator/generator@0.1.0` interface")?;
        Ok(Self { engine, pre })
    }

    /// Loads the plugin component at `path`.
    pub fn from_file(path: &Path, cache: Option<&CompileCache>) -> Result<Self> {
        let wasm = std::fs::read(path).with_context(|| format!("cannot read the plugin `{}`", path.display()))?;
        Self::new(&wasm, cache).with_context(|| format!("cannot load the plugin `{}`", path.display()))
    }

    /// The component's imports, as `name` strings (for tests and `modelgen info`).
    pub fn imports(wasm: &[u8]) -> Result<Vec<String>> {
        let engine = Self::engine()?;
        let component = Component::new(&engine, wasm).map_err(anyhow::Error::from)?;
        let mut names: Vec<String> =
            component.component_type().imports(&engine).map(|(name, _)| name.to_owned()).collect();
        names.sort();
        Ok(names)
    }

    fn instantiate(&self) -> Result<(Store<Sandbox>, Plugin)> {
        let wasi = WasiCtx::builder()
            .insecure_random_seed(0)
            .insecure_random(Deterministic::new(vec![0x6d, 0x67]))
            .secure_random(Deterministic::new(vec![0x6d, 0x67]))
            .wall_clock(StoppedClock)
            .monotonic_clock(StoppedClock)
            .build();
        let mut store = Store::new(&self.engine, Sandbox { wasi, table: ResourceTable::new() });
        let plugin = self.pre.instantiate(&mut store).map_err(anyhow::Error::from).context("instantiate the plugin")?;
        Ok((store, plugin))
    }

    /// Renders `sources`. The outer error is the plugin failing (a trap);
    /// the inner one is the input being wrong.
    pub fn generate(
        &self,
        sources: Vec<SourceFile>,
        context: &RenderContext,
    ) -> Result<Result<Rendered, Vec<Diagnostic>>> {
        let (mut store, plugin) = self.instantiate()?;
        let sources: Vec<wit::SourceFile> =
            sources.into_iter().map(|f| wit::SourceFile { path: f.path, contents: f.contents }).collect();
        let context = wit::RenderContext {
            app_name: context.app_name.clone(),
            namespace: context.namespace.clone(),
            revision: context.revision.clone(),
            environment: context.environment.clone(),
            parameters: context.parameters.clone(),
        };
        let result = plugin
            .modelgen_generator_generator()
            .call_generate(&mut store, &sources, &context)
            .map_err(anyhow::Error::from)
            .context("the plugin crashed (this is a bug in the plugin, not in your spec)")?;
        Ok(match result {
            Ok(rendered) => Ok(Rendered {
                manifests: rendered
                    .manifests
                    .into_iter()
                    .map(|m| Manifest { yaml: m.yaml, source: m.source })
                    .collect(),
                warnings: rendered.warnings.into_iter().map(diagnostic).collect(),
            }),
            Err(diagnostics) => Err(diagnostics.into_iter().map(diagnostic).collect()),
        })
    }

    /// The plugin's spec JSON Schema.
    pub fn spec_schema(&self) -> Result<String> {
        let (mut store, plugin) = self.instantiate()?;
        plugin
            .modelgen_generator_generator()
            .call_spec_schema(&mut store)
            .map_err(anyhow::Error::from)
            .context("the plugin crashed")
    }

    /// The plugin's name, version and kinds.
    pub fn info(&self) -> Result<PluginInfo> {
        let (mut store, plugin) = self.instantiate()?;
        let info = plugin
            .modelgen_generator_generator()
            .call_info(&mut store)
            .map_err(anyhow::Error::from)
            .context("the plugin crashed")?;
        Ok(PluginInfo { name: info.name, version: info.version, kinds: info.kinds })
    }
}

fn diagnostic(d: wit::Diagnostic) -> Diagnostic {
    Diagnostic {
        severity: match d.severity {
            wit::Severity::Error => Severity::Error,
            wit::Severity::Warning => Severity::Warning,
        },
        file: d.file,
        position: d.position.map(|p| (p.line, p.column)),
        field: d.field,
        message: d.message,
        hint: d.hint,
    }
}
