//! Diagnostics: what went wrong (or deserves a look), where, and how to fix it.

use std::fmt::{self, Write as _};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The render fails; no manifests are produced.
    Error,
    /// The render succeeds, but the user should look.
    Warning,
}

impl Severity {
    /// The word diagnostics print: `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A 0-based position in a source file (lines and columns in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// 0-based line.
    pub line: u32,
    /// 0-based column, in Unicode scalar values.
    pub column: u32,
}

/// A problem in the input, located as precisely as the plugin knows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// The source file, relative to the application root.
    pub file: Option<String>,
    /// Where the offending node starts.
    pub position: Option<Position>,
    /// The dotted field path (`spec.canary.trafficPercent`).
    pub field: Option<String>,
    /// One sentence; bad values are quoted in backticks.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Whether the value at `position` is a secret whatever it looks like
    /// (a value under a variable named for one): a host that quotes its
    /// line masks it from there to the end of the line (see `rules::secret::secret_columns`).
    pub hides_value: bool,
}

impl Diagnostic {
    /// An error with only a message; locate it with the builder methods.
    ///
    /// Values quoted in backticks are clipped, so that a megabyte-long
    /// scalar does not flood the terminal or the Argo CD UI.
    pub fn error(message: impl Into<String>) -> Self {
        let message = clip_quotes(&message.into());
        Self {
            severity: Severity::Error,
            file: None,
            position: None,
            field: None,
            message,
            hint: None,
            hides_value: false,
        }
    }

    /// A warning with only a message; locate it with the builder methods.
    pub fn warning(message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(message) }
    }

    /// Names the file the diagnostic is about.
    #[must_use]
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets where in the file the offending node starts.
    #[must_use]
    pub fn at(mut self, position: Option<Position>) -> Self {
        self.position = position;
        self
    }

    /// Names the offending field.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds a hint on how to fix it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(clip_quotes(&hint.into()));
        self
    }

    /// Whether this diagnostic fails the render.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// "did you mean `storageUri`?" for a near miss of one of `expected` (a case slip, one or two typos).
pub fn did_you_mean(given: &str, expected: &[&str]) -> Option<String> {
    expected
        .iter()
        .map(|candidate| {
            let distance =
                if candidate.eq_ignore_ascii_case(given) { 0.0 } else { 1.0 - strsim::jaro_winkler(given, candidate) };
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance < 0.15)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| format!("did you mean `{candidate}`?"))
}

/// The hint for a key or value that is not one of `expected`: the near miss, else the whole list.
pub fn did_you_mean_or_list(given: &str, expected: &[&str]) -> String {
    did_you_mean(given, expected).unwrap_or_else(|| {
        if expected.is_empty() {
            "this mapping takes no fields".to_owned()
        } else {
            format!("expected one of {}", quoted(expected))
        }
    })
}

/// `` `a`, `b`, `c` ``: values listed as messages quote them.
pub fn quoted<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|item| format!("`{}`", item.as_ref())).collect::<Vec<_>>().join(", ")
}

/// The longest value quoted in full; longer ones keep their start and end.
const MAX_QUOTED: usize = 80;

/// Clips every backtick-quoted value longer than [`MAX_QUOTED`] characters.
pub fn clip_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let count = part.chars().count();
        if i % 2 == 1 && count > MAX_QUOTED {
            out.extend(part.chars().take(MAX_QUOTED - 20));
            let _ = write!(out, "… ({count} characters) …");
            out.extend(part.chars().skip(count - 10));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// `file:line:col: error: message (field)`, 1-based like compilers print it.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
            if let Some(p) = self.position {
                write!(f, "{}:{}:", p.line + 1, p.column + 1)?;
            }
            f.write_str(" ")?;
        }
        write!(f, "{}: {}", self.severity.as_str(), self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (at `{field}`)")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// The most diagnostics one render reports; past it, one line says how many more.
pub const MAX_DIAGNOSTICS: usize = 200;

/// Drops repeated diagnostics: a bad value in the project file is found
/// once per spec it is merged into, and reported once.
pub fn unique(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert(d.clone()));
}

/// Keeps the report readable when a directory is badly broken.
pub fn cap(diagnostics: &mut Vec<Diagnostic>) {
    if diagnostics.len() > MAX_DIAGNOSTICS {
        let more = diagnostics.len() - MAX_DIAGNOSTICS;
        diagnostics.truncate(MAX_DIAGNOSTICS);
        diagnostics
            .push(Diagnostic::error(format!("{more} more diagnostics not shown")).hint("fix the ones above first"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_values_are_clipped_short_ones_kept() {
        assert_eq!(clip_quotes("`abc` is bad"), "`abc` is bad");
        let long = format!("`{}` is not a label value", "x".repeat(5000));
        let clipped = clip_quotes(&long);
        assert!(clipped.len() < 150, "{clipped}");
        assert!(clipped.contains("(5000 characters)") && clipped.ends_with("` is not a label value"), "{clipped}");
    }
}
