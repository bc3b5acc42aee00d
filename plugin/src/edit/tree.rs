//! The layout of a YAML stream as written: every node with its byte range, style, anchor and tag, for edits in place.
//!
//! The plugin's value tree ([`crate::yaml::node`]) keeps only where a node
//! starts; editing in place needs where it ends and how it was written. Both
//! come from the same parser (`granit-parser`, the one serde-saphyr reads
//! with), so the editor and the renderer can never disagree on what a file
//! says.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::diagnostic::Position;

/// A node of the stream with the bytes it covers.
#[derive(Clone, Debug)]
pub struct Item {
    /// What kind of node, with its children.
    pub shape: Shape,
    /// The first byte of the node's text (after its anchor and tag).
    pub start: usize,
    /// The byte after the node's text (for a block collection, after its last child).
    pub end: usize,
    /// Where the node starts, 0-based, columns in characters.
    pub position: Position,
    /// Whether the node defines an anchor (`&name`): other nodes may repeat it.
    pub anchored: bool,
    /// Whether the node carries an explicit tag (`!!str`).
    pub tagged: bool,
}

/// The kinds of node.
#[derive(Clone, Debug)]
pub enum Shape {
    /// A scalar: its value after escapes, and its notation.
    Scalar(String, ScalarStyle),
    /// A mapping, in source order; `true` when written in flow style (`{...}`).
    Map(Vec<(Item, Item)>, bool),
    /// A list.
    Seq(Vec<Item>),
    /// An alias (`*name`): a repetition of an anchored node.
    Alias,
}

impl Item {
    /// The value under `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value under `key`, when this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<(&Item, &Item)> {
        self.entries()?.iter().find(|(k, _)| k.scalar() == Some(key)).map(|(k, v)| (k, v))
    }

    /// The entries, when this is a mapping.
    pub fn entries(&self) -> Option<&[(Item, Item)]> {
        match &self.shape {
            Shape::Map(entries, _) => Some(entries),
            _ => None,
        }
    }

    /// The scalar's value, when this is a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.shape {
            Shape::Scalar(text, _) => Some(text),
            _ => None,
        }
    }

    /// Whether this is a mapping written in flow style.
    pub fn is_flow_map(&self) -> bool {
        matches!(self.shape, Shape::Map(_, true))
    }

    /// The first anchored node, alias or merge key (`<<`) in this subtree:
    /// removing or rewriting such a node could change other nodes too.
    pub fn shared(&self) -> Option<&Item> {
        if self.anchored || matches!(self.shape, Shape::Alias) {
            return Some(self);
        }
        match &self.shape {
            Shape::Map(entries, _) => entries.iter().find_map(|(k, v)| {
                if k.scalar() == Some("<<") {
                    return Some(k);
                }
                k.shared().or_else(|| v.shared())
            }),
            Shape::Seq(items) => items.iter().find_map(Item::shared),
            Shape::Scalar(..) | Shape::Alias => None,
        }
    }
}

/// A syntax error of the stream, with where the parser stopped.
#[derive(Clone, Debug)]
pub struct ParseFailure {
    /// What the parser said.
    pub message: String,
    /// Where.
    pub position: Position,
}

/// Reads `text` into one [`Item`] per document (empty documents included, as null scalars).
pub fn parse(text: &str) -> Result<Vec<Item>, ParseFailure> {
    let mut events = Events { parser: Parser::new_from_str(text), text };
    let mut documents = Vec::new();
    loop {
        match events.next()? {
            (Event::DocumentStart(..), _) => {
                let (event, span) = events.next()?;
                documents.push(events.node(event, span)?);
            }
            (Event::StreamEnd, _) => return Ok(documents),
            _ => {}
        }
    }
}

/// The parser's events over one text.
struct Events<'a> {
    /// The event parser.
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    /// The text, to turn markers into byte offsets.
    text: &'a str,
}

