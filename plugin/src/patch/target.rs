//! Which rendered objects a patch applies to, selected as kustomize selects them.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value as Json;

use super::selector::Selector;
use crate::model::project::PatchTarget;

/// A compiled patch target.
pub struct Target {
    /// The API group, compared exactly.
    group: Option<String>,
    /// The API version, compared exactly.
    version: Option<String>,
    /// The kind, compared exactly.
    kind: Option<String>,
    /// The name, matched whole.
    name: Option<Regex>,
    /// The namespace, matched whole.
    namespace: Option<Regex>,
    /// What the labels must satisfy.
    labels: Option<Selector>,
    /// What the annotations must satisfy.
    annotations: Option<Selector>,
}

impl Target {
    /// Compiles a project's `target`; an error names the field (`name`,
    /// `labelSelector`, ...) and says what is wrong with it.
    pub fn compile(target: &PatchTarget) -> Result<Self, (&'static str, String)> {
        let regex = |field: &'static str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| {
                    Regex::new(&format!("^(?:{v})$")).map_err(|e| {
                        (field, format!("`{v}` is not a valid regular expression: {}", gist(&e.to_string())))
                    })
                })
                .transpose()
        };
        let selector = |field: &'static str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| Selector::parse(v).map_err(|e| (field, format!("invalid selector: {e}"))))
                .transpose()
        };
        Ok(Target {
            group: target.group.clone(),
            version: target.version.clone(),
            kind: target.kind.clone(),
            name: regex("name", &target.name)?,
            namespace: regex("namespace", &target.namespace)?,
            labels: selector("labelSelector", &target.label_selector)?,
            annotations: selector("annotationSelector", &target.annotation_selector)?,
        })
    }

    /// The target a strategic-merge patch names by itself.
    pub fn of_patch(patch: &Json) -> Option<Self> {
        let api_version = patch.get("apiVersion")?.as_str()?;
        let kind = patch.get("kind")?.as_str()?;
        let name = patch.get("metadata")?.get("name")?.as_str()?;
        let (group, version) = split_api_version(api_version);
        let namespace = patch["metadata"].get("namespace").and_then(Json::as_str);
        Some(Self {
            group: Some(group.to_owned()),
            version: Some(version.to_owned()),
            kind: Some(kind.to_owned()),
            name: Regex::new(&format!("^{}$", regex::escape(name))).ok(),
            // kustomize compares the patch's namespace exactly, an absent one
            // being `default` (as on the objects).
            namespace: Regex::new(&match namespace.filter(|n| *n != "default") {
                Some(n) => format!("^{}$", regex::escape(n)),
                None => "^(?:|default)$".to_owned(),
            })
            .ok(),
            labels: None,
            annotations: None,
        })
    }

    /// Whether `object` satisfies every part of the target.
    pub fn matches(&self, object: &Json) -> bool {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = split_api_version(api_version);
        let metadata = &object["metadata"];
        let text = |field: &str| metadata.get(field).and_then(Json::as_str).unwrap_or_default();
        let map = |field: &str| -> BTreeMap<String, String> {
            metadata
                .get(field)
                .and_then(Json::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default()
        };
        self.group.as_deref().is_none_or(|g| g == group)
            && self.version.as_deref().is_none_or(|v| v == version)
            && self.kind.as_deref().is_none_or(|k| Some(k) == object["kind"].as_str())
            && self.name.as_ref().is_none_or(|r| r.is_match(text("name")))
            && self.namespace.as_ref().is_none_or(|r| r.is_match(text("namespace")))
            && self.labels.as_ref().is_none_or(|s| s.matches(&map("labels")))
            && self.annotations.as_ref().is_none_or(|s| s.matches(&map("annotations")))
    }
}

/// `group/version` → (group, version); the core group is empty.
fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The gist of a multi-line `regex` error: its last line, without the `error:` prefix.
fn gist(text: &str) -> &str {
    let last = text.lines().last().unwrap_or(text).trim();
    last.strip_prefix("error:").map_or(last, str::trim)
}
