//! The wasmtime side: loads a generator component and calls it in a fresh, capability-free sandbox.
//!
//! Each call gets a new `Store` from a pre-instantiated component (about ten
//! microseconds), so no state survives between renders; the one exception is
//! the instance that answered `info` (which takes no input), kept for the
//! call that follows it in the same process, since every render starts with
//! those two (an instance and the guest's start cost about a tenth of a
//! one-spec render). The WASI context
//! grants nothing: no preopened directories, no environment, no arguments,
//! no sockets, stdio closed; and for determinism its random sources are
//! fixed seeds and its clocks stand still (Rust's `HashMap` in the guest is
//! seeded from `wasi:random/insecure-seed`). Nothing a plugin can call
//! waits ([`wasi`]), so the time limit covers the whole call; the memory
//! limit covers every memory and table of the instance together.

pub mod policy;
mod wasi;

use wasi::StoppedClock;

use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::pipe::{ClosedInputStream, SinkOutputStream};
use wasmtime_wasi::{Deterministic, WasiCtx, WasiCtxView, WasiView};

use crate::escape;

use super::cache::{self, CompileCache};
use super::component::{Wasm, deserialize_prebuilt};
pub use super::contract::RenderContext;
use super::contract::latest::{self, Answer};
use super::contract::{self, INTERFACE, Version, since_v0_1};
use crate::diagnostic::{Diagnostic, PluginInfo, Project, Rendered};
use crate::input::source::SourceFile;
use crate::rollout::{Decision, EditAction, Edited, Observation, Rollout};

/// The component built from `plugin/` by `build.rs`.
pub const EMBEDDED_PLUGIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plugin.wasm"));
/// The same component compiled by `build.rs` with [`super::engine::config`],
/// so that a render on a machine without a warm cache needs no compiler.
pub const EMBEDDED_PRECOMPILED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plugin.cwasm"));
/// The SHA-256 of [`EMBEDDED_PLUGIN`], computed by the build.
const EMBEDDED_PLUGIN_SHA256: &str = include_str!(concat!(env!("OUT_DIR"), "/plugin.wasm.sha256"));
/// The compatibility key of the engine that compiled [`EMBEDDED_PRECOMPILED`].
pub const EMBEDDED_PRECOMPILED_KEY: &str = include_str!(concat!(env!("OUT_DIR"), "/plugin.cwasm.key"));

/// Why a plugin could not be loaded or a call failed. The messages name no
/// flag: the command line adds the one that lifts a limit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The call ran past its time limit.
    #[error("the plugin ran longer than its time limit of {seconds} s")]
    Timeout {
        /// The limit, rounded to two decimals.
        seconds: f64,
    },
    /// The call's memories and tables outgrew the memory limit.
    #[error("the plugin tried to use more than its memory limit of {mib} MiB")]
    Memory {
        /// The limit.
        mib: usize,
    },
    /// The plugin tried to block (a sleep or a timer).
    #[error(
        "the plugin tried to wait (to sleep, or for a timer), which a generator cannot do: it is a pure function of \
         its input"
    )]
    Wait,
    /// The plugin speaks an earlier contract, which lacks what the command calls.
    #[error(
        "the plugin implements `{INTERFACE}@{found}`, which has no `{function}`; this command needs a plugin built \
         for contract {needed} or later"
    )]
    Unsupported {
        /// The function the command calls.
        function: &'static str,
        /// The contract version the plugin speaks.
        found: &'static str,
        /// The contract version that has `function`.
        needed: &'static str,
    },
    /// The plugin answered what the contract does not allow: its own bug.
    #[error("the plugin broke the contract: {0}")]
    Broken(String),
    /// The plugin trapped: its own bug.
    #[error("the plugin crashed (a bug in the plugin, not in your spec)")]
    Trap(#[source] wasmtime::Error),
    /// The plugin could not be read, compiled or linked.
    #[error(transparent)]
    Load(#[from] anyhow::Error),
}

/// What a call that did not fail says about its input.
#[derive(Debug)]
pub enum Reply<T> {
    /// The input was accepted: the call's result.
    Accepted(T),
    /// The input is wrong: the plugin's diagnostics.
    Refused(Vec<Diagnostic>),
}

impl<T> Reply<T> {
    /// The result, if the input was accepted.
    pub fn accepted(self) -> Option<T> {
        match self {
            Reply::Accepted(value) => Some(value),
            Reply::Refused(_) => None,
        }
    }
}

/// How much one plugin call may use: a base, plus an allowance per MiB of
/// the call's input, so that a large repository needs no flags while a
/// hostile one stays bounded (its input is capped by `--max-input-bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time of one call (instantiation and the call itself).
    pub timeout: Duration,
    /// All linear memories and tables of the plugin's instance together, in bytes.
    pub memory_bytes: usize,
    /// Time added per MiB of input (zero when the user set the time limit).
    pub timeout_per_mib: Duration,
    /// Memory added per MiB of input (zero when the user set the memory limit).
    pub memory_per_mib: usize,
}

