//! What an output directory holds before a render: every entry, which of them modelgen owns, and what it must not overwrite.
//!
//! The directory may come from a pull request (CI checks `rendered/` with
//! `--check`), so it is read like any input: beneath the directory through
//! no link ([`crate::input::safe_path`]), with what is read counted against the
//! input limits.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::owned;
use crate::escape;
use crate::input::safe_path::{Kind, Refusal, Root, entry_is_mount_point};
use crate::input::source::Budget;

/// The kind of an entry, as found (symlinks are never followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A regular file, FIFO, socket or device.
    File,
}

/// An output directory as it stands.
#[derive(Debug)]
pub struct Existing {
    /// The directory (symlinks resolved), whether or not it exists.
    pub path: PathBuf,
    /// Whether it exists.
    pub exists: bool,
    /// The directory, open, when it exists: everything in it is read beneath it.
    pub root: Option<Root>,
    /// Every entry under it by relative `/`-separated path, except the ownership manifest.
    pub entries: BTreeMap<String, Entry>,
    /// Entries under it on which another file system is mounted (or a file bound).
    pub mounts: Vec<String>,
    /// The files the previous render wrote (empty without a manifest).
    pub owned: BTreeSet<String>,
    /// Whether an ownership manifest was found.
    pub has_manifest: bool,
}

