use std::cell::OnceCell;

use super::doc_index::{self, DocIndex, text_hash};
use super::*;
use crate::skillmeat::format::outline::{Window, of_lock, of_manifest};

/// Where a collection's document index is kept ([`doc_index`]), and whether this process may
/// write it (it holds the collection's lock).
#[derive(Clone)]
pub(super) struct IndexFile {
    pub(super) fs: Arc<dyn FileSystem>,
    pub(super) meta: PathBuf,
    pub(super) writable: bool,
}

/// The manifest and the lock as last read or committed.
///
/// Their texts are always read; they are parsed whole when the document index does not
/// describe them (at open, so a damaged document fails the open as it always did) or when a
/// caller needs them whole. An update of artifacts the index knows edits windows of the two
/// texts instead ([`Documents::edit_items`]), so nothing in it is in proportion to the
/// collection's size but reading, hashing and writing the two texts.
pub(super) struct Documents {
    manifest_text: String,
    /// `None`: there is no lock file (it reads as empty).
    lock_text: Option<String>,
    /// Paths of the two documents, naming them in errors.
    names: (String, String),
    /// Permission bits of the manifest and lock files, kept when they are rewritten.
    pub(super) modes: (u32, u32),
    /// Both documents parsed whole from the texts, once needed.
    whole: OnceCell<(ManifestEditor, LockEditor)>,
    /// Where each item is in the texts, when known.
    index: Option<DocIndex>,
    index_file: Option<IndexFile>,
}

impl Documents {
    /// Documents just created (`init`): parsed whole, no index.
    pub(super) fn created(manifest: ManifestEditor, lock: LockEditor, modes: (u32, u32)) -> Self {
        Documents {
            manifest_text: manifest.to_string(),
            lock_text: Some(lock.to_string()),
            names: (
                manifest.document_name().to_owned(),
                lock.document_name().to_owned(),
            ),
            modes,
            whole: OnceCell::from((manifest, lock)),
            index: None,
            index_file: None,
        }
    }

    /// The documents as they are now in `dir` (after a change made without editing them: a
    /// rollback, an undo), read as [`read_docs`] reads them.
    pub(super) fn read_again(&self, fs: &dyn FileSystem, dir: &Path) -> Result<Documents> {
        read_docs(fs, dir, self.index_file.clone())
    }

    /// Both documents parsed whole (parsed now if they were not yet).
    pub(super) fn whole(&self) -> Result<&(ManifestEditor, LockEditor)> {
        if let Some(whole) = self.whole.get() {
            return Ok(whole);
        }
        let parsed = parse_whole(&self.manifest_text, self.lock_text.as_deref(), &self.names)?;
        Ok(self.whole.get_or_init(|| parsed))
    }

    /// The manifest, parsed whole.
    pub(super) fn manifest(&self) -> Result<&ManifestEditor> {
        Ok(&self.whole()?.0)
    }

    /// The lock, parsed whole.
    pub(super) fn lock(&self) -> Result<&LockEditor> {
        Ok(&self.whole()?.1)
    }

    /// The artifacts named `name` (of type `ty` when given), read from a window when the
    /// index knows them and the documents are not parsed whole already; `None` when only a
    /// whole parse can say.
    pub(super) fn artifacts_named(
        &self,
        name: &str,
        ty: Option<ArtifactType>,
    ) -> Option<Result<Vec<Artifact>>> {
        let index = self.index.as_ref().filter(|_| self.whole.get().is_none())?;
        let keys: Vec<&str> = index
            .manifest
            .items
            .iter()
            .map(|i| i.key.as_str())
            .filter(|k| split_key(k).is_some_and(|(n, t)| n == name && ty.is_none_or(|ty| ty == t)))
            .collect();
        if keys.is_empty() {
            return Some(Ok(Vec::new()));
        }
        let window = Window::new(&self.manifest_text, &index.manifest, &keys)?;
        Some(
            ManifestEditor::parse(window.text(), &self.names.0)
                .and_then(|m| Ok(m.manifest()?.artifacts.clone()))
                .map_err(Into::into),
        )
    }

