//! Secrets written where they would be stored in clear text: a credential in a URL, a well-known token format, a variable named for a secret.
//!
//! A spec is committed to Git and its values land in the cluster's objects,
//! readable by anyone who can read either. What is found here is reported
//! without ever quoting the value.

use std::sync::LazyLock;

use regex::Regex;

/// Token formats whose prefix says what they are, with what to call them.
/// Each starts with a literal, which the search looks for first.
static TOKENS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a private key"),
        (r"hf_[A-Za-z0-9]{30,}", "a Hugging Face access token"),
        (r"api_org_[A-Za-z0-9]{30,}", "a Hugging Face organization token"),
        (r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})", "a GitHub token"),
        (r"glpat-[A-Za-z0-9_-]{20,}", "a GitLab token"),
        (r"(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)", "an AWS access key"),
        (r"xox[abposr]-[A-Za-z0-9-]{10,}", "a Slack token"),
        (r"sk-(?:proj-)?[A-Za-z0-9_-]{20,}", "an API secret key"),
    ]
    .into_iter()
    .map(|(pattern, what)| (Regex::new(pattern).unwrap_or_else(|e| panic!("token pattern: {e}")), what))
    .collect()
});

/// The literal every match of a [`TOKENS`] pattern contains. Compiling the
/// patterns costs more than a whole small render in the component, so a
/// text holding none of these literals is not searched, and the patterns
/// are compiled only for a text that might hold a token.
const TOKEN_LITERALS: [&str; 14] = [
    "-----BEGIN ",
    "hf_",
    "api_org_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "AKIA",
    "ASIA",
    "xox",
    "sk-",
];

/// Whether `text` holds one of [`TOKEN_LITERALS`]. One pass that tries the
/// literals only where a byte could start one: fourteen substring searches
/// per value (each setting up its own searcher) were 1.5 % of a large
/// render in wasm.
fn may_hold_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|at| {
        TOKEN_LITERALS
            .iter()
            .any(|literal| literal.as_bytes()[0] == bytes[at] && bytes[at..].starts_with(literal.as_bytes()))
    })
}

/// Name segments that say a variable holds a secret (`HF_TOKEN`, `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`).
const SECRET_WORDS: [&str; 7] = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIALS", "CREDENTIAL"];
/// Adjacent name segments that say the same (`API_KEY`, `PRIVATE_KEY`, `ACCESS_KEY`).
const SECRET_PAIRS: [(&str, &str); 3] = [("API", "KEY"), ("PRIVATE", "KEY"), ("ACCESS", "KEY")];
/// A last name segment that makes the variable point at a secret rather than hold one (`TOKEN_FILE`, `SECRET_NAME`).
const POINTER_WORDS: [&str; 11] =
    ["FILE", "PATH", "DIR", "NAME", "URL", "URI", "ENDPOINT", "HOST", "ID", "TYPE", "MODE"];

/// What made a value look like a credential. Its text never quotes the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A URL with a `user:password@` part.
    UrlUserInfo,
    /// A token of a well-known format (what it is).
    Token(&'static str),
    /// A value under a variable whose name says it holds a secret.
    SecretName,
}

impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UrlUserInfo => f.write_str("it contains a URL with a `user:password@` part"),
            Self::Token(what) => write!(f, "it looks like {what}"),
            Self::SecretName => f.write_str("its name says it holds a secret"),
        }
    }
}

/// Why `value` looks like a credential, if it does; `name` is the variable
/// that holds it, when it is one.
pub fn credential(name: Option<&str>, value: &str) -> Option<Credential> {
    if value.is_empty() || is_reference(value) {
        return None;
    }
    if has_url_credentials(value) {
        return Some(Credential::UrlUserInfo);
    }
    // The literal first: `TOKENS` is compiled on first use.
    if may_hold_token(value)
        && let Some((_, what)) = TOKENS.iter().find(|(pattern, _)| {
            // A token starts a word: checked here rather than with `\b`, which
            // would cost the search its literal prefilter.
            pattern.find_iter(value).any(|m| {
                let starts_word = !value[..m.start()].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                starts_word && !is_placeholder(m.as_str())
            })
        })
    {
        return Some(Credential::Token(what));
    }
    let name = name?;
    let segments: Vec<String> =
        name.split(['_', '-', '.']).filter(|s| !s.is_empty()).map(str::to_ascii_uppercase).collect();
    if segments.last().is_some_and(|last| POINTER_WORDS.contains(&last.as_str())) {
        return None;
    }
    let word = segments.iter().any(|s| SECRET_WORDS.contains(&s.as_str()));
    let pair = segments.windows(2).any(|w| SECRET_PAIRS.iter().any(|(a, b)| w[0] == *a && w[1] == *b));
    (word || pair).then_some(Credential::SecretName)
}

