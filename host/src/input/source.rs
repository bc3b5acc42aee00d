//! Finding spec files: a walk of the application directory that reads only what it should.
//!
//! Only regular `.yaml`/`.yml` files that mention the API group of one of
//! the plugin's kinds ([`Kinds`]) are passed to it; other YAML in the
//! directory is not its, and does not count against the input limits. Hidden entries (`.git`,
//! `.github`, ...) are skipped. Every file is opened beneath the root
//! without following a link at any component ([`crate::input::safe_path`]); a
//! symbolic link that is itself a spec file is followed once, to the file
//! its text names inside the root (never hidden, never through another
//! link): Argo CD has had several CVEs from tools that followed links out
//! of the repository.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::escape;
use crate::input::kinds::Kinds;
use crate::input::safe_path::{self, Kind, Refusal, Root};

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

/// How much of a YAML file is kept while looking for a marker: beyond it,
/// a file is only scanned (and read again from the start if it turns out to
/// be a spec), so that a large file that is not a spec costs no memory.
const SNIFF_BYTES: usize = 1024 * 1024;

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
    /// What is left of the input limits: the files the project names are
    /// read from the same budget.
    pub budget: Budget,
}

/// The input limits and what has been read against them: one budget for
/// every file a command reads (spec files, patch files, rendered files).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    limits: InputLimits,
    used: u64,
}

impl Budget {
    /// A budget with nothing read yet.
    pub fn new(limits: InputLimits) -> Self {
        Self { limits, used: 0 }
    }

    /// The limits.
    pub fn limits(&self) -> InputLimits {
        self.limits
    }

    /// Reads all of `file` (named `shown` in messages), counting it.
    pub fn read(&mut self, mut file: File, shown: &str) -> Result<Vec<u8>> {
        let mut contents = Vec::new();
        self.read_rest(&mut file, &mut contents, shown)?;
        Ok(contents)
    }

    /// Reads the rest of `file` onto `contents` (which counts too), at most
    /// what is left of the budget, even if the file grows meanwhile.
    fn read_rest(&mut self, file: &mut File, contents: &mut Vec<u8>, shown: &str) -> Result<()> {
        let left = self.limits.max_bytes.saturating_sub(self.used);
        let have = contents.len() as u64;
        if have <= left {
            let len = file.metadata().map_or(0, |m| m.len());
            contents.reserve(usize::try_from(len.min(left).saturating_sub(have)).unwrap_or(0));
            file.take(left - have + 1).read_to_end(contents).with_context(|| format!("cannot read `{shown}`"))?;
        }
        if contents.len() as u64 > left {
            let len = file.metadata().map_or(contents.len() as u64, |m| m.len());
            bail!(
                "reading `{shown}` ({len} bytes) would take the files read past the limit of {} bytes (raise it with `--max-input-bytes`)",
                self.limits.max_bytes
            );
        }
        self.used += contents.len() as u64;
        Ok(())
    }
}

/// Reads the spec files of `kinds` under `path` (a directory, or a single
/// file, which is read whatever it holds: it was named).
pub fn discover(path: &Path, limits: InputLimits, kinds: &Kinds) -> Result<Sources> {
    let shown = escape::value(&path.to_string_lossy()).into_owned();
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read `{shown}`"))?;
    let mut budget = Budget::new(limits);
    if !meta.is_dir() {
        let root =
            path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = path.file_name().context("the path has no file name")?;
        let Some(name) = name.to_str() else { bail!("`{shown}` has a file name that is not UTF-8") };
        let dir =
            Root::open(&root).with_context(|| format!("cannot open `{}`", escape::value(&root.to_string_lossy())))?;
        let file = open_spec(&dir, name)?;
        let contents = budget.read(file, &escape::value(name))?;
        return Ok(Sources { root, files: vec![SourceFile { path: name.to_owned(), contents }], budget });
    }
    let root = Root::open(path).with_context(|| format!("cannot open `{shown}`"))?;
    let mut walk = Walk { root: &root, kinds, files: Vec::new(), budget };
    walk.dir(&root, b"").with_context(|| format!("cannot read `{shown}`"))?;
    let Walk { mut files, budget, .. } = walk;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Sources { root: path.to_path_buf(), files, budget })
}

/// A walk of the application directory.
struct Walk<'a> {
    root: &'a Root,
    kinds: &'a Kinds,
    files: Vec<SourceFile>,
    budget: Budget,
}

