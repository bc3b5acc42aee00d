//! The staging directory: the next version of an output directory, built beside it and swapped in at once.
//!
//! Nothing in the old directory changes until the swap, so a failure at any
//! point before it (a full disk, a permission, an injected fault) leaves the
//! previous output exactly as it was; the staging directory is removed. The
//! swap is one `renameat2(RENAME_EXCHANGE)` where the system has it (Linux,
//! macOS), so readers see either the old or the new directory, never none.
//!
//! A staging directory is locked (`flock`) for as long as the render that
//! made it runs. One left behind by a render that was killed (`kill -9`, an
//! out-of-memory kill) is unlocked: the next render removes it. Removing
//! never follows a link and never enters a mount.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};

use super::existing::{Entry, Existing};
use crate::escape;
use crate::input::safe_path::{self, Kind, Root};

/// Test hook: the number of files a write may create before it fails as if
/// the disk were full, so that tests can check that nothing changes then.
/// Only in a build with debug assertions (the test suite's): a release
/// build, the one that ships, has no fault injection.
#[cfg(debug_assertions)]
pub const FAULT_ENV: &str = "MODELGEN_TEST_FAIL_WRITE_AFTER";

/// Test hook: the number of files a write may create before the process
/// kills itself (`SIGKILL`, as `kill -9`: no clean-up runs), so that tests
/// can check what the next render makes of what is left. Only with debug assertions.
#[cfg(debug_assertions)]
pub const KILL_ENV: &str = "MODELGEN_TEST_KILL_AFTER";

/// The faults the test hooks inject into a write.
#[cfg(debug_assertions)]
struct Faults {
    fail_after: Option<usize>,
    kill_after: Option<usize>,
}

#[cfg(debug_assertions)]
impl Faults {
    fn from_env() -> Self {
        let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
        Self { fail_after: number(FAULT_ENV), kill_after: number(KILL_ENV) }
    }

    /// Fails or kills the process before the file after the first `written`.
    fn before_write(&self, written: usize, relative: &str) -> Result<()> {
        if self.fail_after.is_some_and(|n| written >= n) {
            bail!("cannot write `{relative}`: injected failure ({FAULT_ENV})");
        }
        if self.kill_after.is_some_and(|n| written >= n) {
            // SAFETY: `kill` of this very process, which ends here.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
        Ok(())
    }
}

/// What the names of staging directories beside `target` start with.
fn prefix(target: &Path) -> String {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(".{name}.modelgen-")
}

/// The directory `target` is in (`.` for a bare name).
fn parent_of(target: &Path) -> Result<PathBuf> {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => Ok(p.to_path_buf()),
        Some(_) => Ok(PathBuf::from(".")),
        None => bail!("`{}` has no parent directory to write beside", escape::value(&target.to_string_lossy())),
    }
}

/// Whether the directory `path` is itself a mount point.
pub fn is_mount_point(path: &Path) -> Result<bool> {
    let shown = escape::value(&path.to_string_lossy()).into_owned();
    let parent = Root::open(&parent_of(path)?).with_context(|| format!("cannot open the parent of `{shown}`"))?;
    let name = path.file_name().with_context(|| format!("`{shown}` has no name"))?;
    parent.is_mount_point(name).with_context(|| format!("cannot stat `{shown}`"))
}

/// A directory being filled beside the output directory.
pub struct Staging {
    /// Where it is; `None` once it has been moved into place or removed.
    path: Option<PathBuf>,
    /// Held open and locked while this render runs.
    _lock: OwnedFd,
    written: usize,
    #[cfg(debug_assertions)]
    faults: Faults,
}

impl Staging {
    /// A new, empty staging directory beside `existing`, with the same permissions.
    pub fn beside(existing: &Existing) -> Result<Self> {
        let target = &existing.path;
        let parent = parent_of(target)?;
        let shown_parent = escape::value(&parent.to_string_lossy()).into_owned();
        fs::create_dir_all(&parent).with_context(|| format!("cannot create `{shown_parent}`"))?;
        let path = tempfile::Builder::new()
            .prefix(&prefix(target))
            .tempdir_in(&parent)
            .with_context(|| format!("cannot create a temporary directory in `{shown_parent}`"))?
            .keep();
        let shown = escape::value(&path.to_string_lossy()).into_owned();
        // From here on, `Drop` removes it if the write does not finish.
        let lock = rustix::fs::open(&path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .and_then(|fd| rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).map(|()| fd));
        let lock = match lock {
            Ok(fd) => fd,
            Err(e) => {
                let _ = remove_path(&path);
                return Err(io::Error::from(e)).with_context(|| format!("cannot lock `{shown}`"));
            }
        };
        let staging = Self {
            path: Some(path.clone()),
            _lock: lock,
            written: 0,
            #[cfg(debug_assertions)]
            faults: Faults::from_env(),
        };
        let mode = if existing.exists {
            fs::metadata(target)
                .with_context(|| format!("cannot stat `{}`", escape::value(&target.to_string_lossy())))?
                .permissions()
                .mode()
        } else {
            0o755
        };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the permissions of `{shown}`"))?;
        Ok(staging)
    }

    fn dir(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Writes one file (creating its parent directories).
    pub fn write(&mut self, relative: &str, contents: &[u8]) -> Result<()> {
        #[cfg(debug_assertions)]
        self.faults.before_write(self.written, relative)?;
        let path = self.dir().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", escape::value(&parent.to_string_lossy())))?;
        }
        fs::write(&path, contents)
            .with_context(|| format!("cannot write `{}`", escape::value(&path.to_string_lossy())))?;
        self.written += 1;
        Ok(())
    }

