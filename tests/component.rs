//! The component itself: its imports, and agreement with the native library byte for byte.

mod support;

use std::path::{Path, PathBuf};

use modelgen::input::application;
use modelgen::input::source::{self, SourceFile};
use modelgen::plugin::contract::{CONTRACT_VERSION, INTERFACE};
use modelgen::plugin::runtime::{EMBEDDED_PLUGIN, Limits, RenderContext, Reply, Runtime};
use support::{subdirectories, workspace};

/// Every application directory the suites render: the examples and the cases.
fn apps() -> Vec<PathBuf> {
    let mut apps = subdirectories(&workspace().join("examples"));
    apps.extend(subdirectories(&workspace().join("tests/cases")).into_iter().map(|c| c.join("app")));
    apps.retain(|a| a.is_dir());
    apps
}

fn native(files: &[SourceFile], context: &RenderContext) -> Result<String, Vec<String>> {
    let sources: Vec<modelgen_plugin::SourceFile> =
        files.iter().map(|f| modelgen_plugin::SourceFile::new(f.path.clone(), f.contents.clone())).collect();
    let context = modelgen_plugin::RenderContext {
        app_name: context.app_name.clone(),
        namespace: context.namespace.clone(),
        revision: context.revision.clone(),
        environment: context.environment.clone(),
        parameters: context.parameters.clone(),
    };
    modelgen_plugin::generate(&sources, &context).map(|r| r.to_stream()).map_err(|ds| {
        ds.iter()
            .map(|d| {
                format!(
                    "{:?} {:?} {:?} {:?} {} {:?}",
                    d.severity,
                    d.file,
                    d.position.map(|p| (p.line, p.column)),
                    d.field,
                    d.message,
                    d.hint
                )
            })
            .collect()
    })
}

fn wasm(runtime: &Runtime, files: &[SourceFile], context: &RenderContext) -> Result<String, Vec<String>> {
    match runtime.generate(files.to_vec(), context).expect("the plugin does not trap") {
        Reply::Accepted(rendered) => Ok(rendered.to_stream()),
        Reply::Refused(ds) => Err(ds
            .iter()
            .map(|d| format!("{:?} {:?} {:?} {:?} {} {:?}", d.severity, d.file, d.position, d.field, d.message, d.hint))
            .collect()),
    }
}

#[test]
fn native_library_and_component_agree_byte_for_byte() {
    let runtime = Runtime::builtin(None, Limits::default()).expect("load the component");
    let contexts = [
        RenderContext::default(),
        RenderContext { namespace: Some("ml".into()), app_name: "x".into(), ..RenderContext::default() },
    ];
    let mut compared = 0;
    for app in apps() {
        let sources = source::discover(&app, source::InputLimits::default(), &support::kinds()).expect("readable app");
        // Every environment of the project file, and none.
        let environments = runtime
            .describe(sources.files.clone(), &RenderContext::default())
            .expect("the plugin does not trap")
            .accepted()
            .map(|p| p.environments)
            .unwrap_or_default();
        let discovered = sources.files.clone();
        let files =
            application::files(&runtime, Some(modelgen_plugin::PROJECT_FILE), sources, &RenderContext::default())
                .expect("the plugin does not trap")
                .accepted()
                .map_or(discovered, |input| input.files);
        let with_environments =
            environments.iter().map(|e| RenderContext { environment: Some(e.clone()), ..RenderContext::default() });
        for context in contexts.iter().cloned().chain(with_environments) {
            let (n, w) = (native(&files, &context), wasm(&runtime, &files, &context));
            assert_eq!(n, w, "{} renders differently natively and in wasm ({context:?})", app.display());
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} renders compared");
}

#[test]
fn renders_are_deterministic_across_fresh_sandboxes() {
    let runtime = Runtime::builtin(None, Limits::default()).expect("load the component");
    let files =
        source::discover(&workspace().join("examples/mochanet"), source::InputLimits::default(), &support::kinds())
            .expect("example")
            .files;
    let first = wasm(&runtime, &files, &RenderContext::default()).expect("renders");
    for _ in 0..5 {
        assert_eq!(wasm(&runtime, &files, &RenderContext::default()).expect("renders"), first);
    }
    // Another engine and another compilation give the same bytes too.
    let other = Runtime::builtin(None, Limits::default()).expect("load again");
    assert_eq!(wasm(&other, &files, &RenderContext::default()).expect("renders"), first);
    // File order as given does not matter.
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(wasm(&runtime, &reversed, &RenderContext::default()).expect("renders"), first);
}

#[test]
fn the_component_imports_only_the_default_wasi_interfaces() {
    // Anything new here is a new capability request: review it, then pin it.
    let imports = Runtime::imports(EMBEDDED_PLUGIN).expect("component type");
    let expected = [
        "wasi:cli/environment@0.2.6",
        "wasi:cli/exit@0.2.6",
        "wasi:cli/stderr@0.2.6",
        "wasi:cli/stdin@0.2.6",
        "wasi:cli/stdout@0.2.6",
        "wasi:cli/terminal-input@0.2.6",
        "wasi:cli/terminal-output@0.2.6",
        "wasi:cli/terminal-stderr@0.2.6",
        "wasi:cli/terminal-stdin@0.2.6",
        "wasi:cli/terminal-stdout@0.2.6",
        "wasi:io/error@0.2.6",
        "wasi:io/poll@0.2.6",
        "wasi:io/streams@0.2.6",
        "wasi:random/insecure-seed@0.2.6",
    ];
    assert_eq!(imports, expected);
}

#[test]
fn the_component_exports_the_versioned_generator_interface() {
    let engine = Runtime::engine().expect("engine");
    let component = wasmtime::component::Component::new(&engine, EMBEDDED_PLUGIN).expect("compile");
    let exports: Vec<String> = component.component_type().exports(&engine).map(|(name, _)| name.to_owned()).collect();
    // The latest contract: the built-in plugin never needs the adapter of an earlier one.
    assert_eq!(exports, [format!("{INTERFACE}@{CONTRACT_VERSION}")]);
    assert_eq!(CONTRACT_VERSION, "0.2.0");
    let runtime = Runtime::builtin(None, Limits::default()).expect("load");
    assert_eq!(runtime.contract(), CONTRACT_VERSION);
    let info = runtime.info().expect("info");
    assert_eq!(info.kinds, ["modelgen.dev/v1alpha1/ModelDeployment"]);
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(runtime.spec_schema().expect("schema"), modelgen_plugin::spec_schema());
}

#[test]
fn source_discovery_is_sorted_and_relative() {
    let files =
        source::discover(Path::new(&workspace().join("examples")), source::InputLimits::default(), &support::kinds())
            .expect("examples");
    let paths: Vec<&str> = files.files.iter().map(|f| f.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted);
    assert!(paths.iter().all(|p| !p.starts_with('/') && !p.contains('\\')));
}

#[test]
fn the_precompiled_built_in_plugin_matches_the_runtime_engine() {
    // If this fails, the build's engine settings drifted from the runtime's,
    // and every machine would compile the plugin on its first render again.
    let engine = Runtime::engine().expect("engine");
    assert_eq!(
        modelgen::plugin::engine::compatibility_key(&engine),
        modelgen::plugin::runtime::EMBEDDED_PRECOMPILED_KEY
    );
}
