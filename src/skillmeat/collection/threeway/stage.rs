use super::*;

/// Stages the merge result at `storage` (a put-tree for a skill, a put-file otherwise).
pub fn stage(
    store: &Store,
    t: &mut Transaction<'_>,
    storage: &str,
    plan: &MergePlan,
) -> Result<()> {
    let open = |o: &Output| open_output(store, o);
    if !plan.is_dir {
        // The artifact's file, and a `<file>.theirs` beside it after a binary conflict.
        let dir = storage.rsplit_once('/').map_or("", |(d, _)| d);
        for (key, out) in &plan.files {
            let path = format!("{dir}/{key}");
            match out {
                Output::Link { target } => t.put_link(&path, target)?,
                _ => {
                    let (mut r, mode) = open(out)?;
                    t.put_file(&path, &mut r, mode)?;
                }
            }
        }
        return Ok(());
    }
    // Parents before children: component-wise order.
    let mut entries: Vec<(&str, Option<&Output>)> = plan
        .dirs
        .keys()
        .map(|d| (d.as_str(), None))
        .chain(plan.files.iter().map(|(k, o)| (k.as_str(), Some(o))))
        .collect();
    entries.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    let mut tree = t.put_tree(storage, plan.root_mode)?;
    for (rel, out) in entries {
        match out {
            None => tree.dir(rel, plan.dirs[rel])?,
            Some(Output::Link { target }) => tree.link(rel, target)?,
            Some(o) => {
                let (mut r, mode) = open(o)?;
                tree.file(rel, &mut r, mode)?;
            }
        }
    }
    tree.finish()?;
    Ok(())
}

/// A reader of `o`'s bytes, and its mode. A copy is verified as it streams: a file that
/// changed since the merge was planned fails the staging ("changed while it was being
/// recorded"), and nothing changes.
fn open_output(store: &Store, o: &Output) -> Result<(Box<dyn Read>, u32)> {
    Ok(match o {
        Output::Copy {
            src,
            hash,
            size,
            mode,
        } => {
            let f = src.open().map_err(io_error(&src.path))?;
            let reader = crate::store::reader::VerifyingReader::new(
                f,
                src.path.clone(),
                *hash,
                *size,
                false,
            );
            (Box::new(reader), *mode)
        }
        Output::Object { hash, size, mode } => (Box::new(store.open_blob(hash, *size)?), *mode),
        Output::Bytes { bytes, mode } => (Box::new(std::io::Cursor::new(bytes.clone())), *mode),
        Output::Link { .. } => unreachable!("links are staged as links"),
    })
}
