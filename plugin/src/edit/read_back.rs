//! The last guard of every edit: the new text read back by the same parser, and compared with what the edit intended.

use serde_json::Value as Json;

use super::error::EditError;
use crate::yaml::node::Node;
use crate::yaml::stream::parse_stream;

/// Reads `text` back and checks that only the target document changed, and
/// into exactly `expected`: the last guard against an edit that would read
/// back as something else than intended.
pub fn verify(
    before: &[Node],
    target: usize,
    expected: &Json,
    text: &str,
    spec_key: crate::diagnostic::Position,
) -> Result<(), EditError> {
    let unfaithful = |reason: String| EditError::Unfaithful { field: "spec".to_owned(), reason, position: spec_key };
    let after =
        parse_stream(text).map_err(|e| unfaithful(format!("the edited file would not read back: {}", e.message)))?;
    if after.len() != before.len() {
        return Err(unfaithful("the edited file would hold another number of documents".to_owned()));
    }
    for (i, (old, new)) in before.iter().zip(&after).enumerate() {
        let want = if i == target { expected.clone() } else { old.to_json() };
        if new.to_json() != want {
            return Err(unfaithful(format!("document {} would read back differently than intended", i + 1)));
        }
    }
    Ok(())
}