    /// The lock's entry for (`name`, `ty`), from a window when the index knows the lock's
    /// entries and the documents are not parsed whole already, else from the whole lock.
    pub(super) fn lock_entry(&self, name: &str, ty: ArtifactType) -> Result<Option<LockEntry>> {
        let windowed = self
            .index
            .as_ref()
            .filter(|_| self.whole.get().is_none())
            .zip(self.lock_text.as_deref());
        if let Some((index, text)) = windowed {
            let key = lock_key(name, ty);
            if index.lock.item(&key).is_none() {
                return Ok(None);
            }
            if let Some(window) = Window::new(text, &index.lock, &[&key]) {
                let lock = LockEditor::parse(window.text(), &self.names.1)?;
                return Ok(lock.lock()?.entry(name, ty).cloned());
            }
        }
        Ok(self.lock()?.lock()?.entry(name, ty).cloned())
    }

    /// Starts changing the documents, parsed whole, for one transaction.
    pub(super) fn edit(&mut self) -> Result<Edit<'_>> {
        self.whole()?;
        Ok(Edit {
            docs: self,
            windows: None,
            outline_after: false,
            staged: None,
            committed: false,
        })
    }

    /// Starts changing the artifacts `keys` (`<name>::<type>`) for one transaction, in
    /// windows of the documents when the index knows every one of them in both documents,
    /// else whole as [`Documents::edit`] does. Only edits inside those artifacts and their
    /// entries, and `[collection] updated`, may be made: no artifact or entry added or
    /// removed (see [`crate::skillmeat::format::outline`]).
    pub(super) fn edit_items(&mut self, keys: &[&str]) -> Result<Edit<'_>> {
        let windows = match (&self.index, &self.lock_text) {
            (Some(index), Some(lock_text)) => {
                let m = Window::new(&self.manifest_text, &index.manifest, keys);
                let l = Window::new(lock_text, &index.lock, keys);
                m.zip(l)
            }
            _ => None,
        };
        let Some((m, l)) = windows else {
            // No index: whole this time, and the texts it writes are outlined once it
            // committed, so that the next update of artifacts edits windows.
            let mut edit = self.edit()?;
            edit.outline_after = true;
            return Ok(edit);
        };
        let manifest = ManifestEditor::parse(m.text(), &self.names.0)?;
        let lock = LockEditor::parse(l.text(), &self.names.1)?;
        Ok(Edit {
            docs: self,
            windows: Some(Box::new(Windows {
                manifest: (m, manifest),
                lock: (l, lock),
            })),
            outline_after: false,
            staged: None,
            committed: false,
        })
    }

    /// The texts as a transaction wrote them are the documents now (`staged` from
    /// [`Edit::stage`]): the whole editors rebased on them, or, after an edit in windows, the
    /// index moved with the windows' segments; `outline_after`: an update that found no
    /// index, whose new texts are outlined now. The index, when known, is written again.
    fn committed(&mut self, staged: Staged, outline_after: bool) {
        match staged.index {
            None => {
                if let Some((m, l)) = self.whole.get_mut() {
                    m.rebase(staged.manifest.clone());
                    l.rebase(staged.lock.clone());
                }
                self.index = None;
                if outline_after {
                    self.index = of_manifest(&staged.manifest)
                        .zip(of_lock(&staged.lock))
                        .map(|(manifest, lock)| DocIndex { manifest, lock });
                }
            }
            Some(index) => {
                self.whole = OnceCell::new();
                self.index = Some(index);
            }
        }
        self.manifest_text = staged.manifest;
        self.lock_text = Some(staged.lock);
        self.save_index();
    }

    /// Writes the index for the texts now, when known and this process may.
    fn save_index(&self) {
        let (Some(index), Some(file), Some(lock)) =
            (&self.index, &self.index_file, &self.lock_text)
        else {
            return;
        };
        if file.writable {
            let hashes = (text_hash(&self.manifest_text), text_hash(lock));
            doc_index::save(&*file.fs, &file.meta, &hashes, index);
        }
    }
}

