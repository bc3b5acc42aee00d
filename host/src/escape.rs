//! Escaping and clipping of text that came from the input or a plugin, before any of it reaches a terminal, a log, a pull-request comment or a controller.
//!
//! File names in a repository, values in a spec, a plugin's messages and
//! Argo CD's environment may hold newlines, terminal escape sequences,
//! bidirectional overrides or GitHub workflow commands (`::add-mask::`,
//! `::stop-commands::`), and may be megabytes long. [`line`] is the one
//! function that makes such text safe: every output format (human, JSON,
//! GitHub workflow commands, Markdown, KRM results, Argo CD messages) passes
//! untrusted text through it, and adds only its own syntax on top
//! ([`workflow_data`], [`markdown_code`], [`html`]).

use std::borrow::Cow;
use std::fmt::Write as _;

/// The most characters shown of one quoted value (a name, a path, a field).
pub const VALUE_CHARS: usize = 300;
/// The most characters shown of one message or hint.
pub const MESSAGE_CHARS: usize = 2_000;
/// The most lines of one multi-line message.
pub const MESSAGE_LINES: usize = 60;

/// `text` as one safe line of at most `max` characters: control characters
/// (newlines and tabs included), invisible formatting characters (zero-width
/// and bidirectional controls) as `\n`, `\t` or `\u{..}` escapes; a leading
/// workflow command marker (`::`, `##[`) broken with an escape, since the
/// GitHub Actions runner acts on any output line that starts with one; the
/// rest cut off with a note of how long it was.
pub fn line(text: &str, max: usize) -> Cow<'_, str> {
    escaped(text, max, false)
}

/// [`line`] with the length of a quoted value.
pub fn value(text: &str) -> Cow<'_, str> {
    line(text, VALUE_CHARS)
}

/// [`line`] with the length of a message.
pub fn message(text: &str) -> Cow<'_, str> {
    line(text, MESSAGE_CHARS)
}

/// A line of a source file (already cut to a window), shown under a
/// diagnostic after a gutter: control and invisible characters escaped as
/// in [`line`], but tabs kept (the caret line repeats them to stay aligned).
pub fn source_line(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| escape_of(c, true).is_none()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match escape_of(c, true) {
            Some(escape) => out.push_str(&escape),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A text of several lines shown as it is (a file's contents in a diff),
/// each line prefixed by the caller: control and invisible characters
/// escaped as in [`source_line`], line breaks kept, nothing clipped.
pub fn body(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (content, end) = line.strip_suffix('\n').map_or((line, ""), |content| (content, "\n"));
        out.push_str(&source_line(content));
        out.push_str(end);
    }
    out
}

/// How many characters `c` takes once escaped by [`source_line`] (for
/// aligning a caret under it).
pub fn source_width(c: char) -> usize {
    escape_of(c, true).map_or(1, |e| e.chars().count())
}

/// A message of several lines (an error and its causes, a list of files):
/// each line as [`line`] of at most [`MESSAGE_CHARS`], at most
/// [`MESSAGE_LINES`] lines.
pub fn lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(64 * 1024));
    let mut all = text.split('\n');
    for (count, part) in all.by_ref().enumerate() {
        if count == MESSAGE_LINES {
            let rest = 1 + all.count();
            let _ = write!(out, "\n... and {rest} more line{}", if rest == 1 { "" } else { "s" });
            return out;
        }
        if count > 0 {
            out.push('\n');
        }
        out.push_str(&line(part.strip_suffix('\r').unwrap_or(part), MESSAGE_CHARS));
    }
    out
}

