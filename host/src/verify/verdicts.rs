//! The store of verdicts already reached: an output, schemas and checker that passed once need not be checked again.
//!
//! Verdicts live in `verdicts/` of the cache directory, in two forms:
//!
//! - **One for a whole output**: an empty file named by a digest of
//!   everything it depends on. A warm render costs one `stat`.
//! - **One per object**, for when one spec of many changed: a log of
//!   32-byte digests (of the checker, its version and the object's bytes),
//!   appended to in one `write` per render and read in one pass on a miss of
//!   the whole-output verdict, so that neither a cold render of thousands of
//!   objects nor a warm one pays a file per object.
//!
//! Both are trusted under the same rule as compiled code
//! ([`crate::private_dir`]): the cache directory is private to this user and
//! the file is this user's own regular file (the log, written by no one
//! else either). Anything else, and anything unreadable, means "nothing was
//! verified": a verdict only ever skips a check, never changes an output or
//! hides a violation.

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::private_dir::{self, current_uid};

/// The digest naming one object's verdict.
pub type ObjectDigest = [u8; 32];

/// Bytes per record of an object log: one digest, nothing else.
const RECORD: usize = 32;

/// The most an object log may grow to (131,072 objects); past it, it is
/// rewritten with only the current render's objects. Scanning a full one
/// costs about 3 ms (measured: a 1,000-spec render with both logs at the cap
/// took 7 ms more than with small ones).
const LOG_CAP: usize = 4 << 20;

/// The verdicts kept in a cache directory.
#[derive(Clone, Debug)]
pub struct Verdicts {
    /// The cache directory (verdicts live in its `verdicts/`).
    root: PathBuf,
    /// The most an object log may grow to (a test lowers it).
    log_cap: usize,
}

/// Which checker a verdict belongs to: verdicts of one never stand for another.
#[derive(Clone, Copy, Debug)]
pub struct Checker {
    /// Everything the checker's result depends on besides the object:
    /// its rules, the host version, the schemas' digest.
    pub identity: &'static [&'static str],
    /// The prefix of its whole-output verdicts' file names.
    pub prefix: &'static str,
    /// The file name of its object log in `verdicts/`.
    pub log: &'static str,
}

impl Checker {
    /// The digest of one object's verdict: the checker's identity and the
    /// object's exact bytes (which name its kind, hence its schema), each
    /// with its length so that no two inputs run together.
    #[must_use]
    pub fn object_digest(&self, yaml: &str) -> ObjectDigest {
        let mut digest = Sha256::new();
        for part in self.identity.iter().chain([&yaml]) {
            digest.update(part.len().to_le_bytes());
            digest.update(part);
        }
        digest.finalize().into()
    }

    /// The name of the whole-output verdict for objects with these digests,
    /// in order.
    #[must_use]
    pub fn output_key(&self, digests: &[ObjectDigest]) -> String {
        let mut key = Sha256::new();
        key.update(b"output");
        key.update(digests.len().to_le_bytes());
        for digest in digests {
            key.update(digest);
        }
        format!("{}{}", self.prefix, crate::plugin::engine::hex(&key.finalize()))
    }
}

/// Checks `items` with `check`, skipping what a verdict in `cache` already
/// covers: all of them on a whole-output verdict, otherwise each item with an
/// object verdict. On success both kinds of verdict are recorded. `check`
/// gets the items still to check, in order, and must fail if any is bad.
///
/// # Errors
/// Whatever `check` returns.
pub fn check_unverified<'a, T, E>(
    cache: Option<&Verdicts>,
    checker: &Checker,
    items: &'a [T],
    yaml: impl Fn(&T) -> &str,
    check: impl FnOnce(&[&'a T]) -> Result<(), E>,
) -> Result<(), E> {
    let Some(cache) = cache else {
        return check(&items.iter().collect::<Vec<_>>());
    };
    let digests: Vec<ObjectDigest> = items.iter().map(|item| checker.object_digest(yaml(item))).collect();
    let key = checker.output_key(&digests);
    if cache.has(&key) {
        return Ok(());
    }
    let log = cache.object_log(checker.log, &digests);
    let unchecked: Vec<&T> =
        items.iter().zip(&digests).filter(|(_, digest)| !log.contains(digest)).map(|(item, _)| item).collect();
    check(&unchecked)?;
    cache.record_objects(checker.log, &log, &digests);
    cache.record(&key);
    Ok(())
}

/// The object verdicts read from a log, for the objects of one render.
#[derive(Debug, Default)]
pub struct ObjectLog {
    /// The digests of the render's objects that passed before.
    known: HashSet<Key>,
    /// The log's size when read.
    size: u64,
    /// Whether appending would keep damage or an untrusted file: the log is
    /// rewritten instead.
    rewrite: bool,
}

impl ObjectLog {
    /// Whether an object with this digest passed before.
    #[must_use]
    pub fn contains(&self, digest: &ObjectDigest) -> bool {
        self.known.contains(&Key(*digest))
    }
}

/// A digest as a set's key, hashed by its first eight bytes only (SHA-256
/// output is uniform already) through the set's randomly keyed hasher: a log
/// near its cap is 131,072 look-ups, which hashing all 32 bytes would make
/// cost milliseconds. Equality still compares all 32 bytes.
#[derive(Debug, PartialEq, Eq)]
struct Key(ObjectDigest);

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (prefix, _) = self.0.split_first_chunk::<8>().expect("32 bytes");
        state.write_u64(u64::from_ne_bytes(*prefix));
    }
}

