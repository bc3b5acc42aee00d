//! Strategic-merge patches as kustomize applies them to custom resources, whose schemas it does not know.
//!
//! kustomize merges a patch into an object of a kind without a built-in
//! schema (every kind modelgen renders is a custom resource, or a `ConfigMap`)
//! like a JSON merge patch with kustomize's directives: mappings merge, `null`
//! deletes a key, `$patch: delete` deletes the mapping it is in (the whole
//! object at the top), `$patch: replace` replaces it instead of merging, and
//! lists are replaced as a whole, because only a schema could name their
//! merge keys. The differential suite (`tests/kustomize.rs`) holds this to
//! `kubectl kustomize`.
//!
//! One deliberate difference: kustomize keeps a `$patch` directive inside a
//! replaced list as data, producing an object the API server rejects;
//! modelgen reports it instead.

use serde_json::{Map, Value};

/// The directive key.
const PATCH: &str = "$patch";

/// What became of the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was patched (or left as it was).
    Kept,
    /// The patch deleted it (`$patch: delete` at the top level).
    Deleted,
}

/// Why a patch cannot be applied, and where in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at `{path}`)")]
pub struct Error {
    /// The dotted path of the offending field in the patch.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Merges `patch` into `object`.
pub fn merge(object: &mut Value, patch: &Value) -> Result<Outcome, Error> {
    check(patch, "")?;
    match directive(patch) {
        Some("delete") => return Ok(Outcome::Deleted),
        Some("replace") => {
            *object = cleaned(patch);
            return Ok(Outcome::Kept);
        }
        _ => {}
    }
    merge_map(object, patch);
    Ok(Outcome::Kept)
}

/// Rejects what kustomize would apply to no good effect.
fn check(patch: &Value, at: &str) -> Result<(), Error> {
    match patch {
        Value::Object(map) => {
            for (key, value) in map {
                let here = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
                if key == PATCH {
                    match value.as_str() {
                        Some("delete" | "replace" | "merge") => {}
                        _ => {
                            return Err(Error {
                                path: here,
                                message: format!(
                                    "unknown `$patch` directive `{}`",
                                    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
                                ),
                            });
                        }
                    }
                } else if key.starts_with('$') {
                    return Err(Error {
                        path: here,
                        message: format!(
                            "the directive `{key}` needs a schema, which custom resources do not have in kustomize"
                        ),
                    });
                }
                check(value, &here)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.get(PATCH).is_some() {
                    return Err(Error {
                        path: format!("{at}[{i}]"),
                        message: "a `$patch` directive in a list: lists of custom resources are replaced whole, so kustomize would keep the directive as data".to_owned(),
                    });
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The `$patch` directive of a mapping, if it has one.
fn directive(value: &Value) -> Option<&str> {
    value.get(PATCH).and_then(Value::as_str)
}

/// Merges mapping `patch` into `object` key by key.
fn merge_map(object: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *object = cleaned(patch);
        return;
    };
    if !object.is_object() {
        *object = Value::Object(Map::new());
    }
    let Value::Object(target) = object else { return };
    for (key, value) in patch {
        if key == PATCH {
            continue;
        }
        match (value, directive(value)) {
            (Value::Null, _) | (_, Some("delete")) => {
                target.remove(key);
            }
            (_, Some("replace")) => {
                target.insert(key.clone(), cleaned(value));
            }
            (Value::Object(_), _) => match target.get_mut(key) {
                Some(existing @ Value::Object(_)) => merge_map(existing, value),
                _ => {
                    target.insert(key.clone(), cleaned(value));
                }
            },
            _ => {
                target.insert(key.clone(), cleaned(value));
            }
        }
    }
}

/// A patch value as it lands in the object: without directives and `null`s.
fn cleaned(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(k, v)| *k != PATCH && !v.is_null()).map(|(k, v)| (k.clone(), cleaned(v))).collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn mappings_merge_nulls_delete_and_lists_are_replaced() {
        let mut object = json!({"a": {"b": 1, "c": 2}, "list": [{"name": "x"}, {"name": "y"}], "gone": 1});
        let patch = json!({"a": {"c": 3, "d": {"e": null, "f": 4}}, "list": [{"name": "z"}], "gone": null});
        assert_eq!(merge(&mut object, &patch), Ok(Outcome::Kept));
        assert_eq!(object, json!({"a": {"b": 1, "c": 3, "d": {"f": 4}}, "list": [{"name": "z"}]}));
    }

    #[test]
    fn directives_delete_and_replace_mappings() {
        let mut object = json!({"keep": 1, "spec": {"a": {"x": 1, "y": 2}, "b": {"z": 1}}});
        let patch = json!({"spec": {"a": {"$patch": "replace", "w": 0}, "b": {"$patch": "delete"}}});
        assert_eq!(merge(&mut object, &patch), Ok(Outcome::Kept));
        assert_eq!(object, json!({"keep": 1, "spec": {"a": {"w": 0}}}));
        assert_eq!(merge(&mut object, &json!({"$patch": "delete"})), Ok(Outcome::Deleted));
    }

    #[test]
    fn directives_that_need_a_schema_are_reported() {
        let mut object = json!({"spec": {"env": [{"name": "A"}]}});
        let in_list = json!({"spec": {"env": [{"name": "A", "$patch": "delete"}]}});
        assert_eq!(merge(&mut object, &in_list).map_err(|e| e.path), Err("spec.env[0]".to_owned()));
        let retain = json!({"spec": {"$retainKeys": ["env"]}});
        assert!(merge(&mut object, &retain).is_err());
        assert!(merge(&mut object, &json!({"$patch": "explode"})).is_err());
    }
}
