//! Assembling a spec from its layers.

pub(crate) mod stack;
