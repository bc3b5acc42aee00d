//! What the commands print for people on stderr: diagnostics with their source lines, counts, and the paths users gave.

use std::io::{self, Write as _};
use std::path::Path;

use super::failure::Failure;
use crate::diagnostic::{Diagnostic, Severity};
use crate::escape;
use crate::pipeline::Quotes;
use crate::report;

/// The most diagnostics printed for people in one run: every problem is
/// reported, but a plugin's flood of warnings does not bury the terminal.
const MAX_PRINTED: usize = 1_000;

/// `3 errors`, `1 warning`: how many of `diagnostics` have `severity`.
pub(crate) fn count(diagnostics: &[Diagnostic], severity: Severity, noun: &str) -> String {
    let n = diagnostics.iter().filter(|d| d.severity == severity).count();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Prints `diagnostics` for people, each with its quoted source line.
pub(crate) fn print_human(diagnostics: &[Diagnostic], input: &Quotes) {
    let mut stderr = io::stderr().lock();
    for diagnostic in diagnostics.iter().take(MAX_PRINTED) {
        let text = report::human(diagnostic, |path| input.display(path), |file| input.source(file));
        let _ = writeln!(stderr, "{text}");
    }
    if diagnostics.len() > MAX_PRINTED {
        let _ = writeln!(
            stderr,
            "... and {} more diagnostics (`validate --format json` lists them all)\n",
            diagnostics.len() - MAX_PRINTED
        );
    }
}

/// Prints why the application at `path` cannot be read (its diagnostics and
/// a summary line), and the failure that ends the command.
pub(crate) fn unreadable(diagnostics: &[Diagnostic], input: &Quotes, path: &Path) -> Failure {
    print_human(diagnostics, input);
    eprintln!("error: reading `{}` failed with {}", shown(path), count(diagnostics, Severity::Error, "error"));
    Failure::Input
}

/// A path the user gave, for a message (escaped: it may come from a script).
pub(crate) fn shown(path: &Path) -> String {
    escape::value(&path.to_string_lossy()).into_owned()
}

/// The name of the directory `path` resolves to: the application's name.
pub(crate) fn fs_name(path: &Path) -> String {
    std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}
