use super::*;

/// The source recorded as skillwal records it (in the manifest's `skillwal_*` fields, or in
/// a source reference): a local path for a local artifact, a git URL with path and
/// reference otherwise.
pub(super) fn recorded_source(
    origin: Origin,
    src: &str,
    path: Option<&String>,
    reference: Option<&String>,
) -> SourceSpec {
    match origin {
        Origin::Local => SourceSpec::Local(PathBuf::from(src)),
        _ => SourceSpec::Git {
            url: src.to_string(),
            path: path.cloned(),
            reference: reference.cloned(),
        },
    }
}

/// The source skillwal recorded in the artifact's manifest entry (`None` when the fields
/// are gone, e.g. after the Python tool rewrote the manifest).
pub(super) fn source_in_manifest(a: &Artifact) -> Option<SourceSpec> {
    let src = a.extra.get(FIELD_SOURCE)?;
    Some(recorded_source(
        a.origin,
        src,
        a.extra.get(FIELD_PATH),
        a.extra.get(FIELD_REF),
    ))
}

/// The source reference skillwal writes with every add and update of `a`: where `fetched`
/// came from, and `a`'s manifest `added` and origin (what [`Collection::source_of`] compares
/// it with), which tell it from another artifact added under the same name later.
pub(super) fn source_ref(a: &Artifact, fetched: &Fetched) -> SourceRef {
    SourceRef::new(
        a.origin.as_str(),
        &fetched.skillwal_source,
        fetched.skillwal_path.as_deref(),
        fetched.skillwal_ref.as_deref(),
        &a.added,
    )
}

/// Stages writing `source` as the source reference of `name` of type `ty`, unless the store
/// holds exactly that already (an update from the same source rewrites nothing; a damaged
/// reference is replaced).
pub(super) fn stage_source(
    store: &Store,
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    ty: ArtifactType,
    name: &str,
    source: &SourceRef,
) -> Result<()> {
    if refs::get_source(store, ty.as_str(), name)
        .ok()
        .flatten()
        .as_ref()
        != Some(source)
    {
        refs::stage_source(w, t, ty.as_str(), name, source)?;
    }
    Ok(())
}

/// Whether two SkillMeat timestamps are the same instant: Python's `isoformat()` drops a
/// fraction that is exactly zero, so a manifest it rewrote may say `…:48` for our `…:48.000000`.
pub(super) fn same_timestamp(a: &str, b: &str) -> bool {
    let full = |t: &str| {
        if t.contains('.') {
            t.to_string()
        } else {
            format!("{t}.000000")
        }
    };
    full(a) == full(b)
}

/// The source of an artifact the Python tool added from GitHub, from its `upstream`
/// (`https://github.com/<user>/<repo>/tree/<sha>/<path>`).
pub(super) fn github_source(a: &Artifact) -> Option<SourceSpec> {
    if a.origin == Origin::Github {
        let up = a.upstream.as_deref()?;
        let rest = up.strip_prefix("https://github.com/")?;
        let mut parts = rest.splitn(5, '/');
        let (user, repo) = (parts.next()?, parts.next()?);
        let path = match (parts.next(), parts.next(), parts.next()) {
            (Some("tree"), Some(_sha), p) => p.map(str::to_string),
            (None, ..) => None,
            _ => return None,
        };
        let reference = a.version_spec.clone().filter(|v| v != "latest");
        return Some(SourceSpec::Git {
            url: format!("https://github.com/{user}/{repo}"),
            path,
            reference,
        });
    }
    None
}

impl Collection {
    /// Where `a` can be updated from: skillwal's fields in its manifest entry; else the
    /// source reference skillwal wrote with its last add or update, when that reference's
    /// `added` and origin are the artifact's (the Python tool drops skillwal's fields when it
    /// rewrites the manifest; an artifact it removed and added again under the same name is
    /// another one, with another `added`); else the GitHub upstream the Python tool recorded.
    /// `None` when there is none of these.
    ///
    /// Fails when the artifact's source reference is damaged (the error names the file).
    pub fn source_of(&self, a: &Artifact) -> Result<Option<SourceSpec>> {
        if let Some(spec) = source_in_manifest(a) {
            return Ok(Some(spec));
        }
        let ty = a.artifact_type.as_str();
        if let Some(r) = refs::get_source(&self.store, ty, &a.name)?
            && r.origin == a.origin.as_str()
            && same_timestamp(&r.added, &a.added)
        {
            let (path, reference) = (r.path.as_ref(), r.reference.as_ref());
            return Ok(Some(recorded_source(a.origin, &r.source, path, reference)));
        }
        Ok(github_source(a))
    }
}

#[cfg(test)]
mod tests {
    use super::same_timestamp;

    #[test]
    fn timestamps_compare_as_instants() {
        // Python's isoformat() writes no fraction when it is zero; skillwal always writes six
        // digits.
        assert!(same_timestamp(
            "2026-11-25T21:23:48",
            "2026-11-25T21:23:48.000000"
        ));
        assert!(same_timestamp(
            "2026-11-25T21:23:48.000000",
            "2026-11-25T21:23:48"
        ));
        assert!(same_timestamp(
            "2026-11-25T21:23:48.120000",
            "2026-11-25T21:23:48.120000"
        ));
        assert!(!same_timestamp(
            "2026-11-25T21:23:48",
            "2026-11-25T21:23:48.000001"
        ));
        assert!(!same_timestamp(
            "2026-11-25T21:23:48.5",
            "2026-11-25T21:23:49.500000"
        ));
    }
}
