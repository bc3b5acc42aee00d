//! New scalar text for an edit: the value written in the old value's quoting style when it allows, quoted when YAML would read it as something else.

use std::fmt::Write as _;

use serde_saphyr::granit_parser::ScalarStyle;

use super::tree::{Item, Shape};

/// The notation of a scalar (plain for anything else).
pub fn style_of(item: &Item) -> ScalarStyle {
    match item.shape {
        Shape::Scalar(_, style @ (ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)) => style,
        _ => ScalarStyle::Plain,
    }
}

/// A value the editor writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// A string (a version, a URI, an image reference).
    Text(String),
    /// A whole number (a traffic percentage).
    Number(u64),
}

impl Scalar {
    /// The value as a change list shows it.
    pub fn shown(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

/// Where the scalar is written: flow collections forbid more characters in plain scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// A block mapping's value.
    Block,
    /// Inside `{...}` or `[...]`.
    Flow,
}

/// `value` written as a scalar in `style` (the style of the value it
/// replaces, or of its neighbours for a new key). A number is always plain;
/// a string keeps plain, single or double quotes when it can be written so
/// and still read back as the same string, and is double-quoted otherwise.
pub fn render(value: &Scalar, style: ScalarStyle, context: Context) -> String {
    let text = match value {
        Scalar::Number(n) => return n.to_string(),
        Scalar::Text(text) => text,
    };
    match style {
        ScalarStyle::Plain if plain_safe(text, context) => text.clone(),
        ScalarStyle::SingleQuoted if text.chars().all(|c| !c.is_control()) => format!("'{}'", text.replace('\'', "''")),
        _ => double_quoted(text),
    }
}

/// `text` in double quotes, with YAML escapes for what must be escaped.
pub fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words some YAML reader takes for a null, a boolean or a number, in any case.
const WORDS: [&str; 12] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf", "~"];

/// Whether `text` can be written as a plain scalar that reads back as the
/// same string. Conservative: anything that starts like a number, a YAML
/// indicator or a word some YAML reader takes for a boolean or null is
/// quoted, though this plugin's reader (YAML 1.2 core schema) would keep
/// some of them strings; a spec is read by other tools too.
pub fn plain_safe(text: &str, context: Context) -> bool {
    let Some(first) = text.chars().next() else { return false };
    if text.trim() != text || text.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_ascii_digit() || first == '+' || first == '.' {
        return false;
    }
    if text.contains(": ") || text.contains(" #") || text.ends_with(':') {
        return false;
    }
    if context == Context::Flow && text.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    !WORDS.iter().any(|w| text.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Scalar {
        Scalar::Text(s.to_owned())
    }

    #[test]
    fn styles_are_kept_when_the_value_allows() {
        assert_eq!(render(&text("v2"), ScalarStyle::Plain, Context::Block), "v2");
        assert_eq!(render(&text("v2"), ScalarStyle::SingleQuoted, Context::Block), "'v2'");
        assert_eq!(render(&text("v2"), ScalarStyle::DoubleQuoted, Context::Block), "\"v2\"");
        assert_eq!(render(&text("it's"), ScalarStyle::SingleQuoted, Context::Block), "'it''s'");
        assert_eq!(render(&text("a\"b\\c"), ScalarStyle::DoubleQuoted, Context::Block), "\"a\\\"b\\\\c\"");
        assert_eq!(render(&Scalar::Number(25), ScalarStyle::Plain, Context::Flow), "25");
    }

    #[test]
    fn values_yaml_would_read_as_another_type_are_quoted() {
        for value in [
            "1.10", "2", "-1", "+1", ".5", "true", "NULL", "yes", "~", "", " v", "a: b", "a #b", "[x]", "*x", "&x",
            "!x",
        ] {
            assert_eq!(render(&text(value), ScalarStyle::Plain, Context::Block), double_quoted(value), "{value:?}");
        }
        assert_eq!(render(&text("s3://b/m,1"), ScalarStyle::Plain, Context::Flow), "\"s3://b/m,1\"");
        assert_eq!(render(&text("s3://b/m,1"), ScalarStyle::Plain, Context::Block), "s3://b/m,1");
        assert_eq!(render(&text("line\nbreak"), ScalarStyle::SingleQuoted, Context::Block), "\"line\\nbreak\"");
    }
}
