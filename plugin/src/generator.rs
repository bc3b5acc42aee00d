//! The render pipeline: source files in, manifests or diagnostics out, all or nothing.

use std::collections::BTreeMap;

use crate::context::RenderContext;
use crate::decode::decode;
use crate::diagnostic::{Diagnostic, Position};
use crate::fields;
use crate::manifest::{Manifest, Rendered};
use crate::path::FieldPath;
use crate::render::{self, Target};
use crate::source::SourceFile;
use crate::spec::{API_GROUP_PREFIX, API_VERSION, KIND, ModelDeployment};
use crate::validate;
use crate::yaml::{self, Node, Value};

/// The most diagnostics one render reports; past it, one line says how many more.
pub const MAX_DIAGNOSTICS: usize = 200;

/// A spec that decoded and passed validation, with where it came from.
struct Found<'a> {
    file: &'a str,
    document: Node,
    spec: ModelDeployment,
}

/// Renders every spec in `sources`.
///
/// Every problem in every file is reported (not only the first); any error
/// means no manifests at all.
pub fn generate(sources: &[SourceFile], context: &RenderContext) -> Result<Rendered, Vec<Diagnostic>> {
    let mut diagnostics = check_context(context);
    let mut files: Vec<&SourceFile> = sources.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let schema = crate::schema::spec_schema_value();
    let mut found = Vec::new();
    for file in files {
        collect(file, &schema, context.namespace.as_deref(), &mut found, &mut diagnostics);
    }
    cap(&mut diagnostics);
    if found.is_empty() && !diagnostics.iter().any(Diagnostic::is_error) {
        diagnostics.push(
            Diagnostic::error(format!("no `{KIND}` spec found"))
                .hint(format!("a spec is a YAML document with `apiVersion: {API_VERSION}` and `kind: {KIND}`")),
        );
    }
    check_duplicates(&found, &mut diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }

    let mut manifests = Vec::new();
    for spec in &found {
        let namespace = spec.spec.metadata.namespace.as_deref().or(context.namespace.as_deref());
        let target = Target { spec: &spec.spec, source: spec.file, namespace };
        for mut object in render::render(&target) {
            render::guard_substitution(&mut object);
            manifests.push(Manifest { yaml: yaml::emit(&object), source: spec.file.to_owned() });
        }
    }
    Ok(Rendered { manifests, warnings: diagnostics })
}

fn check_context(context: &RenderContext) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    if let Some(ns) = &context.namespace {
        let valid = !ns.is_empty()
            && ns.len() <= 63
            && ns.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !ns.starts_with('-')
            && !ns.ends_with('-');
        if !valid {
            diagnostics.push(Diagnostic::error(format!("the default namespace `{ns}` is not a valid namespace name")));
        }
    }
    if let Some(env) = &context.environment {
        diagnostics.push(
            Diagnostic::error(format!("unknown environment `{env}`: this application defines no environments"))
                .hint("render without an environment"),
        );
    }
    for (key, _) in &context.parameters {
        diagnostics
            .push(Diagnostic::error(format!("unknown parameter `{key}`")).hint("this plugin takes no parameters"));
    }
    diagnostics
}

/// Parses one file and keeps its valid specs; everything else becomes a diagnostic.
fn collect<'a>(
    file: &'a SourceFile,
    schema: &serde_json::Value,
    default_namespace: Option<&str>,
    found: &mut Vec<Found<'a>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let path = file.path.as_str();
    let text = match std::str::from_utf8(&file.contents) {
        Ok(text) => text,
        Err(e) => {
            let valid = &file.contents[..e.valid_up_to()];
            diagnostics.push(
                Diagnostic::error("the file is not valid UTF-8")
                    .in_file(path)
                    .at(Some(end_position(valid)))
                    .hint("save it as UTF-8"),
            );
            return;
        }
    };
    let documents = match yaml::parse_stream(text) {
        Ok(documents) => documents,
        Err(e) => {
            diagnostics.push(Diagnostic::error(e.message).in_file(path).at(e.position));
            return;
        }
    };
    for document in documents {
        if let Value::Seq(items) = &document.value
            && items.iter().any(is_ours)
        {
            diagnostics.push(
                Diagnostic::error("this document is a list; a spec must be a mapping at the top level of its document")
                    .in_file(path)
                    .at(Some(document.position))
                    .hint("put each spec in its own document, separated by `---`"),
            );
            continue;
        }
        if !is_ours(&document) {
            continue; // Other YAML in the directory is not our business.
        }
        let before = diagnostics.len();
        check_header(path, &document, diagnostics);
        if diagnostics.len() > before {
            continue;
        }
        let unknown = fields::unknown_fields(&document, schema);
        if !unknown.is_empty() {
            // Typed decoding would stop at the first of these; report them all.
            for field in unknown {
                diagnostics.push(
                    Diagnostic::error(format!("unknown field `{}`", field.key))
                        .in_file(path)
                        .at(Some(field.position))
                        .field(field.path.to_string())
                        .hint(field.hint),
                );
            }
            continue;
        }
        match decode::<ModelDeployment>(&document) {
            Ok(spec) => {
                let mut failed = false;
                let namespace = spec.metadata.namespace.as_deref().or(default_namespace);
                for finding in validate::check(&spec, namespace) {
                    failed |= finding.severity == crate::diagnostic::Severity::Error;
                    let mut diagnostic =
                        Diagnostic { severity: finding.severity, ..Diagnostic::error(finding.message) }
                            .in_file(path)
                            .at(Some(if finding.on_key {
                                document.key_position_of(&finding.path)
                            } else {
                                document.position_of(&finding.path)
                            }))
                            .field(finding.path.to_string());
                    diagnostic.hint = finding.hint.map(|h| crate::diagnostic::clip_quotes(&h));
                    diagnostics.push(diagnostic);
                }
                if !failed {
                    found.push(Found { file: path, document, spec });
                }
            }
            Err(e) => {
                let position = match e.position {
                    Some(position) if !e.missing => position,
                    _ => document.position_of(&e.path),
                };
                let mut diagnostic =
                    Diagnostic::error(e.message).in_file(path).at(Some(position)).field(e.path.to_string());
                diagnostic.hint = e.hint.map(|h| crate::diagnostic::clip_quotes(&h));
                diagnostics.push(diagnostic);
            }
        }
    }
}

