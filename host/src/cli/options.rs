//! The options every command shares: which plugin runs, how its code is cached, and the limits of a render.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::failure::Failure;
use crate::input::source::{self, InputLimits};
use crate::pipeline::{Pipeline, Settings};
use crate::plugin::cache::CompileCache;
use crate::plugin::runtime::Limits;

/// The longest `--timeout`: far beyond any render, and small enough that
/// the deadline, counted in ticks, cannot overflow.
const MAX_TIMEOUT_SECONDS: f64 = 1_000_000.0;

/// Which generator runs, and how its compiled code and renders are cached.
#[derive(Debug, Args)]
pub struct PluginOptions {
    /// Use this generator component (`.wasm`) instead of the built-in one.
    #[arg(long, global = true, value_name = "FILE", env = "MODELGEN_PLUGIN")]
    pub plugin: Option<PathBuf>,
    /// Where compiled plugin code, checked outputs and renders are cached [default: `$XDG_CACHE_HOME/modelgen` or `~/.cache/modelgen`].
    #[arg(long, global = true, value_name = "DIR", env = "MODELGEN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use no cache: compile and run the plugin, and check its output, on every run.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Limits on what a render may read, use and print.
    #[command(flatten)]
    pub limits: LimitOptions,
}

/// Limits on what a render may read, use and print (defaults suit thousands of specs).
#[derive(Debug, Args)]
pub struct LimitOptions {
    /// Wall-clock seconds one plugin call may take [default: 5, plus 2 per MiB of spec input].
    #[arg(long, global = true, value_name = "SECONDS", env = "MODELGEN_TIMEOUT")]
    pub timeout: Option<f64>,
    /// Memory the plugin may use, in MiB [default: 256, plus 8 per MiB of spec input].
    #[arg(long, global = true, value_name = "MIB", env = "MODELGEN_MAX_MEMORY")]
    pub max_memory: Option<usize>,
    /// Total bytes of spec files read (and the largest one file may be).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = source::DEFAULT_MAX_BYTES)]
    pub max_input_bytes: u64,
    /// Number of spec files read.
    #[arg(long, global = true, value_name = "COUNT", default_value_t = source::DEFAULT_MAX_FILES)]
    pub max_files: usize,
    /// Bytes of manifests a render may produce.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_output_bytes: usize,
}

impl LimitOptions {
    /// The plugin's limits: a limit the user sets is exact; a default one
    /// grows with the input (see [`Limits`]).
    pub(crate) fn runtime(&self) -> Result<Limits, Failure> {
        let usage = |message: String| Failure::Usage(anyhow::anyhow!(message));
        let mut limits = Limits::default();
        if let Some(seconds) = self.timeout {
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(usage("`--timeout` must be a positive number of seconds".to_owned()));
            }
            if seconds > MAX_TIMEOUT_SECONDS {
                return Err(usage(format!("`--timeout` must be at most {MAX_TIMEOUT_SECONDS} seconds")));
            }
            limits.timeout = Duration::try_from_secs_f64(seconds)
                .map_err(|_| usage("`--timeout` must be a positive number of seconds".to_owned()))?;
            limits.timeout_per_mib = Duration::ZERO;
        }
        if let Some(mib) = self.max_memory {
            limits.memory_bytes = mib.saturating_mul(1024 * 1024);
            limits.memory_per_mib = 0;
        }
        Ok(limits)
    }

    pub(crate) fn input(&self) -> InputLimits {
        InputLimits { max_bytes: self.max_input_bytes, max_files: self.max_files }
    }
}

pub(crate) fn cache(options: &PluginOptions) -> Option<CompileCache> {
    (!options.no_cache).then(|| CompileCache::new(options.cache_dir.clone().unwrap_or_else(CompileCache::default_dir)))
}

impl PluginOptions {
    /// Loads the plugin these options name, with their limits.
    pub(crate) fn pipeline(&self) -> Result<Pipeline, Failure> {
        let settings = Settings {
            plugin: self.plugin.clone(),
            cache: cache(self),
            limits: self.limits.runtime()?,
            max_output_bytes: self.limits.max_output_bytes,
        };
        Ok(Pipeline::load(settings)?)
    }
}
