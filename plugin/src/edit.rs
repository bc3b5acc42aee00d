//! Spec edits that keep the file as written: canary weight, promotion, rollback and version bumps, changing only the lines that carry the change.
//!
//! The file is read twice by the same parser: into the plugin's value tree
//! (as rendering reads it, with its budgets and duplicate-key checks) and
//! into a layout of byte ranges ([`tree`]). An edit is a few splices of
//! those ranges ([`splice`]): a scalar's text, a block entry's lines, a flow
//! entry and its comma. Everything else (comments, key order, quoting,
//! blank lines, line breaks, other documents) is copied byte for byte. What
//! cannot be changed that way (anchors, aliases, merge keys, tags, scalars
//! over several lines) is refused, not rewritten. Before returning, the new
//! text is read back and compared with the intended result: an edit that
//! would read back as anything else is refused too.

pub(crate) mod environment;
pub(crate) mod error;
pub(crate) mod message;
pub(crate) mod read_back;
pub(crate) mod scalar;
pub(crate) mod splice;
pub(crate) mod tree;

use serde_json::Value as Json;
use serde_saphyr::granit_parser::ScalarStyle;

pub use error::EditError;
pub use message::Change;
use message::{Line, Message, Split, shown};
use read_back::verify;
use scalar::style_of;
use scalar::{Context, Scalar};
use splice::{NewValue, Source, Splice};
use tree::{Item, Shape};

use crate::assemble::Found;
use crate::context::RenderContext;
use crate::diagnostic::Diagnostic;
use crate::model::percent::Percent;
use crate::model::spec::{API_GROUP_PREFIX, KIND};
use crate::source::SourceFile;
use crate::yaml::node::Node;
use crate::yaml::path::FieldPath;
use crate::yaml::stream::parse_stream;

/// The fields a canary can set that the stable model has too: promotion moves them.
pub const PROMOTED_FIELDS: [&str; 3] = ["version", "storageUri", "image"];

/// What to change in a model's spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditRequest {
    /// Set `spec.canary.trafficPercent`.
    SetCanaryWeight(Percent),
    /// Move the canary's `version`, `storageUri` and `image` into
    /// `spec.model` and remove `spec.canary`: the stable model then serves
    /// what the canary served (a canary without `storageUri` served none, so
    /// the model's is removed; one without `image` ran the model's).
    Promote,
    /// Remove `spec.canary`, or with `keep` set its `trafficPercent` to 0.
    Rollback {
        /// Keep the canary deployed with no traffic.
        keep: bool,
    },
    /// A new model version: in `spec.model`, or as a new canary at `canary` percent.
    Bump {
        /// The new `version`.
        version: String,
        /// The new `storageUri`, if it changes.
        storage_uri: Option<String>,
        /// The new `image`, if it changes.
        image: Option<String>,
        /// Start a canary at this weight instead of replacing the stable model.
        canary: Option<Percent>,
    },
}

impl EditRequest {
    /// The `Modelgen-Action` trailer's value.
    pub fn action(&self) -> &'static str {
        match self {
            EditRequest::SetCanaryWeight(_) => "set-weight",
            EditRequest::Promote => "promote",
            EditRequest::Rollback { .. } => "rollback",
            EditRequest::Bump { .. } => "bump",
        }
    }
}

/// The result of an edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edited {
    /// The whole file, changed only in the lines that carry the change.
    pub text: String,
    /// What changed.
    pub changes: Vec<Change>,
    /// A suggested commit message, ending with `Modelgen-*` git trailers.
    pub message: String,
}

/// One file's new contents, for the application-level [`edit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditedFile {
    /// The file that changed.
    pub file: String,
    /// The edit.
    pub edited: Edited,
}

