//! The `modelgen` binary: parse the command line, run it, exit with its code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = modelgen::cli::Cli::parse();
    modelgen::cli::run(&cli)
}
