//! `completions SHELL` and `man`: generated from the clap definitions (`args.rs`), so they
//! name exactly the commands and options there are.

use crate::cli::args::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write;

/// The completion script for `shell`. Made in memory: clap_complete panics when its writer
/// fails, and stdout's failures (a closed pipe) are the output module's to handle.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "skillwal", &mut buf);
    buf
}

/// Every subcommand below `cmd`, depth first, with its whole name (`skillwal snapshot list`).
fn subcommands(cmd: &clap::Command, path: &str, all: &mut Vec<(String, clap::Command)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{path} {}", sub.get_name());
        all.push((name.clone(), sub.clone()));
        subcommands(sub, &name, all);
    }
}

/// One command's part of the page: a subsection headed by its whole name, its description,
/// synopsis and options (clap_mangen renders them as sections of a page of their own:
/// here they become paragraphs).
fn command_part(buf: &mut Vec<u8>, name: &str, cmd: clap::Command) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.bin_name(name));
    let mut part = Vec::new();
    man.render_description_section(&mut part)?;
    man.render_synopsis_section(&mut part)?;
    man.render_options_section(&mut part)?;
    writeln!(buf, ".SS \"{}\"", name.replace('-', "\\-"))?;
    for line in String::from_utf8_lossy(&part).lines() {
        match line {
            // The page's preamble (defines a string), once is enough.
            l if l.starts_with(".ie \\n(.g") || l.starts_with(".el .ds Aq") => {}
            ".SH DESCRIPTION" => {}
            ".SH SYNOPSIS" => writeln!(buf, ".PP")?,
            ".SH OPTIONS" => writeln!(buf, ".PP\nOptions:")?,
            other => writeln!(buf, "{other}")?,
        }
    }
    Ok(())
}

/// The manual page, roff for man(1), section 1: one page with every command (a section
/// per command, instead of a page each that would have to be installed separately).
pub fn man() -> Result<Vec<u8>> {
    let cmd = Cli::command();
    let main = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    let render = |buf: &mut Vec<u8>| -> std::io::Result<()> {
        main.render_title(buf)?;
        main.render_name_section(buf)?;
        main.render_synopsis_section(buf)?;
        main.render_description_section(buf)?;
        main.render_options_section(buf)?;
        writeln!(buf, ".SH COMMANDS")?;
        let mut all = Vec::new();
        subcommands(&cmd, "skillwal", &mut all);
        for (name, sub) in all {
            command_part(buf, &name, sub)?;
        }
        main.render_extra_section(buf)?;
        main.render_version_section(buf)
    };
    render(&mut buf).context("rendering the man page")?;
    Ok(buf)
}
