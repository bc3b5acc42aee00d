//! {{name}}: a modelgen policy plugin (contract `modelgen:policy`, in `wit/policy.wit`).
//!
//! `apply` gets every object the generator rendered, as YAML, and returns
//! findings (errors block the render, warnings do not) and, to change the
//! objects, the full new list. This one warns about objects without a
//! `team` label; replace the rule with yours.

#![allow(unsafe_code)]

mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "plugin" });
}

use bindings::exports::modelgen::policy::policy::{Context, Finding, Guest, Object, Outcome, Severity};

struct Plugin;

impl Guest for Plugin {
    fn apply(objects: Vec<Object>, _context: Context) -> Outcome {
        let mut findings = Vec::new();
        for (index, object) in objects.iter().enumerate() {
            // The generator writes one label per line under `labels:`.
            if !object.yaml.lines().any(|line| line.trim_start().starts_with("team:")) {
                findings.push(Finding {
                    severity: Severity::Warning,
                    object: u32::try_from(index).ok(),
                    field: Some("metadata.labels".into()),
                    message: "the object has no `team` label".into(),
                    hint: Some("set `metadata.labels.team` in the spec".into()),
                });
            }
        }
        // `None`: the objects are unchanged.
        Outcome { objects: None, findings }
    }
}

bindings::export!(Plugin with_types_in bindings);