/// For each of `diagnostics`, the parts of the line it points at that hold
/// a secret, as 0-based character columns (start inclusive, end exclusive):
/// the credentials found on the line (a URL's `user:password@`, a token of a
/// known format), every value of the file that is secret by its name
/// (`{name: DB_PASSWORD, value: …}`) whatever the diagnostic is about, and,
/// for a diagnostic about a secret value, that value. A plugin never quotes
/// a secret itself; this keeps a host that quotes the source line from
/// doing it either. Each file is read once, and only when a diagnostic
/// points into it.
pub fn secret_columns(
    diagnostics: &[crate::diagnostic::Diagnostic],
    sources: &[crate::source::SourceFile],
) -> Vec<Vec<(u32, u32)>> {
    // Many diagnostics (a warning on each of a thousand specs) must not
    // cost a search of the sources each, nor a second parse of every file.
    let by_path: std::collections::HashMap<&str, &crate::source::SourceFile> =
        sources.iter().map(|s| (s.path.as_str(), s)).collect();
    let mut by_file: std::collections::HashMap<&str, Vec<crate::diagnostic::Position>> =
        std::collections::HashMap::new();
    diagnostics
        .iter()
        .map(|diagnostic| {
            let (Some(file), Some(position)) = (&diagnostic.file, diagnostic.position) else { return Vec::new() };
            let Some(source) = by_path.get(file.as_str()) else { return Vec::new() };
            let Ok(text) = std::str::from_utf8(&source.contents) else { return Vec::new() };
            let Some(line) = text.split('\n').nth(position.line as usize) else { return Vec::new() };
            let line = line.strip_suffix('\r').unwrap_or(line);
            let values = by_file.entry(source.path.as_str()).or_insert_with(|| {
                if !may_name_a_secret(text) {
                    return Vec::new();
                }
                crate::yaml::stream::parse_stream(text).map(|documents| secret_values(&documents)).unwrap_or_default()
            });
            let column = |byte: usize| u32::try_from(line[..byte].chars().count()).unwrap_or(u32::MAX);
            let mut spans: Vec<(u32, u32)> =
                spans(line).into_iter().map(|r| (column(r.start), column(r.end))).collect();
            let starts = values.iter().filter(|v| v.line == position.line).map(|v| v.column);
            let own = diagnostic.hides_value.then_some(position.column);
            for start in starts.chain(own) {
                spans.push((start, scalar_end(line, start)));
            }
            spans.sort_unstable();
            spans.dedup();
            spans
        })
        .collect()
}

/// Whether `text` could name a variable that [`credential`] calls secret by
/// its name, so that finding its secret values needs a parse. A name is a
/// string scalar, and without an escape (a `\\` in a double-quoted scalar)
/// each of its segments is written in the file as it reads, so a file that
/// holds none of the words (in any case) and no backslash names no secret.
fn may_name_a_secret(text: &str) -> bool {
    if text.contains('\\') {
        return true;
    }
    let upper = text.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|word| upper.contains(word))
        || SECRET_PAIRS.iter().any(|(a, b)| upper.contains(a) && upper.contains(b))
}

/// The byte ranges of `line` that hold a credential found by its value: a
/// URL's user information and tokens of known formats (a value under a
/// secret-named variable is not found here: its diagnostic says so).
pub fn spans(line: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    for (at, separator) in line.match_indices("://") {
        let start = at + separator.len();
        let rest = &line[start..];
        let authority_end = rest.find(['/', '?', '#', ' ', '"', '\'', ',', '}', ']']).unwrap_or(rest.len());
        if let Some(user_end) = rest[..authority_end].rfind('@').filter(|&end| end > 0) {
            found.push(start..start + user_end);
        }
    }
    if may_hold_token(line) {
        for (pattern, _) in TOKENS.iter() {
            found.extend(pattern.find_iter(line).filter(|m| !is_placeholder(m.as_str())).map(|m| m.range()));
        }
    }
    found
}

