//! Why a spec edit was refused: nothing is written when any of these is returned.

use crate::diagnostic::Position;

/// A refused edit. Positions are 0-based (as [`Position`] everywhere in the
/// plugin); messages quote values in backticks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The file is not valid YAML.
    #[error("the file is not valid YAML: {message}")]
    Unparseable {
        /// What the parser said.
        message: String,
        /// Where, when known.
        position: Option<Position>,
    },
    /// No `ModelDeployment` in the file has this `metadata.name`.
    #[error("no ModelDeployment named `{model}` in this file")]
    UnknownModel {
        /// The name asked for.
        model: String,
    },
    /// Two documents of the file define the model.
    #[error("ModelDeployment `{model}` is defined twice in this file (lines {} and {})", first.line + 1, second.line + 1)]
    DuplicateModel {
        /// The name.
        model: String,
        /// Where the first definition starts.
        first: Position,
        /// Where the second definition starts.
        second: Position,
    },
    /// The request needs a canary and the model has none.
    #[error("model `{model}` has no canary (`spec.canary`)")]
    NoCanary {
        /// The model.
        model: String,
        /// Where its `spec` is.
        position: Position,
    },
    /// `bump --canary` on a model that already has a canary.
    #[error("model `{model}` already has a canary (`spec.canary`, version `{version}`): promote or roll it back first")]
    CanaryExists {
        /// The model.
        model: String,
        /// The existing canary's version.
        version: String,
        /// Where the existing canary is.
        position: Position,
    },
    /// A field the edit needs is missing or has the wrong shape (for example `spec.model` is not a mapping).
    #[error("field `{field}` {problem}")]
    Malformed {
        /// The field path.
        field: String,
        /// What is wrong with it.
        problem: String,
        /// Where.
        position: Position,
    },
    /// The field is written in a way the editor cannot change without
    /// rewriting more than its own lines (an anchor, alias or merge key, a
    /// tag, a multi-line or block scalar, a key that does not start its line).
    #[error("field `{field}` cannot be edited in place: {reason}")]
    Unfaithful {
        /// The field path.
        field: String,
        /// Why.
        reason: String,
        /// Where.
        position: Position,
    },
}

impl EditError {
    /// The field the problem is about, when it is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            EditError::Malformed { field, .. } | EditError::Unfaithful { field, .. } => Some(field),
            EditError::NoCanary { .. } | EditError::CanaryExists { .. } => Some("spec.canary"),
            EditError::DuplicateModel { .. } => Some("metadata.name"),
            EditError::Unparseable { .. } | EditError::UnknownModel { .. } => None,
        }
    }

    /// Where the problem is, when it is somewhere in the file.
    pub fn position(&self) -> Option<Position> {
        match self {
            EditError::Unparseable { position, .. } => *position,
            EditError::UnknownModel { .. } => None,
            EditError::DuplicateModel { second, .. } => Some(*second),
            EditError::NoCanary { position, .. }
            | EditError::CanaryExists { position, .. }
            | EditError::Malformed { position, .. }
            | EditError::Unfaithful { position, .. } => Some(*position),
        }
    }
}
