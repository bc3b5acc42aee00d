//! Printing diagnostics for people: `path:line:col: error: message`, the source line, and a caret.
//!
//! Everything in a diagnostic came from the input or the plugin: every
//! format passes each part through [`escape`] (control characters,
//! workflow commands, length) before adding its own syntax. A quoted source
//! line is shown with the columns the plugin marks as secret masked
//! ([`mask`]); the other formats quote no source line.

use std::fmt::Write as _;

use crate::diagnostic::{Diagnostic, Severity};
use crate::escape;

/// Formats `diagnostic` the way compilers do. `display_path` turns the
/// plugin's root-relative path into the one the user typed (so terminals and
/// editors can open it); `source` returns a file's contents for the snippet.
pub fn human<'a>(
    diagnostic: &Diagnostic,
    display_path: impl Fn(&str) -> String,
    source: impl Fn(&str) -> Option<&'a [u8]>,
) -> String {
    let mut out = String::new();
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    // Plugin-supplied positions are `u32`: shown 1-based without overflowing.
    let position = diagnostic.position.map(|(line, column)| (u64::from(line) + 1, u64::from(column) + 1));
    match (&diagnostic.file, position) {
        (Some(file), Some((line, column))) => {
            let _ = write!(out, "{}:{line}:{column}: ", escape::value(&display_path(file)));
        }
        (Some(file), None) => {
            let _ = write!(out, "{}: ", escape::value(&display_path(file)));
        }
        _ => {}
    }
    let _ = writeln!(out, "{severity}: {}", escape::message(&diagnostic.message));

    let field = diagnostic.field.as_deref().map(escape::value);
    let line_text = diagnostic.file.as_deref().zip(diagnostic.position).and_then(|(file, (line, _))| {
        let text = std::str::from_utf8(source(file)?).ok()?;
        text.lines().nth(usize::try_from(line).ok()?)
    });
    let gutter = position.map_or(1, |(line, _)| line.to_string().len());
    if let (Some(text), Some((line, _)), Some((_, column))) = (line_text, position, diagnostic.position) {
        let (text, column) = mask(text, &diagnostic.secrets, usize::try_from(column).unwrap_or(usize::MAX));
        let (text, column) = window(&text, column);
        // Escapes widen characters: the caret follows the shown text.
        let mut indent = String::new();
        for c in text.chars().take(column) {
            if c == '\t' {
                indent.push('\t');
            } else {
                indent.push_str(&" ".repeat(escape::source_width(c)));
            }
        }
        let token = token_width(text.chars().skip(column)).min(WINDOW);
        let width: usize = text.chars().skip(column).take(token).map(escape::source_width).sum::<usize>().max(1);
        let _ = writeln!(out, "{:gutter$} |", "");
        let _ = writeln!(out, "{line} | {}", escape::source_line(&text));
        let carets = "^".repeat(width);
        match &field {
            Some(field) => writeln!(out, "{:gutter$} | {indent}{carets} {field}", ""),
            None => writeln!(out, "{:gutter$} | {indent}{carets}", ""),
        }
        .unwrap_or_default();
    } else if let Some(field) = &field {
        let _ = writeln!(out, "{:gutter$} = field: {field}", "");
    }
    if let Some(hint) = &diagnostic.hint {
        let _ = writeln!(out, "{:gutter$} = hint: {}", "", escape::message(hint));
    }
    out
}

/// What a secret's characters are shown as.
const MASK: &str = "***";

