//! The store of renders already done: an application whose every input is unchanged renders without running its plugin.
//!
//! A plugin is pure (it sees no file system, clock, network or environment):
//! its output is a function of the component, the files and the render
//! context it is given, and the limits it runs under. A render that passed
//! every check is kept under a digest of exactly that, plus the identity of
//! this very `modelgen` executable (its version, and the device, inode, size
//! and times of the file: a rebuilt or upgraded binary never reads what
//! another wrote). The next render of the same input skips loading the
//! plugin and calling it, and still passes every check of the output
//! (contract, CRD schemas, names) before anything is printed: the store can
//! only ever save the plugin's time, never let through what the checks
//! refuse.
//!
//! What the render read besides the spec files (the patch files and policy
//! plugins its project file names, found by `describe`) is not known before
//! the plugin runs, so an entry lists them with their digests, and a hit
//! reads them again, under the same rules, and compares: any difference is
//! a miss, and the render runs.
//!
//! Entries live in `renders/` of the cache directory, one file per *slot*:
//! an application directory (or Argo CD Application), name, namespace and
//! environment. A render of changed
//! input replaces its slot's entry, so the store holds one entry per
//! application and environment rendered, not one per edit, and at most
//! [`MAX_ENTRIES`] and [`MAX_STORE_BYTES`] in all (the entries used longest
//! ago are forgotten first). Each file
//! is a line `modelgen-render v1 <key> <length> <crc32>` then the body: a
//! torn or damaged entry fails its length or CRC-32 (as compiled code does)
//! and is a miss. Entries are trusted under the rule for compiled code
//! ([`crate::private_dir`]): the cache directory and `renders/` are private
//! to this user, and the entry is their own regular file, written by no one
//! else.

use std::fs;
use std::io::{BufRead, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Manifest, PluginInfo, Rendered};
use crate::input::source::SourceFile;
use crate::plugin::engine::hex;
use crate::plugin::runtime::{Limits, RenderContext};
use crate::private_dir::{self, current_uid};

/// The first word of an entry's header, and its format version.
const FORMAT: &str = "modelgen-render v1";

/// The renders kept in a cache directory, for one executable, plugin and set of limits.
#[derive(Clone, Debug)]
pub struct Renders {
    /// The cache directory (entries live in its `renders/`).
    root: PathBuf,
    /// This executable's identity.
    host: String,
    /// The plugin component's hex SHA-256.
    plugin: String,
    /// Everything an output depends on besides the application's input.
    identity: String,
}

/// Where a render's entry lives and what it must hold to stand for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The slot's file name: application directory, name, namespace, environment.
    slot: String,
    /// The digest of everything the output depends on.
    digest: String,
}

/// A file a render read besides the spec files, as it was then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// Relative to the application root.
    pub path: String,
    /// Hex SHA-256 of its contents; `None` when it did not exist.
    pub sha256: Option<String>,
    /// What it is, which decides the limit it is read under.
    pub kind: Kind,
}

/// What a render read besides its spec files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A file the project names (a patch file): read from what is left of the input limits.
    Reference,
    /// A policy plugin of the project's chain: read under a plugin's size limit.
    Policy,
}

/// The index of a render entry's body: what the render read, its warnings,
/// and each manifest's source file and length. The manifests' bytes follow
/// the index's line as they are, one after another: escaping megabytes of
/// YAML into JSON strings (and back) would cost more than the render saves.
#[derive(Debug, Serialize, Deserialize)]
struct Index<'a> {
    dependencies: Vec<Dependency>,
    #[serde(borrow)]
    manifests: Vec<Item<'a>>,
    warnings: Vec<Diagnostic>,
}

/// One manifest in an [`Index`].
#[derive(Debug, Serialize, Deserialize)]
struct Item<'a> {
    source: std::borrow::Cow<'a, str>,
    bytes: usize,
}

/// The most entries the store keeps (renders and plugins' `info` together).
const MAX_ENTRIES: usize = 256;
/// The most bytes the store keeps.
const MAX_STORE_BYTES: u64 = 256 << 20;
/// How old a temporary file must be before it is taken for one a killed render left.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_hours(1);
/// The longest header line read.
const MAX_HEADER_BYTES: u64 = 512;

/// The most an `info` entry may hold: a plugin's name, version and kinds.
const MAX_INFO_BYTES: u64 = 64 * 1024;

