//! Long work draws a progress bar on a terminal, and nothing when stderr is not one or with
//! `--json`. `SKILLWAL_PROGRESS_DELAY_MS=0` draws a bar at once (it is otherwise drawn only
//! for work that lasts 300 ms), so that a small collection shows one.

use super::prompt::{no_script, on_a_terminal_with};
use crate::support::*;

const AT_ONCE: (&str, &str) = ("SKILLWAL_PROGRESS_DELAY_MS", "0");
/// A terminal that can draw a bar (without TERM, indicatif takes it for a dumb one).
const XTERM: (&str, &str) = ("TERM", "xterm");

#[test]
fn verify_draws_a_bar_on_a_terminal_only_without_json() {
    if no_script() {
        return;
    }
    let sb = Sandbox::new();
    sb.three_artifacts();
    let (code, shown) = on_a_terminal_with(&sb, &[AT_ONCE, XTERM], "verify", "");
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("verifying"),
        "no bar on the terminal:\n{shown}"
    );

    let (code, shown) = on_a_terminal_with(&sb, &[AT_ONCE, XTERM], "--json verify", "");
    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains("verifying"), "a bar with --json:\n{shown}");

    // Not a terminal: stderr holds nothing at all.
    let r = sb.run_env(&[AT_ONCE], &["verify"]);
    r.ok();
    assert_eq!(r.stderr, "", "stderr of a piped verify");
}
