use super::*;
use crate::progress::Stage;

/// The state of one artifact's files against the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// The files hash to the lock's `content_hash`, and their kinds and modes match the base.
    Ok,
    /// The files differ from the lock or the base (see the reasons).
    Modified,
    /// The manifest lists the artifact; its files are not there.
    Missing,
    /// No lock entry to compare with.
    Unlocked,
    /// The files cannot be hashed as SkillMeat would (e.g. a symbolic link inside).
    Unreadable,
}

/// One artifact in a status report.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactStatus {
    /// The artifact's name.
    pub name: String,
    /// Its type (`skill`, `command`, `agent`).
    #[serde(rename = "type")]
    pub ty: String,
    /// Its files against the lock.
    pub state: FileState,
    /// `Some(true)` when the source differs from the lock (only checked for local sources,
    /// where it is cheap); `None` when not checked.
    pub update_available: Option<bool>,
    /// What differs, for `modified` (content, a path's kind or mode, a link) and
    /// `unreadable`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Artifacts of the manifest checked.
    pub checked: usize,
    /// Artifacts whose files match the lock (`<type>/<name>` keys).
    pub ok: Vec<String>,
    /// Artifacts whose files differ from the lock.
    pub modified: Vec<String>,
    /// Artifacts whose files are missing.
    pub missing: Vec<String>,
    /// Manifest entries without a lock entry.
    pub unlocked: Vec<String>,
    /// Lock entries without a manifest entry.
    pub stale_lock_entries: Vec<String>,
    /// Files and directories in `skills/`, `commands/`, `agents/` that no artifact owns.
    pub extra: Vec<String>,
    /// Artifacts whose files cannot be hashed, with the reason.
    pub unreadable: Vec<String>,
    /// Why each modified artifact is modified (content, a path's kind or mode, a link), by
    /// its key.
    pub reasons: BTreeMap<String, Vec<String>>,
    /// A stale copy of skillwal's state inside the collection (super::state).
    pub stale_state: Option<super::state::Stale>,
}

impl VerifyReport {
    /// Whether nothing is wrong: no artifact modified, missing, unlocked or unreadable, no stale
    /// lock entry, nothing extra.
    pub fn is_clean(&self) -> bool {
        self.modified.is_empty()
            && self.missing.is_empty()
            && self.unlocked.is_empty()
            && self.stale_lock_entries.is_empty()
            && self.extra.is_empty()
            && self.unreadable.is_empty()
            && self.stale_state.is_none()
    }
}

impl Collection {
    /// The one artifact called `name` (of type `ty`, when given).
    pub fn find(&self, name: &str, ty: Option<ArtifactType>) -> Result<Artifact> {
        // From a window of the manifest when the document index knows where the artifacts
        // named so are: no whole parse for one artifact.
        let matches: Vec<Artifact> = match self.docs.artifacts_named(name, ty) {
            Some(found) => found?,
            None => self
                .manifest()?
                .artifacts
                .iter()
                .filter(|a| a.name == name && ty.is_none_or(|t| a.artifact_type == t))
                .cloned()
                .collect(),
        };
        match matches.len() {
            0 => Err(CollectionError::NotFound {
                name: name.to_string(),
                ty,
            }),
            1 => Ok(matches[0].clone()),
            _ => Err(CollectionError::Ambiguous {
                name: name.to_string(),
                types: matches.iter().map(|a| a.artifact_type).collect(),
            }),
        }
    }

    /// What is at `path` in the collection (links not followed); `None` when nothing is.
    pub(super) fn kind(&self, path: &Path) -> Result<Option<FileKind>> {
        match self.fs.metadata(path) {
            Ok(m) => Ok(Some(m.kind)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("stat", path)(e)),
        }
    }

    pub(super) fn storage(&self, name: &str, ty: ArtifactType) -> Result<(String, PathBuf)> {
        let rel = ty.storage_path(name)?;
        let abs = self.dir.join(&rel);
        Ok((rel, abs))
    }

    /// SkillMeat's hash of the artifact's files on disk; `None` when they are missing.
    pub fn disk_hash(&self, name: &str, ty: ArtifactType) -> Result<Option<String>> {
        let (_, abs) = self.storage(name, ty)?;
        if self.kind(&abs)?.is_none() {
            return Ok(None);
        }
        Ok(Some(content_hash_in(self.fs.as_ref(), &abs, ty)?))
    }

    /// The shape of the artifact's files on disk (kinds, modes, links: what SkillMeat's hash
    /// does not see).
    pub(super) fn disk_shape(&self, name: &str, ty: ArtifactType) -> Result<Shape> {
        let (_, abs) = self.storage(name, ty)?;
        Shape::of_disk(self.fs.as_ref(), &abs, ty).map_err(io("read", &abs))
    }

    /// The shape of what was last fetched for the artifact whose lock records `locked`, when
    /// a base of it is kept.
    pub(super) fn base_shape(
        &self,
        name: &str,
        ty: ArtifactType,
        locked: &str,
    ) -> Result<Option<Shape>> {
        Ok(refs::get_base(&self.store, ty.as_str(), name, locked)?
            .map(|b| Shape::of_base(&self.store, &b))
            .transpose()?)
    }

    pub(super) fn lock_hash(&self, name: &str, ty: ArtifactType) -> Result<Option<String>> {
        Ok(self.docs.lock_entry(name, ty)?.map(|e| e.content_hash))
    }

    /// What updating `name` to `fetched` would change in its files on disk, per file.
    pub fn diff(
        &self,
        name: &str,
        ty: ArtifactType,
        fetched: &Fetched,
    ) -> Result<Vec<super::threeway::FileDiff>> {
        let (rel, abs) = self.storage(name, ty)?;
        Ok(super::threeway::diff(
            &self.store,
            ty,
            name,
            &rel,
            &abs,
            fetched,
        )?)
    }

