//! A spec assembled from layers (project defaults, the spec, an environment's overrides), and which layer wrote a field.
//!
//! Layers merge with JSON merge patch semantics (RFC 7396) on the YAML trees
//! themselves rather than on JSON values, because each value must keep the
//! file and line it was written on: an override's bad value is reported in
//! the project file, at its own line, not in the spec it was merged into.

use crate::diagnostic::{Diagnostic, Position};
use crate::yaml::node::{Node, Value};
use crate::yaml::path::{FieldPath, Segment};
use crate::yaml::unknown_field as fields;

/// Fragment keys that belong to a spec's `metadata`; every other key belongs to its `spec`.
const METADATA_KEYS: [&str; 3] = ["namespace", "labels", "annotations"];

/// One layer: a whole spec document, or a fragment of the project file shaped like one.
#[derive(Clone, Debug)]
pub struct Layer<'a> {
    /// The file it was written in; `None` for render parameters.
    pub file: Option<&'a str>,
    /// The layer, shaped as a spec document (`metadata`, `spec`).
    pub document: Node,
    /// Where a fragment sits in its file (`environments.prod.overrides`);
    /// `None` when the layer is a spec document itself.
    pub prefix: Option<FieldPath>,
    /// How many leading segments of a document path the fragment's own
    /// path replaces (`spec` for a fragment, `spec.cluster` for cluster facts).
    skip: usize,
}

impl<'a> Layer<'a> {
    /// A whole spec document.
    pub fn spec(file: &'a str, document: Node) -> Self {
        Self { file: Some(file), document, prefix: None, skip: 0 }
    }

    /// A fragment of `file` at `prefix`: `namespace`, `labels` and
    /// `annotations` go to `metadata`, everything else to `spec`.
    pub fn fragment(file: &'a str, fragment: &Node, prefix: FieldPath) -> Self {
        Self { file: Some(file), document: document_of(fragment), prefix: Some(prefix), skip: 1 }
    }

    /// Cluster facts written outside a spec (the project's `cluster`, an
    /// environment's `cluster`): they become the spec's `spec.cluster`.
    pub fn cluster(file: &'a str, facts: &Node, prefix: FieldPath) -> Self {
        let at = facts.position;
        let wrap = |name: &str, node: Node| Node { value: Value::Map(vec![(key(name, at), node)]), position: at };
        Self { file: Some(file), document: wrap("spec", wrap("cluster", facts.clone())), prefix: Some(prefix), skip: 2 }
    }

    /// A layer that comes from outside any file (render parameters), already document-shaped.
    pub fn parameters(document: Node) -> Self {
        Self { file: None, document, prefix: None, skip: 0 }
    }

    /// The path of `path` (a spec document path) as the user wrote it in this layer's file.
    pub fn field(&self, path: &FieldPath) -> FieldPath {
        let Some(prefix) = &self.prefix else { return path.clone() };
        let mut field = prefix.clone();
        field.0.extend(path.0.iter().skip(self.skip).cloned());
        field
    }

    /// Unknown fields of a fragment, reported against its file; a fragment must be a mapping.
    pub fn check(&self, schema: &serde_json::Value) -> Vec<Diagnostic> {
        let Some(prefix) = &self.prefix else { return Vec::new() };
        let file = self.file.unwrap_or_default();
        if !matches!(self.document.value, Value::Map(_)) {
            return vec![
                Diagnostic::error(format!("expected a mapping of spec fields, found {}", self.document.describe()))
                    .in_file(file)
                    .at(Some(self.document.position))
                    .field(prefix.to_string()),
            ];
        }
        fields::unknown_fields(&self.document, schema)
            .into_iter()
            .map(|unknown| {
                Diagnostic::error(format!("unknown field `{}`", unknown.key))
                    .in_file(file)
                    .at(Some(unknown.position))
                    .field(self.field(&unknown.path).to_string())
                    .hint(unknown.hint)
            })
            .collect()
    }
}

/// Where a diagnostic about a field of an assembled spec should point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file that wrote the field (`None` for render parameters).
    pub file: Option<String>,
    /// Where in it.
    pub position: Option<Position>,
    /// The field as written in that file.
    pub field: String,
}

/// The layers of one spec, lowest precedence first.
#[derive(Clone, Debug)]
pub struct Stack<'a> {
    layers: Vec<Layer<'a>>,
    /// Which layer is the spec document, the fallback for fields no layer wrote.
    spec: usize,
}

