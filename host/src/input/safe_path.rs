//! Opening files beneath a root directory without following a symbolic link at any component.
//!
//! Every read of a path that a repository controls (spec and patch files,
//! rendered files, ownership manifests, the files `--check` compares) goes
//! through [`Root`]: the path is relative, `/`-separated, without empty,
//! `.` or `..` components, and it is resolved from the root's open
//! directory refusing a symbolic link at any component: on Linux with one
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, elsewhere (or where a
//! sandbox forbids that call) one component at a time with
//! `O_NOFOLLOW | O_DIRECTORY`. Files are opened without blocking and must be
//! regular files, so that a FIFO or a device can neither hang nor flood a
//! render. The root itself is opened as the caller named it: choosing it is
//! the caller's decision, not the repository's.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};

use crate::escape;

/// What a directory entry is, without following a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

impl Kind {
    fn of(file_type: FileType) -> Self {
        match file_type {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        }
    }
}

/// Why a path beneath a root was not opened.
#[derive(Debug)]
pub enum Refusal {
    /// Nothing is there.
    NotFound,
    /// The path is not relative, or has an empty, `.` or `..` component.
    Invalid,
    /// This component (the path up to it) is a symbolic link.
    Link(String),
    /// This component before the last is not a directory.
    NotDirectory(String),
    /// The file is not a regular file (a FIFO, socket, device or directory).
    NotRegular,
    /// The system refused.
    Io(io::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotFound => f.write_str("it does not exist"),
            Refusal::Invalid => f.write_str("it is not a relative path of plain names (no `.`, `..` or empty part)"),
            Refusal::Link(at) => write!(f, "`{}` is a symbolic link, which is never followed here", escape::value(at)),
            Refusal::NotDirectory(at) => write!(f, "`{}` is not a directory", escape::value(at)),
            Refusal::NotRegular => f.write_str("it is not a regular file (a directory, FIFO, socket or device)"),
            Refusal::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Refusal {}

impl From<rustix::io::Errno> for Refusal {
    fn from(e: rustix::io::Errno) -> Self {
        if e == rustix::io::Errno::NOENT { Refusal::NotFound } else { Refusal::Io(e.into()) }
    }
}

/// An open directory that paths are resolved beneath.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens the directory `path` (following links in `path` itself, which
    /// the caller chose).
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::openat(CWD, path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Self { fd, path: path.to_path_buf() })
    }

    /// The path it was opened at (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its file descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The directory `relative` beneath this one.
    pub fn dir(&self, relative: &str) -> Result<Root, Refusal> {
        let components = components(relative)?;
        let fd = match self.resolve(&components)? {
            Some(fd) => fd,
            None => rustix::io::dup(&self.fd)?,
        };
        Ok(Root { fd, path: self.path.join(relative) })
    }

    /// The directory entry `name` of this directory, which must be a
    /// directory itself (not a link to one).
    pub fn child_dir(&self, name: &OsStr) -> Result<Root, Refusal> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Root { fd, path: self.path.join(name) }),
            Err(error) => Err(classify(self.fd.as_fd(), name, &name.to_string_lossy(), error)),
        }
    }

    /// Opens the regular file `relative` for reading.
    pub fn file(&self, relative: &str) -> Result<File, Refusal> {
        let (parent, leaf) = self.parent_of(relative)?;
        let parent = parent.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
        open_regular(parent, OsStr::new(leaf), relative)
    }

    /// Opens the directory entry `name` of this directory, a regular file, for reading.
    pub fn child_file(&self, name: &OsStr) -> Result<File, Refusal> {
        open_regular(self.fd.as_fd(), name, &name.to_string_lossy())
    }

    /// What `relative` is, without following a link at its last component;
    /// `None` when nothing is there.
    pub fn kind(&self, relative: &str) -> Result<Option<Kind>, Refusal> {
        let (parent, leaf) = match self.parent_of(relative) {
            Ok(found) => found,
            Err(Refusal::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let parent = parent.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
        match rustix::fs::statat(parent, leaf, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(Kind::of(FileType::from_raw_mode(stat.st_mode)))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(Refusal::from(e)),
        }
    }

    /// The target of the symbolic link `relative`.
    pub fn read_link(&self, relative: &str) -> Result<PathBuf, Refusal> {
        let (parent, leaf) = self.parent_of(relative)?;
        let parent = parent.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
        let target = rustix::fs::readlinkat(parent, leaf, Vec::new())?;
        Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
    }

    /// The target of the symbolic link that is this directory's entry `name`.
    pub fn child_link(&self, name: &OsStr) -> Result<PathBuf, Refusal> {
        let target = rustix::fs::readlinkat(&self.fd, name, Vec::new())?;
        Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
    }

    /// The entries of this directory (not `.` and `..`), sorted by name,
    /// each with what it is (not following links).
    pub fn entries(&self) -> io::Result<Vec<(OsString, Kind)>> {
        let mut entries = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            // The type the directory reports may be unknown: ask the inode.
            let kind = match entry.file_type() {
                FileType::Unknown => Kind::of(FileType::from_raw_mode(
                    rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?.st_mode,
                )),
                file_type => Kind::of(file_type),
            };
            entries.push((OsStr::from_bytes(name).to_os_string(), kind));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    }

    /// Whether the directory entry `name` is the root of a mount (a volume
    /// mounted there, or a bind mount), so that it must not be moved or
    /// emptied.
    pub fn is_mount_point(&self, name: &OsStr) -> io::Result<bool> {
        is_mount_point_at(self.fd.as_fd(), name)
    }

    /// The device this directory is on (`st_dev`).
    pub fn device(&self) -> io::Result<u64> {
        Ok(rustix::fs::fstat(&self.fd)?.st_dev)
    }

    /// The parent of `relative`'s last component (`None`: this directory) and that component.
    fn parent_of<'a>(&self, relative: &'a str) -> Result<(Option<OwnedFd>, &'a str), Refusal> {
        let mut components = components(relative)?;
        let leaf = components.pop().ok_or(Refusal::Invalid)?;
        Ok((self.resolve(&components)?, leaf))
    }

    /// Opens the directory that `components` name beneath this one, never
    /// through a link (`None` for no components: this directory itself).
    fn resolve(&self, components: &[&str]) -> Result<Option<OwnedFd>, Refusal> {
        if components.is_empty() {
            return Ok(None);
        }
        #[cfg(target_os = "linux")]
        if let Some(fd) = beneath::open(self.fd.as_fd(), &components.join("/"))? {
            return Ok(Some(fd));
        }
        // Where `openat2` cannot say which component failed, or is not
        // there: one component at a time, each refused if it is a link.
        let mut fd: Option<OwnedFd> = None;
        for (i, component) in components.iter().enumerate() {
            let parent = fd.as_ref().map_or(self.fd.as_fd(), AsFd::as_fd);
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(parent, *component, flags, Mode::empty()) {
                Ok(next) => fd = Some(next),
                Err(error) => return Err(classify(parent, OsStr::new(component), &components[..=i].join("/"), error)),
            }
        }
        Ok(fd)
    }
}

