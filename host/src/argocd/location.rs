//! Where a model's spec sits in its file, so that a problem found after rendering (an API the cluster lacks) is reported at a line.

use std::collections::HashMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// The parts of a document this lookup reads; everything else is ignored.
#[derive(Deserialize)]
struct Document {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    spec: Option<Spec>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct Spec {
    #[serde(default)]
    backend: Option<Spanned<String>>,
}

/// A node of a spec: its 0-based line and column and its field path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    /// 0-based line and column.
    pub position: (u32, u32),
    /// The field at that position.
    pub field: &'static str,
}

/// For each model of a file, the node that decides which APIs it needs:
/// its `spec.backend` when the spec sets one, else its `metadata.name`.
/// Empty when the file cannot be read this way (messages then name the
/// file alone). The file is parsed once, however many models it holds, with
/// the budgets the plugin reads specs with (room for 100,000 documents).
pub fn backends(contents: &[u8]) -> HashMap<String, Located> {
    let Ok(text) = std::str::from_utf8(contents) else { return HashMap::new() };
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 100_000,
            max_nodes: 2_000_000,
            max_events: 10_000_000,
        },
    };
    let Ok(documents) = serde_saphyr::from_multiple_with_options::<Document>(text, options) else {
        return HashMap::new();
    };
    let zero_based = |n: u64| u32::try_from(n.saturating_sub(1)).unwrap_or(u32::MAX);
    let mut found = HashMap::new();
    for document in documents {
        let is_spec = document.api_version.as_deref().is_some_and(|a| a.starts_with("modelgen.dev/"))
            && document.kind.as_deref() == Some("ModelDeployment");
        let Some(name) = document.metadata.and_then(|m| m.name).filter(|_| is_spec) else { continue };
        let (node, field) = match document.spec.and_then(|s| s.backend) {
            Some(backend) => (backend, "spec.backend"),
            None => (name.clone(), "metadata.name"),
        };
        let position = (zero_based(node.referenced.line()), zero_based(node.referenced.column()));
        // The first spec of a name wins, as a lookup would find it.
        found.entry(name.value).or_insert(Located { position, field });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: modelgen.dev/v1alpha1\n\
                        kind: ModelDeployment\nmetadata:\n  name: a\nspec:\n  backend: seldon\n---\n\
                        apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: b}\n";

    #[test]
    fn points_at_the_backend_or_else_the_name() {
        let found = backends(FILE.as_bytes());
        assert_eq!(found.get("a"), Some(&Located { position: (10, 11), field: "spec.backend" }));
        assert_eq!(found.get("b"), Some(&Located { position: (14, 17), field: "metadata.name" }));
        assert_eq!(found.get("c"), None);
        assert!(backends(b"- a list\n").is_empty());
    }
}
