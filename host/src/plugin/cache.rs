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
//! is replaced, never run. Reading 9 MB for that checksum was a third of a
//! warm render, so once an entry has been found whole, the checksum file
//! also records the entry's identity then (device, inode, length, change
//! and modification times, as `git` does for its index): while the entry's
//! identity is unchanged, its bytes are too, and they are not read again.
//! Any write to the entry changes its change time, which no user can set;
//! an identity is recorded only when the entry's change time is over a
//! second old, so a write in the same clock tick cannot go unseen.
//! A cache directory that is not private (another
//! user's, or writable by others) is not used at all: the built-in
//! plugin's precompiled code is used instead, with one warning.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::component::{Wasm, deserialize_prebuilt};
use crate::escape;
use crate::private_dir::{self, Trust, current_uid};

/// What the checksum file beside an entry is called after it.
const CHECKSUM_SUFFIX: &str = ".crc32";
/// The version of the checksum file's text: `v1 <length> <crc32 hex>`,
/// then, once the entry was found whole, a line `checked <identity>`.
const CHECKSUM_FORMAT: &str = "v1";
/// How old an entry's change time must be before its identity stands for
/// its contents: far more than a clock tick, within which a later write
/// could leave the change time as it was.
const SETTLED: Duration = Duration::from_secs(1);

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
    /// its checksum file says (every byte is read).
    pub fn entry_is_whole(path: &Path) -> bool {
        let Some(checksum) = Checksum::read(path) else { return false };
        fs::metadata(path).is_ok_and(|meta| checksum.matches_bytes(path, &meta))
    }

    /// Whether the entry at `path`, whose metadata is `meta`, is whole: its
    /// identity is the one recorded when it was last found whole, or else
    /// its bytes are checked, and when they are whole and the entry has
    /// settled, its identity is recorded (best effort).
    fn entry_is_known_whole(path: &Path, meta: &fs::Metadata) -> bool {
        let Some(checksum) = Checksum::read(path) else { return false };
        let identity = Identity::of(meta);
        if checksum.checked.as_ref() == Some(&identity) {
            return true;
        }
        if !checksum.matches_bytes(path, meta) {
            return false;
        }
        if identity.settled(SystemTime::now()) {
            let text = format!("{}checked {identity}\n", checksum.first_line());
            let _ =
                write_atomically(path.parent().unwrap_or(Path::new(".")), &Self::checksum_path(path), text.as_bytes());
        }
        true
    }

    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let uid = current_uid();
        let ours = |path: &Path| {
            fs::symlink_metadata(path)
                .ok()
                .filter(|meta| meta.file_type().is_file() && meta.uid() == uid && meta.mode() & 0o022 == 0)
        };
        let meta = ours(path)?;
        let trusted = ours(&Self::checksum_path(path)).is_some() && private_dir::is_private(&self.dir, uid);
        if !trusted || !Self::entry_is_known_whole(path, &meta) {
            return None;
        }
        // SAFETY: wasmtime requires a file produced by `serialize` of a
        // compatible engine, unchanged. This host wrote it (a private
        // directory, an entry owned by this user and writable by no one
        // else) and it is whole (the checksum of every byte, checked now or
        // when the entry last had the identity it has: entries are replaced
        // by renames, never edited, and any edit changes the identity);
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
        write_atomically(&self.dir, path, bytes)?;
        write_atomically(&self.dir, &Self::checksum_path(path), checksum.as_bytes())
    }
}

/// Writes `contents` to `target` in `dir` through a temporary file renamed
/// into place, readable and writable by this user only.
fn write_atomically(dir: &Path, target: &Path, contents: &[u8]) -> Result<()> {
    let mut file =
        tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).context("create a temporary cache file")?;
    file.write_all(contents).context("write the cache entry")?;
    file.as_file().set_permissions(fs::Permissions::from_mode(0o600)).context("restrict the cache entry")?;
    file.persist(target).context("move the cache entry into place")?;
    Ok(())
}

/// What an entry's checksum file says.
struct Checksum {
    len: usize,
    crc: u32,
    /// The entry's identity when it was last found whole.
    checked: Option<Identity>,
}

