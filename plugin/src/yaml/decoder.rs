//! Typed decoding of a YAML [`Node`] tree, with errors that know their field and position.
//!
//! serde drives the decoding (the spec types derive `Deserialize`); this
//! deserializer walks the tree and, as an error travels back up, records the
//! path it came through and the position of the node that raised it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Visitor};

use crate::diagnostic::{Position, did_you_mean_or_list};
use crate::yaml::node::{Node, Value};
use crate::yaml::path::{FieldPath, Segment};

/// Why a document does not match the spec types.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    /// The field the error is about.
    pub path: FieldPath,
    /// Where the offending node starts, once known.
    pub position: Option<Position>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Whether a required field is missing (the position then belongs to
    /// the field's parent, which the caller knows best).
    pub missing: bool,
    /// Segments collected on the way up, innermost first.
    reversed: Vec<Segment>,
}

impl DecodeError {
    /// An error with only its message; the way up adds the rest.
    fn new(message: String) -> Self {
        Self { path: FieldPath::default(), position: None, message, hint: None, missing: false, reversed: Vec::new() }
    }

    /// The error with a hint on how to fix it.
    fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// The error as seen one level up, through `segment`.
    fn through(mut self, segment: Segment) -> Self {
        self.reversed.push(segment);
        self
    }

    /// The error at `position`, unless a deeper node placed it already.
    fn located(mut self, position: Position) -> Self {
        self.position.get_or_insert(position);
        self
    }

    /// The error with its path in reading order, once it reaches the top.
    fn finish(mut self) -> Self {
        self.path = FieldPath(self.reversed.drain(..).rev().collect());
        self
    }
}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(msg.to_string())
    }

    fn invalid_type(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let hint = match unexpected {
            de::Unexpected::Float(_) | de::Unexpected::Signed(_) | de::Unexpected::Unsigned(_) | de::Unexpected::Bool(_)
                if expected.to_string() == "a string" =>
            {
                Some("YAML reads an unquoted number as a number (`1.10` becomes `1.1`); quote it to keep it a string, as in `\"1.10\"`".to_owned())
            }
            _ => None,
        };
        Self::new(format!("expected {}, found {}", friendly(expected), describe(&unexpected))).with_hint(hint)
    }

    fn invalid_value(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(format!("invalid value {}: expected {}", describe(&unexpected), friendly(expected)))
    }

    fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
        Self::new(format!("expected {}, found {len} items", friendly(expected)))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::new(format!("unknown value `{variant}`")).with_hint(Some(did_you_mean_or_list(variant, expected)))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        // The key's own segment is added by the map access that read it.
        Self::new(format!("unknown field `{field}`")).with_hint(Some(did_you_mean_or_list(field, expected)))
    }

    fn missing_field(field: &'static str) -> Self {
        let mut error = Self::new(format!("missing required field `{field}`")).through(Segment::Key(field.to_owned()));
        error.missing = true;
        error
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(format!("duplicate field `{field}`"))
    }
}

/// serde's "expected" phrases name Rust types; users write YAML.
fn friendly(expected: &dyn de::Expected) -> String {
    let text = expected.to_string();
    match text.as_str() {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a mapping".to_owned(),
        _ if text.starts_with("struct ") || text.starts_with("a map ") => "a mapping".to_owned(),
        _ => text,
    }
}

/// How a value serde did not expect reads in a message.
fn describe(unexpected: &de::Unexpected<'_>) -> String {
    match unexpected {
        de::Unexpected::Bool(b) => format!("boolean `{b}`"),
        de::Unexpected::Unsigned(n) => format!("integer `{n}`"),
        de::Unexpected::Signed(n) => format!("integer `{n}`"),
        de::Unexpected::Float(x) => format!("number `{x}`"),
        de::Unexpected::Char(c) => format!("string `{c}`"),
        de::Unexpected::Str(s) => format!("string `{s}`"),
        de::Unexpected::Unit | de::Unexpected::Option => "null".to_owned(),
        de::Unexpected::Seq => "a list".to_owned(),
        de::Unexpected::Map => "a mapping".to_owned(),
        other => other.to_string(),
    }
}

/// Decodes `node` into `T`; the error carries the full path and a position.
pub fn decode<'a, T: de::Deserialize<'a>>(node: &'a Node) -> Result<T, DecodeError> {
    T::deserialize(NodeDeserializer(node)).map_err(DecodeError::finish)
}

/// A serde deserializer reading from one node.
struct NodeDeserializer<'a>(&'a Node);

impl NodeDeserializer<'_> {
    /// Places an error raised at this node (deeper ones are placed already).
    fn locate<T>(&self, result: Result<T, DecodeError>) -> Result<T, DecodeError> {
        result.map_err(|e| e.located(self.0.position))
    }
}

