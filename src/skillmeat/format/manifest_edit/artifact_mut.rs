//! One artifact's fields, edited in place.

use super::*;

/// Changes fields of one artifact in a [`ManifestEditor`]. Every setter keeps the line's
/// formatting when the field exists and does nothing when the value is unchanged.
#[derive(Debug)]
pub struct ArtifactMut<'a> {
    pub(super) table: &'a mut Table,
    pub(super) edited: &'a mut bool,
    pub(super) document: &'a str,
}

impl ArtifactMut<'_> {
    /// Sets `origin`.
    pub fn set_origin(&mut self, origin: Origin) {
        self.set_field("origin", string_value(origin.as_str()));
    }

    /// Sets `added`.
    pub fn set_added(&mut self, timestamp: &str) {
        self.set_field("added", string_value(timestamp));
    }

    /// Sets (`Some`) or removes (`None`) `upstream`.
    pub fn set_upstream(&mut self, value: Option<&str>) {
        self.set_optional("upstream", value);
    }

    /// Sets or removes `version_spec`.
    pub fn set_version_spec(&mut self, value: Option<&str>) {
        self.set_optional("version_spec", value);
    }

    /// Sets or removes `resolved_sha`.
    pub fn set_resolved_sha(&mut self, value: Option<&str>) {
        self.set_optional("resolved_sha", value);
    }

    /// Sets or removes `resolved_version`.
    pub fn set_resolved_version(&mut self, value: Option<&str>) {
        self.set_optional("resolved_version", value);
    }

    /// Sets or removes `last_updated`.
    pub fn set_last_updated(&mut self, value: Option<&str>) {
        self.set_optional("last_updated", value);
    }

    /// Sets `tags`; an empty list removes the field, as SkillMeat writes it.
    pub fn set_tags(&mut self, tags: &[String]) {
        if tags.is_empty() {
            *self.edited |= remove_key(self.table, "tags");
        } else {
            self.set_field("tags", string_array_value(tags));
        }
    }

    /// The string value of any field (known or not), if present and a string.
    pub fn get_string(&self, field: &str) -> Option<&str> {
        self.table.get(field).and_then(Item::as_str)
    }

    /// Sets a field SkillMeat does not know (e.g. `skillwal_source`) to a string; new ones go
    /// after all existing fields. Fails with [`Error::ReservedField`] for a name in
    /// [`ARTIFACT_FIELDS`] and [`Error::InvalidValue`] for an empty name.
    pub fn set_string(&mut self, field: &str, value: &str) -> Result<()> {
        check_free_field(self.document, field)?;
        self.set_field(field, string_value(value));
        Ok(())
    }

    /// Removes a field SkillMeat does not know and returns its string value (`None` when it
    /// was absent). Fails with [`Error::ReservedField`] as [`ArtifactMut::set_string`] does,
    /// and with [`Error::InvalidValue`] when the field holds something other than a string
    /// (which is then left in place).
    pub fn remove_string(&mut self, field: &str) -> Result<Option<String>> {
        check_free_field(self.document, field)?;
        let Some(item) = self.table.get(field) else {
            return Ok(None);
        };
        let Some(value) = item.as_str().map(str::to_owned) else {
            return Err(Error::InvalidValue {
                document: self.document.to_owned(),
                field: field.to_owned(),
                message: "holds a value that is not a string".to_owned(),
            });
        };
        self.table.remove(field);
        *self.edited = true;
        Ok(Some(value))
    }

    pub(super) fn set_field(&mut self, key: &str, value: Value) {
        *self.edited |= set_value(self.table, key, value, &ARTIFACT_FIELDS);
    }

    pub(super) fn set_optional(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.set_field(key, string_value(v)),
            None => *self.edited |= remove_key(self.table, key),
        }
    }

    /// Writes every typed field but name, type and metadata, plus the extra fields.
    pub(super) fn write_fields(&mut self, artifact: &Artifact) -> Result<()> {
        self.set_field("path", string_value(&artifact.path));
        self.set_origin(artifact.origin);
        self.set_added(&artifact.added);
        self.set_upstream(artifact.upstream.as_deref());
        self.set_version_spec(artifact.version_spec.as_deref());
        self.set_resolved_sha(artifact.resolved_sha.as_deref());
        self.set_resolved_version(artifact.resolved_version.as_deref());
        self.set_last_updated(artifact.last_updated.as_deref());
        self.set_tags(&artifact.tags);
        for (key, value) in &artifact.extra {
            self.set_string(key, value)?;
        }
        Ok(())
    }
}
