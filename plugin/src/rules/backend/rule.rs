//! One backend rule: what a serving stack does, what modelgen does about it, and where upstream says so.

/// The stack a rule belongs to, with the release it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// KServe (`serving.kserve.io`).
    Kserve,
    /// KServe's `LLMInferenceService` and the llm-d components it runs.
    KserveLlm,
    /// vLLM, inside KServe's LLM and Hugging Face images.
    Vllm,
    /// KEDA, for autoscaling on Prometheus queries.
    Keda,
    /// Knative Serving, under KServe's Knative mode.
    Knative,
    /// Gateway API, for modelgen's `split` routes.
    GatewayApi,
    /// Istio, for modelgen's `split` routes and as a mesh.
    Istio,
    /// Seldon Core v1 (`machinelearning.seldon.io`).
    SeldonV1,
    /// Seldon Core 2 (`mlops.seldon.io`).
    SeldonV2,
    /// Container images, as every node's runtime reads them.
    Container,
}

impl Component {
    /// The stack and the release the rules were read from.
    pub fn title(self) -> &'static str {
        match self {
            Component::Kserve => "KServe v0.20.0",
            Component::KserveLlm => "KServe v0.20.0: `LLMInferenceService` (llm-d)",
            Component::Vllm => "vLLM 0.23.0 and 0.24.0 (in KServe v0.20.0's images)",
            Component::Keda => "KEDA v2.20.2",
            Component::Knative => "Knative Serving 1.20",
            Component::GatewayApi => "Gateway API v1.6.1",
            Component::Istio => "Istio",
            Component::SeldonV1 => "Seldon Core v1.17.1",
            Component::SeldonV2 => "Seldon Core 2.6.0",
            Component::Container => "Container images (distribution/reference v0.6.0)",
        }
    }
}

/// One backend rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// A stable id, named in the diagnostics the rule causes (and, where the
    /// rule is a prerequisite modelgen cannot check, accepted by `cluster.acknowledge`).
    pub id: &'static str,
    /// The stack it belongs to.
    pub component: Component,
    /// What the cluster does.
    pub cluster: &'static str,
    /// What modelgen does about it.
    pub modelgen: &'static str,
    /// Where upstream says so: `repo@tag:path` (or an issue), read at the release of [`Component::title`].
    pub source: &'static str,
    /// The golden case or example that pins modelgen's side.
    pub case: &'static str,
}

impl Rule {
    /// How diagnostics cite the rule: `` (rule `id`, from source) ``.
    pub fn cite(&self) -> String {
        format!("rule `{}`, from {}", self.id, self.source)
    }
}
