//! The WebAssembly side: exports `modelgen:policy` and converts between its types and the pack's.

// The generated canonical-ABI glue is `unsafe` by nature; nothing else here is.
#![allow(unsafe_code)]

mod bindings {
    //! Bindings generated from `wit/policy/policy.wit`; generated code is not linted.
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    wit_bindgen::generate!({ path: "../../../wit/policy", world: "plugin" });
}

use bindings::exports::modelgen::policy::policy as wit;

/// The component's export.
struct Pack;

impl wit::Guest for Pack {
    fn apply(objects: Vec<wit::Object>, context: wit::Context) -> wit::Outcome {
        let texts: Vec<&str> = objects.iter().map(|o| o.yaml.as_str()).collect();
        let findings = crate::check(&texts, &context.settings, context.namespace.as_deref())
            .into_iter()
            .map(|f| wit::Finding {
                severity: match f.severity {
                    crate::Severity::Error => wit::Severity::Error,
                    crate::Severity::Warning => wit::Severity::Warning,
                },
                object: f.object.and_then(|i| u32::try_from(i).ok()),
                field: f.field,
                message: f.message,
                hint: f.hint,
            })
            .collect();
        // A policy: the objects go on unchanged.
        wit::Outcome { objects: None, findings }
    }
}

bindings::export!(Pack with_types_in bindings);