/// Applies `request` to the model named `model` in the application
/// `sources`, as configured for `context`: where the value the context
/// renders is written. That is the spec file, unless the context's
/// environment overrides the changed field in the project file; then the
/// override's scalar changes (see [`environment`]). The application must
/// assemble cleanly first (an edit of a broken application would hide its
/// errors); a refusal is a diagnostic at the field, and nothing changes.
pub fn edit(
    sources: &[SourceFile],
    context: &RenderContext,
    model: &str,
    request: &EditRequest,
) -> Result<EditedFile, Vec<Diagnostic>> {
    let app = crate::assemble::assemble_locating(sources, context)?;
    let mut defining = app.found.iter().filter(|f| f.spec.metadata.name == model);
    let Some(found) = defining.next() else {
        let mut known: Vec<String> = app.found.iter().map(|f| format!("`{}`", shown(&f.spec.metadata.name))).collect();
        known.sort();
        let hint = if known.is_empty() {
            "the application defines no model".to_owned()
        } else {
            format!("the models are {}", known.join(", "))
        };
        return Err(vec![
            Diagnostic::error(format!("no model named `{}` in this application", shown(model))).hint(hint),
        ]);
    };
    if let Some(other) = defining.next() {
        return Err(vec![
            Diagnostic::error(format!(
                "model `{}` is defined twice, here and in `{}`: an edit could not know which to change",
                shown(model),
                other.file
            ))
            .in_file(found.file)
            .at(Some(found.document.position_of(&FieldPath::parse("metadata.name"))))
            .field("metadata.name"),
        ]);
    }
    let text_of = |file: &str| -> Result<&str, Vec<Diagnostic>> {
        let source = sources
            .iter()
            .find(|s| s.path == file)
            .ok_or_else(|| vec![Diagnostic::error(format!("the file `{file}` was not passed"))])?;
        std::str::from_utf8(&source.contents)
            .map_err(|_| vec![Diagnostic::error("the file is not UTF-8").in_file(file.to_owned())])
    };
    let at = |file: &str, error: &EditError| {
        let mut diagnostic = Diagnostic::error(error.to_string()).in_file(file.to_owned()).at(error.position());
        if let Some(field) = error.field() {
            diagnostic = diagnostic.field(field.to_owned());
        }
        vec![diagnostic]
    };
    if let Some(environment) = context.environment.as_deref()
        && let Some(edited) = in_environment(found, environment, model, request)?
    {
        let file = edited.0.clone();
        let text = text_of(&file)?;
        let (text, changes) = environment::set_scalars(text, &edited.1).map_err(|e| at(&file, &e))?;
        let lines: Vec<Line> =
            changes.iter().map(|c| Line { field: c.field.clone(), old: c.old.clone(), new: c.new.clone() }).collect();
        let message = Message {
            model,
            action: request.action(),
            subject: format!("{} in `{}`", edited.2, shown(environment)),
            lines: &lines,
            from: edited.3,
            to: edited.4,
            version: match request {
                EditRequest::Bump { version, .. } => Some(version.as_str()),
                _ => None,
            },
        }
        .text();
        return Ok(EditedFile { file, edited: Edited { text, changes, message } });
    }
    let file = found.file.to_owned();
    let edited = edit_spec(text_of(&file)?, model, request).map_err(|e| at(&file, &e))?;
    Ok(EditedFile { file, edited })
}

/// The project file's scalars to set when `environment` writes what
/// `request` changes: the file, the fields and values, the message's
/// subject, and the split before and after. `None` when the spec holds
/// every value the environment renders (the spec is edited then).
type InEnvironment = (String, Vec<(FieldPath, Scalar)>, String, Split, Split);

