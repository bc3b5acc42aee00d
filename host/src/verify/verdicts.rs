//! The store of verdicts already reached: an output, schemas and checker that passed once need not be checked again.
//!
//! A verdict is an empty file named by a digest of everything it depends
//! on, kept in `verdicts/` of the cache directory. It is trusted under the
//! same rule as compiled code ([`crate::private_dir`]).

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::PathBuf;

use crate::private_dir::{self, Trust, current_uid};

/// The verdicts kept in a cache directory.
#[derive(Clone, Debug)]
pub struct Verdicts {
    /// The cache directory (verdicts live in its `verdicts/`).
    root: PathBuf,
}

impl Verdicts {
    /// The verdicts kept under the cache directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Whether a verdict with this key was recorded: the exact output it
    /// names was already checked against the exact schemas it names.
    #[must_use]
    pub fn has(&self, key: &str) -> bool {
        let path = self.root.join("verdicts").join(key);
        let uid = current_uid();
        fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.uid() == uid)
            && private_dir::is_private(&self.root, uid)
    }

    /// Records a verdict (best effort: failing only makes the next check slower).
    pub fn record(&self, key: &str) {
        if !matches!(private_dir::trust(&self.root), Trust::Usable) {
            return;
        }
        let dir = self.root.join("verdicts");
        let stored = fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).and_then(|()| {
            let file = tempfile::Builder::new().prefix(".tmp-").tempfile_in(&dir)?;
            file.persist(dir.join(key)).map(drop).map_err(|e| e.error)
        });
        drop(stored);
    }
}
