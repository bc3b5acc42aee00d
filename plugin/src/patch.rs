//! An environment's output patches, in kustomize's `patches:` format, applied to the rendered objects.
//!
//! RFC 6902 JSON patches go through the `json-patch` crate; strategic-merge
//! patches through [`strategic`]. Targets select as kustomize's do: group,
//! version and kind exactly, name and namespace as anchored regular
//! expressions, labels and annotations with Kubernetes label selectors.

pub(crate) mod selector;
pub(crate) mod strategic;
pub(crate) mod target;

use std::fmt;

use serde_json::Value as Json;

use crate::diagnostic::{Diagnostic, Position};
use crate::model::project::{self, Loaded, PatchEntry};
use crate::source::SourceFile;
use crate::yaml::node::{Node, Value};
use crate::yaml::path::FieldPath;
use crate::yaml::stream as yaml;
use target::Target;

/// A rendered object and the spec file it came from.
pub type Object<'a> = (Json, &'a str);

/// Applies environment `name`'s patches, in order, to `objects`.
pub fn apply(
    project: &Loaded,
    name: &str,
    sources: &[SourceFile],
    objects: &mut Vec<Object<'_>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(environment) = project.project.environments.get(name) else { return };
    for (i, entry) in environment.patches.iter().enumerate() {
        let at = project::patch_path(name, i);
        let context = Context { project, entry, at: &at };
        match context.body(sources).and_then(|body| context.apply(&body, objects)) {
            Ok(Some(warning)) => diagnostics.push(warning),
            Ok(None) => {}
            Err(error) => diagnostics.push(error),
        }
    }
}

/// One patch entry being applied.
struct Context<'a> {
    /// The project file that holds the entry.
    project: &'a Loaded,
    /// The entry being applied.
    entry: &'a PatchEntry,
    /// The entry's path in the project file.
    at: &'a FieldPath,
}

/// A patch's documents and where their text sits.
struct Body {
    /// The file the patch text is in.
    file: String,
    /// Where the patch text starts in that file (for an inline patch, inside the project file).
    origin: Origin,
    /// The patch's documents.
    documents: Vec<Node>,
}

/// Maps positions inside a patch's text to positions in its file.
#[derive(Clone, Copy, Default)]
struct Origin {
    /// Lines before the patch text starts.
    line: u32,
    /// Columns before the patch text starts, on every line (the block's indentation).
    column: u32,
}

impl Origin {
    /// `position` inside the patch text, as a position in its file.
    fn map(self, position: Position) -> Position {
        Position { line: position.line + self.line, column: position.column + self.column }
    }
}

