//! Flux's post-build variable substitution, and how rendered objects opt out of it.

use serde_json::{Map, Value, json};

/// The annotation (or label) with which an object opts out of Flux's
/// post-build variable substitution.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Keeps `${...}` in an object literal under Flux's post-build substitution.
///
/// A Flux `Kustomization` with `postBuild` replaces `${var}` in every object it
/// applies, and an undefined variable becomes an empty string, so a storage
/// URI or annotation that happens to contain `${` would be silently rewritten
/// on the cluster. Any object with a string (key or value) containing `${`
/// gets `kustomize.toolkit.fluxcd.io/substitute: disabled`, unless the spec
/// set that annotation itself: then it asked for substitution on purpose.
pub fn guard_substitution(object: &mut Value) {
    if !mentions_variable(object) {
        return;
    }
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let annotations = metadata.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.entry(SUBSTITUTE_ANNOTATION).or_insert_with(|| json!("disabled"));
    }
}

/// Whether any key or string in `value` contains `${`.
fn mentions_variable(value: &Value) -> bool {
    match value {
        Value::String(text) => has_variable(text),
        Value::Array(items) => items.iter().any(mentions_variable),
        Value::Object(map) => map.iter().any(|(key, value)| has_variable(key) || mentions_variable(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Whether `text` contains `${`. Every string of every object is asked, and
/// `str::contains` sets up a two-way substring search per call: in the wasm
/// component that was 3 % of a large render.
fn has_variable(text: &str) -> bool {
    // Most strings have no `$` at all, which a word-at-a-time search tells.
    text.contains('$') && text.as_bytes().windows(2).any(|pair| pair == b"${")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_mentioning_a_variable_opt_out_of_flux_substitution() {
        let mut object = json!({"kind": "Model", "metadata": {"name": "m"}, "spec": {"args": ["--x=${HOME}"]}});
        guard_substitution(&mut object);
        assert_eq!(object["metadata"]["annotations"][SUBSTITUTE_ANNOTATION], "disabled");
        let mut key = json!({"metadata": {"name": "m", "labels": {"a": "b"}}, "spec": {"${k}": 1}});
        guard_substitution(&mut key);
        assert_eq!(key["metadata"]["annotations"][SUBSTITUTE_ANNOTATION], "disabled");
    }

    #[test]
    fn a_variable_is_found_anywhere_in_a_string() {
        for text in ["${a}", "x${", "$$${", "a$b${c"] {
            assert!(has_variable(text), "{text}");
        }
        for text in ["", "$", "{", "$ {", "{$", "$}{"] {
            assert!(!has_variable(text), "{text}");
        }
    }

    #[test]
    fn other_objects_and_explicit_choices_are_left_alone() {
        let plain = json!({"metadata": {"name": "m"}, "spec": {"price": "$5 {not a variable}"}});
        let mut object = plain.clone();
        guard_substitution(&mut object);
        assert_eq!(object, plain);
        let chosen = json!({"metadata": {"name": "m", "annotations": {SUBSTITUTE_ANNOTATION: "enabled"}}, "spec": {"uri": "s3://${region}/m"}});
        let mut object = chosen.clone();
        guard_substitution(&mut object);
        assert_eq!(object, chosen);
    }
}
