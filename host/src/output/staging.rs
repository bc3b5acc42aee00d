//! The staging directory: the next version of an output directory, built beside it and swapped in at once.
//!
//! Nothing in the old directory changes until the swap, so a failure at any
//! point before it (a full disk, a permission, an injected fault) leaves the
//! previous output exactly as it was; the staging directory is removed. The
//! swap is one `renameat2(RENAME_EXCHANGE)` where the system has it (Linux,
//! macOS), so readers see either the old or the new directory, never none.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::existing::{Entry, Existing};

/// Test hook: the number of files a write may create before it fails as if
/// the disk were full, so that tests can check that nothing changes then.
pub const FAULT_ENV: &str = "MODELGEN_TEST_FAIL_WRITE_AFTER";

/// A directory being filled beside the output directory.
pub struct Staging {
    dir: tempfile::TempDir,
    written: usize,
    fail_after: Option<usize>,
}

impl Staging {
    /// A new, empty staging directory beside `existing`, with the same permissions.
    pub fn beside(existing: &Existing) -> Result<Self> {
        let target = &existing.path;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            Some(_) => PathBuf::from("."),
            None => bail!("`{}` has no parent directory to write beside", target.display()),
        };
        fs::create_dir_all(&parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.modelgen-"))
            .tempdir_in(&parent)
            .with_context(|| format!("cannot create a temporary directory in `{}`", parent.display()))?;
        let mode = if existing.exists {
            fs::metadata(target).with_context(|| format!("cannot stat `{}`", target.display()))?.permissions().mode()
        } else {
            0o755
        };
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the permissions of `{}`", dir.path().display()))?;
        let fail_after = std::env::var(FAULT_ENV).ok().and_then(|v| v.parse().ok());
        Ok(Self { dir, written: 0, fail_after })
    }

    /// Writes one file (creating its parent directories).
    pub fn write(&mut self, relative: &str, contents: &[u8]) -> Result<()> {
        if self.fail_after.is_some_and(|n| self.written >= n) {
            bail!("cannot write `{relative}`: injected failure ({FAULT_ENV})");
        }
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        fs::write(&path, contents).with_context(|| format!("cannot write `{}`", path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// Carries an entry modelgen does not own over from the old directory,
    /// untouched: files are hard links to the same inode (same contents,
    /// times and permissions), symlinks are recreated, directories get the
    /// same permissions.
    pub fn keep(&mut self, old: &Path, relative: &str, entry: Entry) -> Result<()> {
        let from = old.join(relative);
        let to = self.dir.path().join(relative);
        let what = || format!("cannot keep `{}`", from.display());
        match entry {
            Entry::Dir => {
                let mode = fs::symlink_metadata(&from).with_context(what)?.permissions().mode();
                fs::create_dir(&to).with_context(what)?;
                fs::set_permissions(&to, fs::Permissions::from_mode(mode)).with_context(what)?;
            }
            Entry::Symlink => {
                let target = fs::read_link(&from).with_context(what)?;
                std::os::unix::fs::symlink(target, &to).with_context(what)?;
            }
            Entry::File => {
                if let Err(link_error) = fs::hard_link(&from, &to) {
                    // A file system without hard links: a copy keeps the
                    // contents and permissions, if not the inode.
                    if !fs::symlink_metadata(&from).with_context(what)?.is_file() {
                        return Err(link_error).with_context(what);
                    }
                    fs::copy(&from, &to).with_context(what)?;
                }
            }
        }
        Ok(())
    }

    /// Replaces the output directory with this one. On success the old
    /// contents are gone; `Ok(Some(path))` names a leftover copy of them that
    /// could not be removed.
    pub fn swap_into(self, existing: &Existing) -> Result<Option<PathBuf>> {
        let target = &existing.path;
        let shown = target.display();
        if !existing.exists {
            fs::rename(self.dir.path(), target).with_context(|| format!("cannot move the output into `{shown}`"))?;
            let _ = self.dir.keep();
            return Ok(None);
        }
        match exchange(self.dir.path(), target) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP)) => {
                two_step_swap(self.dir.path(), target)?;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot swap the new output into `{shown}`")),
        }
        // The staging path now holds the old contents.
        let old = self.dir.path().to_path_buf();
        match self.dir.close() {
            Ok(()) => Ok(None),
            Err(_) => Ok(Some(old)),
        }
    }
}

/// Exchanges two directories atomically.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

/// Where the system cannot exchange: move the old directory aside, move the
/// new one in, and put the old one back if that fails. `staging` ends up
/// holding the old contents, as after an exchange.
fn two_step_swap(staging: &Path, target: &Path) -> Result<()> {
    let aside = staging.with_extension("old");
    fs::rename(target, &aside).with_context(|| format!("cannot move `{}` aside", target.display()))?;
    if let Err(e) = fs::rename(staging, target) {
        let _ = fs::rename(&aside, target);
        return Err(e).with_context(|| format!("cannot move the new output into `{}`", target.display()));
    }
    fs::rename(&aside, staging).with_context(|| format!("cannot clean up `{}`", aside.display()))
}
