//! The store of renders already done, through the real binary: unchanged input is replayed byte for byte, and nothing else is.
//!
//! That a render was replayed rather than run again is shown by tampering
//! with its entry (rewriting it with a valid digest): a replay prints the
//! tampered output, a fresh render the true one.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const MOCHANET: &str = include_str!("../examples/mochanet/mochanet.yaml");

/// An application and a cache directory of its own.
struct Fixture {
    app: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Self {
        Self { app: support::app(files), cache: tempfile::tempdir().expect("cache directory") }
    }

    /// A copy of the example `name`.
    fn example(name: &str) -> Self {
        let fixture = Self::new(&[]);
        copy_dir(&support::workspace().join("examples").join(name), fixture.app.path());
        fixture
    }

    fn cache_dir(&self) -> PathBuf {
        self.cache.path().join("cache")
    }

    /// `modelgen args` in the application, with this fixture's cache.
    fn run(&self, args: &[&str]) -> Output {
        support::modelgen()
            .env("MODELGEN_CACHE_DIR", self.cache_dir())
            .current_dir(self.app.path())
            .args(args)
            .output()
            .expect("run modelgen")
    }

    /// The render's standard output, which must succeed.
    fn render(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.status.code(), Some(0), "{}", support::text(&run.stderr));
        support::text(&run.stdout)
    }

    /// What the same command prints with no cache at all: the truth.
    fn fresh(&self, args: &[&str]) -> String {
        let mut args = args.to_vec();
        args.push("--no-cache");
        self.render(&args)
    }

    /// The render entries (not the plugin's `info`), by path.
    fn entries(&self) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(self.cache_dir().join("renders")) else { return Vec::new() };
        let mut entries: Vec<PathBuf> = dir
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                !name.starts_with("info-") && !name.starts_with(".tmp-")
            })
            .collect();
        entries.sort();
        entries
    }

    /// The one render entry.
    fn entry(&self) -> PathBuf {
        let entries = self.entries();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries[0].clone()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read the example") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Rewrites the entry at `path` with `edit` applied to each of its
/// manifests, and a header whose length and checksum match: as only someone
/// with write access to the cache directory could.
fn tamper(path: &Path, edit: impl Fn(&str) -> String) {
    let bytes = std::fs::read(path).expect("read the entry");
    let newline = bytes.iter().position(|&b| b == b'\n').expect("a header line");
    let header = std::str::from_utf8(&bytes[..newline]).expect("UTF-8");
    let words: Vec<&str> = header.split(' ').collect();
    assert_eq!(words.len(), 5, "{header}");
    assert_eq!(words[..2], ["modelgen-render", "v1"]);
    let body = &bytes[newline + 1..];
    let split = body.iter().position(|&b| b == b'\n').expect("an index line");
    let mut index: Value = serde_json::from_slice(&body[..split]).expect("a JSON index");
    let mut rest = &body[split + 1..];
    let mut manifests = String::new();
    for item in index["manifests"].as_array_mut().expect("manifests") {
        let length = usize::try_from(item["bytes"].as_u64().expect("a length")).expect("fits");
        let (yaml, after) = rest.split_at(length);
        let edited = edit(std::str::from_utf8(yaml).expect("UTF-8"));
        item["bytes"] = Value::from(edited.len());
        manifests.push_str(&edited);
        rest = after;
    }
    let body = format!("{}\n{manifests}", serde_json::to_string(&index).expect("JSON"));
    let header =
        format!("{} {} {} {} {:08x}", words[0], words[1], words[2], body.len(), crc32fast::hash(body.as_bytes()));
    std::fs::write(path, format!("{header}\n{body}")).expect("rewrite the entry");
}

/// Replaces `from` with `to` in every manifest.
fn replace_in_manifests(from: &'static str, to: &'static str) -> impl Fn(&str) -> String {
    move |yaml| yaml.replace(from, to)
}

#[test]
fn unchanged_input_is_replayed_byte_for_byte() {
    let fixture = Fixture::new(&[("mochanet.yaml", MOCHANET)]);
    let truth = fixture.fresh(&["render", "."]);
    assert!(fixture.entries().is_empty(), "`--no-cache` keeps nothing");
    assert_eq!(fixture.render(&["render", "."]), truth);
    let entry = fixture.entry();
    assert_eq!(fixture.render(&["render", "."]), truth);
    // Only a replay can print what the entry holds rather than what the plugin makes.
    tamper(&entry, replace_in_manifests("v1.3.0", "v9.9.9"));
    let replayed = fixture.render(&["render", "."]);
    assert_ne!(replayed, truth);
    assert_eq!(replayed, truth.replace("v1.3.0", "v9.9.9"));
    // Every front end that renders a directory goes through the store.
    let out = fixture.cache.path().join("out");
    let run = fixture.run(&["render", ".", "--out", out.to_str().expect("UTF-8")]);
    assert_eq!(run.status.code(), Some(0), "{}", support::text(&run.stderr));
    let written = std::fs::read_to_string(out.join("coffee/inferenceservice_mochanet.yaml")).expect("written");
    assert!(written.contains("v9.9.9"), "`--out` replays: {written}");
}

#[test]
fn a_changed_spec_renders_again_and_replaces_its_slot() {
    let fixture = Fixture::new(&[("mochanet.yaml", MOCHANET)]);
    fixture.render(&["render", "."]);
    let entry = fixture.entry();
    tamper(&entry, replace_in_manifests("v1.3.0", "v9.9.9"));
    let changed = MOCHANET.replace("v1.3.0", "v1.4.0");
    std::fs::write(fixture.app.path().join("mochanet.yaml"), &changed).expect("edit the spec");
    let rendered = fixture.render(&["render", "."]);
    assert_eq!(rendered, fixture.fresh(&["render", "."]));
    assert!(rendered.contains("v1.4.0") && !rendered.contains("v9.9.9"));
    // One entry per application and environment, not one per edit.
    assert_eq!(fixture.entries(), [entry]);
    // Another environment of the same application is another slot.
    let dir = Fixture::example("fraud-environments");
    dir.render(&["render", ".", "--env", "dev"]);
    dir.render(&["render", ".", "--env", "prod"]);
    assert_eq!(dir.entries().len(), 2);
}

#[test]
fn a_damaged_entry_is_a_miss_and_is_replaced() {
    let fixture = Fixture::new(&[("mochanet.yaml", MOCHANET)]);
    let truth = fixture.render(&["render", "."]);
    let entry = fixture.entry();
    let mut bytes = std::fs::read(&entry).expect("read");
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let at = text.find("v1.3.0").expect("a version in the body");
    bytes[at + 1] = b'9'; // A flipped bit, with the digest left as it was.
    std::fs::write(&entry, &bytes).expect("damage");
    assert_eq!(fixture.render(&["render", "."]), truth);
    assert_ne!(std::fs::read(&entry).expect("read"), bytes, "the damaged entry is rewritten");
    // A torn write: half an entry.
    std::fs::write(&entry, &bytes[..bytes.len() / 2]).expect("tear");
    assert_eq!(fixture.render(&["render", "."]), truth);
}

#[test]
fn an_entry_the_output_checks_refuse_is_never_printed() {
    let fixture = Fixture::new(&[("mochanet.yaml", MOCHANET)]);
    let truth = fixture.render(&["render", "."]);
    let entry = fixture.entry();
    // Not a Kubernetes name: the contract check refuses it.
    tamper(&entry, replace_in_manifests("name: mochanet\n", "name: Mocha_Net\n"));
    assert_eq!(fixture.render(&["render", "."]), truth);
    // A field the CRD schema does not have.
    tamper(&fixture.entry(), replace_in_manifests("\nspec:\n", "\nspec:\n  replicasPlease: 3\n"));
    assert_eq!(fixture.render(&["render", "."]), truth);
}

#[test]
fn an_entry_in_a_directory_others_can_write_or_behind_a_link_is_not_used() {
    let fixture = Fixture::new(&[("mochanet.yaml", MOCHANET)]);
    let truth = fixture.render(&["render", "."]);
    let entry = fixture.entry();
    tamper(&entry, replace_in_manifests("v1.3.0", "v9.9.9"));
    let cache = fixture.cache_dir();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let run = fixture.run(&["render", "."]);
    assert_eq!(support::text(&run.stdout), truth);
    assert!(support::text(&run.stderr).contains("is not used"), "{}", support::text(&run.stderr));
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // The tampered entry, moved aside and linked to.
    let aside = fixture.cache.path().join("aside");
    std::fs::rename(&entry, &aside).expect("move");
    std::os::unix::fs::symlink(&aside, &entry).expect("link");
    assert_eq!(fixture.render(&["render", "."]), truth);
    // An entry others may write to.
    std::fs::remove_file(&entry).expect("unlink");
    std::fs::copy(&aside, &entry).expect("copy back");
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    assert_eq!(fixture.render(&["render", "."]), truth);
}

#[test]
fn the_limits_and_the_context_are_part_of_the_key() {
    let fixture = Fixture::example("fraud-environments");
    let truth = fixture.render(&["render", ".", "--env", "prod"]);
    tamper(&fixture.entry(), replace_in_manifests("fraud-prod", "fraud-tampered"));
    assert!(fixture.render(&["render", ".", "--env", "prod"]).contains("fraud-tampered"));
    // A render under other limits may fail where this one passed: not replayed.
    assert_eq!(fixture.render(&["render", ".", "--env", "prod", "--max-memory", "300"]), truth);
    // The same slot with another parameter set is another render.
    tamper(&fixture.entry(), replace_in_manifests("fraud-prod", "fraud-tampered"));
    let with_parameter = fixture.render(&["render", ".", "--env", "prod", "--param", "canary-weight.fraud=20"]);
    assert!(!with_parameter.contains("fraud-tampered"), "{with_parameter}");
}

#[test]
fn a_changed_patch_file_is_a_miss() {
    let fixture = Fixture::example("fraud-environments");
    let before = fixture.render(&["render", ".", "--env", "prod"]);
    assert!(before.contains("safe-to-evict"), "the example's patch file applies");
    assert_eq!(fixture.render(&["render", ".", "--env", "prod"]), before);
    let patch = fixture.app.path().join("patches/no-eviction.yaml");
    let text = std::fs::read_to_string(&patch).expect("read the patch");
    std::fs::write(&patch, text.replace("safe-to-evict: \"false\"", "safe-to-evict: \"true\"")).expect("edit");
    let after = fixture.render(&["render", ".", "--env", "prod"]);
    assert_ne!(after, before);
    assert_eq!(after, fixture.fresh(&["render", ".", "--env", "prod"]));
    // A patch file that is gone is an error, as without the store.
    std::fs::remove_file(&patch).expect("remove the patch");
    let run = fixture.run(&["render", ".", "--env", "prod"]);
    assert_eq!(run.status.code(), Some(1), "{}", support::text(&run.stderr));
    assert!(run.stdout.is_empty());
}

#[test]
fn warnings_are_replayed_with_the_manifests() {
    let fixture = Fixture::example("fraud-environments");
    let first = fixture.run(&["render", "."]);
    let second = fixture.run(&["render", "."]);
    assert_eq!(first.status.code(), Some(0), "{}", support::text(&first.stderr));
    let warnings = support::text(&first.stderr);
    assert!(warnings.contains("warning"), "the example warns: {warnings}");
    assert_eq!(support::text(&second.stderr), warnings);
    assert_eq!(second.stdout, first.stdout);
    // `--deny-warnings` refuses a replayed render with warnings as it refuses a fresh one.
    let denied = fixture.run(&["render", ".", "--deny-warnings"]);
    assert_eq!(denied.status.code(), Some(1), "{}", support::text(&denied.stderr));
    assert!(denied.stdout.is_empty());
}