fn escaped(text: &str, max: usize, keep_tabs: bool) -> Cow<'_, str> {
    let marker = starts_with_command(text);
    let clean = !marker && text.len() <= max && text.chars().all(|c| escape_of(c, keep_tabs).is_none());
    if clean {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max * 2) + 32);
    for (shown, (i, c)) in text.char_indices().enumerate() {
        if shown >= max {
            let _ = write!(out, "… ({} bytes in all)", text.len());
            return Cow::Owned(out);
        }
        match escape_of(c, keep_tabs) {
            Some(escape) => out.push_str(&escape),
            // Break the command marker without changing how the text reads.
            None if marker && i == text.len() - text.trim_start().len() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether a line starting with `text` would be a workflow command to the
/// GitHub Actions runner (which trims leading white space first).
fn starts_with_command(text: &str) -> bool {
    let trimmed = text.trim_start();
    trimmed.starts_with("::") || trimmed.starts_with("##[")
}

/// The escape for `c`, or `None` if it is shown as it is.
fn escape_of(c: char, keep_tabs: bool) -> Option<String> {
    let invisible = matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    );
    match c {
        '\t' if keep_tabs => None,
        '\n' => Some("\\n".to_owned()),
        '\r' => Some("\\r".to_owned()),
        '\t' => Some("\\t".to_owned()),
        c if c.is_control() || invisible => Some(format!("\\u{{{:x}}}", u32::from(c))),
        _ => None,
    }
}

/// The escaping the GitHub Actions runner undoes in a workflow command's
/// message (after [`line`], which already removed line breaks from the
/// values in it; the `\n` that separates a message from its hint is ours).
pub fn workflow_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// The escaping the runner undoes in a workflow command's properties.
pub fn workflow_property(text: &str) -> String {
    workflow_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `text` (already passed through [`line`]) as a Markdown code span inside
/// a table cell: a fence longer than any run of backticks in it, and `|`
/// escaped so that it does not end the cell. HTML in a code span is shown,
/// not interpreted.
pub fn markdown_code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let padding = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{padding}{}{padding}{fence}", text.replace('|', "\\|"))
}

/// `text` (already passed through [`line`]) as HTML text.
pub fn html(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(value("models/iris.yaml"), Cow::Borrowed("models/iris.yaml")));
        assert_eq!(value("a: `b` 100% \\ ü"), "a: `b` 100% \\ ü");
    }

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert_eq!(value("a\nb\r\tc\u{1b}[31md\u{7f}"), "a\\nb\\r\\tc\\u{1b}[31md\\u{7f}");
        assert_eq!(value("\u{202e}gpj.exe\u{200b}"), "\\u{202e}gpj.exe\\u{200b}");
        assert_eq!(value("\u{85}x"), "\\u{85}x");
        assert_eq!(source_line("\tkey: v\u{1b}"), "\tkey: v\\u{1b}");
        assert_eq!(source_width('\u{1b}'), 6);
        assert_eq!(source_width('\t'), 1);
    }

    #[test]
    fn workflow_commands_at_the_start_of_a_line_are_broken() {
        assert_eq!(value("::add-mask::x"), "\\u{3a}:add-mask::x");
        assert_eq!(value("  ::error::x"), "  \\u{3a}:error::x");
        assert_eq!(value("##[add-mask]x"), "\\u{23}#[add-mask]x");
        assert_eq!(value("a ::error::b"), "a ::error::b", "only a line's start is a command");
        let multi = lines("first\n::stop-commands::t\n  ##[warning]w");
        assert_eq!(multi, "first\n\\u{3a}:stop-commands::t\n  \\u{23}#[warning]w");
    }

    #[test]
    fn long_text_is_clipped_with_its_size() {
        let long = "x".repeat(5_000_000);
        let shown = message(&long);
        assert!(shown.len() < MESSAGE_CHARS + 40, "{}", shown.len());
        assert!(shown.ends_with("… (5000000 bytes in all)"), "{}", &shown[shown.len() - 40..]);
        let many = "line\n".repeat(1_000);
        let shown = lines(&many);
        assert_eq!(shown.lines().count(), MESSAGE_LINES + 1);
        assert!(shown.ends_with("... and 941 more lines"), "{shown}");
    }

    #[test]
    fn markdown_and_html_keep_their_syntax() {
        assert_eq!(markdown_code("A ml/x"), "`A ml/x`");
        assert_eq!(markdown_code("a`b|c"), "``a`b\\|c``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(html("</code><img src=x>&"), "&lt;/code&gt;&lt;img src=x&gt;&amp;");
        assert_eq!(workflow_property("a,b:c%\n"), "a%2Cb%3Ac%25%0A");
    }
}
