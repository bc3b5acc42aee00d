//! A policy plugin that misbehaves on purpose, chosen by its settings' `mode`, to test the host's policy chain.
//!
//! Modes (the settings are `{"mode": "..."}`): `ok` (no finding, objects
//! unchanged), `loop` (never returns), `hog` (allocates without end), `trap`
//! (panics), `not-yaml` (returns a document that is not YAML), `no-kind`
//! (returns an object without `kind`), `collide` (returns the first object
//! twice, as a rename into an existing name would), `bad-index` (a finding
//! about an object it was not given), `read-files` (tries to read the host's
//! files and reports what it got as a warning), `tag-N` (a transformer that
//! adds the annotation `modelgen.dev/chain-N` to every object, naming the
//! tags it found there and the environment, to show the chain's order), `deny` (an error finding on the first object
//! and one on no object). With the feature `sockets`, `connect` opens a TCP
//! connection, so that the component imports `wasi:sockets`; with
//! `future-contract` it implements a policy contract version no host speaks
//! yet (`wit-0.2/`).

#![cfg(target_arch = "wasm32")]
#![allow(unsafe_code)]

mod bindings {
    //! Bindings generated from `wit/policy/policy.wit`; generated code is not linted.
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    #[cfg(not(feature = "future-contract"))]
    wit_bindgen::generate!({ path: "../../wit/policy", world: "plugin" });
    #[cfg(feature = "future-contract")]
    wit_bindgen::generate!({ path: "wit-0.2", world: "plugin" });
}

use bindings::exports::modelgen::policy::policy as wit;

struct Hostile;

fn finding(object: Option<u32>, message: String) -> wit::Finding {
    wit::Finding {
        severity: wit::Severity::Error,
        object,
        field: Some("metadata.labels".into()),
        message,
        hint: Some("a hint".into()),
    }
}

impl wit::Guest for Hostile {
    fn apply(mut objects: Vec<wit::Object>, context: wit::Context) -> wit::Outcome {
        let mode = context
            .settings
            .split("\"mode\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("ok")
            .to_owned();
        let unchanged = |findings| wit::Outcome { objects: None, findings };
        match mode.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("a policy plugin that panics"),
            "not-yaml" => {
                objects[0].yaml = "key: [unclosed\n".into();
                wit::Outcome { objects: Some(objects), findings: vec![] }
            }
            "no-kind" => {
                objects[0].yaml = "apiVersion: v1\nmetadata:\n  name: x\n".into();
                wit::Outcome { objects: Some(objects), findings: vec![] }
            }
            "collide" => {
                let first = objects[0].clone();
                objects.push(first);
                wit::Outcome { objects: Some(objects), findings: vec![] }
            }
            "bad-index" => unchanged(vec![finding(Some(9999), "about nothing".into())]),
            "deny" => unchanged(vec![
                finding(Some(0), "the label `cost-center` is missing".into()),
                finding(None, "a problem about no object".into()),
            ]),
            "read-files" => {
                let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_else(|e| format!("denied: {e}"));
                let listing = std::fs::read_dir(".").map_or_else(|e| format!("denied: {e}"), |_| "listed".into());
                let env = std::env::vars().count();
                unchanged(vec![wit::Finding {
                    severity: wit::Severity::Warning,
                    object: None,
                    field: None,
                    message: format!("passwd: {passwd}; dir: {listing}; env vars: {env}"),
                    hint: None,
                }])
            }
            #[cfg(feature = "sockets")]
            "connect" => {
                let result = std::net::TcpStream::connect("10.0.0.1:80");
                unchanged(vec![finding(None, format!("connected: {}", result.is_ok()))])
            }
            tag if tag.starts_with("tag-") => {
                let n = &tag[4..];
                for object in &mut objects {
                    // The tags of the plugins that ran before, as this one sees them.
                    let before: Vec<&str> = object
                        .yaml
                        .split("modelgen.dev/chain-")
                        .skip(1)
                        .filter_map(|rest| rest.split(':').next())
                        .collect();
                    let value =
                        format!("after [{}] in [{}]", before.join(" "), context.environment.as_deref().unwrap_or(""));
                    // Every object the built-in generator renders has annotations.
                    object.yaml = object.yaml.replacen(
                        "  annotations:\n",
                        &format!("  annotations:\n    modelgen.dev/chain-{n}: {value}\n"),
                        1,
                    );
                }
                wit::Outcome { objects: Some(objects), findings: vec![] }
            }
            _ => unchanged(vec![]),
        }
    }
}

bindings::export!(Hostile with_types_in bindings);
