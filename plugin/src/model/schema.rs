//! The published JSON Schema of the spec kinds (`ModelDeployment`, `Project`), generated from their Rust types.

use serde_json::{Map, Value, json};

use crate::model::project::Project;

/// The JSON Schema (draft 2020-12) of both kinds a user writes, chosen by
/// `kind`, pretty-printed: one file for editors, whichever file they open.
pub fn spec_schema() -> String {
    let mut text = serde_json::to_string_pretty(&published()).unwrap_or_default();
    text.push('\n');
    text
}

/// Both kinds in one schema document, their definitions merged, chosen by `oneOf`.
fn published() -> Value {
    let mut spec = crate::model::spec::schema();
    let mut project = schemars::schema_for!(Project).to_value();
    let mut defs = Map::new();
    for schema in [&mut spec, &mut project] {
        if let Some(Value::Object(more)) = schema.as_object_mut().and_then(|s| s.remove("$defs")) {
            defs.extend(more);
        }
        if let Some(schema) = schema.as_object_mut() {
            schema.remove("$schema");
        }
    }
    let fragment = fragment(&defs);
    defs.insert("SpecFragment".to_owned(), fragment);
    defs.insert("ModelDeployment".to_owned(), spec);
    defs.insert("Project".to_owned(), project);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://modelgen.dev/schemas/v1alpha1/modelgen.json",
        "title": "modelgen",
        "description": "A modelgen file: a model spec (`kind: ModelDeployment`) or the project file `modelgen.yaml` (`kind: Project`).",
        "oneOf": [{"$ref": "#/$defs/ModelDeployment"}, {"$ref": "#/$defs/Project"}],
        "$defs": defs,
    })
}

/// What `defaults` and `overrides` may hold: the keys of a spec's `spec` plus
/// `namespace`, `labels` and `annotations`, with their descriptions. Values are
/// not constrained here, since a merge patch may hold a part of a field (or
/// `null` to delete it); the plugin checks the merged spec.
fn fragment(defs: &Map<String, Value>) -> Value {
    let mut properties = Map::new();
    let described = |schema: &Value| schema.get("description").map_or_else(|| json!({}), |d| json!({"description": d}));
    for (definition, keys) in [("Metadata", &["namespace", "labels", "annotations"][..]), ("Spec", &[][..])] {
        let Some(Value::Object(props)) = defs.get(definition).and_then(|d| d.get("properties")) else { continue };
        for (key, schema) in props {
            if keys.is_empty() || keys.contains(&key.as_str()) {
                properties.insert(key.clone(), described(schema));
            }
        }
    }
    json!({
        "type": "object",
        "description": "`namespace`, `labels`, `annotations` and any field of a ModelDeployment's `spec`, merged as a JSON merge patch (`null` deletes).",
        "properties": properties,
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_describes_every_field_and_forbids_unknown_ones() {
        let schema: Value = serde_json::from_str(&spec_schema()).expect("valid JSON");
        let defs = &schema["$defs"];
        assert_eq!(defs["Spec"]["additionalProperties"], false);
        assert!(defs["Spec"]["properties"]["canary"]["description"].is_string());
        assert_eq!(defs["ModelDeployment"]["properties"]["apiVersion"]["const"], "modelgen.dev/v1alpha1");
        let required = defs["Model"]["required"].as_array().expect("required list");
        assert_eq!(required, &[Value::from("version")]);
        // A stock runtime needs a format and artifacts; an image needs neither.
        assert_eq!(
            defs["Model"]["anyOf"],
            json!([{ "required": ["image"] }, { "required": ["format", "storageUri"] }])
        );
        let project = &defs["Project"]["properties"];
        assert!(project["policy"]["description"].is_string(), "the pinning policy is published");
        assert_eq!(defs["Level"]["oneOf"].as_array().map(Vec::len), Some(3));
        let fragment = &defs["SpecFragment"]["properties"];
        assert!(fragment["scaling"]["description"].is_string() && fragment["namespace"]["description"].is_string());
        assert!(fragment.get("name").is_none(), "a model cannot be renamed by an override");
    }
}