impl Walk<'_> {
    /// Walks `dir`, whose path relative to the root is `prefix` (bytes: a
    /// name that is not UTF-8 matters only if a spec lies under it).
    fn dir(&mut self, dir: &Root, prefix: &[u8]) -> Result<()> {
        let entries = dir.entries().with_context(|| format!("cannot list `{}`", shown(prefix)))?;
        for (name, kind) in entries {
            let bytes = name.as_bytes();
            if bytes.starts_with(b".") {
                continue;
            }
            let relative = if prefix.is_empty() { bytes.to_vec() } else { [prefix, b"/", bytes].concat() };
            if kind == Kind::Dir {
                let child = dir.child_dir(&name).map_err(|e| refused(&relative, &e))?;
                self.dir(&child, &relative)?;
                continue;
            }
            if !is_yaml(bytes) {
                continue;
            }
            let file = match kind {
                Kind::File => dir.child_file(&name).map_err(|e| refused(&relative, &e))?,
                Kind::Symlink => {
                    let link = String::from_utf8_lossy(&relative).into_owned();
                    let target = dir.child_link(&name).map_err(|e| refused(&relative, &e))?;
                    match follow(self.root, &link, &target)? {
                        Some(file) => file,
                        None => continue, // Directories are walked once, where they really are.
                    }
                }
                Kind::Dir | Kind::Other => {
                    bail!(
                        "`{}` is not a regular file (a FIFO, socket or device); refusing to read it",
                        shown(&relative)
                    )
                }
            };
            if let Some(contents) = self.read_candidate(file, &relative)? {
                let Ok(path) = String::from_utf8(relative.clone()) else {
                    bail!("`{}` has a file name that is not UTF-8", shown(&relative));
                };
                if self.files.len() >= self.budget.limits.max_files {
                    bail!(
                        "the application has more than {} spec files (raise the limit with `--max-files`)",
                        self.budget.limits.max_files
                    );
                }
                self.files.push(SourceFile { path, contents });
            }
        }
        Ok(())
    }

    /// The contents of a YAML file if it is a spec file (it mentions a
    /// marker of the kinds), counted against the budget; `None` if it is
    /// not, which costs nothing against the budget whatever its size.
    fn read_candidate(&mut self, mut file: File, relative: &[u8]) -> Result<Option<Vec<u8>>> {
        let what = || format!("cannot read `{}`", shown(relative));
        // What one chunk keeps for the next, so that a marker across them is found.
        let Some(overlap) = self.kinds.longest_marker().checked_sub(1) else { return Ok(None) };
        let mut contents = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut chunk).with_context(what)?;
            let searched = contents.len().saturating_sub(overlap);
            contents.extend_from_slice(&chunk[..n]);
            if self.kinds.marks(&contents[searched..]) {
                // A spec: the rest is read within the budget.
                self.budget.read_rest(&mut file, &mut contents, &shown(relative))?;
                return Ok(Some(contents));
            }
            if n == 0 {
                return Ok(None);
            }
            if contents.len() > SNIFF_BYTES {
                break;
            }
        }
        // Large and no marker yet: scan the rest without keeping it.
        let mut tail = contents.split_off(contents.len() - overlap);
        drop(contents);
        loop {
            let n = file.read(&mut chunk).with_context(what)?;
            if n == 0 {
                return Ok(None);
            }
            tail.extend_from_slice(&chunk[..n]);
            if self.kinds.marks(&tail) {
                file.seek(SeekFrom::Start(0)).with_context(what)?;
                return self.budget.read(file, &shown(relative)).map(Some);
            }
            tail.drain(..tail.len() - overlap);
        }
    }
}

