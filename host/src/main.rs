//! The `modelgen` binary: parse the command line, run it, exit with its code.

use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

/// Whether file descriptor 1 was closed when the process started (`>&-`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Runs before `main` and before Rust's runtime, which reopens a closed
/// standard output on `/dev/null`: only then can a closed one be told from
/// a redirection to `/dev/null`, and a render whose output would be lost
/// fail instead of succeeding.
extern "C" fn record_closed_stdout() {
    // SAFETY: `fcntl(F_GETFD)` only queries the descriptor table.
    #[allow(unsafe_code)]
    let closed = unsafe { libc::fcntl(1, libc::F_GETFD) } == -1;
    STDOUT_CLOSED.store(closed, Ordering::Relaxed);
}

// SAFETY: a constructor that only calls `fcntl` and stores an atomic.
#[allow(unsafe_code)]
#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    unsafe(link_section = ".init_array")
)]
#[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
static RECORD_CLOSED_STDOUT: extern "C" fn() = record_closed_stdout;

fn main() -> std::process::ExitCode {
    modelgen::cli::STDOUT_CLOSED_AT_START.store(STDOUT_CLOSED.load(Ordering::Relaxed), Ordering::Relaxed);
    let cli = modelgen::cli::Cli::parse();
    modelgen::cli::run(&cli)
}
