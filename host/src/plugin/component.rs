//! A component's bytes with their digest, and machine code the build made for it: what the runtime loads and the cache keys.

use anyhow::{Context, Result};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A component's bytes, their digest (the cache key), and machine code the
/// build made for it, when this engine can run that code.
pub struct Wasm<'a> {
    /// The component.
    pub bytes: &'a [u8],
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    /// Precompiled machine code for this engine.
    pub prebuilt: Option<&'a [u8]>,
}

impl<'a> Wasm<'a> {
    /// A component from elsewhere: hashed now, nothing precompiled.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, sha256: crate::digest::sha256_hex(bytes), prebuilt: None }
    }
}

pub(crate) fn deserialize_prebuilt(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    // SAFETY: wasmtime requires bytes produced by `serialize`/`precompile`
    // for a compatible engine. These were produced by this binary's own
    // build with the same engine settings (checked by `prebuilt` through the
    // compatibility key) and are part of the binary itself; wasmtime
    // re-checks the header and version on load.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, bytes) };
    component.map_err(anyhow::Error::from).context("load the precompiled plugin")
}