/// The largest plugin file read: far above any generator (the built-in
/// one is under 2 MB), and a bound on what `--plugin /dev/zero` could cost.
pub const MAX_PLUGIN_BYTES: u64 = 256 * 1024 * 1024;

/// What a table element is counted as against the memory limit: a
/// function reference is a pointer, and wasmtime keeps up to two per element.
const TABLE_ELEMENT_BYTES: usize = 16;
/// The most core instances, memories and tables one call may create. A
/// component built by Rust's `wasm32-wasip2` target has a few of each; a
/// memory reserves gigabytes of address space even when it is empty.
const MAX_INSTANCES: usize = 64;
const MAX_MEMORIES: usize = 16;
const MAX_TABLES: usize = 64;
/// The most resources (streams, pollables, ...) a call may hold in the
/// host: each costs host memory that the limiter does not see.
const MAX_RESOURCES: usize = 10_000;
/// The most random bytes one call to `wasi:random` may ask for: the host
/// builds them in its own memory before the plugin gets them.
const MAX_RANDOM_BYTES: u64 = 1024 * 1024;

const MIB: usize = 1024 * 1024;

impl Default for Limits {
    /// 5 s and 256 MiB, plus 2 s and 8 MiB per MiB of input: 10,000 specs
    /// (9 MiB) get 23 s and 328 MiB and need under 4 s and 128 MiB; the most
    /// a repository within the default 32 MiB input limit gets is 69 s and
    /// 512 MiB.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            memory_bytes: 256 * MIB,
            timeout_per_mib: Duration::from_secs(2),
            memory_per_mib: 8 * MIB,
        }
    }
}

impl Limits {
    /// The limits of one call whose input is `bytes` long.
    #[must_use]
    pub fn for_input(self, bytes: usize) -> Self {
        // Inputs are capped far below 2^52 bytes, where `f64` is exact.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (mib, extra_memory) = {
            let mib = bytes as f64 / MIB as f64;
            (mib, (self.memory_per_mib as f64 * mib) as usize)
        };
        Self {
            timeout: self.timeout.saturating_add(self.timeout_per_mib.mul_f64(mib)),
            memory_bytes: self.memory_bytes.saturating_add(extra_memory),
            ..self
        }
    }
}

/// The bytes of a call's input, which its limits scale with.
fn input_bytes(sources: &[SourceFile]) -> usize {
    sources.iter().map(|f| f.path.len() + f.contents.len()).sum()
}

/// How often the epoch advances: the granularity of the time budget.
const TICK: Duration = Duration::from_millis(10);

/// A loaded generator plugin, ready to be instantiated per call.
pub struct Runtime {
    engine: Engine,
    pre: Pre,
    limits: Limits,
    /// The instance `info` ran in, for the next call.
    spare: Mutex<Option<(Store<Sandbox>, Instance)>>,
    /// Dropping it stops the epoch ticker thread.
    _ticker: mpsc::Sender<()>,
}

