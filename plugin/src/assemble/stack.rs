//! A spec assembled from its layers (project defaults, the spec, an environment's overrides, render parameters), and which layer wrote each field.

use crate::diagnostic::Position;
use crate::model::layer::Layer;
use crate::yaml::merge_patch::merge;
use crate::yaml::node::{Node, Value};
use crate::yaml::path::FieldPath;

/// Where a diagnostic about a field of an assembled spec should point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file that wrote the field (`None` for render parameters).
    pub file: Option<String>,
    /// Where in that file the field is written.
    pub position: Option<Position>,
    /// The field as written in that file.
    pub field: String,
}

/// The layers of one spec, lowest precedence first.
#[derive(Clone, Debug)]
pub struct Stack<'a> {
    /// The layers, lowest precedence first.
    layers: Vec<Layer<'a>>,
    /// Which layer is the spec document, the fallback for fields no layer wrote.
    spec: usize,
}

impl<'a> Stack<'a> {
    /// A stack with only the spec document.
    pub fn new(spec: Layer<'a>) -> Self {
        Self { layers: vec![spec], spec: 0 }
    }

    /// Puts `layer` under everything so far (project defaults).
    pub fn push_under(&mut self, layer: Layer<'a>) {
        self.layers.insert(0, layer);
        self.spec += 1;
    }

    /// Puts `layer` over everything so far (environment overrides, parameters).
    pub fn push(&mut self, layer: Layer<'a>) {
        self.layers.push(layer);
    }

    /// Whether the spec document is the only layer.
    pub fn is_single(&self) -> bool {
        self.layers.len() == 1
    }

    /// The spec document as written.
    pub fn spec_document(&self) -> &Node {
        &self.layers[self.spec].document
    }

    /// Drops `path` from the layers under the spec (project defaults) unless
    /// the spec merged with the layers over it has a mapping at one of
    /// `claims`: defaults for a canary refine a spec's canary, they never add
    /// one (nor keep one an environment deletes with `null`).
    pub fn drop_unclaimed_defaults(&mut self, path: &FieldPath, claims: &[FieldPath]) {
        let mut above = self.layers[self.spec].document.clone();
        for layer in &self.layers[self.spec + 1..] {
            merge(&mut above, &layer.document);
        }
        let claimed = claims.iter().any(|c| above.at(c).is_some_and(|n| matches!(n.value, Value::Map(_))));
        if !claimed {
            for layer in &mut self.layers[..self.spec] {
                layer.document.remove(path);
            }
        }
    }

    /// All layers merged, lowest first.
    pub fn merged(&self) -> Node {
        self.merged_or_spec().into_owned()
    }

    /// [`Self::merged`], borrowing the spec document when it is the only
    /// layer (most renders: no project file), rather than copying it.
    pub fn merged_or_spec(&self) -> std::borrow::Cow<'_, Node> {
        if self.is_single() {
            return std::borrow::Cow::Borrowed(self.spec_document());
        }
        let mut layers = self.layers.iter();
        let mut merged =
            layers.next().map_or_else(|| Node::mapping(Vec::new(), Position::default()), |l| l.document.clone());
        for layer in layers {
            merge(&mut merged, &layer.document);
        }
        std::borrow::Cow::Owned(merged)
    }

    /// The spec document as written, taken out of the stack.
    pub fn into_spec_document(mut self) -> Node {
        self.layers.swap_remove(self.spec).document
    }

    /// The layer that wrote `path` last (the one whose value survived the
    /// merge), or the spec document for fields no layer wrote completely.
    pub fn locate(&self, path: &FieldPath, on_key: bool) -> Location {
        let layer = self.layers.iter().rev().find(|l| l.document.at(path).is_some()).unwrap_or(&self.layers[self.spec]);
        let position = if on_key { layer.document.key_position_of(path) } else { layer.document.position_of(path) };
        Location {
            file: layer.file.map(str::to_owned),
            position: layer.file.map(|_| position),
            field: layer.field(path).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::stream::parse_one as node;

    #[test]
    fn a_field_is_located_in_the_layer_whose_value_survived() {
        let spec = node("metadata: {name: m}\nspec:\n  scaling: {minReplicas: 1, maxReplicas: 4}\n");
        let project = node("environments:\n  prod:\n    overrides:\n      scaling:\n        minReplicas: three\n");
        let fragment = project.at(&FieldPath::parse("environments.prod.overrides")).expect("fragment");
        let mut stack = Stack::new(Layer::spec("m.yaml", spec));
        stack.push(Layer::fragment("modelgen.yaml", fragment, FieldPath::parse("environments.prod.overrides")));
        let overridden = stack.locate(&FieldPath::parse("spec.scaling.minReplicas"), false);
        assert_eq!(overridden.file.as_deref(), Some("modelgen.yaml"));
        assert_eq!(overridden.field, "environments.prod.overrides.scaling.minReplicas");
        assert_eq!(overridden.position, Some(Position { line: 4, column: 21 }));
        let kept = stack.locate(&FieldPath::parse("spec.scaling.maxReplicas"), false);
        assert_eq!((kept.file.as_deref(), kept.field.as_str()), (Some("m.yaml"), "spec.scaling.maxReplicas"));
        let merged = stack.merged();
        let scaling = merged.at(&FieldPath::parse("spec.scaling")).expect("scaling");
        assert_eq!(scaling.to_json(), serde_json::json!({"minReplicas": "three", "maxReplicas": 4}));
    }
}
