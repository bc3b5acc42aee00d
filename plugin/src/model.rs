//! The kinds a user writes: the model spec, its monitoring section, the project file, and their JSON Schema.

pub mod monitoring;
pub mod project;
pub mod schema;
pub mod spec;