/// The windows of an edit in windows: each window with the editor of its text.
struct Windows {
    manifest: (Window, ManifestEditor),
    lock: (Window, LockEditor),
}

/// What [`Edit::stage`] staged: the new texts, and for an edit in windows the index of them.
struct Staged {
    manifest: String,
    lock: String,
    index: Option<DocIndex>,
}

/// The documents of a collection being changed for one transaction: parsed whole (edited in
/// place, serialized once by [`Edit::stage`]) or, for an update, windows of them
/// ([`Documents::edit_items`]). Dropped before [`Edit::commit`] succeeded (an error on the
/// way: the transaction did not commit), it discards the edits, so the documents are again
/// as last read or committed.
pub(super) struct Edit<'a> {
    docs: &'a mut Documents,
    windows: Option<Box<Windows>>,
    /// Whole because there was no index for an update: outline the texts once committed.
    outline_after: bool,
    staged: Option<Staged>,
    committed: bool,
}

impl Edit<'_> {
    /// The manifest to edit: the whole one, or the window.
    pub(super) fn manifest(&mut self) -> &mut ManifestEditor {
        match &mut self.windows {
            Some(w) => &mut w.manifest.1,
            None => &mut self.docs.whole.get_mut().expect("parsed by edit()").0,
        }
    }

    /// The lock to edit: the whole one, or the window.
    pub(super) fn lock(&mut self) -> &mut LockEditor {
        match &mut self.windows {
            Some(w) => &mut w.lock.1,
            None => &mut self.docs.whole.get_mut().expect("parsed by edit()").1,
        }
    }

    /// Stages both documents and their field changes ([`ManifestEditor::changes`],
    /// [`LockEditor::changes`]) in `t`.
    pub(super) fn stage(&mut self, t: &mut Transaction<'_>) -> Result<()> {
        let (manifest, lock, changes, index) = match &self.windows {
            None => {
                let (m, l) = self.docs.whole.get().expect("parsed by edit()");
                (
                    m.to_string(),
                    l.to_string(),
                    (m.changes(), l.changes()),
                    None,
                )
            }
            Some(w) => {
                let lock_text = self.docs.lock_text.as_deref().expect("windows need a lock");
                let index = self.docs.index.as_ref().expect("windows need the index");
                let (mw, m) = &w.manifest;
                let (lw, l) = &w.lock;
                let crossed = |document: &str| {
                    CollectionError::Format(crate::skillmeat::Error::UnsupportedLayout {
                        document: document.to_owned(),
                        message: "an edit crossed the boundary of its window (a bug in \
                                  skillwal); nothing was changed"
                            .to_owned(),
                    })
                };
                let (manifest, m_ranges) = mw
                    .splice(&self.docs.manifest_text, &m.to_string())
                    .ok_or_else(|| crossed(&self.docs.names.0))?;
                let (lock, l_ranges) = lw
                    .splice(lock_text, &l.to_string())
                    .ok_or_else(|| crossed(&self.docs.names.1))?;
                let index = DocIndex {
                    manifest: mw.shift(&index.manifest, &m_ranges),
                    lock: lw.shift(&index.lock, &l_ranges),
                };
                (manifest, lock, (m.changes(), l.changes()), Some(index))
            }
        };
        t.put_bytes(MANIFEST_FILE_NAME, manifest.as_bytes(), self.docs.modes.0)?;
        t.put_bytes(LOCK_FILE_NAME, lock.as_bytes(), self.docs.modes.1)?;
        t.record_diff(MANIFEST_FILE_NAME, &changes.0)?;
        t.record_diff(LOCK_FILE_NAME, &changes.1)?;
        self.staged = Some(Staged {
            manifest,
            lock,
            index,
        });
        Ok(())
    }

    /// Marks the documents as committed by a transaction committed elsewhere (one across
    /// several collections): the texts [`Edit::stage`] staged are the documents now.
    pub(super) fn committed_elsewhere(mut self) {
        let staged = self.staged.take().expect("staged before the commit");
        self.docs.committed(staged, self.outline_after);
        self.committed = true;
    }

    /// Commits `t`, whose documents [`Edit::stage`] staged, durably; the documents as staged
    /// are then the documents as committed.
    pub(super) fn commit(mut self, t: Transaction<'_>) -> Result<()> {
        t.commit_durable()?;
        let staged = self.staged.take().expect("staged before the commit");
        self.docs.committed(staged, self.outline_after);
        self.committed = true;
        Ok(())
    }
}

