use super::*;

pub(super) fn output_of(f: &FileRef) -> Output {
    match &f.src {
        Src::Path(p) => Output::Copy {
            src: p.clone(),
            hash: f.hash,
            size: f.size,
            mode: f.mode,
        },
        Src::Object => Output::Object {
            hash: f.hash,
            size: f.size,
            mode: f.mode,
        },
        Src::Link(target) => Output::Link {
            target: target.clone(),
        },
    }
}

/// A three-way merge of one value: one side's change is taken; two different changes keep
/// ours and say so (`false`: a conflict). Without a base (`None`) there is no telling which
/// side changed: sides that differ keep ours, as a conflict.
pub(super) fn merge3<T: PartialEq + Copy>(base: Option<T>, ours: T, theirs: T) -> (T, bool) {
    match base {
        _ if ours == theirs => (ours, true),
        Some(b) if ours == b => (theirs, true),
        Some(b) if theirs == b => (ours, true),
        // No base to tell which side changed, or both changed differently.
        _ => (ours, false),
    }
}

/// The result for a path both sides changed (`bf` base's version, when there is one).
pub(super) fn merge_both(
    store: &Store,
    (rel, shown_of): (&str, &dyn Fn(&str) -> String),
    (bf, of, tf): (Option<&FileRef>, &FileRef, &FileRef),
    (o, t): (&Version, &Version),
    labels: &Labels<'_>,
    files: &mut BTreeMap<String, Output>,
    conflicts: &mut Vec<MergeConflict>,
) -> Result<()> {
    let shown = shown_of(rel);
    if of.is_link() || tf.is_link() {
        // A link is never merged line by line: ours stays.
        files.insert(rel.to_string(), output_of(of));
        conflicts.push(MergeConflict {
            path: shown,
            kind: "link",
            detail: "a symbolic link changed on both sides (or a file became a link on one): the local version is kept".into(),
        });
        return Ok(());
    }
    let (mode, mode_agreed) = merge3(bf.map(|b| b.mode), of.mode, tf.mode);
    if !mode_agreed {
        conflicts.push(mode_conflict(&shown, of.mode, tf.mode));
    }
    if of.hash == tf.hash {
        // Only the modes differed.
        let mut out = output_of(of);
        set_mode(&mut out, mode);
        files.insert(rel.to_string(), out);
        return Ok(());
    }
    let bytes_b = match bf {
        Some(bf) if !bf.is_link() => read_small(store, bf)?,
        Some(_) => None,
        None => Some(Vec::new()),
    };
    let bytes_o = read_small(store, of)?;
    let bytes_t = read_small(store, tf)?;
    let merged = match (bytes_b, bytes_o, bytes_t) {
        (Some(b), Some(o), Some(t)) => merge(&b, &o, &t, labels).ok(),
        _ => None,
    };
    match merged {
        Some(m) => {
            if let Some(c) = content_conflict(&m, &shown) {
                conflicts.push(c);
            }
            let bytes = m.content;
            files.insert(rel.to_string(), Output::Bytes { bytes, mode });
        }
        None => {
            // Binary (or too large) and changed on both sides: keep ours, put theirs beside
            // it.
            let beside = free_name_beside(rel, o, t);
            files.insert(rel.to_string(), output_of(of));
            files.insert(beside.clone(), output_of(tf));
            conflicts.push(MergeConflict {
                path: shown,
                kind: "binary",
                detail: format!(
                    "binary or too large, changed on both sides: the local version is kept, the upstream one is at {}",
                    shown_of(&beside)
                ),
            });
        }
    }
    Ok(())
}

/// Permission bits changed differently on both sides: ours are kept.
fn mode_conflict(shown: &str, ours: u32, theirs: u32) -> MergeConflict {
    MergeConflict {
        path: shown.to_string(),
        kind: "mode",
        detail: format!(
            "permission bits changed on both sides ({ours:o} locally, {theirs:o} upstream): the local ones are kept"
        ),
    }
}

/// The conflict a text merge left in `shown`, with the lines its regions are marked at.
fn content_conflict(m: &crate::merge::text::Merged, shown: &str) -> Option<MergeConflict> {
    if m.is_clean() {
        return None;
    }
    let lines: Vec<String> = m
        .conflicts
        .iter()
        .map(|c| format!("{}-{}", c.output.start + 1, c.output.end))
        .collect();
    Some(MergeConflict {
        path: shown.to_string(),
        kind: "content",
        detail: format!(
            "{} conflicting region(s), marked at lines {}",
            m.conflicts.len(),
            lines.join(", ")
        ),
    })
}

/// `<rel>.theirs`, or `<rel>.theirs.<n>` for the first `n` neither side has.
fn free_name_beside(rel: &str, o: &Version, t: &Version) -> String {
    let mut beside = format!("{rel}.theirs");
    let mut n = 1;
    while o.files.contains_key(&beside) || t.files.contains_key(&beside) {
        beside = format!("{rel}.theirs.{n}");
        n += 1;
    }
    beside
}

pub(super) fn set_mode(o: &mut Output, mode: u32) {
    match o {
        Output::Copy { mode: m, .. }
        | Output::Object { mode: m, .. }
        | Output::Bytes { mode: m, .. } => *m = mode,
        Output::Link { .. } => {}
    }
}

/// The result's directories with their modes: every parent of a file, and the empty
/// directories both sides still have; each directory's mode merged three-way (a directory
/// one side does not have takes the other's mode).
pub(super) fn merge_dirs(
    bv: &Version,
    o: &Version,
    t: &Version,
    files: &BTreeMap<String, Output>,
    shown: &dyn Fn(&str) -> String,
    conflicts: &mut Vec<MergeConflict>,
) -> BTreeMap<String, u32> {
    let mut names: BTreeSet<String> = o
        .dirs
        .keys()
        .filter(|d| t.dirs.contains_key(*d))
        .cloned()
        .collect();
    for rel in files.keys() {
        let mut p = rel.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            names.insert(parent.to_string());
            p = parent;
        }
    }
    names
        .into_iter()
        .map(|d| {
            let mode = match (o.dirs.get(&d), t.dirs.get(&d)) {
                (Some(om), Some(tm)) => {
                    let (m, agreed) = merge3(bv.dirs.get(&d).copied(), *om, *tm);
                    if !agreed {
                        conflicts.push(MergeConflict {
                            path: shown(&d),
                            kind: "mode",
                            detail: format!(
                                "the directory's permission bits changed on both sides: the local {m:o} is kept"
                            ),
                        });
                    }
                    m
                }
                (Some(m), None) | (None, Some(m)) => *m,
                (None, None) => 0o755,
            };
            (d, mode)
        })
        .collect()
}
