//! Istio: the API version modelgen's `VirtualService` uses.

use super::rule::{Component, Rule};

/// Istio's rules.
pub const RULES: &[Rule] = &[Rule {
    id: "istio-v1-api",
    component: Component::Istio,
    cluster: "`networking.istio.io/v1` (the `VirtualService` modelgen renders for `router: istio`) is served from Istio 1.22; older releases serve only `v1beta1` and `v1alpha3`, and the apply fails.",
    modelgen: "Renders `networking.istio.io/v1`. Under Argo CD, a destination whose `KUBE_API_VERSIONS` lacks it fails the render, naming Istio 1.22.",
    source: "https://istio.io/latest/blog/2024/v1-apis/ (Istio 1.22 release)",
    case: "tests/cases/kserve-split-istio-shadow",
}];
