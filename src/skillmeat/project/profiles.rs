//! The deployment profiles SkillMeat 0.74 knows (`core/platform_defaults.py`): where in a
//! project each one puts artifacts, and which artifact types it takes
//! (`docs/skillmeat-deploy-format.md` §7).

use crate::skillmeat::names::ArtifactType;

/// One profile: its id (also the record's `deployment_profile_id`), the record's
/// `platform`, its root directory in the project, and the types it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// `claude_code`, `codex`, …
    pub id: &'static str,
    /// The `Platform` value written in records.
    pub platform: &'static str,
    /// The root directory in the project (`.claude`).
    pub root: &'static str,
    /// The artifact types it takes.
    pub types: &'static [ArtifactType],
}

const ALL: &[ArtifactType] = &[
    ArtifactType::Skill,
    ArtifactType::Command,
    ArtifactType::Agent,
];

/// The profiles skillwal deploys to. SkillMeat's `bob` and `other` profiles, and the types
/// skillwal does not manage (hooks, MCP servers, workflows), are left out.
pub const PROFILES: [Profile; 4] = [
    Profile {
        id: "claude_code",
        platform: "claude_code",
        root: ".claude",
        types: ALL,
    },
    Profile {
        id: "codex",
        platform: "codex",
        root: ".agents",
        types: ALL,
    },
    Profile {
        id: "gemini",
        platform: "gemini",
        root: ".gemini",
        types: &[ArtifactType::Skill, ArtifactType::Command],
    },
    Profile {
        id: "cursor",
        platform: "cursor",
        root: ".cursor",
        types: ALL,
    },
];

/// The profile with id `id`.
pub fn profile(id: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.id == id)
}

/// The profile ids, for messages.
pub fn profile_ids() -> String {
    PROFILES.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")
}

impl Profile {
    /// Whether it takes artifacts of type `ty`.
    pub fn takes(&self, ty: ArtifactType) -> bool {
        self.types.contains(&ty)
    }
}
