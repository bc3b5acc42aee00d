//! JSON merge patch (RFC 7396) on YAML trees: layers merge without losing the file position of any value.
//!
//! Merging the YAML trees themselves rather than JSON values keeps each
//! value's position, so that a bad value an override brings in is reported
//! at its own line in its own file, not in the spec it was merged into.

use super::node::{Node, Value};
use super::path::{FieldPath, Segment};
use crate::diagnostic::Position;

/// Merges `patch` into `base` (RFC 7396: mappings merge key by key, `null`
/// deletes a key, anything else replaces).
pub fn merge(base: &mut Node, patch: &Node) {
    let Value::Map(patch_entries) = &patch.value else {
        *base = without_nulls(patch);
        return;
    };
    if !matches!(base.value, Value::Map(_)) {
        *base = Node::mapping(Vec::new(), patch.position);
    }
    let Value::Map(entries) = &mut base.value else { return };
    for (key, value) in patch_entries {
        let existing = entries.iter().position(|(k, _)| k.value == key.value);
        match (existing, &value.value) {
            (Some(i), Value::Null) => {
                entries.remove(i);
            }
            (None, Value::Null) => {}
            (Some(i), _) => merge(&mut entries[i].1, value),
            (None, _) => entries.push((key.clone(), without_nulls(value))),
        }
    }
}

/// `node` with `null` map entries removed, as a merge patch adds new values.
fn without_nulls(node: &Node) -> Node {
    match &node.value {
        Value::Map(entries) => Node {
            value: Value::Map(
                entries
                    .iter()
                    .filter(|(_, v)| v.value != Value::Null)
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            position: node.position,
        },
        _ => node.clone(),
    }
}

/// A merge patch that sets one value at `path` (mapping keys only) and touches nothing else.
pub fn setting(path: &FieldPath, value: Value) -> Node {
    let mut node = Node { value, position: Position::default() };
    for segment in path.0.iter().rev() {
        if let Segment::Key(name) = segment {
            node = Node::mapping(vec![(Node::string(name, Position::default()), node)], Position::default());
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::stream::parse_one as node;

    #[test]
    fn merging_follows_rfc_7396() {
        // The examples of RFC 7396, appendix A, that apply to YAML mappings.
        let cases = [
            ("{a: b}", "{a: c}", "{a: c}"),
            ("{a: b}", "{b: c}", "{a: b, b: c}"),
            ("{a: b}", "{a: null}", "{}"),
            ("{a: b, b: c}", "{a: null}", "{b: c}"),
            ("{a: [b]}", "{a: c}", "{a: c}"),
            ("{a: c}", "{a: [b]}", "{a: [b]}"),
            ("{a: {b: c}}", "{a: {b: d, c: null}}", "{a: {b: d}}"),
            ("{a: [{b: c}]}", "{a: [1]}", "{a: [1]}"),
            ("[a, b]", "[c, d]", "[c, d]"),
            ("{a: b}", "[c]", "[c]"),
            ("{e: null}", "{a: 1}", "{e: null, a: 1}"),
            ("[1, 2]", "{a: b, c: null}", "{a: b}"),
            ("{}", "{a: {bb: {ccc: null}}}", "{a: {bb: {}}}"),
        ];
        for (base, patch, expected) in cases {
            let mut merged = node(base);
            merge(&mut merged, &node(patch));
            assert_eq!(strip(&merged), strip(&node(expected)), "{base} + {patch}");
        }
    }

    /// The value without positions, for comparison.
    fn strip(node: &Node) -> String {
        match &node.value {
            Value::Map(entries) => {
                let inner: Vec<String> = entries.iter().map(|(k, v)| format!("{}: {}", strip(k), strip(v))).collect();
                format!("{{{}}}", inner.join(", "))
            }
            Value::Seq(items) => format!("[{}]", items.iter().map(strip).collect::<Vec<_>>().join(", ")),
            other => other.to_string(),
        }
    }

    #[test]
    fn a_setting_patch_sets_one_value() {
        let mut base = node("{spec: {canary: {trafficPercent: 10, version: v2}}}");
        merge(&mut base, &setting(&FieldPath::parse("spec.canary.trafficPercent"), Value::UInt(40)));
        assert_eq!(strip(&base), strip(&node("{spec: {canary: {trafficPercent: 40, version: v2}}}")));
    }
}