impl<'a> Stack<'a> {
    /// A stack with only the spec document.
    pub fn new(spec: Layer<'a>) -> Self {
        Self { layers: vec![spec], spec: 0 }
    }

    /// Puts `layer` under everything so far (project defaults).
    pub fn push_under(&mut self, layer: Layer<'a>) {
        self.layers.insert(0, layer);
        self.spec += 1;
    }

    /// Puts `layer` over everything so far (environment overrides, parameters).
    pub fn push(&mut self, layer: Layer<'a>) {
        self.layers.push(layer);
    }

    /// Whether the spec document is the only layer.
    pub fn is_single(&self) -> bool {
        self.layers.len() == 1
    }

    /// The spec document as written.
    pub fn spec_document(&self) -> &Node {
        &self.layers[self.spec].document
    }

    /// Drops `path` from the layers under the spec (project defaults) unless
    /// the spec merged with the layers over it has a mapping at one of
    /// `claims`: defaults for a canary refine a spec's canary, they never add
    /// one (nor keep one an environment deletes with `null`).
    pub fn drop_unclaimed_defaults(&mut self, path: &FieldPath, claims: &[FieldPath]) {
        let mut above = self.layers[self.spec].document.clone();
        for layer in &self.layers[self.spec + 1..] {
            merge(&mut above, &layer.document);
        }
        let claimed = claims.iter().any(|c| above.at(c).is_some_and(|n| matches!(n.value, Value::Map(_))));
        if !claimed {
            for layer in &mut self.layers[..self.spec] {
                remove(&mut layer.document, &path.0);
            }
        }
    }

    /// All layers merged, lowest first.
    pub fn merged(&self) -> Node {
        let mut layers = self.layers.iter();
        let mut merged = layers.next().map_or_else(|| empty(Position::default()), |l| l.document.clone());
        for layer in layers {
            merge(&mut merged, &layer.document);
        }
        merged
    }

    /// The layer that wrote `path` last (the one whose value survived the
    /// merge), or the spec document for fields no layer wrote completely.
    pub fn locate(&self, path: &FieldPath, on_key: bool) -> Location {
        let layer = self.layers.iter().rev().find(|l| l.document.at(path).is_some()).unwrap_or(&self.layers[self.spec]);
        let position = if on_key { layer.document.key_position_of(path) } else { layer.document.position_of(path) };
        Location {
            file: layer.file.map(str::to_owned),
            position: layer.file.map(|_| position),
            field: layer.field(path).to_string(),
        }
    }
}

/// Merges `patch` into `base` (RFC 7396: mappings merge key by key, `null`
/// deletes a key, anything else replaces).
pub fn merge(base: &mut Node, patch: &Node) {
    let Value::Map(patch_entries) = &patch.value else {
        *base = without_nulls(patch);
        return;
    };
    if !matches!(base.value, Value::Map(_)) {
        *base = empty(patch.position);
    }
    let Value::Map(entries) = &mut base.value else { return };
    for (key, value) in patch_entries {
        let existing = entries.iter().position(|(k, _)| k.value == key.value);
        match (existing, &value.value) {
            (Some(i), Value::Null) => {
                entries.remove(i);
            }
            (None, Value::Null) => {}
            (Some(i), _) => merge(&mut entries[i].1, value),
            (None, _) => entries.push((key.clone(), without_nulls(value))),
        }
    }
}

/// Removes the value at `path` (mapping keys only) from `node`, if it is there.
fn remove(node: &mut Node, path: &[Segment]) {
    let (Some(Segment::Key(first)), Value::Map(entries)) = (path.first(), &mut node.value) else { return };
    let Some(i) = entries.iter().position(|(k, _)| k.as_str() == Some(first.as_str())) else { return };
    if path.len() == 1 {
        entries.remove(i);
    } else {
        remove(&mut entries[i].1, &path[1..]);
    }
}

