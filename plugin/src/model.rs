//! The kinds a user writes and how they are read: the model spec, its monitoring section and rollout plan, the project file, their layers and their JSON Schema.

pub(crate) mod autoscaling;
pub(crate) mod document;
pub(crate) mod image;
pub(crate) mod layer;
pub(crate) mod llm;
pub(crate) mod monitoring;
pub(crate) mod percent;
pub(crate) mod policy;
pub(crate) mod project;
pub(crate) mod project_fields;
pub(crate) mod resources;
pub(crate) mod rollout;
pub(crate) mod schema;
pub(crate) mod spec;
pub(crate) mod spec_fields;
