//! `modelgen diff A B`: what changes between two render results, object by object, as a unified diff or a pull-request comment.
//!
//! Either side is a directory `modelgen render --out` wrote (its owned files
//! are read), an application (a file or directory with specs, rendered by
//! the caller), or rendered YAML (a file, a directory of files, or `-` for
//! stdin). Objects are matched by API group, kind, namespace and name, and
//! compared in one normal form (keys sorted, the same emitter), so that
//! formatting never shows up as a change. A directory with neither specs nor
//! objects is an empty render. What is read may end up in a pull-request
//! comment: files are read beneath the directory through no link, within
//! `--max-input-bytes`, and every name and line shown is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::artifacts::output::{KUSTOMIZATION, owned};
use crate::diagnostic::Manifest;
use crate::escape;
use crate::input::kinds::Kinds;
use crate::input::safe_path::{Kind, Root};
use crate::input::source::{self, Budget, InputLimits};

/// One object of a render result, in normal form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// The set (an environment's subdirectory) it belongs to, when a
    /// directory `render --out` wrote holds several.
    pub set: Option<String>,
    /// The API group (empty for the core group).
    pub group: String,
    /// The kind.
    pub kind: String,
    /// The namespace, if set.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// The object as YAML, keys sorted.
    pub yaml: String,
}

impl Object {
    /// `Kind namespace/name`, or `Kind name` (escaped: it comes from the input).
    pub fn label(&self) -> String {
        let set = self.set.as_ref().map(|s| format!("{s}: ")).unwrap_or_default();
        let text = match &self.namespace {
            Some(namespace) => format!("{set}{} {namespace}/{}", self.kind, self.name),
            None => format!("{set}{} {}", self.kind, self.name),
        };
        escape::value(&text).into_owned()
    }

    /// `Kind/namespace/name`: the object as a path, for diff headers.
    fn path(&self) -> String {
        let set = self.set.as_ref().map(|s| format!("{s}/")).unwrap_or_default();
        let text = match &self.namespace {
            Some(namespace) => format!("{set}{}/{namespace}/{}", self.kind, self.name),
            None => format!("{set}{}/{}", self.kind, self.name),
        };
        escape::value(&text).into_owned()
    }

    fn key(&self) -> (Option<&str>, &str, &str, Option<&str>, &str) {
        (self.set.as_deref(), &self.kind, &self.name, self.namespace.as_deref(), &self.group)
    }
}

/// An object's identity: set, kind, name, namespace and API group, in sort order.
type Key = (Option<String>, String, String, Option<String>, String);

/// What a side of a diff turned out to be.
pub enum Side {
    /// Rendered objects, read as they are.
    Objects(Vec<Object>),
    /// An application: specs to render first.
    App,
}

/// Reads one side: `-` (stdin), a directory written by `--out`, an
/// application (a directory with documents of the plugin's API groups,
/// `kinds`), or rendered YAML. `stdin` supplies the bytes for `-`.
pub fn load(path: &Path, limits: InputLimits, kinds: &Kinds, stdin: impl FnOnce() -> Result<String>) -> Result<Side> {
    if path == Path::new("-") {
        return Ok(Side::Objects(parse(&stdin()?, "stdin")?));
    }
    if path.is_dir() {
        let root = Root::open(path).with_context(|| format!("cannot open `{}`", shown(path)))?;
        if let Some(objects) = rendered_directory(&root, &mut Budget::new(limits))? {
            return Ok(Side::Objects(objects));
        }
    }
    let sources = source::discover(path, limits, kinds)?;
    let mut objects = Vec::new();
    for file in &sources.files {
        let shown = shown(&sources.root.join(&file.path));
        let Ok(text) = std::str::from_utf8(&file.contents) else { return Ok(Side::App) };
        let Ok(documents) = documents(text) else { return Ok(Side::App) };
        if documents.iter().any(|d| kinds.is_own(d)) {
            return Ok(Side::App);
        }
        objects.extend(normalize(documents, &shown)?);
    }
    // A directory without specs or objects is an empty render: the base of
    // the pull request that adds the first specs, or of one that deletes them all.
    Ok(Side::Objects(objects))
}