/// An instance of the component, through the bindings of its contract version.
enum Instance {
    /// A plugin of the latest contract.
    Latest(latest::Plugin),
    /// A plugin of contract 0.1.
    V0_1(since_v0_1::Plugin),
}

/// The component, ready to instantiate, through the bindings of the
/// contract version it speaks.
enum Pre {
    Latest(latest::PluginPre<Sandbox>),
    V0_1(since_v0_1::PluginPre<Sandbox>),
}

impl<T> From<Answer<T>> for Reply<T> {
    fn from(answer: Answer<T>) -> Self {
        match answer {
            Ok(value) => Reply::Accepted(value),
            Err(diagnostics) => Reply::Refused(diagnostics),
        }
    }
}

/// The per-call store data: a WASI context that grants nothing, the memory
/// limiter, whether the plugin tried to wait, and the call's limits (for
/// the message when one is hit).
struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    waited: bool,
    limits: Limits,
}

impl wasi::Waits for Sandbox {
    fn waited(&mut self) -> &mut bool {
        &mut self.waited
    }
}

/// Caps the memories and tables of an instance together (wasmtime asks for
/// each one separately, including when it is created) and remembers whether
/// the cap was hit, so that the trap that follows (the guest aborts when an
/// allocation fails) can be reported as what it is.
struct MemoryLimiter {
    max: usize,
    used: usize,
    exceeded: bool,
}

impl MemoryLimiter {
    fn grow(&mut self, bytes: usize) -> bool {
        if let Some(total) = self.used.checked_add(bytes).filter(|total| *total <= self.max) {
            self.used = total;
            true
        } else {
            self.exceeded = true;
            false
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.grow(desired.saturating_sub(current)))
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(self.grow(desired.saturating_sub(current).saturating_mul(TABLE_ELEMENT_BYTES)))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl Runtime {
    /// The engine settings every component is compiled and run with.
    /// Epoch interruption bounds a call's time (it changes the compiled
    /// code, so it is part of the compile cache's key).
    pub fn engine() -> Result<Engine> {
        Engine::new(&super::engine::config()).map_err(anyhow::Error::from).context("create the wasm engine")
    }

    /// Loads `wasm` (a component) with default limits, through `cache` when given.
    pub fn new(wasm: &[u8], cache: Option<&CompileCache>) -> Result<Self> {
        Self::with_limits(wasm, cache, Limits::default())
    }

    /// The built-in plugin: its digest is known from the build, and on a
    /// compatible machine its machine code too, so nothing is hashed or
    /// compiled at run time.
    pub fn builtin(cache: Option<&CompileCache>, limits: Limits) -> Result<Self> {
        let engine = Self::engine()?;
        let compatible = super::engine::compatibility_key(&engine) == EMBEDDED_PRECOMPILED_KEY;
        let wasm = Wasm {
            bytes: EMBEDDED_PLUGIN,
            sha256: EMBEDDED_PLUGIN_SHA256.to_owned(),
            prebuilt: compatible.then_some(EMBEDDED_PRECOMPILED),
        };
        Self::load(engine, &wasm, cache, limits)
    }

    /// The built-in plugin's SHA-256, known from the build.
    #[must_use]
    pub fn builtin_sha256() -> &'static str {
        EMBEDDED_PLUGIN_SHA256
    }

    /// Loads `wasm` (a component whose hex SHA-256 is `sha256`, already
    /// computed by the caller), through `cache` when given.
    pub fn with_digest(wasm: &[u8], sha256: String, cache: Option<&CompileCache>, limits: Limits) -> Result<Self> {
        Self::load(Self::engine()?, &Wasm { bytes: wasm, sha256, prebuilt: None }, cache, limits)
    }

    /// Loads `wasm` (a component), through `cache` when given.
    pub fn with_limits(wasm: &[u8], cache: Option<&CompileCache>, limits: Limits) -> Result<Self> {
        Self::load(Self::engine()?, &Wasm::new(wasm), cache, limits)
    }

    fn load(engine: Engine, wasm: &Wasm<'_>, cache: Option<&CompileCache>, limits: Limits) -> Result<Self> {
        let component = match (cache, wasm.prebuilt) {
            (Some(cache), _) => cache.load_or_compile(&engine, wasm)?,
            (None, Some(bytes)) => deserialize_prebuilt(&engine, bytes)?,
            (None, None) => cache::compile(
                &engine,
                wasm.bytes,
                "note: compiling the plugin for this machine (`--no-cache`: on every run)",
            )?,
        };
        let version = contract::check(&engine, &component)?;
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker, &engine, &component).map_err(anyhow::Error::from).context("link WASI")?;
        let pre = linker.instantiate_pre(&component).map_err(anyhow::Error::from).context(
            "the plugin imports something the host does not provide (only WASI 0.2 is linked, with no \
             capabilities and no `wasi:sockets`)",
        )?;
        let context = || format!("the component does not implement `{INTERFACE}@{}`", version.as_str());
        let pre = match version {
            Version::Latest => {
                Pre::Latest(latest::PluginPre::new(pre).map_err(anyhow::Error::from).context(context())?)
            }
            Version::V0_1 => {
                Pre::V0_1(since_v0_1::PluginPre::new(pre).map_err(anyhow::Error::from).context(context())?)
            }
        };
        Ok(Self { _ticker: ticker(&engine), engine, pre, limits, spare: Mutex::new(None) })
    }

