//! Every unknown field of a document at once, found by walking it alongside a JSON Schema (the spec's or the project's).
//!
//! serde stops at the first unknown field; typos are the most common
//! mistake, so this pass reports all of them (with "did you mean" hints)
//! before typed decoding runs.

use serde_json::Value as Schema;

use crate::diagnostic::{Diagnostic, Position, did_you_mean_or_list};
use crate::yaml::node::{Node, Value};
use crate::yaml::path::FieldPath;

/// A key the schema does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownField {
    /// Where the key sits.
    pub path: FieldPath,
    /// Where the key is written.
    pub position: Position,
    /// The key, as written.
    pub key: String,
    /// "did you mean" or the list of allowed keys.
    pub hint: String,
}

impl UnknownField {
    /// The error in `file`, naming the key as `field` (its path in that file).
    pub fn error(self, file: &str, field: &FieldPath) -> Diagnostic {
        Diagnostic::error(format!("unknown field `{}`", self.key))
            .in_file(file)
            .at(Some(self.position))
            .field(field.to_string())
            .hint(self.hint)
    }
}

/// Every key in `document` that `schema` (with its `$defs`) does not allow.
pub fn unknown_fields(document: &Node, schema: &Schema) -> Vec<UnknownField> {
    let mut found = Vec::new();
    walk(document, schema, schema, &FieldPath::default(), &mut found);
    found
}

/// Follows `$ref` and picks the object alternative of `anyOf` (how schemars
/// writes `Option<Struct>`).
fn resolve<'a>(schema: &'a Schema, root: &'a Schema) -> &'a Schema {
    if let Some(reference) = schema.get("$ref").and_then(Schema::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return resolve(&root["$defs"][name], root);
    }
    if let Some(alternatives) = schema.get("anyOf").and_then(Schema::as_array)
        && let Some(object) = alternatives
            .iter()
            .map(|a| resolve(a, root))
            .find(|a| a.get("properties").is_some() || a.get("items").is_some())
    {
        return object;
    }
    schema
}

/// Walks `node` alongside `schema`, collecting the keys it does not allow.
fn walk(node: &Node, schema: &Schema, root: &Schema, path: &FieldPath, found: &mut Vec<UnknownField>) {
    let schema = resolve(schema, root);
    match &node.value {
        Value::Map(entries) => {
            let properties = schema.get("properties").and_then(Schema::as_object);
            for (key_node, value) in entries {
                let Some(key) = key_node.as_str() else { continue };
                let child = path.key(key);
                match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                    (Some(property), _) => walk(value, property, root, &child, found),
                    (None, Some(Schema::Bool(false))) => {
                        let expected: Vec<&str> =
                            properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                        let hint = did_you_mean_or_list(key, &expected);
                        found.push(UnknownField {
                            path: child,
                            position: key_node.position,
                            key: key.to_owned(),
                            hint,
                        });
                    }
                    (None, Some(values @ Schema::Object(_))) => walk(value, values, root, &child, found),
                    (None, _) => {}
                }
            }
        }
        Value::Seq(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item, item_schema, root, &path.index(i), found);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::stream::parse_one;

    #[test]
    fn all_unknown_fields_are_found_with_hints() {
        let schema = crate::model::spec::schema();
        let text = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: m, labels: {any: thing}}\nspec:\n  model: {format: sklearn, version: v1, storageURI: s3://m}\n  canary: {version: v2, storageUri: s3://n, trafficPrecent: 5}\n  tolerations: [{key: a, efect: NoSchedule}]\n  colour: blue\n";
        let doc = parse_one(text);
        let found = unknown_fields(&doc, &schema);
        let paths: Vec<String> = found.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(
            paths,
            ["spec.model.storageURI", "spec.canary.trafficPrecent", "spec.tolerations[0].efect", "spec.colour"]
        );
        assert_eq!(found[0].hint, "did you mean `storageUri`?");
        assert_eq!(found[2].hint, "did you mean `effect`?");
        assert_eq!(found[0].position, Position { line: 4, column: 40 });
        assert!(found[3].hint.starts_with("expected one of"), "{}", found[3].hint);
    }
}
