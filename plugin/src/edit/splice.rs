//! Replacements of byte ranges of a file, and the ranges an edit owns: a scalar's text, an entry's lines, an entry of a flow mapping.
//!
//! Every operation touches only the bytes of what it changes; line breaks
//! it writes are the file's own (CRLF stays CRLF).

use std::fmt::Write as _;

use serde_saphyr::granit_parser::ScalarStyle;

use crate::edit::error::EditError;
use crate::edit::scalar::{Context, Scalar, render};
use crate::edit::tree::{Item, Shape};

/// Replace `start..end` with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splice {
    /// The first byte replaced.
    pub start: usize,
    /// The byte after the last one replaced.
    pub end: usize,
    /// What goes there.
    pub text: String,
}

/// A value for a new mapping entry.
#[derive(Clone, Debug)]
pub enum NewValue {
    /// A scalar, written in the given style where it allows.
    Scalar(Scalar, ScalarStyle),
    /// A mapping of scalars (a new `canary`); `true` to write it in flow
    /// style (`{version: v2, ...}`) in a block mapping too.
    Map(Vec<(String, Scalar, ScalarStyle)>, bool),
}

/// A file being edited: its text and its line break.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The text as written.
    pub text: &'a str,
    /// `\r\n` when the file's first line break is one, else `\n`.
    pub eol: &'static str,
}

impl<'a> Source<'a> {
    /// A file to edit.
    pub fn new(text: &'a str) -> Self {
        let eol = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        Source { text, eol }
    }

    /// The text with `splices` applied; `None` when two of them overlap
    /// (an edit the editor cannot compose: refused, never guessed).
    pub fn apply(&self, splices: &mut [Splice]) -> Option<String> {
        splices.sort_by_key(|s| (s.start, s.end));
        let mut out = String::with_capacity(self.text.len() + 64);
        let mut at = 0;
        for splice in splices.iter() {
            out.push_str(self.text.get(at..splice.start)?);
            out.push_str(&splice.text);
            at = splice.end;
        }
        out.push_str(&self.text[at..]);
        Some(out)
    }

    /// The start of the line holding `offset`.
    fn line_start(&self, offset: usize) -> usize {
        self.text[..offset].rfind('\n').map_or(0, |i| i + 1)
    }

    /// Where the line holding `offset` ends (its line break, or the end of the text).
    fn line_end(&self, offset: usize) -> usize {
        let end = self.text[offset..].find('\n').map_or(self.text.len(), |i| offset + i);
        if end > offset && self.text.as_bytes()[end - 1] == b'\r' { end - 1 } else { end }
    }

    /// The start of the next line after the one holding `offset` (the end of the text on the last line).
    fn next_line_start(&self, offset: usize) -> usize {
        self.text[offset..].find('\n').map_or(self.text.len(), |i| offset + i + 1)
    }

