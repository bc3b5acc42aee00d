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

/// A schema compiled for the walk: per object, its allowed keys (sorted),
/// what other keys may hold, and its items, with every `$ref` and `anyOf`
/// resolved once. Walking the JSON schema itself resolved them again at
/// every node of every spec (a tenth of a large render in wasm).
#[derive(Debug)]
pub struct Fields {
    /// The shapes, [`ANY`] first.
    shapes: Vec<Shape>,
    /// The root's shape.
    root: usize,
}

/// One compiled schema node; [`ANY`] allows everything.
#[derive(Debug, Default)]
struct Shape {
    /// The allowed keys, sorted, each with its value's shape.
    properties: Vec<(String, usize)>,
    /// Keys not in `properties`.
    others: Others,
    /// The shape of list items, if any.
    items: Option<usize>,
}

/// What a key not among the properties may be.
#[derive(Debug, Default)]
enum Others {
    /// Anything (`additionalProperties` missing or `true`).
    #[default]
    Allowed,
    /// Nothing: an unknown field (`additionalProperties: false`).
    Denied,
    /// A value of this shape.
    Of(usize),
}

/// The shape that allows everything (a schema that is not an object).
const ANY: usize = 0;

impl Fields {
    /// Compiles `schema` (with its `$defs`).
    pub fn new(schema: &Schema) -> Self {
        let mut compiler = Compiler { root: schema, shapes: vec![Shape::default()], seen: Vec::new() };
        let root = compiler.shape(schema);
        Self { shapes: compiler.shapes, root }
    }
}

/// Builds shapes, once per resolved schema node (recursive `$defs` refer
/// back to the shape being built).
struct Compiler<'a> {
    /// The whole schema, whose `$defs` references name.
    root: &'a Schema,
    /// The shapes built so far.
    shapes: Vec<Shape>,
    /// Resolved schema nodes already given a shape, by address.
    seen: Vec<(*const Schema, usize)>,
}

impl<'a> Compiler<'a> {
    /// The shape of `schema`, built now unless its resolved node has one.
    fn shape(&mut self, schema: &'a Schema) -> usize {
        let schema = resolve(schema, self.root);
        let Schema::Object(map) = schema else { return ANY };
        let address: *const Schema = schema;
        if let Some(&(_, index)) = self.seen.iter().find(|(seen, _)| std::ptr::eq(*seen, address)) {
            return index;
        }
        let index = self.shapes.len();
        self.shapes.push(Shape::default());
        self.seen.push((address, index));
        let properties = match map.get("properties") {
            Some(Schema::Object(properties)) => {
                let mut properties: Vec<(String, usize)> =
                    properties.iter().map(|(key, value)| (key.clone(), self.shape(value))).collect();
                // Already sorted unless serde_json keeps insertion order; searched by key.
                properties.sort_by(|(a, _), (b, _)| a.cmp(b));
                properties
            }
            _ => Vec::new(),
        };
        let others = match map.get("additionalProperties") {
            Some(Schema::Bool(false)) => Others::Denied,
            Some(values @ Schema::Object(_)) => Others::Of(self.shape(values)),
            _ => Others::Allowed,
        };
        let items = map.get("items").map(|items| self.shape(items));
        self.shapes[index] = Shape { properties, others, items };
        index
    }
}

/// Every key in `document` that `fields` does not allow.
pub fn unknown_fields(document: &Node, fields: &Fields) -> Vec<UnknownField> {
    let mut walk = Walk { shapes: &fields.shapes, path: Vec::new(), found: Vec::new() };
    walk.node(document, fields.root);
    walk.found
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

/// One step of the path being walked: a key or a list index.
enum Step<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A list index.
    Index(usize),
}

/// A walk of one document; the path is built only for what is reported.
struct Walk<'s, 'a> {
    /// The compiled schema.
    shapes: &'s [Shape],
    /// The steps from the root to the node being walked.
    path: Vec<Step<'a>>,
    /// The unknown keys so far.
    found: Vec<UnknownField>,
}

impl<'a> Walk<'_, 'a> {
    /// Walks `node` alongside shape `shape`, collecting the keys it does not allow.
    fn node(&mut self, node: &'a Node, shape: usize) {
        let shape = &self.shapes[shape];
        match &node.value {
            Value::Map(entries) => {
                for (key_node, value) in entries {
                    let Some(key) = key_node.as_str() else { continue };
                    let found = shape.properties.binary_search_by(|(name, _)| name.as_str().cmp(key));
                    let child = match (found, &shape.others) {
                        (Ok(at), _) => shape.properties[at].1,
                        (Err(_), Others::Of(values)) => *values,
                        (Err(_), Others::Denied) => {
                            self.report(key_node, key, shape);
                            continue;
                        }
                        (Err(_), Others::Allowed) => continue,
                    };
                    if child != ANY {
                        self.path.push(Step::Key(key));
                        self.node(value, child);
                        self.path.pop();
                    }
                }
            }
            Value::Seq(items) => {
                if let Some(item_shape) = shape.items.filter(|&s| s != ANY) {
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(Step::Index(i));
                        self.node(item, item_shape);
                        self.path.pop();
                    }
                }
            }
            _ => {}
        }
    }

    /// Records `key` (written at `key_node`) as unknown in `shape`.
    fn report(&mut self, key_node: &Node, key: &str, shape: &Shape) {
        let expected: Vec<&str> = shape.properties.iter().map(|(name, _)| name.as_str()).collect();
        let mut path = FieldPath::default();
        for step in &self.path {
            path = match step {
                Step::Key(key) => path.key(*key),
                Step::Index(i) => path.index(*i),
            };
        }
        self.found.push(UnknownField {
            path: path.key(key),
            position: key_node.position,
            key: key.to_owned(),
            hint: did_you_mean_or_list(key, &expected),
        });
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
        let found = unknown_fields(&doc, &Fields::new(&schema));
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

    #[test]
    fn references_alternatives_and_maps_are_followed_recursively() {
        // A tree whose nodes name their children (a recursive `$ref`), an
        // optional struct (`anyOf` with `null`), and a map of structs.
        let schema = serde_json::json!({
            "properties": {
                "tree": {"$ref": "#/$defs/Tree"},
                "maybe": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Leaf"}]},
                "byName": {"additionalProperties": {"$ref": "#/$defs/Leaf"}},
                "free": true,
            },
            "additionalProperties": false,
            "$defs": {
                "Tree": {
                    "properties": {"name": {}, "children": {"items": {"$ref": "#/$defs/Tree"}}},
                    "additionalProperties": false,
                },
                "Leaf": {"properties": {"value": {}}, "additionalProperties": false},
            },
        });
        let text = "tree: {name: a, children: [{name: b, children: [{nmae: c}]}]}\nmaybe: {value: 1, valeu: 2}\nbyName: {x: {value: 1}, y: {vlue: 2}}\nfree: {anything: [goes]}\nextra: 1\n";
        let found = unknown_fields(&parse_one(text), &Fields::new(&schema));
        let paths: Vec<String> = found.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(paths, ["tree.children[0].children[0].nmae", "maybe.valeu", "byName.y.vlue", "extra"]);
        assert_eq!(found[0].hint, "did you mean `name`?");
        assert!(found[3].hint.contains("`byName`, `free`, `maybe`, `tree`"), "{}", found[3].hint);
    }
}