/// The identity of the running executable: its version and its file's
/// device, inode, size, and change and modification times. `None` when it
/// cannot be known, and then nothing is stored.
fn executable_identity() -> Option<String> {
    // `/proc/self/exe` names the file this process runs even if it was
    // replaced or deleted since; elsewhere the path it was started from.
    let meta = fs::metadata("/proc/self/exe")
        .or_else(|_| std::env::current_exe().and_then(fs::metadata))
        .ok()
        .filter(fs::Metadata::is_file)?;
    Some(format!(
        "modelgen {} {}:{} {} {}.{} {}.{}",
        env!("CARGO_PKG_VERSION"),
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    ))
}

/// Feeds one length-prefixed part into a digest, so that no two inputs run together.
fn part(digest: &mut Sha256, bytes: &[u8]) {
    digest.update((bytes.len() as u64).to_le_bytes());
    digest.update(bytes);
}

/// Feeds an optional part: a tag byte, then the part.
fn optional(digest: &mut Sha256, value: Option<&str>) {
    match value {
        None => digest.update([0]),
        Some(value) => {
            digest.update([1]);
            part(digest, value.as_bytes());
        }
    }
}

impl Renders {
    /// The renders under the cache directory `root` of the plugin whose
    /// component has hex SHA-256 `plugin`, run under `limits` with at most
    /// `max_output_bytes` of output. `None` when this executable's identity
    /// cannot be known.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>, plugin: &str, limits: Limits, max_output_bytes: usize) -> Option<Self> {
        let host = executable_identity()?;
        // The limits decide whether a render succeeds at all: a render kept
        // under generous ones must not stand for one under tight ones.
        let identity = format!("{host}\nplugin {plugin}\n{limits:?}\noutput {max_output_bytes}");
        Some(Self { root: root.into(), host, plugin: plugin.to_owned(), identity })
    }

    /// The key of a render of `files` in `context`, of an application read
    /// from a directory (`directory`) or given whole (`krm`: nothing else is
    /// read, so a render is kept apart from a directory's).
    ///
    /// The slot is the application's name, namespace and environment, and
    /// `location` when given: a directory's name alone does not tell two
    /// applications apart (`fraud/prod` and `ranker/prod`), but under Argo CD,
    /// which unpacks every request into a new temporary directory, the
    /// application's name does, and the directory would make every request a
    /// new slot. No output depends on the location (what the render read
    /// besides its spec files is read again from where they are now).
    #[must_use]
    pub fn key(&self, location: Option<&Path>, directory: bool, context: &RenderContext, files: &[SourceFile]) -> Key {
        let mut slot = Sha256::new();
        part(&mut slot, b"slot");
        // Made absolute (not resolved: no file system walk), so that `render .`
        // in two directories are two slots.
        let location = location.map(|path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
        part(&mut slot, location.as_ref().map_or(&b""[..], |path| path.as_os_str().as_bytes()));
        part(&mut slot, context.app_name.as_bytes());
        optional(&mut slot, context.namespace.as_deref());
        optional(&mut slot, context.environment.as_deref());

        let mut digest = Sha256::new();
        part(&mut digest, FORMAT.as_bytes());
        part(&mut digest, self.identity.as_bytes());
        digest.update([u8::from(directory)]);
        part(&mut digest, context.app_name.as_bytes());
        optional(&mut digest, context.namespace.as_deref());
        optional(&mut digest, context.revision.as_deref());
        optional(&mut digest, context.environment.as_deref());
        digest.update((context.parameters.len() as u64).to_le_bytes());
        for (name, value) in &context.parameters {
            part(&mut digest, name.as_bytes());
            part(&mut digest, value.as_bytes());
        }
        digest.update((files.len() as u64).to_le_bytes());
        for file in files {
            part(&mut digest, file.path.as_bytes());
            part(&mut digest, &file.contents);
        }
        Key { slot: hex(&slot.finalize()[..20]), digest: hex(&digest.finalize()) }
    }

    /// The render kept for `key`, with the files it read besides the spec
    /// files: `None` when there is none, or it is damaged, not trusted, or
    /// larger than `max_bytes`.
    #[must_use]
    pub fn get(&self, key: &Key, max_bytes: u64) -> Option<(Vec<Dependency>, Rendered)> {
        let body = self.read(&key.slot, &key.digest, max_bytes)?;
        let newline = body.iter().position(|&b| b == b'\n')?;
        let index: Index<'_> = serde_json::from_slice(&body[..newline]).ok()?;
        let mut rest = &body[newline + 1..];
        let mut manifests = Vec::with_capacity(index.manifests.len());
        for item in index.manifests {
            let (yaml, after) = rest.split_at_checked(item.bytes)?;
            manifests
                .push(Manifest { yaml: std::str::from_utf8(yaml).ok()?.to_owned(), source: item.source.into_owned() });
            rest = after;
        }
        if !rest.is_empty() {
            return None;
        }
        Some((index.dependencies, Rendered { manifests, warnings: index.warnings }))
    }

    /// Keeps `rendered` for `key`, with the files it read besides the spec
    /// files (best effort: failing only makes the next render slower).
    pub fn put(&self, key: &Key, dependencies: &[Dependency], rendered: &Rendered) {
        let index = Index {
            dependencies: dependencies.to_vec(),
            manifests: rendered
                .manifests
                .iter()
                .map(|m| Item { source: std::borrow::Cow::Borrowed(&m.source), bytes: m.yaml.len() })
                .collect(),
            warnings: rendered.warnings.clone(),
        };
        let Ok(index) = serde_json::to_vec(&index) else { return };
        // Written from where the manifests are, not copied into one buffer first.
        let parts = [index.as_slice(), b"\n"].into_iter().chain(rendered.manifests.iter().map(|m| m.yaml.as_bytes()));
        self.write(&key.slot, &key.digest, &parts.collect::<Vec<_>>());
    }

    /// The key of the plugin's `info` answer: one slot per plugin, whatever
    /// the limits (the answer depends on the component alone).
    fn info_key(&self) -> Key {
        let mut slot = Sha256::new();
        part(&mut slot, b"info");
        part(&mut slot, self.plugin.as_bytes());
        let mut digest = Sha256::new();
        part(&mut digest, FORMAT.as_bytes());
        part(&mut digest, self.host.as_bytes());
        part(&mut digest, self.plugin.as_bytes());
        Key { slot: format!("info-{}", hex(&slot.finalize()[..20])), digest: hex(&digest.finalize()) }
    }

    /// The plugin's `info` answer, as it gave it before.
    #[must_use]
    pub fn info(&self) -> Option<PluginInfo> {
        let key = self.info_key();
        serde_json::from_slice(&self.read(&key.slot, &key.digest, MAX_INFO_BYTES)?).ok()
    }

    /// Keeps the plugin's `info` answer (best effort).
    pub fn put_info(&self, info: &PluginInfo) {
        let key = self.info_key();
        if let Ok(body) = serde_json::to_vec(info) {
            self.write(&key.slot, &key.digest, &[&body]);
        }
    }

    /// The body of the entry in `slot`, if it is trusted, whole, at most
    /// `max_bytes` long and written for `digest`. The header is read first:
    /// a slot holding another input's render costs one short read.
    fn read(&self, slot: &str, digest: &str, max_bytes: u64) -> Option<Vec<u8>> {
        let uid = current_uid();
        let dir = self.root.join("renders");
        // Opened without following a symbolic link, and judged by what was
        // opened, so that nothing can be swapped in between.
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(dir.join(slot))
            .ok()?;
        let meta = file.metadata().ok()?;
        let trusted = private_dir::is_own_file(&meta, uid)
            && private_dir::is_private(&dir, uid)
            && private_dir::is_private(&self.root, uid);
        if !trusted || meta.len() > max_bytes {
            return None;
        }
        let mut reader = std::io::BufReader::with_capacity(512, file.take(max_bytes));
        let mut header = Vec::with_capacity(256);
        reader.by_ref().take(MAX_HEADER_BYTES).read_until(b'\n', &mut header).ok()?;
        let header = std::str::from_utf8(header.strip_suffix(b"\n")?).ok()?;
        let mut words = header.strip_prefix(FORMAT)?.strip_prefix(' ')?.split(' ');
        let (written_for, length, crc) = (words.next()?, words.next()?, words.next()?);
        if written_for != digest || words.next().is_some() {
            return None;
        }
        let length: usize = length.parse().ok()?;
        let mut body = Vec::with_capacity(length.min(usize::try_from(meta.len()).ok()?));
        reader.read_to_end(&mut body).ok()?;
        if body.len() != length || crc != format!("{:08x}", crc32fast::hash(&body)) {
            return None;
        }
        // Used: the store forgets the entries used longest ago first.
        let _ = reader.into_inner().into_inner().set_modified(std::time::SystemTime::now());
        Some(body)
    }

    /// Writes the body made of `parts` as the entry in `slot` for `digest`,
    /// whole to a temporary file then renamed into place, so that
    /// concurrent renders never see half of one (best effort).
    fn write(&self, slot: &str, digest: &str, parts: &[&[u8]]) {
        let Some(dir) = private_dir::writable_subdir(&self.root, "renders") else { return };
        // An entry is read only from a private `renders/`: none is written elsewhere.
        if !private_dir::is_private(&dir, current_uid()) {
            return;
        }
        let mut crc = crc32fast::Hasher::new();
        for part in parts {
            crc.update(part);
        }
        let length: usize = parts.iter().map(|p| p.len()).sum();
        let header = format!("{FORMAT} {digest} {length} {:08x}\n", crc.finalize());
        let stored = tempfile::Builder::new().prefix(".tmp-").tempfile_in(&dir).and_then(|file| {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
            out.write_all(header.as_bytes())?;
            for part in parts {
                out.write_all(part)?;
            }
            let file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
            // The slot's earlier entry is removed first: ext4 writes a file
            // renamed over another one to disk before the rename returns
            // (`auto_da_alloc`). A render in between finds no entry, which
            // is only a miss.
            let new_slot = fs::remove_file(dir.join(slot)).is_err();
            file.persist(dir.join(slot)).map(|_| new_slot).map_err(|e| e.error)
        });
        // Only a new slot can take the store past its bounds.
        if stored.unwrap_or(false) {
            sweep(&dir, slot, MAX_ENTRIES, MAX_STORE_BYTES);
        }
    }
}

