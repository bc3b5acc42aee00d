//! Rewriting one file of the application in place: atomically, only when it still holds what was read, and never through a link.
//!
//! The edit commands read the application, have the plugin edit one file,
//! render the result in every environment, and only then write. Between
//! the read and the write a person or another job may have changed the
//! file: the write then refuses rather than overwrite their change. The new
//! contents go to a temporary file beside the old one, which is synced and
//! renamed over it, so that a crash leaves either the old file or the new
//! one, never half of one. Every directory on the way is opened without
//! following links (as the files were read), so a link swapped in cannot
//! turn the write into one outside the application.

use std::ffi::OsStr;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, Result, bail};
use rustix::fs::{AtFlags, Mode, OFlags};

use crate::escape;
use crate::input::safe_path::Root;

/// Replaces the file `relative` (under `root`) with `new`, if it still holds `read`.
///
/// # Errors
/// When the file changed since it was read, is a link or not a regular
/// file, or cannot be written; the file is then unchanged.
pub fn replace(root: &Path, relative: &str, read: &[u8], new: &[u8]) -> Result<()> {
    let shown = escape::value(relative).into_owned();
    let root = Root::open(root).with_context(|| format!("cannot open `{}`", escape::value(&root.to_string_lossy())))?;
    let (parent, leaf) = relative.rsplit_once('/').unwrap_or(("", relative));
    let dir =
        if parent.is_empty() { root } else { root.dir(parent).with_context(|| format!("cannot open `{shown}`"))? };
    let leaf = OsStr::new(leaf);
    let unchanged = |what: &str| -> Result<u32> {
        let mut file = dir.child_file(leaf).with_context(|| format!("cannot open `{shown}` {what}"))?;
        let mode = rustix::fs::fstat(&file).map(|stat| stat.st_mode & 0o7777)?;
        let mut now = Vec::with_capacity(read.len());
        (&mut file).take(read.len() as u64 + 1).read_to_end(&mut now)?;
        if now != read {
            bail!(
                "`{shown}` changed since modelgen read it (another edit, or a checkout?); nothing was written: run the command again"
            );
        }
        Ok(mode)
    };
    let mode = unchanged("to check it")?;
    let temporary = temporary_name(leaf);
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir.fd(), temporary.as_str(), flags, Mode::from_raw_mode(mode))
        .with_context(|| format!("cannot create a temporary file beside `{shown}`"))?;
    let written = (|| -> Result<()> {
        let mut file = std::fs::File::from(fd);
        file.write_all(new)?;
        // The mode is the old file's, whatever the umask made of it.
        rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))?;
        file.sync_all()?;
        // The last moment to notice a change made while this one was checked.
        unchanged("again before replacing it")?;
        rustix::fs::renameat(dir.fd(), temporary.as_str(), dir.fd(), leaf)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = rustix::fs::unlinkat(dir.fd(), temporary.as_str(), AtFlags::empty());
        return Err(e.context(format!("cannot write `{shown}`; it is unchanged")));
    }
    // The rename is durable once the directory is.
    rustix::fs::fsync(dir.fd()).with_context(|| format!("cannot sync the directory of `{shown}`"))?;
    Ok(())
}

/// A name for the temporary file beside `leaf`: hidden, and unique to this process and call.
fn temporary_name(leaf: &OsStr) -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    format!(".{}.modelgen-{}-{call}.tmp", leaf.to_string_lossy(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    #[test]
    fn replaces_the_file_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = dir();
        std::fs::create_dir(root.path().join("models")).expect("mkdir");
        let path = root.path().join("models/a.yaml");
        std::fs::write(&path, "old\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        replace(root.path(), "models/a.yaml", b"old\n", b"new\n").expect("replaces");
        assert_eq!(std::fs::read(&path).expect("read"), b"new\n");
        assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o7777, 0o640);
        let left: Vec<_> = std::fs::read_dir(root.path().join("models")).expect("list").collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_not_overwritten() {
        let root = dir();
        let path = root.path().join("a.yaml");
        std::fs::write(&path, "theirs\n").expect("write");
        let error = replace(root.path(), "a.yaml", b"ours\n", b"new\n").expect_err("refused");
        assert!(format!("{error:#}").contains("changed since modelgen read it"), "{error:#}");
        assert_eq!(std::fs::read(&path).expect("read"), b"theirs\n");
        assert_eq!(std::fs::read_dir(root.path()).expect("list").count(), 1);
    }

    #[test]
    fn links_are_never_written_through() {
        let root = dir();
        let outside = dir();
        std::fs::write(outside.path().join("a.yaml"), "old\n").expect("write");
        std::os::unix::fs::symlink(outside.path().join("a.yaml"), root.path().join("a.yaml")).expect("link");
        std::os::unix::fs::symlink(outside.path(), root.path().join("sub")).expect("link");
        assert!(replace(root.path(), "a.yaml", b"old\n", b"new\n").is_err());
        assert!(replace(root.path(), "sub/a.yaml", b"old\n", b"new\n").is_err());
        assert_eq!(std::fs::read(outside.path().join("a.yaml")).expect("read"), b"old\n");
    }
}
