//! YAML streams in and out: user input parsed into position-carrying documents, objects emitted as stable text.
//!
//! Parsing uses serde-saphyr (pure Rust, with budgets for aliases, depth and
//! size); [`options`] is the one place that says how user YAML is read.

use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use super::options;

use super::node::Node;
use crate::diagnostic::Position;

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
///
/// Plain specs take the fast path ([`super::builder`]); whatever it does not
/// handle exactly, errors included, serde-saphyr parses.
pub fn parse_stream(text: &str) -> Result<Vec<Node>, SyntaxError> {
    match super::builder::parse(text) {
        Some(documents) => Ok(documents),
        None => parse_stream_fully(text),
    }
}

/// Parses a YAML stream with serde-saphyr alone: the reference the fast path is held to.
pub fn parse_stream_fully(text: &str) -> Result<Vec<Node>, SyntaxError> {
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

#[cfg(test)]
mod fast_path {
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::parse_stream_fully;
    use crate::yaml::builder::parse;

    /// The fast path ([`crate::yaml::builder`]) either gives up or agrees
    /// with serde-saphyr exactly, positions included.
    fn agrees(text: &str) -> bool {
        let Some(fast) = parse(text) else { return false };
        match parse_stream_fully(text) {
            Ok(full) => assert_eq!(fast, full, "the two paths differ on:\n{text}"),
            Err(e) => panic!("serde-saphyr refuses what the fast path accepted ({e:?}):\n{text}"),
        }
        true
    }

    fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                yaml_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_yaml_file_of_the_repository_parses_the_same_both_ways() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
        let mut files = Vec::new();
        for dir in ["examples", "tests/cases", "deploy", "docs"] {
            yaml_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 100, "{} files", files.len());
        let mut fast = 0;
        for file in &files {
            // A few cases hold invalid UTF-8 on purpose: never parsed.
            let Ok(text) = std::fs::read_to_string(file) else { continue };
            fast += usize::from(agrees(&text));
        }
        // Most of them are plain specs and rendered objects: the path exists for them.
        assert!(fast * 10 > files.len() * 8, "only {fast} of {} files took the fast path", files.len());
        let mochanet = std::fs::read_to_string(root.join("examples/mochanet/mochanet.yaml")).expect("read");
        assert!(agrees(&mochanet), "the example spec takes the fast path");
    }

    #[test]
    fn the_spellings_it_decides_mean_what_serde_saphyr_says() {
        for text in [
            "a: 1\nb: 0\nc: 1234567890123456789\n",
            "a: true\nb: false\n",
            "a: 0.9\nb: 12.5\nc: 0.0001\nd: 3.14159265358979323846\n",
            "a:\nb: ''\nc: \"\"\nd: ~\n",
            "a: '1'\nb: \"true\"\nc: 'null'\n",
            "a: v1.2.0\nb: 2Gi\nc: 500m\nd: s3://b/k\ne: concurrency\nf: Knative\n",
            "a: |\n  line\n  two\nb: >\n  folded\n  text\n",
            "a: plain\n  continued\n",
            "a: [x, 'y', 1, {b: c}]\nd: {}\ne: []\n",
            "- a\n- b: 1\n  c: [2]\n",
            "\u{feff}a: 1\n",
            "a: 1\r\nb: x\r\n",
            "---\n---\na: 1\n---\n",
            "",
            "# only a comment\n",
            "a: 1\n...\n---\nb: 2\n",
            "é: ü\n\"quoted key\": 1\n'single': 2\n",
            "a:\n  - name: X\n    value: \"\\x41\"\n",
        ] {
            assert!(agrees(text), "took the slow path: {text}");
        }
    }

    #[test]
    fn a_mapping_of_many_keys_is_checked_for_duplicates_without_quadratic_time() {
        let mut text = (0..20_000).map(|i| format!("k{i}: {i}\n")).collect::<Vec<_>>().concat();
        assert!(agrees(&text));
        text.push_str("k7: again\n");
        assert!(parse(&text).is_none(), "a duplicate among many keys");
    }

    #[test]
    fn nesting_near_the_depth_budget_is_left_to_serde_saphyr() {
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        assert!(parse(&format!("a: {deep}\n")).is_none());
        let shallow = format!("{}1{}", "[".repeat(20), "]".repeat(20));
        assert!(agrees(&format!("a: {shallow}\n")));
    }

    /// Scalars of every kind the two paths might read differently: mostly
    /// ones the fast path decides (so that most cases compare the two), some
    /// that make it give up.
    fn scalar() -> impl Strategy<Value = String> {
        let decided = prop::sample::select(vec![
            "a",
            "x1",
            "v1.2.0",
            "2Gi",
            "10",
            "0",
            "1.5",
            "0.9",
            "100.25",
            "true",
            "false",
            "~",
            "",
            "''",
            "\"\"",
            "'1'",
            "\"true\"",
            "é",
            "a b",
            "a:b",
            "a-b",
            "s3://x/y",
            "\"a\\tb\"",
            "'it''s'",
            "concurrency",
            "nano",
            "Nope",
            "yesterday",
            "truex",
            "1a",
            "1.2.3",
            "12:30",
            "-",
            "a # comment",
        ]);
        let others = prop::sample::select(vec![
            "01", "-1", "+1", ".5", "1e3", "1_000", "0x10", "0o7", "True", "yes", "No", "on", "null", "Null", "inf",
            ".inf", "-.inf", ".nan", "nan", "&x a", "*x", "!!str 1", "!!int 1", "<<", "? a", "- a", "%x", "@x",
        ]);
        prop_oneof![6 => decided, 1 => others].prop_map(str::to_owned)
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "a", "b", "c", "d", "e", "f", "g", "h", "name", "value", "spec", "model", "'q'", "\"k\"", "é", "a b", "1",
            "true", "<<",
        ])
        .prop_map(str::to_owned)
    }

    /// A block-style document of nested mappings, lists and flow collections.
    fn block(depth: u32) -> BoxedStrategy<String> {
        let leaf = scalar().boxed();
        if depth == 0 {
            return leaf;
        }
        let inner = block(depth - 1);
        prop_oneof![
            2 => leaf,
            1 => prop::collection::vec((key(), inner.clone()), 0..4).prop_map(|entries| {
                entries.into_iter().map(|(k, v)| format!("{k}: {}\n", indent(&v))).collect::<Vec<_>>().concat()
            }),
            1 => prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| items.into_iter().map(|v| format!("- {}\n", indent(&v))).collect::<Vec<_>>().concat()),
            1 => prop::collection::vec(scalar(), 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
            1 => prop::collection::vec((key(), scalar()), 0..4).prop_map(|entries| {
                format!("{{{}}}", entries.into_iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "))
            }),
        ]
        .boxed()
    }

    /// A nested value placed after `key: ` or `- `: multi-line ones on the next lines, indented.
    fn indent(value: &str) -> String {
        if value.contains('\n') {
            let body = value.lines().map(|l| format!("  {l}\n")).collect::<Vec<_>>().concat();
            format!("\n{}", body.trim_end_matches('\n'))
        } else {
            value.to_owned()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn generated_yaml_parses_the_same_both_ways(
            docs in prop::collection::vec(block(3), 1..3),
            separator in prop::sample::select(vec!["---\n", "\n---\n", "...\n---\n"]),
            comment in any::<bool>(),
        ) {
            let mut text = docs.iter().map(|d| if d.ends_with('\n') { d.clone() } else { format!("{d}\n") })
                .collect::<Vec<_>>().join(separator);
            if comment {
                text = format!("# a comment\n{text}");
            }
            agrees(&text);
        }
    }
}
