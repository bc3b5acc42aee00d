//! Why a command failed, its exit code, and the one place failures meet the flags that lift a limit.

use std::io::{self, Write};
use std::process::ExitCode;

use crate::escape;
use crate::pipeline;
use crate::plugin::runtime;

/// Set by the binary when standard output was closed when it started
/// (`modelgen render >&-`): the runtime then points it at `/dev/null`,
/// where output would be lost without an error.
pub static STDOUT_CLOSED_AT_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Why a command failed, which decides the exit code.
pub(crate) enum Failure {
    /// The input is wrong; diagnostics were printed.
    Input,
    /// The input cannot be read or used (exit 1).
    Error(anyhow::Error),
    /// The command line is wrong (exit 2).
    Usage(anyhow::Error),
    /// The plugin failed, hit a limit, broke the contract or could not be loaded (exit 3).
    Plugin(anyhow::Error),
    /// An edit command had nothing to change, or `canary advance` decided to
    /// hold or wait (exit 4): the files are as they were, by design. A
    /// distinct code lets a scheduled job tell "nothing to commit" from an error.
    Unchanged,
}

impl Failure {
    /// The process's exit code for this failure.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Input | Failure::Error(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Plugin(_) => 3,
            Failure::Unchanged => 4,
        })
    }

    /// The same failure, its message prefixed with `label`.
    pub(crate) fn context(self, label: &str) -> Self {
        match self {
            Failure::Input => Failure::Input,
            Failure::Unchanged => Failure::Unchanged,
            Failure::Error(e) => Failure::Error(e.context(label.to_owned())),
            Failure::Usage(e) => Failure::Usage(e.context(label.to_owned())),
            Failure::Plugin(e) => Failure::Plugin(e.context(label.to_owned())),
        }
    }

    /// Prints the failure's message, if it has one (diagnostics were printed already).
    pub(crate) fn report(&self) {
        if let Failure::Error(e) | Failure::Usage(e) | Failure::Plugin(e) = self {
            // Messages quote paths and values from the input and the plugin.
            eprintln!("{}", escape::lines(&format!("error: {e:#}")));
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e)
    }
}

impl From<runtime::Error> for Failure {
    /// The only place a plugin's failure meets the flags that lift its limits.
    fn from(e: runtime::Error) -> Self {
        Failure::Plugin(match e {
            runtime::Error::Timeout { .. } => anyhow::anyhow!("{e} (raise it with `--timeout`)"),
            runtime::Error::Memory { .. } => anyhow::anyhow!("{e} (raise it with `--max-memory`)"),
            runtime::Error::Wait => anyhow::anyhow!("{e}, and a wait would outlast `--timeout` unseen"),
            runtime::Error::Load(e) => e,
            e @ (runtime::Error::Trap(_) | runtime::Error::Unsupported { .. } | runtime::Error::Broken(_)) => e.into(),
        })
    }
}

impl From<pipeline::Error> for Failure {
    /// Likewise for the checks of the render's output.
    fn from(e: pipeline::Error) -> Self {
        match e {
            pipeline::Error::Input(e) => Failure::Error(e),
            pipeline::Error::Plugin(e) => Failure::from(e),
            pipeline::Error::Output(e) => Failure::Plugin(e),
            e @ pipeline::Error::OutputTooLarge { .. } => {
                Failure::Plugin(anyhow::anyhow!("{e} (raise it with `--max-output-bytes`)"))
            }
            e @ (pipeline::Error::Unreported | pipeline::Error::Rejected(_)) => Failure::Plugin(anyhow::anyhow!("{e}")),
            pipeline::Error::Policy { plugin, error } => {
                Failure::from(error).context(&format!("the policy plugin `{}` failed", escape::value(&plugin)))
            }
        }
    }
}

/// Writes `text` to stdout in one go; a closed pipe (`| head`) is not an
/// error, but a standard output that was closed from the start is: what
/// would be printed would be lost.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    if STDOUT_CLOSED_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(anyhow::anyhow!(
            "cannot write to stdout: it was closed when modelgen started, so the output would be lost"
        )
        .into());
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::from(e).context("cannot write to stdout").into())
        }
        _ => Ok(()),
    }
}