impl<'de> Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let result = match &self.0.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::UInt(n) => visitor.visit_u64(*n),
            Value::Float(x) => visitor.visit_f64(*x),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqAccess { items: items.iter(), index: 0 }),
            Value::Map(entries) => visitor.visit_map(MapAccess { entries: entries.iter(), value: None }),
        };
        self.locate(result)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0.value {
            Value::Null => self.locate(visitor.visit_none()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        // serde also accepts a struct as a positional list; a spec never is one.
        match &self.0.value {
            Value::Map(_) => self.deserialize_any(visitor),
            other => Err(DecodeError::new(format!("expected a mapping, found {other}")).located(self.0.position)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        // Spec enums are plain strings (`backend: kserve`).
        let result = match &self.0.value {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(DecodeError::new(format!("expected a string, found {other}"))),
        };
        self.locate(result)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// Reads a list, item by item, numbering them for error paths.
struct SeqAccess<'a> {
    /// The items not read yet.
    items: std::slice::Iter<'a, Node>,
    /// The index of the next item.
    index: usize,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DecodeError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(NodeDeserializer(item)).map(Some).map_err(|e| e.through(Segment::Index(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Reads a mapping, entry by entry, naming the key in error paths.
struct MapAccess<'a> {
    /// The entries not read yet.
    entries: std::slice::Iter<'a, (Node, Node)>,
    /// The entry whose key was just read, for its value.
    value: Option<(&'a Node, &'a Node)>,
}

/// A mapping key as a path segment (non-string keys as their text).
fn key_segment(key: &Node) -> Segment {
    match &key.value {
        Value::String(s) => Segment::Key(s.clone()),
        other => Segment::Key(other.to_string()),
    }
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DecodeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        seed.deserialize(NodeDeserializer(key)).map(Some).map_err(|e| e.located(key.position).through(key_segment(key)))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DecodeError> {
        let (key, value) =
            self.value.take().ok_or_else(|| DecodeError::new("value requested before its key".to_owned()))?;
        seed.deserialize(NodeDeserializer(value)).map_err(|e| e.through(key_segment(key)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::yaml::stream::parse_one;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)] // Only the errors matter here.
    struct Outer {
        inner: Inner,
        #[serde(default)]
        items: Vec<Inner>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        storage_uri: String,
        #[serde(default)]
        percent: Option<u8>,
    }

    fn decode_err(text: &str) -> DecodeError {
        let doc = parse_one(text);
        decode::<Outer>(&doc).expect_err("should not decode")
    }

    #[test]
    fn unknown_fields_point_at_the_key_with_a_suggestion() {
        let e = decode_err("inner:\n  storageURI: s3://x\n");
        assert_eq!(e.path.to_string(), "inner.storageURI");
        assert_eq!(e.position, Some(Position { line: 1, column: 2 }));
        assert_eq!(e.message, "unknown field `storageURI`");
        assert_eq!(e.hint.as_deref(), Some("did you mean `storageUri`?"));
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let e = decode_err("inner: {storageUri: s3://x, percent: ten}\n");
        assert_eq!(e.path.to_string(), "inner.percent");
        assert_eq!(e.position, Some(Position { line: 0, column: 37 }));
        assert_eq!(e.message, "expected a non-negative integer, found string `ten`");
    }

    #[test]
    fn out_of_range_integers_are_reported() {
        let e = decode_err("inner: {storageUri: s3://x, percent: 300}\n");
        assert_eq!(e.path.to_string(), "inner.percent");
        assert!(e.message.contains("`300`"), "{}", e.message);
    }

    #[test]
    fn missing_fields_name_the_field_and_point_at_the_mapping() {
        let e = decode_err("inner:\n  percent: 1\n");
        assert_eq!(e.path.to_string(), "inner.storageUri");
        assert_eq!(e.position, Some(Position { line: 1, column: 2 }));
        assert_eq!(e.message, "missing required field `storageUri`");
    }

    #[test]
    fn list_items_are_indexed() {
        let e = decode_err("inner: {storageUri: a}\nitems:\n  - storageUri: b\n  - storageUri: 1.5\n");
        assert_eq!(e.path.to_string(), "items[1].storageUri");
        assert_eq!(e.position, Some(Position { line: 3, column: 16 }));
        assert!(e.hint.is_some());
    }

    #[test]
    fn map_values_are_typed() {
        let e = decode_err("inner: {storageUri: a}\nlabels: {team: [x]}\n");
        assert_eq!(e.path.to_string(), "labels.team");
        assert_eq!(e.message, "expected a string, found a list");
    }
}
