//! Assembling a spec from its layers.

pub mod stack;