/// Why the directory entry `name` of `parent` could not be opened as a
/// directory without following a link (`at` names it in messages).
fn classify(parent: BorrowedFd<'_>, name: &OsStr, at: &str, error: rustix::io::Errno) -> Refusal {
    match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink => Refusal::Link(at.to_owned()),
        Ok(stat) if FileType::from_raw_mode(stat.st_mode) != FileType::Directory => {
            Refusal::NotDirectory(at.to_owned())
        }
        Err(rustix::io::Errno::NOENT) => Refusal::NotFound,
        _ => Refusal::from(error),
    }
}

/// Opens the entry `name` of `parent` for reading if it is a regular file
/// (`shown` names it in messages).
fn open_regular(parent: BorrowedFd<'_>, name: &OsStr, shown: &str) -> Result<File, Refusal> {
    let before = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    match Kind::of(FileType::from_raw_mode(before.st_mode)) {
        Kind::File => {}
        Kind::Symlink => return Err(Refusal::Link(shown.to_owned())),
        Kind::Dir | Kind::Other => return Err(Refusal::NotRegular),
    }
    // Never blocks (a FIFO swapped in after the check would) and never
    // becomes the controlling terminal; what is opened must be what was checked.
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(parent, name, flags, Mode::empty())
        .map_err(|e| if e == rustix::io::Errno::LOOP { Refusal::Link(shown.to_owned()) } else { Refusal::from(e) })?;
    let after = rustix::fs::fstat(&fd)?;
    if Kind::of(FileType::from_raw_mode(after.st_mode)) != Kind::File
        || (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino)
    {
        return Err(Refusal::NotRegular);
    }
    Ok(File::from(fd))
}

/// Whether the entry `name` of the directory `dir` is the root of a mount
/// (a directory, or a file bound in place): on another device, or (Linux
/// 5.8 and later) a bind mount of the same one.
pub fn is_mount_point_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
    entry_is_mount_point(dir, name, rustix::fs::fstat(dir)?.st_dev)
}

/// [`is_mount_point_at`], for a directory whose device (`st_dev`) is known:
/// one `statx` per entry.
pub fn entry_is_mount_point(dir: BorrowedFd<'_>, name: &OsStr, dir_device: u64) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{StatxAttributes, StatxFlags};
        match rustix::fs::statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS) {
            Ok(statx) => {
                let device = rustix::fs::makedev(statx.stx_dev_major, statx.stx_dev_minor);
                let root = statx.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
                    && statx.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
                return Ok(device != dir_device || root);
            }
            // Without `statx` (before Linux 4.11, some sandboxes), a bind
            // mount of the same device cannot be told apart: the device is compared.
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?.st_dev != dir_device)
}

/// The components of a relative path, or [`Refusal::Invalid`].
fn components(relative: &str) -> Result<Vec<&str>, Refusal> {
    if !is_relative(relative) {
        return Err(Refusal::Invalid);
    }
    Ok(relative.split('/').collect())
}

