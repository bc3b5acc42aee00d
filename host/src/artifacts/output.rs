//! `modelgen render --out DIR`: the rendered objects as files plus a `kustomization.yaml`, written all at once.
//!
//! Layout: one file per object, `<namespace>/<kind>_<name>.yaml` (without a
//! namespace, `<kind>_<name>.yaml`; kpt and kyaml name files the same way),
//! and a `kustomization.yaml` listing them in render order, so the directory
//! is a ready Flux `Kustomization` path or `flux push artifact` input. Several
//! sets (one per environment) go into subdirectories of their own, each with
//! its own `kustomization.yaml`, in one write.
//!
//! Safety: everything is rendered first; the next version of the directory is
//! built beside it and swapped in, so a failed render or write leaves the
//! previous output intact. An ownership manifest (`.modelgen-owned`) lists the
//! files modelgen wrote: stale ones are removed, anything else is kept as it
//! is, and a file modelgen did not write standing where it would write is an
//! error.

pub mod existing;
pub mod owned;
pub mod staging;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::diagnostic::Manifest;
use crate::escape;
use crate::input::safe_path::Refusal;
use crate::input::source::{Budget, InputLimits};
use crate::verify::contract;
use existing::Existing;
use staging::Staging;

pub use owned::KUSTOMIZATION;

/// One set of rendered objects: its subdirectory (an environment's name), or
/// `None` for the top of the output directory.
pub type Set<'a> = (Option<&'a str>, &'a [Manifest]);

/// The files a render produces, by relative `/`-separated path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree {
    files: BTreeMap<String, String>,
}

impl Tree {
    /// The files and their contents, ordered by path.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(path, text)| (path.as_str(), text.as_str()))
    }

    /// The contents of one file.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }
}

/// What a write did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files written: objects and kustomizations (not the ownership manifest).
    pub written: usize,
    /// Of those, files that are new or whose contents changed.
    pub changed: usize,
    /// Files the previous render wrote that this one no longer does.
    pub removed: Vec<String>,
    /// A copy of the old contents that could not be deleted after the swap.
    pub leftover: Option<PathBuf>,
}

/// One file whose contents on disk differ from what a render produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Path relative to the output directory.
    pub path: String,
    /// What is on disk (`None`: missing).
    pub old: Option<String>,
    /// What the render produces (`None`: modelgen would remove it).
    pub new: Option<String>,
}

/// The file an object goes to: `<namespace>/<kind>_<name>.yaml`, or
/// `<kind>_<name>.yaml` without a namespace. Names that are not Kubernetes
/// names (a `/`, a leading dot, a line break) are refused rather than
/// written somewhere unexpected ([`contract`] refused them already).
pub fn object_path(kind: &str, namespace: Option<&str>, name: &str) -> Result<String> {
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("`{}` is not a kind modelgen can name a file after", escape::value(kind));
    }
    if !contract::is_dns1123_subdomain(name) {
        bail!("the name `{}` of a `{kind}` cannot be part of a file name", escape::value(name));
    }
    if let Some(namespace) = namespace
        && !contract::is_dns1123_label(namespace)
    {
        bail!("the namespace `{}` of a `{kind}` cannot be part of a file name", escape::value(namespace));
    }
    let file = format!("{}_{name}.yaml", kind.to_ascii_lowercase());
    Ok(match namespace {
        Some(namespace) => format!("{namespace}/{file}"),
        None => file,
    })
}

/// A plain file name: not empty, not hidden, no separator or NUL, not too long.
fn is_component(text: &str) -> bool {
    !text.is_empty() && !text.starts_with('.') && !text.contains(['/', '\\', '\0']) && text.len() <= 200
}