/// `line` with each run of `secrets` (character columns, start inclusive,
/// end exclusive) replaced by [`MASK`], and where `column` falls in it (at
/// the mask when it falls inside a secret). The columns come from the
/// plugin: reversed or empty runs are ignored, runs past the end are cut
/// at it, and overlapping runs are masked once.
fn mask(line: &str, secrets: &[(u32, u32)], column: usize) -> (String, usize) {
    let count = line.chars().count();
    let mut runs: Vec<(usize, usize)> = secrets
        .iter()
        .filter_map(|&(start, end)| {
            let start = usize::try_from(start).ok()?;
            let end = usize::try_from(end).unwrap_or(usize::MAX).min(count);
            (start < end).then_some((start, end))
        })
        .collect();
    if runs.is_empty() {
        return (line.to_owned(), column);
    }
    runs.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
    for (start, end) in runs {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mask_width = MASK.chars().count();
    let mut shown = String::with_capacity(line.len());
    let mut next = merged.iter().peekable();
    for (i, c) in line.chars().enumerate() {
        while next.peek().is_some_and(|run| run.1 <= i) {
            next.next();
        }
        match next.peek() {
            Some(&&(start, _)) if i == start => shown.push_str(MASK),
            Some(&&(start, _)) if i > start => {}
            _ => shown.push(c),
        }
    }
    let (mut removed, mut added) = (0, 0);
    for &(start, end) in &merged {
        if column < start {
            break;
        }
        if column < end {
            return (shown, start - removed + added);
        }
        removed += end - start;
        added += mask_width;
    }
    (shown, column - removed + added)
}

/// The widest source line shown; longer lines are cut around the column.
const WINDOW: usize = 100;

/// At most [`WINDOW`] characters of `line` around `column`, and where the
/// column falls in what is returned.
fn window(line: &str, column: usize) -> (String, usize) {
    let count = line.chars().count();
    if count <= WINDOW {
        return (line.to_owned(), column);
    }
    let start = column.saturating_sub(WINDOW / 4).min(count.saturating_sub(WINDOW));
    let mut shown: String = line.chars().skip(start).take(WINDOW).collect();
    let mut column = column - start;
    if start > 0 {
        shown.insert(0, '…');
        column += 1;
    }
    if start + WINDOW < count {
        shown.push('…');
    }
    (shown, column)
}

/// How many characters the token starting here spans (a quoted string up to
/// its closing quote, else up to white space or flow punctuation), at least one.
fn token_width(mut chars: impl Iterator<Item = char>) -> usize {
    let Some(first) = chars.next() else { return 1 };
    if first == '"' || first == '\'' {
        let mut width = 1;
        for c in chars {
            width += 1;
            if c == first {
                break;
            }
        }
        return width;
    }
    if first.is_whitespace() {
        return 1;
    }
    // A plain scalar ends at white space, flow punctuation, or `: ` (a key);
    // a colon inside it (`s3://...`) is part of the value.
    let rest: Vec<char> = chars.collect();
    let end = rest
        .iter()
        .enumerate()
        .position(|(i, c)| {
            c.is_whitespace()
                || matches!(c, ',' | ']' | '}')
                || (*c == ':' && rest.get(i + 1).is_none_or(|n| n.is_whitespace()))
        })
        .unwrap_or(rest.len());
    1 + end
}

/// Formats a diagnostic as one JSON object per line, for tools (which may
/// print its strings as they are: they are escaped and clipped too).
pub fn json(diagnostic: &Diagnostic) -> String {
    let value = serde_json::json!({
        "severity": match diagnostic.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "file": diagnostic.file.as_deref().map(escape::value),
        "line": diagnostic.position.map(|(l, _)| u64::from(l) + 1),
        "column": diagnostic.position.map(|(_, c)| u64::from(c) + 1),
        "field": diagnostic.field.as_deref().map(escape::value),
        "message": escape::message(&diagnostic.message),
        "hint": diagnostic.hint.as_deref().map(escape::message),
    });
    value.to_string()
}

/// Formats a diagnostic as a GitHub Actions workflow command, which the
/// runner turns into an annotation on the file and line.
pub fn github(diagnostic: &Diagnostic) -> String {
    let command = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut properties = Vec::new();
    if let Some(file) = &diagnostic.file {
        properties.push(format!("file={}", escape::workflow_property(&escape::value(file))));
        if let Some((line, column)) = diagnostic.position {
            properties.push(format!("line={}", u64::from(line) + 1));
            properties.push(format!("col={}", u64::from(column) + 1));
        }
    }
    if let Some(field) = &diagnostic.field {
        properties.push(format!("title={}", escape::workflow_property(&escape::value(field))));
    }
    let mut message = escape::message(&diagnostic.message).into_owned();
    if let Some(hint) = &diagnostic.hint {
        message.push_str("\nhint: ");
        message.push_str(&escape::message(hint));
    }
    let separator = if properties.is_empty() { "" } else { " " };
    format!("::{command}{separator}{}::{}", properties.join(","), escape::workflow_data(&message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error in `m.yaml` at `position`, about `field`.
    fn error_at(position: (u32, u32), field: &str, message: &str) -> Diagnostic {
        Diagnostic {
            secrets: Vec::new(),
            severity: Severity::Error,
            file: Some("m.yaml".into()),
            position: Some(position),
            field: Some(field.into()),
            message: message.into(),
            hint: None,
        }
    }

    #[test]
    fn caret_under_the_offending_value() {
        let d = error_at((1, 18), "spec.canary.trafficPercent", "`150` is not a percentage from 0 to 100");
        let text = human(&d, |p| format!("app/{p}"), |_| Some(b"spec:\n  trafficPercent: 150\n".as_slice()));
        assert_eq!(
            text,
            "app/m.yaml:2:19: error: `150` is not a percentage from 0 to 100\n  |\n2 |   trafficPercent: 150\n  |                   ^^^ spec.canary.trafficPercent\n"
        );
    }

    #[test]
    fn github_annotations_escape_what_the_runner_unescapes() {
        let d = Diagnostic {
            secrets: Vec::new(),
            severity: Severity::Error,
            file: Some("apps/a,b.yaml".into()),
            position: Some((3, 4)),
            field: Some("spec.model.storageURI".into()),
            message: "unknown field `storageURI` (100%)".into(),
            hint: Some("did you mean `storageUri`?".into()),
        };
        assert_eq!(
            github(&d),
            "::error file=apps/a%2Cb.yaml,line=4,col=5,title=spec.model.storageURI::unknown field `storageURI` (100%25)%0Ahint: did you mean `storageUri`?"
        );
        let global =
            Diagnostic { file: None, position: None, field: None, hint: None, severity: Severity::Warning, ..d };
        assert_eq!(github(&global), "::warning::unknown field `storageURI` (100%25)");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = format!("  labels: {{team: {}}}", "x".repeat(10_000));
        let (shown, column) = window(&line, 17);
        assert!(shown.chars().count() <= WINDOW + 2);
        assert_eq!(shown.chars().nth(column), Some('x'));
        let (_, far) = window(&line, 5_000);
        assert_eq!(far, WINDOW / 4 + 1);
    }

    #[test]
    fn secrets_in_the_quoted_line_are_masked_and_the_caret_follows() {
        let line = "  storageUri: s3://user:hunter2@bucket/m";
        let secret = (24, 31); // `hunter2`
        assert_eq!(&line[24..31], "hunter2");
        let (shown, column) = mask(line, &[secret], 14);
        assert_eq!((shown.as_str(), column), ("  storageUri: s3://user:***@bucket/m", 14));
        // After the secret, the caret moves with the shorter text; inside, it points at the mask.
        assert_eq!(mask(line, &[secret], 32).1, 28);
        assert_eq!(mask(line, &[secret], 27).1, 24);
        // Reversed, empty and out-of-range runs are ignored; overlapping ones masked once; long ones cut.
        let (shown, _) = mask("abcdefghij", &[(5, 2), (3, 3), (1, 4), (2, 6), (8, u32::MAX), (u32::MAX, u32::MAX)], 0);
        assert_eq!(shown, "a***gh***");
        let d = Diagnostic { secrets: vec![secret], ..error_at((0, 14), "spec.model.storageUri", "bad") };
        let text = human(&d, str::to_owned, |_| Some(line.as_bytes()));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("1 |   storageUri: s3://user:***@bucket/m\n  |               ^^^^^^^^^^^^^^^^^^^^^^ spec"),
            "{text}"
        );
    }

    #[test]
    fn quoted_tokens_are_underlined_whole() {
        assert_eq!(token_width("\"a b\" # c".chars()), 5);
        assert_eq!(token_width("s3://x/y, z".chars()), 8);
        assert_eq!(token_width("key: value".chars()), 3);
        assert_eq!(token_width("https://a:b@c/d".chars()), 15);
    }
}