    /// The spaces before `item` on its line, when only spaces precede it.
    fn indent_of(&self, item: &Item) -> Option<&'a str> {
        let start = self.line_start(item.start);
        let prefix = &self.text[start..item.start];
        prefix.bytes().all(|b| b == b' ').then_some(prefix)
    }

    /// Where the last line of `value` ends. A block scalar's range ends at
    /// the start of the line after it; the line before is its last.
    fn last_line_end(&self, value: &Item) -> usize {
        let mut end = value.end;
        if end > value.start && self.text[..end].ends_with('\n') {
            end -= 1;
            if self.text[..end].ends_with('\r') {
                end -= 1;
            }
            return end;
        }
        self.line_end(end)
    }

    /// Where the lines of a block entry end: its last line, and the comment
    /// lines right after it that are indented deeper than its key (those
    /// belong to it; a comment at the key's indentation belongs to the next key).
    fn owned_end(&self, key_indent: usize, value: &Item) -> usize {
        let mut end = self.last_line_end(value);
        while end < self.text.len() {
            let next = self.next_line_start(end);
            let line = &self.text[next..self.line_end(next)];
            let content = line.trim_start_matches(' ');
            if next >= self.text.len() || !content.starts_with('#') || line.len() - content.len() <= key_indent {
                break;
            }
            end = self.line_end(next);
        }
        end
    }

    /// Replaces the scalar `item` at `field` with `value`.
    pub fn replace_scalar(
        &self,
        field: &str,
        item: &Item,
        value: &Scalar,
        context: Context,
    ) -> Result<Splice, EditError> {
        let refuse = |reason: &str| EditError::Unfaithful {
            field: field.to_owned(),
            reason: reason.to_owned(),
            position: item.position,
        };
        let Shape::Scalar(_, style) = &item.shape else {
            return Err(match item.shape {
                Shape::Alias => refuse("it is an alias (`*name`) of another node"),
                _ => EditError::Malformed {
                    field: field.to_owned(),
                    problem: "is not a scalar".to_owned(),
                    position: item.position,
                },
            });
        };
        if item.anchored {
            return Err(refuse("it defines an anchor (`&name`) that other nodes may repeat"));
        }
        if item.tagged {
            return Err(refuse("it carries an explicit tag"));
        }
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            || self.text[item.start..item.end].contains(['\n', '\r'])
        {
            return Err(refuse("it is written over several lines"));
        }
        let rendered = render(value, *style, context);
        // An empty value (`version:`) has no text of its own: keep a space after the colon.
        let text = if item.start == item.end { format!(" {rendered}") } else { rendered };
        Ok(Splice { start: item.start, end: item.end, text })
    }

    /// Inserts `key: value` into `map` after the entry `after` (the last one when `None`).
    pub fn insert_entry(
        &self,
        field: &str,
        map: &Item,
        after: Option<usize>,
        key: &str,
        value: &NewValue,
        child_step: usize,
    ) -> Result<Splice, EditError> {
        let Shape::Map(entries, flow) = &map.shape else {
            return Err(EditError::Malformed {
                field: field.to_owned(),
                problem: "is not a mapping".to_owned(),
                position: map.position,
            });
        };
        let context = if *flow { Context::Flow } else { Context::Block };
        let flow_value = |value: &NewValue| match value {
            NewValue::Scalar(s, style) => render(s, *style, context),
            NewValue::Map(fields, _) => {
                let inner: Vec<String> =
                    fields.iter().map(|(k, v, style)| format!("{k}: {}", render(v, *style, Context::Flow))).collect();
                format!("{{{}}}", inner.join(", "))
            }
        };
        if *flow {
            let Some((_, last)) = entries.last() else {
                // `{}`: the new entry goes between the braces.
                return Ok(Splice {
                    start: map.start + 1,
                    end: map.start + 1,
                    text: format!("{key}: {}", flow_value(value)),
                });
            };
            let anchor = after.and_then(|i| entries.get(i)).map_or(last, |(_, v)| v);
            return Ok(Splice { start: anchor.end, end: anchor.end, text: format!(", {key}: {}", flow_value(value)) });
        }
        let index = after.unwrap_or(entries.len().saturating_sub(1));
        let Some((anchor_key, anchor_value)) = entries.get(index) else {
            return Err(EditError::Unfaithful {
                field: field.to_owned(),
                reason: "it is an empty block mapping".to_owned(),
                position: map.position,
            });
        };
        let Some(indent) = self.indent_of(anchor_key) else {
            return Err(EditError::Unfaithful {
                field: field.to_owned(),
                reason: "its keys do not start their lines".to_owned(),
                position: anchor_key.position,
            });
        };
        let at = self.owned_end(indent.len(), anchor_value);
        let eol = self.eol;
        let text = match value {
            NewValue::Scalar(..) | NewValue::Map(_, true) => format!("{eol}{indent}{key}: {}", flow_value(value)),
            NewValue::Map(fields, false) => {
                let child = " ".repeat(indent.len() + child_step);
                let mut text = format!("{eol}{indent}{key}:");
                for (k, v, style) in fields {
                    let _ = write!(text, "{eol}{child}{k}: {}", render(v, *style, Context::Block));
                }
                text
            }
        };
        Ok(Splice { start: at, end: at, text })
    }

    /// Removes the entry at `index` of `map` (at `field`): its lines in a
    /// block mapping, its `key: value` and one separating comma in a flow one.
    pub fn remove_entry(&self, field: &str, map: &Item, index: usize) -> Result<Splice, EditError> {
        let Shape::Map(entries, flow) = &map.shape else {
            return Err(EditError::Malformed {
                field: field.to_owned(),
                problem: "is not a mapping".to_owned(),
                position: map.position,
            });
        };
        let (key, value) = &entries[index];
        if let Some(shared) = key.shared().or_else(|| value.shared()) {
            return Err(EditError::Unfaithful {
                field: field.to_owned(),
                reason: "it holds an anchor, alias or merge key that other nodes may depend on".to_owned(),
                position: shared.position,
            });
        }
        if *flow {
            let (start, end) = match (index.checked_sub(1).and_then(|i| entries.get(i)), entries.get(index + 1)) {
                (_, Some((next, _))) => (key.start, next.start),
                (Some((_, previous)), None) => (previous.end, value.end),
                (None, None) => (key.start, value.end),
            };
            // Between entries of a flow mapping over several lines there can
            // be comments; they are not the entry's to take.
            let around = [&self.text[start..key.start.max(start)], &self.text[value.end.min(end)..end]];
            if around.iter().any(|gap| gap.contains('#')) {
                return Err(EditError::Unfaithful {
                    field: field.to_owned(),
                    reason: "a comment sits between it and its neighbour in the flow mapping".to_owned(),
                    position: key.position,
                });
            }
            return Ok(Splice { start, end, text: String::new() });
        }
        if entries.len() == 1 {
            return Err(EditError::Unfaithful {
                field: field.to_owned(),
                reason: "it is the only entry of its mapping".to_owned(),
                position: key.position,
            });
        }
        let Some(indent) = self.indent_of(key) else {
            return Err(EditError::Unfaithful {
                field: field.to_owned(),
                reason: "its key does not start its line".to_owned(),
                position: key.position,
            });
        };
        let start = self.line_start(key.start);
        let end = self.owned_end(indent.len(), value);
        if end >= self.text.len() && start > 0 {
            // The last line of a file without a final line break: take the
            // break before it instead, so that the file still ends as it did.
            let before = if self.text[..start - 1].ends_with('\r') { start - 2 } else { start - 1 };
            return Ok(Splice { start: before, end, text: String::new() });
        }
        Ok(Splice { start, end: self.next_line_start(end), text: String::new() })
    }

    /// How many columns a block mapping's children sit deeper than its key
    /// (`model:` at 2 and `version:` at 4: 2), when `value` is one.
    pub fn child_step(&self, key: &Item, value: &Item) -> Option<usize> {
        let Shape::Map(entries, false) = &value.shape else { return None };
        let (first, _) = entries.first()?;
        let outer = self.indent_of(key)?.len();
        let inner = self.indent_of(first)?.len();
        inner.checked_sub(outer).filter(|step| *step > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_apply_in_order_and_overlaps_are_refused() {
        let source = Source::new("abcdef");
        let splice = |start, end, text: &str| Splice { start, end, text: text.to_owned() };
        let mut disjoint = [splice(4, 5, "E"), splice(0, 1, "A"), splice(1, 1, "+")];
        assert_eq!(source.apply(&mut disjoint).as_deref(), Some("A+bcdEf"));
        let mut overlapping = [splice(0, 3, ""), splice(2, 4, "x")];
        assert_eq!(source.apply(&mut overlapping), None);
        assert_eq!(Source::new("a\r\nb\n").eol, "\r\n");
        assert_eq!(Source::new("a\nb\r\n").eol, "\n");
    }
}
