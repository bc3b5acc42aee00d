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
        support::render_entries(&self.cache_dir())
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

use support::{replace_in_manifests, tamper};

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
    // Its `renders/` open to others.
    let renders = cache.join("renders");
    std::fs::set_permissions(&renders, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    assert_eq!(fixture.render(&["render", "."]), truth);
    std::fs::set_permissions(&renders, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    assert_ne!(fixture.render(&["render", "."]), truth, "the tampered entry is used again once private");
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
    let prod = ["render", ".", "--env", "prod"];
    let truth = fixture.render(&prod);
    // Each variant differs from the kept render in one thing only.
    let variants: [&[&str]; 5] = [
        &["--max-memory", "300"],
        &["--timeout", "7"],
        &["--max-output-bytes", "60000000"],
        &["-n", "elsewhere"],
        &["--param", "canary-weight.fraud=20"],
    ];
    for variant in variants {
        assert_eq!(fixture.render(&prod), truth);
        tamper(&fixture.entry(), replace_in_manifests("fraud-prod", "fraud-tampered"));
        assert!(fixture.render(&prod).contains("fraud-tampered"), "the unchanged render is replayed");
        let args = [&prod[..], variant].concat();
        let rendered = fixture.render(&args);
        assert!(!rendered.contains("fraud-tampered"), "{variant:?} was replayed");
        assert_eq!(rendered, fixture.fresh(&args), "{variant:?}");
        // Put the truth back for the next variant.
        std::fs::remove_dir_all(fixture.cache_dir().join("renders")).expect("forget");
    }
}

#[test]
fn argo_cd_replays_across_working_directories_but_not_across_revisions() {
    // Argo CD unpacks every request into a new temporary directory.
    let cache = tempfile::tempdir().expect("cache");
    let generate = |revision: &str| {
        let dir = tempfile::tempdir().expect("working directory");
        std::fs::write(dir.path().join("mochanet.yaml"), MOCHANET).expect("write the spec");
        let run = support::modelgen()
            .env("MODELGEN_CACHE_DIR", cache.path().join("cache"))
            .env("ARGOCD_APP_NAME", "coffee")
            .env("ARGOCD_APP_NAMESPACE", "coffee")
            .env("ARGOCD_APP_REVISION", revision)
            .current_dir(dir.path())
            .args(["argocd", "generate"])
            .output()
            .expect("run modelgen");
        assert_eq!(run.status.code(), Some(0), "{}", support::text(&run.stderr));
        support::text(&run.stdout)
    };
    let truth = generate("1111111111111111111111111111111111111111");
    let entries = support::render_entries(&cache.path().join("cache"));
    assert_eq!(entries.len(), 1);
    tamper(&entries[0], replace_in_manifests("v1.3.0", "v9.9.9"));
    assert_eq!(generate("1111111111111111111111111111111111111111"), truth.replace("v1.3.0", "v9.9.9"));
    assert_eq!(generate("2222222222222222222222222222222222222222"), truth);
    assert_eq!(support::render_entries(&cache.path().join("cache")).len(), 1, "one slot per application");
}

#[test]
fn krm_replays_a_resource_list_it_rendered() {
    let fixture = Fixture::new(&[]);
    let spec: Value = serde_saphyr::from_str(MOCHANET).expect("a YAML spec");
    let list = serde_json::json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": [spec]});
    let krm = || {
        let mut child = support::modelgen()
            .env("MODELGEN_CACHE_DIR", fixture.cache_dir())
            .current_dir(fixture.app.path())
            .arg("krm")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), list.to_string().as_bytes()).expect("write");
        let run = child.wait_with_output().expect("wait");
        assert_eq!(run.status.code(), Some(0), "{}", support::text(&run.stderr));
        support::text(&run.stdout)
    };
    let truth = krm();
    tamper(&fixture.entry(), replace_in_manifests("v1.3.0", "v9.9.9"));
    let replayed = krm();
    assert!(replayed.contains("v9.9.9") && replayed != truth, "{replayed}");
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

#[test]
fn applications_in_directories_of_one_name_keep_a_slot_each() {
    // `fraud/prod` and `ranker/prod`: the name `prod` alone does not tell them apart.
    let root = tempfile::tempdir().expect("tempdir");
    let cache = root.path().join("cache");
    let render = |app: &str| {
        let run = support::modelgen()
            .env("MODELGEN_CACHE_DIR", &cache)
            .current_dir(root.path().join(app))
            .args(["render", "."])
            .output()
            .expect("run modelgen");
        assert_eq!(run.status.code(), Some(0), "{}", support::text(&run.stderr));
        support::text(&run.stdout)
    };
    for (app, version) in [("fraud/prod", "v1.3.0"), ("ranker/prod", "v1.4.0")] {
        std::fs::create_dir_all(root.path().join(app)).expect("mkdir");
        std::fs::write(root.path().join(app).join("mochanet.yaml"), MOCHANET.replace("v1.3.0", version)).expect("spec");
    }
    let fraud = render("fraud/prod");
    let ranker = render("ranker/prod");
    assert_ne!(fraud, ranker);
    assert_eq!(support::render_entries(&cache).len(), 2);
    // Each is replayed from its own slot: the one tampered with shows in its render only.
    let fraud_entry = support::render_entries(&cache)
        .into_iter()
        .find(|e| std::fs::read_to_string(e).is_ok_and(|t| t.contains("v1.3.0")))
        .expect("fraud's entry");
    tamper(&fraud_entry, replace_in_manifests("v1.3.0", "v9.9.9"));
    assert_eq!(render("fraud/prod"), fraud.replace("v1.3.0", "v9.9.9"));
    assert_eq!(render("ranker/prod"), ranker);
}
