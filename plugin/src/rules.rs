//! What a spec must satisfy: the backend rules table and the spec's own rules.

pub(crate) mod backend;
pub(crate) mod finding;
pub(crate) mod k8s;
pub(crate) mod monitoring;
pub(crate) mod spec;