/// See [`InEnvironment`]. A structural change the environment would have
/// to make (adding or removing its canary, promoting one it defines) is
/// refused: only scalars an override already writes are changed.
fn in_environment(
    found: &Found<'_>,
    environment: &str,
    model: &str,
    request: &EditRequest,
) -> Result<Option<InEnvironment>, Vec<Diagnostic>> {
    let elsewhere =
        |field: &str| found.locate(field).filter(|l| l.file.is_some() && l.file.as_deref() != Some(found.file));
    let spec = &found.spec.spec;
    let from = Split {
        stable: spec.model.version.clone(),
        canary: spec.canary.as_ref().map(|c| (c.version.clone(), c.traffic().get().to_string())),
    };
    let refuse = |location: &crate::assemble::stack::Location, what: &str| {
        vec![
            Diagnostic::error(format!(
                "environment `{}` writes `{}` of model `{}` here: {what}",
                shown(environment),
                location.field,
                shown(model)
            ))
            .in_file(location.file.clone().unwrap_or_default())
            .at(location.position)
            .field(location.field.clone())
            .hint("edit the project file by hand, or run the command without `--env` to edit the spec"),
        ]
    };
    has_canary(found, environment, model, request, &refuse)?;
    let scalars: Vec<(&str, Scalar)> = match request {
        EditRequest::SetCanaryWeight(weight) => {
            vec![("spec.canary.trafficPercent", Scalar::Number(weight.get().into()))]
        }
        EditRequest::Rollback { keep: true } => vec![("spec.canary.trafficPercent", Scalar::Number(0))],
        EditRequest::Bump { version, storage_uri, image, canary: None } => [
            ("spec.model.version", Some(version)),
            ("spec.model.storageUri", storage_uri.as_ref()),
            ("spec.model.image", image.as_ref()),
        ]
        .into_iter()
        .filter_map(|(field, value)| Some((field, Scalar::Text(value?.clone()))))
        .collect(),
        EditRequest::Promote | EditRequest::Rollback { keep: false } | EditRequest::Bump { canary: Some(_), .. } => {
            for field in [
                "spec.canary",
                "spec.canary.trafficPercent",
                "spec.model.version",
                "spec.model.storageUri",
                "spec.model.image",
            ] {
                if let Some(location) = elsewhere(field) {
                    return Err(refuse(
                        location,
                        &format!(
                            "`{}` changes the canary's structure, which modelgen edits only in the spec",
                            request.action()
                        ),
                    ));
                }
            }
            return Ok(None);
        }
    };
    let (outside, inside): (Vec<_>, Vec<_>) = scalars.into_iter().partition(|(field, _)| elsewhere(field).is_some());
    if outside.is_empty() {
        return Ok(None);
    }
    if let Some((field, _)) = inside.first() {
        let location = elsewhere(outside[0].0).expect("partitioned on it");
        return Err(refuse(
            location,
            &format!("but the spec writes `{field}`; an edit of both files at once is not supported"),
        ));
    }
    let located: Vec<&crate::assemble::stack::Location> =
        outside.iter().filter_map(|(field, _)| elsewhere(field)).collect();
    let file = located[0].file.clone().unwrap_or_default();
    let fields = outside
        .into_iter()
        .zip(&located)
        .map(|((_, value), location)| (FieldPath::parse(&location.field), value))
        .collect();
    let (subject, to) = match request {
        EditRequest::SetCanaryWeight(weight) => {
            (format!("Set the canary of `{}` to {weight}%", shown(model)), with_weight(&from, *weight))
        }
        EditRequest::Rollback { .. } => {
            (format!("Roll back the canary of `{}` (kept at 0%)", shown(model)), with_weight(&from, Percent::NONE))
        }
        EditRequest::Bump { version, .. } => (
            format!("Bump `{}` to `{}`", shown(model), shown(version)),
            Split { stable: version.clone(), canary: from.canary.clone() },
        ),
        EditRequest::Promote => unreachable!("refused above"),
    };
    Ok(Some((file, fields, subject, from, to)))
}

/// Refuses a request that needs a canary when the environment renders none.
fn has_canary(
    found: &Found<'_>,
    environment: &str,
    model: &str,
    request: &EditRequest,
    refuse: &dyn Fn(&crate::assemble::stack::Location, &str) -> Vec<Diagnostic>,
) -> Result<(), Vec<Diagnostic>> {
    let needs_canary =
        matches!(request, EditRequest::SetCanaryWeight(_) | EditRequest::Promote | EditRequest::Rollback { .. });
    if !needs_canary || found.spec.spec.canary.is_some() {
        return Ok(());
    }
    let written_by_environment =
        found.locate("spec.canary").filter(|l| l.file.is_some() && l.file.as_deref() != Some(found.file));
    Err(match written_by_environment {
        Some(location) => refuse(location, "the environment removes the canary, so there is none to change"),
        None => vec![
            Diagnostic::error(format!(
                "model `{}` has no canary (`spec.canary`) in environment `{}`",
                shown(model),
                shown(environment)
            ))
            .in_file(found.file.to_owned())
            .at(Some(found.document.position_of(&FieldPath::parse("spec"))))
            .field("spec.canary"),
        ],
    })
}

