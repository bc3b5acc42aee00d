//! What a plugin reports back: diagnostics, manifests and its identity, as plain host types.

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Severity {
    /// The render failed.
    Error,
    /// Worth a look; the render succeeded.
    Warning,
}

/// A problem the plugin found, located in a source file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// The character columns of the line at `position` that hold a secret
    /// (start inclusive, end exclusive): masked wherever the line is quoted.
    pub secrets: Vec<(u32, u32)>,
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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PluginInfo {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The spec kinds it handles, as `apiVersion/kind`.
    pub kinds: Vec<String>,
    /// The file at the application root that configures the application,
    /// when the plugin reads one: a render describes first when it is there.
    pub project_file: Option<String>,
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
    /// The render parameters the plugin accepts, beside the environment.
    pub parameters: Vec<Parameter>,
    /// The policy plugins a render of the described environment runs after
    /// the generator, in order.
    pub plugins: Vec<PluginRef>,
}

/// A policy plugin (`modelgen:policy`) the project chains after the generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRef {
    /// The component, relative to the application root.
    pub path: String,
    /// Its SHA-256, lowercase hex, as the project file requires it.
    pub sha256: String,
    /// Its settings, as a JSON document.
    pub settings: String,
    /// The file that names it.
    pub referrer: String,
    /// Where in `referrer` it is named (0-based line and column).
    pub position: Option<(u32, u32)>,
}

/// A render parameter a plugin accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// A short title.
    pub title: String,
    /// One sentence on what it does.
    pub tooltip: String,
    /// Its kind.
    pub kind: ParameterKind,
}

/// How a parameter takes its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterKind {
    /// One string, with its default.
    String(Option<String>),
    /// A map passed as `<name>.<key>` parameters: the known keys and their values.
    Map(Vec<(String, String)>),
}

/// One model of an application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelSummary {
    /// `metadata.name`.
    pub name: String,
    /// The spec file.
    pub file: String,
    /// Where the spec names the model: 0-based line and column.
    pub position: Option<(u32, u32)>,
    /// `kserve`, `seldon` or `seldon-v2`.
    pub backend: String,
    /// Where the spec sets its backend, when it does.
    pub backend_position: Option<(u32, u32)>,
    /// The stable version.
    pub version: Option<String>,
    /// The canary's version, if there is a canary.
    pub canary_version: Option<String>,
    /// The canary's share of traffic, if there is a canary.
    pub canary_percent: Option<u8>,
    /// The canary's rollout plan, if it has one.
    pub rollout: Option<crate::rollout::Rollout>,
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