/// Where the values of `documents` that are secret by their name start: the
/// value of a variable named for a secret (`{name: DB_PASSWORD, value: …}`).
/// For masking lines a diagnostic quotes, whatever the diagnostic is about.
pub fn secret_values(documents: &[crate::yaml::node::Node]) -> Vec<crate::diagnostic::Position> {
    use crate::yaml::node::{Node, Value};
    fn text(node: &Node) -> Option<String> {
        match &node.value {
            Value::String(s) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::UInt(n) => Some(n.to_string()),
            Value::Float(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }
    fn walk(node: &Node, found: &mut Vec<crate::diagnostic::Position>) {
        match &node.value {
            Value::Map(entries) => {
                let named = entries.iter().find(|(k, _)| k.as_str() == Some("name")).and_then(|(_, v)| v.as_str());
                for (key, value) in entries {
                    let Some(scalar) = text(value) else {
                        walk(value, found);
                        continue;
                    };
                    // Only a variable's `value` is named by its `name`: other
                    // keys that sound secret (`secret: hub-token`) name a
                    // Secret rather than hold one. What a value itself shows
                    // (a URL's user information, a token) `spans` finds on
                    // the line, more narrowly.
                    if key.as_str() == Some("value") && credential(named, &scalar) == Some(Credential::SecretName) {
                        found.push(value.position);
                    }
                }
            }
            Value::Seq(items) => items.iter().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for document in documents {
        walk(document, &mut found);
    }
    found
}

/// The character column where the scalar that starts at `column` of `line`
/// ends: a quoted one at its closing quote; a plain one in a flow
/// collection at the next `,`, `}` or `]`; otherwise before a comment or
/// at the end of the line. Errs long rather than short: what it covers is masked.
pub fn scalar_end(line: &str, column: u32) -> u32 {
    let chars: Vec<char> = line.chars().collect();
    let start = (column as usize).min(chars.len());
    let count = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    if let Some(&quote @ ('"' | '\'')) = chars.get(start) {
        let mut i = start + 1;
        while i < chars.len() {
            match chars[i] {
                '\\' if quote == '"' => i += 1,
                '\'' if quote == '\'' && chars.get(i + 1) == Some(&'\'') => i += 1,
                c if c == quote => return count(i + 1),
                _ => {}
            }
            i += 1;
        }
        return count(chars.len());
    }
    let depth = chars[..start].iter().fold(0_i32, |d, c| match c {
        '{' | '[' => d + 1,
        '}' | ']' => d - 1,
        _ => d,
    });
    let end = (start..chars.len())
        .find(|&i| {
            (depth > 0 && matches!(chars[i], ',' | '}' | ']'))
                || (chars[i] == '#' && i > 0 && chars[i - 1].is_whitespace())
        })
        .unwrap_or(chars.len());
    // Trailing blanks before a comment or a comma are not the value's.
    let trimmed = (start..end).rev().find(|&i| !chars[i].is_whitespace()).map_or(start, |i| i + 1);
    count(trimmed.max(start + 1).min(chars.len()))
}

/// Documentation's stand-ins (`hf_xxxx…`) repeat a few characters; real tokens do not.
fn is_placeholder(token: &str) -> bool {
    token.chars().collect::<std::collections::BTreeSet<_>>().len() <= 6
}

/// A value that is only Kubernetes' `$(VAR)` expansion of another variable holds no secret itself.
fn is_reference(value: &str) -> bool {
    value.strip_prefix("$(").and_then(|rest| rest.strip_suffix(')')).is_some_and(|inner| {
        !inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    })
}

/// Whether some `scheme://…@host` in `value` has user information (a storage URI is refused for the same).
fn has_url_credentials(value: &str) -> bool {
    value.match_indices("://").any(|(at, separator)| {
        let rest = &value[at + separator.len()..];
        let authority_end = rest.find(['/', '?', '#', ' ', '"', '\'']).unwrap_or(rest.len());
        rest[..authority_end].find('@').is_some_and(|user_end| user_end > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_found_by_value_and_by_name() {
        let found = |name: Option<&str>, value: &str| credential(name, value).is_some();
        assert!(found(None, "https://admin:hunter2@models.example.com/x"));
        assert!(found(None, "--token=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"));
        assert!(found(None, "AKIAIOSFODNN7EXAMPLE"));
        assert!(found(None, "-----BEGIN RSA PRIVATE KEY-----\nMIIE"));
        assert!(found(Some("HF_TOKEN"), "abc"));
        assert!(found(Some("db-password"), "abc"));
        assert!(found(Some("AWS_SECRET_ACCESS_KEY"), "abc"));
        assert!(found(Some("OPENAI_API_KEY"), "abc"));
        assert!(!found(Some("HF_TOKEN"), ""), "empty holds nothing");
        assert!(!found(Some("HF_TOKEN"), "$(HF_TOKEN_FROM_SECRET)"), "an expansion holds nothing");
        assert!(!found(Some("TOKENIZER_PATH"), "/mnt/models/tokenizer"));
        assert!(!found(Some("MAX_TOKENS"), "512"));
        assert!(!found(Some("TOKEN_FILE"), "/var/run/secrets/token"));
        assert!(!found(Some("LOG_LEVEL"), "info"));
        assert!(!found(None, "https://models.example.com/x?user=a@b"));
        assert!(!found(None, "s3://bucket/key"));
        let token = format!("hf_{}", "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh");
        assert!(found(None, &format!("Bearer {token}")));
        assert!(found(None, &format!("s3://b/m?t={token}")));
        assert!(found(None, &format!("api_org_{}", "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh")));
        assert!(!found(None, &format!("hf_{}", "x".repeat(34))), "a placeholder");
        assert!(!found(None, &format!("my{token}")), "inside a word");
        assert!(!found(None, "hf://openai/gpt-oss-20b"));
    }

    #[test]
    fn the_reason_never_quotes_the_value() {
        let secret = "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH";
        for (name, value) in [(Some("HF_TOKEN"), secret), (None, secret), (Some("X"), "https://u:hunter2@h")] {
            let why = credential(name, value).expect("found").to_string();
            assert!(!why.contains(value) && !why.contains("hunter2"), "{why}");
        }
    }

    #[test]
    fn a_scalar_ends_where_its_notation_says() {
        let end = |line: &str, column: u32| scalar_end(line, column);
        assert_eq!(end("    value: hunter2", 11), 18, "plain, block: to the end of the line");
        assert_eq!(end("    value: hunter2  # the password", 11), 18, "not the comment");
        assert_eq!(end("    value: a,b", 11), 14, "a comma is the value's in block context");
        assert_eq!(end("  - {name: P, value: hunter2, bogus: 1}", 21), 28, "flow: up to the comma");
        assert_eq!(end("  - {name: P, value: hunter2}", 21), 28, "flow: up to the brace");
        assert_eq!(end(r#"    value: "a \" b", x"#, 11), 19, "double quotes with an escaped quote");
        assert_eq!(end("    value: 'it''s', x", 11), 18, "single quotes with a doubled quote");
        assert_eq!(end("    value: 'unclosed", 11), 20, "an unclosed quote runs to the end");
        assert_eq!(end("short", 99), 5, "past the end: clamped");
    }

    #[test]
    fn every_token_pattern_needs_one_of_the_literals_searched_first() {
        // A pattern's matches all hold its leading literal (up to its first
        // metacharacter): each one must be among those searched first.
        for (pattern, _) in TOKENS.iter() {
            let source = pattern.as_str().trim_start_matches("(?:");
            let literal: String =
                source.chars().take_while(|c| c.is_ascii_alphanumeric() || "-_ ".contains(*c)).collect();
            let alternatives: Vec<&str> = if source.starts_with("gh[pousr]_") {
                vec!["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]
            } else if source.starts_with("(?:AKIA|ASIA)") || pattern.as_str().starts_with("(?:AKIA|ASIA)") {
                vec!["AKIA", "ASIA"]
            } else {
                vec![literal.as_str()]
            };
            for literal in alternatives {
                assert!(literal.len() >= 3, "{pattern}: `{literal}`");
                assert!(may_hold_token(literal), "{pattern}: `{literal}` is not searched first");
            }
        }
        assert!(!may_hold_token("ghcr.io/acme/model:v1 s3://models/a"));
    }

    #[test]
    fn the_literal_search_finds_what_substring_search_finds() {
        // Every string of up to four pieces, including pieces of literals, overlaps and multi-byte text.
        let pieces =
            ["", "h", "hf", "f_", "hf_", "-----BEGIN", " ", "AK", "IA", "ASI", "é", "sk", "-", "xo", "x", "ghp_", "gh"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in ["", "A", "_", "k-"] {
                        let text = format!("{a}{b}{c}{d}");
                        let expected = TOKEN_LITERALS.iter().any(|literal| text.contains(literal));
                        assert_eq!(may_hold_token(&text), expected, "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn only_a_file_that_could_name_a_secret_is_parsed_again() {
        for text in ["- {name: db_password, value: p}", "name: MY_API_KEY", "name: \"DB_P\\x41SSWORD\"", "Secret"] {
            assert!(may_name_a_secret(text), "{text}");
        }
        assert!(!may_name_a_secret("env:\n  - {name: LOG_LEVEL, value: info}\n"));
        // The escape spells a secret name the words do not find: still parsed, still found.
        let text = "env:\n  - {name: \"DB_PASS\\x57ORD\", value: p1}\n";
        let diagnostic = crate::diagnostic::Diagnostic::warning("w")
            .in_file("a.yaml")
            .at(Some(crate::diagnostic::Position { line: 1, column: 0 }));
        let columns = secret_columns(&[diagnostic], &[crate::source::SourceFile::new("a.yaml", text)]);
        assert_eq!(columns, [vec![(36, 38)]], "the value `p1`");
    }

    #[test]
    fn values_secret_by_their_name_are_found_wherever_they_are() {
        let text = "env:\n  - {name: DB_PASSWORD, value: p1}\n  - name: LOG_LEVEL\n    value: info\n  - name: HF_TOKEN\n    value: abc\nenvFrom:\n  - {secret: hub-token}\n";
        let documents = crate::yaml::stream::parse_stream(text).expect("YAML");
        let found: Vec<(u32, u32)> = secret_values(&documents).iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(found, [(1, 31), (5, 11)], "the password and the token; not the level, not a Secret's name");
    }
}
