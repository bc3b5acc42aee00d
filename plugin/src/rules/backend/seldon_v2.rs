//! Seldon Core 2.6.0: how a `Model` reaches an inference server, and so what a model with its own server image cannot do there.

use super::rule::{Component, Rule};

/// Seldon Core 2's rules.
pub const RULES: &[Rule] = &[Rule {
    id: "seldon-v2-servers",
    component: Component::SeldonV2,
    cluster: "A `Model` needs a `storageUri`. The scheduler places it on a `Server`, whose agent downloads the artifacts and loads them into the server's inference server over the Open Inference Protocol's model repository API (`RepositoryModelLoad`). A Server runs a `ServerConfig` (the agent, rclone and a V2 server with that API); a Server's `podSpec` overrides the pod, not that contract.",
    modelgen: "Refuses `image` at the field: a server image that serves its own model has no place there. Use backend `kserve` or `seldon`, or package the server as a ServerConfig of your own, pin `spec.server` to a Server of it and give the artifacts in `storageUri`.",
    source: "SeldonIO/seldon-core@v2.6.0:scheduler/pkg/agent/modelserver_controlplane/oip/v2.go (`loadModelGrpc`), operator/apis/mlops/v1alpha1/model_types.go, server_types.go, docs/source/contents/kubernetes/resources/serverconfig/index.md",
    case: "tests/cases/error-seldon-v2-image",
}];
