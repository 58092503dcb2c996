//! The operations a caller stages: files, links, directories, trees, and diffs of named
//! documents. Each is checked and recorded before anything outside the engine's directory
//! could change.

use super::checks::{before_state, check_target};
use super::tree::{PreparedTree, TreeStager};
use super::{OWNER_RWX, Transaction, cut};
use crate::engine::ops::{Op, PutFile};
use crate::engine::path::RelPath;
use crate::engine::staging::staged_name;
use crate::error::{IoContext, Result};
use crate::fs::FileKind;
use crate::journal::format::{Content, FieldChange, Record};
use crate::limits::{
    DIFF_CHANGES_PER_RECORD_MAX, DIFF_NAME_BYTES_MAX, DIFF_VALUE_BYTES_MAX, INLINE_CONTENT_MAX,
};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;

/// Above this size, an old file's before-state hash is computed on a second thread while
/// the new content is staged (a thread costs ~20 µs; hashing 4 MiB a few ms).
const PARALLEL_BEFORE_HASH_MIN: u64 = INLINE_CONTENT_MAX;

impl<'e> Transaction<'e> {
    /// Stages writing `content` to the file `path` (created, or replacing whatever is there:
    /// a file, a directory or a link, atomically; its parent must exist or be created by this
    /// transaction), with exactly the permission bits `mode`.
    pub fn put_file(&mut self, path: &str, content: &mut dyn Read, mode: u32) -> Result<()> {
        let r = self.put_file_inner(path, content, mode);
        self.broken_by(r)
    }

