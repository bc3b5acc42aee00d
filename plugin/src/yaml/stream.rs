//! YAML streams in and out: user input parsed into position-carrying documents, objects emitted as stable text.
//!
//! Parsing uses serde-saphyr (pure Rust, with budgets for aliases, depth and
//! size); [`options`] is the one place that says how user YAML is read.

use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use super::node::Node;
use crate::diagnostic::Position;

/// How user YAML is read: YAML 1.2 booleans (`on`, `yes` and `no` stay
/// strings, as users of labels and versions expect), duplicate keys as
/// errors rather than last-wins, and budgets that stop alias bombs and absurd
/// nesting early but leave room for monorepo-sized streams (thousands of specs
/// in one file).
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_documents: 100_000,
            max_nodes: 2_000_000,
            max_events: 10_000_000,
        },
    }
}

/// A YAML syntax or budget error, located in its file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where, when the parser knows.
    pub position: Option<Position>,
}

/// Parses a YAML stream into one [`Node`] per non-empty document.
pub fn parse_stream(text: &str) -> Result<Vec<Node>, SyntaxError> {
    serde_saphyr::from_str_multiple_with_options::<Node, Vec<Node>>(text, options()).map_err(|e| {
        let position = e.location().and_then(|l| {
            let line = u32::try_from(l.line()).ok()?.checked_sub(1)?;
            let column = u32::try_from(l.column()).ok()?.saturating_sub(1);
            Some(Position { line, column })
        });
        SyntaxError { message: UserMessageFormatter.format_message(&e).into_owned(), position }
    })
}

/// Emits one object as a YAML document (no `---`), ending with a newline.
/// Keys come out sorted (`serde_json`'s map is ordered), so output is stable.
pub fn emit(object: &serde_json::Value) -> String {
    // Serializing a JSON value cannot fail: every key is a string and every
    // number finite.
    let mut text = serde_saphyr::to_string(object).unwrap_or_default();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The one document of `text`, for tests.
#[cfg(test)]
pub fn parse_one(text: &str) -> Node {
    let mut docs = parse_stream(text).expect("valid YAML");
    assert_eq!(docs.len(), 1, "one document");
    docs.remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::node::Value;

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let doc = parse_one("a: yes\nb: on\nc: true\n");
        assert_eq!(doc.get("a").and_then(Node::as_str), Some("yes"));
        assert_eq!(doc.get("b").and_then(Node::as_str), Some("on"));
        assert_eq!(doc.get("c").map(|n| &n.value), Some(&Value::Bool(true)));
    }

    #[test]
    fn duplicate_keys_are_errors_with_a_position() {
        let err = parse_stream("a: 1\nb: 2\na: 3\n").expect_err("duplicate key");
        assert_eq!(err.position, Some(Position { line: 2, column: 0 }));
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }

    #[test]
    fn streams_skip_empty_documents() {
        assert_eq!(parse_stream("---\n---\na: 1\n---\nb: 2\n").expect("valid").len(), 2);
        assert!(parse_stream("").expect("valid").is_empty());
    }

    #[test]
    fn emission_quotes_what_would_change_type() {
        let text = emit(&serde_json::json!({"a": "1", "b": "yes", "c": "", "d": 1}));
        assert_eq!(text, "a: \"1\"\nb: \"yes\"\nc: \"\"\nd: 1\n");
    }
}
