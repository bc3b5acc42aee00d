//! The suggested commit message of a spec edit: a subject, the changed fields, and `Modelgen-*` git trailers that tools can read back.

use std::fmt::Write as _;

use crate::rules::secret::credential;

/// One changed field, for printing. A value that looks like a credential
/// is withheld, and control characters are escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The field's path in the spec document (`spec.canary.trafficPercent`).
    pub field: String,
    /// The value before (`None`: the field was added). A removed mapping is
    /// shown in flow style.
    pub old: Option<String>,
    /// The value after (`None`: the field was removed).
    pub new: Option<String>,
}

/// How traffic is split between the stable model and its canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The stable model's version.
    pub stable: String,
    /// The canary's version and share of traffic (as written), when there is one.
    pub canary: Option<(String, String)>,
}

impl Split {
    /// `v1 90%, v2 10%` (the stable model's share is what the canary leaves).
    pub fn trailer(&self) -> String {
        match &self.canary {
            None => format!("{} 100%", shown(&self.stable)),
            Some((version, weight)) => {
                let stable = weight
                    .parse::<u8>()
                    .ok()
                    .filter(|w| *w <= 100)
                    .map_or_else(|| "?".to_owned(), |w| (100 - w).to_string());
                format!("{} {stable}%, {} {}%", shown(&self.stable), shown(version), shown(weight))
            }
        }
    }
}

/// A field the edit changed, for the message body (values as [`shown`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The field path.
    pub field: String,
    /// What it was (`None`: it was added).
    pub old: Option<String>,
    /// What it is (`None`: it was removed).
    pub new: Option<String>,
}

/// Everything the message says.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    /// The model's name.
    pub model: &'a str,
    /// `set-weight`, `promote`, `rollback` or `bump`.
    pub action: &'a str,
    /// The subject line, values already quoted.
    pub subject: String,
    /// The changed fields.
    pub lines: &'a [Line],
    /// The split before.
    pub from: Split,
    /// The split after.
    pub to: Split,
    /// The new version (`bump` only).
    pub version: Option<&'a str>,
}

impl Message<'_> {
    /// The message: subject, blank line, the changes, blank line, trailers.
    pub fn text(&self) -> String {
        let mut text = format!("{}\n\n", self.subject);
        for line in self.lines {
            let value = |v: &Option<String>| v.as_ref().map_or_else(|| "(none)".to_owned(), |v| format!("`{v}`"));
            let _ = writeln!(text, "- `{}`: {} -> {}", line.field, value(&line.old), value(&line.new));
        }
        text.push('\n');
        let _ = writeln!(text, "Modelgen-Model: {}", shown(self.model));
        let _ = writeln!(text, "Modelgen-Action: {}", self.action);
        let _ = writeln!(text, "Modelgen-From: {}", self.from.trailer());
        let _ = writeln!(text, "Modelgen-To: {}", self.to.trailer());
        if let Some(version) = self.version {
            let _ = writeln!(text, "Modelgen-Version: {}", shown(version));
        }
        text
    }
}

/// A value as a message or change list may show it: withheld when it looks
/// like a credential (a URL with a password, a token), with line breaks and
/// other control characters escaped so that it stays on its line.
pub fn shown(value: &str) -> String {
    if credential(None, value).is_some() {
        return "<withheld: looks like a credential>".to_owned();
    }
    if value.chars().any(|c| c.is_control() || c == '`') {
        return value.escape_debug().to_string().replace('`', "'");
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_line_breaks_never_reach_the_message() {
        assert_eq!(shown("s3://bucket/m"), "s3://bucket/m");
        assert_eq!(shown("https://user:hunter2@host/m"), "<withheld: looks like a credential>");
        assert_eq!(shown("v1\nModelgen-Action: promote"), "v1\\nModelgen-Action: promote");
        let split = Split { stable: "v1".to_owned(), canary: Some(("v2".to_owned(), "10".to_owned())) };
        assert_eq!(split.trailer(), "v1 90%, v2 10%");
    }
}