/// The objects of a directory `render --out` wrote (one with an ownership
/// manifest), read beneath `root` through no link and within `budget`;
/// `None` when it has no manifest.
fn rendered_directory(root: &Root, budget: &mut Budget) -> Result<Option<Vec<Object>>> {
    let manifest = root.path().join(owned::FILE);
    match root.kind(owned::FILE) {
        Ok(Some(Kind::File)) => {}
        Ok(Some(Kind::Symlink)) => {
            bail!("`{}` is a symbolic link, which is never followed here", shown(&manifest))
        }
        _ => return Ok(None),
    }
    let read = |budget: &mut Budget, relative: &str| -> Result<String> {
        let full = shown(&root.path().join(relative));
        let file = root.file(relative).map_err(|e| anyhow::anyhow!("cannot read `{full}`: {e}"))?;
        String::from_utf8(budget.read(file, &full)?).map_err(|_| anyhow::anyhow!("`{full}` is not UTF-8"))
    };
    let text = read(budget, owned::FILE)?;
    let files = owned::parse(&text).with_context(|| format!("`{}` is not modelgen's", shown(&manifest)))?;
    let is_kustomization = |f: &str| f.rsplit('/').next() == Some(KUSTOMIZATION);
    // Sets in subdirectories (environments) each have their kustomization.
    let sets: Vec<&str> = files.iter().filter_map(|f| f.strip_suffix(&format!("/{KUSTOMIZATION}"))).collect();
    let mut objects = Vec::new();
    for file in files.iter().filter(|f| !is_kustomization(f)) {
        let text = read(budget, file)?;
        let set = sets.iter().find(|s| file.starts_with(&format!("{s}/"))).map(|s| (*s).to_owned());
        let origin = shown(&root.path().join(file));
        objects.extend(parse(&text, &origin)?.into_iter().map(|o| Object { set: set.clone(), ..o }));
    }
    Ok(Some(objects))
}

fn shown(path: &Path) -> String {
    escape::value(&path.to_string_lossy()).into_owned()
}

/// The objects of a render.
pub fn from_manifests(manifests: &[Manifest]) -> Result<Vec<Object>> {
    let mut objects = Vec::with_capacity(manifests.len());
    for manifest in manifests {
        objects.extend(parse(&manifest.yaml, &manifest.source)?);
    }
    Ok(objects)
}

/// The objects of a YAML stream; `origin` names it in messages.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Object>> {
    let documents =
        documents(text).map_err(|e| anyhow::anyhow!("`{origin}` is not YAML: {}", escape::message(&e.to_string())))?;
    normalize(documents, origin)
}

fn documents(text: &str) -> Result<Vec<Value>, serde_saphyr::Error> {
    // As the plugin reads specs: YAML 1.2 booleans, duplicate keys refused,
    // budgets that stop alias bombs but take a monorepo's render in one
    // stream; no snippet, which could quote a value nobody should see.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_documents: 100_000,
            max_nodes: 2_000_000,
            max_events: 10_000_000,
        },
    };
    serde_saphyr::from_multiple_with_options(text, options)
}

