//! What a three-way merge does with each path of an artifact.
//!
//! [`plan`] compares three listings, path → content id, and decides per path. Every path
//! present in any listing gets exactly one decision: unchanged files are never dropped
//! (the Python tool's merge loses them). "Changed" means the content id differs from
//! base's, or the path was added or deleted; ids are compared with `==` only, so any id
//! that is equal exactly when the contents are equal works (a content hash).
//!
//! | base | ours | theirs | decision | what the caller does |
//! |---|---|---|---|---|
//! | B | B | B | [`Unchanged`](Decision::Unchanged) | nothing |
//! | B | O | B | [`TakeOurs`](Decision::TakeOurs) | nothing (disk already has ours) |
//! | – | O | – | [`TakeOurs`](Decision::TakeOurs) (added by ours) | nothing |
//! | B | B | T | [`TakeTheirs`](Decision::TakeTheirs) | write theirs |
//! | – | – | T | [`TakeTheirs`](Decision::TakeTheirs) (added by theirs) | write theirs |
//! | B | – | B | [`Delete`](Decision::Delete) `{ by: Ours }` | nothing (already gone) |
//! | B | B | – | [`Delete`](Decision::Delete) `{ by: Theirs }` | delete the file |
//! | B | X | X | [`Same`](Decision::Same) (changed identically) | nothing |
//! | – | X | X | [`Same`](Decision::Same) (added identically) | nothing |
//! | B | – | – | [`Same`](Decision::Same) (deleted by both) | nothing |
//! | B | O | T | [`MergeContent`](Decision::MergeContent) | [`text::merge`](super::text::merge)(B, O, T) if all text, else binary conflict |
//! | – | O | T | [`AddAdd`](Decision::AddAdd) | [`text::merge`](super::text::merge)(empty, O, T) if both text, else binary conflict |
//! | B | – | T | [`ModifyDelete`](Decision::ModifyDelete) `{ deleted_by: Ours }` | conflict: keep theirs' version, report |
//! | B | O | – | [`ModifyDelete`](Decision::ModifyDelete) `{ deleted_by: Theirs }` | conflict: keep ours, report |
//!
//! Letters are content ids (B base's, O ours', T theirs', X one id on both sides), all
//! different from one another; "–" is absent. A binary conflict keeps ours in place and
//! writes theirs beside it. A modify/delete conflict keeps the modified version, so no
//! edit is lost; the caller reports it either way.

use std::collections::BTreeMap;

/// One of the two descendants of base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The files on disk.
    Ours,
    /// The new upstream.
    Theirs,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Ours => Side::Theirs,
            Side::Theirs => Side::Ours,
        }
    }
}

/// What to do with one path; see the table in the [module doc](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Present on all three sides with the same content.
    Unchanged,
    /// Changed (modified or added) by ours only: the result is ours.
    TakeOurs,
    /// Changed (modified or added) by theirs only: the result is theirs.
    TakeTheirs,
    /// Deleted by side `by`, unchanged on the other: the result is no file.
    Delete {
        /// The side that deleted it.
        by: Side,
    },
    /// Changed the same way by both: modified to the same content, added with the same
    /// content, or deleted by both. The result is ours (which may be no file).
    Same,
    /// Modified by both, to different contents: merge the three contents.
    MergeContent,
    /// Added by both, with different contents: merge them with an empty base.
    AddAdd,
    /// Modified by one side and deleted by `deleted_by`: a conflict.
    ModifyDelete {
        /// The side that deleted it (the other modified it).
        deleted_by: Side,
    },
}

impl Decision {
    /// True for the decisions that are always a conflict. [`MergeContent`](Self::MergeContent)
    /// and [`AddAdd`](Self::AddAdd) conflict or not depending on the content merge.
    pub fn is_conflict(self) -> bool {
        matches!(self, Decision::ModifyDelete { .. })
    }

    /// True when the result needs the contents merged.
    pub fn needs_content_merge(self) -> bool {
        matches!(self, Decision::MergeContent | Decision::AddAdd)
    }

    /// The decision with ours and theirs swapped: `plan(b, y, x)` holds, for each path,
    /// the mirror of the decision in `plan(b, x, y)`.
    pub fn mirror(self) -> Decision {
        match self {
            Decision::TakeOurs => Decision::TakeTheirs,
            Decision::TakeTheirs => Decision::TakeOurs,
            Decision::Delete { by } => Decision::Delete { by: by.other() },
            Decision::ModifyDelete { deleted_by } => Decision::ModifyDelete {
                deleted_by: deleted_by.other(),
            },
            other => other,
        }
    }
}

/// Decides, for every path present in `base`, `ours` or `theirs`, what the merge does with
/// it (see the table in the [module doc](self)). Keys are paths relative to the artifact;
/// values are content ids. The result has exactly the union of the three key sets; it
/// cannot fail.
pub fn plan<H: Eq>(
    base: &BTreeMap<String, H>,
    ours: &BTreeMap<String, H>,
    theirs: &BTreeMap<String, H>,
) -> BTreeMap<String, Decision> {
    let mut paths: Vec<&String> = base
        .keys()
        .chain(ours.keys())
        .chain(theirs.keys())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
        .into_iter()
        .map(|path| {
            let decision = decide(base.get(path), ours.get(path), theirs.get(path));
            (path.clone(), decision)
        })
        .collect()
}

/// The decision for one path, from its content id on each side (`None`: absent; a path
/// absent everywhere is [`Unchanged`](Decision::Unchanged)).
pub fn decide<H: Eq>(base: Option<&H>, ours: Option<&H>, theirs: Option<&H>) -> Decision {
    let ours_changed = ours != base;
    let theirs_changed = theirs != base;
    match (ours_changed, theirs_changed) {
        (false, false) => Decision::Unchanged,
        (true, false) if ours.is_none() => Decision::Delete { by: Side::Ours },
        (true, false) => Decision::TakeOurs,
        (false, true) if theirs.is_none() => Decision::Delete { by: Side::Theirs },
        (false, true) => Decision::TakeTheirs,
        (true, true) if ours == theirs => Decision::Same,
        (true, true) => match (base, ours, theirs) {
            (None, _, _) => Decision::AddAdd,
            (Some(_), None, _) => Decision::ModifyDelete {
                deleted_by: Side::Ours,
            },
            (Some(_), _, None) => Decision::ModifyDelete {
                deleted_by: Side::Theirs,
            },
            (Some(_), Some(_), Some(_)) => Decision::MergeContent,
        },
    }
}
