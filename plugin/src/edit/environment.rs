//! Edits of the fields an environment's override writes in the project file (`environments.<env>.…`), changing only their scalars.
//!
//! When `--env prod` renders a model whose canary weight comes from
//! `environments.prod.overrides` (or a `models` entry of it), that is the
//! value to change: the spec's would not take effect in `prod`. Only a
//! scalar the override already writes is replaced; an edit that would add
//! or remove structure in the project file (promoting a canary the
//! environment defines, starting one there) is refused with what to do.

use serde_json::Value as Json;

use super::error::EditError;
use super::message::{Change, shown};
use super::read_back::verify;
use super::scalar::{Context, Scalar, style_of};
use super::splice::Source;
use super::tree::{self, Item, Shape};
use crate::yaml::path::{FieldPath, Segment};
use crate::yaml::stream::parse_stream;

/// Sets each of `fields` (paths in the project file's document) to its
/// value in `text`; returns the new text and what changed.
pub fn set_scalars(text: &str, fields: &[(FieldPath, Scalar)]) -> Result<(String, Vec<Change>), EditError> {
    let values =
        parse_stream(text).map_err(|e| EditError::Unparseable { message: e.message.clone(), position: e.position })?;
    let layout =
        tree::parse(text).map_err(|e| EditError::Unparseable { message: e.message, position: Some(e.position) })?;
    let (Some(document), Some(value)) = (layout.first(), values.first()) else {
        return Err(EditError::Unparseable { message: "the project file is empty".to_owned(), position: None });
    };
    let source = Source::new(text);
    let mut expected = value.to_json();
    let mut splices = Vec::new();
    let mut changes = Vec::new();
    for (path, new) in fields {
        let field = path.to_string();
        let (item, flow) = walk(document, path).ok_or_else(|| EditError::Malformed {
            field: field.clone(),
            problem: "is not a scalar the environment writes".to_owned(),
            position: document.position,
        })?;
        if let Some(shared) = item.shared() {
            return Err(EditError::Unfaithful {
                field,
                reason: "it is an anchor or an alias, which other fields may share".to_owned(),
                position: shared.position,
            });
        }
        let old = item.scalar().map(str::to_owned);
        if old.as_deref() == Some(new.shown().as_str()) {
            continue;
        }
        let context = if flow { Context::Flow } else { Context::Block };
        let value = match (new, style_of(item)) {
            // A quoted number stays a string, as the user wrote it.
            (Scalar::Number(n), style) if style != serde_saphyr::granit_parser::ScalarStyle::Plain => {
                Scalar::Text(n.to_string())
            }
            (other, _) => other.clone(),
        };
        splices.push(source.replace_scalar(&field, item, &value, context)?);
        if let Some(slot) = pointer(&mut expected, path) {
            *slot = match &value {
                Scalar::Text(s) => Json::String(s.clone()),
                Scalar::Number(n) => Json::from(*n),
            };
        }
        changes.push(Change { field, old: old.as_deref().map(shown), new: Some(shown(&value.shown())) });
    }
    let position = document.position;
    let edited = source.apply(&mut splices).ok_or_else(|| EditError::Unfaithful {
        field: "environments".to_owned(),
        reason: "its changes overlap".to_owned(),
        position,
    })?;
    verify(&values, 0, &expected, &edited, position)?;
    Ok((edited, changes))
}

/// The node at `path` under `document`, and whether its parent is written in flow style.
fn walk<'t>(document: &'t Item, path: &FieldPath) -> Option<(&'t Item, bool)> {
    let mut node = document;
    let mut flow = false;
    for segment in &path.0 {
        flow = matches!(node.shape, Shape::Map(_, true));
        node = match (segment, &node.shape) {
            (Segment::Key(key), Shape::Map(..)) => node.get(key)?,
            (Segment::Index(i), Shape::Seq(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    matches!(node.shape, Shape::Scalar(..)).then_some((node, flow))
}

/// The value at `path` of `json`, when every step is there.
fn pointer<'j>(json: &'j mut Json, path: &FieldPath) -> Option<&'j mut Json> {
    path.0.iter().try_fold(json, |node, segment| match segment {
        Segment::Key(key) => node.get_mut(key.as_str()),
        Segment::Index(i) => node.get_mut(*i),
    })
}