/// Objects in normal form; `List`s are flattened, empty documents skipped.
fn normalize(documents: Vec<Value>, origin: &str) -> Result<Vec<Object>> {
    let mut objects = Vec::new();
    let mut pending: Vec<Value> = documents.into_iter().rev().collect();
    let mut index = 0;
    while let Some(document) = pending.pop() {
        index += 1;
        if document.is_null() {
            continue;
        }
        if document["kind"] == "List"
            && let Some(items) = document["items"].as_array()
        {
            pending.extend(items.iter().rev().cloned());
            continue;
        }
        let text = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let (Some(api_version), Some(kind), Some(name)) =
            (text(&document["apiVersion"]), text(&document["kind"]), text(&document["metadata"]["name"]))
        else {
            bail!(
                "document {index} of `{origin}` is not a Kubernetes object (it lacks `apiVersion`, `kind` or `metadata.name`)"
            );
        };
        let group = api_version.rsplit_once('/').map(|(group, _)| group.to_owned()).unwrap_or_default();
        let yaml = serde_saphyr::to_string(&document).context("cannot write an object as YAML")?;
        objects.push(Object {
            set: None,
            group,
            kind,
            namespace: text(&document["metadata"]["namespace"]),
            name,
            yaml,
        });
    }
    Ok(objects)
}

/// How an object differs between the sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Only in the new side.
    Added,
    /// Only in the old side.
    Removed,
    /// In both, different.
    Changed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
        }
    }
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// How.
    pub status: Status,
    /// The object on the old side.
    pub old: Option<Object>,
    /// The object on the new side.
    pub new: Option<Object>,
}

impl Difference {
    fn object(&self) -> &Object {
        self.new.as_ref().or(self.old.as_ref()).expect("a difference has at least one side")
    }
}

/// The objects that differ between `old` and `new`, ordered by kind,
/// name and namespace. An object twice on one side is an error: it could not
/// be told which of the two to compare.
pub fn compare(old: Vec<Object>, new: Vec<Object>, old_label: &str, new_label: &str) -> Result<Vec<Difference>> {
    let index = |objects: Vec<Object>, label: &str| -> Result<BTreeMap<Key, Object>> {
        let mut map = BTreeMap::new();
        for object in objects {
            let (set, kind, name, namespace, group) = object.key();
            let key: Key = (
                set.map(str::to_owned),
                kind.to_owned(),
                name.to_owned(),
                namespace.map(str::to_owned),
                group.to_owned(),
            );
            if map.contains_key(&key) {
                bail!("`{}` appears twice in `{label}`", object.label());
            }
            map.insert(key, object);
        }
        Ok(map)
    };
    let mut old = index(old, old_label)?;
    let new = index(new, new_label)?;
    let mut differences = Vec::new();
    for (key, object) in new {
        match old.remove(&key) {
            None => differences.push(Difference { status: Status::Added, old: None, new: Some(object) }),
            Some(before) if before.yaml != object.yaml => {
                differences.push(Difference { status: Status::Changed, old: Some(before), new: Some(object) });
            }
            Some(_) => {}
        }
    }
    differences.extend(old.into_values().map(|o| Difference { status: Status::Removed, old: Some(o), new: None }));
    differences.sort_by(|a, b| a.object().key().cmp(&b.object().key()));
    Ok(differences)
}

/// `1 changed, 2 added, 0 removed`.
pub fn summary(differences: &[Difference]) -> String {
    let count = |status| differences.iter().filter(|d| d.status == status).count();
    format!("{} changed, {} added, {} removed", count(Status::Changed), count(Status::Added), count(Status::Removed))
}

fn text_diff(difference: &Difference) -> similar::TextDiff<'_, '_, str> {
    let old = difference.old.as_ref().map_or("", |o| o.yaml.as_str());
    let new = difference.new.as_ref().map_or("", |o| o.yaml.as_str());
    similar::TextDiff::from_lines(old, new)
}

/// A unified diff per object, `a/Kind/namespace/name` against `b/...`.
pub fn unified(differences: &[Difference], context: usize) -> String {
    let mut out = String::new();
    for difference in differences {
        let path = difference.object().path();
        let old = if difference.old.is_some() { format!("a/{path}") } else { "/dev/null".to_owned() };
        let new = if difference.new.is_some() { format!("b/{path}") } else { "/dev/null".to_owned() };
        let _ = writeln!(out, "diff --modelgen a/{path} b/{path}");
        let diff = text_diff(difference);
        out.push_str(&escape::body(&diff.unified_diff().context_radius(context).header(&old, &new).to_string()));
    }
    out
}

