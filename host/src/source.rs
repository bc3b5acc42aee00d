//! Finding spec files: a walk of the application directory that reads only what it should.
//!
//! Only regular `.yaml`/`.yml` files that mention the `modelgen.dev/` API
//! group are passed to the plugin; other YAML in the directory is not ours.
//! Hidden entries (`.git`, `.github`, ...) are skipped. A symlink is
//! followed only to a file inside the application root: Argo CD has had
//! several CVEs from tools that followed links out of the repository.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Default cap on the bytes of spec files read, so that a stray dump in the
/// repository cannot eat the render's memory.
pub const DEFAULT_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// Default cap on the number of spec files read.
pub const DEFAULT_MAX_FILES: usize = 20_000;

/// Caps on what [`discover`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLimits {
    /// Total bytes of spec files (and so the largest one file may be).
    pub max_bytes: u64,
    /// Number of spec files.
    pub max_files: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self { max_bytes: DEFAULT_MAX_BYTES, max_files: DEFAULT_MAX_FILES }
    }
}

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
pub fn discover(path: &Path, limits: InputLimits) -> Result<Sources> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut budget = Budget { limits, bytes: 0 };
    if meta.is_file() {
        let root = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = path.file_name().context("the path has no file name")?.to_string_lossy().into_owned();
        let contents = budget.read(path, &name, meta.len())?;
        return Ok(Sources { root, files: vec![SourceFile { path: name, contents }] });
    }
    let root = fs::canonicalize(path).with_context(|| format!("cannot resolve `{}`", path.display()))?;
    let mut files = Vec::new();
    walk(&root, &root, "", &mut files, &mut budget)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Sources { root: path.to_path_buf(), files })
}

/// What is left of the input limits while walking.
struct Budget {
    limits: InputLimits,
    bytes: u64,
}

impl Budget {
    fn read(&mut self, path: &Path, relative: &str, len: u64) -> Result<Vec<u8>> {
        self.bytes = self.bytes.saturating_add(len);
        if self.bytes > self.limits.max_bytes {
            bail!(
                "reading `{relative}` ({len} bytes) would take the spec files past the limit of {} bytes (raise it with `--max-input-bytes`)",
                self.limits.max_bytes
            );
        }
        // Read at most what was budgeted, even if the file grows meanwhile.
        let mut contents = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        fs::File::open(path)?.take(len.saturating_add(1)).read_to_end(&mut contents)?;
        if contents.len() as u64 > len {
            bail!("`{relative}` changed while it was being read");
        }
        Ok(contents)
    }
}

fn walk(root: &Path, dir: &Path, prefix: &str, files: &mut Vec<SourceFile>, budget: &mut Budget) -> Result<()> {
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
            walk(root, &entry.path(), &relative, files, budget)?;
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
        let contents =
            budget.read(&path, &relative, meta.len()).with_context(|| format!("cannot read `{relative}`"))?;
        if contents.windows(MARKER.len()).any(|w| w == MARKER) {
            if files.len() >= budget.limits.max_files {
                bail!(
                    "the application has more than {} spec files (raise the limit with `--max-files`)",
                    budget.limits.max_files
                );
            }
            files.push(SourceFile { path: relative, contents });
        } else {
            // Only spec files count against the byte budget.
            budget.bytes -= meta.len();
        }
    }
    Ok(())
}

/// Reads a file the project names (a patch file) under the rules spec files
/// follow: inside the application root once symlinks are resolved, a regular
/// file, within the byte limit. `Ok(None)` when it does not exist (the plugin
/// reports that, at the line that names it).
pub fn read_reference(root: &Path, relative: &str, limits: InputLimits) -> Result<Option<SourceFile>> {
    let root = fs::canonicalize(root).with_context(|| format!("cannot resolve `{}`", root.display()))?;
    let path = root.join(relative);
    if fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let target = fs::canonicalize(&path).with_context(|| format!("`{relative}` is a broken symlink"))?;
    if !target.starts_with(&root) {
        bail!("`{relative}` leads outside the application directory (through a symlink); refusing to read it");
    }
    let meta = fs::metadata(&target).with_context(|| format!("cannot stat `{relative}`"))?;
    if !meta.is_file() {
        bail!("`{relative}` is not a regular file; refusing to read it");
    }
    let mut budget = Budget { limits, bytes: 0 };
    let contents = budget.read(&target, relative, meta.len()).with_context(|| format!("cannot read `{relative}`"))?;
    Ok(Some(SourceFile { path: relative.to_owned(), contents }))
}
