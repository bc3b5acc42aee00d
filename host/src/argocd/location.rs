//! Where a model's spec sits in its file, so that a problem found after rendering (an API the cluster lacks) is reported at a line.

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

/// The node that decides which APIs model `name` needs: its `spec.backend`
/// when the spec sets one, else its `metadata.name`. `None` when the file
/// cannot be read this way (the message then names the file alone).
pub fn backend_of(contents: &[u8], name: &str) -> Option<Located> {
    let text = std::str::from_utf8(contents).ok()?;
    let documents: Vec<Document> = serde_saphyr::from_multiple(text).ok()?;
    let document = documents.into_iter().find(|d| {
        d.api_version.as_deref().is_some_and(|a| a.starts_with("modelgen.dev/"))
            && d.kind.as_deref() == Some("ModelDeployment")
            && d.metadata.as_ref().and_then(|m| m.name.as_ref()).is_some_and(|n| n.value == name)
    })?;
    let (node, field) = match document.spec.and_then(|s| s.backend) {
        Some(backend) => (backend, "spec.backend"),
        None => (document.metadata.and_then(|m| m.name)?, "metadata.name"),
    };
    let zero_based = |n: u64| u32::try_from(n.saturating_sub(1)).unwrap_or(u32::MAX);
    Some(Located { position: (zero_based(node.referenced.line()), zero_based(node.referenced.column())), field })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: modelgen.dev/v1alpha1\n\
                        kind: ModelDeployment\nmetadata:\n  name: a\nspec:\n  backend: seldon\n---\n\
                        apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: b}\n";

    #[test]
    fn points_at_the_backend_or_else_the_name() {
        assert_eq!(backend_of(FILE.as_bytes(), "a"), Some(Located { position: (10, 11), field: "spec.backend" }));
        assert_eq!(backend_of(FILE.as_bytes(), "b"), Some(Located { position: (14, 17), field: "metadata.name" }));
        assert_eq!(backend_of(FILE.as_bytes(), "c"), None);
        assert_eq!(backend_of(b"- a list\n", "a"), None);
    }
}
