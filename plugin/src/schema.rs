//! The published JSON Schema of the spec, generated from the spec's Rust types.

use crate::spec::ModelDeployment;

/// The JSON Schema (draft 2020-12) of `ModelDeployment`, pretty-printed.
pub fn spec_schema() -> String {
    // Serialized from schemars' own map, which keeps `$schema`, `title` and
    // `description` first, as people expect to read them.
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The same schema as a JSON value (for walking, not for reading).
pub fn spec_schema_value() -> serde_json::Value {
    schema().to_value()
}

fn schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(ModelDeployment);
    schema.insert("$id".into(), "https://modelgen.dev/schemas/v1alpha1/modeldeployment.json".into());
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_describes_every_field_and_forbids_unknown_ones() {
        let schema: serde_json::Value = serde_json::from_str(&spec_schema()).expect("valid JSON");
        let spec = &schema["$defs"]["Spec"];
        assert_eq!(spec["additionalProperties"], false);
        assert!(spec["properties"]["canary"]["description"].is_string());
        assert_eq!(schema["properties"]["apiVersion"]["const"], "modelgen.dev/v1alpha1");
        let required = schema["$defs"]["Model"]["required"].as_array().expect("required list");
        assert!(required.contains(&"storageUri".into()));
    }
}
