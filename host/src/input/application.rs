//! An application's complete input: its spec files plus the files its project file names (patch files).

use crate::diagnostic::{Diagnostic, Project, Severity};
use crate::input::source::{self, SourceFile, Sources};
use crate::plugin::runtime::{self, RenderContext, Reply, Runtime};

/// An application's complete input, and what `describe` said about it
/// (`None` without a project file): the chain of policy plugins and the
/// models' positions.
#[derive(Debug)]
pub struct Input {
    /// The spec files and the files the project names.
    pub files: Vec<SourceFile>,
    /// The described project.
    pub project: Option<Project>,
}

/// Everything a render of `sources` needs: when the application holds the
/// plugin's `project_file` (its name comes from the plugin's `info`; the
/// host knows none of its own), the plugin names the files the application
/// refers to (`describe`, given every file the walk found), and they are
/// read under the same rules as spec files. Without it there is nothing to
/// refer to, and the render saves the `describe` call. A refusal holds the
/// diagnostics that stop the render (the plugin's, or a refused file at the
/// line that names it). The files are read from what is left of the input
/// limits after the spec files.
///
/// # Errors
/// When the plugin fails.
pub fn files(
    runtime: &Runtime,
    project_file: Option<&str>,
    sources: Sources,
    context: &RenderContext,
) -> Result<Reply<Input>, runtime::Error> {
    let mut budget = sources.budget;
    let mut files = sources.files;
    if !project_file.is_some_and(|name| files.iter().any(|f| f.path == name)) {
        return Ok(Reply::Accepted(Input { files, project: None }));
    }
    let project = match runtime.describe(files.clone(), context)? {
        Reply::Accepted(project) => project,
        Reply::Refused(diagnostics) => return Ok(Reply::Refused(diagnostics)),
    };
    let mut refused = Vec::new();
    for reference in project.references.clone() {
        if files.iter().any(|f| f.path == reference.path) {
            continue;
        }
        match source::read_reference(&sources.root, &reference.path, &mut budget) {
            Ok(Some(file)) => files.push(file),
            Ok(None) => {} // The plugin reports a missing file where it is named.
            Err(e) => refused.push(Diagnostic {
                secrets: Vec::new(),
                severity: Severity::Error,
                file: Some(reference.referrer),
                position: reference.position,
                field: None,
                message: format!("{e:#}"),
                hint: Some(
                    "patch files must be regular files inside the application directory, outside hidden directories"
                        .to_owned(),
                ),
            }),
        }
    }
    Ok(if refused.is_empty() {
        Reply::Accepted(Input { files, project: Some(project) })
    } else {
        Reply::Refused(refused)
    })
}
