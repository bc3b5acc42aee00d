//! What a render becomes on disk and how two renders compare: `render --out` directories and `modelgen diff`.

pub mod diff;
pub mod output;
