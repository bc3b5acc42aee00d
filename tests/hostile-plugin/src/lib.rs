//! A generator plugin that misbehaves on purpose, chosen by the render parameter `mode`, to test the host's sandbox.
//!
//! Modes: `ok` (one valid object), `loop` (never returns), `hog` (allocates
//! without end), `trap` (panics, which traps), `bad-utf8` (returns a string
//! that is not UTF-8), `not-kubernetes` (a document that is no Kubernetes
//! object), `not-yaml` (a document that is not YAML), `unknown-field` (an
//! object with a field its CRD does not have), `sleep` (sleeps thirty times
//! 200 ms, then renders), `bad-name` (an object named with line breaks that
//! spell `README.md`), `no-newline` (two manifests without their final line
//! break), `two-documents` (two documents in one manifest), `empty` (no
//! objects at all), `flood` (a 50 MB warning full of terminal escapes and
//! workflow commands), `far-position` (an error at line and column
//! `u32::MAX`), `injection` (diagnostics whose file, field and message carry
//! workflow commands and escapes), `bad-secrets` (an error whose secret
//! columns are reversed, overlapping or far past the line's end).
//!
//! `describe` and `edit` misbehave in the modes `describe-…` and `edit-…`
//! (`loop`, `hog`, `trap`; `describe-escape` refers to files outside the
//! application, `edit-outside` edits one); `decide` takes its mode from the first gate's alert name
//! (`loop`, `hog`, `trap`, `advance-past-100`). Otherwise they answer
//! plainly.
//!
//! With the feature `future-contract` the crate builds a component of a
//! contract version no host speaks yet; with `contract-0-1`, a well-behaved
//! plugin of contract 0.1.0, as released, whose kind (`example.com/v1/Widget`)
//! is not the built-in plugin's, and whose render warns with the names of
//! the files it was given.

#![cfg(target_arch = "wasm32")]
// The generated canonical-ABI glue is `unsafe`, and so is forging a string
// that is not UTF-8, which is the point of one mode.
#![allow(unsafe_code)]

/// Loops, allocates without end or traps, as `mode` says; else returns.
#[cfg(not(feature = "future-contract"))]
fn misbehave(mode: &str) {
    match mode {
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "hog" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1; 16 * 1024 * 1024]);
                std::hint::black_box(&hoard);
            }
        }
        "trap" => panic!("hostile plugin: trap on purpose"),
        _ => {}
    }
}

/// The one valid object the plugin renders.
#[cfg(not(feature = "future-contract"))]
const VALID: &str = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: hostile\nspec:\n  predictor:\n    model:\n      modelFormat:\n        name: sklearn\n      storageUri: s3://m\n";

#[cfg(not(any(feature = "future-contract", feature = "contract-0-1")))]
mod current {
    mod bindings {
        //! Bindings generated from the workspace's `wit/`.
        #![allow(clippy::all, clippy::pedantic, missing_docs)]
        wit_bindgen::generate!({ path: "../../wit", world: "plugin" });
    }

    use bindings::exports::modelgen::generator::generator as wit;

    use super::{VALID, misbehave};

    struct Hostile;

    /// The render parameter `mode`.
    fn mode(context: &wit::RenderContext) -> &str {
        context.parameters.iter().find(|(k, _)| k == "mode").map_or("ok", |(_, v)| v.as_str())
    }

    fn manifest(yaml: String) -> wit::Rendered {
        manifests(vec![yaml])
    }

    fn manifests(yaml: Vec<String>) -> wit::Rendered {
        wit::Rendered {
            manifests: yaml.into_iter().map(|yaml| wit::Manifest { yaml, source: "hostile.yaml".into() }).collect(),
            warnings: vec![],
        }
    }

    fn named(name: &str) -> String {
        VALID.replace("name: hostile", &format!("name: {name}"))
    }

    fn diagnostic(
        severity: wit::Severity,
        file: &str,
        position: Option<(u32, u32)>,
        field: &str,
        message: String,
    ) -> wit::Diagnostic {
        wit::Diagnostic {
            severity,
            file: Some(file.into()),
            position: position.map(|(line, column)| wit::Position { line, column }),
            field: Some(field.into()),
            message,
            hint: Some("hint\n::warning::injected hint".into()),
            secrets: vec![],
        }
    }

