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
//! workflow commands and escapes).

#![cfg(target_arch = "wasm32")]
// The generated canonical-ABI glue is `unsafe`, and so is forging a string
// that is not UTF-8, which is the point of one mode.
#![allow(unsafe_code)]

#[cfg(not(feature = "future-contract"))]
mod current {
    mod bindings {
        //! Bindings generated from the workspace's `wit/`.
        #![allow(clippy::all, clippy::pedantic, missing_docs)]
        wit_bindgen::generate!({ path: "../../wit", world: "plugin" });
    }

    use bindings::exports::modelgen::generator::generator as wit;

    struct Hostile;

    const VALID: &str = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: hostile\nspec:\n  predictor:\n    model:\n      modelFormat:\n        name: sklearn\n      storageUri: s3://m\n";

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
        }
    }

    impl wit::Guest for Hostile {
        fn generate(
            _: Vec<wit::SourceFile>,
            context: wit::RenderContext,
        ) -> Result<wit::Rendered, Vec<wit::Diagnostic>> {
            let mode = context.parameters.iter().find(|(k, _)| k == "mode").map_or("ok", |(_, v)| v.as_str());
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
                _ => Ok(manifest(VALID.into())),
            }
        }

        fn describe(_: Vec<wit::SourceFile>, _: wit::RenderContext) -> Result<wit::Project, Vec<wit::Diagnostic>> {
            Ok(wit::Project { environments: vec![], models: vec![], references: vec![] })
        }

        fn spec_schema() -> String {
            "{}".into()
        }

        fn info() -> wit::PluginInfo {
            wit::PluginInfo { name: "hostile".into(), version: "0.0.0".into(), kinds: vec![] }
        }
    }

    bindings::export!(Hostile with_types_in bindings);
}

#[cfg(feature = "future-contract")]
mod future {
    mod bindings {
        //! Bindings generated from `wit-0.2/`.
        #![allow(clippy::all, clippy::pedantic, missing_docs)]
        wit_bindgen::generate!({ path: "wit-0.2", world: "plugin" });
    }

    struct Future;

    impl bindings::exports::modelgen::generator::generator::Guest for Future {
        fn info() -> String {
            "from the future".into()
        }
    }

    bindings::export!(Future with_types_in bindings);
}
