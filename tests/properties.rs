//! Property tests: every valid spec renders to objects the CRDs accept, renders are deterministic, and no input panics.

use std::fmt::Write as _;

use modelgen_plugin::{RenderContext, SourceFile, generate};
use proptest::prelude::*;

const FORMATS: [&str; 14] = [
    "sklearn",
    "xgboost",
    "lightgbm",
    "tensorflow",
    "pytorch",
    "onnx",
    "triton",
    "tensorrt",
    "huggingface",
    "mlflow",
    "pmml",
    "paddle",
    "openvino",
    "autogluon",
];

/// The digest of the generated specs' images (pinned, so that no warning fires).
const DIGEST: &str = "sha256:b16b468d5c07e7f7fc8541d425b697ad1f6d008abc731b4a18517cc54fe156ae";

/// A spec that should be valid for its backend, as YAML.
fn valid_spec() -> impl Strategy<Value = String> {
    let name = "[a-z][a-z0-9]{0,20}";
    let version = "v[0-9]{1,2}\\.[0-9]{1,2}";
    (
        name,
        prop::sample::select(vec!["kserve", "seldon", "seldon-v2", "kserve-llm"]),
        prop::sample::select(vec!["Knative", "Standard"]),
        prop::sample::select(FORMATS.to_vec()),
        version,
        prop::option::of((0u32..=100, prop::bool::ANY)),
        prop::option::of(0u32..=100),
        prop::option::of((1u32..4, 4u32..10)),
        prop::option::of(("[1-9][0-9]{0,2}m", "[1-9]Gi", 0u32..3)),
        prop::sample::select(vec!["gateway-api", "istio"]),
        // A model served by its own image: port, protocol, and whether it also has artifacts.
        prop::option::of((
            prop::sample::select(vec![8080u32, 9000, 8443]),
            prop::sample::select(vec!["v1", "v2", "grpc-v1", "grpc-v2"]),
            prop::bool::ANY,
        )),
    )
        .prop_map(|(name, backend, mode, format, version, canary, shadow, scaling, resources, router, image)| {
            let mut spec = format!(
                "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata:\n  name: {name}\n  namespace: ml\nspec:\n  backend: {backend}\n"
            );
            if backend == "kserve-llm" {
                return llm_spec(spec, &name, &version, canary, shadow, scaling, resources);
            }
            let kserve = backend == "kserve";
            if kserve {
                let _ = writeln!(spec, "  deploymentMode: {mode}");
            }
            if let Some((port, protocol, artifacts)) = image {
                let _ = write!(spec, "  model:\n    version: {version}\n    image: ghcr.io/acme/{name}@{DIGEST}\n    port: {port}\n    protocol: {protocol}\n    env: [{{name: LOG_LEVEL, value: info}}]\n");
                if artifacts {
                    let _ = writeln!(spec, "    storageUri: s3://models/{name}/{version}");
                }
            } else {
                let _ = write!(spec, "  model:\n    format: {format}\n    version: {version}\n    storageUri: s3://models/{name}/{version}\n");
            }
            if kserve && format == "openvino" && image.is_none() {
                // KServe installs no runtime for OpenVINO: it must be pinned.
                spec.push_str("    runtime: kserve-openvino\n");
            }
            // A KServe shadow works in Standard mode only (Knative's gateway routes by Host).
            let shadow = shadow.filter(|_| !(kserve && mode == "Knative"));
            let knative_split = canary.is_some_and(|(_, split)| split);
            let split = kserve && (shadow.is_some() || mode == "Standard" || knative_split);
            // With an image, a canary brings a new one (so a native Standard-mode canary needs no artifacts).
            let artifacts = |what: &str| match image {
                Some(_) => format!("    image: ghcr.io/acme/{name}-{what}@{DIGEST}\n"),
                None => format!("    storageUri: s3://models/{name}/{what}\n"),
            };
            if let Some((percent, _)) = canary {
                let _ = write!(spec, "  canary:\n    version: canary-{version}\n{}    trafficPercent: {percent}\n", artifacts("canary"));
                if backend == "kserve" && split {
                    spec.push_str("    strategy: split\n");
                }
            }
            if let Some(percent) = shadow {
                let _ = write!(spec, "  shadow:\n    version: shadow-{version}\n{}    percent: {percent}\n", artifacts("shadow"));
            }
            if backend == "kserve" && (split && (canary.is_some() || shadow.is_some())) {
                let _ = write!(spec, "  route:\n    router: {router}\n    gateway: {{name: gw, namespace: gateways}}\n    hosts: [{name}.example.com]\n");
                if mode == "Knative" {
                    // Through Gateway API, Knative predictors need an implementation that reaches them.
                    spec.push_str("  cluster: {gatewayImplementation: istio}\n");
                }
            }
            if let Some((min, max)) = scaling {
                let _ = writeln!(spec, "  scaling: {{minReplicas: {min}, maxReplicas: {max}}}");
            }
            if let Some((cpu, memory, gpu)) = resources {
                let _ = writeln!(spec, "  resources: {{cpu: {cpu}, memory: {memory}, gpu: {gpu}}}");
            }
            spec
        })
}

