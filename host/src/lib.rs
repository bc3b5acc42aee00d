//! The `modelgen` host: reads an application directory, runs the generator plugin in wasmtime, and prints manifests.
//!
//! [`runtime`] is the only module that knows wasmtime; [`cli`] is the only
//! one that knows the command line.

pub mod application;
pub mod argocd;
pub mod cache;
pub mod cli;
pub mod contract;
pub mod crd;
pub mod diagnostic;
pub mod diff;
pub mod engine;
pub mod escape;
pub mod krm;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod runtime;
pub mod safe_path;
pub mod source;