/// A `/`-separated path of plain components: not empty, no empty, `.` or
/// `..` component, nothing absolute, no backslash or NUL.
pub fn is_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path.split('/').all(|component| !component.is_empty() && component != "." && component != "..")
}

/// Whether any component of a relative path is hidden (starts with `.`),
/// as `.git` is: such entries are never read.
pub fn is_hidden(relative: &str) -> bool {
    relative.split('/').any(|component| component.starts_with('.'))
}

/// Resolves `target`, the text of a symbolic link at `link`, into the path
/// it names beneath the root, as the file system would if no component
/// were itself a link (which [`Root`] then refuses): `None` when it is
/// absolute or climbs out of the root.
pub fn lexical_target(link: &str, target: &Path) -> Option<String> {
    let target = target.to_str()?;
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    let resolved = parts.join("/");
    is_relative(&resolved).then_some(resolved)
}

#[cfg(target_os = "linux")]
mod beneath {
    //! `openat2`, which resolves a whole path beneath a directory in one call.

    use std::os::fd::{BorrowedFd, OwnedFd};
    use std::sync::atomic::{AtomicBool, Ordering};

    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    use super::Refusal;

    /// Set once `openat2` turned out to be missing (before Linux 5.6) or
    /// forbidden (some container sandboxes), so it is not tried again.
    static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

    /// The directory `path` beneath `dir`; `None` when the caller must walk
    /// the components itself (to find which one failed, or because the call
    /// is not available).
    pub fn open(dir: BorrowedFd<'_>, path: &str) -> Result<Option<OwnedFd>, Refusal> {
        if UNAVAILABLE.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(dir, path, flags, Mode::empty(), resolve) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Err(Refusal::NotFound),
            Err(Errno::NOSYS | Errno::PERM | Errno::INVAL) => {
                UNAVAILABLE.store(true, Ordering::Relaxed);
                Ok(None)
            }
            // A link, something that is not a directory, or a concurrent
            // rename: the walk says which.
            Err(Errno::LOOP | Errno::XDEV | Errno::NOTDIR | Errno::AGAIN) => Ok(None),
            Err(e) => Err(Refusal::from(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        std::fs::write(dir.path().join("a/b/f.yaml"), "inside\n").expect("write");
        dir
    }

    #[test]
    fn files_beneath_the_root_are_read() {
        let dir = tree();
        let root = Root::open(dir.path()).expect("root");
        let mut text = String::new();
        root.file("a/b/f.yaml").expect("open").read_to_string(&mut text).expect("read");
        assert_eq!(text, "inside\n");
        assert_eq!(root.kind("a/b").expect("kind"), Some(Kind::Dir));
        assert_eq!(root.kind("a/nothing/x").expect("kind"), None);
        assert_eq!(root.dir("a").expect("dir").entries().expect("list"), [(OsString::from("b"), Kind::Dir)]);
    }

    #[test]
    fn no_component_is_followed_through_a_link() {
        let dir = tree();
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(outside.path().join("secret"), "secret\n").expect("write");
        symlink(outside.path(), dir.path().join("a/out")).expect("symlink");
        symlink(outside.path().join("secret"), dir.path().join("a/leaf")).expect("symlink");
        symlink("b", dir.path().join("a/inside")).expect("symlink");
        let root = Root::open(dir.path()).expect("root");
        assert!(matches!(root.file("a/out/secret"), Err(Refusal::Link(at)) if at == "a/out"));
        assert!(matches!(root.file("a/leaf"), Err(Refusal::Link(at)) if at == "a/leaf"));
        assert!(matches!(root.file("a/inside/f.yaml"), Err(Refusal::Link(at)) if at == "a/inside"));
        assert!(matches!(root.dir("a/out"), Err(Refusal::Link(_))));
        assert!(matches!(root.file("a/b/f.yaml/x"), Err(Refusal::NotDirectory(at)) if at == "a/b/f.yaml"));
        for bad in ["../x", "/etc/passwd", "a//b", "./a", ""] {
            assert!(matches!(root.file(bad), Err(Refusal::Invalid)), "{bad}");
        }
        assert!(matches!(root.file("a/b"), Err(Refusal::NotRegular)));
        assert!(matches!(root.file("a/nope"), Err(Refusal::NotFound)));
    }

    #[test]
    fn link_targets_resolve_lexically_inside_the_root_only() {
        assert_eq!(lexical_target("a/l.yaml", Path::new("x.yaml")).as_deref(), Some("a/x.yaml"));
        assert_eq!(lexical_target("a/l.yaml", Path::new("../b/./x.yaml")).as_deref(), Some("b/x.yaml"));
        assert_eq!(lexical_target("a/l.yaml", Path::new("../../x.yaml")), None);
        assert_eq!(lexical_target("l.yaml", Path::new("/etc/passwd")), None);
        assert!(is_hidden("a/.git/config") && !is_hidden("a/b.yaml"));
    }
}
