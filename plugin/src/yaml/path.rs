//! Field paths: where a value sits inside a document (`spec.tolerations[0].key`).

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path from a document's root to one of its values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// Parses the dotted form used in code (`spec.canary.trafficPercent`,
    /// `spec.tolerations[0]`). Keys with dots cannot be written this way;
    /// build those with [`FieldPath::key`].
    pub fn parse(dotted: &str) -> Self {
        let mut segments = Vec::new();
        for part in dotted.split('.').filter(|p| !p.is_empty()) {
            let (key, rest) = part.split_once('[').unwrap_or((part, ""));
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_owned()));
            }
            for index in rest.split('[') {
                if let Ok(i) = index.trim_end_matches(']').parse() {
                    segments.push(Segment::Index(i));
                }
            }
        }
        Self(segments)
    }

    /// This path extended by a mapping key.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Key(key.into()));
        next
    }

    /// This path extended by a list index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                // Keys that are not plain identifiers (label keys such as
                // `app.kubernetes.io/name`) are bracketed, as in JSONPath.
                Segment::Key(k)
                    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => write!(f, "[{k:?}]")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_round_trip() {
        for dotted in ["spec.canary.trafficPercent", "spec.tolerations[0].key", "a[1][2]"] {
            assert_eq!(FieldPath::parse(dotted).to_string(), dotted);
        }
    }

    #[test]
    fn keys_may_contain_dots_when_built() {
        let path = FieldPath::parse("metadata.labels").key("app.kubernetes.io/name");
        assert_eq!(path.0.len(), 3);
        assert_eq!(path.to_string(), r#"metadata.labels["app.kubernetes.io/name"]"#);
    }
}
