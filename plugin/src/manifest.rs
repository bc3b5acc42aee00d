//! Manifests: the generated objects and the result of a render.

use crate::diagnostic::Diagnostic;

/// One generated Kubernetes object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The object as one YAML document, ending with a newline.
    pub yaml: String,
    /// The source file whose spec produced it.
    pub source: String,
}

/// A successful render.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The objects, in a stable order.
    pub manifests: Vec<Manifest>,
    /// Warnings worth a look.
    pub warnings: Vec<Diagnostic>,
}

impl Rendered {
    /// The manifests as one multi-document YAML stream (`---` between documents).
    pub fn to_stream(&self) -> String {
        let mut out = String::new();
        for manifest in &self.manifests {
            out.push_str("---\n");
            out.push_str(&manifest.yaml);
        }
        out
    }
}