impl Drop for Edit<'_> {
    fn drop(&mut self) {
        // Windows are dropped with the edit; whole editors go back to their texts.
        if let (false, None, Some((m, l))) =
            (self.committed, &self.windows, self.docs.whole.get_mut())
        {
            m.discard_edits();
            l.discard_edits();
        }
    }
}

/// `<name>::<type>` split, for a type skillwal manages.
fn split_key(key: &str) -> Option<(&str, ArtifactType)> {
    let (name, ty) = crate::skillmeat::format::names::split_lock_key(key)?;
    Some((name, ty.parse().ok()?))
}

/// Both documents parsed whole from their texts (a missing lock is the empty lock).
fn parse_whole(
    manifest: &str,
    lock: Option<&str>,
    names: &(String, String),
) -> Result<(ManifestEditor, LockEditor)> {
    let m = ManifestEditor::parse(manifest, &names.0)?;
    let l = match lock {
        Some(text) => LockEditor::parse(text, &names.1)?,
        None => LockEditor::new_empty(&names.1),
    };
    Ok((m, l))
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

/// Reads manifest and lock from `dir` (a missing lock reads as empty). When the document
/// index in `index_file` describes the two texts, they are not parsed; otherwise they are
/// parsed whole now (failing as a damaged document fails).
pub(super) fn read_docs(
    fs: &dyn FileSystem,
    dir: &Path,
    index_file: Option<IndexFile>,
) -> Result<Documents> {
    let mpath = dir.join(MANIFEST_FILE_NAME);
    let Some((mtext, mmode)) = read_doc(fs, &mpath)? else {
        return Err(CollectionError::NotACollection {
            dir: dir.to_path_buf(),
        });
    };
    let lpath = dir.join(LOCK_FILE_NAME);
    let (ltext, lmode) = match read_doc(fs, &lpath)? {
        Some((t, m)) => (Some(t), m),
        None => (None, 0o644),
    };
    let mut docs = Documents {
        manifest_text: mtext,
        lock_text: ltext,
        names: (mpath.display().to_string(), lpath.display().to_string()),
        modes: (mmode, lmode),
        whole: OnceCell::new(),
        index: None,
        index_file,
    };
    if let (Some(file), Some(lock)) = (&docs.index_file, &docs.lock_text) {
        let hashes = (text_hash(&docs.manifest_text), text_hash(lock));
        let lens = (docs.manifest_text.len(), lock.len());
        docs.index = doc_index::load(&*file.fs, &file.meta, &hashes, lens);
        if docs.index.is_some() {
            return Ok(docs);
        }
    }
    // No index for these texts: parsed whole now, which validates them as ever. They are
    // outlined only by an update (after its commit), so other commands never pay for it.
    docs.whole()?;
    Ok(docs)
}

/// The engine of a collection opened for writing.
pub(super) fn writable<'a>(engine: &'a mut Option<Engine>, dir: &Path) -> Result<&'a mut Engine> {
    engine.as_mut().ok_or_else(|| CollectionError::ReadOnly {
        dir: dir.to_path_buf(),
    })
}