    /// The artifact `a`'s files against the lock entry `locked` and what was last fetched
    /// (its base, when kept): the state, why, and the shape on disk. An error is the reason
    /// it cannot be read.
    pub(super) fn local_state(
        &self,
        a: &Artifact,
        locked: Option<&str>,
    ) -> Result<(FileState, Vec<String>, Option<Shape>), String> {
        let (name, ty) = (a.name.as_str(), a.artifact_type);
        let disk = self.disk_hash(name, ty).map_err(|e| e.to_string())?;
        let Some(disk) = disk else {
            return Ok((FileState::Missing, Vec::new(), None));
        };
        let Some(locked) = locked else {
            return Ok((FileState::Unlocked, Vec::new(), None));
        };
        let shape = self.disk_shape(name, ty).map_err(|e| e.to_string())?;
        let mut reasons = Vec::new();
        if disk != locked {
            reasons.push("the files' content differs from the lock".to_string());
        }
        if let Some(base) = self
            .base_shape(name, ty, locked)
            .map_err(|e| e.to_string())?
        {
            reasons.extend(
                base.differences(&shape)
                    .into_iter()
                    .map(|d| format!("{d} (as fetched / on disk)")),
            );
        }
        let (_, abs) = self.storage(name, ty).map_err(|e| e.to_string())?;
        for (rel, target, why) in
            outside_links(self.fs.as_ref(), &abs, &shape).map_err(|e| e.to_string())?
        {
            reasons.push(format!("{rel} is a symbolic link to {target}, {why}",));
        }
        let state = if reasons.is_empty() {
            FileState::Ok
        } else {
            FileState::Modified
        };
        Ok((state, reasons, Some(shape)))
    }

    /// Every artifact's files against the lock and what was last fetched (and, for local
    /// sources, the source).
    pub fn status(&self) -> Result<Vec<ArtifactStatus>> {
        let m = self.manifest()?;
        // Parsed once: a lookup per artifact through `lock_hash` would parse the whole lock
        // again each time (quadratic: minutes at 10,000 artifacts).
        let lock = self.lock()?;
        let mut out = Vec::new();
        for a in &m.artifacts {
            let locked = lock
                .entry(&a.name, a.artifact_type)
                .map(|e| e.content_hash.clone());
            let (state, reasons, shape) = match self.local_state(a, locked.as_deref()) {
                Ok(s) => s,
                Err(why) => (FileState::Unreadable, vec![why], None),
            };
            // A damaged source reference only means the update check is not made here.
            let source = self.source_of(a).ok().flatten();
            let update_available = match (source, &locked) {
                (Some(spec @ SourceSpec::Local(_)), Some(l)) => {
                    match crate::skillmeat::source::fetch(&spec, a.artifact_type) {
                        Ok(f) => {
                            let up = Shape::of_fetched(&f);
                            let known = match self.base_shape(&a.name, a.artifact_type, l)? {
                                Some(b) => b.same(&up),
                                None => shape.as_ref().is_none_or(|s| s.same(&up)),
                            };
                            Some(&fetched_hash(&f)? != l || !known)
                        }
                        Err(_) => None,
                    }
                }
                _ => None,
            };
            out.push(ArtifactStatus {
                name: a.name.clone(),
                ty: a.artifact_type.as_str().to_string(),
                state,
                update_available,
                reasons,
            });
        }
        Ok(out)
    }

    /// Checks every artifact against the lock and what was last fetched, and looks for files
    /// no artifact owns.
    pub fn verify(&self) -> Result<VerifyReport> {
        let m = self.manifest()?;
        let l = self.lock()?;
        let mut r = VerifyReport {
            stale_state: self.stale.clone(),
            ..VerifyReport::default()
        };
        let stage = Stage::begin(
            self.store.progress(),
            "verifying",
            Some(m.artifacts.len() as u64),
            false,
        );
        for a in &m.artifacts {
            stage.advance(1);
            let key = lock_key(&a.name, a.artifact_type);
            r.checked += 1;
            let locked = l
                .entry(&a.name, a.artifact_type)
                .map(|e| e.content_hash.as_str());
            match self.local_state(a, locked) {
                Err(why) => r.unreadable.push(format!("{key}: {why}")),
                Ok((FileState::Missing, ..)) => r.missing.push(key),
                Ok((FileState::Unlocked, ..)) => r.unlocked.push(key),
                Ok((FileState::Ok, ..)) => r.ok.push(key),
                Ok((_, reasons, _)) => {
                    r.reasons.insert(key.clone(), reasons);
                    r.modified.push(key);
                }
            }
        }
        for e in &l.entries {
            if m.artifact(&e.name, e.artifact_type).is_none() {
                r.stale_lock_entries
                    .push(lock_key(&e.name, e.artifact_type));
            }
        }
        for ty in ArtifactType::ALL {
            let dir = self.dir.join(ty.dir_name());
            let entries = match self.fs.read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("read directory", &dir)(e)),
            };
            for entry in entries {
                let file_name = entry.name.to_string_lossy().to_string();
                if file_name.starts_with('.') {
                    continue;
                }
                let owned = m.artifacts.iter().any(|a| {
                    a.artifact_type == ty
                        && ty.storage_path(&a.name).ok().as_deref()
                            == Some(&format!("{}/{file_name}", ty.dir_name()))
                });
                if !owned {
                    r.extra.push(format!("{}/{file_name}", ty.dir_name()));
                }
            }
        }
        Ok(r)
    }
}
