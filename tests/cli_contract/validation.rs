//! Refusals change nothing: `init` checks the collection's name (and what is at its path,
//! and config.toml) before it creates anything, and config.toml's values are checked when
//! it is read, `update-strategy` as `skillwal-snapshot-keep` is.

use crate::support::*;
use std::fs;

/// Every refusal of `init`: exit 1, "nothing was changed", and the whole sandbox (home,
/// sources, working directory: kinds, bytes and modes) exactly as it was.
#[test]
fn init_refusals_leave_everything_as_it_was() {
    for with_home in [false, true] {
        let sb = Sandbox::new();
        if with_home {
            sb.run(&["init"]).ok();
        }
        fs::write(sb.root.join("afile"), "not a directory\n").unwrap();
        fs::create_dir(sb.root.join(".hid")).unwrap();
        let abs = sb.root.join("elsewhere/abs");
        let afile = sb.root.join("afile");
        let hid = sb.root.join(".hid");
        let fresh = sb.root.join("fresh");
        let cases: Vec<Vec<&str>> = vec![
            vec!["init", "--name", "bad/name"],
            vec!["init", "--name", ".x"],
            vec!["init", "--name", ""],
            vec!["-c", s(&abs), "init"],
            vec!["-c", "../x", "init"],
            vec!["-c", "..", "init"],
            vec!["--collection-dir", s(&afile), "init"],
            vec!["--collection-dir", s(&hid), "init"],
            vec!["--collection-dir", s(&fresh), "init", "--name", "a/b"],
        ];
        for args in cases {
            let before = tree(&sb.root);
            let r = sb.run(&args);
            r.code(1).nothing_changed();
            assert_same_tree(&before, &tree(&sb.root), &r.what);
        }
        // The name is named, and what to do.
        sb.run(&["init", "--name", "bad/name"])
            .code(1)
            .stderr_has("invalid collection name \"bad/name\"")
            .stderr_has("Choose another collection name");
    }
}

/// An I/O error in the middle of `init`, after it created its first directories, also
/// leaves the file system exactly as it was (it removes what it made), so that "Nothing was
/// changed." is true; then init works.
#[test]
fn init_failing_midway_leaves_nothing_behind() {
    let mut failed = 0;
    for n in 1..=40u32 {
        let sb = Sandbox::new();
        let before = tree(&sb.root);
        let spec = format!("{n}:ENOSPC");
        let r = sb.run_env(&[("SKILLWAL_FAIL_AT", &spec)], &["init"]);
        if r.code == Some(0) {
            break;
        }
        failed += 1;
        if r.stderr.contains("may have been applied") {
            // Past the commit point: the next command completes it.
            sb.run(&["list"]).ok();
            continue;
        }
        r.code(1).nothing_changed();
        assert_same_tree(&before, &tree(&sb.root), &r.what);
        sb.run(&["init"]).ok();
    }
    assert!(failed > 3, "init failed at only {failed} points");
}

#[test]
fn an_unknown_update_strategy_in_config_is_refused_naming_the_key() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let config = sb.home.join("config.toml");
    let text = read(&config);
    assert!(text.contains("update-strategy = \"prompt\""), "{text}");
    fs::write(
        &config,
        text.replace(
            "update-strategy = \"prompt\"",
            "update-strategy = \"sometimes\"",
        ),
    )
    .unwrap();
    let line_col = {
        let t = read(&config);
        let at = t.find("\"sometimes\"").unwrap();
        let line = t[..at].matches('\n').count() + 1;
        let col = at - t[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("config.toml:{line}:{col}")
    };
    let before = tree_all(&coll);
    for args in [&["update", "review"][..], &["update", "--all"], &["list"]] {
        sb.run(args)
            .code(1)
            .stderr_has(&line_col)
            .stderr_has("field `update-strategy` must be one of")
            .stderr_has("\"prompt\", \"upstream\", \"local\", \"merge\"")
            .nothing_changed();
    }
    // init refuses it too, before creating anything.
    let home_before = tree(&sb.home);
    sb.run(&["-c", "other", "init"])
        .code(1)
        .stderr_has("update-strategy");
    assert_same_tree(&home_before, &tree(&sb.home), "init with a bad config");
    assert_same_tree(&before, &tree_all(&coll), "a bad update-strategy");
    // Every allowed value is accepted.
    for value in ["prompt", "upstream", "local", "merge"] {
        let t = read(&config);
        let start = t.find("update-strategy = ").unwrap();
        let end = start + t[start..].find('\n').unwrap();
        fs::write(
            &config,
            format!("{}update-strategy = \"{value}\"{}", &t[..start], &t[end..]),
        )
        .unwrap();
        sb.run(&["list"]).ok();
    }
}
