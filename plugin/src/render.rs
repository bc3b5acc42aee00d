//! Rendering: from a validated spec to Kubernetes objects, one backend module per serving stack.
//!
//! [`names`] is the one place that decides the names of derived objects, so
//! that validation can check them against each backend's limits before
//! anything is rendered. What every object shares is in [`object`].

pub(crate) mod keda;
pub(crate) mod kserve;
pub(crate) mod llm;
pub(crate) mod monitoring;
pub(crate) mod object;
pub(crate) mod route;
pub(crate) mod seldon;
pub(crate) mod seldon_v2;
pub(crate) mod substitution;
pub(crate) mod variant;

use serde_json::Value;

use crate::model::spec::{Backend, ModelDeployment, ModelFormat};
use object::{DerivedName, Target};

/// Renders one spec with its backend.
pub fn render(target: &Target<'_>) -> Vec<Value> {
    let mut objects = match target.spec.spec.backend {
        Backend::Kserve => kserve::render(target),
        Backend::Seldon => seldon::render(target),
        Backend::SeldonV2 => seldon_v2::render(target),
        Backend::KserveLlm => llm::render(target),
    };
    monitoring::render(target, &mut objects);
    objects
}

/// The formats a backend can serve.
pub fn formats(backend: Backend) -> Vec<ModelFormat> {
    ModelFormat::ALL
        .into_iter()
        .filter(|format| match backend {
            Backend::Kserve => true,
            Backend::Seldon => seldon::server(*format).is_some(),
            Backend::SeldonV2 => seldon_v2::requirement(*format).is_some(),
            // vLLM reads the Hugging Face checkpoint; there is no format to choose.
            Backend::KserveLlm => *format == ModelFormat::Huggingface,
        })
        .collect()
}

/// Every name the spec's objects (and the objects the backend derives from
/// them) will carry.
pub fn names(spec: &ModelDeployment) -> Vec<DerivedName> {
    let base = spec.metadata.name.as_str();
    match spec.spec.backend {
        Backend::Kserve => kserve::names(base, &spec.spec),
        Backend::Seldon => vec![DerivedName { name: base.to_owned(), max: 63, what: "SeldonDeployment name" }],
        Backend::SeldonV2 => seldon_v2::names(base, &spec.spec),
        Backend::KserveLlm => llm::names(base, &spec.spec),
    }
}
