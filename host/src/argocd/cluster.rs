//! The APIs the destination cluster serves (`KUBE_API_VERSIONS`), and the rendered objects it could not take.
//!
//! Argo CD passes a sorted, comma-joined list holding both `group/version`
//! and `group/version/Kind` entries (core kinds as `v1/ConfigMap`). A
//! rendered object needs its exact kind; when the list has no kind entries
//! at all (older Argo CD releases), its `group/version` has to do. The list
//! also dates some CRD releases: which kinds a Gateway API release serves
//! tells whether its `HTTPRoute` keeps `RequestMirror.percent` (the plugin's
//! rule `gateway-mirror-percent`).

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

    /// Why the cluster's Gateway API CRDs prune `RequestMirror.percent`, when
    /// the kinds they serve prove a release older than v1.3 (standard) or
    /// v1.2 (experimental): `GRPCRoute` is `v1` from v1.1, and served as
    /// `v1alpha2` too only by the v1.1 experimental channel
    /// (kubernetes-sigs/gateway-api, `config/crd/` of each tag). `None` when
    /// the list cannot tell (no kinds, no Gateway API, or v1.1 to v1.3 standard).
    pub fn prunes_mirror_percent(&self) -> Option<&'static str> {
        const GROUP: &str = "gateway.networking.k8s.io";
        if !self.has_kinds || !self.serves(&format!("{GROUP}/v1"), "HTTPRoute") {
            return None;
        }
        if !self.serves(&format!("{GROUP}/v1"), "GRPCRoute") {
            Some(
                "the cluster's Gateway API CRDs predate v1.1 (they serve no `gateway.networking.k8s.io/v1` `GRPCRoute`)",
            )
        } else if self.serves(&format!("{GROUP}/v1alpha2"), "GRPCRoute") {
            Some(
                "the cluster runs the experimental channel of Gateway API v1.1 (it still serves `GRPCRoute` `v1alpha2`)",
            )
        } else {
            None
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
            let upgrade = if api_version == "networking.istio.io/v1" {
                // Istio 1.22 release, https://istio.io/latest/blog/2024/v1-apis/ (the plugin's rule `istio-v1-api`).
                "upgrade Istio to 1.22 or later, the first release that serves `networking.istio.io/v1`".to_owned()
            } else {
                format!("upgrade the software that provides `{kind}`")
            };
            format!("the cluster serves only {} of that group: {upgrade}", list.join(", "))
        }
    }
}

/// One API the cluster lacks (or has in a form that drops what the render needs) and the model that needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// `group/version/Kind`.
    pub api: String,
    /// What the cluster does wrong with it, when it serves the API but would
    /// prune part of the object; `None` when it does not serve it at all.
    pub problem: Option<String>,
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
        let model = model_of(&object);
        let hint = hints
            .entry((api_version.to_owned(), kind.to_owned()))
            .or_insert_with(|| apis.hint(api_version, kind))
            .clone();
        found.entry((manifest.source.clone(), model, format!("{api_version}/{kind}"))).or_insert(hint);
    }
    let mut missing: Vec<Missing> =
        found.into_iter().map(|((file, model, api), hint)| Missing { api, problem: None, model, file, hint }).collect();
    missing.extend(pruned(manifests, apis));
    missing
}

/// The model an object belongs to: its `app.kubernetes.io/name` label, else its name.
fn model_of(object: &Value) -> String {
    let metadata = &object["metadata"];
    metadata["labels"]["app.kubernetes.io/name"]
        .as_str()
        .or_else(|| metadata["name"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Rendered `HTTPRoute`s whose `RequestMirror.percent` the cluster's CRDs would prune.
fn pruned(manifests: &[Manifest], apis: &ApiVersions) -> Vec<Missing> {
    let Some(why) = apis.prunes_mirror_percent() else { return Vec::new() };
    let mut found = Vec::new();
    for manifest in manifests {
        let Ok(object) = serde_saphyr::from_str::<Value>(&manifest.yaml) else { continue };
        if object["kind"] != "HTTPRoute"
            || !object["apiVersion"].as_str().is_some_and(|v| v.starts_with("gateway.networking.k8s.io/"))
        {
            continue;
        }
        let rules = object["spec"]["rules"].as_array().into_iter().flatten();
        let percent = rules
            .flat_map(|r| r["filters"].as_array().into_iter().flatten())
            .any(|f| !f["requestMirror"]["percent"].is_null());
        if percent {
            found.push(Missing {
                api: format!("{}/HTTPRoute", object["apiVersion"].as_str().unwrap_or_default()),
                problem: Some(format!(
                    "prunes `requestMirror.percent` from the HTTPRoute `{}`: {why}, and `percent` is in the standard channel from v1.3 (experimental from v1.2), so every request would be mirrored",
                    object["metadata"]["name"].as_str().unwrap_or_default()
                )),
                model: model_of(&object),
                file: manifest.source.clone(),
                hint: "upgrade the Gateway API CRDs to v1.3 or later, or mirror 100 % (remove `spec.shadow.percent`)".to_owned(),
            });
        }
    }
    found
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

    /// `KUBE_API_VERSIONS` of a cluster with the standard channel of a Gateway API release.
    fn gateway(kinds: &[&str]) -> ApiVersions {
        let mut entries = vec!["gateway.networking.k8s.io/v1".to_owned()];
        entries.extend(kinds.iter().map(|k| format!("gateway.networking.k8s.io/{k}")));
        ApiVersions::parse(&entries.join(","))
    }

    #[test]
    fn gateway_api_releases_that_prune_the_mirror_percent_are_told_by_their_kinds() {
        let v1_0 = gateway(&["v1/Gateway", "v1/GatewayClass", "v1/HTTPRoute", "v1beta1/ReferenceGrant"]);
        assert!(v1_0.prunes_mirror_percent().is_some_and(|w| w.contains("predate v1.1")));
        let v1_1_experimental =
            gateway(&["v1/HTTPRoute", "v1/GRPCRoute", "v1alpha2/GRPCRoute", "v1alpha3/BackendTLSPolicy"]);
        assert!(v1_1_experimental.prunes_mirror_percent().is_some());
        // v1.1 to v1.3 standard serve the same kinds: the plugin warns instead.
        assert_eq!(gateway(&["v1/HTTPRoute", "v1/GRPCRoute"]).prunes_mirror_percent(), None);
        assert_eq!(gateway(&["v1/HTTPRoute", "v1/GRPCRoute", "v1/BackendTLSPolicy"]).prunes_mirror_percent(), None);
        assert_eq!(
            ApiVersions::parse("gateway.networking.k8s.io/v1").prunes_mirror_percent(),
            None,
            "no kinds: unknown"
        );
        let route = |percent: &str| Manifest {
            yaml: format!(
                "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r-traffic\n  labels:\n    app.kubernetes.io/name: r\nspec:\n  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: r-shadow-predictor, port: 80}}\n{percent}"
            ),
            source: "r.yaml".into(),
        };
        let missing = missing(&[route("        percent: 10\n")], &v1_0);
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].problem.as_deref().is_some_and(|p| p.contains("prunes `requestMirror.percent`")),
            "{missing:?}"
        );
        assert_eq!(super::missing(&[route("")], &v1_0), [], "a 100 % mirror has no `percent`");
    }

    #[test]
    fn an_istio_older_than_1_22_is_named() {
        let apis = ApiVersions::parse("networking.istio.io/v1beta1,networking.istio.io/v1beta1/VirtualService");
        assert!(apis.hint("networking.istio.io/v1", "VirtualService").contains("Istio to 1.22"));
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
