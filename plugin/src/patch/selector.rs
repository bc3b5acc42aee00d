//! Kubernetes label selectors in their string form (`app=x,tier in (a,b),!legacy`), as patch targets use them.

use std::collections::BTreeMap;

/// One requirement of a selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    /// `key`, `key=value` or `key in (a,b)`: the key exists (with one of the values, when given).
    In(String, Vec<String>),
    /// `!key`, `key!=value` or `key notin (a,b)`: the key is absent (or has none of the values).
    NotIn(String, Vec<String>),
}

/// A parsed selector: every requirement must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

impl Selector {
    /// Parses the string form; the error says what is wrong, quoting the bad part.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(requirement(part)?);
        }
        Ok(Self(requirements))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::In(key, values) => {
                labels.get(key).is_some_and(|v| values.is_empty() || values.iter().any(|x| x == v))
            }
            Requirement::NotIn(key, values) => {
                labels.get(key).is_none_or(|v| !values.is_empty() && !values.iter().any(|x| x == v))
            }
        })
    }
}

/// Splits on commas outside parentheses (`a in (x,y),b` is two requirements).
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Parses one requirement (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`).
fn requirement(part: &str) -> Result<Requirement, String> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::NotIn(key_of(key.trim())?, Vec::new()));
    }
    if let Some((key, value)) = part.split_once("!=") {
        return Ok(Requirement::NotIn(key_of(key.trim())?, vec![value_of(value.trim())?]));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::In(key_of(key.trim())?, vec![value_of(value.trim())?]));
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    match words.as_slice() {
        [key] => Ok(Requirement::In(key_of(key)?, Vec::new())),
        [key, rest] => {
            let rest = rest.trim_start();
            let (negated, list) = if let Some(list) = rest.strip_prefix("notin") {
                (true, list)
            } else if let Some(list) = rest.strip_prefix("in") {
                (false, list)
            } else {
                return Err(format!("`{part}` is not a requirement (expected `=`, `!=`, `in` or `notin`)"));
            };
            let list = list.trim();
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| format!("`{part}`: the values must be in parentheses, as in `(a,b)`"))?;
            let values = inner.split(',').map(|v| value_of(v.trim())).collect::<Result<Vec<_>, _>>()?;
            let key = key_of(key)?;
            Ok(if negated { Requirement::NotIn(key, values) } else { Requirement::In(key, values) })
        }
        _ => Err(format!("`{part}` is not a requirement")),
    }
}

/// A label key, or why it is not one.
fn key_of(key: &str) -> Result<String, String> {
    let valid = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && key.matches('/').count() <= 1;
    if valid { Ok(key.to_owned()) } else { Err(format!("`{key}` is not a valid label key")) }
}

/// A label value, or why it is not one.
fn value_of(value: &str) -> Result<String, String> {
    let valid = value.len() <= 63 && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid { Ok(value.to_owned()) } else { Err(format!("`{value}` is not a valid label value")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn every_operator_matches_as_in_kubernetes() {
        let object = labels(&[("app", "fraud"), ("tier", "gold")]);
        let cases = [
            ("app=fraud", true),
            ("app==fraud", true),
            ("app!=fraud", false),
            ("app!=other", true),
            ("missing!=x", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("tier in (gold, silver)", true),
            ("tier notin (gold,silver)", false),
            ("missing notin (a)", true),
            ("missing in (a)", false),
            ("app=fraud,tier in (silver)", false),
            ("app=fraud, tier in (gold,silver), !legacy", true),
            ("", true),
        ];
        for (text, expected) in cases {
            let selector = Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(selector.matches(&object), expected, "{text}");
        }
    }

    #[test]
    fn malformed_selectors_are_errors() {
        for text in ["app in gold", "app ~ x", "a b c", "app=fr aud", "=x"] {
            assert!(Selector::parse(text).is_err(), "{text}");
        }
    }
}
