//! The fast path of [`super::stream::parse_stream`]: nodes built straight from the parser's events for the plain YAML specs are written in, anything else left to serde-saphyr.
//!
//! serde-saphyr builds each position-carrying [`Node`] through serde's
//! `Spanned` protocol (a synthesized struct per value), which was half of a
//! render's time. Specs are small block mappings of plain and quoted
//! scalars; for those, this reads the events of the same parser
//! (serde-saphyr's own `granit_parser`, with the options serde-saphyr derives
//! from the same budget) and builds the same nodes directly. It gives up —
//! returning `None`, so that serde-saphyr parses the text and has the last
//! word on its meaning and on every error — on anything it does not handle
//! exactly: a parse error, a tag, an anchor or alias, a `%YAML` directive, a
//! key that is not a plain word or a quoted string (merge keys, numbers,
//! collections), a duplicate key, a document that is a scalar, and any budget
//! it comes near. A test holds the two paths to the same result on every YAML
//! file of the repository and on generated input.

use std::borrow::Cow;

use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, Span};

use super::node::{Node, Value};
use crate::diagnostic::Position;

/// Parses `text` into one [`Node`] per non-empty document, or `None` when
/// serde-saphyr must decide.
pub fn parse(text: &str) -> Option<Vec<Node>> {
    let options = super::options();
    let budget = options.budget.clone().unwrap_or_default();
    // The parser options serde-saphyr derives from the same budget and
    // options (`Budget::parser_options`, `Options::parser_options` in
    // serde-saphyr 2.2.0), so that the events, and where the parser stops,
    // are the same.
    let mut parser_options = Options::default();
    parser_options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
    parser_options.flow_nesting_limit = budget.flow_nesting_limit;
    parser_options.block_nesting_limit = parser_options.block_nesting_limit.max(budget.max_depth.saturating_add(1));
    parser_options.strict_indentation = options.strict_indentation;
    parser_options.bom_inside_document_as_content = options.bom_inside_document_as_content;
    let mut reader = Reader {
        events: Parser::new_from_str_with_options(text, parser_options),
        // Half of each budget: near a limit, serde-saphyr decides whether it is breached.
        events_left: budget.max_events / 2,
        nodes_left: budget.max_nodes / 2,
        scalar_bytes_left: budget.max_total_scalar_bytes / 2,
        max_depth: budget.max_depth / 2,
    };
    let mut documents_left = budget.max_documents / 2;
    let mut documents = Vec::new();
    if !matches!(reader.next()?.0, Event::StreamStart) {
        return None;
    }
    loop {
        match reader.next()?.0 {
            Event::StreamEnd => return Some(documents),
            Event::DocumentStart(_, None) => {}
            _ => return None,
        }
        documents_left = documents_left.checked_sub(1)?;
        let (event, span) = reader.next()?;
        let root = reader.node(event, span, 0)?;
        if !matches!(reader.next()?.0, Event::DocumentEnd) {
            return None;
        }
        match root.value {
            Value::Map(_) | Value::Seq(_) => documents.push(root),
            // An empty document, which serde-saphyr skips as a null one.
            Value::Null => {}
            _ => return None,
        }
    }
}

/// The parser's events, counted against the budget.
struct Reader<'a> {
    /// The events of the text.
    events: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    /// Events still allowed.
    events_left: usize,
    /// Nodes still allowed.
    nodes_left: usize,
    /// Scalar bytes still allowed.
    scalar_bytes_left: usize,
    /// The deepest nesting allowed.
    max_depth: usize,
}

impl<'a> Reader<'a> {
    /// The next event, unless the parser failed or a budget ran out.
    fn next(&mut self) -> Option<(Event<'a>, Span)> {
        self.events_left = self.events_left.checked_sub(1)?;
        self.events.next()?.ok()
    }

    /// The node that starts with `event`, read to its end.
    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Option<Node> {
        self.nodes_left = self.nodes_left.checked_sub(1)?;
        let position = position(&span);
        let value = match event {
            Event::Scalar(text, style, 0, None) => {
                self.scalar_bytes_left = self.scalar_bytes_left.checked_sub(text.len())?;
                scalar(text, style)?
            }
            Event::SequenceStart(_, 0, None) if depth < self.max_depth => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break Value::Seq(items),
                        (event, span) => items.push(self.node(event, span, depth + 1)?),
                    }
                }
            }
            Event::MappingStart(_, 0, None) if depth < self.max_depth => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.key(event, span)?;
                    let (event, span) = self.next()?;
                    let value = self.node(event, span, depth + 1)?;
                    entries.push((key, value));
                }
                if has_duplicate_keys(&entries) {
                    return None;
                }
                Value::Map(entries)
            }
            _ => return None,
        };
        Some(Node { value, position })
    }

    /// A mapping key: a quoted string, or a plain one that cannot be
    /// anything but a string (serde-saphyr resolves the others).
    fn key(&mut self, event: Event<'a>, span: Span) -> Option<Node> {
        self.nodes_left = self.nodes_left.checked_sub(1)?;
        let Event::Scalar(text, style, 0, None) = event else { return None };
        self.scalar_bytes_left = self.scalar_bytes_left.checked_sub(text.len())?;
        // `<<` merges another mapping in (serde-saphyr's to do).
        if (style == ScalarStyle::Plain && !surely_string(&text)) || text == "<<" {
            return None;
        }
        Some(Node { value: Value::String(text.into_owned()), position: position(&span) })
    }
}

