//! The YAML tree of user input: every value remembers where it was written.
//!
//! Later checks point at the exact line and column through [`Node::position_of`];
//! [`crate::yaml::stream`] builds the tree.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::Position;
use crate::yaml::path::{FieldPath, Segment};

/// A YAML value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value, with its children.
    pub value: Value,
    /// Where the value starts (for an alias, where the alias is used).
    pub position: Position,
}

/// A YAML value (core schema, YAML 1.2 booleans).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A negative integer.
    Int(i64),
    /// A non-negative integer.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A mapping written at `position`.
    pub fn mapping(entries: Vec<(Node, Node)>, position: Position) -> Self {
        Node { value: Value::Map(entries), position }
    }

    /// A string written at `position`.
    pub fn string(text: &str, position: Position) -> Self {
        Node { value: Value::String(text.to_owned()), position }
    }

    /// Removes the value at `path` (mapping keys only), if it is there.
    pub fn remove(&mut self, path: &FieldPath) {
        remove(self, &path.0);
    }

    /// The value under `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and the value node under `key`.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Where a diagnostic about `path` should point: at the value for a
    /// scalar, at its key for a mapping or list (the first key of a mapping
    /// is rarely what is wrong), and at the key of the deepest existing
    /// parent when the path is missing.
    pub fn position_of(&self, path: &FieldPath) -> Position {
        let (key_position, node) = self.walk(path);
        match node.map(|n| &n.value) {
            Some(Value::Map(_) | Value::Seq(_)) | None => key_position,
            Some(_) => node.map_or(key_position, |n| n.position),
        }
    }

    /// Where the key of the entry at `path` is written (for problems with
    /// the key itself, such as an invalid label key).
    pub fn key_position_of(&self, path: &FieldPath) -> Position {
        self.walk(path).0
    }

    /// The node at `path`, when every step of it exists.
    pub fn at(&self, path: &FieldPath) -> Option<&Node> {
        self.walk(path).1
    }

    /// The position of the last key (or list item) on `path` that exists,
    /// and the node at `path` if it exists.
    fn walk(&self, path: &FieldPath) -> (Position, Option<&Node>) {
        let mut node = self;
        let mut key_position = self.position;
        for segment in &path.0 {
            let next = match (segment, &node.value) {
                (Segment::Key(k), Value::Map(_)) => node.entry(k).map(|(key, value)| (key.position, value)),
                (Segment::Index(i), Value::Seq(items)) => items.get(*i).map(|item| (item.position, item)),
                _ => None,
            };
            match next {
                Some((position, child)) => {
                    key_position = position;
                    node = child;
                }
                None => return (key_position, None),
            }
        }
        (key_position, Some(node))
    }

    /// The value as JSON (positions dropped; non-string keys written as text).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(n) => Json::from(*n),
            Value::UInt(n) => Json::from(*n),
            Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().map_or_else(|| k.value.plain(), str::to_owned), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// How this value reads in a message: `` `text` ``, or its kind for collections.
    pub fn describe(&self) -> String {
        self.value.to_string()
    }
}

/// Removes the value at `path` below `node` (see [`Node::remove`]).
fn remove(node: &mut Node, path: &[Segment]) {
    let (Some(Segment::Key(first)), Value::Map(entries)) = (path.first(), &mut node.value) else { return };
    let Some(i) = entries.iter().position(|(k, _)| k.as_str() == Some(first.as_str())) else { return };
    if path.len() == 1 {
        entries.remove(i);
    } else {
        remove(&mut entries[i].1, &path[1..]);
    }
}

impl Value {
    /// A scalar as YAML would write it, without quoting or a type name.
    fn plain(&self) -> String {
        match self {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(n) => n.to_string(),
            Value::UInt(n) => n.to_string(),
            Value::Float(x) => x.to_string(),
            Value::String(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => self.to_string(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "boolean `{b}`"),
            Value::Int(n) => write!(f, "integer `{n}`"),
            Value::UInt(n) => write!(f, "integer `{n}`"),
            Value::Float(x) => write!(f, "number `{x}`"),
            Value::String(s) => write!(f, "string `{s}`"),
            Value::Seq(_) => f.write_str("a list"),
            Value::Map(_) => f.write_str("a mapping"),
        }
    }
}

/// Where a parsed value was written, 0-based (the parser counts from 1).
fn position_of(spanned: &Spanned<Value>) -> Position {
    let location = spanned.referenced;
    Position {
        line: u32::try_from(location.line().saturating_sub(1)).unwrap_or(u32::MAX),
        column: u32::try_from(location.column().saturating_sub(1)).unwrap_or(u32::MAX),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let position = position_of(&spanned);
        Ok(Node { value: spanned.value, position })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Builds a [`Value`] from whatever the parser found.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(u64::try_from(n).map_or(Value::Int(n), Value::UInt))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::UInt(n))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::stream::parse_one;

    #[test]
    fn nodes_remember_where_they_were_written() {
        let doc = parse_one("a:\n  b: [1, two]\n");
        let Some(Value::Seq(items)) = doc.get("a").and_then(|a| a.get("b")).map(|b| &b.value) else { panic!("a list") };
        assert_eq!(items[1].as_str(), Some("two"));
        assert_eq!(items[1].position, Position { line: 1, column: 9 });
        assert_eq!(doc.position_of(&FieldPath::parse("a.b[1]")), Position { line: 1, column: 9 });
    }

    #[test]
    fn diagnostics_point_at_values_keys_or_the_missing_fields_parent() {
        let doc = parse_one("spec:\n  model:\n    format: x\n  list: [1]\n");
        let at = |p: &str| doc.position_of(&FieldPath::parse(p));
        assert_eq!(at("spec.model.format"), Position { line: 2, column: 12 });
        assert_eq!(at("spec.model"), Position { line: 1, column: 2 });
        assert_eq!(at("spec.model.storageUri"), Position { line: 1, column: 2 });
        assert_eq!(at("spec.list[0]"), Position { line: 3, column: 9 });
    }
}
