//! Gateway API v1.6.1: what modelgen's `HTTPRoute` needs from the CRDs and from the implementation behind the Gateway.
//!
//! What an implementation supports comes from its conformance report in
//! `kubernetes-sigs/gateway-api` (`conformance/reports/`), and, for
//! `ExternalName` Services, which conformance does not test, from the
//! implementation's own issue tracker.

use super::rule::{Component, Rule};
use crate::model::spec::GatewayImplementation;

/// Whether an implementation does something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Yes, with the evidence.
    Yes(&'static str),
    /// No, with the evidence.
    No(&'static str),
    /// Nobody has shown either.
    Unknown,
}

/// What one implementation does with the features modelgen's routes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Implementation {
    /// The implementation, as `cluster.gatewayImplementation` names it.
    pub id: GatewayImplementation,
    /// The conformance report the extended features come from.
    pub report: &'static str,
    /// `HTTPRouteBackendRequestHeaderModification`: a `RequestHeaderModifier` on one backend.
    pub backend_header: bool,
    /// `HTTPRouteRequestMirror`.
    pub mirror: bool,
    /// `HTTPRouteRequestPercentageMirror`: `RequestMirror.percent`.
    pub percentage_mirror: bool,
    /// A `Service` of type `ExternalName` as a backend (implementation-specific).
    pub external_name: Support,
}

/// Where Gateway API keeps the conformance reports.
const REPORTS: &str = "kubernetes-sigs/gateway-api@v1.6.1:conformance/reports/";

/// The implementations modelgen knows, from their latest conformance report in Gateway API v1.6.1.
pub const IMPLEMENTATIONS: &[Implementation] = &[
    Implementation {
        id: GatewayImplementation::Istio,
        report: "v1.4.0/istio-istio/1.28.0-default-report.yaml",
        backend_header: true,
        mirror: true,
        percentage_mirror: true,
        external_name: Support::Yes("istio/istio#37331: a DNS cluster per port"),
    },
    Implementation {
        id: GatewayImplementation::EnvoyGateway,
        report: "v1.4.0/envoy-gateway/experimental-v1.6.0-default-report.yaml",
        backend_header: true,
        mirror: true,
        percentage_mirror: true,
        external_name: Support::No("envoyproxy/gateway#5817: not planned, use its `Backend` resource"),
    },
    Implementation {
        id: GatewayImplementation::Cilium,
        report: "v1.4.0/cilium/experimental-v1.19.0-pre.2-default-report.yaml",
        backend_header: true,
        mirror: true,
        percentage_mirror: true,
        external_name: Support::No("cilium/cilium#24495: \"no healthy upstream\""),
    },
    Implementation {
        id: GatewayImplementation::Kgateway,
        report: "v1.4.0/kgateway/v2.1.0-report.yaml",
        backend_header: true,
        mirror: true,
        percentage_mirror: false,
        external_name: Support::Unknown,
    },
    Implementation {
        id: GatewayImplementation::NginxGatewayFabric,
        report: "v1.4.0/nginx-nginx-gateway-fabric/experimental-2.3.0-default-report.yaml",
        backend_header: false,
        mirror: true,
        percentage_mirror: true,
        external_name: Support::No("nginx/nginx-gateway-fabric#243: 502"),
    },
    Implementation {
        id: GatewayImplementation::Traefik,
        report: "v1.4.0/traefik-traefik/experimental-v3.6.0-default-report.yaml",
        backend_header: false,
        mirror: false,
        percentage_mirror: false,
        external_name: Support::No("traefik/traefik#12950: \"type ExternalName is not supported\""),
    },
    Implementation {
        id: GatewayImplementation::Contour,
        report: "v1.3.0/projectcontour-contour/experimental-v1.33.0-default-report.yaml",
        backend_header: true,
        mirror: true,
        percentage_mirror: false,
        external_name: Support::Unknown,
    },
    Implementation {
        id: GatewayImplementation::GkeGateway,
        report: "v1.4.0/gke-gateway/standard-1.34.4-rxlb-report.yaml",
        backend_header: false,
        mirror: true,
        percentage_mirror: true,
        external_name: Support::Unknown,
    },
    Implementation {
        id: GatewayImplementation::Agentgateway,
        report: "v1.4.0/agentgateway-agentgateway/v2.2.0-report.yaml",
        backend_header: true,
        mirror: true,
        percentage_mirror: true,
        external_name: Support::No("agentgateway/agentgateway#1177, open"),
    },
];

/// What modelgen knows about `id` (`None` for `other`).
pub fn implementation(id: GatewayImplementation) -> Option<&'static Implementation> {
    IMPLEMENTATIONS.iter().find(|i| i.id == id)
}

impl Implementation {
    /// Where the extended features come from.
    pub fn report_source(&self) -> String {
        format!("{REPORTS}{}", self.report)
    }

