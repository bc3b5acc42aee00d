//! Shared helpers of the end-to-end suites: running `modelgen`, golden files, and CRD validation.

// Each suite uses its own subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ is in the workspace").to_path_buf()
}

/// A compile cache shared by every run in this test process, warmed once,
/// so that only the first render pays for compiling the component.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temporary cache directory");
            let cache = modelgen::cache::CompileCache::new(dir.path().join("cache"));
            modelgen::runtime::Runtime::new(modelgen::runtime::EMBEDDED_PLUGIN, Some(&cache))
                .expect("the built-in plugin loads");
            dir
        })
        .path()
}

/// `modelgen` with the shared cache and a clean environment.
pub fn modelgen() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelgen"));
    command.env("MODELGEN_CACHE_DIR", shared_cache().join("cache")).env_remove("MODELGEN_PLUGIN");
    command
}

/// Runs `modelgen` with `args` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    modelgen().current_dir(dir).args(args).output().expect("run modelgen")
}

/// Text of a process stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Compares `actual` with the golden file at `path`; with `BLESS=1`, rewrites it.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual);
        panic!(
            "{} is out of date (rerun with BLESS=1 to accept):\n{}",
            path.display(),
            diff.unified_diff().context_radius(3).header("expected", "actual")
        );
    }
}

/// Splits a YAML stream into documents as JSON values.
pub fn documents(stream: &str) -> Vec<Value> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_multiple_with_options::<Value, Vec<Value>>(stream, options)
        .expect("the output is valid YAML")
}

/// JSON Schemas of the vendored CRDs, by `apiVersion` and `kind`.
pub struct Crds {
    validators: BTreeMap<(String, String), jsonschema::Validator>,
}

impl Crds {
    /// Every CRD under `host/crds/`, loaded once per test process.
    pub fn get() -> &'static Crds {
        static CRDS: OnceLock<Crds> = OnceLock::new();
        CRDS.get_or_init(Crds::load)
    }

    fn load() -> Crds {
        let mut validators = BTreeMap::new();
        let root = workspace().join("host/crds");
        for group in std::fs::read_dir(&root).expect("host/crds exists").flatten().filter(|e| e.path().is_dir()) {
            for file in std::fs::read_dir(group.path()).expect("readable").flatten() {
                let text = std::fs::read_to_string(file.path()).expect("readable CRD");
                let crd: Value = serde_saphyr::from_str(&text).expect("CRD parses");
                let group = crd["spec"]["group"].as_str().expect("group").to_owned();
                let kind = crd["spec"]["names"]["kind"].as_str().expect("kind").to_owned();
                for version in crd["spec"]["versions"].as_array().expect("versions") {
                    if version["served"] != Value::Bool(true) {
                        continue;
                    }
                    let mut schema = version["schema"]["openAPIV3Schema"].clone();
                    // The API server always accepts these at the root, even
                    // where a CRD (Istio's) does not list them.
                    for (field, kind) in [("apiVersion", "string"), ("kind", "string"), ("metadata", "object")] {
                        if schema["properties"].get(field).is_none() {
                            schema["properties"][field] = serde_json::json!({ "type": kind });
                        }
                    }
                    structural_to_json_schema(&mut schema);
                    let validator = jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft4)
                        .should_validate_formats(false)
                        .build(&schema)
                        .expect("the CRD schema compiles");
                    let api_version = format!("{group}/{}", version["name"].as_str().expect("version name"));
                    validators.insert((api_version, kind.clone()), validator);
                }
            }
        }
        Crds { validators }
    }

    /// Every way `object` breaks its CRD's schema; an object with no vendored CRD is itself an error.
    pub fn violations(&self, object: &Value) -> Vec<String> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let Some(validator) = self.validators.get(&(api_version.clone(), kind.clone())) else {
            return vec![format!("no vendored CRD for `{api_version}` `{kind}`")];
        };
        validator.iter_errors(object).map(|e| format!("{}: {e}", e.instance_path())).collect()
    }

    /// Panics with every violation of every document of `stream`.
    pub fn assert_valid(&self, stream: &str, context: &str) {
        let problems: Vec<String> = documents(stream)
            .iter()
            .flat_map(|doc| {
                let name = format!(
                    "{} {}",
                    doc["kind"].as_str().unwrap_or("?"),
                    doc["metadata"]["name"].as_str().unwrap_or("?")
                );
                self.violations(doc).into_iter().map(move |v| format!("{name}: {v}"))
            })
            .collect();
        assert!(problems.is_empty(), "{context}: rendered objects break their CRD schemas:\n{}", problems.join("\n"));
    }
}

/// Turns a CRD's structural schema into a JSON Schema that fails where the
/// API server would drop or reject: unknown fields become errors (the server
/// prunes them silently), int-or-string and nullable become type unions.
pub fn structural_to_json_schema(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if map.remove("x-kubernetes-int-or-string") == Some(Value::Bool(true)) {
        map.remove("type");
        map.insert("anyOf".into(), serde_json::json!([{ "type": "integer" }, { "type": "string" }]));
    }
    if map.remove("nullable") == Some(Value::Bool(true))
        && let Some(Value::String(t)) = map.get("type").cloned()
    {
        map.insert("type".into(), serde_json::json!([t, "null"]));
    }
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if map.contains_key("properties") && !preserve && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.values_mut().for_each(structural_to_json_schema);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            structural_to_json_schema(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            children.iter_mut().for_each(structural_to_json_schema);
        }
    }
}

/// The directories under `dir`, sorted.
pub fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("readable").flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}