    /// Loads the plugin component at `path`: a regular file (a FIFO or a
    /// device such as `/dev/zero` is refused, without blocking on it) of at
    /// most [`MAX_PLUGIN_BYTES`].
    pub fn from_file(path: &Path, cache: Option<&CompileCache>, limits: Limits) -> Result<Self> {
        let shown = escape::value(&path.to_string_lossy()).into_owned();
        let wasm = read_plugin(path).with_context(|| format!("cannot read the plugin `{shown}`"))?;
        Self::with_limits(&wasm, cache, limits).with_context(|| format!("cannot load the plugin `{shown}`"))
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

    /// The contract version the plugin speaks.
    pub fn contract(&self) -> &'static str {
        match self.pre {
            Pre::Latest(_) => Version::Latest.as_str(),
            Pre::V0_1(_) => Version::V0_1.as_str(),
        }
    }

    /// A fresh sandbox for a call whose input is `input_bytes` long.
    fn store(&self, input_bytes: usize) -> Store<Sandbox> {
        sandbox(&self.engine, self.limits, input_bytes)
    }

    /// Instantiates the component in `store`.
    fn instantiate(&self, store: &mut Store<Sandbox>) -> Result<Instance, Error> {
        let instance = match &self.pre {
            Pre::Latest(pre) => pre.instantiate(&mut *store).map(Instance::Latest),
            Pre::V0_1(pre) => pre.instantiate(&mut *store).map(Instance::V0_1),
        };
        instance.map_err(|e| Self::explain(store, e))
    }

    /// Runs `call` in the instance `info` left (its limits set for this
    /// call's input), or else in a fresh sandbox (instantiation included),
    /// and explains how it failed.
    fn run<R>(
        &self,
        input_bytes: usize,
        call: impl FnOnce(&Instance, &mut Store<Sandbox>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let spare = self.spare.lock().ok().and_then(|mut spare| spare.take());
        let (mut store, instance) = if let Some((mut store, instance)) = spare {
            arm(&mut store, self.limits.for_input(input_bytes));
            (store, instance)
        } else {
            let mut store = self.store(input_bytes);
            let instance = self.instantiate(&mut store)?;
            (store, instance)
        };
        call(&instance, &mut store).map_err(|e| Self::explain(&store, e))
    }

    /// The error of a call that the plugin's contract version lacks.
    fn unsupported(&self, function: &'static str) -> Error {
        Error::Unsupported { function, found: self.contract(), needed: contract::CONTRACT_VERSION }
    }

    /// Turns a failed call into a message that names the limit that was hit
    /// and the flag that raises it.
    fn explain(store: &Store<Sandbox>, error: wasmtime::Error) -> Error {
        if store.data().waited {
            return Error::Wait;
        }
        let limits = store.data().limits;
        if store.data().limiter.exceeded {
            return Error::Memory { mib: limits.memory_bytes / MIB };
        }
        if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            // Scaled limits have many digits; two are enough to read.
            return Error::Timeout { seconds: (limits.timeout.as_secs_f64() * 100.0).round() / 100.0 };
        }
        Error::Trap(error)
    }

