//! In-process benchmark of the generator's native library: where a render's time goes, without wasm or the host.
//!
//! `cargo bench -p modelgen-plugin --bench generate` renders the mochanet
//! example (without and with monitoring) for 1 and 1,000 models and prints
//! medians. Built with the release profile, it is also the program to run
//! under `perf record` when the plugin is what a profile of the binary
//! points at (it is, for large renders: see `docs/performance.md`).

use std::time::{Duration, Instant};

use modelgen_plugin::{RenderContext, SourceFile, generate};

const SPEC: &str = include_str!("../../examples/mochanet/mochanet.yaml");

fn sources(models: usize, monitoring: bool) -> Vec<SourceFile> {
    let spec = if monitoring { SPEC.to_owned() } else { without_monitoring(SPEC) };
    (0..models)
        .map(|i| {
            let name = format!("model-{i:04}");
            SourceFile::new(format!("{name}.yaml"), spec.replace("name: mochanet", &format!("name: {name}")))
        })
        .collect()
}

/// `spec` without its `monitoring` section (the lines below `  monitoring:` indented deeper than it).
fn without_monitoring(spec: &str) -> String {
    let mut inside = false;
    let mut kept = String::new();
    for line in spec.lines() {
        inside = line == "  monitoring:" || (inside && line.starts_with("    "));
        if !inside {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let only = std::env::var("MODELGEN_BENCH_ONLY").unwrap_or_default();
    let context = RenderContext { app_name: "bench".into(), ..RenderContext::default() };
    for (label, models, monitoring, runs) in [
        ("1 spec without monitoring", 1, false, 201),
        ("1 spec with monitoring", 1, true, 201),
        ("1,000 specs without monitoring", 1000, false, 15),
        ("1,000 specs with monitoring", 1000, true, 9),
    ] {
        if !label.contains(&*only) {
            continue;
        }
        let files = sources(models, monitoring);
        let samples = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let rendered = generate(&files, &context).expect("renders");
                std::hint::black_box(rendered);
                start.elapsed()
            })
            .collect();
        println!("{label:<32} {:>9.3} ms", median(samples).as_secs_f64() * 1000.0);
    }
}