fn is_yaml(name: &[u8]) -> bool {
    Path::new(OsStr::from_bytes(name))
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// A repository path for messages: escaped and clipped.
fn shown(relative: &[u8]) -> String {
    escape::value(&String::from_utf8_lossy(relative)).into_owned()
}

fn refused(relative: &[u8], refusal: &Refusal) -> anyhow::Error {
    anyhow::anyhow!("cannot read `{}`: {refusal}", shown(relative))
}

/// Follows the symbolic link `link` (whose text is `target`) once, to a
/// regular file inside the root: `None` when it leads to a directory.
fn follow(root: &Root, link: &str, target: &Path) -> Result<Option<File>> {
    let shown_link = escape::value(link);
    let shown_target = escape::value(&target.to_string_lossy()).into_owned();
    let Some(resolved) = safe_path::lexical_target(link, target) else {
        bail!(
            "`{shown_link}` is a symlink to `{shown_target}`, outside the application directory; refusing to read it"
        );
    };
    if safe_path::is_hidden(&resolved) {
        bail!("`{shown_link}` is a symlink to `{shown_target}`, a hidden entry (such as `.git`); refusing to read it");
    }
    match root.kind(&resolved) {
        Ok(Some(Kind::Dir)) => Ok(None),
        Ok(None) => bail!("`{shown_link}` is a broken symlink (to `{shown_target}`)"),
        Ok(Some(_)) => match root.file(&resolved) {
            Ok(file) => Ok(Some(file)),
            Err(e) => bail!("`{shown_link}` is a symlink to `{shown_target}`, which cannot be read: {e}"),
        },
        Err(e) => bail!("`{shown_link}` is a symlink to `{shown_target}`, which cannot be read: {e}"),
    }
}

/// Opens the spec file `name` (a single file given on the command line) in
/// `dir`, under the walk's rules.
fn open_spec(dir: &Root, name: &str) -> Result<File> {
    let shown_name = escape::value(name);
    match dir.kind(name).map_err(|e| anyhow::anyhow!("cannot read `{shown_name}`: {e}"))? {
        Some(Kind::Symlink) => {
            let target = dir.read_link(name).map_err(|e| anyhow::anyhow!("cannot read `{shown_name}`: {e}"))?;
            follow(dir, name, &target)?.with_context(|| format!("`{shown_name}` is a symlink to a directory"))
        }
        Some(Kind::File) => {
            dir.child_file(OsStr::new(name)).map_err(|e| anyhow::anyhow!("cannot read `{shown_name}`: {e}"))
        }
        Some(_) => bail!("`{shown_name}` is not a regular file (a FIFO, socket or device); refusing to read it"),
        None => bail!("cannot read `{shown_name}`: it does not exist"),
    }
}

/// Reads a file the project names (a patch file) under the rules spec files
/// follow: beneath the application root, through no link but a spec-like
/// one at its last component, never from a hidden entry (`.git/config`),
/// a regular file, within what is left of `budget`. `Ok(None)` when it does
/// not exist (the plugin reports that, at the line that names it).
pub fn read_reference(root: &Path, relative: &str, budget: &mut Budget) -> Result<Option<SourceFile>> {
    let shown_path = escape::value(relative);
    if !safe_path::is_relative(relative) {
        bail!("`{shown_path}` is not a path inside the application directory; refusing to read it");
    }
    if safe_path::is_hidden(relative) {
        bail!("`{shown_path}` is in a hidden entry (such as `.git`), which modelgen never reads; refusing to read it");
    }
    let dir = Root::open(root).with_context(|| format!("cannot open `{}`", escape::value(&root.to_string_lossy())))?;
    let file = match dir.kind(relative) {
        Ok(None) | Err(Refusal::NotFound) => return Ok(None),
        Ok(Some(Kind::Symlink)) => {
            let target = dir.read_link(relative).map_err(|e| anyhow::anyhow!("cannot read `{shown_path}`: {e}"))?;
            match safe_path::lexical_target(relative, &target) {
                Some(_) => follow(&dir, relative, &target)?
                    .with_context(|| format!("`{shown_path}` is a symlink to a directory"))?,
                None => bail!(
                    "`{shown_path}` leads outside the application directory (through a symlink); refusing to read it"
                ),
            }
        }
        Ok(Some(_)) => dir.file(relative).map_err(|e| match e {
            Refusal::Link(_) => {
                anyhow::anyhow!("`{shown_path}` leads outside the application directory or through a symlink ({e}); refusing to read it")
            }
            e => anyhow::anyhow!("cannot read `{shown_path}`: {e}"),
        })?,
        Err(e @ Refusal::Link(_)) => {
            bail!("`{shown_path}` leads outside the application directory or through a symlink ({e}); refusing to read it")
        }
        Err(e) => bail!("cannot read `{shown_path}`: {e}"),
    };
    let contents = budget.read(file, &shown_path)?;
    Ok(Some(SourceFile { path: relative.to_owned(), contents }))
}
