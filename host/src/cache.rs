//! The on-disk cache of compiled plugin code, so a warm render skips the compiler.
//!
//! Compiling the component with Cranelift takes hundreds of milliseconds;
//! loading the machine code it produced (memory-mapped) takes well under one.
//! Entries are keyed by the component's SHA-256 and by the engine's
//! compatibility hash (wasmtime version, target, and every setting that
//! changes the code, such as fuel metering). Entries are written to a
//! temporary file and renamed into place, so concurrent renders (Argo CD runs
//! several) never see half a file. Only files this host wrote are loaded:
//! the directory is private to the user, and an entry that is not a regular
//! file owned by the current user and writable only by them is ignored.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::runtime::Wasm;

/// A directory of compiled components.
#[derive(Clone, Debug)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/modelgen`, else `$HOME/.cache/modelgen`, else a
    /// per-user directory under the system's temporary directory.
    pub fn default_dir() -> PathBuf {
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(xdg) = non_empty("XDG_CACHE_HOME") {
            return PathBuf::from(xdg).join("modelgen");
        }
        if let Some(home) = non_empty("HOME") {
            return PathBuf::from(home).join(".cache").join("modelgen");
        }
        std::env::temp_dir().join(format!("modelgen-{}", current_uid()))
    }

    /// The directory holding the entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compiled component for `wasm`: from the cache when a valid entry
    /// exists (memory-mapped, the fastest load), else from `prebuilt` (the
    /// machine code the build made for the built-in plugin) or compiled now,
    /// and stored. A cache that cannot be written (read-only home, full disk)
    /// costs speed, never the render.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &Wasm<'_>) -> Result<Component> {
        let path = self.entry_path(engine, &wasm.sha256);
        if let Some(component) = self.load(engine, &path) {
            return Ok(component);
        }
        if let Some(bytes) = wasm.prebuilt {
            // Best effort: failing to store only makes the next render slower.
            let _ = self.store(&path, bytes);
            if let Some(component) = self.load(engine, &path) {
                return Ok(component);
            }
        }
        let note =
            format!("note: compiling the plugin for this machine (once: it is cached in `{}`)", self.dir.display());
        let component = compile(engine, wasm.bytes, &note)?;
        if let Ok(bytes) = component.serialize() {
            let _ = self.store(&path, &bytes);
        }
        Ok(component)
    }

    /// Where the entry for the component with digest `sha256`, compiled by `engine`, lives.
    pub fn entry_path(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut key = Sha256::new();
        key.update(sha256);
        key.update(crate::engine::compatibility_key(engine));
        let hex = crate::engine::hex(&key.finalize()[..20]);
        self.dir.join(format!("{hex}.cwasm"))
    }

    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let meta = fs::symlink_metadata(path).ok()?;
        let uid = current_uid();
        let trusted =
            meta.file_type().is_file() && meta.uid() == uid && meta.mode() & 0o022 == 0 && self.dir_is_private(uid);
        if !trusted {
            return None;
        }
        // SAFETY: wasmtime requires that the file was produced by
        // `serialize` of a compatible engine. The checks above ensure this
        // host wrote it (a private directory, an entry owned by this user and
        // writable by no one else); the key covers engine compatibility, and
        // wasmtime re-checks its header and version on load.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize_file(engine, path) };
        component.ok()
    }

    fn dir_is_private(&self, uid: u32) -> bool {
        fs::symlink_metadata(&self.dir).is_ok_and(|m| m.is_dir() && m.uid() == uid && m.mode() & 0o022 == 0)
    }

    fn store(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir).context("create the cache directory")?;
        let mut file =
            tempfile::Builder::new().prefix(".tmp-").tempfile_in(&self.dir).context("create a temporary cache file")?;
        file.write_all(bytes).context("write the cache entry")?;
        file.as_file().set_permissions(fs::Permissions::from_mode(0o600)).context("restrict the cache entry")?;
        file.persist(path).context("move the cache entry into place")?;
        Ok(())
    }
}

impl CompileCache {
    /// Whether a verdict with this key was recorded: the exact output it
    /// names was already checked against the exact schemas it names.
    pub fn has_verdict(&self, key: &str) -> bool {
        let path = self.dir.join("verdicts").join(key);
        let uid = current_uid();
        fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.uid() == uid) && self.dir_is_private(uid)
    }

    /// Records a verdict (best effort, like compiled entries).
    pub fn record_verdict(&self, key: &str) {
        let dir = self.dir.join("verdicts");
        let stored = fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).and_then(|()| {
            let file = tempfile::Builder::new().prefix(".tmp-").tempfile_in(&dir)?;
            file.persist(dir.join(key)).map(drop).map_err(|e| e.error)
        });
        drop(stored);
    }
}

/// Compiles a component; when that takes over a second (a large
/// `--plugin` component, on a busy machine), `note` says so on stderr, so
/// that a first render does not look hung.
pub fn compile(engine: &Engine, wasm: &[u8], note: &str) -> Result<Component> {
    with_progress(Duration::from_secs(1), note, std::io::stderr(), || Component::new(engine, wasm))
        .map_err(anyhow::Error::from)
        .context("compile the plugin component")
}

/// Runs `work`; if it is still running after `after`, writes `note` to `out`.
fn with_progress<T>(after: Duration, note: &str, mut out: impl Write + Send, work: impl FnOnce() -> T) -> T {
    let (done, finished) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            if finished.recv_timeout(after) == Err(mpsc::RecvTimeoutError::Timeout) {
                let _ = writeln!(out, "{note}");
            }
        });
        let result = work();
        drop(done);
        result
    })
}

fn current_uid() -> u32 {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends each write to a channel.
    struct Lines(mpsc::Sender<String>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(String::from_utf8_lossy(bytes).into_owned());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn slow_work_is_announced_while_it_runs() {
        let (sender, written) = mpsc::channel();
        // The work ends only once the note was written: no clock involved.
        let seen = with_progress(Duration::ZERO, "note: compiling", Lines(sender), || written.recv().expect("a note"));
        assert_eq!(seen, "note: compiling");
    }

    #[test]
    fn quick_work_is_not_announced() {
        let (sender, written) = mpsc::channel();
        let result = with_progress(Duration::from_hours(1), "note: compiling", Lines(sender), || 7);
        assert_eq!(result, 7);
        assert!(written.try_iter().next().is_none(), "nothing is written");
    }
}