    /// Carries an entry modelgen does not own over from the old directory,
    /// untouched: files are hard links to the same inode (same contents,
    /// times and permissions), symlinks are recreated, directories get the
    /// same permissions.
    pub fn keep(&mut self, old: &Path, relative: &str, entry: Entry) -> Result<()> {
        let from = old.join(relative);
        let to = self.dir().join(relative);
        let what = || format!("cannot keep `{}`", escape::value(&from.to_string_lossy()));
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
    pub fn swap_into(mut self, existing: &Existing) -> Result<Option<PathBuf>> {
        let target = &existing.path;
        let shown = escape::value(&target.to_string_lossy()).into_owned();
        let staging = self.dir().to_path_buf();
        if !existing.exists {
            fs::rename(&staging, target).with_context(|| format!("cannot move the output into `{shown}`"))?;
            self.path = None;
            return Ok(None);
        }
        match exchange(&staging, target) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP)) => {
                two_step_swap(&staging, target)?;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot swap the new output into `{shown}`")),
        }
        // The staging path now holds the old contents.
        self.path = None;
        match remove_path(&staging) {
            Ok(()) => Ok(None),
            Err(_) => Ok(Some(staging)),
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = remove_path(&path);
        }
    }
}

/// Removes the staging directories beside the output whose render is no
/// longer running (their lock is free): what a killed render left. Best
/// effort: one that cannot be removed now is tried again next time. While
/// the output directory is missing, an old version moved aside (`-old`, by
/// a swap in two steps that was killed halfway) may be the only copy of
/// the user's files, and is kept.
pub fn remove_stale(existing: &Existing) {
    let Ok(parent) = parent_of(&existing.path) else { return };
    let prefix = prefix(&existing.path);
    let Ok(dir) = Root::open(&parent) else { return };
    let Ok(entries) = dir.entries() else { return };
    let uid = crate::private_dir::current_uid();
    for (name, kind) in entries {
        if kind != Kind::Dir || !name.as_bytes().starts_with(prefix.as_bytes()) {
            continue;
        }
        if !existing.exists && name.as_bytes().ends_with(b"-old") {
            continue;
        }
        // Only what this user made, and never a mount.
        let owned = rustix::fs::statat(dir.fd(), &name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|s| s.st_uid == uid);
        if !owned || dir.is_mount_point(&name).unwrap_or(true) {
            continue;
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::openat(dir.fd(), &name, flags, Mode::empty()) else { continue };
        // A render in progress holds its lock; a killed one does not.
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
            let _ = remove_tree(dir.fd(), &name);
        }
    }
}

/// Removes the directory `path` and everything in it (see [`remove_tree`]).
fn remove_path(path: &Path) -> io::Result<()> {
    let parent = parent_of(path).map_err(io::Error::other)?;
    let name = path.file_name().ok_or_else(|| io::Error::other("no name"))?;
    let parent = Root::open(&parent)?;
    remove_tree(parent.fd(), name)
}

/// Removes the directory entry `name` of `parent` and everything under it,
/// never following a link (a link is removed, not its target) and never
/// entering a mount (which is left, so removing its parents fails). Entries
/// that vanish meanwhile (a concurrent clean-up) are no error.
fn remove_tree(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir = match rustix::fs::openat(parent, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut names: Vec<OsString> = Vec::new();
    for entry in rustix::fs::Dir::read_from(&dir)? {
        let entry = entry?;
        let bytes = entry.file_name().to_bytes();
        if bytes != b"." && bytes != b".." {
            names.push(OsStr::from_bytes(bytes).to_os_string());
        }
    }
    let mut first_error = None;
    for child in names {
        let result = match rustix::fs::statat(&dir, &child, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Directory => {
                if safe_path::is_mount_point_at(dir.as_fd(), &child)? {
                    Err(io::Error::other("a mount point is never emptied"))
                } else {
                    remove_tree(dir.as_fd(), &child)
                }
            }
            Ok(_) => unlink(dir.as_fd(), &child, AtFlags::empty()),
            Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    unlink(parent, name, AtFlags::REMOVEDIR)
}

fn unlink(dir: BorrowedFd<'_>, name: &OsStr, flags: AtFlags) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, flags) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Exchanges two directories atomically.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

/// Where the system cannot exchange: move the old directory aside, move the
/// new one in, and put the old one back if that fails. `staging` ends up
/// holding the old contents, as after an exchange. The aside name starts
/// like a staging directory's, so that a render killed in between leaves
/// nothing the next one does not clean.
fn two_step_swap(staging: &Path, target: &Path) -> Result<()> {
    let mut aside = staging.as_os_str().to_os_string();
    aside.push("-old");
    let aside = PathBuf::from(aside);
    let shown = escape::value(&target.to_string_lossy()).into_owned();
    fs::rename(target, &aside).with_context(|| format!("cannot move `{shown}` aside"))?;
    if let Err(e) = fs::rename(staging, target) {
        let _ = fs::rename(&aside, target);
        return Err(e).with_context(|| format!("cannot move the new output into `{shown}`"));
    }
    fs::rename(&aside, staging)
        .with_context(|| format!("cannot clean up `{}`", escape::value(&aside.to_string_lossy())))
}