impl Verdicts {
    /// The verdicts kept under the cache directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), log_cap: LOG_CAP }
    }

    /// The same verdicts with object logs capped at `records` records.
    #[cfg(test)]
    fn with_log_cap(self, records: usize) -> Self {
        Self { log_cap: records * RECORD, ..self }
    }

    /// Whether a verdict with this key was recorded: the exact output it
    /// names was already checked against the exact schemas it names.
    #[must_use]
    pub fn has(&self, key: &str) -> bool {
        let path = self.root.join("verdicts").join(key);
        let uid = current_uid();
        fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.uid() == uid)
            && private_dir::is_private(&self.root, uid)
    }

    /// Records a verdict (best effort: failing only makes the next check slower).
    pub fn record(&self, key: &str) {
        let Some(dir) = private_dir::writable_subdir(&self.root, "verdicts") else { return };
        let stored = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .and_then(|file| file.persist(dir.join(key)).map(drop).map_err(|e| e.error));
        drop(stored);
    }

    /// Reads the object log `name` for the objects with `current` digests:
    /// which of them passed before. None did when the log is missing,
    /// unreadable or not trusted (see the module documentation).
    #[must_use]
    pub fn object_log(&self, name: &str, current: &[ObjectDigest]) -> ObjectLog {
        let uid = current_uid();
        // Opened without following a symbolic link, and judged by what was
        // opened, so that nothing can be swapped in between.
        let Ok(mut file) = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(self.root.join("verdicts").join(name))
        else {
            return ObjectLog { rewrite: true, ..ObjectLog::default() };
        };
        let Ok(meta) = file.metadata() else { return ObjectLog { rewrite: true, ..ObjectLog::default() } };
        let trusted = private_dir::is_own_file(&meta, uid) && private_dir::is_private(&self.root, uid);
        if !trusted {
            return ObjectLog { rewrite: true, ..ObjectLog::default() };
        }
        // Appends are whole `write`s, so records stay aligned unless one was
        // cut short (a full disk) or is being written right now: the log is
        // read up to its last whole record and rewritten on the next record.
        // Records after a cut one are misaligned; a 32-byte window across
        // two digests equals the SHA-256 of an object being checked only
        // with negligible probability (2^-256 per pair), so damage can only
        // cost a check, never pass an object that was not checked.
        let size = meta.len();
        let rewrite = size % RECORD as u64 != 0 || size > self.log_cap as u64;
        // The log is read in chunks and scanned for this render's objects
        // rather than loaded into a set: a few thousand insertions and no
        // 4 MiB buffer, not 131,072 insertions. One past its cap (concurrent
        // renders appended at once) is read up to twice the cap.
        let mut wanted: HashSet<Key> = current.iter().map(|d| Key(*d)).collect();
        let mut known = HashSet::new();
        let mut reader = Read::by_ref(&mut file).take(2 * self.log_cap as u64);
        let mut chunk = vec![0; 2048 * RECORD];
        let mut filled = 0;
        while !wanted.is_empty() {
            match reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return ObjectLog { rewrite: true, ..ObjectLog::default() },
            }
            let whole = filled - filled % RECORD;
            for record in chunk[..whole].chunks_exact(RECORD) {
                if let Some(found) = wanted.take(&Key(record.try_into().expect("32 bytes"))) {
                    known.insert(found);
                }
            }
            chunk.copy_within(whole..filled, 0);
            filled -= whole;
        }
        ObjectLog { known, size, rewrite }
    }

    /// Records that the objects with `current` digests passed, given the log
    /// `name` as `read` (best effort): the new ones are appended in one
    /// `write`, so that concurrent renders interleave whole records; a
    /// damaged log, or one that would pass its cap, is replaced atomically
    /// by one holding only `current`.
    pub fn record_objects(&self, name: &str, read: &ObjectLog, current: &[ObjectDigest]) {
        let mut seen = HashSet::new();
        let new: Vec<u8> =
            current.iter().filter(|d| !read.contains(d) && seen.insert(*d)).flat_map(|d| d.iter().copied()).collect();
        if new.is_empty() && !read.rewrite {
            return;
        }
        let Some(dir) = private_dir::writable_subdir(&self.root, "verdicts") else { return };
        let path = dir.join(name);
        if !read.rewrite && read.size + new.len() as u64 <= self.log_cap as u64 && Self::append(&path, &new) {
            return;
        }
        let mut seen = HashSet::new();
        let all: Vec<u8> = current
            .iter()
            .filter(|d| seen.insert(*d))
            .take(self.log_cap / RECORD)
            .flat_map(|d| d.iter().copied())
            .collect();
        let rewritten = tempfile::Builder::new().prefix(".tmp-").tempfile_in(&dir).and_then(|mut file| {
            file.write_all(&all)?;
            file.persist(&path).map(drop).map_err(|e| e.error)
        });
        drop(rewritten);
    }

    /// Appends `records` to the log at `path` in one `write`: false when the
    /// log cannot be opened as this user's own private file.
    fn append(path: &Path, records: &[u8]) -> bool {
        let Ok(mut file) = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        else {
            return false;
        };
        let uid = current_uid();
        if !file.metadata().is_ok_and(|m| private_dir::is_own_file(&m, uid)) {
            return false;
        }
        // One `write`, never retried: a short one leaves a cut record, which
        // the next read ignores and the next record rewrites.
        drop(file.write(records));
        true
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const CHECKER: Checker = Checker { identity: &["test checker 1", "host 1"], prefix: "test-", log: "objects" };

    /// A cache directory, and a run of a check that notes which objects it
    /// was given and refuses any that contain `bad`.
    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
        cache: Verdicts,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path().join("cache");
            Self { cache: Verdicts::new(&root), root, _dir: dir }
        }

        /// The objects the check was given (`None`: not run at all), and whether it passed.
        fn run(&self, checker: &Checker, objects: &[&str]) -> (Option<Vec<String>>, bool) {
            let given = RefCell::new(None);
            let passed = check_unverified(
                Some(&self.cache),
                checker,
                objects,
                |o: &&str| *o,
                |todo: &[&&str]| {
                    *given.borrow_mut() = Some(todo.iter().map(|o| (**o).to_owned()).collect::<Vec<_>>());
                    if todo.iter().any(|o| o.contains("bad")) { Err(()) } else { Ok(()) }
                },
            )
            .is_ok();
            (given.into_inner(), passed)
        }

        fn log(&self) -> PathBuf {
            self.root.join("verdicts/objects")
        }

        fn log_bytes(&self) -> Vec<u8> {
            fs::read(self.log()).expect("the log")
        }

        fn write_log(&self, bytes: &[u8]) {
            fs::create_dir_all(self.root.join("verdicts")).expect("mkdir");
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700)).expect("chmod");
            fs::write(self.log(), bytes).expect("write the log");
            fs::set_permissions(self.log(), fs::Permissions::from_mode(0o600)).expect("chmod");
        }
    }

    /// The log's bytes had `objects` passed `checker`, in order.
    fn plant(checker: &Checker, objects: &[&str]) -> Vec<u8> {
        objects.iter().flat_map(|o| checker.object_digest(o)).collect()
    }

    fn owned(objects: &[&str]) -> Vec<String> {
        objects.iter().map(|o| (*o).to_owned()).collect()
    }

    #[test]
    fn only_objects_without_a_verdict_are_checked() {
        let f = Fixture::new();
        assert_eq!(f.run(&CHECKER, &["a", "b", "c"]), (Some(owned(&["a", "b", "c"])), true));
        assert_eq!(f.log_bytes().len(), 3 * RECORD);
        assert_eq!(f.run(&CHECKER, &["a", "b", "c"]), (None, true), "the whole output has a verdict");
        // One object changed: only it is checked, and only it is appended.
        assert_eq!(f.run(&CHECKER, &["a", "b2", "c"]), (Some(owned(&["b2"])), true));
        assert_eq!(f.log_bytes().len(), 4 * RECORD);
        // A changed object that fails is reported, whatever its neighbours' verdicts.
        assert_eq!(f.run(&CHECKER, &["a", "bad", "c"]), (Some(owned(&["bad"])), false));
        assert_eq!(
            f.run(&CHECKER, &["a", "bad", "c"]),
            (Some(owned(&["bad"])), false),
            "a failure is never remembered"
        );
        assert_eq!(f.log_bytes().len(), 4 * RECORD);
        // Objects repeated within a render are recorded once.
        assert_eq!(f.run(&CHECKER, &["d", "d", "a"]), (Some(owned(&["d", "d"])), true));
        assert_eq!(f.log_bytes().len(), 5 * RECORD);
    }

    #[test]
    fn a_verdict_covers_exactly_the_bytes_and_the_checker_it_was_recorded_for() {
        let f = Fixture::new();
        // A planted verdict for an object the check would refuse: proof that
        // the object is skipped, not checked again.
        f.write_log(&plant(&CHECKER, &["bad 1"]));
        assert_eq!(f.run(&CHECKER, &["bad 1", "ok"]), (Some(owned(&["ok"])), true));
        assert_eq!(f.run(&CHECKER, &["bad 1 "]), (Some(owned(&["bad 1 "])), false), "one byte more is another object");
        // The same log read by another host version or schema bundle matches nothing.
        for identity in [&["test checker 1", "host 2"], &["test checker 2", "host 1"]] {
            let other = Checker { identity, ..CHECKER };
            assert_eq!(f.run(&other, &["bad 1", "ok"]), (Some(owned(&["bad 1", "ok"])), false));
        }
        // A record that shares only the first bytes (what the set hashes) is another object.
        let mut near = plant(&CHECKER, &["bad 4"]);
        near[31] ^= 1;
        f.write_log(&near);
        assert_eq!(f.run(&CHECKER, &["bad 4"]), (Some(owned(&["bad 4"])), false));
        // Parts of the identity never run together into another one.
        let joined = Checker { identity: &["test checker 1host 1"], ..CHECKER };
        assert_ne!(joined.object_digest("x"), CHECKER.object_digest("x"));
    }

    #[test]
    fn a_damaged_log_is_read_to_its_last_whole_record_and_rewritten() {
        let f = Fixture::new();
        let mut log = plant(&CHECKER, &["bad 1"]);
        log.extend_from_slice(&plant(&CHECKER, &["bad 2"])[..5]);
        f.write_log(&log);
        assert_eq!(f.run(&CHECKER, &["bad 1", "ok"]), (Some(owned(&["ok"])), true), "the whole record still counts");
        assert_eq!(f.log_bytes(), plant(&CHECKER, &["bad 1", "ok"]), "rewritten whole, with this render's objects");
        // Nothing of a cut record counts, nor anything misaligned after it.
        let mut log = plant(&CHECKER, &["a"])[..7].to_vec();
        log.extend(plant(&CHECKER, &["bad 2", "bad 3"]));
        f.write_log(&log);
        assert_eq!(f.run(&CHECKER, &["bad 2", "bad 3"]), (Some(owned(&["bad 2", "bad 3"])), false));
        // Garbage of a whole number of records is merely useless.
        f.write_log(&[0x5a; 4 * RECORD]);
        assert_eq!(f.run(&CHECKER, &["b", "c"]), (Some(owned(&["b", "c"])), true));
        assert_eq!(&f.log_bytes()[4 * RECORD..], plant(&CHECKER, &["b", "c"]), "appended");
    }

    #[test]
    fn a_log_that_is_not_a_private_file_of_this_user_is_not_trusted() {
        let f = Fixture::new();
        let planted = plant(&CHECKER, &["bad 1"]);
        // A symbolic link is neither followed nor written through.
        f.write_log(&[]);
        let elsewhere = f.root.join("elsewhere");
        fs::write(&elsewhere, &planted).expect("write");
        fs::remove_file(f.log()).expect("rm");
        std::os::unix::fs::symlink(&elsewhere, f.log()).expect("symlink");
        assert_eq!(f.run(&CHECKER, &["bad 1"]), (Some(owned(&["bad 1"])), false));
        assert_eq!(f.run(&CHECKER, &["ok"]), (Some(owned(&["ok"])), true));
        assert_eq!(fs::read(&elsewhere).expect("read"), planted, "the link's target is untouched");
        assert!(fs::symlink_metadata(f.log()).expect("stat").is_file(), "the link was replaced");
        // A log others can write to.
        f.write_log(&planted);
        fs::set_permissions(f.log(), fs::Permissions::from_mode(0o622)).expect("chmod");
        assert_eq!(f.run(&CHECKER, &["bad 1"]), (Some(owned(&["bad 1"])), false));
        // A log in a cache directory others can write to, which is left alone.
        f.write_log(&planted);
        fs::set_permissions(&f.root, fs::Permissions::from_mode(0o777)).expect("chmod");
        assert_eq!(f.run(&CHECKER, &["bad 1"]), (Some(owned(&["bad 1"])), false));
        assert_eq!(f.run(&CHECKER, &["ok"]), (Some(owned(&["ok"])), true));
        assert_eq!(f.log_bytes(), planted, "nothing recorded where others can write");
        // A directory, or a FIFO, in the log's place (the FIFO must not block).
        fs::set_permissions(&f.root, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::remove_file(f.log()).expect("rm");
        let fifo = std::ffi::CString::new(f.log().into_os_string().into_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        #[allow(unsafe_code)]
        let made = unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) };
        assert_eq!(made, 0, "mkfifo");
        assert_eq!(f.run(&CHECKER, &["ok 2"]), (Some(owned(&["ok 2"])), true));
        assert_eq!(f.log_bytes(), plant(&CHECKER, &["ok 2"]), "replaced by a log");
    }

    #[test]
    fn the_log_is_rewritten_with_this_render_when_it_would_pass_its_cap() {
        let mut f = Fixture::new();
        f.cache = f.cache.clone().with_log_cap(3);
        assert_eq!(f.run(&CHECKER, &["a", "b"]), (Some(owned(&["a", "b"])), true));
        assert_eq!(f.run(&CHECKER, &["a", "c"]), (Some(owned(&["c"])), true));
        assert_eq!(f.log_bytes(), plant(&CHECKER, &["a", "b", "c"]), "up to the cap, appended");
        assert_eq!(f.run(&CHECKER, &["d", "a"]), (Some(owned(&["d"])), true));
        assert_eq!(f.log_bytes(), plant(&CHECKER, &["d", "a"]), "past it, only this render's objects");
        assert_eq!(f.run(&CHECKER, &["b"]), (Some(owned(&["b"])), true), "what was dropped is checked again");
        // A render larger than the cap keeps as many as fit.
        assert!(f.run(&CHECKER, &["p", "q", "r", "s"]).1);
        assert_eq!(f.log_bytes(), plant(&CHECKER, &["p", "q", "r"]));
        // A log past its cap (concurrent appends) still counts, and is rewritten.
        f.write_log(&plant(&CHECKER, &["a", "b", "c", "bad 9"]));
        assert_eq!(f.run(&CHECKER, &["bad 9", "e"]), (Some(owned(&["e"])), true));
        assert_eq!(f.log_bytes(), plant(&CHECKER, &["bad 9", "e"]));
        let leftovers: Vec<_> = fs::read_dir(f.root.join("verdicts"))
            .expect("verdicts")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn concurrent_appends_stay_whole_records() {
        let f = Fixture::new();
        let batches: Vec<Vec<String>> = (0..8).map(|t| (0..200).map(|i| format!("object {t} {i}")).collect()).collect();
        f.write_log(&[]);
        std::thread::scope(|scope| {
            for batch in &batches {
                let cache = &f.cache;
                scope.spawn(move || {
                    let digests: Vec<_> = batch.iter().map(|o| CHECKER.object_digest(o)).collect();
                    let read = cache.object_log("objects", &digests);
                    cache.record_objects("objects", &read, &digests);
                });
            }
        });
        let all: Vec<_> = batches.iter().flatten().map(|o| CHECKER.object_digest(o)).collect();
        let log = f.cache.object_log("objects", &all);
        for object in batches.iter().flatten() {
            assert!(log.contains(&CHECKER.object_digest(object)), "{object}");
        }
        assert_eq!(f.log_bytes().len(), 8 * 200 * RECORD);
    }
}
