//! Weighted routes that modelgen renders itself: Gateway API `HTTPRoute` or Istio `VirtualService`.
//!
//! Used by KServe's `split` strategy and by KServe shadows, so that the
//! traffic in the cluster follows from Git alone, on any KServe version.

use serde_json::{Value, json};

use super::object::{Target, metadata};
use crate::model::percent::Percent;
use crate::model::spec::Router;
use crate::rules::backend::kserve::ROUTE_SUFFIX;

/// The port KServe's predictor Services listen on.
pub const SERVICE_PORT: u16 = 80;

/// One weighted destination: a predictor Service.
pub struct Destination {
    /// The Service name (`<isvc>-predictor`).
    pub service: String,
    /// Relative weight (the weights of one route sum to 100).
    pub weight: Percent,
    /// Host header to send, when the Service is a Knative service reached
    /// through the cluster-local gateway (which routes by Host).
    pub host_header: Option<String>,
}

/// Where a copy of the traffic goes.
pub struct Mirror {
    /// The shadow's predictor Service.
    pub service: String,
    /// Percent of requests copied.
    pub percent: Percent,
}

/// The route's name: `<name>-traffic`, which KServe never gives its own
/// routes (it owns and rewrites the HTTPRoute or VirtualService `<name>`).
pub fn name(base: &str) -> String {
    format!("{base}{ROUTE_SUFFIX}")
}

/// Renders the weighted route for `router`.
pub fn render(target: &Target<'_>, router: Router, destinations: &[Destination], mirror: Option<&Mirror>) -> Value {
    let spec = &target.spec.spec;
    let route = spec.route.clone().unwrap_or_default();
    let meta = metadata(target, &name(&target.spec.metadata.name), &spec.model.version, &[]);
    match router {
        Router::GatewayApi => {
            let mut rule = json!({
                "backendRefs": destinations.iter().map(|d| {
                    let mut backend = json!({ "name": d.service, "port": SERVICE_PORT, "weight": d.weight });
                    if let Some(host) = &d.host_header {
                        backend["filters"] = json!([{
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": { "set": [{ "name": "Host", "value": host }] },
                        }]);
                    }
                    backend
                }).collect::<Vec<_>>(),
            });
            if let Some(mirror) = mirror {
                let mut request_mirror = json!({ "backendRef": { "name": mirror.service, "port": SERVICE_PORT } });
                // Without `percent` every request is mirrored, on any
                // Gateway API release; `percent` needs v1.3 CRDs.
                if mirror.percent < Percent::ALL {
                    request_mirror["percent"] = json!(mirror.percent);
                }
                rule["filters"] = json!([{ "type": "RequestMirror", "requestMirror": request_mirror }]);
            }
            let mut route_spec = json!({ "rules": [rule] });
            if let Some(gateway) = &route.gateway {
                let mut parent = json!({ "name": gateway.name });
                if let Some(ns) = &gateway.namespace {
                    parent["namespace"] = json!(ns);
                }
                if let Some(section) = &gateway.section_name {
                    parent["sectionName"] = json!(section);
                }
                route_spec["parentRefs"] = json!([parent]);
            }
            if !route.hosts.is_empty() {
                route_spec["hostnames"] = json!(route.hosts);
            }
            json!({ "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta, "spec": route_spec })
        }
        Router::Istio => {
            let mut http = json!({
                "route": destinations.iter().map(|d| {
                    let mut destination = json!({
                        "destination": { "host": d.service, "port": { "number": SERVICE_PORT } },
                        "weight": d.weight,
                    });
                    if let Some(host) = &d.host_header {
                        destination["headers"] = json!({ "request": { "set": { "Host": host } } });
                    }
                    destination
                }).collect::<Vec<_>>(),
            });
            if let Some(mirror) = mirror {
                http["mirror"] = json!({ "host": mirror.service, "port": { "number": SERVICE_PORT } });
                http["mirrorPercentage"] = json!({ "value": f64::from(mirror.percent.get()) });
            }
            let mut route_spec = json!({ "hosts": route.hosts, "http": [http] });
            if let Some(gateway) = &route.gateway {
                let reference = match &gateway.namespace {
                    Some(ns) => format!("{ns}/{}", gateway.name),
                    None => gateway.name.clone(),
                };
                // `mesh` keeps the split for callers inside the mesh too.
                route_spec["gateways"] = json!([reference, "mesh"]);
            }
            json!({ "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta, "spec": route_spec })
        }
    }
}