/// Applies `request` to the `ModelDeployment` named `model` in `file_text`.
pub fn edit_spec(file_text: &str, model: &str, request: &EditRequest) -> Result<Edited, EditError> {
    let values = parse_stream(file_text)
        .map_err(|e| EditError::Unparseable { message: e.message.clone(), position: e.position })?;
    let layout = tree::parse(file_text)
        .map_err(|e| EditError::Unparseable { message: e.message, position: Some(e.position) })?;
    let document = find_model(&layout, model)?;
    check_line_breaks(file_text)?;
    let target = values
        .iter()
        .position(|doc| is_model(doc, model))
        .ok_or_else(|| EditError::UnknownModel { model: model.to_owned() })?;

    let source = Source::new(file_text);
    // Problems with the spec as a whole point at its key.
    let spec_key = document.entry("spec").map_or(document.position, |(key, _)| key.position);
    let mut plan = Plan {
        source,
        model,
        spec_key,
        splices: Vec::new(),
        removed: Vec::new(),
        changes: Vec::new(),
        expected: values[target].to_json(),
    };
    let spec = mapping("spec", document.get("spec"), document)?;
    let stable = mapping("spec.model", spec.get("model"), spec)?;
    let from = split(stable, spec.get("canary"));
    let (subject, to) = match request {
        EditRequest::SetCanaryWeight(weight) => {
            let canary = plan.canary(spec)?;
            plan.set_weight(canary, *weight)?;
            (format!("Set the canary of `{}` to {weight}%", shown(model)), with_weight(&from, *weight))
        }
        EditRequest::Rollback { keep: true } => {
            let canary = plan.canary(spec)?;
            plan.set_weight(canary, Percent::NONE)?;
            (format!("Roll back the canary of `{}` (kept at 0%)", shown(model)), with_weight(&from, Percent::NONE))
        }
        EditRequest::Rollback { keep: false } => {
            plan.canary(spec)?;
            plan.remove_canary(spec)?;
            let to = Split { stable: from.stable.clone(), canary: None };
            (format!("Roll back the canary of `{}`", shown(model)), to)
        }
        EditRequest::Promote => {
            plan.promote(spec, stable)?;
            let version = from.canary.as_ref().map_or_else(|| from.stable.clone(), |(v, _)| v.clone());
            (
                format!("Promote canary `{}` of `{}`", shown(&version), shown(model)),
                Split { stable: version, canary: None },
            )
        }
        EditRequest::Bump { version, storage_uri, image, canary: None } => {
            let fields = [("version", Some(version)), ("storageUri", storage_uri.as_ref()), ("image", image.as_ref())];
            for (field, value) in fields {
                if let Some(value) = value {
                    plan.set_model_field(stable, field, &Scalar::Text(value.clone()), ScalarStyle::Plain)?;
                }
            }
            let to = Split { stable: version.clone(), canary: from.canary.clone() };
            (format!("Bump `{}` to `{}`", shown(model), shown(version)), to)
        }
        EditRequest::Bump { version, storage_uri, image, canary: Some(weight) } => {
            if let Some(existing) = spec.get("canary") {
                return Err(EditError::CanaryExists {
                    model: model.to_owned(),
                    version: existing.get("version").and_then(Item::scalar).map_or_else(|| "?".to_owned(), shown),
                    position: spec.entry("canary").map_or(existing.position, |(key, _)| key.position),
                });
            }
            plan.add_canary(spec, stable, version, storage_uri.as_deref(), image.as_deref(), *weight)?;
            let to = Split { stable: from.stable.clone(), canary: Some((version.clone(), weight.to_string())) };
            (format!("Start canary `{}` of `{}` at {weight}%", shown(version), shown(model)), to)
        }
    };

    let text = source.apply(&mut plan.splices).ok_or_else(|| EditError::Unfaithful {
        field: "spec".to_owned(),
        reason: "its changes overlap".to_owned(),
        position: plan.spec_key,
    })?;
    verify(&values, target, &plan.expected, &text, plan.spec_key)?;
    let lines: Vec<Line> =
        plan.changes.iter().map(|c| Line { field: c.field.clone(), old: c.old.clone(), new: c.new.clone() }).collect();
    let version = match request {
        EditRequest::Bump { version, .. } => Some(version.as_str()),
        _ => None,
    };
    let message = Message { model, action: request.action(), subject, lines: &lines, from, to, version }.text();
    Ok(Edited { text, changes: plan.changes, message })
}

