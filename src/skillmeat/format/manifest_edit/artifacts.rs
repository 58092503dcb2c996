//! The artifacts of the manifest: finding, adding, updating and removing them.

use super::*;

impl ManifestEditor {
    /// Whether the artifact (`name`, `artifact_type`) is present.
    pub fn contains_artifact(&self, name: &str, artifact_type: ArtifactType) -> bool {
        find_artifact(&self.d.doc, name, artifact_type.as_str()).is_some()
    }

    /// Appends `artifact` as a new `[[artifacts]]` table right after the last existing one,
    /// fields in SkillMeat's order (name, type, path, origin, added, upstream, version_spec,
    /// resolved_sha, resolved_version, last_updated, tags), then the `extra` fields, then
    /// `[artifacts.metadata]`. Empty `tags` and `metadata` are omitted, as SkillMeat does.
    ///
    /// Fails with [`Error::AlreadyExists`] for a duplicate identity, [`Error::InvalidName`]
    /// for a bad name, [`Error::InvalidValue`] when `path` is not the storage path, and
    /// [`Error::ReservedField`] when an `extra` key is one of [`ARTIFACT_FIELDS`].
    pub fn add_artifact(&mut self, artifact: &Artifact) -> Result<()> {
        self.check_new_values(artifact)?;
        if self.contains_artifact(&artifact.name, artifact.artifact_type) {
            return Err(Error::AlreadyExists {
                document: self.d.document.clone(),
                item: artifact.key(),
            });
        }
        self.d.saved.save(&artifact.key(), || None);
        let mut table = Table::new();
        {
            // The handle's edit flag is about `table`, which is not in the document yet.
            let mut table_edited = false;
            let mut handle = ArtifactMut {
                table: &mut table,
                edited: &mut table_edited,
                document: &self.d.document,
            };
            handle.set_field("name", string_value(&artifact.name));
            handle.set_field("type", string_value(artifact.artifact_type.as_str()));
            handle.write_fields(artifact)?;
        }
        if !artifact.metadata.is_empty() {
            table.insert("metadata", Item::Table(plain_to_table(&artifact.metadata)));
        }
        let aot = self.artifacts_mut()?;
        let anchor = aot.iter().filter_map(max_position).max();
        let anchor = anchor
            .or_else(|| max_position(self.d.doc.as_table()))
            .unwrap_or(0);
        make_room(self.d.doc.as_table_mut(), &mut table, anchor);
        self.artifacts_mut()?.push(table);
        self.d.edited = true;
        Ok(())
    }

    /// Makes the stored artifact with `artifact`'s identity equal to `artifact`, changing only
    /// the values that differ: typed fields, `metadata` (replaced as a whole when it
    /// differs), and `extra` string fields (set, and unknown string fields not in `extra`
    /// removed). Unknown non-string fields stay.
    ///
    /// Fails like [`ManifestEditor::add_artifact`], or with [`Error::NotFound`].
    pub fn update_artifact(&mut self, artifact: &Artifact) -> Result<()> {
        self.check_new_values(artifact)?;
        let mut handle = self.artifact_mut(&artifact.name, artifact.artifact_type)?;
        handle.write_fields(artifact)?;
        let stale: Vec<String> = handle
            .table
            .iter()
            .filter(|(k, item)| {
                !ARTIFACT_FIELDS.contains(k) && item.is_str() && !artifact.extra.contains_key(*k)
            })
            .map(|(k, _)| k.to_owned())
            .collect();
        for key in stale {
            handle.remove_string(&key)?;
        }
        self.set_metadata(&artifact.name, artifact.artifact_type, &artifact.metadata)
    }