    /// Why a Knative split route cannot work through this implementation
    /// (`Ok(false)`: nobody knows whether it can).
    pub fn knative_backends(&self) -> Result<bool, String> {
        if !self.backend_header {
            return Err(format!(
                "`{}` does not support a `RequestHeaderModifier` on a backend (`HTTPRouteBackendRequestHeaderModification` is unsupported in {})",
                self.id.as_str(),
                self.report_source()
            ));
        }
        match self.external_name {
            Support::No(evidence) => {
                Err(format!("`{}` does not route to `ExternalName` Services ({evidence})", self.id.as_str()))
            }
            Support::Yes(_) => Ok(true),
            Support::Unknown => Ok(false),
        }
    }
}

/// The release in which `RequestMirror.percent` entered the standard channel (experimental: v1.2.0).
pub const MIRROR_PERCENT_SINCE: (u32, u32) = (1, 3);

/// A Gateway API release as written in `cluster.gatewayApiVersion`: `v1.3.0`, `v1.3` or `1.3`.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let digits = text.strip_prefix('v').unwrap_or(text);
    let mut parts = digits.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    match (parts.next(), parts.next()) {
        (None, None) => Some((major, minor)),
        (Some(patch), None) if patch.parse::<u32>().is_ok() => Some((major, minor)),
        _ => None,
    }
}

/// Gateway API's rules.
pub const RULES: &[Rule] = &[
    Rule {
        id: "gateway-knative-backends",
        component: Component::GatewayApi,
        cluster: "Reaching a Knative predictor through an `HTTPRoute` needs an `ExternalName` Service as backend (implementation-specific; the spec says implementations SHOULD NOT support it) and a backend-level `RequestHeaderModifier` that sets `Host` (extended). Of the implementations with a conformance report, only Istio is known to do both; Envoy Gateway, Cilium, NGINX Gateway Fabric, Traefik and agentgateway do not route to `ExternalName`.",
        modelgen: "A Knative-mode `split` with `router: gateway-api` needs `cluster.gatewayImplementation`: `istio` renders; one known to lack either feature is refused with the evidence; `other` (or one whose `ExternalName` support is unknown) needs `cluster.acknowledge: [gateway-knative-backends]`. `router: istio` needs neither.",
        source: "kubernetes-sigs/gateway-api@v1.6.1:apis/v1/object_reference_types.go, conformance/reports/",
        case: "tests/cases/error-knative-split-gateway",
    },
    Rule {
        id: "gateway-mirror-percent",
        component: Component::GatewayApi,
        cluster: "`RequestMirror.percent` is in the standard channel from v1.3.0 (experimental from v1.2.0). Older CRDs prune it: every request is mirrored, and Argo CD shows the route OutOfSync forever.",
        modelgen: "Omits `percent` for a 100 % mirror. Below 100 %: a warning unless `cluster.gatewayApiVersion` is v1.3 or later, an error when it is older; under Argo CD, a render whose `KUBE_API_VERSIONS` prove older CRDs fails.",
        source: "kubernetes-sigs/gateway-api@v1.6.1:config/crd/standard/gateway.networking.k8s.io_httproutes.yaml (absent at v1.2.1, present at v1.3.0)",
        case: "tests/cases/kserve-shadow-mirror-percent",
    },
    Rule {
        id: "gateway-mirror-support",
        component: Component::GatewayApi,
        cluster: "`RequestMirror` and its `percent` are extended features: Traefik supports neither; kgateway and Contour ignore `percent`.",
        modelgen: "Refuses a Gateway API shadow on a stated implementation whose conformance report lacks `HTTPRouteRequestMirror` (or `HTTPRouteRequestPercentageMirror` below 100 %).",
        source: "kubernetes-sigs/gateway-api@v1.6.1:conformance/reports/",
        case: "tests/cases/kserve-shadow-mirror-percent",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_or_without_patch_and_prefix() {
        assert_eq!(parse_version("v1.3.0"), Some((1, 3)));
        assert_eq!(parse_version("1.2"), Some((1, 2)));
        assert_eq!(parse_version("v1"), None);
        assert_eq!(parse_version("latest"), None);
        assert_eq!(parse_version("v1.3.0.1"), None);
    }

    #[test]
    fn only_istio_is_known_to_route_to_knative_predictors() {
        let ok: Vec<_> = IMPLEMENTATIONS.iter().filter(|i| i.knative_backends() == Ok(true)).map(|i| i.id).collect();
        assert_eq!(ok, [GatewayImplementation::Istio]);
        assert!(implementation(GatewayImplementation::Traefik).expect("known").knative_backends().is_err());
        assert_eq!(implementation(GatewayImplementation::Kgateway).expect("known").knative_backends(), Ok(false));
    }
}