    /// Renders `sources`.
    ///
    /// # Errors
    /// When the plugin fails (a trap or a limit); a wrong input is a [`Reply::Refused`].
    pub fn generate(&self, sources: Vec<SourceFile>, context: &RenderContext) -> Result<Reply<Rendered>, Error> {
        self.run(input_bytes(&sources), |instance, store| match instance {
            Instance::Latest(plugin) => latest::generate(plugin, store, sources, context),
            Instance::V0_1(plugin) => since_v0_1::generate(plugin, store, sources, context),
        })
        .map(Reply::from)
    }

    /// Describes the application in `sources` for `context`: environments,
    /// models, the files the project refers to, the parameters it accepts.
    ///
    /// # Errors
    /// As for [`Self::generate`].
    pub fn describe(&self, sources: Vec<SourceFile>, context: &RenderContext) -> Result<Reply<Project>, Error> {
        self.run(input_bytes(&sources), |instance, store| match instance {
            Instance::Latest(plugin) => latest::describe(plugin, store, sources, context),
            Instance::V0_1(plugin) => since_v0_1::describe(plugin, store, sources, context),
        })
        .map(Reply::from)
    }

    /// Applies `action` to the model named `model` in the application
    /// `sources`: one file's new contents, which the caller renders before
    /// it writes anything.
    ///
    /// # Errors
    /// As for [`Self::generate`]; [`Error::Unsupported`] when the plugin
    /// speaks a contract without `edit`.
    pub fn edit(
        &self,
        sources: Vec<SourceFile>,
        context: &RenderContext,
        model: &str,
        action: &EditAction,
    ) -> Result<Reply<Edited>, Error> {
        let given: Vec<String> = sources.iter().map(|f| f.path.clone()).collect();
        let reply = self
            .run(input_bytes(&sources), |instance, store| match instance {
                Instance::Latest(plugin) => latest::edit(plugin, store, sources, context, model, action).map(Some),
                Instance::V0_1(_) => Ok(None),
            })?
            .map(Reply::from)
            .ok_or_else(|| self.unsupported("edit"))?;
        // The caller writes the file the plugin names: only one it was given.
        match reply {
            Reply::Accepted(edited) if !given.contains(&edited.file) => Err(Error::Broken(format!(
                "it edited `{}`, which is not one of the files it was given",
                escape::value(&edited.file)
            ))),
            reply => Ok(reply),
        }
    }

    /// The next move of `rollout`, given `observed`.
    ///
    /// # Errors
    /// When the plugin fails; [`Error::Unsupported`] when it speaks a
    /// contract without `decide`.
    pub fn decide(&self, rollout: &Rollout, observed: &Observation) -> Result<Decision, Error> {
        let decision = self
            .run(0, |instance, store| match instance {
                Instance::Latest(plugin) => latest::decide(plugin, store, rollout, observed).map(Some),
                Instance::V0_1(_) => Ok(None),
            })?
            .ok_or_else(|| self.unsupported("decide"))?;
        // A weight is what a rollout writes into the spec: never one that is not a percentage.
        match decision {
            Decision::Advance(weight) if weight > 100 => Err(Error::Broken(format!(
                "it decided to advance the canary to `{weight}` %, which is not a percentage"
            ))),
            decision => Ok(decision),
        }
    }

