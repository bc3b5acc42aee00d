//! The spec kinds a plugin handles (its `info().kinds`): which files of an application, and which items of a package, are its specs.
//!
//! The host knows no spec kind of its own: a file is passed to the plugin
//! when it mentions the API group of one of the plugin's kinds (the group
//! with its `/`, as an `apiVersion` writes it), so that other YAML in the
//! directory is not read; a kind without a group is looked for by its name.

use serde_json::Value;

/// The kinds a plugin handles, and the texts that mark a file as a spec file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kinds {
    /// Each kind's API group (empty for the core group) and name.
    kinds: Vec<(String, String)>,
    /// What a spec file contains, one of these at least.
    markers: Vec<String>,
}

impl Kinds {
    /// The kinds `info().kinds` lists, as `apiVersion/kind` (for example
    /// `modelgen.dev/v1alpha1/ModelDeployment`); entries without a `/` name
    /// no kind and are ignored.
    #[must_use]
    pub fn new(kinds: &[String]) -> Self {
        let mut out = Self::default();
        for entry in kinds {
            let Some((api_version, kind)) = entry.rsplit_once('/').filter(|(a, k)| !a.is_empty() && !k.is_empty())
            else {
                continue;
            };
            let group = group(api_version).to_owned();
            let marker = if group.is_empty() { kind.to_owned() } else { format!("{group}/") };
            if !out.markers.contains(&marker) {
                out.markers.push(marker);
            }
            out.kinds.push((group, kind.to_owned()));
        }
        out
    }

    /// Whether `bytes` mention a marker.
    #[must_use]
    pub fn marks(&self, bytes: &[u8]) -> bool {
        self.markers.iter().any(|m| bytes.windows(m.len()).any(|w| w == m.as_bytes()))
    }

    /// The length of the longest marker, in bytes (what a scan in chunks
    /// must keep of one chunk for the next).
    #[must_use]
    pub fn longest_marker(&self) -> usize {
        self.markers.iter().map(String::len).max().unwrap_or(0)
    }

    /// Whether `document` is a spec: one of the kinds, in any version of its group.
    #[must_use]
    pub fn is_spec(&self, document: &Value) -> bool {
        let (Some(api_version), Some(kind)) = (document["apiVersion"].as_str(), document["kind"].as_str()) else {
            return false;
        };
        self.kinds.iter().any(|(g, k)| k == kind && g == group(api_version))
    }

    /// Whether `document` belongs to the API group of one of the kinds (a
    /// spec, or a document of the plugin's own, such as a project file).
    #[must_use]
    pub fn is_own(&self, document: &Value) -> bool {
        let Some(api_version) = document["apiVersion"].as_str() else { return false };
        let group = group(api_version);
        !group.is_empty() && self.kinds.iter().any(|(g, _)| g == group)
    }

    /// The kinds' names for messages: `` `A` `` or `` `A` or `B` ``.
    #[must_use]
    pub fn names(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for (_, kind) in &self.kinds {
            let quoted = format!("`{kind}`");
            if !names.contains(&quoted) {
                names.push(quoted);
            }
        }
        if names.is_empty() { "a spec".to_owned() } else { names.join(" or ") }
    }
}

/// The group of an `apiVersion`: what comes before its `/`, or nothing (the core group).
fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn files_are_marked_by_the_group_of_the_kinds() {
        let kinds = Kinds::new(&["example.com/v1/Widget".into(), "example.com/v2/Gadget".into(), "v1/Plain".into()]);
        assert!(kinds.marks(b"apiVersion: example.com/v1\n"));
        assert!(kinds.marks(b"kind: Plain\n"));
        assert!(!kinds.marks(b"apiVersion: example.org/v1\nkind: Other\n"));
        assert_eq!(kinds.longest_marker(), "example.com/".len());
        assert!(kinds.is_spec(&json!({"apiVersion": "example.com/v9", "kind": "Widget"})));
        assert!(!kinds.is_spec(&json!({"apiVersion": "example.org/v1", "kind": "Widget"})));
        assert!(kinds.is_spec(&json!({"apiVersion": "v1", "kind": "Plain"})));
        assert!(kinds.is_own(&json!({"apiVersion": "example.com/v1", "kind": "Project"})));
        assert!(!kinds.is_own(&json!({"apiVersion": "v1", "kind": "ConfigMap"})));
        assert_eq!(kinds.names(), "`Widget` or `Gadget` or `Plain`");
        let none = Kinds::new(&["nothing".into(), "/x".into()]);
        assert!(!none.marks(b"anything at all"));
        assert_eq!(none.names(), "a spec");
    }
}