impl Existing {
    /// Looks at `dir`: it may be missing, but if it exists it must be a
    /// directory (or a symlink to one) with a readable ownership manifest,
    /// which is read within `budget`.
    pub fn scan(dir: &Path, budget: &mut Budget) -> Result<Self> {
        let shown = escape::value(&dir.to_string_lossy()).into_owned();
        let path = match fs::symlink_metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: dir.to_path_buf(),
                    exists: false,
                    root: None,
                    entries: BTreeMap::new(),
                    mounts: Vec::new(),
                    owned: BTreeSet::new(),
                    has_manifest: false,
                });
            }
            Err(e) => return Err(e).with_context(|| format!("cannot use `{shown}` as the output directory")),
            Ok(meta) if meta.file_type().is_symlink() => {
                // Swap the directory the link points to, keeping the link.
                let target = fs::canonicalize(dir).with_context(|| format!("`{shown}` is a broken symlink"))?;
                if !target.is_dir() {
                    bail!(
                        "`{shown}` is a symlink to `{}`, which is not a directory",
                        escape::value(&target.to_string_lossy())
                    );
                }
                target
            }
            Ok(meta) if !meta.is_dir() => bail!("`{shown}` is a file, not a directory"),
            Ok(_) => dir.to_path_buf(),
        };
        let root = Root::open(&path).with_context(|| format!("cannot open `{shown}`"))?;
        let mut entries = BTreeMap::new();
        let mut mounts = Vec::new();
        walk(&root, "", &mut entries, &mut mounts).with_context(|| format!("cannot list `{shown}`"))?;
        let manifest = escape::value(&path.join(owned::FILE).to_string_lossy()).into_owned();
        let (owned, has_manifest) = match root.file(owned::FILE) {
            Ok(file) => {
                let bytes = budget.read(file, &manifest)?;
                let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("it is not UTF-8"));
                let owned = text
                    .and_then(|t| owned::parse(&t))
                    .with_context(|| format!("`{manifest}` is not an ownership manifest modelgen can read"))?;
                (owned, true)
            }
            Err(Refusal::NotFound) => (BTreeSet::new(), false),
            Err(e) => bail!("cannot read `{manifest}`: {e}"),
        };
        entries.remove(owned::FILE);
        Ok(Self { path, exists: true, root: Some(root), entries, mounts, owned, has_manifest })
    }

    /// Reads the regular file `relative` in the directory within `budget`.
    /// The inner error says why it was not read: missing, or not a regular
    /// file reached through no link.
    pub fn read(&self, relative: &str, budget: &mut Budget) -> Result<Result<Vec<u8>, Refusal>> {
        let Some(root) = &self.root else { return Ok(Err(Refusal::NotFound)) };
        let shown = escape::value(&self.path.join(relative).to_string_lossy()).into_owned();
        match root.file(relative) {
            Ok(file) => Ok(Ok(budget.read(file, &shown)?)),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    /// The bytes of the regular file `relative` if it holds exactly `len`
    /// bytes (a file of another size cannot be the same as `len` bytes, and
    /// is not read).
    pub fn read_if_size(&self, relative: &str, len: usize) -> Option<Vec<u8>> {
        let file = self.root.as_ref()?.file(relative).ok()?;
        if file.metadata().ok()?.len() != len as u64 {
            return None;
        }
        let mut bytes = Vec::with_capacity(len);
        file.take(len as u64 + 1).read_to_end(&mut bytes).ok()?;
        (bytes.len() == len).then_some(bytes)
    }

    /// The paths among `writes` where something modelgen does not own
    /// stands in the way: the path itself, or a parent that is not a plain
    /// directory. Writing there would destroy a file modelgen did not write.
    pub fn conflicts<'a>(&self, writes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut conflicts = BTreeSet::new();
        for path in writes {
            if self.entries.contains_key(path) && !self.owned.contains(path) {
                conflicts.insert(path.to_owned());
            }
            for (i, _) in path.match_indices('/') {
                let parent = &path[..i];
                match self.entries.get(parent) {
                    Some(Entry::Dir) | None => {}
                    Some(_) if self.owned.contains(parent) => {}
                    Some(_) => {
                        conflicts.insert(parent.to_owned());
                    }
                }
            }
        }
        conflicts.into_iter().collect()
    }

    /// The entries the next version of the directory keeps as they are:
    /// everything modelgen does not own, plus empty directories (modelgen
    /// never leaves one behind, so an empty directory is someone else's).
    /// A directory is kept when anything under it is.
    pub fn foreign(&self) -> Vec<(&str, Entry)> {
        let mut keep: BTreeSet<&str> = BTreeSet::new();
        for (path, entry) in &self.entries {
            let empty_dir = *entry == Entry::Dir && !self.has_children(path);
            if empty_dir || (*entry != Entry::Dir && !self.owned.contains(path)) {
                keep.insert(path);
                for (i, _) in path.match_indices('/') {
                    keep.insert(&path[..i]);
                }
            }
        }
        // `BTreeSet` order puts a directory before what it holds.
        keep.into_iter().map(|path| (path, self.entries[path])).collect()
    }

    fn has_children(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.entries.range(prefix.clone()..).next().is_some_and(|(path, _)| path.starts_with(&prefix))
    }
}

fn walk(dir: &Root, prefix: &str, entries: &mut BTreeMap<String, Entry>, mounts: &mut Vec<String>) -> io::Result<()> {
    let device = dir.device()?;
    for (name, kind) in dir.entries()? {
        let Some(text) = name.to_str() else {
            let shown = escape::value(&dir.path().join(&name).to_string_lossy()).into_owned();
            return Err(io::Error::other(format!("`{shown}` has a name that is not UTF-8")));
        };
        let relative = if prefix.is_empty() { text.to_owned() } else { format!("{prefix}/{text}") };
        // A mount (a volume on a directory, a file bound in place) is never
        // walked, moved or emptied.
        let mounted = kind != Kind::Symlink && entry_is_mount_point(dir.fd(), &name, device)?;
        if mounted {
            mounts.push(relative.clone());
        }
        let kind = match kind {
            Kind::Dir => {
                if !mounted {
                    let child = dir.child_dir(&name).map_err(|e| io::Error::other(e.to_string()))?;
                    walk(&child, &relative, entries, mounts)?;
                }
                Entry::Dir
            }
            Kind::Symlink => Entry::Symlink,
            Kind::File | Kind::Other => Entry::File,
        };
        entries.insert(relative, kind);
    }
    Ok(())
}