    fn put_file_inner(&mut self, path: &str, content: &mut dyn Read, mode: u32) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("put-file", &path)?;
        let mode = mode & 0o7777;
        let current = self.current(&path)?;
        let op = self.ops.len() as u32;
        let dest = self.staging().join(staged_name(self.writer.salt, op));
        let (before, staged) = match current {
            // A large old file is hashed (for its before-state) on a second thread while
            // the new content is staged: the two read and write different files, and
            // hashing only reads, so the order of mutating calls is unchanged.
            Some(m) if m.kind == FileKind::File && m.len > PARALLEL_BEFORE_HASH_MIN => {
                let (fs, layout) = (self.session.fs.clone(), self.layout().clone());
                let (before, staged) = std::thread::scope(|s| {
                    let hashing =
                        s.spawn(|| before_state(fs.as_ref(), &layout, "put-file", &path, current));
                    let staged = self.stage_content(&dest, content, mode, &path);
                    let before = hashing.join().expect("hashing does not panic");
                    (before, staged)
                });
                (before?, staged?)
            }
            _ => {
                let before = self.before_of("put-file", &path, current)?;
                (before, self.stage_content(&dest, content, mode, &path)?)
            }
        };
        let rec = Record::PutFile {
            op,
            path: path.to_string(),
            mode,
            before: before.clone(),
            size: staged.size,
            hash: staged.hash,
            staged_ino: staged.ino,
            content: match &staged.inline {
                Some(b) => Content::Inline {
                    at: 0,
                    len: b.len() as u32,
                },
                None => Content::Staged,
            },
        };
        let content = self.append(&rec, staged.inline.as_deref())?;
        self.ops.push(Op::PutFile(PutFile {
            path,
            mode,
            before,
            size: staged.size,
            hash: staged.hash,
            staged_ino: staged.ino,
            content,
        }));
        Ok(())
    }

    /// [`Transaction::put_file`] from a byte slice.
    pub fn put_bytes(&mut self, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let mut r = bytes;
        self.put_file(path, &mut r, mode)
    }

    /// Stages making `path` a symbolic link to `target` (created, or replacing whatever is
    /// there, atomically). The target is never followed or checked: it is bytes.
    pub fn put_link(&mut self, path: &str, target: &[u8]) -> Result<()> {
        let r = self.put_link_inner(path, target);
        self.broken_by(r)
    }

    fn put_link_inner(&mut self, path: &str, target: &[u8]) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("put-link", &path)?;
        check_target("put-link", &path, target)?;
        let current = self.current(&path)?;
        let before = self.before_of("put-link", &path, current)?;
        let op = self.ops.len() as u32;
        let dest = self.staging().join(staged_name(self.writer.salt, op));
        self.session
            .fs
            .symlink(OsStr::from_bytes(target), &dest)
            .ctx("create link", &dest)?;
        self.append(
            &Record::PutLink {
                op,
                path: path.to_string(),
                before: before.clone(),
                target: target.to_vec(),
            },
            None,
        )?;
        self.ops.push(Op::PutLink {
            path,
            before,
            target: target.to_vec(),
        });
        Ok(())
    }

    /// Stages deleting the regular file or symbolic link `path`.
    pub fn delete_file(&mut self, path: &str) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("delete-file", &path)?;
        let before = match self.current(&path)? {
            Some(m) if matches!(m.kind, FileKind::File | FileKind::Symlink) => {
                self.before_of("delete-file", &path, Some(m))?
            }
            Some(_) => {
                return Err(Self::reject(
                    "delete-file",
                    &path,
                    "not a regular file or a link",
                ));
            }
            None => return Err(Self::reject("delete-file", &path, "does not exist")),
        };
        let op = self.ops.len() as u32;
        self.append(
            &Record::DeleteFile {
                op,
                path: path.to_string(),
                before: before.clone(),
            },
            None,
        )?;
        self.ops.push(Op::DeleteFile { path, before });
        Ok(())
    }

    /// Stages creating the directory `path`, which must not exist, with exactly the
    /// permission bits `mode`. The mode must let its owner read, write and search it (later
    /// operations of the transaction may put things inside; [`Transaction::set_dir_mode`]
    /// of an existing directory, or a tree's own mode, can give any other).
    pub fn create_dir(&mut self, path: &str, mode: u32) -> Result<()> {
        let r = self.create_dir_inner(path, mode);
        self.broken_by(r)
    }

    fn create_dir_inner(&mut self, path: &str, mode: u32) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("create-dir", &path)?;
        let mode = mode & 0o7777;
        if mode & OWNER_RWX != OWNER_RWX {
            return Err(Self::reject(
                "create-dir",
                &path,
                format!("mode {mode:o} does not let its owner fill it"),
            ));
        }
        if self.current(&path)?.is_some() {
            return Err(Self::reject("create-dir", &path, "already exists"));
        }
        let op = self.ops.len() as u32;
        // Staged and renamed into place, so that the directory appears with its mode in one
        // step (a `mkdir` in place could leave the umask's mode behind in a crash).
        let dest = self.staging().join(staged_name(self.writer.salt, op));
        let fs = self.session.fs.clone();
        fs.create_dir(&dest, mode).ctx("create directory", &dest)?;
        let staged_ino = fs.metadata(&dest).ctx("stat", &dest)?.ino;
        self.append(
            &Record::CreateDir {
                op,
                path: path.to_string(),
                mode,
                staged_ino: Some(staged_ino),
            },
            None,
        )?;
        self.ops.push(Op::CreateDir {
            path,
            mode,
            staged_ino: Some(staged_ino),
        });
        Ok(())
    }

    /// Stages setting the permission bits of the existing directory `path` to `mode`, and
    /// nothing else. It is applied after every earlier operation of the transaction, so
    /// stage it after the changes inside the directory (none may follow it: a mode such as
    /// 0555 would forbid them).
    pub fn set_dir_mode(&mut self, path: &str, mode: u32) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("set-dir-mode", &path)?;
        let before_mode = match self.current(&path)? {
            Some(m) if m.kind == FileKind::Dir => m.mode,
            Some(_) => return Err(Self::reject("set-dir-mode", &path, "not a directory")),
            None => return Err(Self::reject("set-dir-mode", &path, "does not exist")),
        };
        let mode = mode & 0o7777;
        let op = self.ops.len() as u32;
        self.append(
            &Record::SetDirMode {
                op,
                path: path.to_string(),
                before_mode,
                mode,
            },
            None,
        )?;
        self.ops.push(Op::SetDirMode {
            path,
            before_mode,
            mode,
        });
        Ok(())
    }

    /// Stages removing the directory `path`, which must be empty once this transaction's
    /// earlier deletions are done.
    pub fn remove_dir(&mut self, path: &str) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("remove-dir", &path)?;
        let target = self.layout().resolve(path.as_str());
        match self.current(&path)? {
            Some(m) if m.kind == FileKind::Dir => {}
            Some(_) => return Err(Self::reject("remove-dir", &path, "not a directory")),
            None => return Err(Self::reject("remove-dir", &path, "does not exist")),
        }
        for e in self
            .session
            .fs
            .read_dir(&target)
            .ctx("read directory", &target)?
        {
            let child = target.join(&e.name);
            let removed = self.ops.iter().any(|o| {
                matches!(
                    o,
                    Op::DeleteFile { .. } | Op::DeleteTree { .. } | Op::RemoveDir { .. }
                ) && self.layout().resolve(o.path().as_str()) == child
            });
            if !removed {
                return Err(Self::reject(
                    "remove-dir",
                    &path,
                    format!("not empty ({} remains)", e.name.to_string_lossy()),
                ));
            }
        }
        let op = self.ops.len() as u32;
        self.append(
            &Record::RemoveDir {
                op,
                path: path.to_string(),
            },
            None,
        )?;
        self.ops.push(Op::RemoveDir { path });
        Ok(())
    }

    /// Stages deleting the directory `path` and everything below it.
    pub fn delete_tree(&mut self, path: &str) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("delete-tree", &path)?;
        let before = match self.current(&path)? {
            Some(m) if m.kind == FileKind::Dir => self.before_of("delete-tree", &path, Some(m))?,
            Some(_) => return Err(Self::reject("delete-tree", &path, "not a directory")),
            None => return Err(Self::reject("delete-tree", &path, "does not exist")),
        };
        let op = self.ops.len() as u32;
        self.append(
            &Record::DeleteTree {
                op,
                path: path.to_string(),
                before: before.clone(),
            },
            None,
        )?;
        self.ops.push(Op::DeleteTree { path, before });
        Ok(())
    }

    /// Starts staging a directory tree with permission bits `mode` that will be installed at
    /// `path` (or replace whatever is there — a directory, a file or a link — atomically).
    /// Add its entries to the returned [`TreeStager`], then call [`TreeStager::finish`].
    pub fn put_tree(&mut self, path: &str, mode: u32) -> Result<TreeStager<'_, 'e>> {
        let prepared = self.prepare_tree(path, mode & 0o7777);
        let p = self.broken_by(prepared)?;
        Ok(TreeStager::new(self, p))
    }

    /// Checks the target, records its before-state and creates the staged tree's root.
    fn prepare_tree(&mut self, path: &str, mode: u32) -> Result<PreparedTree> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("put-tree", &path)?;
        let current = self.current(&path)?;
        let before = self.before_of("put-tree", &path, current)?;
        let op = self.ops.len() as u32;
        let staged = self.staging().join(staged_name(self.writer.salt, op));
        let fs = self.session.fs.clone();
        fs.create_dir(&staged, mode | OWNER_RWX)
            .ctx("create directory", &staged)?;
        let staged_ino = fs.metadata(&staged).ctx("stat", &staged)?.ino;
        Ok(PreparedTree {
            op,
            path,
            mode,
            before,
            staged,
            staged_ino,
        })
    }

    /// Records field-level changes to the manifest (`manifest = true`) or the lock, for
    /// `journal inspect`. Values longer than 512 bytes are cut.
    pub fn record_diff(&mut self, document: &str, changes: &[FieldChange]) -> Result<()> {
        for chunk in changes.chunks(DIFF_CHANGES_PER_RECORD_MAX) {
            let changes = chunk
                .iter()
                .map(|c| FieldChange {
                    item: cut(&c.item, DIFF_NAME_BYTES_MAX),
                    field: cut(&c.field, DIFF_NAME_BYTES_MAX),
                    before: c.before.as_deref().map(|v| cut(v, DIFF_VALUE_BYTES_MAX)),
                    after: c.after.as_deref().map(|v| cut(v, DIFF_VALUE_BYTES_MAX)),
                })
                .collect();
            let rec = Record::Diff {
                document: cut(document, DIFF_NAME_BYTES_MAX),
                changes,
            };
            self.append(&rec, None)?;
        }
        let document = cut(document, DIFF_NAME_BYTES_MAX);
        match self.diffs.iter_mut().find(|(d, _)| *d == document) {
            Some((_, all)) => all.extend_from_slice(changes),
            None => self.diffs.push((document, changes.to_vec())),
        }
        Ok(())
    }

    /// The operations staged so far, in order (what the store's operation log records).
    pub(crate) fn staged_ops(&self) -> &[Op] {
        &self.ops
    }

    /// The field changes recorded so far, by document, in the order first recorded.
    pub(crate) fn staged_diffs(&self) -> &[(String, Vec<FieldChange>)] {
        &self.diffs
    }

    /// The permission bits of the directory `path` as this transaction found it (`None`
    /// when it is not a directory or not there).
    pub(crate) fn dir_mode_now(&self, path: &str) -> Result<Option<u32>> {
        let path = RelPath::new(path)?;
        Ok(self
            .current(&path)?
            .filter(|m| m.kind == FileKind::Dir)
            .map(|m| m.mode))
    }
}
