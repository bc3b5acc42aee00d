//! The APIs the destination cluster serves (`KUBE_API_VERSIONS`), and the rendered objects it could not take.
//!
//! Argo CD passes a sorted, comma-joined list holding both `group/version`
//! and `group/version/Kind` entries (core kinds as `v1/ConfigMap`). A
//! rendered object needs its exact kind; when the list has no kind entries
//! at all (older Argo CD releases), its `group/version` has to do.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diagnostic::Manifest;

/// What the destination cluster serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiVersions {
    entries: BTreeSet<String>,
    has_kinds: bool,
}

impl ApiVersions {
    /// Parses `KUBE_API_VERSIONS`.
    pub fn parse(text: &str) -> Self {
        let entries: BTreeSet<String> =
            text.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect();
        // Versions are lower case (`v1beta1`); kinds start with a capital.
        let has_kinds = entries
            .iter()
            .any(|e| e.rsplit('/').next().and_then(|last| last.chars().next()).is_some_and(char::is_uppercase));
        Self { entries, has_kinds }
    }

    /// Whether an object of `api_version` and `kind` can be applied.
    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        if self.has_kinds {
            self.entries.contains(&format!("{api_version}/{kind}"))
        } else {
            self.entries.contains(api_version)
        }
    }

    /// The `group/version`s served for `group` (`""` is the core group, whose versions have no group).
    fn versions_of(&self, group: &str) -> BTreeSet<String> {
        self.entries
            .iter()
            .filter_map(|entry| {
                let mut parts = entry.split('/');
                let first = parts.next()?;
                if group.is_empty() {
                    let core =
                        first.strip_prefix('v').is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
                    core.then(|| first.to_owned())
                } else {
                    let version = parts.next()?;
                    (first == group).then(|| format!("{first}/{version}"))
                }
            })
            .collect()
    }

    /// Why `api_version`/`kind` is not served, as a hint on what to do.
    pub fn hint(&self, api_version: &str, kind: &str) -> String {
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        let served = self.versions_of(group);
        if served.contains(api_version) {
            format!(
                "the cluster serves `{api_version}`, but not the kind `{kind}`: install or upgrade the CRD that defines it"
            )
        } else if served.is_empty() {
            format!(
                "the cluster serves no `{}` API at all: install the CRDs (and the controller) that provide `{kind}`",
                if group.is_empty() { "core" } else { group }
            )
        } else {
            let list: Vec<String> = served.iter().map(|s| format!("`{s}`")).collect();
            format!(
                "the cluster serves only {} of that group: upgrade the software that provides `{kind}`",
                list.join(", ")
            )
        }
    }
}

/// One API the cluster lacks and the model that needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// `group/version/Kind`.
    pub api: String,
    /// The model (from the object's `app.kubernetes.io/name` label, else its name).
    pub model: String,
    /// The spec file the objects came from.
    pub file: String,
    /// Why, and what to do.
    pub hint: String,
}

/// The APIs among `manifests` that `apis` lacks, one entry per API and model.
pub fn missing(manifests: &[Manifest], apis: &ApiVersions) -> Vec<Missing> {
    let mut found: BTreeMap<(String, String, String), String> = BTreeMap::new();
    // One hint per API, however many models need it.
    let mut hints: BTreeMap<(String, String), String> = BTreeMap::new();
    for manifest in manifests {
        // The output was already checked to be YAML objects against their CRDs.
        let Ok(object) = serde_saphyr::from_str::<Value>(&manifest.yaml) else { continue };
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        if apis.serves(api_version, kind) {
            continue;
        }
        let metadata = &object["metadata"];
        let model = metadata["labels"]["app.kubernetes.io/name"]
            .as_str()
            .or_else(|| metadata["name"].as_str())
            .unwrap_or_default()
            .to_owned();
        let hint = hints
            .entry((api_version.to_owned(), kind.to_owned()))
            .or_insert_with(|| apis.hint(api_version, kind))
            .clone();
        found.entry((manifest.source.clone(), model, format!("{api_version}/{kind}"))).or_insert(hint);
    }
    found.into_iter().map(|((file, model, api), hint)| Missing { api, model, file, hint }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "apps/v1,apps/v1/Deployment,machinelearning.seldon.io/v1,machinelearning.seldon.io/v1/SeldonDeployment,\
                        serving.kserve.io/v1alpha1,serving.kserve.io/v1alpha1/ServingRuntime,v1,v1/ConfigMap";

    #[test]
    fn kinds_are_checked_exactly_when_the_list_has_them() {
        let apis = ApiVersions::parse(LIST);
        assert!(apis.serves("machinelearning.seldon.io/v1", "SeldonDeployment"));
        assert!(apis.serves("v1", "ConfigMap"));
        assert!(!apis.serves("v1", "Secret"));
        assert!(!apis.serves("serving.kserve.io/v1beta1", "InferenceService"));
        assert!(!apis.serves("serving.kserve.io/v1alpha1", "InferenceService"));
        let old = ApiVersions::parse("machinelearning.seldon.io/v1,v1");
        assert!(old.serves("machinelearning.seldon.io/v1", "SeldonDeployment"));
        assert!(!old.serves("serving.kserve.io/v1beta1", "InferenceService"));
    }

    #[test]
    fn hints_say_whether_the_group_is_absent_too_old_or_lacks_the_kind() {
        let apis = ApiVersions::parse(LIST);
        assert_eq!(
            apis.hint("serving.kserve.io/v1beta1", "InferenceService"),
            "the cluster serves only `serving.kserve.io/v1alpha1` of that group: upgrade the software that provides `InferenceService`"
        );
        assert!(
            apis.hint("mlops.seldon.io/v1alpha1", "Model").starts_with("the cluster serves no `mlops.seldon.io` API")
        );
        assert!(
            apis.hint("serving.kserve.io/v1alpha1", "InferenceService").contains("not the kind `InferenceService`")
        );
        assert!(apis.hint("v1", "Secret").contains("not the kind `Secret`"));
    }

    #[test]
    fn missing_apis_are_grouped_by_model() {
        let object = |kind: &str, name: &str, model: &str| Manifest {
            yaml: format!(
                "apiVersion: serving.kserve.io/v1beta1\nkind: {kind}\nmetadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/name: {model}\n"
            ),
            source: "m.yaml".into(),
        };
        let manifests = [
            object("InferenceService", "a", "a"),
            object("InferenceService", "a-canary", "a"),
            object("InferenceService", "b", "b"),
        ];
        let missing = missing(&manifests, &ApiVersions::parse(LIST));
        assert_eq!(missing.len(), 2);
        assert_eq!(
            (missing[0].model.as_str(), missing[0].api.as_str()),
            ("a", "serving.kserve.io/v1beta1/InferenceService")
        );
        assert_eq!(missing[1].model, "b");
    }
}
