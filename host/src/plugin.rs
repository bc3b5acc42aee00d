//! The plugin side of the host: the wasmtime engine, the sandboxed runtime, the compiled-code cache and the contract version check.
//!
//! [`runtime`] is the only module that calls into wasm; nothing outside
//! `plugin` names a wasmtime type.

pub mod cache;
pub mod component;
pub mod contract;
pub mod engine;
pub mod runtime;
