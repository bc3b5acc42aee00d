//! What a plugin reports back: diagnostics, manifests and its identity, as plain host types.

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The render failed.
    Error,
    /// Worth a look; the render succeeded.
    Warning,
}

/// A problem the plugin found, located in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The source file, relative to the application root.
    pub file: Option<String>,
    /// 0-based line and column.
    pub position: Option<(u32, u32)>,
    /// The dotted field path.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// One generated object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// One YAML document, ending with a newline.
    pub yaml: String,
    /// The spec file it came from.
    pub source: String,
}

/// A successful render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The objects, in the plugin's stable order.
    pub manifests: Vec<Manifest>,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
}

impl Rendered {
    /// The objects as one YAML stream, `---` before each document.
    pub fn to_stream(&self) -> String {
        let mut out = String::with_capacity(self.manifests.iter().map(|m| m.yaml.len() + 4).sum());
        for manifest in &self.manifests {
            out.push_str("---\n");
            out.push_str(&manifest.yaml);
        }
        out
    }
}

/// Who a plugin says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The spec kinds it handles, as `apiVersion/kind`.
    pub kinds: Vec<String>,
}

/// What an application holds, as the plugin describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Project {
    /// The project file's environments, sorted.
    pub environments: Vec<String>,
    /// The models, as configured for the described environment.
    pub models: Vec<ModelSummary>,
    /// Files the project refers to, which `generate` needs too.
    pub references: Vec<FileReference>,
}

/// One model of an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    /// `metadata.name`.
    pub name: String,
    /// The spec file.
    pub file: String,
    /// `kserve`, `seldon` or `seldon-v2`.
    pub backend: String,
    /// The canary's share of traffic, if there is a canary.
    pub canary_percent: Option<u8>,
}

/// A file the project names (a patch file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReference {
    /// Relative to the application root.
    pub path: String,
    /// The file that names it.
    pub referrer: String,
    /// 0-based line and column in `referrer`.
    pub position: Option<(u32, u32)>,
}
