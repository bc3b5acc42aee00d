//! What a render reads: the spec files under the application root, and the files its project file names, never outside the root.

pub mod application;
pub mod kinds;
pub mod safe_path;
pub mod source;
