//! Documents of the kinds this plugin handles: recognised by their API group and kind, their header checked before decoding.

use crate::diagnostic::Diagnostic;
use crate::model::project;
use crate::model::spec::{API_GROUP_PREFIX, API_VERSION, KIND};
use crate::yaml::node::{Node, Value};

/// A document is ours when its `apiVersion` is in the `modelgen.dev` group.
pub fn is_ours(document: &Node) -> bool {
    document.get("apiVersion").and_then(Node::as_str).is_some_and(|v| v.starts_with(API_GROUP_PREFIX))
}

/// Checks a spec document's `apiVersion` and `kind`, pointing at the value
/// as written (typed decoding would only say that it does not match).
pub fn check_header(path: &str, document: &Node, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(api_version) = document.get("apiVersion").filter(|v| v.as_str() != Some(API_VERSION)) {
        diagnostics.push(
            Diagnostic::error(format!(
                "unsupported apiVersion {}",
                api_version.describe().trim_start_matches("string ")
            ))
            .in_file(path)
            .at(Some(api_version.position))
            .field("apiVersion")
            .hint(format!("this plugin handles `{API_VERSION}`")),
        );
    }
    match document.get("kind") {
        Some(kind) if kind.as_str() == Some(KIND) => {}
        Some(kind) => diagnostics.push(
            Diagnostic::error(format!("unknown kind {}", kind.describe().trim_start_matches("string ")))
                .in_file(path)
                .at(Some(kind.position))
                .field("kind")
                .hint(format!("this plugin handles `{KIND}`")),
        ),
        None => diagnostics.push(
            Diagnostic::error("missing required field `kind`")
                .in_file(path)
                .at(Some(document.position))
                .field("kind")
                .hint(format!("add `kind: {KIND}`")),
        ),
    }
}

/// Whether `document` is a project document (by kind, in our API group).
pub fn is_project(document: &Node) -> bool {
    matches!(document.get("kind").map(|k| &k.value), Some(Value::String(kind)) if kind == project::KIND)
}