/// Where a node starts, as serde-saphyr reports it: its line from 1 and
/// column from 0 (`location_from_span` in serde-saphyr 2.2.0) to our 0-based
/// line and column.
fn position(span: &Span) -> Position {
    Position {
        line: u32::try_from(span.start.line().saturating_sub(1)).unwrap_or(u32::MAX),
        column: u32::try_from(span.start.col()).unwrap_or(u32::MAX),
    }
}

/// A scalar's value under the YAML 1.2 core schema with serde-saphyr's
/// resolution (`deserialize_any` in serde-saphyr 2.2.0), for the spellings
/// decided here; `None` for the rest.
fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain || surely_string(&text) {
        return Some(Value::String(text.into_owned()));
    }
    let bytes = text.as_bytes();
    match &*text {
        // `~` is also what the parser reports for a node left empty (`key:`).
        "" | "~" => Some(Value::Null),
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        // A decimal integer without a leading zero (a leading zero is
        // serde-saphyr's to read), short enough for a `u64`.
        _ if bytes.len() <= 19 && (bytes == b"0" || bytes[0] != b'0') && bytes.iter().all(u8::is_ascii_digit) => {
            text.parse().ok().map(Value::UInt)
        }
        // A decimal fraction (`0.9`, `12.5`): every correctly rounding parser reads the same `f64`.
        _ if decimal_fraction(bytes) => text.parse().ok().map(Value::Float),
        _ => None,
    }
}

/// Whether `bytes` spell `digits.digits`, without a leading zero before a second digit.
fn decimal_fraction(bytes: &[u8]) -> bool {
    let Some(dot) = bytes.iter().position(|&b| b == b'.') else { return false };
    let (whole, fraction) = (&bytes[..dot], &bytes[dot + 1..]);
    !whole.is_empty()
        && !fraction.is_empty()
        && bytes.len() <= 32
        && (whole == b"0" || whole[0] != b'0')
        && whole.iter().chain(fraction).all(u8::is_ascii_digit)
}

/// Words whose spelling alone may make a plain scalar something other than a
/// string (YAML 1.2 and 1.1 booleans, nulls, and what a float parser may
/// accept), compared without case.
const KEYWORDS: [&str; 12] = ["true", "false", "null", "yes", "no", "on", "off", "y", "n", "inf", "infinity", "nan"];

/// Whether a plain scalar is a string however it is resolved: it starts with
/// a letter and is no keyword (booleans and nulls are keywords; numbers start
/// with a digit, a sign or a dot), or it holds a character that no boolean,
/// null or number is spelled with.
fn surely_string(text: &str) -> bool {
    let starts_with_letter = text.chars().next().is_some_and(char::is_alphabetic);
    if starts_with_letter && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(text)) {
        return true;
    }
    text.chars().any(|c| !(c.is_ascii_digit() || "+-._:~ \tabcdefilnorstuxyABCDEFILNORSTUXY".contains(c)))
}

/// Whether two keys of a mapping are the same string (serde-saphyr reports it).
fn has_duplicate_keys(entries: &[(Node, Node)]) -> bool {
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str().unwrap_or_default()).collect();
    if keys.len() <= 16 {
        return keys.iter().enumerate().any(|(i, a)| keys[..i].contains(a));
    }
    // Sorted, not compared pairwise: a hostile mapping of many keys must not cost quadratic time.
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_it_does_not_decide_is_left_to_serde_saphyr() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "%YAML 1.2\n---\na: 1\n",
            "<<: {a: 1}\nb: 2\n",
            "1: one\n",
            "? [a]\n: b\n",
            "a: 1\na: 2\n",
            "just a scalar\n",
            "a: [1, 2\n",
            "a: b: c\n",
            "a: -1\n",
            "a: 007\n",
            "a: 1.5e3\n",
            "a: 01.5\n",
            "a: 1.\n",
            "a: .inf\n",
            "a: null\n",
            "a: True\n",
            "a: yes\n",
            "a: 0x1F\n",
            "a: 99999999999999999999\n",
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
    }
}
