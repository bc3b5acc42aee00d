//! Directories private to this user: where modelgen keeps what it trusts on a later run (compiled code, CRD verdicts).
//!
//! What such a directory holds is acted on without being checked again
//! (machine code is run; a verdict skips a schema check), so it is used only
//! when this user owns it and no one else can write to it.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;

/// Whether a directory can hold what this process will trust.
pub(crate) enum Trust {
    /// Private to this user, or not there yet (it is created private).
    Usable,
    /// Someone else's, or writable by others: why.
    Refused(String),
}

/// Whether `dir` can be used (see [`Trust`]).
pub(crate) fn trust(dir: &Path) -> Trust {
    let uid = current_uid();
    let Ok(meta) = fs::symlink_metadata(dir) else { return Trust::Usable };
    match meta {
        meta if !meta.is_dir() => Trust::Refused("it is not a directory".to_owned()),
        meta if meta.uid() != uid => {
            Trust::Refused(format!("it belongs to user {}, not to this one ({uid})", meta.uid()))
        }
        meta if meta.mode() & 0o022 != 0 => {
            Trust::Refused(format!("others can write to it (mode {:o})", meta.mode() & 0o7777))
        }
        _ => Trust::Usable,
    }
}

/// Whether `dir` exists, belongs to `uid` and is writable by no one else.
pub(crate) fn is_private(dir: &Path, uid: u32) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == uid && m.mode() & 0o022 == 0)
}

/// Whether `meta` is of a regular file that belongs to `uid` and that no one
/// else can write: one this process may trust in a private directory.
pub(crate) fn is_own_file(meta: &fs::Metadata, uid: u32) -> bool {
    meta.is_file() && meta.uid() == uid && meta.mode() & 0o022 == 0
}

/// The subdirectory `name` of `root`, created private if needed, when `root`
/// can be trusted (see [`trust`]); `None` otherwise, or when it cannot be made.
pub(crate) fn writable_subdir(root: &Path, name: &str) -> Option<std::path::PathBuf> {
    if !matches!(trust(root), Trust::Usable) {
        return None;
    }
    let dir = root.join(name);
    fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).ok()?;
    Some(dir)
}

/// The effective user id of this process.
pub(crate) fn current_uid() -> u32 {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid()
    }
}
