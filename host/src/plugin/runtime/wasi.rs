//! The WASI a plugin is linked against: what Rust's `wasm32-wasip2` target imports, granting nothing, with nothing a call could wait on.
//!
//! The time limit is an epoch deadline, which only wasm code checks: a call
//! blocked inside the host would escape it. So no host function here can
//! block. Every pollable a plugin can get is ready at once: stdin is closed,
//! stdout and stderr discard what they get, the file system has no
//! directories (so no descriptor, and no stream from one), and the clocks'
//! `subscribe-instant` and `subscribe-duration` (what `sleep` and every
//! timeout use) stop the call instead of arming a timer: a generator is a
//! pure function, and has nothing to wait for. `wasi:sockets` is not
//! linked at all: a generator has no network, and a socket is something to
//! wait on. Nor can wasm code itself wait: `memory.atomic.wait` needs a
//! shared memory, which needs wasmtime's `threads` feature, not built in.

use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::{Component, HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sync};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiView};

/// Store data that records whether the plugin tried to wait.
pub trait Waits {
    /// Set when the plugin asked for a timer.
    fn waited(&mut self) -> &mut bool;
}

/// Adds to `linker` the plugin's WASI (see the module documentation): of
/// the interfaces below, those the component imports. Defining the rest
/// would only cost time (a few hundred functions, each named and typed, on
/// every render); an import outside this list stays undefined, and
/// instantiation refuses the component as before.
pub fn add_to_linker<T: WasiView + Waits>(
    linker: &mut Linker<T>,
    engine: &Engine,
    component: &Component,
) -> wasmtime::Result<()> {
    let imported: Vec<String> =
        component.component_type().imports(engine).map(|(name, _)| unversioned(name).to_owned()).collect();
    let wants = |interface: &str| imported.iter().any(|name| name == interface);
    let l = linker;
    if wants("wasi:io/error") {
        sync::io::error::add_to_linker::<T, Io>(l, |t| t.ctx().table)?;
    }
    if wants("wasi:io/poll") {
        sync::io::poll::add_to_linker::<T, Io>(l, |t| t.ctx().table)?;
    }
    if wants("wasi:io/streams") {
        sync::io::streams::add_to_linker::<T, Io>(l, |t| t.ctx().table)?;
    }
    if wants("wasi:clocks/wall-clock") {
        clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    }
    if wants("wasi:clocks/monotonic-clock") {
        clocks::monotonic_clock::add_to_linker::<T, StillClock>(l, |t| StillClockView(t.waited()))?;
    }
    if wants("wasi:filesystem/preopens") {
        filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    }
    if wants("wasi:filesystem/types") {
        sync::filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    }
    if wants("wasi:random/random") {
        random::random::add_to_linker::<T, WasiRandom>(l, T::random)?;
    }
    if wants("wasi:random/insecure") {
        random::insecure::add_to_linker::<T, WasiRandom>(l, T::random)?;
    }
    if wants("wasi:random/insecure-seed") {
        random::insecure_seed::add_to_linker::<T, WasiRandom>(l, T::random)?;
    }
    if wants("wasi:cli/exit") {
        cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/environment") {
        cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/stdin") {
        cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/stdout") {
        cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/stderr") {
        cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/terminal-input") {
        cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/terminal-output") {
        cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/terminal-stdin") {
        cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/terminal-stdout") {
        cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    if wants("wasi:cli/terminal-stderr") {
        cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    }
    Ok(())
}

/// An import's interface name without its version (`wasi:io/error@0.2.6`
/// is `wasi:io/error`): the linker matches versions itself, semver-compatibly.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(interface, _)| interface)
}

/// `wasi:io`, served from the store's resource table.
struct Io;

impl HasData for Io {
    type Data<'a> = &'a mut ResourceTable;
}

/// `wasi:clocks/monotonic-clock` for a plugin: the clock stands still
/// (renders must not depend on time), and asking for a timer stops the call.
struct StillClock;

impl HasData for StillClock {
    type Data<'a> = StillClockView<'a>;
}

/// The monotonic clock of one call, with the store's record of a wait.
pub struct StillClockView<'a>(&'a mut bool);

impl StillClockView<'_> {
    fn refuse(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        *self.0 = true;
        wasmtime::bail!("the plugin asked for a timer (`wasi:clocks/monotonic-clock` subscribe)")
    }
}

impl clocks::monotonic_clock::Host for StillClockView<'_> {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(HostMonotonicClock::now(&StoppedClock))
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(HostMonotonicClock::resolution(&StoppedClock))
    }

    fn subscribe_instant(&mut self, _when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.refuse()
    }

    fn subscribe_duration(&mut self, _duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.refuse()
    }
}

/// A clock that always reads the Unix epoch: renders must not depend on time.
pub(super) struct StoppedClock;

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

#[cfg(test)]
mod tests {
    use super::unversioned;

    #[test]
    fn an_import_is_matched_by_its_interface_whatever_its_version() {
        assert_eq!(unversioned("wasi:io/error@0.2.6"), "wasi:io/error");
        assert_eq!(unversioned("wasi:cli/exit@0.2.0"), "wasi:cli/exit");
        assert_eq!(unversioned("modelgen:plugin/host"), "modelgen:plugin/host");
    }
}
