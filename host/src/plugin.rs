//! The plugin side of the host: the wasmtime engine, the sandboxed runtime, the compiled-code cache and the contract versions it speaks.
//!
//! [`runtime`] makes every call into wasm, in its sandbox, through the
//! bindings of the version the component speaks ([`contract`]); nothing
//! outside `plugin` names a wasmtime type.

pub mod cache;
pub mod component;
pub mod contract;
pub mod engine;
pub mod runtime;
