//! The command-line interface: parse arguments, call the library, print through `output`.

mod advice;
mod args;
mod commands;
mod demo;
mod output;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes (README, "Exit codes").
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const LOCKED: u8 = 3;
    /// `update --strategy merge` committed, leaving merge conflicts to resolve.
    pub const CONFLICTS: u8 = 4;
    /// `update --all` committed what it could, but some artifacts could not be updated (no
    /// recorded source, or the fetch failed); they are listed. 4 wins when both apply.
    pub const NOT_ALL_UPDATED: u8 = 5;
}

/// Runs the command line; returns the process exit code.
pub fn run() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let out = output::Output::new(cli.global.json);
    match commands::dispatch(&cli, &out) {
        Ok(code) => ExitCode::from(code),
        Err(e) => ExitCode::from(out.error(&e)),
    }
}
