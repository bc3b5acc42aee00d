//! The versions a spec serves side by side: the stable model, its canary and its shadow.

use crate::model::spec::Spec;

/// The versions a spec serves side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `spec.model`.
    Stable,
    /// `spec.canary`.
    Canary,
    /// `spec.shadow`.
    Shadow,
}

/// What one variant serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served<'a> {
    /// The model version, as the `app.kubernetes.io/version` label shows it.
    pub version: &'a str,
    /// Where the version's artifacts are (validation requires them where a stock runtime serves).
    pub storage_uri: Option<&'a str>,
    /// The server image, for a model served by its own image: the
    /// variant's, else the stable model's (a canary or shadow runs the
    /// stable model's server unless it names another image).
    pub image: Option<&'a str>,
}

impl Variant {
    /// Every variant, in the order their objects are rendered.
    pub const ALL: [Variant; 3] = [Variant::Stable, Variant::Canary, Variant::Shadow];

    /// The lowercase name used in object and predictor names.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Stable => "stable",
            Variant::Canary => "canary",
            Variant::Shadow => "shadow",
        }
    }

    /// The name of this variant's object: `<name>`, `<name>-canary`, `<name>-shadow`.
    pub fn object_name(self, base: &str) -> String {
        match self {
            Variant::Stable => base.to_owned(),
            Variant::Canary => format!("{base}-canary"),
            Variant::Shadow => format!("{base}-shadow"),
        }
    }

    /// What this variant serves, if the spec has it.
    pub fn served(self, spec: &Spec) -> Option<Served<'_>> {
        let stable_image = spec.model.image.as_deref();
        let (version, storage_uri, image) = match self {
            Variant::Stable => (&spec.model.version, &spec.model.storage_uri, None),
            Variant::Canary => spec.canary.as_ref().map(|c| (&c.version, &c.storage_uri, c.image.as_deref()))?,
            Variant::Shadow => spec.shadow.as_ref().map(|s| (&s.version, &s.storage_uri, s.image.as_deref()))?,
        };
        Some(Served { version, storage_uri: storage_uri.as_deref(), image: image.or(stable_image) })
    }
}