    /// Replaces `[artifacts.metadata]` of the artifact with `metadata` unless equal; an
    /// empty table removes it. Fails with [`Error::NotFound`].
    pub fn set_metadata(
        &mut self,
        name: &str,
        artifact_type: ArtifactType,
        metadata: &toml::Table,
    ) -> Result<()> {
        let index = self.artifact_index_mut(name, artifact_type)?;
        let artifact = artifact_table_mut(&mut self.d.doc, index);
        let current = artifact
            .get("metadata")
            .and_then(Item::as_table_like)
            .map(table_like_to_plain)
            .unwrap_or_default();
        if &current == metadata {
            return Ok(());
        }
        artifact.remove("metadata");
        self.d.edited = true;
        if metadata.is_empty() {
            return Ok(());
        }
        let anchor = max_position(artifact).unwrap_or(0);
        let mut table = plain_to_table(metadata);
        make_room(self.d.doc.as_table_mut(), &mut table, anchor);
        artifact_table_mut(&mut self.d.doc, index).insert("metadata", Item::Table(table));
        Ok(())
    }

    /// A handle to change fields of the artifact (`name`, `artifact_type`).
    ///
    /// Fails with [`Error::NotFound`], or [`Error::UnsupportedLayout`] when `artifacts` is
    /// neither an array of tables nor an inline array of inline tables.
    pub fn artifact_mut(
        &mut self,
        name: &str,
        artifact_type: ArtifactType,
    ) -> Result<ArtifactMut<'_>> {
        let index = self.artifact_index_mut(name, artifact_type)?;
        Ok(ArtifactMut {
            table: artifact_table_mut(&mut self.d.doc, index),
            edited: &mut self.d.edited,
            document: &self.d.document,
        })
    }

    /// Removes the artifact (`name`, `artifact_type`) with its sub-tables and the comments
    /// directly above its header. Fails with [`Error::NotFound`].
    pub fn remove_artifact(&mut self, name: &str, artifact_type: ArtifactType) -> Result<()> {
        let index = self.find_or_not_found(name, artifact_type)?;
        let key = lock_key(name, artifact_type);
        self.save_artifact(&key, index);
        match self.d.doc.get_mut("artifacts") {
            Some(Item::ArrayOfTables(aot)) => {
                aot.remove(index);
            }
            Some(Item::Value(Value::Array(array))) => {
                array.remove(index);
            }
            _ => unreachable!("find_artifact found it in one of the two layouts"),
        }
        self.d.saved.remove(&key);
        self.d.edited = true;
        Ok(())
    }

    pub(super) fn find_or_not_found(
        &self,
        name: &str,
        artifact_type: ArtifactType,
    ) -> Result<usize> {
        find_artifact(&self.d.doc, name, artifact_type.as_str()).ok_or_else(|| Error::NotFound {
            document: self.d.document.clone(),
            item: lock_key(name, artifact_type),
        })
    }

    /// The index of the artifact, saved as it is (it is about to change) in the
    /// `[[artifacts]]` layout.
    pub(super) fn artifact_index_mut(
        &mut self,
        name: &str,
        artifact_type: ArtifactType,
    ) -> Result<usize> {
        let index = self.find_or_not_found(name, artifact_type)?;
        self.save_artifact(&lock_key(name, artifact_type), index);
        self.artifacts_mut()?;
        Ok(index)
    }

    /// Saves the artifact `key` at `index`, before its first change.
    pub(super) fn save_artifact(&mut self, key: &str, index: usize) {
        let doc = &self.d.doc;
        self.d.saved.save(key, || {
            let item = match doc.get("artifacts")? {
                Item::ArrayOfTables(aot) => Item::Table(aot.get(index)?.clone()),
                Item::Value(Value::Array(array)) => Item::Value(array.get(index)?.clone()),
                _ => return None,
            };
            Some((Slot::Element(index), item))
        });
    }

    /// The `[[artifacts]]` array, converting the inline layout (see the module docs).
    pub(super) fn artifacts_mut(&mut self) -> Result<&mut ArrayOfTables> {
        let needs_conversion = !matches!(self.d.doc.get("artifacts"), Some(Item::ArrayOfTables(_)));
        if needs_conversion {
            let tables = self.take_inline_artifacts()?;
            let mut aot = ArrayOfTables::new();
            let mut anchor = max_position(self.d.doc.as_table()).unwrap_or(0);
            for mut table in tables {
                make_room(self.d.doc.as_table_mut(), &mut table, anchor);
                anchor = max_position(&table).unwrap_or(anchor);
                aot.push(table);
            }
            self.d.doc.insert("artifacts", Item::ArrayOfTables(aot));
            self.d.edited = true;
        }
        match self.d.doc.get_mut("artifacts") {
            Some(Item::ArrayOfTables(aot)) => Ok(aot),
            _ => unreachable!("ensured just above"),
        }
    }

    /// Removes an inline `artifacts = [...]` (or nothing) and returns its elements as tables.
    pub(super) fn take_inline_artifacts(&mut self) -> Result<Vec<Table>> {
        let unsupported = || Error::UnsupportedLayout {
            document: self.d.document.clone(),
            message: "`artifacts` is not an array of tables".to_owned(),
        };
        let Some(Item::Value(Value::Array(array))) = self.d.doc.get("artifacts") else {
            return match self.d.doc.get("artifacts") {
                None => Ok(Vec::new()),
                Some(_) => Err(unsupported()),
            };
        };
        if array.iter().any(|v| v.as_inline_table().is_none()) {
            return Err(unsupported());
        }
        let Some(Item::Value(Value::Array(array))) = self.d.doc.remove("artifacts") else {
            unreachable!("matched just above");
        };
        trim_blank_document_start(self.d.doc.as_table_mut());
        let mut tables = Vec::with_capacity(array.len());
        for value in array {
            let mut item = Item::Value(value);
            make_standard_table(&mut item);
            let Item::Table(mut table) = item else {
                unreachable!("checked above: every element is an inline table")
            };
            table.decor_mut().clear();
            tables.push(table);
        }
        Ok(tables)
    }

    pub(super) fn check_new_values(&self, artifact: &Artifact) -> Result<()> {
        let expected = artifact.artifact_type.storage_path(&artifact.name)?;
        if artifact.path != expected {
            return Err(Error::InvalidValue {
                document: self.d.document.clone(),
                field: "path".to_owned(),
                message: format!("{:?} is not the storage path {expected:?}", artifact.path),
            });
        }
        for key in artifact.extra.keys() {
            check_free_field(&self.d.document, key)?;
        }
        Ok(())
    }
}