    impl wit::Guest for Hostile {
        fn generate(
            _: Vec<wit::SourceFile>,
            context: wit::RenderContext,
        ) -> Result<wit::Rendered, Vec<wit::Diagnostic>> {
            let mode = mode(&context);
            misbehave(mode);
            match mode {
                // SAFETY: not safe at all, on purpose: the host must reject
                // the bytes when it lifts the string.
                "bad-utf8" => Ok(manifest(unsafe { String::from_utf8_unchecked(vec![b'a', 0xff, 0xfe, b'\n']) })),
                "not-kubernetes" => Ok(manifest("hello: world\n".into())),
                "not-yaml" => Ok(manifest("{ this: [is not\n".into())),
                "unknown-field" => Ok(manifest(VALID.replace("      storageUri", "      storageURI"))),
                "sleep" => {
                    for _ in 0..30 {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                    Ok(manifest(VALID.into()))
                }
                "bad-name" => Ok(manifest(named("\"x\\nREADME.md\\ny\""))),
                "no-newline" => {
                    Ok(manifests(vec![named("first").trim_end().to_owned(), named("second").trim_end().to_owned()]))
                }
                "two-documents" => Ok(manifest(format!("{}---\n{}", named("first"), named("second")))),
                "empty" => Ok(manifests(vec![])),
                "flood" => {
                    let line = "\u{1b}[2J\u{1b}]0;pwned\u{7}\n::add-mask::token\n::error file=x::injected\n";
                    let mut rendered = manifest(VALID.into());
                    rendered.warnings.push(diagnostic(
                        wit::Severity::Warning,
                        "hostile.yaml",
                        None,
                        "spec",
                        line.repeat(50 * 1024 * 1024 / line.len()),
                    ));
                    Ok(rendered)
                }
                "far-position" => Err(vec![diagnostic(
                    wit::Severity::Error,
                    "tiny.yaml",
                    Some((u32::MAX, u32::MAX)),
                    "spec",
                    "far away".into(),
                )]),
                "injection" => Err(vec![
                    diagnostic(
                        wit::Severity::Error,
                        "tiny.yaml\n::error file=evil.yaml::from the file name",
                        Some((0, 0)),
                        "spec\n::add-mask::from the field",
                        "message\u{1b}[31m\n::stop-commands::token\n##[error]old style".into(),
                    ),
                    diagnostic(wit::Severity::Error, "::error::a file named like a command", None, "spec", "x".into()),
                ]),
                "bad-secrets" => {
                    let mut error =
                        diagnostic(wit::Severity::Error, "tiny.yaml", Some((0, 0)), "apiVersion", "x".into());
                    error.secrets = vec![(5, 2), (0, 3), (1, 4), (9, u32::MAX), (u32::MAX, u32::MAX)];
                    Err(vec![error])
                }
                _ => Ok(manifest(VALID.into())),
            }
        }

        fn describe(
            _: Vec<wit::SourceFile>,
            context: wit::RenderContext,
        ) -> Result<wit::Project, Vec<wit::Diagnostic>> {
            let mode = mode(&context).strip_prefix("describe-").unwrap_or_default();
            misbehave(mode);
            // Files outside the application, hidden, or absolute: the host must refuse each.
            let escapes = ["../outside.yaml", "/etc/passwd", ".git/config", "sub/../../outside.yaml"];
            let references = if mode == "escape" {
                escapes
                    .iter()
                    .map(|path| wit::FileReference {
                        path: (*path).into(),
                        referrer: "tiny.yaml".into(),
                        position: Some(wit::Position { line: 0, column: 0 }),
                    })
                    .collect()
            } else {
                vec![]
            };
            Ok(wit::Project { environments: vec![], models: vec![], references, parameters: vec![], plugins: vec![] })
        }

        fn edit(
            sources: Vec<wit::SourceFile>,
            context: wit::RenderContext,
            _: String,
            _: wit::EditAction,
        ) -> Result<wit::Edited, Vec<wit::Diagnostic>> {
            let mode = mode(&context).strip_prefix("edit-").unwrap_or_default();
            misbehave(mode);
            let first = sources.into_iter().next();
            Ok(wit::Edited {
                file: if mode == "outside" {
                    "../outside.yaml".into()
                } else {
                    first.as_ref().map_or_else(|| "hostile.yaml".into(), |f| f.path.clone())
                },
                contents: b"hostile: edit\n".to_vec(),
                changes: vec![],
                message: "hostile edit\n".into(),
            })
        }

        fn decide(rollout: wit::Rollout, _: wit::Observation) -> wit::Decision {
            let mode = rollout.gates.first().map_or("", |g| g.alert.as_str());
            misbehave(mode);
            if mode == "advance-past-100" {
                return wit::Decision::Advance(250);
            }
            wit::Decision::Hold("hostile".into())
        }

        fn spec_schema() -> String {
            "{}".into()
        }

        fn info() -> wit::PluginInfo {
            wit::PluginInfo {
                name: "hostile".into(),
                version: "0.0.0".into(),
                kinds: vec!["modelgen.dev/v1alpha1/ModelDeployment".into()],
                project_file: Some("modelgen.yaml".into()),
            }
        }
    }