impl Checksum {
    /// The checksum file of the entry at `path`, when it is well-formed.
    fn read(path: &Path) -> Option<Self> {
        let text = fs::read_to_string(CompileCache::checksum_path(path)).ok()?;
        let mut lines = text.lines();
        let mut fields = lines.next()?.split(' ');
        let (Some(CHECKSUM_FORMAT), Some(len), Some(crc), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        let checked = match lines.next() {
            None => None,
            Some(line) => Some(line.strip_prefix("checked ").and_then(Identity::parse)?),
        };
        if lines.next().is_some() || !text.ends_with('\n') {
            return None;
        }
        Some(Self { len: len.parse().ok()?, crc: u32::from_str_radix(crc, 16).ok()?, checked })
    }

    /// The first line, as [`CompileCache::store`] writes it.
    fn first_line(&self) -> String {
        format!("{CHECKSUM_FORMAT} {} {:08x}\n", self.len, self.crc)
    }

    /// Whether the entry at `path` (with metadata `meta`) has this length
    /// and checksum. The entry is memory-mapped and checked in place rather
    /// than read: copying the built-in plugin's 9 MB out of the page cache
    /// cost more than a warm render's plugin call.
    fn matches_bytes(&self, path: &Path, meta: &fs::Metadata) -> bool {
        let len = self.len;
        if meta.len() != u64::try_from(len).unwrap_or(u64::MAX) || len == 0 {
            return false;
        }
        let Ok(file) = fs::File::open(path) else { return false };
        if file.metadata().map(|m| m.len()).ok() != Some(meta.len()) {
            return false;
        }
        // SAFETY: a private, read-only mapping of `len` bytes of a regular
        // file of that length, unmapped below before it is returned from.
        // Entries are replaced by rename and never written in place, so the
        // file cannot shrink under the mapping (which would fault); its
        // contents are only read, as bytes.
        #[allow(unsafe_code)]
        unsafe {
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
            let whole = crc32fast::hash(bytes) == self.crc;
            let _ = rustix::mm::munmap(address, len);
            whole
        }
    }
}

/// What identifies a file's contents without reading them: where it is,
/// its length, and when it (or its inode) last changed, to the nanosecond.
#[derive(Debug, PartialEq, Eq)]
struct Identity([i64; 7]);

impl Identity {
    fn of(meta: &fs::Metadata) -> Self {
        // Device and inode numbers are unsigned; their bits are kept as they are.
        #[allow(clippy::cast_possible_wrap)]
        Self([
            meta.dev() as i64,
            meta.ino() as i64,
            meta.size() as i64,
            meta.ctime(),
            meta.ctime_nsec(),
            meta.mtime(),
            meta.mtime_nsec(),
        ])
    }

    fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split(' ').map(str::parse::<i64>);
        let mut identity = [0; 7];
        for slot in &mut identity {
            *slot = fields.next()?.ok()?;
        }
        fields.next().is_none().then_some(Self(identity))
    }

    /// Whether the change time is [`SETTLED`] before `now`.
    fn settled(&self, now: SystemTime) -> bool {
        let changed = u64::try_from(self.0[3])
            .ok()
            .zip(u32::try_from(self.0[4]).ok())
            .map(|(seconds, nanos)| SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos));
        changed.is_some_and(|changed| now.duration_since(changed).is_ok_and(|age| age > SETTLED))
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [dev, ino, size, ctime, ctime_nsec, mtime, mtime_nsec] = self.0;
        write!(f, "{dev} {ino} {size} {ctime} {ctime_nsec} {mtime} {mtime_nsec}")
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
    fn a_checksum_file_is_read_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let entry = dir.path().join("k.cwasm");
        let read = |text: &str| {
            fs::write(CompileCache::checksum_path(&entry), text).expect("write");
            Checksum::read(&entry).map(|c| (c.len, c.crc, c.checked.map(|i| i.to_string())))
        };
        assert_eq!(read("v1 12 0000000a\n"), Some((12, 10, None)));
        assert_eq!(read("v1 12 0000000a\nchecked 1 2 12 4 5 6 7\n"), Some((12, 10, Some("1 2 12 4 5 6 7".to_owned()))));
        for damaged in [
            "v1 12 0000000a",
            "v2 12 0000000a\n",
            "v1 12 0000000a extra\n",
            "v1 12 0000000a\nchecked 1 2 12 4 5 6\n",
            "v1 12 0000000a\nchecked 1 2 12 4 5 6 7 8\n",
            "v1 12 0000000a\nchecked 1 2 12 4 5 6 x\n",
            "v1 12 0000000a\nverified 1 2 12 4 5 6 7\n",
            "v1 12 0000000a\nchecked 1 2 12 4 5 6 7\nchecked 1 2 12 4 5 6 7\n",
        ] {
            assert_eq!(read(damaged), None, "{damaged:?}");
        }
    }

    #[test]
    fn an_identity_stands_for_the_bytes_only_once_settled() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let changed_at = |seconds: i64| Identity([1, 2, 3, seconds, 0, seconds, 0]);
        assert!(changed_at(998).settled(now));
        assert!(!changed_at(999).settled(now), "within a second of now");
        assert!(!changed_at(1_001).settled(now), "in the future (a clock set back)");
        assert!(!changed_at(-5).settled(now), "before the epoch");
    }

    #[test]
    fn quick_work_is_not_announced() {
        let (sender, written) = mpsc::channel();
        let result = with_progress(Duration::from_hours(1), "note: compiling", Lines(sender), || 7);
        assert_eq!(result, 7);
        assert!(written.try_iter().next().is_none(), "nothing is written");
    }
}
