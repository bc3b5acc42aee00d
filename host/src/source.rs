//! Finding spec files: a walk of the application directory that reads only what it should.
//!
//! Only regular `.yaml`/`.yml` files that mention the `modelgen.dev/` API
//! group are passed to the plugin; other YAML in the directory is not ours.
//! Hidden entries (`.git`, `.github`, ...) are skipped. A symlink is
//! followed only to a file inside the application root: Argo CD has had
//! several CVEs from tools that followed links out of the repository.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The largest file read, so that a stray dump in the repository cannot eat the render's memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The marker a file must contain to be passed to the plugin.
const MARKER: &[u8] = b"modelgen.dev/";

/// A file read from the application directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the application root, `/`-separated.
    pub path: String,
    /// The raw bytes.
    pub contents: Vec<u8>,
}

/// What to render: a directory, or one file in it.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The application root; paths are relative to it.
    pub root: PathBuf,
    /// The spec files found, sorted by path.
    pub files: Vec<SourceFile>,
}

/// Reads the spec files under `path` (a directory, or a single file).
pub fn discover(path: &Path) -> Result<Sources> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if meta.is_file() {
        let root = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = path.file_name().context("the path has no file name")?.to_string_lossy().into_owned();
        let contents = read_regular(path, meta.len())?;
        return Ok(Sources { root, files: vec![SourceFile { path: name, contents }] });
    }
    let root = fs::canonicalize(path).with_context(|| format!("cannot resolve `{}`", path.display()))?;
    let mut files = Vec::new();
    walk(&root, &root, "", &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Sources { root: path.to_path_buf(), files })
}

fn walk(root: &Path, dir: &Path, prefix: &str, files: &mut Vec<SourceFile>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("cannot list `{}`", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list `{}`", dir.display()))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!("`{}` has a file name that is not UTF-8", entry.path().display());
        };
        if name.starts_with('.') {
            continue;
        }
        let relative = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") };
        let file_type = entry.file_type().with_context(|| format!("cannot stat `{relative}`"))?;
        if file_type.is_dir() {
            walk(root, &entry.path(), &relative, files)?;
            continue;
        }
        let is_yaml = Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if !is_yaml {
            continue;
        }
        let path = entry.path();
        if file_type.is_symlink() {
            let target = fs::canonicalize(&path).with_context(|| format!("`{relative}` is a broken symlink"))?;
            if !target.starts_with(root) {
                bail!(
                    "`{relative}` is a symlink to `{}`, outside the application directory; refusing to read it",
                    target.display()
                );
            }
            if target.is_dir() {
                continue; // Directories are walked once, where they really are.
            }
        }
        let meta = fs::metadata(&path).with_context(|| format!("cannot stat `{relative}`"))?;
        if !meta.is_file() {
            bail!("`{relative}` is not a regular file (a FIFO, socket or device); refusing to read it");
        }
        let contents = read_regular(&path, meta.len()).with_context(|| format!("cannot read `{relative}`"))?;
        if contents.windows(MARKER.len()).any(|w| w == MARKER) {
            files.push(SourceFile { path: relative, contents });
        }
    }
    Ok(())
}

fn read_regular(path: &Path, len: u64) -> Result<Vec<u8>> {
    if len > MAX_FILE_BYTES {
        bail!("`{}` is {len} bytes, more than the {MAX_FILE_BYTES}-byte limit for a spec file", path.display());
    }
    Ok(fs::read(path)?)
}
