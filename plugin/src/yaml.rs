//! YAML with positions: the tree user input is parsed into, field paths, typed decoding, merge patches, and emission.

pub(crate) mod decoder;
pub(crate) mod merge_patch;
pub(crate) mod node;
pub(crate) mod path;
pub(crate) mod stream;
pub(crate) mod unknown_field;
