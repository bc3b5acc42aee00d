//! What an output directory holds before a render: every entry, which of them modelgen owns, and what it must not overwrite.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::owned;

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
    /// Every entry under it by relative `/`-separated path, except the ownership manifest.
    pub entries: BTreeMap<String, Entry>,
    /// The files the previous render wrote (empty without a manifest).
    pub owned: BTreeSet<String>,
    /// Whether an ownership manifest was found.
    pub has_manifest: bool,
}

impl Existing {
    /// Looks at `dir`: it may be missing, but if it exists it must be a
    /// directory (or a symlink to one) with a readable ownership manifest.
    pub fn scan(dir: &Path) -> Result<Self> {
        let shown = dir.display();
        let path = match fs::symlink_metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: dir.to_path_buf(),
                    exists: false,
                    entries: BTreeMap::new(),
                    owned: BTreeSet::new(),
                    has_manifest: false,
                });
            }
            Err(e) => return Err(e).with_context(|| format!("cannot use `{shown}` as the output directory")),
            Ok(meta) if meta.file_type().is_symlink() => {
                // Swap the directory the link points to, keeping the link.
                let target = fs::canonicalize(dir).with_context(|| format!("`{shown}` is a broken symlink"))?;
                if !target.is_dir() {
                    bail!("`{shown}` is a symlink to `{}`, which is not a directory", target.display());
                }
                target
            }
            Ok(meta) if !meta.is_dir() => bail!("`{shown}` is a file, not a directory"),
            Ok(_) => dir.to_path_buf(),
        };
        let mut entries = BTreeMap::new();
        walk(&path, "", &mut entries).with_context(|| format!("cannot list `{shown}`"))?;
        let manifest = path.join(owned::FILE);
        let (owned, has_manifest) = match fs::read(&manifest) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("it is not UTF-8"));
                let owned = text.and_then(|t| owned::parse(&t)).with_context(|| {
                    format!("`{}` is not an ownership manifest modelgen can read", manifest.display())
                })?;
                (owned, true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (BTreeSet::new(), false),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", manifest.display())),
        };
        entries.remove(owned::FILE);
        Ok(Self { path, exists: true, entries, owned, has_manifest })
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

fn walk(dir: &Path, prefix: &str, entries: &mut BTreeMap<String, Entry>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(io::Error::other(format!("`{}` has a name that is not UTF-8", entry.path().display())));
        };
        let relative = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") };
        let file_type = entry.file_type()?;
        let kind = if file_type.is_dir() {
            walk(&entry.path(), &relative, entries)?;
            Entry::Dir
        } else if file_type.is_symlink() {
            Entry::Symlink
        } else {
            Entry::File
        };
        entries.insert(relative, kind);
    }
    Ok(())
}
