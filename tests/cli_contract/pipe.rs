//! A closed standard output (`skillwal list | head -1`) ends the command quietly with
//! success: exit 0, nothing on stderr, no panic.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

/// Adds `n` command entries with long names to the manifest of the collection at `coll`
/// (no files: `list` reads the manifest only), so that `list` prints far more than a
/// pipe's buffer (64 KiB) holds.
fn many_artifacts(coll: &Path, n: usize) {
    // A new collection's manifest starts with `artifacts = []`: tables replace it.
    let mut text = read(&coll.join("collection.toml")).replace("artifacts = []\n", "");
    for i in 0..n {
        let name = format!("artifact-{i:05}-{}", "x".repeat(80));
        text.push_str(&format!(
            "\n[[artifacts]]\nname = \"{name}\"\ntype = \"command\"\npath = \"commands/{name}.md\"\norigin = \"local\"\nadded = \"2026-01-01T00:00:00.000000\"\n"
        ));
    }
    write(&coll.join("collection.toml"), &text);
}

/// Runs `skillwal ARGS`, reads the first line of its stdout and closes the pipe, as
/// `head -1` does; returns the exit code and stderr.
fn first_line_then_close(sb: &Sandbox, args: &[&str]) -> (String, Option<i32>, String) {
    let mut child = sb
        .std_cmd(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn skillwal");
    let mut first = String::new();
    {
        let stdout = child.stdout.take().expect("stdout");
        let mut r = BufReader::new(stdout);
        r.read_line(&mut first).expect("read the first line");
        // The reader (and the pipe's read end) goes away here, with most of the output
        // still to be written.
    }
    let out = child.wait_with_output().expect("wait for skillwal");
    (
        first,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_into_a_closed_pipe_exits_0_quietly() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    many_artifacts(&sb.coll(), 3000);
    // The listing is far larger than a pipe's buffer.
    let full = sb.run(&["list"]);
    full.ok();
    assert!(full.stdout.len() > 256 * 1024, "{}", full.stdout.len());
    let (first, code, stderr) = first_line_then_close(&sb, &["list"]);
    assert!(first.starts_with("NAME"), "{first}");
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn json_list_into_a_closed_pipe_exits_0_quietly() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    many_artifacts(&sb.coll(), 3000);
    let (first, code, stderr) = first_line_then_close(&sb, &["--json", "list"]);
    assert_eq!(first, "{\n");
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
}

/// The pipe's read end is closed before skillwal starts: its very first write fails.
#[test]
fn output_into_a_pipe_closed_from_the_start_exits_0_quietly() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    for args in [
        &["list"][..],
        &["--json", "status"],
        &["verify"],
        &["--help"],
    ] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = sb
            .std_cmd(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("run skillwal");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

/// Any other failure to write stdout (here a full device) is an error that says so (exit
/// 1), for text and JSON alike: before, JSON output ignored it and exited 0, as if the
/// document had been written.
#[test]
fn stdout_on_a_full_device_is_an_error() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    for args in [&["list"][..], &["--json", "list"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        let out = sb
            .std_cmd(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .expect("run skillwal");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("writing to standard output failed"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