/// The rest of a `kserve-llm` spec: vLLM's checkpoint, a routing-group or
/// split canary, a shadow on the split route, fixed replicas, and as many
/// GPUs as the tensor parallelism.
fn llm_spec(
    mut spec: String,
    name: &str,
    version: &str,
    canary: Option<(u32, bool)>,
    shadow: Option<u32>,
    scaling: Option<(u32, u32)>,
    resources: Option<(String, String, u32)>,
) -> String {
    let _ = write!(
        spec,
        "  model:\n    format: huggingface\n    version: {version}\n    storageUri: pvc://models/{name}/{version}\n"
    );
    let split = shadow.is_some() || canary.is_some_and(|(_, split)| split);
    if let Some((percent, _)) = canary {
        let strategy = if split { "split" } else { "native" };
        let _ = write!(
            spec,
            "  canary:\n    version: canary-{version}\n    storageUri: s3://models/{name}/canary\n    trafficPercent: {percent}\n    strategy: {strategy}\n"
        );
    }
    if let Some(percent) = shadow {
        let _ = write!(
            spec,
            "  shadow:\n    version: shadow-{version}\n    storageUri: hf://models/{name}:shadow\n    percent: {percent}\n"
        );
        spec.push_str("  cluster: {gatewayApiVersion: v1.4.0}\n");
    }
    if split {
        let _ =
            writeln!(spec, "  route:\n    gateway: {{name: gw, namespace: gateways}}\n    hosts: [{name}.example.com]");
    }
    if let Some((min, _)) = scaling {
        let _ = writeln!(spec, "  scaling: {{minReplicas: {min}, maxReplicas: {min}}}");
    }
    if let Some((cpu, memory, gpu)) = resources {
        let _ = writeln!(spec, "  resources: {{cpu: {cpu}, memory: {memory}, gpu: {gpu}}}");
        if gpu > 0 {
            let _ = writeln!(spec, "  engine: {{tensorParallelSize: {gpu}}}");
        }
    }
    spec
}

fn supported(spec: &str) -> bool {
    // A format the backend cannot serve is a (tested) error, not a property failure.
    let format = spec.lines().find_map(|l| l.trim().strip_prefix("format: ")).unwrap_or_default();
    if spec.contains("    image: ") {
        // Seldon Core 2 refuses a model served by its own image (a tested error).
        !spec.contains("backend: seldon-v2")
    } else if spec.contains("backend: seldon-v2") {
        !matches!(format, "pmml" | "paddle" | "autogluon")
    } else if spec.contains("backend: seldon\n") {
        matches!(
            format,
            "sklearn"
                | "xgboost"
                | "tensorflow"
                | "mlflow"
                | "huggingface"
                | "triton"
                | "onnx"
                | "pytorch"
                | "tensorrt"
        )
    } else {
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn valid_specs_render_to_objects_the_crds_accept(spec in valid_spec()) {
        prop_assume!(supported(&spec));
        let sources = [SourceFile::new("spec.yaml", spec.clone())];
        let rendered = generate(&sources, &RenderContext::default());
        let rendered = match rendered {
            Ok(rendered) => rendered,
            Err(diagnostics) => {
                let messages: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                return Err(TestCaseError::fail(format!("{spec}\nwas refused:\n{}", messages.join("\n"))));
            }
        };
        let objects: Vec<serde_json::Value> =
            rendered.manifests.iter().map(|m| serde_saphyr::from_str(&m.yaml).expect("YAML")).collect();
        let violations = modelgen::verify::crd::check(&objects);
        prop_assert!(violations.is_empty(), "{spec}\nrenders objects the CRDs reject: {violations:?}");
        // Deterministic: the same input gives the same bytes.
        let again = generate(&sources, &RenderContext::default()).expect("renders again");
        prop_assert_eq!(rendered, again);
    }

    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = generate(&[SourceFile::new("any.yaml", bytes)], &RenderContext::default());
    }

    #[test]
    fn mutated_specs_never_panic(spec in valid_spec(), cut in 0usize..2048, junk in "[ -~\n]{0,16}") {
        // Splice printable junk into a valid spec: near-misses exercise every error path.
        let at = cut.min(spec.len());
        let at = (0..=at).rev().find(|i| spec.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{junk}{}", &spec[..at], &spec[at..]);
        let result = generate(&[SourceFile::new("m.yaml", mutated)], &RenderContext::default());
        if let Err(diagnostics) = result {
            prop_assert!(diagnostics.iter().any(modelgen_plugin::Diagnostic::is_error));
        }
    }
}