/// The splices, changes and expected result of one edit, built step by step.
struct Plan<'a> {
    /// The file.
    source: Source<'a>,
    /// The model's name.
    model: &'a str,
    /// Where the `spec` key is written.
    spec_key: crate::diagnostic::Position,
    /// The replacements so far.
    splices: Vec<Splice>,
    /// Where the keys of the entries removed so far start.
    removed: Vec<usize>,
    /// The changes so far.
    changes: Vec<Change>,
    /// The target document as it should read after the edit.
    expected: Json,
}

impl Plan<'_> {
    /// The model's canary mapping, or [`EditError::NoCanary`].
    fn canary<'t>(&self, spec: &'t Item) -> Result<&'t Item, EditError> {
        match spec.get("canary") {
            None => Err(EditError::NoCanary { model: self.model.to_owned(), position: self.spec_key }),
            Some(canary) => mapping("spec.canary", Some(canary), spec),
        }
    }

    /// Moves the canary's fields into `spec.model` and removes the canary.
    fn promote(&mut self, spec: &Item, stable: &Item) -> Result<(), EditError> {
        let canary = self.canary(spec)?;
        // A canary without `storageUri` served no artifacts (it is not
        // inherited, unlike `image`): neither will the promoted model.
        if canary.get("storageUri").is_none() && stable.get("storageUri").is_some() {
            self.remove_field("spec.model", stable, "storageUri")?;
        }
        for field in PROMOTED_FIELDS {
            if let Some(value) = canary.get(field) {
                let path = format!("spec.canary.{field}");
                let text = value.scalar().ok_or_else(|| malformed(&path, "is not a scalar", value))?;
                self.set_model_field(stable, field, &Scalar::Text(text.to_owned()), style_of(value))?;
            }
        }
        self.remove_canary(spec)
    }

    /// Sets the canary's `trafficPercent`.
    fn set_weight(&mut self, canary: &Item, weight: Percent) -> Result<(), EditError> {
        let value = Scalar::Number(weight.get().into());
        self.set_field("spec.canary", canary, "trafficPercent", &value, ScalarStyle::Plain)
    }

    /// Sets `field` of `spec.model`.
    fn set_model_field(
        &mut self,
        model: &Item,
        field: &str,
        value: &Scalar,
        style: ScalarStyle,
    ) -> Result<(), EditError> {
        self.set_field("spec.model", model, field, value, style)
    }

    /// Sets `field` of the mapping `map` at `path`: replaces its scalar, or
    /// adds the entry (in `style`) when the mapping does not have it.
    fn set_field(
        &mut self,
        path: &str,
        map: &Item,
        field: &str,
        value: &Scalar,
        style: ScalarStyle,
    ) -> Result<(), EditError> {
        let full = format!("{path}.{field}");
        let context = if map.is_flow_map() { Context::Flow } else { Context::Block };
        let old = map.get(field).and_then(Item::scalar).map(str::to_owned);
        if let Some(item) = map.get(field) {
            // Already the value (a number only when written as one): nothing to change.
            let same_type = matches!(value, Scalar::Text(_)) || style_of(item) == ScalarStyle::Plain;
            if old.as_deref() == Some(value.shown().as_str()) && same_type {
                return Ok(());
            }
            self.splices.push(self.source.replace_scalar(&full, item, value, context)?);
        } else {
            // After the last entry that stays: a removed one takes its lines along.
            let after = map.entries().and_then(|e| e.iter().rposition(|(k, _)| !self.removed.contains(&k.start)));
            let new = NewValue::Scalar(value.clone(), style);
            self.splices.push(self.source.insert_entry(&full, map, after, field, &new, 0)?);
        }
        let json = match value {
            Scalar::Text(s) => Json::String(s.clone()),
            Scalar::Number(n) => Json::from(*n),
        };
        if let Some(object) = pointer(&mut self.expected, path) {
            object.insert(field.to_owned(), json);
        }
        self.changes.push(Change { field: full, old: old.as_deref().map(shown), new: Some(shown(&value.shown())) });
        Ok(())
    }

    /// Removes `spec.canary`.
    fn remove_canary(&mut self, spec: &Item) -> Result<(), EditError> {
        if spec.get("canary").is_none() {
            return Err(EditError::NoCanary { model: self.model.to_owned(), position: self.spec_key });
        }
        self.remove_field("spec", spec, "canary")
    }

    /// Removes `field` from the mapping `map` at `path` (it must be there).
    fn remove_field(&mut self, path: &str, map: &Item, field: &str) -> Result<(), EditError> {
        let full = format!("{path}.{field}");
        let Some(index) = map.entries().and_then(|e| e.iter().position(|(k, _)| k.scalar() == Some(field))) else {
            return Err(malformed(&full, "is missing", map));
        };
        self.splices.push(self.source.remove_entry(&full, map, index)?);
        if let Some((key, _)) = map.entries().and_then(|e| e.get(index)) {
            self.removed.push(key.start);
        }
        if let Some(object) = pointer(&mut self.expected, path) {
            object.remove(field);
        }
        let old = map.entries().map(|entries| flow_text(&entries[index].1));
        self.changes.push(Change { field: full, old, new: None });
        Ok(())
    }

    /// Adds `spec.canary` after `spec.model`, in the model's style.
    fn add_canary(
        &mut self,
        spec: &Item,
        stable: &Item,
        version: &str,
        storage_uri: Option<&str>,
        image: Option<&str>,
        weight: Percent,
    ) -> Result<(), EditError> {
        let style = |field: &str| stable.get(field).map_or(ScalarStyle::Plain, style_of);
        let mut fields = vec![("version".to_owned(), Scalar::Text(version.to_owned()), style("version"))];
        if let Some(uri) = storage_uri {
            fields.push(("storageUri".to_owned(), Scalar::Text(uri.to_owned()), style("storageUri")));
        }
        if let Some(image) = image {
            fields.push(("image".to_owned(), Scalar::Text(image.to_owned()), style("image")));
        }
        fields.push(("trafficPercent".to_owned(), Scalar::Number(weight.get().into()), ScalarStyle::Plain));
        let index = spec.entries().and_then(|e| e.iter().position(|(k, _)| k.scalar() == Some("model")));
        let (model_key, _) = index
            .and_then(|i| spec.entries().map(|e| &e[i]))
            .ok_or_else(|| malformed("spec.model", "is missing", spec))?;
        // A block `model` sets the indentation step; a flow one (or none) makes the canary flow too.
        let step = self.source.child_step(model_key, stable);
        let value = NewValue::Map(fields.clone(), step.is_none());
        self.splices.push(self.source.insert_entry("spec.canary", spec, index, "canary", &value, step.unwrap_or(0))?);
        let object: serde_json::Map<String, Json> = fields
            .iter()
            .map(|(k, v, _)| {
                let json = match v {
                    Scalar::Text(s) => Json::String(s.clone()),
                    Scalar::Number(n) => Json::from(*n),
                };
                (k.clone(), json)
            })
            .collect();
        let shown_new = format!(
            "{{{}}}",
            fields.iter().map(|(k, v, _)| format!("{k}: {}", shown(&v.shown()))).collect::<Vec<_>>().join(", ")
        );
        if let Some(spec) = pointer(&mut self.expected, "spec") {
            spec.insert("canary".to_owned(), Json::Object(object));
        }
        self.changes.push(Change { field: "spec.canary".to_owned(), old: None, new: Some(shown_new) });
        Ok(())
    }
}

