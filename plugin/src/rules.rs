//! What a spec must satisfy: the backend rules table and the spec's own rules.

pub mod backend;
pub mod spec;
