use super::*;

/// One path of `diff NAME`.
#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    /// Path relative to the collection.
    pub path: String,
    /// What `update` would do to it on disk: `added`, `deleted`, `modified` (content, kind
    /// or link target) or `mode` (only the permission bits).
    pub change: &'static str,
    /// The permission bits before and after, octal, when they differ (`None` for a path
    /// added or deleted, or whose bits stay).
    pub mode: Option<(String, String)>,
    /// The unified diff (lossy UTF-8), or `None` for a binary or too large file. For a
    /// link, a line saying where it points before and after.
    pub diff: Option<String>,
    /// Lines the diff adds.
    pub added_lines: usize,
    /// Lines the diff removes.
    pub removed_lines: usize,
}

/// What updating the artifact to `fetched` would change on disk, per path: files, links,
/// and directories whose permission bits change.
pub fn diff(
    store: &Store,
    ty: ArtifactType,
    name: &str,
    storage: &str,
    abs: &Path,
    fetched: &Fetched,
) -> Result<Vec<FileDiff>> {
    let key = file_key(abs);
    let present = store.fs().exists(abs).map_err(io_error(abs))?;
    let o = if present {
        ours(store, abs, ty, name)?
    } else {
        Version::default()
    };
    let t = theirs(fetched, &key)?;
    let shown = |rel: &str| {
        if ty.is_directory() {
            format!("{storage}/{rel}")
        } else {
            beside_storage(storage, rel)
        }
    };
    let mut out = dir_modes(storage, &o, &t, &shown);
    let mut paths: BTreeSet<&String> = o.files.keys().collect();
    paths.extend(t.files.keys());
    for rel in paths {
        let (of, tf) = (o.files.get(rel), t.files.get(rel));
        if let Some(d) = file_diff(store, shown(rel), of, tf)? {
            out.push(d);
        }
    }
    Ok(out)
}

fn octal(m: u32) -> String {
    format!("{m:o}")
}

/// The artifact's own directory and its directories whose permission bits differ.
fn dir_modes(
    storage: &str,
    o: &Version,
    t: &Version,
    shown: &dyn Fn(&str) -> String,
) -> Vec<FileDiff> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (o.root_mode, t.root_mode)
        && a != b
    {
        out.push(mode_only(storage.to_string(), octal(a), octal(b)));
    }
    let mut dirs: BTreeSet<&String> = o.dirs.keys().collect();
    dirs.extend(t.dirs.keys());
    for rel in dirs {
        if let (Some(a), Some(b)) = (o.dirs.get(rel), t.dirs.get(rel))
            && a != b
        {
            out.push(mode_only(shown(rel), octal(*a), octal(*b)));
        }
    }
    out
}

/// How the file or link at `path` changes from `of` (on disk) to `tf` (upstream); `None`
/// when it does not.
fn file_diff(
    store: &Store,
    path: String,
    of: Option<&FileRef>,
    tf: Option<&FileRef>,
) -> Result<Option<FileDiff>> {
    if let (Some(a), Some(b)) = (of, tf)
        && a.id() == b.id()
    {
        return Ok(None);
    }
    let change = match (of, tf) {
        (None, _) => "added",
        (_, None) => "deleted",
        (Some(a), Some(b)) if a.hash == b.hash && a.is_link() == b.is_link() => "mode",
        _ => "modified",
    };
    let mode = match (of, tf) {
        (Some(a), Some(b)) if a.mode != b.mode && !a.is_link() && !b.is_link() => {
            Some((octal(a.mode), octal(b.mode)))
        }
        _ => None,
    };
    if change == "mode" {
        let (a, b) = mode.expect("a mode-only change");
        return Ok(Some(mode_only(path, a, b)));
    }
    let describe_link = |f: Option<&FileRef>| match f.map(|f| &f.src) {
        Some(Src::Link(t)) => Some(format!("-> {}", String::from_utf8_lossy(t))),
        _ => None,
    };
    if of.is_some_and(FileRef::is_link) || tf.is_some_and(FileRef::is_link) {
        let was = describe_link(of).unwrap_or_else(|| "(a file or nothing)".into());
        let now = describe_link(tf).unwrap_or_else(|| "(a file or nothing)".into());
        return Ok(Some(FileDiff {
            diff: Some(format!("link {path}: {was} becomes {now}\n")),
            path,
            change,
            mode,
            added_lines: 0,
            removed_lines: 0,
        }));
    }
    let old = of.map(|f| read_small(store, f)).transpose()?;
    let new = tf.map(|f| read_small(store, f)).transpose()?;
    let rendered = match (&old, &new) {
        (Some(None), _) | (_, Some(None)) => None,
        _ => unified::diff(
            &path,
            old.as_ref().and_then(|o| o.as_deref()),
            new.as_ref().and_then(|n| n.as_deref()),
        )
        .ok(),
    };
    Ok(Some(FileDiff {
        path,
        change,
        mode,
        added_lines: rendered.as_ref().map_or(0, |d| d.added),
        removed_lines: rendered.as_ref().map_or(0, |d| d.removed),
        diff: rendered.map(|d| String::from_utf8_lossy(&d.text).into_owned()),
    }))
}

pub(super) fn mode_only(path: String, from: String, to: String) -> FileDiff {
    FileDiff {
        path,
        change: "mode",
        mode: Some((from, to)),
        diff: None,
        added_lines: 0,
        removed_lines: 0,
    }
}