/// Refuses a file that breaks lines with a lone CR: YAML reads one as a
/// line break, and edits work on LF and CRLF lines only.
fn check_line_breaks(text: &str) -> Result<(), EditError> {
    let Some(at) = text.as_bytes().windows(2).position(|w| w[0] == b'\r' && w[1] != b'\n') else { return Ok(()) };
    let line = text[..=at].matches(['\n', '\r']).count().saturating_sub(1);
    Err(EditError::Unfaithful {
        field: "(file)".to_owned(),
        reason: "it breaks lines with a lone carriage return (`\\r`)".to_owned(),
        position: crate::diagnostic::Position { line: u32::try_from(line).unwrap_or(u32::MAX), column: 0 },
    })
}

/// The mapping at `field` (`found`), or why it cannot be edited; `parent` places a missing one.
fn mapping<'t>(field: &str, found: Option<&'t Item>, parent: &Item) -> Result<&'t Item, EditError> {
    let item = found.ok_or_else(|| malformed(field, "is missing", parent))?;
    match &item.shape {
        Shape::Alias => Err(EditError::Unfaithful {
            field: field.to_owned(),
            reason: "it is an alias (`*name`) of another node".to_owned(),
            position: item.position,
        }),
        Shape::Map(entries, _) => {
            if let Some((key, _)) = entries.iter().find(|(k, _)| k.scalar() == Some("<<")) {
                return Err(EditError::Unfaithful {
                    field: field.to_owned(),
                    reason: "it has a merge key (`<<`): its fields may be written elsewhere".to_owned(),
                    position: key.position,
                });
            }
            if item.anchored {
                return Err(EditError::Unfaithful {
                    field: field.to_owned(),
                    reason: "it defines an anchor (`&name`) that other nodes may repeat".to_owned(),
                    position: item.position,
                });
            }
            Ok(item)
        }
        _ => Err(malformed(field, "is not a mapping", item)),
    }
}