/// Lays out every set: object files, a `kustomization.yaml` per set, and the
/// ownership manifest. Either one set without a subdirectory, or sets that
/// all have distinct subdirectories.
pub fn layout(sets: &[Set<'_>]) -> Result<Tree> {
    if sets.len() > 1 && sets.iter().any(|(subdir, _)| subdir.is_none()) {
        bail!("when several sets are written, each needs a subdirectory of its own");
    }
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (subdir, manifests) in sets {
        let prefix = match subdir {
            Some(name) if !is_component(name) || *name == KUSTOMIZATION => {
                bail!("`{}` cannot be the name of an output subdirectory", escape::value(name))
            }
            Some(name) => format!("{name}/"),
            None => String::new(),
        };
        if files.keys().any(|path| path.starts_with(&prefix)) {
            bail!("two sets would both be written to `{}`", prefix.trim_end_matches('/'));
        }
        let mut resources = Vec::with_capacity(manifests.len());
        for manifest in *manifests {
            let relative = manifest_path(manifest)?;
            let path = format!("{prefix}{relative}");
            if files.insert(path.clone(), manifest.yaml.clone()).is_some() {
                bail!(
                    "two objects would be written to `{path}` (from `{}`): give them different names",
                    escape::value(&manifest.source)
                );
            }
            resources.push(relative);
        }
        files.insert(format!("{prefix}{KUSTOMIZATION}"), kustomization(&resources));
    }
    files.insert(owned::FILE.to_owned(), owned::render(files.keys().map(String::as_str)));
    Ok(Tree { files })
}

/// Where one manifest's object goes, from its kind, namespace and name.
fn manifest_path(manifest: &Manifest) -> Result<String> {
    let source = escape::value(&manifest.source);
    let object: Value = serde_saphyr::from_str(&manifest.yaml).map_err(|e| {
        anyhow::anyhow!("an object rendered from `{source}` is not YAML: {}", escape::message(&e.to_string()))
    })?;
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let kind = text(&object["kind"]).unwrap_or_default();
    let name = text(&object["metadata"]["name"]).unwrap_or_default();
    let namespace = text(&object["metadata"]["namespace"]);
    object_path(&kind, namespace.as_deref(), &name)
        .with_context(|| format!("cannot name the file of an object rendered from `{source}`"))
}

/// A `kustomization.yaml` listing `resources` in render order.
fn kustomization(resources: &[String]) -> String {
    let document = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    let body = serde_saphyr::to_string(&document).unwrap_or_default();
    format!("# Written by `modelgen render --out`; regenerated on every render, do not edit.\n{body}")
}

/// Renders `sets` into `dir` atomically: see the module documentation.
/// What is read of the directory as it stands counts against `limits`.
pub fn write(dir: &Path, sets: &[Set<'_>], limits: InputLimits) -> Result<Summary> {
    let tree = layout(sets)?;
    write_tree(dir, &tree, limits)
}

/// Writes a laid-out tree into `dir`.
pub fn write_tree(dir: &Path, tree: &Tree, limits: InputLimits) -> Result<Summary> {
    let shown = shown(dir);
    let existing = Existing::scan(dir, &mut Budget::new(limits))?;
    refuse_conflicts(dir, &existing, tree)?;
    // The swap replaces the whole directory: never a repository, nor the
    // directory a shell (or this process) stands in, nor a mount point,
    // nor one with a mount inside (whose files would be moved away and
    // deleted with the old version).
    if existing.entries.contains_key(".git") {
        bail!("`{shown}` holds a Git repository: write the output to a directory of its own");
    }
    if existing.exists
        && let (Ok(cwd), Ok(target)) = (std::env::current_dir(), fs::canonicalize(&existing.path))
        && cwd.starts_with(&target)
    {
        bail!("`{shown}` contains the current directory: write the output to a directory of its own");
    }
    if let Some(mount) = existing.mounts.first() {
        bail!(
            "`{}` is a mount point inside the output directory: modelgen replaces the whole directory and never \
             moves or empties a mount; mount it elsewhere, or write the output to a directory without mounts",
            escape::value(&existing.path.join(mount).to_string_lossy())
        );
    }
    if existing.exists && staging::is_mount_point(&existing.path)? {
        bail!(
            "`{shown}` is a mount point: modelgen writes a new version of the output directory beside it and \
             swaps the two, which a mount point cannot be; write to a directory inside the mounted volume instead"
        );
    }
    staging::remove_stale(&existing);
    let mut summary = Summary::default();
    let mut manifest_current = false;
    for (path, text) in tree.files() {
        let ours = path == owned::FILE || existing.owned.contains(path);
        let regular = existing.entries.get(path) == Some(&existing::Entry::File)
            || (path == owned::FILE && existing.has_manifest);
        // Only a file of the same size can be the same: a large file
        // someone put there is never read.
        let before = (ours && regular).then(|| existing.read_if_size(path, text.len())).flatten();
        let same = before.as_deref() == Some(text.as_bytes());
        if path == owned::FILE {
            manifest_current = same;
        } else {
            summary.written += 1;
            summary.changed += usize::from(!same);
        }
    }
    summary.removed = existing.owned.iter().filter(|p| tree.get(p).is_none()).cloned().collect();
    // Nothing to do: leave the directory alone (times, inodes, watchers).
    if summary.changed == 0 && summary.removed.is_empty() && manifest_current {
        return Ok(summary);
    }
    let mut staging = Staging::beside(&existing)?;
    for (path, entry) in existing.foreign() {
        staging.keep(&existing.path, path, entry)?;
    }
    for (path, text) in tree.files() {
        staging.write(path, text.as_bytes())?;
    }
    summary.leftover = staging.swap_into(&existing)?;
    Ok(summary)
}

/// Compares `dir` with what writing `sets` would make of it, without
/// writing: the files that would change, in path order. The directory may
/// come from a pull request: it is read beneath `dir` through no link, and
/// what is read beyond files the size of the render's counts against `limits`.
pub fn check(dir: &Path, sets: &[Set<'_>], limits: InputLimits) -> Result<Vec<Change>> {
    let tree = layout(sets)?;
    check_tree(dir, &tree, limits)
}

/// Compares `dir` with a laid-out tree.
pub fn check_tree(dir: &Path, tree: &Tree, limits: InputLimits) -> Result<Vec<Change>> {
    let mut budget = Budget::new(limits);
    let existing = Existing::scan(dir, &mut budget)?;
    if !existing.exists {
        bail!("`{}` does not exist: render it with `--out` first", shown(dir));
    }
    refuse_conflicts(dir, &existing, tree)?;
    let mut read = |path: &str, expected: Option<&str>| -> Result<Option<String>> {
        // What is not a regular file beneath the directory is described,
        // never followed: the diff goes to CI logs and pull requests.
        let Some(root) = &existing.root else { return Ok(None) };
        if existing.entries.get(path) == Some(&existing::Entry::Symlink) {
            let target = root.read_link(path).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok(Some(format!("(a symbolic link to `{}`)\n", escape::value(&target))));
        }
        if let Some(text) = expected
            && let Some(bytes) = existing.read_if_size(path, text.len())
        {
            return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
        }
        Ok(match existing.read(path, &mut budget)? {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(Refusal::NotFound) => None,
            Err(refusal) => Some(format!("(not read: {refusal})\n")),
        })
    };
    let mut changes = Vec::new();
    for (path, text) in tree.files() {
        let old = read(path, Some(text))?;
        if old.as_deref() != Some(text) {
            changes.push(Change { path: path.to_owned(), old, new: Some(text.to_owned()) });
        }
    }
    for path in existing.owned.iter().filter(|p| tree.get(p).is_none()) {
        if let Some(old) = read(path, None)? {
            changes.push(Change { path: path.clone(), old: Some(old), new: None });
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changes)
}

fn shown(path: &Path) -> String {
    escape::value(&path.to_string_lossy()).into_owned()
}

fn refuse_conflicts(dir: &Path, existing: &Existing, tree: &Tree) -> Result<()> {
    let conflicts = existing.conflicts(tree.files().map(|(path, _)| path).filter(|p| *p != owned::FILE));
    if conflicts.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "`{}` holds {} that modelgen did not write where it would write:",
        shown(dir),
        if conflicts.len() == 1 { "a file" } else { "files" }
    );
    for path in conflicts.iter().take(20) {
        let _ = write!(message, "\n  {}", shown(&dir.join(path)));
    }
    if conflicts.len() > 20 {
        let _ = write!(message, "\n  ... and {} more", conflicts.len() - 20);
    }
    message.push_str(if existing.has_manifest {
        "\nmove them away, or write the output to another directory"
    } else {
        "\nthe directory has no `.modelgen-owned`, so modelgen owns nothing in it: move the files away, or write the output to another directory"
    });
    bail!(message)
}

/// The changes as one unified diff, with `a/` and `b/` paths under `dir` as
/// `git diff` writes them (so `git apply` could take it).
pub fn unified_diff(dir: &Path, changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        let path = shown(&dir.join(&change.path));
        let old_name = if change.old.is_some() { format!("a/{path}") } else { "/dev/null".to_owned() };
        let new_name = if change.new.is_some() { format!("b/{path}") } else { "/dev/null".to_owned() };
        let old = change.old.as_deref().unwrap_or_default();
        let new = change.new.as_deref().unwrap_or_default();
        let diff = similar::TextDiff::from_lines(old, new);
        // The old side is whatever the directory held: shown, never acted on.
        out.push_str(&escape::body(&diff.unified_diff().context_radius(3).header(&old_name, &new_name).to_string()));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(kind: &str, namespace: Option<&str>, name: &str) -> Manifest {
        let namespace = namespace.map(|ns| format!("  namespace: {ns}\n")).unwrap_or_default();
        Manifest {
            yaml: format!("apiVersion: x/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{namespace}"),
            source: "m.yaml".into(),
        }
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d).expect("readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    found.push(path.strip_prefix(dir).expect("inside").display().to_string());
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn objects_are_named_by_namespace_kind_and_name() {
        assert_eq!(object_path("InferenceService", Some("ml"), "m").expect("ok"), "ml/inferenceservice_m.yaml");
        assert_eq!(object_path("Model", None, "iris").expect("ok"), "model_iris.yaml");
        for (ns, name) in [(None, "../x"), (None, ".hidden"), (Some("a/b"), "m"), (None, "")] {
            assert!(object_path("Model", ns, name).is_err(), "{ns:?} {name}");
        }
    }

    #[test]
    fn each_set_gets_a_kustomization_listing_its_objects_in_render_order() {
        let dev = [manifest("Model", Some("ml"), "b"), manifest("Experiment", Some("ml"), "a")];
        let prod = [manifest("Model", Some("ml"), "b")];
        let tree = layout(&[(Some("dev"), &dev), (Some("prod"), &prod)]).expect("laid out");
        let paths: Vec<_> = tree.files().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                owned::FILE,
                "dev/kustomization.yaml",
                "dev/ml/experiment_a.yaml",
                "dev/ml/model_b.yaml",
                "prod/kustomization.yaml",
                "prod/ml/model_b.yaml"
            ]
        );
        let kustomization = tree.get("dev/kustomization.yaml").expect("written");
        assert!(kustomization.ends_with("resources:\n- ml/model_b.yaml\n- ml/experiment_a.yaml\n"), "{kustomization}");
        let owned = owned::parse(tree.get(owned::FILE).expect("manifest")).expect("valid");
        assert_eq!(owned.len(), 5, "every file but the manifest itself is owned");
    }

    #[test]
    fn ambiguous_layouts_are_refused() {
        let one = [manifest("Model", None, "a")];
        let twice = [manifest("Model", None, "a"), manifest("Model", None, "a")];
        assert!(layout(&[(None, &twice)]).expect_err("same file").to_string().contains("`model_a.yaml`"));
        assert!(layout(&[(None, &one), (Some("dev"), &one)]).is_err(), "a top set beside subdirectories");
        assert!(layout(&[(Some("dev"), &one), (Some("dev"), &one)]).is_err(), "one subdirectory twice");
        assert!(layout(&[(Some("../up"), &one)]).is_err());
    }

    #[test]
    fn two_environments_are_one_atomic_write_that_prunes_and_keeps_foreign_files() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("rendered");
        let dev = [manifest("Model", Some("ml"), "a"), manifest("Model", Some("ml"), "b")];
        let prod = [manifest("Model", Some("ml"), "a")];
        let first =
            write(&out, &[(Some("dev"), &dev), (Some("prod"), &prod)], InputLimits::default()).expect("written");
        assert_eq!((first.written, first.changed, first.removed.len()), (5, 5, 0));
        fs::write(out.join("README.md"), "mine").expect("a foreign file");
        fs::create_dir(out.join("dev/notes")).expect("a foreign directory");

        // `b` leaves dev; prod gains a namespace.
        let dev = [manifest("Model", Some("ml"), "a")];
        let prod = [manifest("Model", Some("ml"), "a"), manifest("Model", Some("serving"), "c")];
        let second =
            write(&out, &[(Some("dev"), &dev), (Some("prod"), &prod)], InputLimits::default()).expect("written");
        assert_eq!(second.removed, ["dev/ml/model_b.yaml"]);
        assert_eq!(second.changed, 3, "two kustomizations and one new object");
        assert_eq!(
            files(&out),
            [
                ".modelgen-owned",
                "README.md",
                "dev/kustomization.yaml",
                "dev/ml/model_a.yaml",
                "prod/kustomization.yaml",
                "prod/ml/model_a.yaml",
                "prod/serving/model_c.yaml"
            ]
        );
        assert!(out.join("dev/notes").is_dir(), "an empty foreign directory is kept");
        assert_eq!(fs::read_to_string(out.join("README.md")).expect("kept"), "mine");
        let leftovers: Vec<_> = fs::read_dir(root.path()).expect("readable").flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers, ["rendered"], "no staging directory is left behind");
        assert_eq!(
            check(&out, &[(Some("dev"), &dev), (Some("prod"), &prod)], InputLimits::default()).expect("checked"),
            []
        );

        // The same render again touches nothing.
        let inode = |p: &str| std::os::unix::fs::MetadataExt::ino(&fs::metadata(out.join(p)).expect("stat"));
        let before = (inode("."), inode("dev/ml/model_a.yaml"));
        let third =
            write(&out, &[(Some("dev"), &dev), (Some("prod"), &prod)], InputLimits::default()).expect("written");
        assert_eq!((third.written, third.changed, third.removed.len()), (5, 0, 0));
        assert_eq!((inode("."), inode("dev/ml/model_a.yaml")), before);
    }

    #[test]
    fn a_failed_write_leaves_the_previous_output_untouched() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("rendered");
        let before = [manifest("Model", None, "a")];
        write(&out, &[(None, &before)], InputLimits::default()).expect("written");
        let snapshot: Vec<_> = files(&out).iter().map(|p| (p.clone(), fs::read(out.join(p)).expect("read"))).collect();

        let after = [manifest("Model", None, "b"), manifest("Model", None, "c")];
        let tree = layout(&[(None, &after)]).expect("laid out");
        let existing = Existing::scan(&out, &mut Budget::new(InputLimits::default())).expect("scanned");
        let mut staging = Staging::beside(&existing).expect("staging");
        staging.write("model_b.yaml", b"half").expect("first file");
        drop(staging); // the write fails here, before the swap
        let again: Vec<_> = files(&out).iter().map(|p| (p.clone(), fs::read(out.join(p)).expect("read"))).collect();
        assert_eq!(again, snapshot);
        assert_eq!(fs::read_dir(root.path()).expect("readable").count(), 1, "the staging directory is gone");
        assert_eq!(
            check_tree(&out, &tree, InputLimits::default()).expect("checked").len(),
            5,
            "three objects, kustomization, manifest"
        );
    }

    #[test]
    fn files_modelgen_did_not_write_are_never_overwritten() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("rendered");
        fs::create_dir_all(out.join("ml")).expect("mkdir");
        fs::write(out.join("ml/model_a.yaml"), "hand-written").expect("write");
        fs::write(out.join(KUSTOMIZATION), "hand-written").expect("write");
        let objects = [manifest("Model", Some("ml"), "a")];
        let err = format!("{:#}", write(&out, &[(None, &objects)], InputLimits::default()).expect_err("refused"));
        assert!(err.contains("ml/model_a.yaml") && err.contains("kustomization.yaml"), "{err}");
        assert_eq!(fs::read_to_string(out.join("ml/model_a.yaml")).expect("kept"), "hand-written");
        assert!(
            check(&out, &[(None, &objects)], InputLimits::default()).is_err(),
            "check refuses what write would refuse"
        );

        fs::create_dir_all(root.path().join("repo/.git")).expect("a repository");
        let err = format!(
            "{:#}",
            write(&root.path().join("repo"), &[(None, &objects)], InputLimits::default()).expect_err("a repository")
        );
        assert!(err.contains("holds a Git repository"), "{err}");

        let file = root.path().join("file");
        fs::write(&file, "x").expect("write");
        assert!(
            format!("{:#}", write(&file, &[(None, &objects)], InputLimits::default()).expect_err("a file"))
                .contains("is a file")
        );
    }

    #[test]
    fn a_symlinked_output_directory_is_updated_through_the_link() {
        let root = tempfile::tempdir().expect("tempdir");
        let real = root.path().join("real");
        fs::create_dir(&real).expect("mkdir");
        let link = root.path().join("rendered");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let objects = [manifest("Model", None, "a")];
        write(&link, &[(None, &objects)], InputLimits::default()).expect("written");
        assert!(fs::symlink_metadata(&link).expect("stat").file_type().is_symlink(), "the link stays a link");
        assert_eq!(files(&real), [".modelgen-owned", "kustomization.yaml", "model_a.yaml"]);
    }

    #[test]
    fn check_shows_a_link_in_place_of_an_owned_file_without_following_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let out = root.path().join("rendered");
        let objects = [manifest("Model", None, "a")];
        write(&out, &[(None, &objects)], InputLimits::default()).expect("written");
        fs::write(root.path().join("private"), "do not print").expect("write");
        fs::remove_file(out.join("model_a.yaml")).expect("remove");
        std::os::unix::fs::symlink(root.path().join("private"), out.join("model_a.yaml")).expect("symlink");
        let changes = check(&out, &[(None, &objects)], InputLimits::default()).expect("checked");
        assert_eq!(changes.len(), 1);
        let shown = changes[0].old.as_deref().expect("something stands there");
        assert!(shown.starts_with("(a symbolic link to `") && !shown.contains("do not print"), "{shown}");
    }
}