/// GitHub refuses comments longer than 65,536 characters; stay well below.
const COMMENT_BUDGET: usize = 60_000;

/// A pull-request comment: a summary, a table of the objects, and a
/// collapsible diff per object, cut short before GitHub's size limit.
pub fn markdown(differences: &[Difference], old_label: &str, new_label: &str, context: usize) -> String {
    let mut out = String::from("### modelgen diff\n\n");
    if differences.is_empty() {
        let _ = writeln!(
            out,
            "No changes to the rendered objects ({} → {}).",
            escape::markdown_code(old_label),
            escape::markdown_code(new_label)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} → {}: {}.\n",
        escape::markdown_code(old_label),
        escape::markdown_code(new_label),
        summary(differences)
    );
    out.push_str("| Change | Object |\n| --- | --- |\n");
    let mut shown = 0;
    for difference in differences {
        let row =
            format!("| {} | {} |\n", difference.status.as_str(), escape::markdown_code(&difference.object().label()));
        if out.len() + row.len() > COMMENT_BUDGET / 2 {
            break;
        }
        out.push_str(&row);
        shown += 1;
    }
    if shown < differences.len() {
        let _ = writeln!(out, "| … | {} more |", differences.len() - shown);
    }
    out.push('\n');
    let mut detailed = 0;
    for difference in differences {
        let mut body = String::new();
        for hunk in text_diff(difference).unified_diff().context_radius(context).iter_hunks() {
            body.push_str(&escape::body(&hunk.to_string()));
        }
        let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
        let block = format!(
            "<details open>\n<summary>{}: <code>{}</code></summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
            difference.status.as_str(),
            escape::html(&difference.object().label())
        );
        if out.len() + block.len() > COMMENT_BUDGET {
            break;
        }
        out.push_str(&block);
        detailed += 1;
    }
    if detailed < differences.len() {
        let _ = writeln!(
            out,
            "_{} more diffs not shown: a comment is limited in size. Run `modelgen diff` locally for all of them._",
            differences.len() - detailed
        );
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn object(kind: &str, name: &str, replicas: u32) -> String {
        format!(
            "apiVersion: serving.kserve.io/v1beta1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: ml\nspec:\n  replicas: {replicas}\n"
        )
    }

    #[test]
    fn objects_are_matched_by_identity_and_compared_in_normal_form() {
        let old = parse(&format!("{}---\n{}", object("A", "x", 1), object("B", "gone", 1)), "old").expect("parsed");
        // The same object in flow style and another key order is no change.
        let same = "{kind: A, metadata: {namespace: ml, name: x}, spec: {replicas: 1}, apiVersion: serving.kserve.io/v1beta1}\n";
        let new = parse(&format!("{same}---\n{}", object("C", "new", 2)), "new").expect("parsed");
        let differences = compare(old.clone(), new, "old", "new").expect("compared");
        let statuses: Vec<_> = differences.iter().map(|d| (d.status, d.object().label())).collect();
        assert_eq!(statuses, [(Status::Removed, "B ml/gone".into()), (Status::Added, "C ml/new".into())]);

        let changed = parse(&object("A", "x", 3), "new").expect("parsed");
        let differences = compare(old, changed, "old", "new").expect("compared");
        assert_eq!(differences.len(), 2);
        let text = unified(&differences, 3);
        assert!(text.contains("--- a/A/ml/x\n+++ b/A/ml/x\n"), "{text}");
        assert!(text.contains("-  replicas: 1\n+  replicas: 3\n"), "{text}");
        assert!(text.contains("--- a/B/ml/gone\n+++ /dev/null\n"), "{text}");
    }

    #[test]
    fn lists_are_flattened_and_non_objects_refused() {
        let list = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n";
        assert_eq!(parse(list, "l").expect("parsed")[0].label(), "ConfigMap a");
        let err = parse("just: data\n", "f.yaml").expect_err("not an object").to_string();
        assert!(err.contains("document 1 of `f.yaml` is not a Kubernetes object"), "{err}");
        let twice = format!("{}---\n{}", object("A", "x", 1), object("A", "x", 2));
        let err = compare(parse(&twice, "o").expect("parsed"), vec![], "o", "n").expect_err("twice").to_string();
        assert_eq!(err, "`A ml/x` appears twice in `o`");
    }

    #[test]
    fn the_markdown_comment_has_a_table_and_diffs_and_stays_below_the_limit() {
        let old = parse(&object("A", "x", 1), "old").expect("parsed");
        let new = parse(&object("A", "x", 2), "new").expect("parsed");
        let comment = markdown(&compare(old, new, "o", "n").expect("compared"), "base", "head", 3);
        assert!(
            comment.starts_with("### modelgen diff\n\n`base` → `head`: 1 changed, 0 added, 0 removed.\n"),
            "{comment}"
        );
        assert!(comment.contains("| changed | `A ml/x` |\n"), "{comment}");
        assert!(comment.contains("```diff\n@@ -4,4 +4,4 @@\n"), "{comment}");
        assert!(markdown(&[], "base", "head", 3).contains("No changes"));

        let many: Vec<String> = (0..3000).map(|i| object("A", &format!("m{i}"), 1)).collect();
        let added = compare(vec![], parse(&many.join("---\n"), "n").expect("parsed"), "o", "n").expect("compared");
        let comment = markdown(&added, "base", "head", 3);
        assert!(comment.len() < 65_536, "{}", comment.len());
        assert!(comment.contains("more diffs not shown"), "{comment}");
    }

    #[test]
    fn a_directory_with_environments_keeps_them_apart_and_is_read_without_following_links() {
        let root = tempfile::tempdir().expect("tempdir");
        let manifest = |name: &str| Manifest { yaml: object("Model", name, 1), source: "m.yaml".into() };
        let (dev, prod) = ([manifest("a")], [manifest("a"), manifest("b")]);
        crate::artifacts::output::write(
            root.path(),
            &[(Some("dev"), &dev), (Some("prod"), &prod)],
            InputLimits::default(),
        )
        .expect("written");
        let Side::Objects(objects) =
            load(root.path(), InputLimits::default(), &Kinds::default(), || unreachable!()).expect("read")
        else {
            panic!("a rendered directory")
        };
        let labels: Vec<String> = objects.iter().map(Object::label).collect();
        assert_eq!(labels, ["dev: Model ml/a", "prod: Model ml/a", "prod: Model ml/b"]);

        let secret = root.path().join("secret.txt");
        fs::write(&secret, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n").expect("write");
        let file = root.path().join("prod/ml/model_b.yaml");
        fs::remove_file(&file).expect("remove");
        std::os::unix::fs::symlink(&secret, &file).expect("symlink");
        let err = load(root.path(), InputLimits::default(), &Kinds::default(), || unreachable!())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.ends_with("`prod/ml/model_b.yaml` is a symbolic link, which is never followed here"), "{err}");

        // Nor through a linked directory on the way.
        fs::remove_file(&file).expect("remove");
        let elsewhere = tempfile::tempdir().expect("elsewhere");
        fs::create_dir(elsewhere.path().join("ml")).expect("mkdir");
        fs::write(elsewhere.path().join("ml/model_b.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
            .expect("write");
        fs::remove_dir_all(root.path().join("prod/ml")).expect("remove");
        std::os::unix::fs::symlink(elsewhere.path().join("ml"), root.path().join("prod/ml")).expect("symlink");
        let err = load(root.path(), InputLimits::default(), &Kinds::default(), || unreachable!())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.ends_with("`prod/ml` is a symbolic link, which is never followed here"), "{err}");
    }
}