    /// The plugin's spec JSON Schema.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn spec_schema(&self) -> Result<String, Error> {
        self.run(0, |instance, store| match instance {
            Instance::Latest(plugin) => latest::spec_schema(plugin, store),
            Instance::V0_1(plugin) => since_v0_1::spec_schema(plugin, store),
        })
    }

    /// The plugin's name, version and kinds.
    ///
    /// # Errors
    /// When the plugin fails.
    pub fn info(&self) -> Result<PluginInfo, Error> {
        let mut store = self.store(0);
        let instance = self.instantiate(&mut store)?;
        let info = match &instance {
            Instance::Latest(plugin) => latest::info(plugin, &mut store),
            Instance::V0_1(plugin) => since_v0_1::info(plugin, &mut store),
        }
        .map_err(|e| Self::explain(&store, e))?;
        if let Ok(mut spare) = self.spare.lock() {
            *spare = Some((store, instance));
        }
        Ok(info)
    }
}

/// A fresh sandbox on `engine` for a call whose input is `input_bytes` long
/// (every component the host runs, generator or policy, gets one).
fn sandbox(engine: &Engine, limits: Limits, input_bytes: usize) -> Store<Sandbox> {
    let limits = limits.for_input(input_bytes);
    let wasi = WasiCtx::builder()
        .insecure_random_seed(0)
        .insecure_random(Deterministic::new(vec![0x6d, 0x67]))
        .secure_random(Deterministic::new(vec![0x6d, 0x67]))
        .max_random_size(MAX_RANDOM_BYTES)
        .wall_clock(StoppedClock)
        .monotonic_clock(StoppedClock)
        .stdin(ClosedInputStream)
        .stdout(SinkOutputStream)
        .stderr(SinkOutputStream)
        .build();
    let limiter = MemoryLimiter { max: limits.memory_bytes, used: 0, exceeded: false };
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_RESOURCES);
    let mut store = Store::new(engine, Sandbox { wasi, table, limiter, waited: false, limits });
    store.limiter(|sandbox| &mut sandbox.limiter);
    store.epoch_deadline_trap();
    arm(&mut store, limits);
    store
}

/// Sets `store`'s limits for a call: its time counts from now; the memory
/// its instance already holds counts against its memory limit.
fn arm(store: &mut Store<Sandbox>, limits: Limits) {
    store.data_mut().limits = limits;
    store.data_mut().limiter.max = limits.memory_bytes;
    let ticks = limits.timeout.as_millis().div_ceil(TICK.as_millis()).max(1);
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
}

/// Reads a plugin file: a regular file (opening it never blocks, and what
/// is read is what was checked), at most [`MAX_PLUGIN_BYTES`].
pub(crate) fn read_plugin(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        bail!("it is not a regular file (a FIFO, socket or device)");
    }
    if meta.len() > MAX_PLUGIN_BYTES {
        bail!("it holds {} bytes, more than the {MAX_PLUGIN_BYTES} a plugin may", meta.len());
    }
    let mut wasm = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_PLUGIN_BYTES + 1).read_to_end(&mut wasm)?;
    if wasm.len() as u64 > MAX_PLUGIN_BYTES {
        bail!("it grew past the {MAX_PLUGIN_BYTES} bytes a plugin may hold while it was read");
    }
    Ok(wasm)
}

/// Advances the engine's epoch every [`TICK`] until the returned sender is
/// dropped. One thread per loaded plugin; each call's deadline is counted in
/// ticks from its start.
fn ticker(engine: &Engine) -> mpsc::Sender<()> {
    let (stop, stopped) = mpsc::channel::<()>();
    let engine = engine.clone();
    std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
            engine.increment_epoch();
        }
    });
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_grow_with_the_input_and_set_ones_do_not() {
        let base = Limits::default();
        assert_eq!(base.for_input(0), base);
        let large = base.for_input(9 * MIB);
        assert_eq!(large.timeout, Duration::from_secs(5 + 2 * 9));
        assert_eq!(large.memory_bytes, (256 + 8 * 9) * MIB);
        // The most a repository within the default input limit (32 MiB) gets.
        let hostile = base.for_input(32 * MIB);
        assert_eq!((hostile.timeout, hostile.memory_bytes), (Duration::from_secs(69), 512 * MIB));
        let set = Limits { timeout_per_mib: Duration::ZERO, memory_per_mib: 0, ..base };
        assert_eq!(set.for_input(9 * MIB), set);
    }
}