impl Context<'_> {
    /// A diagnostic about the entry (or one of its fields) in the project file.
    fn error(&self, message: String, field: &str) -> Diagnostic {
        let mut path = self.at.clone();
        path.0.extend(FieldPath::parse(field).0);
        self.project.error(message, &path)
    }

    /// A diagnostic about a node of the patch text.
    fn error_in(body: &Body, node: &Node, message: String) -> Diagnostic {
        Diagnostic::error(message).in_file(&body.file).at(Some(body.origin.map(node.position)))
    }

    /// Reads and parses the patch text.
    fn body(&self, sources: &[SourceFile]) -> Result<Body, Diagnostic> {
        let (file, text, origin) = match (&self.entry.path, &self.entry.patch) {
            (Some(path), _) => {
                let normal = project::relative_path(path)
                    .map_err(|why| self.error(format!("the patch file `{path}` {why}"), "path"))?;
                let source = sources.iter().find(|s| s.path == normal).ok_or_else(|| {
                    self.error(format!("the patch file `{path}` does not exist"), "path")
                        .hint("paths are relative to the application root")
                })?;
                let text = std::str::from_utf8(&source.contents)
                    .map_err(|_| self.error(format!("the patch file `{path}` is not valid UTF-8"), "path"))?;
                (normal, text.to_owned(), Origin::default())
            }
            (None, Some(text)) => (self.project.file.clone(), text.clone(), self.inline_origin()),
            (None, None) => return Err(self.error("a patch needs `path` or `patch`".to_owned(), "")),
        };
        let documents = yaml::parse_stream(&text).map_err(|e| {
            Diagnostic::error(format!("the patch is not valid YAML: {}", e.message))
                .in_file(&file)
                .at(Some(origin.map(e.position.unwrap_or_default())))
        })?;
        if documents.is_empty() {
            return Err(
                self.error("the patch is empty".to_owned(), if self.entry.path.is_some() { "path" } else { "patch" })
            );
        }
        Ok(Body { file, origin, documents })
    }

    /// Where an inline patch's text starts in the project file: for a block
    /// scalar (`patch: |`), at the next line's indentation.
    fn inline_origin(&self) -> Origin {
        let node = self.project.document.at(&self.at.key("patch"));
        let Some(node) = node else { return Origin::default() };
        let start = node.position;
        let block = self
            .project
            .text
            .lines()
            .nth(start.line as usize)
            .is_some_and(|line| line.chars().nth(start.column as usize).is_some_and(|c| c == '|' || c == '>'));
        if block {
            let indent = self
                .project
                .text
                .lines()
                .skip(start.line as usize + 1)
                .find(|l| !l.trim().is_empty())
                .map_or(0, |l| l.chars().take_while(|c| *c == ' ').count());
            Origin { line: start.line + 1, column: u32::try_from(indent).unwrap_or(0) }
        } else {
            Origin { line: start.line, column: start.column }
        }
    }

    /// Applies the patch; a target that matches nothing is a warning.
    fn apply(&self, body: &Body, objects: &mut Vec<Object<'_>>) -> Result<Option<Diagnostic>, Diagnostic> {
        let operations = match body.documents.as_slice() {
            [Node { value: Value::Seq(items), .. }] => Some(items),
            _ => None,
        };
        let mut matched = 0;
        if let Some(items) = operations {
            let target = self.entry.target.as_ref().ok_or_else(|| {
                self.error("a JSON patch needs a `target`".to_owned(), "").hint(
                    "say which objects it applies to, for example `target: {kind: InferenceService, name: fraud}`",
                )
            })?;
            let selector =
                Target::compile(target).map_err(|(field, message)| self.error(message, &format!("target.{field}")))?;
            let patch = Self::operations(body, items)?;
            for (object, _) in objects.iter_mut() {
                if selector.matches(object) {
                    matched += 1;
                    self.json_patch(body, items, &patch, object)?;
                }
            }
        } else {
            for document in &body.documents {
                matched += self.strategic(body, document, objects)?;
            }
        }
        Ok((matched == 0).then(|| {
            let mut warning = self.error(
                "this patch matches no object".to_owned(),
                if self.entry.target.is_some() { "target" } else { "" },
            );
            warning.severity = crate::diagnostic::Severity::Warning;
            warning.hint(
                "kustomize would skip it silently; check the target (render with `--deny-warnings` to fail on this)",
            )
        }))
    }

    /// Parses RFC 6902 operations one by one, so that a bad one is reported at its own line.
    fn operations(body: &Body, items: &[Node]) -> Result<json_patch::Patch, Diagnostic> {
        let mut operations = Vec::new();
        for item in items {
            let operation: json_patch::PatchOperation = serde_json::from_value(item.to_json()).map_err(|e| {
                Self::error_in(body, item, format!("not a JSON patch operation: {e}"))
                    .hint("an operation is `{op: add|remove|replace|move|copy|test, path: /a/b, value: ...}`")
            })?;
            operations.push(operation);
        }
        Ok(json_patch::Patch(operations))
    }

    /// Applies the operations one at a time, so that a failure or a change
    /// of identity is reported at the operation that caused it.
    fn json_patch(
        &self,
        body: &Body,
        items: &[Node],
        patch: &json_patch::Patch,
        object: &mut Json,
    ) -> Result<(), Diagnostic> {
        let before = Identity::of(object);
        let mut patched = object.clone();
        for (operation, node) in patch.0.iter().zip(items) {
            json_patch::patch(&mut patched, std::slice::from_ref(operation)).map_err(|e| {
                let what = Identity::of(object);
                let message = match e.kind {
                    json_patch::PatchErrorKind::TestFailed => format!("the `test` at `{}` failed on {what}", e.path),
                    json_patch::PatchErrorKind::InvalidPointer => {
                        format!("the path `{}` does not exist in {what}", e.path)
                    }
                    json_patch::PatchErrorKind::CannotMoveInsideItself => {
                        format!("cannot move `{}` inside itself", e.path)
                    }
                    _ => format!("the operation at `{}` failed on {what}: {e}", e.path),
                };
                Self::error_in(body, node, message)
            })?;
            self.check_identity(&before, &patched, body, node)?;
        }
        *object = patched;
        Ok(())
    }

    /// Applies one strategic-merge document; returns how many objects it matched.
    fn strategic(&self, body: &Body, document: &Node, objects: &mut Vec<Object<'_>>) -> Result<usize, Diagnostic> {
        let patch = document.to_json();
        if !patch.is_object() {
            return Err(Self::error_in(
                body,
                document,
                "a strategic-merge patch must be a mapping (a partial object)".to_owned(),
            ));
        }
        // kustomize tells a strategic-merge patch from a JSON patch by its `kind`.
        if !patch.get("kind").is_some_and(Json::is_string) {
            return Err(Self::error_in(body, document, "a strategic-merge patch needs a `kind`".to_owned()).hint(
                "write the kind of the objects it patches (with a `target`, any kind will do, as in kustomize)",
            ));
        }
        let selector = match &self.entry.target {
            Some(target) => Target::compile(target).map_err(|(field, message)| self.error(message, &format!("target.{field}")))?,
            None => Target::of_patch(&patch).ok_or_else(|| {
                Self::error_in(body, document, "this patch names no object: give it `apiVersion`, `kind` and `metadata.name`, or give the entry a `target`".to_owned())
            })?,
        };
        let mut matched = 0;
        let mut deleted = Vec::new();
        for (i, (object, _)) in objects.iter_mut().enumerate() {
            if !selector.matches(object) {
                continue;
            }
            matched += 1;
            // As kustomize does, the patch takes the identity of each object it
            // patches, so that one patch can apply to several.
            let mut patch = patch.clone();
            for field in ["apiVersion", "kind"] {
                patch[field] = object[field].clone();
            }
            if let Some(metadata) = patch.get_mut("metadata").and_then(Json::as_object_mut) {
                for field in ["name", "namespace"] {
                    match object["metadata"].get(field) {
                        Some(value) => metadata.insert(field.to_owned(), value.clone()),
                        None => metadata.remove(field),
                    };
                }
            }
            match strategic::merge(object, &patch) {
                Ok(strategic::Outcome::Kept) => {}
                Ok(strategic::Outcome::Deleted) => deleted.push(i),
                Err(e) => {
                    let node = document.at(&FieldPath::parse(&e.path)).unwrap_or(document);
                    return Err(Self::error_in(body, node, e.message));
                }
            }
        }
        for i in deleted.into_iter().rev() {
            objects.remove(i);
        }
        if matched == 0 && self.entry.target.is_none() {
            // As in kustomize: a patch that names its object must find it.
            let namespace = patch["metadata"].get("namespace").and_then(Json::as_str);
            let hint = match namespace {
                Some(_) => "check the patch's `apiVersion`, `kind`, `metadata.name` and `metadata.namespace`".to_owned(),
                None => "without `metadata.namespace` the patch only names an object without a namespace; add the namespace, or give the entry a `target`".to_owned(),
            };
            return Err(Self::error_in(
                body,
                document,
                format!("no object matches this patch ({})", Identity::of(&patch)),
            )
            .hint(hint));
        }
        Ok(matched)
    }

    /// Name and kind may only change when the entry's options allow it, as in kustomize.
    fn check_identity(&self, before: &Identity, after: &Json, body: &Body, node: &Node) -> Result<(), Diagnostic> {
        let after = Identity::of(after);
        let options = self.entry.options;
        let refused = [
            (after.kind != before.kind && !options.allow_kind_change)
                .then(|| (format!("this patch changes the kind of {before} to `{}`", after.kind), "allowKindChange")),
            (after.name != before.name && !options.allow_name_change)
                .then(|| (format!("this patch renames {before} to `{}`", after.name), "allowNameChange")),
        ];
        match refused.into_iter().flatten().next() {
            Some((message, option)) => Err(Self::error_in(body, node, message)
                .hint(format!("set `options: {{{option}: true}}` on the patch if that is intended"))),
            None => Ok(()),
        }
    }
}

/// What a patch may change only when its options allow it: an object's kind and name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    /// The object's `kind`.
    kind: String,
    /// The object's `metadata.name`.
    name: String,
}

impl Identity {
    /// The identity of `object` (empty where it has none).
    fn of(object: &Json) -> Self {
        let text = |v: &Json| v.as_str().unwrap_or_default().to_owned();
        Identity { kind: text(&object["kind"]), name: text(&object["metadata"]["name"]) }
    }
}

/// `` InferenceService `fraud` ``, as messages name an object.
impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.kind, self.name)
    }
}
