//! The `modelgen` host: reads an application directory, runs the generator plugin in wasmtime, and prints manifests.
//!
//! The layers, each depending only on those below it:
//! - front ends: [`cli`] (the only module that knows the command line, and
//!   the only one that maps failures to exit codes and flags), [`argocd`]
//!   (the config management plugin) and [`krm`] (KRM functions) format
//! - a [`pipeline::Outcome`]: the one render pipeline, which reads the
//!   [`input`], runs the [`plugin`], and passes its output through [`verify`];
//! - [`chain`]: the project's policy plugins, run by the pipeline after the generator;
//! - [`artifacts`]: `render --out` directories and `diff`;
//! - [`report`], [`escape`], [`diagnostic`] and [`private_dir`], shared by all.

pub mod argocd;
pub mod artifacts;
pub mod chain;
pub mod cli;
pub mod diagnostic;
pub mod digest;
pub mod escape;
pub mod input;
pub mod krm;
pub mod pipeline;
pub mod plugin;
pub mod private_dir;
pub mod prometheus;
pub mod report;
pub mod rollout;
pub mod verify;

/// Spec file discovery, where the golden tests look for it.
pub use input::source;
/// The CRD checker, where the golden tests look for it.
pub use verify::crd;
