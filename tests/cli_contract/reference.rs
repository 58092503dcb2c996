//! `skillwal completions SHELL` and `skillwal man`, generated from the clap definitions:
//! every subcommand is in them.

use crate::support::*;
use std::fs;

/// The subcommands `skillwal --help` lists (and, below `snapshot` and `journal`, theirs),
/// without `help`.
fn subcommands(sb: &Sandbox) -> Vec<String> {
    let listed = |args: &[&str]| -> Vec<String> {
        let help = sb.run(args).ok().stdout.clone();
        help.split("Commands:\n")
            .nth(1)
            .expect("a Commands: section")
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(str::to_string)
            .collect()
    };
    let mut all = listed(&["--help"]);
    for known in [
        "init",
        "add",
        "update",
        "remove",
        "diff",
        "list",
        "show",
        "status",
        "verify",
        "snapshot",
        "rollback",
        "gc",
        "journal",
        "recover",
        "demo",
        "completions",
        "man",
    ] {
        assert!(
            all.iter().any(|c| c == known),
            "--help lacks {known}: {all:?}"
        );
    }
    all.extend(listed(&["snapshot", "--help"]));
    all.extend(listed(&["journal", "--help"]));
    all
}

/// Whether `word` appears in `text` as a word of its own (not inside a longer name).
fn has_word(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

#[test]
fn completions_name_every_subcommand() {
    let sb = Sandbox::new();
    let commands = subcommands(&sb);
    assert!(commands.iter().any(|c| c == "inspect"), "{commands:?}");
    for shell in ["bash", "zsh", "fish"] {
        let script = sb.run(&["completions", shell]).ok().stdout.clone();
        for c in &commands {
            assert!(has_word(&script, c), "{shell} completions lack {c}");
        }
    }
    sb.run(&["completions", "tcsh"]).code(2);
}

/// The bash script works: sourced in bash, it completes `skillwal sna` to `snapshot` and
/// `skillwal journal i` to `inspect`.
#[test]
fn bash_completion_completes() {
    let sb = Sandbox::new();
    let script = sb.root.join("skillwal.bash");
    fs::write(&script, &sb.run(&["completions", "bash"]).ok().stdout).unwrap();
    for (words, expect) in [
        ("skillwal sna", "snapshot"),
        ("skillwal journal i", "inspect"),
    ] {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); _skillwal skillwal \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\"",
            s(&script)
        );
        let out = sb
            .std_cmd("bash")
            .args(["-c", &program])
            .output()
            .expect("run bash");
        let got = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(got.trim(), expect, "{words}");
    }
}

#[test]
fn the_man_page_is_roff_naming_every_subcommand() {
    let sb = Sandbox::new();
    let commands = subcommands(&sb);
    let page = sb.run(&["man"]).ok().stdout.clone();
    assert!(page.contains("\n.TH skillwal 1 "), "{page}");
    assert!(page.contains("\n.SH SYNOPSIS\n"), "{page}");
    for c in &commands {
        assert!(has_word(&page, c), "the man page lacks {c}");
    }
    for heading in [
        "skillwal init",
        "skillwal snapshot list",
        "skillwal journal inspect",
    ] {
        assert!(
            page.contains(&format!(".SS \"{heading}\"")),
            "no section for {heading}"
        );
    }
    // And man(1) renders it.
    if have("man") {
        let file = sb.root.join("skillwal.1");
        fs::write(&file, &page).unwrap();
        let out = sb
            .std_cmd("man")
            .args(["-l", s(&file)])
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .expect("run man");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Justified text: one space between words for the comparison.
        let text = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains("skillwal snapshot list"), "{text}");
        assert!(text.contains("Exit codes: 0 success"), "{text}");
    }
}
