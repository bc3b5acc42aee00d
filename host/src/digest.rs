//! The one way files are named by content: the lowercase hex of their SHA-256.

use sha2::{Digest as _, Sha256};

/// Lowercase hex of the SHA-256 of `bytes`: how components, policy plugins
/// and the files a render read are named in cache keys and in pins.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::plugin::engine::hex(&Sha256::digest(bytes))
}
