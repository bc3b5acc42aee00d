//! What a spec must satisfy: the backend rules table, Kubernetes' own rules, and the spec's rules built on both.
//!
//! [`backend`] holds what each serving stack does, with its upstream source
//! (`docs/backend-requirements.md` is generated from it); [`k8s`] holds Kubernetes'
//! syntax rules; [`spec`], [`image`] and [`monitoring`] check a decoded spec
//! against both and report [`finding`]s by field path, [`pinning`] as the
//! project's policy asks and [`secret`] without quoting what it found.

pub(crate) mod backend;
pub(crate) mod finding;
pub(crate) mod image;
pub(crate) mod k8s;
pub(crate) mod llm;
pub(crate) mod monitoring;
pub(crate) mod pinning;
pub(crate) mod rollout;
pub(crate) mod secret;
pub(crate) mod spec;