impl<'a> Events<'a> {
    /// The next event; the end of input without `StreamEnd` is an error.
    fn next(&mut self) -> Result<(Event<'a>, Span), ParseFailure> {
        match self.parser.next() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(e)) => {
                Err(ParseFailure { message: e.info(), position: marker_position(e.marker().line(), e.marker().col()) })
            }
            None => {
                Err(ParseFailure { message: "unexpected end of the stream".to_owned(), position: Position::default() })
            }
        }
    }

    /// The byte range of `span` (string input always has byte offsets).
    fn range(&self, span: &Span) -> (usize, usize) {
        span.byte_range().map_or((self.text.len(), self.text.len()), |r| (r.start, r.end))
    }

    /// The node that `event` starts, read to its end.
    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Item, ParseFailure> {
        let (start, end) = self.range(&span);
        let position = marker_position(span.start.line(), span.start.col());
        let item = |shape, end, anchor: usize, tagged: bool| Item {
            shape,
            start,
            end,
            position,
            anchored: anchor != 0,
            tagged,
        };
        Ok(match event {
            Event::Scalar(value, style, anchor, tag) => {
                item(Shape::Scalar(value.into_owned(), style), end, anchor, tag.is_some())
            }
            Event::Alias(_) => item(Shape::Alias, end, 0, false),
            Event::MappingStart(style, anchor, tag) => {
                let flow = style == serde_saphyr::granit_parser::StructureStyle::Flow;
                let mut entries = Vec::new();
                let close = loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::MappingEnd) {
                        break self.range(&span).1;
                    }
                    let key = self.node(event, span)?;
                    let (event, span) = self.next()?;
                    let value = self.node(event, span)?;
                    entries.push((key, value));
                };
                let end = if flow { close } else { entries.last().map_or(start, |(_, v)| v.end) };
                item(Shape::Map(entries, flow), end, anchor, tag.is_some())
            }
            Event::SequenceStart(style, anchor, tag) => {
                let flow = style == serde_saphyr::granit_parser::StructureStyle::Flow;
                let mut items = Vec::new();
                let close = loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break self.range(&span).1;
                    }
                    items.push(self.node(event, span)?);
                };
                let end = if flow { close } else { items.last().map_or(start, |v| v.end) };
                item(Shape::Seq(items), end, anchor, tag.is_some())
            }
            other => {
                return Err(ParseFailure { message: format!("unexpected parser event {other:?}"), position });
            }
        })
    }
}

/// A parser marker (1-based line, 0-based column) as a 0-based [`Position`].
fn marker_position(line: usize, column: usize) -> Position {
    Position {
        line: u32::try_from(line.saturating_sub(1)).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_their_byte_ranges_and_notation() {
        let text = "a:\n  b: 'x' # c\n  d: {e: [1, 2]}\n---\nf: &k v\ng: *k\n";
        let docs = parse(text).expect("valid");
        assert_eq!(docs.len(), 2);
        let a = docs[0].get("a").expect("a");
        assert_eq!(&text[a.start..a.end], "b: 'x' # c\n  d: {e: [1, 2]}");
        let b = a.get("b").expect("b");
        assert_eq!(&text[b.start..b.end], "'x'");
        assert!(matches!(b.shape, Shape::Scalar(ref s, ScalarStyle::SingleQuoted) if s == "x"));
        let d = a.get("d").expect("d");
        assert!(d.is_flow_map());
        assert_eq!(&text[d.start..d.end], "{e: [1, 2]}");
        assert_eq!(d.position, Position { line: 2, column: 5 });
        assert!(docs[1].get("f").expect("f").anchored);
        assert!(matches!(docs[1].get("g").expect("g").shape, Shape::Alias));
        assert!(docs[1].shared().is_some());
        assert!(docs[0].shared().is_none());
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = parse("a: 1\nb: [1, 2}\n").expect_err("invalid");
        assert_eq!(err.position.line, 1, "{err:?}");
        assert!(err.message.contains("bracket"), "{err:?}");
    }
}
