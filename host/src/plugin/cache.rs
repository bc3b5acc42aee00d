//! The on-disk cache of compiled plugin code, so a warm render skips the compiler.
//!
//! Compiling the component with Cranelift takes hundreds of milliseconds;
//! loading the machine code it produced takes about a millisecond. Entries
//! are keyed by the component's SHA-256 and by the engine's compatibility
//! hash (wasmtime version, target, and every setting that changes the code,
//! such as fuel metering). Entries are written to a temporary file and
//! renamed into place, so concurrent renders (Argo CD runs several) never
//! see half a file.
//!
//! Machine code is executed as it is, so an entry is loaded only when this
//! host wrote it and it is whole: the directory is private to the user (an
//! entry that is not a regular file owned by the current user and writable
//! only by them is ignored), and beside each entry (`<key>.cwasm`, exactly
//! what wasmtime serialized, so that it can be memory-mapped) lies the
//! length and CRC-32 of all its bytes (`<key>.cwasm.crc32`), checked before
//! wasmtime sees the entry: a damaged entry (a torn write, a flipped bit)
//! is replaced, never run. A cache directory that is not private (another
//! user's, or writable by others) is not used at all: the built-in
//! plugin's precompiled code is used instead, with one warning.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::component::{Wasm, deserialize_prebuilt};
use crate::escape;
use crate::private_dir::{self, Trust, current_uid};

/// What the checksum file beside an entry is called after it.
const CHECKSUM_SUFFIX: &str = ".crc32";
/// The version of the checksum file's text (`v1 <length> <crc32 hex>`).
const CHECKSUM_FORMAT: &str = "v1";

/// Whether the warning about an untrusted cache directory was printed.
static WARNED: AtomicBool = AtomicBool::new(false);

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
    /// exists, else from `prebuilt` (the machine code the build made for the
    /// built-in plugin) or compiled now, and stored. A cache that cannot be
    /// written (read-only home, full disk) or cannot be trusted costs at
    /// most the compile of a `--plugin`, never the render.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &Wasm<'_>) -> Result<Component> {
        if let Trust::Refused(why) = private_dir::trust(&self.dir) {
            if !WARNED.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "warning: the cache directory `{}` is not used: {why}; {} (use a directory of your own with \
                     `--cache-dir` or `MODELGEN_CACHE_DIR`, or `--no-cache`)",
                    escape::value(&self.dir.to_string_lossy()),
                    if wasm.prebuilt.is_some() {
                        "the plugin's precompiled code built into modelgen runs instead"
                    } else {
                        "the plugin is compiled on every run"
                    }
                );
            }
            return uncached(engine, wasm);
        }
        let path = self.entry_path(engine, &wasm.sha256);
        if let Some(component) = self.load(engine, &path) {
            return Ok(component);
        }
        if let Some(bytes) = wasm.prebuilt {
            // Best effort: failing to store only makes the next render slower.
            let _ = self.store(&path, bytes);
            return deserialize_prebuilt(engine, bytes);
        }
        let note = format!(
            "note: compiling the plugin for this machine (once: it is cached in `{}`)",
            escape::value(&self.dir.to_string_lossy())
        );
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
        key.update(super::engine::compatibility_key(engine));
        let hex = super::engine::hex(&key.finalize()[..20]);
        self.dir.join(format!("{hex}.cwasm"))
    }

    /// The checksum file of the entry at `path`.
    pub fn checksum_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_os_string();
        name.push(CHECKSUM_SUFFIX);
        PathBuf::from(name)
    }

    /// Whether the entry at `path` is whole: its length and CRC-32 are what
    /// its checksum file says. The entry is memory-mapped and checked in
    /// place rather than read: copying the built-in plugin's 9 MB out of the
    /// page cache cost more than a warm render's plugin call; mapped, its
    /// pages are shared with the mapping wasmtime makes right after.
    pub fn entry_is_whole(path: &Path) -> bool {
        let Ok(expected) = fs::read_to_string(Self::checksum_path(path)) else { return false };
        let mut fields = expected.split_whitespace();
        let (Some(CHECKSUM_FORMAT), Some(len), Some(crc), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return false;
        };
        let (Ok(len), Ok(crc)) = (len.parse::<usize>(), u32::from_str_radix(crc, 16)) else { return false };
        let Ok(file) = fs::File::open(path) else { return false };
        if file.metadata().map(|m| m.len()).ok() != u64::try_from(len).ok() || len == 0 {
            return false;
        }
        // SAFETY: a private, read-only mapping of `len` bytes of a regular
        // file of that length, unmapped below before it is returned from.
        // Entries are replaced by rename and never written in place, so the
        // file cannot shrink under the mapping (which would fault); its
        // contents are only read, as bytes.
        #[allow(unsafe_code)]
        let whole = unsafe {
            let Ok(address) = rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::PRIVATE,
                &file,
                0,
            ) else {
                return false;
            };
            let bytes = std::slice::from_raw_parts(address.cast::<u8>(), len);
            let whole = crc32fast::hash(bytes) == crc;
            let _ = rustix::mm::munmap(address, len);
            whole
        };
        whole
    }

    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let uid = current_uid();
        let ours = |path: &Path| {
            fs::symlink_metadata(path)
                .is_ok_and(|meta| meta.file_type().is_file() && meta.uid() == uid && meta.mode() & 0o022 == 0)
        };
        let trusted = ours(path) && ours(&Self::checksum_path(path)) && private_dir::is_private(&self.dir, uid);
        if !trusted || !Self::entry_is_whole(path) {
            return None;
        }
        // SAFETY: wasmtime requires a file produced by `serialize` of a
        // compatible engine, unchanged. This host wrote it (a private
        // directory, an entry owned by this user and writable by no one
        // else) and it is whole (its length and the checksum of every byte,
        // checked just now: entries are replaced by renames, never edited,
        // so only damage in place within that instant could slip through);
        // the key covers engine compatibility, and wasmtime re-checks its
        // header and version.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize_file(engine, path) };
        component.ok()
    }

    fn store(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir).context("create the cache directory")?;
        if !private_dir::is_private(&self.dir, current_uid()) {
            anyhow::bail!("the cache directory is not private");
        }
        // The entry, then its checksum: a reader that finds no checksum, or
        // one of an earlier entry of the same key (the same component and
        // engine, so the same bytes), loads nothing it cannot check.
        let checksum = format!("{CHECKSUM_FORMAT} {} {:08x}\n", bytes.len(), crc32fast::hash(bytes));
        for (target, contents) in [(path.to_path_buf(), bytes), (Self::checksum_path(path), checksum.as_bytes())] {
            let mut file = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&self.dir)
                .context("create a temporary cache file")?;
            file.write_all(contents).context("write the cache entry")?;
            file.as_file().set_permissions(fs::Permissions::from_mode(0o600)).context("restrict the cache entry")?;
            file.persist(&target).context("move the cache entry into place")?;
        }
        Ok(())
    }
}

/// The compiled component without the cache: the build's machine code when
/// there is some, else compiled now.
fn uncached(engine: &Engine, wasm: &Wasm<'_>) -> Result<Component> {
    match wasm.prebuilt {
        Some(bytes) => deserialize_prebuilt(engine, bytes),
        None => compile(
            engine,
            wasm.bytes,
            "note: compiling the plugin for this machine (the cache is not used: on every run)",
        ),
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