pub(super) fn check_free_field(document: &str, field: &str) -> Result<()> {
    if ARTIFACT_FIELDS.contains(&field) {
        return Err(Error::ReservedField {
            field: field.to_owned(),
        });
    }
    if field.is_empty() {
        return Err(Error::InvalidValue {
            document: document.to_owned(),
            field: String::new(),
            message: "field name is empty".to_owned(),
        });
    }
    Ok(())
}

/// Index of the artifact (`name`, `type_name`) in either layout of `artifacts`.
pub(super) fn find_artifact(doc: &DocumentMut, name: &str, type_name: &str) -> Option<usize> {
    let matches = |t: &dyn TableLike| {
        t.get("name").and_then(Item::as_str) == Some(name)
            && t.get("type").and_then(Item::as_str) == Some(type_name)
    };
    match doc.get("artifacts")? {
        Item::ArrayOfTables(aot) => aot.iter().position(|t| matches(t)),
        Item::Value(Value::Array(array)) => array
            .iter()
            .position(|v| v.as_inline_table().is_some_and(|t| matches(t))),
        _ => None,
    }
}

/// The artifact at `index` in either layout of `artifacts`.
pub(super) fn artifact_at(doc: &DocumentMut, index: usize) -> Option<&dyn TableLike> {
    match doc.get("artifacts")? {
        Item::ArrayOfTables(aot) => Some(aot.get(index)?),
        Item::Value(Value::Array(array)) => Some(array.get(index)?.as_inline_table()?),
        _ => None,
    }
}

pub(super) fn artifact_table_mut(doc: &mut DocumentMut, index: usize) -> &mut Table {
    match doc.get_mut("artifacts") {
        Some(Item::ArrayOfTables(aot)) => aot
            .get_mut(index)
            .expect("index comes from find_artifact on this document"),
        _ => unreachable!("artifacts_mut converted the layout"),
    }
}
