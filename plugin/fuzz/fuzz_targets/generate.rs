//! Fuzz target: any bytes, as a spec file, through the whole native render; it must never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modelgen_plugin::{RenderContext, SourceFile, generate};

fuzz_target!(|data: &[u8]| {
    let context = RenderContext { namespace: Some("fuzz".into()), ..RenderContext::default() };
    let _ = generate(&[SourceFile::new("fuzz.yaml", data)], &context);
});
