//! YAML with positions: the tree user input is parsed into, field paths, typed decoding, and emission.

pub mod decoder;
pub mod node;
pub mod path;
pub mod unknown_field;
