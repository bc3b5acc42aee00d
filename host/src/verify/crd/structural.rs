//! Turning a CRD's structural `openAPIV3Schema` into a JSON Schema that fails where the API server would.
//!
//! Shared by `build.rs` (which converts the vendored CRDs once, at build
//! time) and the library (whose tests check the conversion).

use serde_json::{Map, Value, json};

/// The JSON Schema of every served version of `crd`, as
/// `(apiVersion, kind, schema)`. Unknown fields become errors (the API server
/// prunes them silently, so a typo would vanish instead of failing), int-or-
/// string and nullable become type unions, and descriptions are dropped.
pub fn served_schemas(crd: &Value) -> Vec<(String, String, Value)> {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or_default();
    let versions = crd["spec"]["versions"].as_array().map(Vec::as_slice).unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"] == Value::Bool(true))
        .map(|version| {
            let mut schema = version["schema"]["openAPIV3Schema"].clone();
            // The API server always accepts these at the root, even where a
            // CRD (Istio's) does not list them.
            for (field, kind) in [("apiVersion", "string"), ("kind", "string"), ("metadata", "object")] {
                if schema["properties"].get(field).is_none() {
                    schema["properties"][field] = json!({ "type": kind });
                }
            }
            to_json_schema(&mut schema);
            let version = version["name"].as_str().unwrap_or_default();
            // The core group is empty: its objects say `v1`, not `/v1`.
            let api_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
            (api_version, kind.to_owned(), schema)
        })
        .collect()
}

/// Rewrites one structural schema node (and its children) in place.
pub fn to_json_schema(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    map.remove("description");
    if map.remove("x-kubernetes-int-or-string") == Some(Value::Bool(true)) {
        map.remove("type");
        map.insert("anyOf".into(), json!([{ "type": "integer" }, { "type": "string" }]));
    }
    if map.remove("nullable") == Some(Value::Bool(true))
        && let Some(Value::String(t)) = map.get("type").cloned()
    {
        map.insert("type".into(), json!([t, "null"]));
    }
    if let Some(Value::String(pattern)) = map.get_mut("pattern") {
        *pattern = ecma_pattern(pattern);
    }
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if map.contains_key("properties") && !preserve && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    // Annotations jsonschema does not know; dropping them keeps the embedded bundle small.
    map.retain(|key, _| !key.starts_with("x-kubernetes-") || key == "x-kubernetes-preserve-unknown-fields");
    children(map);
}

/// The API server reads `pattern` as a Go (RE2) expression, JSON Schema as
/// an ECMA-262 one. RE2's case-insensitive flag `(?i)` (the Prometheus
/// Operator's `partial_response_strategy` uses it) has no ECMA form, so
/// every letter after it becomes a class of both cases: `(?i)ab` → `[aA][bB]`.
pub fn ecma_pattern(pattern: &str) -> String {
    let Some((before, after)) = pattern.split_once("(?i)") else { return pattern.to_owned() };
    let mut out = String::from(before);
    let chars: Vec<char> = after.chars().collect();
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.extend(&chars[i..(i + 2).min(chars.len())]);
                i += 2;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            // A letter range inside a class gets its other-case twin: `a-c` → `a-cA-C`.
            c if in_class
                && c.is_ascii_alphabetic()
                && chars.get(i + 1) == Some(&'-')
                && chars.get(i + 2).is_some_and(char::is_ascii_alphabetic) =>
            {
                let end = chars[i + 2];
                let swap =
                    |c: char| if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
                out.extend([c, '-', end, swap(c), '-', swap(end)]);
                i += 3;
                continue;
            }
            c if c.is_ascii_alphabetic() && in_class => {
                out.extend([c.to_ascii_lowercase(), c.to_ascii_uppercase()]);
                i += 1;
                continue;
            }
            c if c.is_ascii_alphabetic() => {
                out.extend(['[', c.to_ascii_lowercase(), c.to_ascii_uppercase(), ']']);
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

fn children(map: &mut Map<String, Value>) {
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.values_mut().for_each(to_json_schema);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            to_json_schema(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            list.iter_mut().for_each(to_json_schema);
        }
    }
}
