use super::*;

/// The manifest and the lock as last read or committed.
pub(super) struct Documents {
    pub(super) manifest: ManifestEditor,
    pub(super) lock: LockEditor,
    /// Permission bits of the manifest and lock files, kept when they are rewritten.
    pub(super) modes: (u32, u32),
}

impl Documents {
    /// Starts changing the documents in place for one transaction.
    pub(super) fn edit(&mut self) -> Edit<'_> {
        Edit {
            docs: self,
            staged: None,
            committed: false,
        }
    }
}

/// The documents of a collection being changed in place for one transaction, each parsed
/// once (at open) and serialized once ([`Edit::stage`]). Dropped before [`Edit::commit`]
/// succeeded (an error on the way: the transaction did not commit), it discards the edits,
/// so the documents are again as last read or committed.
pub(super) struct Edit<'a> {
    docs: &'a mut Documents,
    /// The texts staged, which become the documents' originals once committed.
    staged: Option<(String, String)>,
    committed: bool,
}

impl Edit<'_> {
    /// Stages both documents and their field changes ([`ManifestEditor::changes`],
    /// [`LockEditor::changes`]) in `t`.
    pub(super) fn stage(&mut self, t: &mut Transaction<'_>) -> Result<()> {
        let (manifest, lock) = (self.docs.manifest.to_string(), self.docs.lock.to_string());
        t.put_bytes(MANIFEST_FILE_NAME, manifest.as_bytes(), self.docs.modes.0)?;
        t.put_bytes(LOCK_FILE_NAME, lock.as_bytes(), self.docs.modes.1)?;
        t.record_diff(MANIFEST_FILE_NAME, &self.docs.manifest.changes())?;
        t.record_diff(LOCK_FILE_NAME, &self.docs.lock.changes())?;
        self.staged = Some((manifest, lock));
        Ok(())
    }

    /// Marks the documents as committed by a transaction committed elsewhere (one across
    /// several collections): the texts [`Edit::stage`] staged are the documents' originals.
    pub(super) fn committed_elsewhere(mut self) {
        let (manifest, lock) = self.staged.take().expect("staged before the commit");
        self.docs.manifest.rebase(manifest);
        self.docs.lock.rebase(lock);
        self.committed = true;
    }

    /// Commits `t`, whose documents [`Edit::stage`] staged, durably; the documents as staged
    /// are then the documents as committed.
    pub(super) fn commit(mut self, t: Transaction<'_>) -> Result<()> {
        t.commit_durable()?;
        let (manifest, lock) = self.staged.take().expect("staged before the commit");
        self.docs.manifest.rebase(manifest);
        self.docs.lock.rebase(lock);
        self.committed = true;
        Ok(())
    }
}

impl std::ops::Deref for Edit<'_> {
    type Target = Documents;

    fn deref(&self) -> &Documents {
        self.docs
    }
}

impl std::ops::DerefMut for Edit<'_> {
    fn deref_mut(&mut self) -> &mut Documents {
        self.docs
    }
}

impl Drop for Edit<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.docs.manifest.discard_edits();
            self.docs.lock.discard_edits();
        }
    }
}

/// The text and permission bits of a document, `None` when it does not exist.
pub(super) fn read_doc(fs: &dyn FileSystem, path: &Path) -> Result<Option<(String, u32)>> {
    Ok(crate::fs::read_small_text(
        fs,
        path,
        DOCUMENT_BYTES_MAX as u64,
    )?)
}

pub use crate::limits::DOCUMENT_BYTES_MAX;

/// Whether anything is at `path` (links not followed).
pub(super) fn exists(fs: &dyn FileSystem, path: &Path) -> Result<bool> {
    fs.exists(path).map_err(io("stat", path))
}

/// Reads manifest and lock from `dir` (a missing lock reads as empty).
pub(super) fn read_docs(fs: &dyn FileSystem, dir: &Path) -> Result<Documents> {
    let mpath = dir.join(MANIFEST_FILE_NAME);
    let Some((mtext, mmode)) = read_doc(fs, &mpath)? else {
        return Err(CollectionError::NotACollection {
            dir: dir.to_path_buf(),
        });
    };
    let manifest = ManifestEditor::parse(&mtext, &mpath.display().to_string())?;
    let lpath = dir.join(LOCK_FILE_NAME);
    let (lock, lmode) = match read_doc(fs, &lpath)? {
        Some((t, m)) => (LockEditor::parse(&t, &lpath.display().to_string())?, m),
        None => (LockEditor::new_empty(&lpath.display().to_string()), 0o644),
    };
    Ok(Documents {
        manifest,
        lock,
        modes: (mmode, lmode),
    })
}

/// The engine of a collection opened for writing.
pub(super) fn writable<'a>(engine: &'a mut Option<Engine>, dir: &Path) -> Result<&'a mut Engine> {
    engine.as_mut().ok_or_else(|| CollectionError::ReadOnly {
        dir: dir.to_path_buf(),
    })
}
