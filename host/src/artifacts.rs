//! What modelgen writes and compares: `render --out` directories, `modelgen diff`, and spec files rewritten in place by the edit commands.

pub mod diff;
pub mod output;
pub mod spec_file;
