//! Source files: what the host read from the application directory.

/// One file of the application directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the application root, `/`-separated.
    pub path: String,
    /// The raw bytes; not necessarily UTF-8.
    pub contents: Vec<u8>,
}

impl SourceFile {
    /// A file from its path and contents.
    pub fn new(path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        Self { path: path.into(), contents: contents.into() }
    }
}
