//! Findings: what a rule reports about a decoded spec, by field path, before assembly locates it in a file.

use std::collections::BTreeMap;

use super::backend::rule::Rule;
use super::k8s;
use crate::diagnostic::Severity;
use crate::model::spec::{Acknowledgement, ModelDeployment};
use crate::yaml::path::FieldPath;

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The field it is about.
    pub path: FieldPath,
    /// What is wrong, quoting the bad value.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Whether the problem is the mapping key itself rather than its value.
    pub on_key: bool,
    /// Whether the value is a secret: a host that quotes its line masks it.
    pub secret: bool,
}

/// The findings of one spec's check, as the rules add them.
#[derive(Default)]
pub struct Findings {
    /// Every finding so far, in the order the rules ran.
    pub list: Vec<Finding>,
}

impl Findings {
    /// An error about the field at `path` (dotted).
    pub fn error(&mut self, path: &str, message: String, hint: Option<&str>) {
        self.push(Severity::Error, FieldPath::parse(path), message, hint);
    }

    /// A finding about the field at `path`.
    pub fn push(&mut self, severity: Severity, path: FieldPath, message: String, hint: Option<&str>) {
        self.list.push(Finding {
            severity,
            path,
            message,
            hint: hint.map(str::to_owned),
            on_key: false,
            secret: false,
        });
    }

    /// An error about a value that is a secret (whatever it looks like), so
    /// that no quoted source line shows it.
    pub fn secret(&mut self, path: FieldPath, message: String, hint: &str) {
        self.push(Severity::Error, path, message, Some(hint));
        if let Some(last) = self.list.last_mut() {
            last.secret = true;
        }
    }

    /// An error about the mapping key at `path` itself (an invalid label key), not its value.
    pub fn key_error(&mut self, path: FieldPath, message: String) {
        self.list.push(Finding { severity: Severity::Error, path, message, hint: None, on_key: true, secret: false });
    }

    /// An error that a backend rule causes; the hint cites the rule.
    pub fn refuse(&mut self, path: &str, rule: &Rule, message: String, hint: &str) {
        self.error(path, message, Some(&format!("{hint} ({})", rule.cite())));
    }

    /// A warning about a prerequisite modelgen cannot check, unless the
    /// spec's `cluster.acknowledge` confirms it.
    pub fn unless_acknowledged(
        &mut self,
        spec: &ModelDeployment,
        path: &str,
        what: Acknowledgement,
        rule: &Rule,
        message: String,
        hint: &str,
    ) {
        if spec.spec.cluster().acknowledges(what) {
            return;
        }
        self.push(
            Severity::Warning,
            FieldPath::parse(path),
            message,
            Some(&format!(
                "{hint}; once the cluster is set up, add `{}` to `cluster.acknowledge` ({})",
                what.as_str(),
                rule.cite()
            )),
        );
    }

    /// Each label of `labels` at `base`: none of `reserved` (with `hint`), then a valid key, then a valid value.
    pub fn labels(
        &mut self,
        base: &FieldPath,
        labels: &BTreeMap<String, String>,
        reserved: &[&str],
        hint: Option<&str>,
    ) {
        for (key, value) in labels {
            let path = base.key(key.clone());
            if reserved.contains(&key.as_str()) {
                self.push(
                    Severity::Error,
                    path,
                    format!("label `{key}` is set by modelgen and cannot be overridden"),
                    hint,
                );
            } else if let Err(why) = k8s::qualified_name(key) {
                self.key_error(path, format!("`{key}` is not a valid label key: {why}"));
            } else if let Err(why) = k8s::label_value(value) {
                self.push(Severity::Error, path, format!("`{value}` is not a valid label value: {why}"), None);
            }
        }
    }
}
