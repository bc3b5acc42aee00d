//! The wasmtime engine settings, shared by the runtime and by `build.rs`, which precompiles the built-in plugin with them.
//!
//! Compiled code is only valid for an engine with the same settings, so
//! both places must build their engine here, and both name an engine's
//! compatibility by [`compatibility_key`].

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine};

/// The settings every component is compiled and run with. Epoch
/// interruption bounds a call's time; it changes the compiled code.
pub fn config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

/// A hex digest of wasmtime's compatibility hash: two engines with the same
/// key can run each other's compiled code.
pub fn compatibility_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize())
}

/// Lowercase hex of `bytes` (digests in cache keys and file names).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Feeds `Hash` output into SHA-256, so keys do not depend on std's
/// unspecified `DefaultHasher`.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0 // Unused: the digest is taken from the inner state.
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
