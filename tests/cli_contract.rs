//! The `skillwal` command line's contract with scripts and shells, end to end through the
//! built binary: what a closed pipe does, one JSON schema for every command (docs/json.md),
//! did-you-mean suggestions, validation before any change, `journal inspect PATH`, shell
//! completions and the man page, the interactive update prompt, and progress bars only on a
//! terminal.
//!
//! Each test here was checked to fail against the CLI before the change it covers.

#[path = "cli/support.rs"]
mod support;

#[path = "cli_contract/did_you_mean.rs"]
mod did_you_mean;
#[path = "cli_contract/inspect.rs"]
mod inspect;
#[path = "cli_contract/json.rs"]
mod json;
#[path = "cli_contract/pipe.rs"]
mod pipe;
#[path = "cli_contract/progress.rs"]
mod progress;
#[path = "cli_contract/prompt.rs"]
mod prompt;
#[path = "cli_contract/reference.rs"]
mod reference;
#[path = "cli_contract/validation.rs"]
mod validation;