    bindings::export!(Hostile with_types_in bindings);
}

#[cfg(all(feature = "contract-0-1", not(feature = "future-contract")))]
mod since_v0_1 {
    mod bindings {
        //! Bindings generated from the workspace's `wit/since_v0.1.0/`.
        #![allow(clippy::all, clippy::pedantic, missing_docs)]
        wit_bindgen::generate!({ path: "../../wit/since_v0.1.0", world: "plugin" });
    }

    use bindings::exports::modelgen::generator::generator as wit;

    use super::{VALID, misbehave};

    struct Released;

    /// The render parameter `mode`.
    fn mode(context: &wit::RenderContext) -> &str {
        context.parameters.iter().find(|(k, _)| k == "mode").map_or("ok", |(_, v)| v.as_str())
    }

    impl wit::Guest for Released {
        fn generate(
            sources: Vec<wit::SourceFile>,
            context: wit::RenderContext,
        ) -> Result<wit::Rendered, Vec<wit::Diagnostic>> {
            let mode = mode(&context);
            misbehave(mode);
            let source = sources.first().map_or_else(|| "hostile.yaml".into(), |f| f.path.clone());
            if mode == "refuse" {
                return Err(vec![wit::Diagnostic {
                    severity: wit::Severity::Error,
                    file: Some(source),
                    position: Some(wit::Position { line: 3, column: 8 }),
                    field: Some("metadata.name".into()),
                    message: "refused by a plugin of contract 0.1.0".into(),
                    hint: None,
                }]);
            }
            // A warning that names the files the host passed.
            let names: Vec<&str> = sources.iter().map(|f| f.path.as_str()).collect();
            let warning = wit::Diagnostic {
                severity: wit::Severity::Warning,
                file: None,
                position: None,
                field: None,
                message: format!("given: {}", names.join(", ")),
                hint: None,
            };
            Ok(wit::Rendered { manifests: vec![wit::Manifest { yaml: VALID.into(), source }], warnings: vec![warning] })
        }

        fn describe(
            sources: Vec<wit::SourceFile>,
            context: wit::RenderContext,
        ) -> Result<wit::Project, Vec<wit::Diagnostic>> {
            misbehave(mode(&context).strip_prefix("describe-").unwrap_or_default());
            Ok(wit::Project {
                environments: vec![],
                models: sources
                    .iter()
                    .map(|f| wit::ModelSummary {
                        name: "hostile".into(),
                        file: f.path.clone(),
                        backend: "kserve".into(),
                        canary_percent: Some(10),
                    })
                    .collect(),
                references: vec![],
            })
        }

        fn spec_schema() -> String {
            "{}".into()
        }

        fn info() -> wit::PluginInfo {
            wit::PluginInfo {
                name: "released".into(),
                version: "0.1.0".into(),
                // Not the built-in plugin's group: the host must pass these files, and no others.
                kinds: vec!["example.com/v1/Widget".into()],
            }
        }
    }

    bindings::export!(Released with_types_in bindings);
}

#[cfg(feature = "future-contract")]
mod future {
    mod bindings {
        //! Bindings generated from `wit-0.3/`.
        #![allow(clippy::all, clippy::pedantic, missing_docs)]
        wit_bindgen::generate!({ path: "wit-0.3", world: "plugin" });
    }

    struct Future;

    impl bindings::exports::modelgen::generator::generator::Guest for Future {
        fn info() -> String {
            "from the future".into()
        }
    }

    bindings::export!(Future with_types_in bindings);
}
