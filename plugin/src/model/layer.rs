//! A layer of a spec: the spec document itself, or a part of the project file shaped like one, with the way back to where each field was written.

use crate::diagnostic::Diagnostic;
use crate::yaml::node::{Node, Value};
use crate::yaml::path::FieldPath;
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
        let wrap =
            |name: &str, node: Node| Node { value: Value::Map(vec![(Node::string(name, at), node)]), position: at };
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
    pub fn check(&self, schema: &fields::Fields) -> Vec<Diagnostic> {
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
                let field = self.field(&unknown.path);
                unknown.error(file, &field)
            })
            .collect()
    }
}

/// A project fragment shaped as a spec document.
fn document_of(fragment: &Node) -> Node {
    let Value::Map(entries) = &fragment.value else { return fragment.clone() };
    let (metadata, spec): (Vec<_>, Vec<_>) =
        entries.iter().cloned().partition(|(k, _)| k.as_str().is_some_and(|k| METADATA_KEYS.contains(&k)));
    let at = fragment.position;
    let mut document = Vec::new();
    if !metadata.is_empty() {
        document.push((Node::string("metadata", at), Node::mapping(metadata, at)));
    }
    if !spec.is_empty() {
        document.push((Node::string("spec", at), Node::mapping(spec, at)));
    }
    Node::mapping(document, at)
}