/// A document is ours when its `apiVersion` is in the `modelgen.dev` group.
fn is_ours(document: &Node) -> bool {
    document.get("apiVersion").and_then(Node::as_str).is_some_and(|v| v.starts_with(API_GROUP_PREFIX))
}

fn check_header(path: &str, document: &Node, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(api_version) = document.get("apiVersion").filter(|v| v.as_str() != Some(API_VERSION)) {
        diagnostics.push(
            Diagnostic::error(format!(
                "unsupported apiVersion {}",
                api_version.describe().trim_start_matches("string ")
            ))
            .in_file(path)
            .at(Some(api_version.position))
            .field("apiVersion")
            .hint(format!("this plugin handles `{API_VERSION}`")),
        );
    }
    match document.get("kind") {
        Some(kind) if kind.as_str() == Some(KIND) => {}
        Some(kind) => diagnostics.push(
            Diagnostic::error(format!("unknown kind {}", kind.describe().trim_start_matches("string ")))
                .in_file(path)
                .at(Some(kind.position))
                .field("kind")
                .hint(format!("this plugin handles `{KIND}`")),
        ),
        None => diagnostics.push(
            Diagnostic::error("missing required field `kind`")
                .in_file(path)
                .at(Some(document.position))
                .field("kind")
                .hint(format!("add `kind: {KIND}`")),
        ),
    }
}

/// Two specs must not produce the same object.
fn check_duplicates(found: &[Found<'_>], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(Option<&str>, &str), &Found<'_>> = BTreeMap::new();
    for spec in found {
        let key = (spec.spec.metadata.namespace.as_deref(), spec.spec.metadata.name.as_str());
        if let Some(first) = seen.get(&key) {
            let path = FieldPath::parse("metadata.name");
            diagnostics.push(
                Diagnostic::error(format!("a model named `{}` is already defined in `{}`", key.1, first.file))
                    .in_file(spec.file)
                    .at(Some(spec.document.position_of(&path)))
                    .field(path.to_string())
                    .hint("give each model its own name, or its own namespace"),
            );
        } else {
            seen.insert(key, spec);
        }
    }
}

/// Keeps the report readable when a directory is badly broken.
fn cap(diagnostics: &mut Vec<Diagnostic>) {
    if diagnostics.len() > MAX_DIAGNOSTICS {
        let more = diagnostics.len() - MAX_DIAGNOSTICS;
        diagnostics.truncate(MAX_DIAGNOSTICS);
        diagnostics
            .push(Diagnostic::error(format!("{more} more diagnostics not shown")).hint("fix the ones above first"));
    }
}

/// The position just after `text` (where the first invalid byte starts).
fn end_position(text: &[u8]) -> Position {
    // `text` is the valid UTF-8 prefix, so this cannot fail.
    let text = std::str::from_utf8(text).unwrap_or_default();
    let line = text.matches('\n').count();
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count());
    Position { line: u32::try_from(line).unwrap_or(u32::MAX), column: u32::try_from(column).unwrap_or(u32::MAX) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badly_broken_directory_reports_a_capped_list() {
        let broken = "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: Bad}\nspec: {}\n";
        let sources: Vec<SourceFile> = (0..300).map(|i| SourceFile::new(format!("m{i:03}.yaml"), broken)).collect();
        let diagnostics = generate(&sources, &RenderContext::default()).expect_err("all invalid");
        assert_eq!(diagnostics.len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(diagnostics[MAX_DIAGNOSTICS].message, "100 more diagnostics not shown");
    }

    #[test]
    fn output_does_not_depend_on_the_order_files_are_given_in() {
        let spec = |name: &str| {
            format!(
                "apiVersion: modelgen.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {{name: {name}}}\nspec:\n  model: {{format: sklearn, version: v1, storageUri: s3://m/{name}}}\n"
            )
        };
        let a = SourceFile::new("a.yaml", spec("alpha"));
        let b = SourceFile::new("b.yaml", spec("beta"));
        let forward = generate(&[a.clone(), b.clone()], &RenderContext::default()).expect("renders");
        let backward = generate(&[b, a], &RenderContext::default()).expect("renders");
        assert_eq!(forward, backward);
    }
}