/// `node` with `null` map entries removed, as a merge patch adds new values.
fn without_nulls(node: &Node) -> Node {
    match &node.value {
        Value::Map(entries) => Node {
            value: Value::Map(
                entries
                    .iter()
                    .filter(|(_, v)| v.value != Value::Null)
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            position: node.position,
        },
        _ => node.clone(),
    }
}

fn empty(position: Position) -> Node {
    Node { value: Value::Map(Vec::new()), position }
}

fn key(name: &str, position: Position) -> Node {
    Node { value: Value::String(name.to_owned()), position }
}

/// A project fragment shaped as a spec document.
fn document_of(fragment: &Node) -> Node {
    let Value::Map(entries) = &fragment.value else { return fragment.clone() };
    let (metadata, spec): (Vec<_>, Vec<_>) =
        entries.iter().cloned().partition(|(k, _)| k.as_str().is_some_and(|k| METADATA_KEYS.contains(&k)));
    let at = fragment.position;
    let mut document = Vec::new();
    if !metadata.is_empty() {
        document.push((key("metadata", at), Node { value: Value::Map(metadata), position: at }));
    }
    if !spec.is_empty() {
        document.push((key("spec", at), Node { value: Value::Map(spec), position: at }));
    }
    Node { value: Value::Map(document), position: at }
}

/// A document-shaped layer setting one value at `path` (for render parameters).
pub fn single(path: &FieldPath, value: Value) -> Node {
    let mut node = Node { value, position: Position::default() };
    for segment in path.0.iter().rev() {
        if let Segment::Key(name) = segment {
            node =
                Node { value: Value::Map(vec![(key(name, Position::default()), node)]), position: Position::default() };
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::node::parse_stream;

    fn node(text: &str) -> Node {
        parse_stream(text).expect("YAML").remove(0)
    }

    #[test]
    fn merging_follows_rfc_7396() {
        // The examples of RFC 7396, appendix A, that apply to YAML mappings.
        let cases = [
            ("{a: b}", "{a: c}", "{a: c}"),
            ("{a: b}", "{b: c}", "{a: b, b: c}"),
            ("{a: b}", "{a: null}", "{}"),
            ("{a: b, b: c}", "{a: null}", "{b: c}"),
            ("{a: [b]}", "{a: c}", "{a: c}"),
            ("{a: c}", "{a: [b]}", "{a: [b]}"),
            ("{a: {b: c}}", "{a: {b: d, c: null}}", "{a: {b: d}}"),
            ("{a: [{b: c}]}", "{a: [1]}", "{a: [1]}"),
            ("[a, b]", "[c, d]", "[c, d]"),
            ("{a: b}", "[c]", "[c]"),
            ("{e: null}", "{a: 1}", "{e: null, a: 1}"),
            ("[1, 2]", "{a: b, c: null}", "{a: b}"),
            ("{}", "{a: {bb: {ccc: null}}}", "{a: {bb: {}}}"),
        ];
        for (base, patch, expected) in cases {
            let mut merged = node(base);
            merge(&mut merged, &node(patch));
            assert_eq!(strip(&merged), strip(&node(expected)), "{base} + {patch}");
        }
    }

    /// The value without positions, for comparison.
    fn strip(node: &Node) -> String {
        match &node.value {
            Value::Map(entries) => {
                let inner: Vec<String> = entries.iter().map(|(k, v)| format!("{}: {}", strip(k), strip(v))).collect();
                format!("{{{}}}", inner.join(", "))
            }
            Value::Seq(items) => format!("[{}]", items.iter().map(strip).collect::<Vec<_>>().join(", ")),
            other => other.to_string(),
        }
    }

    #[test]
    fn a_field_is_located_in_the_layer_whose_value_survived() {
        let spec = node("metadata: {name: m}\nspec:\n  scaling: {minReplicas: 1, maxReplicas: 4}\n");
        let project = node("environments:\n  prod:\n    overrides:\n      scaling:\n        minReplicas: three\n");
        let fragment = project.at(&FieldPath::parse("environments.prod.overrides")).expect("fragment");
        let mut stack = Stack::new(Layer::spec("m.yaml", spec));
        stack.push(Layer::fragment("modelgen.yaml", fragment, FieldPath::parse("environments.prod.overrides")));
        let overridden = stack.locate(&FieldPath::parse("spec.scaling.minReplicas"), false);
        assert_eq!(overridden.file.as_deref(), Some("modelgen.yaml"));
        assert_eq!(overridden.field, "environments.prod.overrides.scaling.minReplicas");
        assert_eq!(overridden.position, Some(Position { line: 4, column: 21 }));
        let kept = stack.locate(&FieldPath::parse("spec.scaling.maxReplicas"), false);
        assert_eq!((kept.file.as_deref(), kept.field.as_str()), (Some("m.yaml"), "spec.scaling.maxReplicas"));
        let merged = stack.merged();
        assert_eq!(
            strip(merged.at(&FieldPath::parse("spec.scaling")).expect("scaling")),
            "{string `minReplicas`: string `three`, string `maxReplicas`: integer `4`}"
        );
    }
}
