//! The command-line interface: parse arguments, call the library, print through `output`.
//!
//! - `args.rs`: the clap definitions;
//! - `commands/`: one file per group of commands, turning arguments into library calls;
//! - `output/`: everything printed, human text or JSON; standard output is written through
//!   a writer that returns its errors;
//! - `advice.rs`: what the CLI adds to the library's errors (the commands that get the user
//!   out), and whether a failed command may have changed anything;
//! - `exit.rs`: the exit codes, and which one an error gets;
//! - `demo.rs`: `skillwal demo`.

mod advice;
mod args;
mod commands;
mod demo;
mod exit;
mod output;
mod suggest;

pub use exit::Exit;
pub use output::Output;

use clap::Parser;

/// Whether `--json` is on the command line (before a `--`), looked at before parsing: a
/// command line clap refuses gets its error as JSON too.
pub fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Parses the command line and runs the command; `out` is set to JSON when `--json` was
/// given. Help and version requests print and succeed; a usage error is returned (as
/// [`clap::Error`]) for the caller to print and map to [`Exit::Usage`].
pub fn run(out: &mut Output) -> anyhow::Result<Exit> {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help, --version: clap prints them on stdout.
            let _ = e.print();
            return Ok(Exit::Ok);
        }
        Err(e) => return Err(e.into()),
    };
    out.set_json(cli.global.json);
    commands::dispatch(&cli, out)
}