/// A [`EditError::Malformed`] at `item`.
fn malformed(field: &str, problem: &str, item: &Item) -> EditError {
    EditError::Malformed { field: field.to_owned(), problem: problem.to_owned(), position: item.position }
}

/// The single document of the layout that defines `model`.
fn find_model<'t>(layout: &'t [Item], model: &str) -> Result<&'t Item, EditError> {
    let mut found = layout.iter().filter(|doc| {
        let header = |key: &str| doc.get(key).and_then(Item::scalar);
        header("kind") == Some(KIND)
            && header("apiVersion").is_some_and(|v| v.starts_with(API_GROUP_PREFIX))
            && doc.get("metadata").and_then(|m| m.get("name")).and_then(Item::scalar) == Some(model)
    });
    let first = found.next().ok_or_else(|| EditError::UnknownModel { model: model.to_owned() })?;
    if let Some(second) = found.next() {
        return Err(EditError::DuplicateModel {
            model: model.to_owned(),
            first: first.position,
            second: second.position,
        });
    }
    Ok(first)
}

/// Whether the parsed document `doc` defines `model` (as [`find_model`] decides on the layout).
fn is_model(doc: &Node, model: &str) -> bool {
    let header = |key: &str| doc.get(key).and_then(Node::as_str);
    header("kind") == Some(KIND)
        && header("apiVersion").is_some_and(|v| v.starts_with(API_GROUP_PREFIX))
        && doc.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str) == Some(model)
}

/// The split as the spec writes it now.
fn split(stable: &Item, canary: Option<&Item>) -> Split {
    let text = |item: Option<&Item>| item.and_then(Item::scalar).unwrap_or("?").to_owned();
    Split {
        stable: text(stable.get("version")),
        canary: canary.map(|c| (text(c.get("version")), text(c.get("trafficPercent")))),
    }
}

/// `from` with the canary at `weight`.
fn with_weight(from: &Split, weight: Percent) -> Split {
    Split { stable: from.stable.clone(), canary: from.canary.as_ref().map(|(v, _)| (v.clone(), weight.to_string())) }
}

/// The object at a dotted `path` of `json`, when every step is one.
fn pointer<'j>(json: &'j mut Json, path: &str) -> Option<&'j mut serde_json::Map<String, Json>> {
    path.split('.').try_fold(json, |node, key| node.get_mut(key))?.as_object_mut()
}

/// A node in YAML flow style on one line, in source order, scalars as
/// [`shown`] (how a change list shows a removed mapping).
fn flow_text(item: &Item) -> String {
    match &item.shape {
        Shape::Map(entries, _) => {
            let entries: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}: {}", flow_text(k), flow_text(v))).collect();
            format!("{{{}}}", entries.join(", "))
        }
        Shape::Seq(items) => format!("[{}]", items.iter().map(flow_text).collect::<Vec<_>>().join(", ")),
        Shape::Scalar(text, _) => shown(text),
        Shape::Alias => "*alias".to_owned(),
    }
}

#[cfg(test)]
mod tests;