/// Keeps `dir` within `max_entries` entries and `max_bytes` bytes, removing
/// the entries used longest ago (but never `keep`, just written), and
/// temporary files a killed render left behind over an hour ago. Applications
/// rendered from ever new names or namespaces cannot fill the disk.
fn sweep(dir: &Path, keep: &str, max_entries: usize, max_bytes: u64) {
    let Ok(listing) = fs::read_dir(dir) else { return };
    let now = std::time::SystemTime::now();
    let mut entries = Vec::new();
    for entry in listing.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let name = entry.file_name();
        let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        if name.as_bytes().starts_with(b".tmp-") {
            if now.duration_since(used).is_ok_and(|age| age > STALE_TEMPORARY) {
                let _ = fs::remove_file(entry.path());
            }
        } else if meta.is_file() && name.as_bytes() != keep.as_bytes() {
            entries.push((used, meta.len(), entry.path()));
        }
    }
    // The slot just written counts against the bounds too.
    let kept = fs::symlink_metadata(dir.join(keep)).map_or(0, |m| m.len());
    let mut count = entries.len() + 1;
    let mut bytes = entries.iter().map(|(_, len, _)| len).sum::<u64>() + kept;
    entries.sort_by_key(|(used, _, _)| *used);
    for (_, len, path) in entries {
        if count <= max_entries && bytes <= max_bytes {
            break;
        }
        if fs::remove_file(path).is_ok() {
            count -= 1;
            bytes -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RenderContext {
        RenderContext {
            app_name: "fraud".to_owned(),
            namespace: Some("risk".to_owned()),
            revision: Some("abc".to_owned()),
            environment: Some("prod".to_owned()),
            parameters: vec![("a".to_owned(), "1".to_owned())],
        }
    }

    fn files() -> Vec<SourceFile> {
        vec![SourceFile { path: "fraud.yaml".to_owned(), contents: b"spec".to_vec() }]
    }

    fn store(dir: &Path) -> Renders {
        Renders::new(dir, "plugin", Limits::default(), 1 << 20).expect("this executable has an identity")
    }

    #[test]
    fn every_input_changes_the_key_and_only_the_application_changes_the_slot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let key = |context: RenderContext, files: &[SourceFile]| store.key(None, true, &context, files);
        let parameters = |pairs: &[(&str, &str)]| RenderContext {
            parameters: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..context()
        };
        let base = key(context(), &files());
        assert_eq!(base, key(context(), &files()), "the same input, the same key");
        let same_slot = [
            key(RenderContext { revision: Some("abd".to_owned()), ..context() }, &files()),
            key(RenderContext { revision: None, ..context() }, &files()),
            key(parameters(&[("a", "2")]), &files()),
            key(parameters(&[]), &files()),
            // Parts run together differently are different inputs.
            key(parameters(&[("a1", "")]), &files()),
            key(context(), &[SourceFile { contents: b"spec ".to_vec(), ..files()[0].clone() }]),
            key(context(), &[SourceFile { path: "fraud2.yaml".to_owned(), ..files()[0].clone() }]),
            key(context(), &[]),
            // Given whole (`krm`) rather than read from a directory.
            store.key(None, false, &context(), &files()),
        ];
        for other in &same_slot {
            assert_eq!(other.slot, base.slot);
            assert_ne!(other.digest, base.digest);
        }
        let other_slots = [
            store.key(Some(Path::new("/apps/fraud/prod")), true, &context(), &files()),
            key(RenderContext { environment: None, ..context() }, &files()),
            key(RenderContext { namespace: None, ..context() }, &files()),
            key(RenderContext { app_name: "fraud2".to_owned(), ..context() }, &files()),
        ];
        for other in &other_slots {
            assert_ne!(other.slot, base.slot);
        }
        // Where the application lies decides the slot only: no output depends on it.
        assert_eq!(other_slots[0].digest, base.digest);
        for other in &other_slots[1..] {
            assert_ne!(other.digest, base.digest);
        }
        assert_ne!(
            store.key(Some(Path::new("/apps/ranker/prod")), true, &context(), &files()).slot,
            other_slots[0].slot
        );
        // The plugin and the limits are part of every key.
        let other_plugin = Renders::new(dir.path(), "plugin2", Limits::default(), 1 << 20).expect("identity");
        let tighter = Limits { memory_bytes: 1 << 20, ..Limits::default() };
        let other_limits = Renders::new(dir.path(), "plugin", tighter, 1 << 20).expect("identity");
        let smaller_output = Renders::new(dir.path(), "plugin", Limits::default(), 1 << 10).expect("identity");
        for other in [other_plugin, other_limits, smaller_output] {
            assert_ne!(other.key(None, true, &context(), &files()).digest, base.digest);
        }
    }

    #[test]
    fn the_store_forgets_the_entries_used_longest_ago_and_stale_temporary_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let renders = dir.path().join("renders");
        fs::create_dir(&renders).expect("mkdir");
        let day_ago = std::time::SystemTime::now() - std::time::Duration::from_hours(24);
        let write = |name: &str, bytes: usize, minutes: u64| {
            let path = renders.join(name);
            fs::write(&path, vec![b'x'; bytes]).expect("write");
            let file = fs::File::options().write(true).open(&path).expect("open");
            file.set_modified(day_ago + std::time::Duration::from_secs(60 * minutes)).expect("set mtime");
        };
        for (minutes, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
            write(name, 10, minutes as u64);
        }
        write(".tmp-old", 10, 0);
        fs::write(renders.join(".tmp-now"), b"in progress").expect("write");
        write("new", 10, 0); // Just written, yet with the oldest time: still kept.
        sweep(&renders, "new", 3, 1 << 20);
        let mut left: Vec<String> = fs::read_dir(&renders)
            .expect("list")
            .map(|e| e.expect("e").file_name().into_string().expect("UTF-8"))
            .collect();
        left.sort();
        assert_eq!(left, [".tmp-now", "c", "d", "new"]);
        // The bytes bound: 35 bytes allowed, each entry 10 and the new one
        // 20: `new` (the oldest now) and `c` go.
        write("newer", 20, 10);
        sweep(&renders, "newer", 100, 35);
        let mut left: Vec<String> = fs::read_dir(&renders)
            .expect("list")
            .map(|e| e.expect("e").file_name().into_string().expect("UTF-8"))
            .collect();
        left.sort();
        assert_eq!(left, [".tmp-now", "d", "newer"]);
    }

    #[test]
    fn an_entry_round_trips_and_answers_only_its_own_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir.path().join("cache"));
        let key = store.key(None, true, &context(), &files());
        let rendered = Rendered {
            manifests: vec![
                Manifest { yaml: "a: 1\n".to_owned(), source: "fraud.yaml".to_owned() },
                Manifest { yaml: "b: \"é\\n\"\n".to_owned(), source: "other.yaml".to_owned() },
            ],
            warnings: Vec::new(),
        };
        let dependencies = vec![Dependency { path: "patches/p.yaml".to_owned(), sha256: None, kind: Kind::Reference }];
        assert!(store.get(&key, 1 << 20).is_none());
        store.put(&key, &dependencies, &rendered);
        assert_eq!(store.get(&key, 1 << 20), Some((dependencies, rendered.clone())));
        assert!(store.get(&key, 100).is_none(), "larger than allowed");
        let other = store.key(None, true, &RenderContext { revision: None, ..context() }, &files());
        assert_eq!(other.slot, key.slot);
        assert!(store.get(&other, 1 << 20).is_none(), "the slot holds another render");
        // The info answer is kept beside, per plugin.
        assert!(store.info().is_none());
        let info = PluginInfo {
            name: "p".to_owned(),
            version: "1".to_owned(),
            kinds: vec!["ModelDeployment".to_owned()],
            project_file: None,
        };
        store.put_info(&info);
        assert_eq!(store.info(), Some(info));
        let entries = fs::read_dir(dir.path().join("cache/renders")).expect("renders").count();
        assert_eq!(entries, 2, "one render, one info, no temporary files left");
    }
}
