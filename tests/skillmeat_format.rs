//! Compatibility tests for `skillwal::skillmeat`: the SkillMeat 0.74 on-disk format.
//!
//! One module per concern. Expected texts are written out in full, so each edit test proves
//! that only the intended lines changed. Hash vectors marked "SkillMeat 0.74" were produced
//! by running the real tool (`skillmeat add`) on the same files.

use skillwal::skillmeat::*;

/// A manifest with everything a writer must keep: comments, odd spacing, literal strings,
/// unknown fields of every kind, an artifact type skillwal does not manage, inline tables,
/// unknown top-level arrays, and a trailing comment.
const TORTURE: &str = r##"# SkillMeat collection, hand-annotated.
# Second header comment line.

[collection]
name = "default"   # the collection name
version = "1.0.0"
created = "2026-11-25T20:26:39.547343"
updated = "2026-11-25T20:26:48.518576"  # rewritten on every write
future_field = { nested = true }

# The first artifact.
[[artifacts]]
name = "my-skill"
type = "skill"
path = "skills/my-skill"
origin = "github"
added = "2026-11-25T20:26:48.238399"
upstream = "https://github.com/user/repo/tree/abc/path/to/my-skill"
version_spec = "v1.0.0"
resolved_sha = "0123456789abcdef0123456789abcdef01234567"   # pinned
resolved_version = "v1.0.0"
discovered_at = "2026-11-25T20:26:48.238399"
tags = [
    "x",
    "y",
]
uuid = "0123456789abcdef0123456789abcdef"
skillwal_source = "https://git.example.org/skills.git"
skillwal_pins = [1, 2, 3]

[artifacts.metadata]
description = "A test skill"
title = 'Literal title'

[artifacts.metadata.extra]
frontmatter = { name = "my-skill" }

[[artifacts]]
name = "hooky"
type = "hook"      # a type skillwal does not manage
path = "hooks/hooky"
origin = "local"
added = "2026-11-25T20:27:00.000001"

[[artifacts]]
name="cmd-one"
type="command"
path="commands/cmd-one.md"
origin="local"
added="2026-11-25T20:28:00.000002"

[[mcp_servers]]
name = "filesystem"
repo = "anthropics/mcp-filesystem"
env_vars = { ROOT = "/tmp" }

[[tag_definitions]]
name = "x"
color = "#ff0000"

# trailing comment
"##;

/// What SkillMeat 0.74 writes for `skillmeat init --name default`.
const SKILLMEAT_INIT: &str = "artifacts = []

[collection]
name = \"default\"
version = \"1.0.0\"
created = \"2026-11-25T21:08:40.959035\"
updated = \"2026-11-25T21:08:40.959052\"
";

/// A lock with comments, an unknown field, an unmanaged type and an unknown table.
const LOCK: &str = r##"# lock file
[lock]
version = "1.0.0"

[lock.entries."my-skill::skill"]
content_hash = "e169454b2365a3752064ccec1283dc851333e71562c25fb2ba45a2e11da3f21a"  # from disk
fetched = "2026-11-25T21:08:48.090701"
recipe_hash = "abc"

[lock.entries."hooky::hook"]
content_hash = "whatever a newer SkillMeat writes"
fetched = "2026-11-25T21:08:49.000000"

[lock.entries."mycmd::command"]
content_hash = "2171366738b1ca17ef120208b5a43b7dbf4d3d45dcd2d3acf7c949f95bc502f9"
fetched = "2026-11-25T21:08:52.310288"
upstream = "https://github.com/u/r"

[extra_table]
kept = true
"##;

const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HASH_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// `text` with `from` replaced by `to`, asserting `from` occurs exactly once.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

fn torture() -> ManifestEditor {
    ManifestEditor::parse(TORTURE, "collection.toml").unwrap()
}

fn schema_error(result: Result<impl std::fmt::Debug>) -> (usize, usize, String) {
    match result {
        Err(Error::Schema { at, message }) => (at.line, at.column, message),
        other => panic!("expected a schema error, got {other:?}"),
    }
}

mod names {
    use super::*;

    #[test]
    fn validation_table() {
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("my-skill", Ok(())),
            ("My_Skill 2", Ok(())),
            ("a.b", Ok(())),
            ("ünïcödé", Ok(())),
            ("x:y", Ok(())),
            ("", Err(NameError::Empty)),
            ("a/b", Err(NameError::Slash)),
            ("/abs", Err(NameError::Slash)),
            ("a\\b", Err(NameError::Backslash)),
            ("..", Err(NameError::DotDot)),
            ("a..b", Err(NameError::DotDot)),
            ("../x", Err(NameError::Slash)),
            (".hidden", Err(NameError::LeadingDot)),
            (".", Err(NameError::LeadingDot)),
            ("nul\0", Err(NameError::ControlChar)),
            ("new\nline", Err(NameError::ControlChar)),
            ("tab\t", Err(NameError::ControlChar)),
            ("del\u{7f}", Err(NameError::ControlChar)),
            ("a::b", Err(NameError::DoubleColon)),
        ];
        for (name, expected) in cases {
            assert_eq!(validate_artifact_name(name), *expected, "{name:?}");
        }
        assert_eq!(
            validate_artifact_name(&"x".repeat(NAME_BYTES_MAX + 1)),
            Err(NameError::TooLong { bytes: 256 })
        );
    }

    #[test]
    fn storage_rule_and_lock_key() {
        let cases = [
            (ArtifactType::Skill, "skills/n", true),
            (ArtifactType::Command, "commands/n.md", false),
            (ArtifactType::Agent, "agents/n.md", false),
        ];
        for (t, path, is_dir) in cases {
            assert_eq!(t.storage_path("n").unwrap(), path);
            assert_eq!(t.is_directory(), is_dir);
            assert_eq!(lock_key("n", t), format!("n::{}", t.as_str()));
            assert_eq!(t.as_str().parse::<ArtifactType>().unwrap(), t);
        }
        assert!(matches!(
            "workflow".parse::<ArtifactType>(),
            Err(Error::UnknownArtifactType { .. })
        ));
        assert!(ArtifactType::Agent.storage_path(".x").is_err());
    }
}

mod manifest_read {
    use super::*;

    #[test]
    fn torture_manifest_reads() {
        let m = Manifest::parse(TORTURE, "collection.toml").unwrap();
        assert_eq!(
            m.collection,
            CollectionInfo {
                name: "default".into(),
                version: "1.0.0".into(),
                created: "2026-11-25T20:26:39.547343".into(),
                updated: "2026-11-25T20:26:48.518576".into(),
            }
        );
        assert_eq!(m.artifacts.len(), 2);
        let skill = m.artifact("my-skill", ArtifactType::Skill).unwrap();
        assert_eq!(skill.origin, Origin::Github);
        assert_eq!(skill.version_spec.as_deref(), Some("v1.0.0"));
        assert_eq!(skill.tags, ["x", "y"]);
        assert_eq!(
            skill.metadata["title"].as_str(),
            Some("Literal title"),
            "literal strings are read as their value"
        );
        assert_eq!(
            skill.metadata["extra"]["frontmatter"]["name"].as_str(),
            Some("my-skill")
        );
        // Unknown string fields are typed extras; known SkillMeat fields and non-strings are not.
        assert_eq!(skill.extra.keys().collect::<Vec<_>>(), ["skillwal_source"]);
        assert_eq!(
            skill.extra_field("skillwal_source"),
            Some("https://git.example.org/skills.git")
        );
        let cmd = m.artifact("cmd-one", ArtifactType::Command).unwrap();
        assert_eq!(cmd.path, "commands/cmd-one.md");
        assert_eq!(cmd.upstream, None);
        assert!(cmd.tags.is_empty() && cmd.metadata.is_empty());
        assert_eq!(
            m.unsupported,
            [UnsupportedItem {
                name: "hooky".into(),
                type_name: "hook".into(),
                line: 38,
            }]
        );
    }

    #[test]
    fn skillmeat_init_output_reads() {
        let m = Manifest::parse(SKILLMEAT_INIT, "collection.toml").unwrap();
        assert_eq!(m.collection.name, "default");
        assert!(m.artifacts.is_empty());
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err =
            Manifest::parse("[collection]\nname = \"x\"\nversion = 1.0.0\n", "c.toml").unwrap_err();
        let Error::Syntax { at, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(
            (at.document.as_str(), at.line, at.column),
            ("c.toml", 3, 14)
        );
        assert!(
            err.to_string()
                .starts_with("c.toml:3:14: TOML syntax error"),
            "{err}"
        );
        // Columns count characters, not bytes.
        let Error::Syntax { at, .. } = Manifest::parse("a = \"é\" x", "c").unwrap_err() else {
            panic!()
        };
        assert_eq!((at.line, at.column), (1, 9));
    }

    const HEAD: &str =
        "[collection]\nname = \"c\"\nversion = \"1.0.0\"\ncreated = \"t\"\nupdated = \"t\"\n";

    fn with_artifact(body: &str) -> String {
        format!("{HEAD}\n[[artifacts]]\n{body}")
    }

    const GOOD: &str =
        "name = \"a\"\ntype = \"skill\"\npath = \"skills/a\"\norigin = \"local\"\nadded = \"t\"\n";

    #[test]
    fn schema_errors_point_at_the_value_or_the_table() {
        assert!(Manifest::parse(&with_artifact(GOOD), "c").is_ok());
        // Missing field: the [[artifacts]] header (line 7).
        let text = with_artifact(&GOOD.replace("added = \"t\"\n", ""));
        let (line, column, message) = schema_error(Manifest::parse(&text, "c"));
        assert_eq!((line, column), (7, 1));
        assert!(message.contains("missing field `added`"), "{message}");
        // Unknown origin: the value.
        let text = with_artifact(&GOOD.replace("\"local\"", "\"gitlab\""));
        let (line, column, message) = schema_error(Manifest::parse(&text, "c"));
        assert_eq!((line, column), (11, 10));
        assert!(message.contains("gitlab"), "{message}");
        // Invalid name.
        let text = with_artifact(&GOOD.replace("name = \"a\"", "name = \"../evil\""));
        let (line, column, message) = schema_error(Manifest::parse(&text, "c"));
        assert_eq!((line, column), (8, 8));
        assert!(message.contains("../evil"), "{message}");
        // Wrong type.
        let text = with_artifact(&format!("{GOOD}tags = \"x\"\n"));
        assert_eq!(schema_error(Manifest::parse(&text, "c")).0, 13);
        let text = with_artifact(&format!("{GOOD}tags = [\"x\", 1]\n"));
        let (line, column, _) = schema_error(Manifest::parse(&text, "c"));
        assert_eq!((line, column), (13, 14));
        let text = with_artifact(&GOOD.replace("added = \"t\"", "added = 2026-01-01T00:00:00"));
        assert_eq!(schema_error(Manifest::parse(&text, "c")).0, 12);
        // Duplicate identity: the second name.
        let text = format!("{}\n[[artifacts]]\n{GOOD}", with_artifact(GOOD));
        let (line, column, message) = schema_error(Manifest::parse(&text, "c"));
        assert_eq!((line, column), (15, 8));
        assert!(message.contains("duplicate artifact a::skill"), "{message}");
        // Missing [collection] and missing collection fields.
        let (line, column, _) = schema_error(Manifest::parse("", "c"));
        assert_eq!((line, column), (1, 1));
        let text = HEAD.replace("version = \"1.0.0\"\n", "");
        let (line, _, message) = schema_error(Manifest::parse(&text, "c"));
        assert_eq!(line, 1);
        assert!(message.contains("missing field `version`"), "{message}");
        let text = HEAD.replace("name = \"c\"", "name = \"\"");
        assert_eq!(schema_error(Manifest::parse(&text, "c")).0, 2);
    }

    #[test]
    fn error_display_names_the_document() {
        let text = with_artifact(&GOOD.replace("\"local\"", "\"x\""));
        let err = Manifest::parse(&text, "/c/collection.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/c/collection.toml:11:10: artifact #1 (a): unknown origin \"x\" (expected local, github or marketplace)"
        );
    }

    #[test]
    fn oversize_documents_are_refused() {
        let text = " ".repeat(DOCUMENT_BYTES_MAX + 1);
        assert!(matches!(
            Manifest::parse(&text, "c"),
            Err(Error::DocumentTooLarge { .. })
        ));
    }
}

mod manifest_edit {
    use super::*;

    #[test]
    fn unedited_round_trip_is_byte_for_byte() {
        assert_eq!(torture().to_string(), TORTURE);
        assert_eq!(
            ManifestEditor::parse(SKILLMEAT_INIT, "c")
                .unwrap()
                .to_string(),
            SKILLMEAT_INIT
        );
        // Setting a value to what it already is is not an edit.
        let mut m = torture();
        m.set_updated("2026-11-25T20:26:48.518576");
        m.artifact_mut("my-skill", ArtifactType::Skill)
            .unwrap()
            .set_tags(&["x".into(), "y".into()]);
        assert!(!m.is_edited());
    }

    #[test]
    fn toml_edit_itself_reproduces_the_document() {
        // Edit and revert: the output goes through toml_edit's serializer, not the shortcut.
        let mut m = torture();
        m.set_updated("changed");
        m.set_updated("2026-11-25T20:26:48.518576");
        assert!(m.is_edited());
        assert_eq!(m.to_string(), TORTURE);
    }

    #[test]
    fn set_updated_changes_one_value_and_keeps_its_comment() {
        let mut m = torture();
        m.set_updated("2026-12-01T00:00:00.000001");
        assert_eq!(
            m.to_string(),
            replaced(
                TORTURE,
                "updated = \"2026-11-25T20:26:48.518576\"  # rewritten",
                "updated = \"2026-12-01T00:00:00.000001\"  # rewritten"
            )
        );
    }

    #[test]
    fn field_setters_touch_only_their_lines() {
        let mut m = torture();
        {
            let mut a = m.artifact_mut("my-skill", ArtifactType::Skill).unwrap();
            a.set_resolved_sha(Some("ffffffffffffffffffffffffffffffffffffffff"));
            a.set_version_spec(None);
            a.set_string("skillwal_source", "/home/me/src").unwrap();
            a.set_string("skillwal_ref", "main").unwrap();
            assert_eq!(a.get_string("skillwal_ref"), Some("main"));
            assert_eq!(a.get_string("origin"), Some("github"));
        }
        {
            let mut c = m.artifact_mut("cmd-one", ArtifactType::Command).unwrap();
            c.set_upstream(Some("https://example.org/u"));
            c.set_last_updated(Some("2026-12-01T00:00:00.000000"));
            c.set_tags(&["t".into()]);
            c.set_origin(Origin::Marketplace);
        }
        let mut expected = replaced(
            TORTURE,
            "resolved_sha = \"0123456789abcdef0123456789abcdef01234567\"   # pinned",
            "resolved_sha = \"ffffffffffffffffffffffffffffffffffffffff\"   # pinned",
        );
        expected = replaced(&expected, "version_spec = \"v1.0.0\"\n", "");
        expected = replaced(
            &expected,
            "skillwal_source = \"https://git.example.org/skills.git\"\nskillwal_pins = [1, 2, 3]\n",
            "skillwal_source = \"/home/me/src\"\nskillwal_pins = [1, 2, 3]\nskillwal_ref = \"main\"\n",
        );
        expected = replaced(
            &expected,
            "origin=\"local\"\nadded=\"2026-11-25T20:28:00.000002\"\n",
            "origin=\"marketplace\"\nadded=\"2026-11-25T20:28:00.000002\"\n\
             upstream = \"https://example.org/u\"\n\
             last_updated = \"2026-12-01T00:00:00.000000\"\n\
             tags = [\n    \"t\",\n]\n",
        );
        assert_eq!(m.to_string(), expected);
    }

    #[test]
    fn generic_string_fields() {
        let mut m = torture();
        let mut a = m.artifact_mut("my-skill", ArtifactType::Skill).unwrap();
        assert_eq!(
            a.remove_string("skillwal_source").unwrap().as_deref(),
            Some("https://git.example.org/skills.git")
        );
        assert_eq!(a.remove_string("skillwal_source").unwrap(), None);
        assert!(matches!(
            a.remove_string("skillwal_pins"),
            Err(Error::InvalidValue { .. })
        ));
        for reserved in ["name", "type", "path", "origin", "tags", "metadata", "uuid"] {
            assert!(matches!(
                a.set_string(reserved, "x"),
                Err(Error::ReservedField { .. })
            ));
        }
        assert!(a.set_string("", "x").is_err());
        assert_eq!(
            m.to_string(),
            replaced(
                TORTURE,
                "skillwal_source = \"https://git.example.org/skills.git\"\n",
                ""
            )
        );
    }

    fn helper_agent() -> Artifact {
        let mut a = Artifact::new(
            "helper",
            ArtifactType::Agent,
            Origin::Github,
            "2026-12-01T10:00:00.000000",
        )
        .unwrap();
        a.upstream = Some("https://github.com/u/r/tree/abc/agents/helper.md".into());
        a.version_spec = Some("latest".into());
        a.resolved_sha = Some("abc".into());
        a.tags = vec!["ops".into()];
        a.metadata
            .insert("description".into(), "Helps \"a lot\"".into());
        a.extra
            .insert("skillwal_source".into(), "git+ssh://h/x.git".into());
        a
    }

    const HELPER_TEXT: &str = "[[artifacts]]
name = \"helper\"
type = \"agent\"
path = \"agents/helper.md\"
origin = \"github\"
added = \"2026-12-01T10:00:00.000000\"
upstream = \"https://github.com/u/r/tree/abc/agents/helper.md\"
version_spec = \"latest\"
resolved_sha = \"abc\"
tags = [
    \"ops\",
]
skillwal_source = \"git+ssh://h/x.git\"

[artifacts.metadata]
description = \"Helps \\\"a lot\\\"\"
";

    #[test]
    fn add_goes_after_the_last_artifact_in_skillmeat_order() {
        let mut m = torture();
        m.add_artifact(&helper_agent()).unwrap();
        let expected = replaced(
            TORTURE,
            "\n[[mcp_servers]]",
            &format!("\n{HELPER_TEXT}\n[[mcp_servers]]"),
        );
        assert_eq!(m.to_string(), expected);
        let read = m.manifest().unwrap();
        assert_eq!(
            read.artifact("helper", ArtifactType::Agent),
            Some(&helper_agent())
        );
        assert!(matches!(
            m.add_artifact(&helper_agent()),
            Err(Error::AlreadyExists { item, .. }) if item == "helper::agent"
        ));
    }

    #[test]
    fn add_to_a_new_collection_matches_skillmeat_layout() {
        let mut m =
            ManifestEditor::new_collection("default", "2026-11-25T21:08:40.959035", "c").unwrap();
        assert_eq!(
            m.to_string(),
            SKILLMEAT_INIT.replace("40.959052", "40.959035")
        );
        let mut skill = Artifact::new(
            "my-skill",
            ArtifactType::Skill,
            Origin::Local,
            "2026-11-25T21:08:47.641652",
        )
        .unwrap();
        skill.tags = vec!["a".into(), "b".into()];
        skill
            .metadata
            .insert("description".into(), "A test skill".into());
        let mut extra = toml::Table::new();
        extra.insert("name".into(), "my-skill".into());
        skill.metadata.insert("extra".into(), extra.into());
        m.add_artifact(&skill).unwrap();
        m.set_updated("2026-11-25T21:08:52.308841");
        // Byte-identical to what SkillMeat 0.74 wrote after `skillmeat add skill`.
        assert_eq!(
            m.to_string(),
            "[collection]
name = \"default\"
version = \"1.0.0\"
created = \"2026-11-25T21:08:40.959035\"
updated = \"2026-11-25T21:08:52.308841\"

[[artifacts]]
name = \"my-skill\"
type = \"skill\"
path = \"skills/my-skill\"
origin = \"local\"
added = \"2026-11-25T21:08:47.641652\"
tags = [
    \"a\",
    \"b\",
]

[artifacts.metadata]
description = \"A test skill\"

[artifacts.metadata.extra]
name = \"my-skill\"
"
        );
    }

    #[test]
    fn add_rejects_bad_input() {
        let mut m = torture();
        let mut a = helper_agent();
        a.path = "agents/other.md".into();
        assert!(matches!(
            m.add_artifact(&a),
            Err(Error::InvalidValue { .. })
        ));
        let mut a = helper_agent();
        a.extra.insert("resolved_sha".into(), "x".into());
        assert!(matches!(
            m.add_artifact(&a),
            Err(Error::ReservedField { .. })
        ));
        let mut a = helper_agent();
        a.name = "../x".into();
        assert!(matches!(m.add_artifact(&a), Err(Error::InvalidName { .. })));
        assert!(!m.is_edited());
        assert!(ManifestEditor::new_collection("a/b", "t", "c").is_err());
    }

    #[test]
    fn remove_takes_the_table_its_subtables_and_its_comment() {
        let mut m = torture();
        m.remove_artifact("my-skill", ArtifactType::Skill).unwrap();
        let start = TORTURE.find("\n# The first artifact.").unwrap();
        let end = TORTURE.find("\n[[artifacts]]\nname = \"hooky\"").unwrap();
        let expected = format!("{}{}", &TORTURE[..start], &TORTURE[end..]);
        assert_eq!(m.to_string(), expected);
        assert!(matches!(
            m.remove_artifact("my-skill", ArtifactType::Skill),
            Err(Error::NotFound { item, .. }) if item == "my-skill::skill"
        ));
        // The unsupported artifact stays.
        assert_eq!(m.manifest().unwrap().unsupported.len(), 1);
    }

    #[test]
    fn remove_then_add_round_trips_through_the_typed_view() {
        let mut m = torture();
        let before = m.manifest().unwrap();
        let skill = before
            .artifact("my-skill", ArtifactType::Skill)
            .unwrap()
            .clone();
        m.remove_artifact("my-skill", ArtifactType::Skill).unwrap();
        m.add_artifact(&skill).unwrap();
        let after = m.manifest().unwrap();
        assert_eq!(
            after.artifact("my-skill", ArtifactType::Skill),
            Some(&skill)
        );
        // Fields skillwal does not type (discovered_at, uuid, skillwal_pins) are lost by a
        // remove + add; update_artifact is the way to keep them.
        assert!(!m.to_string().contains("discovered_at"));
    }

    #[test]
    fn update_artifact_changes_only_differences() {
        let mut m = torture();
        let mut skill = m
            .manifest()
            .unwrap()
            .artifact("my-skill", ArtifactType::Skill)
            .unwrap()
            .clone();
        m.update_artifact(&skill).unwrap();
        assert!(!m.is_edited(), "updating to the same value is not an edit");
        skill.resolved_version = Some("v1.1.0".into());
        skill.extra.clear();
        skill.metadata.insert("description".into(), "Better".into());
        m.update_artifact(&skill).unwrap();
        let mut expected = replaced(
            TORTURE,
            "resolved_version = \"v1.0.0\"",
            "resolved_version = \"v1.1.0\"",
        );
        expected = replaced(
            &expected,
            "skillwal_source = \"https://git.example.org/skills.git\"\n",
            "",
        );
        // The metadata table is rewritten as a whole, in SkillMeat's layout, in place.
        expected = replaced(
            &expected,
            "[artifacts.metadata]\ndescription = \"A test skill\"\ntitle = 'Literal title'\n\n[artifacts.metadata.extra]\nfrontmatter = { name = \"my-skill\" }\n",
            "[artifacts.metadata]\ndescription = \"Better\"\ntitle = \"Literal title\"\n\n[artifacts.metadata.extra.frontmatter]\nname = \"my-skill\"\n",
        );
        assert_eq!(m.to_string(), expected);
        assert_eq!(
            m.manifest()
                .unwrap()
                .artifact("my-skill", ArtifactType::Skill),
            Some(&skill)
        );
    }

    #[test]
    fn set_metadata_empty_removes_the_table() {
        let mut m = torture();
        m.set_metadata("my-skill", ArtifactType::Skill, &toml::Table::new())
            .unwrap();
        let start = TORTURE.find("\n[artifacts.metadata]").unwrap();
        let end = TORTURE.find("\n[[artifacts]]\nname = \"hooky\"").unwrap();
        assert_eq!(
            m.to_string(),
            format!("{}{}", &TORTURE[..start], &TORTURE[end..])
        );
    }

    #[test]
    fn inline_artifact_arrays_are_converted_on_edit() {
        let text = "artifacts = [{ name = \"a\", type = \"agent\", path = \"agents/a.md\", origin = \"local\", added = \"t\" }]\n\n[collection]\nname = \"c\"\nversion = \"1.0.0\"\ncreated = \"t\"\nupdated = \"t\"\n";
        let mut m = ManifestEditor::parse(text, "c").unwrap();
        m.artifact_mut("a", ArtifactType::Agent)
            .unwrap()
            .set_upstream(Some("u"));
        assert_eq!(
            m.to_string(),
            "[collection]\nname = \"c\"\nversion = \"1.0.0\"\ncreated = \"t\"\nupdated = \"t\"\n\n[[artifacts]]\nname = \"a\"\ntype = \"agent\"\npath = \"agents/a.md\"\norigin = \"local\"\nadded = \"t\"\nupstream = \"u\"\n"
        );
        // Removing from an inline array edits it in place.
        let mut m = ManifestEditor::parse(text, "c").unwrap();
        m.remove_artifact("a", ArtifactType::Agent).unwrap();
        assert!(m.to_string().starts_with("artifacts = []\n"), "{m}");
    }

    #[test]
    fn crlf_documents_stay_crlf() {
        let text = SKILLMEAT_INIT.replace('\n', "\r\n");
        let mut m = ManifestEditor::parse(&text, "c").unwrap();
        assert_eq!(m.to_string(), text);
        m.set_updated("new");
        assert_eq!(
            m.to_string(),
            text.replace("2026-11-25T21:08:40.959052", "new")
        );
    }

    #[test]
    fn not_found_errors_name_the_item() {
        let mut m = torture();
        let err = m.artifact_mut("nope", ArtifactType::Skill).unwrap_err();
        assert_eq!(err.to_string(), "collection.toml: no nope::skill here");
        // A hook cannot be addressed as a skill.
        assert!(m.artifact_mut("hooky", ArtifactType::Skill).is_err());
    }
}

mod lock {
    use super::*;

    fn lock() -> LockEditor {
        LockEditor::parse(LOCK, "collection.lock").unwrap()
    }

    #[test]
    fn reads_entries_and_lists_unmanaged_types() {
        let l = Lock::parse(LOCK, "collection.lock").unwrap();
        assert_eq!(l.version.as_deref(), Some("1.0.0"));
        assert_eq!(l.entries.len(), 2);
        let cmd = l.entry("mycmd", ArtifactType::Command).unwrap();
        assert_eq!(cmd.upstream.as_deref(), Some("https://github.com/u/r"));
        assert_eq!(cmd.fetched, "2026-11-25T21:08:52.310288");
        assert_eq!(l.unsupported[0].type_name, "hook");
        assert_eq!(l.unsupported[0].line, 10);
    }

    #[test]
    fn empty_and_missing_tables_are_no_entries() {
        for text in [
            "",
            "[lock]\nversion = \"1.0.0\"\n",
            "[lock]\n[lock.entries]\n",
        ] {
            assert!(
                Lock::parse(text, "l").unwrap().entries.is_empty(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn new_empty_is_what_skillmeat_init_writes() {
        let l = LockEditor::new_empty("l");
        assert_eq!(
            l.to_string(),
            "[lock]\nversion = \"1.0.0\"\n\n[lock.entries]\n"
        );
    }

    #[test]
    fn schema_errors_are_located() {
        let bad_hash = LOCK.replace("2171366738b1ca17", "2171366738B1CA17");
        let (line, column, _) = schema_error(Lock::parse(&bad_hash, "l"));
        assert_eq!((line, column), (15, 16));
        let bad_key = "[lock.entries.\"no-separator\"]\ncontent_hash = \"x\"\n";
        let (line, column, message) = schema_error(Lock::parse(bad_key, "l"));
        assert_eq!((line, column), (1, 1));
        assert!(message.contains("<name>::<type>"), "{message}");
        let missing = format!("[lock.entries.\"a::skill\"]\ncontent_hash = \"{HASH_A}\"\n");
        let (line, _, message) = schema_error(Lock::parse(&missing, "l"));
        assert_eq!(line, 1);
        assert!(message.contains("missing field `fetched`"), "{message}");
        let bad_name = "[lock.entries.\".x::skill\"]\n";
        assert!(
            schema_error(Lock::parse(bad_name, "l"))
                .2
                .contains("invalid name")
        );
    }

    #[test]
    fn unedited_round_trip_is_byte_for_byte() {
        assert_eq!(lock().to_string(), LOCK);
    }

    #[test]
    fn add_goes_after_the_last_entry() {
        let mut l = lock();
        let mut entry = LockEntry::new("new", ArtifactType::Agent, HASH_A, "2026-12-01").unwrap();
        entry.resolved_sha = Some("abc".into());
        l.add_entry(&entry).unwrap();
        let expected = replaced(
            LOCK,
            "\n[extra_table]",
            &format!(
                "\n[lock.entries.\"new::agent\"]\ncontent_hash = \"{HASH_A}\"\nfetched = \"2026-12-01\"\nresolved_sha = \"abc\"\n\n[extra_table]"
            ),
        );
        assert_eq!(l.to_string(), expected);
        assert!(matches!(
            l.add_entry(&entry),
            Err(Error::AlreadyExists { .. })
        ));
        assert_eq!(
            l.lock().unwrap().entry("new", ArtifactType::Agent),
            Some(&entry)
        );
    }

    #[test]
    fn entry_setters_touch_only_their_lines() {
        let mut l = lock();
        {
            let mut e = l.entry_mut("my-skill", ArtifactType::Skill).unwrap();
            e.set_content_hash(HASH_B).unwrap();
            e.set_upstream(Some("https://github.com/x/y"));
            assert!(matches!(
                e.set_content_hash("nothex"),
                Err(Error::InvalidValue { .. })
            ));
        }
        l.entry_mut("mycmd", ArtifactType::Command)
            .unwrap()
            .set_upstream(None);
        let mut expected = replaced(
            LOCK,
            "content_hash = \"e169454b2365a3752064ccec1283dc851333e71562c25fb2ba45a2e11da3f21a\"  # from disk\nfetched = \"2026-11-25T21:08:48.090701\"\n",
            &format!(
                "content_hash = \"{HASH_B}\"  # from disk\nfetched = \"2026-11-25T21:08:48.090701\"\nupstream = \"https://github.com/x/y\"\n"
            ),
        );
        expected = replaced(&expected, "upstream = \"https://github.com/u/r\"\n", "");
        assert_eq!(l.to_string(), expected);
    }

    #[test]
    fn set_entry_adds_or_updates_and_keeps_unknown_fields() {
        let mut l = lock();
        let mut entry = l
            .lock()
            .unwrap()
            .entry("my-skill", ArtifactType::Skill)
            .unwrap()
            .clone();
        l.set_entry(&entry).unwrap();
        assert!(!l.is_edited());
        entry.fetched = "2027-01-01T00:00:00.000000".into();
        l.set_entry(&entry).unwrap();
        assert_eq!(
            l.to_string(),
            replaced(
                LOCK,
                "fetched = \"2026-11-25T21:08:48.090701\"",
                "fetched = \"2027-01-01T00:00:00.000000\""
            )
        );
        assert!(l.to_string().contains("recipe_hash = \"abc\""));
        let fresh = LockEntry::new("fresh", ArtifactType::Skill, HASH_B, "t").unwrap();
        l.set_entry(&fresh).unwrap();
        assert!(l.contains_entry("fresh", ArtifactType::Skill));
    }

    #[test]
    fn remove_entry() {
        let mut l = lock();
        l.remove_entry("hooky", ArtifactType::Skill).unwrap_err();
        l.remove_entry("mycmd", ArtifactType::Command).unwrap();
        let start = LOCK.find("\n[lock.entries.\"mycmd::command\"]").unwrap();
        let end = LOCK.find("\n[extra_table]").unwrap();
        assert_eq!(l.to_string(), format!("{}{}", &LOCK[..start], &LOCK[end..]));
        assert!(matches!(
            l.remove_entry("mycmd", ArtifactType::Command),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn add_to_the_init_lock_then_remove_everything() {
        let mut l = LockEditor::new_empty("l");
        let entry = LockEntry::new("my-skill", ArtifactType::Skill, HASH_A, "t").unwrap();
        l.add_entry(&entry).unwrap();
        assert_eq!(
            l.to_string(),
            format!(
                "[lock]\nversion = \"1.0.0\"\n\n[lock.entries]\n\n[lock.entries.\"my-skill::skill\"]\ncontent_hash = \"{HASH_A}\"\nfetched = \"t\"\n"
            )
        );
        l.remove_entry("my-skill", ArtifactType::Skill).unwrap();
        assert_eq!(
            l.to_string(),
            "[lock]\nversion = \"1.0.0\"\n\n[lock.entries]\n"
        );
    }

    #[test]
    fn add_to_an_empty_document_creates_the_lock_table() {
        let mut l = LockEditor::parse("", "l").unwrap();
        let entry = LockEntry::new("a", ArtifactType::Command, HASH_A, "t").unwrap();
        l.add_entry(&entry).unwrap();
        assert_eq!(
            l.to_string(),
            format!(
                "[lock]\nversion = \"1.0.0\"\n\n[lock.entries.\"a::command\"]\ncontent_hash = \"{HASH_A}\"\nfetched = \"t\"\n"
            )
        );
        assert_eq!(l.lock().unwrap().entries, [entry]);
    }

    #[test]
    fn inline_entries_are_edited_in_place() {
        let text = format!(
            "[lock.entries]\n\"a::skill\" = {{ content_hash = \"{HASH_A}\", fetched = \"t\" }}\n"
        );
        let mut l = LockEditor::parse(&text, "l").unwrap();
        l.entry_mut("a", ArtifactType::Skill)
            .unwrap()
            .set_resolved_sha(Some("s"));
        assert_eq!(
            l.to_string(),
            format!(
                "[lock.entries]\n\"a::skill\" = {{ content_hash = \"{HASH_A}\", fetched = \"t\", resolved_sha = \"s\" }}\n"
            )
        );
    }

    #[test]
    fn lock_entry_new_validates() {
        assert!(LockEntry::new("a", ArtifactType::Skill, "short", "t").is_err());
        assert!(LockEntry::new("a/b", ArtifactType::Skill, HASH_A, "t").is_err());
    }
}

mod config {
    use super::*;

    const REAL: &str = "[settings]
default-collection = \"default\"
update-strategy = \"prompt\"

[analytics]
enabled = true
retention-days = 90

[artifact_search]
indexing_mode = \"opt_in\"
";

    #[test]
    fn default_config_is_what_skillmeat_writes() {
        assert_eq!(DEFAULT_CONFIG_TOML, REAL);
        assert_eq!(ConfigEditor::new_default("c").to_string(), REAL);
    }

    #[test]
    fn reads_settings() {
        let c = Config::parse(REAL, "c").unwrap();
        assert_eq!(c.default_collection.as_deref(), Some("default"));
        assert_eq!(c.update_strategy.as_deref(), Some("prompt"));
    }

    #[test]
    fn set_default_collection_preserves_everything_else() {
        let text = "# my config\n[settings]\nupdate-strategy = \"local\" # keep\n\n[analytics]\nenabled = false\n\n[weird]\nx = [1, 2]\n";
        let mut e = ConfigEditor::parse(text, "c").unwrap();
        assert!(e.set_default_collection_if_missing("work").unwrap());
        assert_eq!(
            e.to_string(),
            replaced(
                text,
                "[settings]\n",
                "[settings]\ndefault-collection = \"work\"\n"
            )
        );
        assert!(!e.set_default_collection_if_missing("other").unwrap());
        e.set_default_collection("other").unwrap();
        assert_eq!(e.config().unwrap().active_collection(), "other");
        assert!(e.set_default_collection("../x").is_err());
    }

    #[test]
    fn unedited_config_round_trips() {
        let text = "[settings] # c\n  default-collection='x'\n[analytics]\n";
        let mut e = ConfigEditor::parse(text, "c").unwrap();
        assert!(!e.set_default_collection_if_missing("y").unwrap());
        assert_eq!(e.to_string(), text);
        e.set_default_collection("x").unwrap();
        assert!(!e.is_edited());
    }
}

mod hash {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::fs;
    use std::path::Path;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    /// The tree `skillmeat add skill ./my-skill` hashed in the reference run.
    fn skillmeat_tree(root: &Path) {
        write(
            root,
            "SKILL.md",
            b"---\nname: my-skill\ndescription: A test skill\nauthor: Me\ntags: [a, b]\n---\n# hi\n",
        );
        write(root, "sub/deeper/a.txt", b"x\n");
        write(root, "sub/b.txt", b"y\n");
        write(root, "sub.txt", b"z\n");
    }

    #[test]
    fn directory_hash_matches_skillmeat_0_74() {
        let dir = tempfile::tempdir().unwrap();
        skillmeat_tree(dir.path());
        // SkillMeat 0.74 recorded this content_hash for the same files.
        assert_eq!(
            content_hash_dir(dir.path()).unwrap(),
            "e169454b2365a3752064ccec1283dc851333e71562c25fb2ba45a2e11da3f21a"
        );
        assert_eq!(
            content_hash(dir.path(), ArtifactType::Skill).unwrap(),
            "e169454b2365a3752064ccec1283dc851333e71562c25fb2ba45a2e11da3f21a"
        );
    }

    #[test]
    fn file_hash_matches_skillmeat_0_74() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "mycmd.md",
            b"---\ndescription: cmd\n---\nbody\n",
        );
        let path = dir.path().join("mycmd.md");
        let expected = "2171366738b1ca17ef120208b5a43b7dbf4d3d45dcd2d3acf7c949f95bc502f9";
        assert_eq!(content_hash_file(&path).unwrap(), expected);
        assert_eq!(
            content_hash(&path, ArtifactType::Command).unwrap(),
            expected
        );
    }

    #[test]
    fn directory_hash_is_the_concatenation_in_component_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "b.txt", b"B");
        write(root, "b/c.txt", b"C");
        write(root, "a.txt", b"A");
        write(root, ".hidden", b"H");
        write(root, "é/ü.md", b"U");
        fs::create_dir_all(root.join("empty/dir")).unwrap();
        // Component order: "b" < "b.txt", so b/c.txt precedes b.txt (a string sort would
        // put b.txt first because '.' < '/'). Hidden files count; empty directories do not.
        let concatenation = b".hiddenHa.txtAb/c.txtCb.txtB\xc3\xa9/\xc3\xbc.mdU";
        let expected = hex(&Sha256::digest(concatenation));
        assert_eq!(content_hash_dir(root).unwrap(), expected);
        // SkillMeat 0.74's own `compute_content_hash` gives the same for the same tree.
        assert_eq!(
            expected,
            "e8de4a74ff04a2d6d79af72aa9202918922c1dc1f857fac1bc6740bec0a51b21"
        );
    }

    #[test]
    fn file_hash_is_plain_sha256() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "f", b"abc");
        assert_eq!(
            content_hash_file(&dir.path().join("f")).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn content_changes_and_renames_change_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        skillmeat_tree(dir.path());
        let original = content_hash_dir(dir.path()).unwrap();
        write(dir.path(), "sub.txt", b"Z\n");
        assert_ne!(content_hash_dir(dir.path()).unwrap(), original);
        write(dir.path(), "sub.txt", b"z\n");
        assert_eq!(content_hash_dir(dir.path()).unwrap(), original);
        fs::rename(dir.path().join("sub.txt"), dir.path().join("sub2.txt")).unwrap();
        assert_ne!(content_hash_dir(dir.path()).unwrap(), original);
    }

    /// Links below the root are read as SkillMeat reads them (`sorted(rglob)` +
    /// `is_file()`): a link to a file is that file under the link's path, wherever it points;
    /// a link to a directory and a dangling link count nothing. The root itself, or the file
    /// of a command, may not be a link.
    #[cfg(unix)]
    #[test]
    fn symlinks_are_read_as_skillmeat_reads_them() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.md");
        fs::write(&outside, b"outside\n").unwrap();
        let root = dir.path().join("skill");
        write(&root, "SKILL.md", b"x");
        write(&root, "docs/a.md", b"a");
        symlink("SKILL.md", root.join("link.md")).unwrap();
        symlink("docs", root.join("docs-link")).unwrap();
        symlink("nowhere", root.join("dangling")).unwrap();
        symlink(&outside, root.join("abs.md")).unwrap();
        symlink("link.md", root.join("chain.md")).unwrap();
        // The same files with every link to a file replaced by a copy of what it reads,
        // and the others gone.
        let copy = dir.path().join("copy");
        write(&copy, "SKILL.md", b"x");
        write(&copy, "docs/a.md", b"a");
        write(&copy, "link.md", b"x");
        write(&copy, "abs.md", b"outside\n");
        write(&copy, "chain.md", b"x");
        assert_eq!(
            content_hash_dir(&root).unwrap(),
            content_hash_dir(&copy).unwrap()
        );
        let linked_root = dir.path().join("linked");
        symlink(&root, &linked_root).unwrap();
        assert!(matches!(
            content_hash_dir(&linked_root),
            Err(Error::Symlink { .. })
        ));
        assert!(matches!(
            content_hash_file(&root.join("link.md")),
            Err(Error::Symlink { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(matches!(
            content_hash_dir(dir.path()),
            Err(Error::NotRegularFile { .. })
        ));
        assert!(matches!(
            content_hash_file(&socket),
            Err(Error::NotRegularFile { .. })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn non_utf8_names_are_rejected() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = OsStr::from_bytes(b"bad\xff.md");
        fs::write(dir.path().join(name), b"x").unwrap();
        let err = content_hash_dir(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NonUtf8Name { .. }), "{err:?}");
    }

    #[test]
    fn missing_paths_are_io_errors_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = content_hash_dir(&missing).unwrap_err();
        assert!(matches!(&err, Error::Io(e) if e.path == missing));
        assert!(err.to_string().starts_with(&missing.display().to_string()));
    }
}

mod diff {
    use super::*;

    fn change(item: &str, field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
        FieldChange {
            item: item.into(),
            field: field.into(),
            before: before.map(Into::into),
            after: after.map(Into::into),
        }
    }

    #[test]
    fn no_change_no_diff_and_formatting_is_not_a_change() {
        let a = torture();
        assert_eq!(diff_manifests(Some(&a), Some(&a)), []);
        let reformatted = TORTURE
            .replace(
                "title = 'Literal title'",
                "title = \"Literal title\" # now basic",
            )
            .replace("name=\"cmd-one\"", "name = 'cmd-one'");
        let b = ManifestEditor::parse(&reformatted, "c").unwrap();
        assert_eq!(diff_manifests(Some(&a), Some(&b)), []);
    }

    #[test]
    fn field_updates() {
        let before = torture();
        let mut after = torture();
        after.set_updated("2026-12-01T00:00:00.000000");
        {
            let mut a = after.artifact_mut("my-skill", ArtifactType::Skill).unwrap();
            a.set_resolved_sha(Some("fff"));
            a.set_version_spec(None);
            a.set_tags(&["z".into()]);
            a.set_string("skillwal_ref", "main").unwrap();
        }
        let mut metadata = toml::Table::new();
        metadata.insert("description".into(), "d".into());
        after
            .set_metadata("cmd-one", ArtifactType::Command, &metadata)
            .unwrap();
        assert_eq!(
            diff_manifests(Some(&before), Some(&after)),
            [
                change(
                    "collection",
                    "updated",
                    Some("\"2026-11-25T20:26:48.518576\""),
                    Some("\"2026-12-01T00:00:00.000000\"")
                ),
                change("my-skill::skill", "version_spec", Some("\"v1.0.0\""), None),
                change(
                    "my-skill::skill",
                    "resolved_sha",
                    Some("\"0123456789abcdef0123456789abcdef01234567\""),
                    Some("\"fff\"")
                ),
                change(
                    "my-skill::skill",
                    "tags",
                    Some("[\"x\", \"y\"]"),
                    Some("[\"z\"]")
                ),
                change("my-skill::skill", "skillwal_ref", None, Some("\"main\"")),
                change(
                    "cmd-one::command",
                    "metadata.description",
                    None,
                    Some("\"d\"")
                ),
            ]
        );
        assert_eq!(after.changes(), diff_manifests(Some(&before), Some(&after)));
    }

    #[test]
    fn added_and_removed_artifacts_list_every_field() {
        let before = torture();
        let mut after = torture();
        after
            .remove_artifact("cmd-one", ArtifactType::Command)
            .unwrap();
        let mut agent = Artifact::new("a", ArtifactType::Agent, Origin::Local, "2026").unwrap();
        agent.metadata.insert("k".into(), toml::Value::Integer(1));
        after.add_artifact(&agent).unwrap();
        assert_eq!(
            diff_manifests(Some(&before), Some(&after)),
            [
                change("cmd-one::command", "name", Some("\"cmd-one\""), None),
                change("cmd-one::command", "type", Some("\"command\""), None),
                change(
                    "cmd-one::command",
                    "path",
                    Some("\"commands/cmd-one.md\""),
                    None
                ),
                change("cmd-one::command", "origin", Some("\"local\""), None),
                change(
                    "cmd-one::command",
                    "added",
                    Some("\"2026-11-25T20:28:00.000002\""),
                    None
                ),
                change("a::agent", "name", None, Some("\"a\"")),
                change("a::agent", "type", None, Some("\"agent\"")),
                change("a::agent", "path", None, Some("\"agents/a.md\"")),
                change("a::agent", "origin", None, Some("\"local\"")),
                change("a::agent", "added", None, Some("\"2026\"")),
                change("a::agent", "metadata.k", None, Some("1")),
            ]
        );
        assert_eq!(after.changes(), diff_manifests(Some(&before), Some(&after)));
    }

    #[test]
    fn new_collection_against_nothing() {
        let m = ManifestEditor::new_collection("c", "t", "m").unwrap();
        let changes = diff_manifests(None, Some(&m));
        assert_eq!(
            changes,
            [
                change("collection", "name", None, Some("\"c\"")),
                change("collection", "version", None, Some("\"1.0.0\"")),
                change("collection", "created", None, Some("\"t\"")),
                change("collection", "updated", None, Some("\"t\"")),
            ]
        );
        assert_eq!(changes[0].to_string(), "collection name: (absent) -> \"c\"");
    }

    #[test]
    fn unknown_tables_are_items_too() {
        let before = torture();
        let text = TORTURE.replace("color = \"#ff0000\"", "color = \"#00ff00\"");
        let after = ManifestEditor::parse(&text, "c").unwrap();
        assert_eq!(
            diff_manifests(Some(&before), Some(&after)),
            [change(
                "tag_definitions[0]",
                "color",
                Some("\"#ff0000\""),
                Some("\"#00ff00\"")
            )]
        );
    }

    #[test]
    fn lock_diffs() {
        let before = LockEditor::parse(LOCK, "l").unwrap();
        let mut after = LockEditor::parse(LOCK, "l").unwrap();
        after
            .entry_mut("my-skill", ArtifactType::Skill)
            .unwrap()
            .set_content_hash(HASH_B)
            .unwrap();
        after.remove_entry("mycmd", ArtifactType::Command).unwrap();
        let new = LockEntry::new("n", ArtifactType::Skill, HASH_A, "t").unwrap();
        after.add_entry(&new).unwrap();
        assert_eq!(
            diff_locks(Some(&before), Some(&after)),
            [
                change(
                    "my-skill::skill",
                    "content_hash",
                    Some("\"e169454b2365a3752064ccec1283dc851333e71562c25fb2ba45a2e11da3f21a\""),
                    Some(&format!("\"{HASH_B}\""))
                ),
                change(
                    "mycmd::command",
                    "content_hash",
                    Some("\"2171366738b1ca17ef120208b5a43b7dbf4d3d45dcd2d3acf7c949f95bc502f9\""),
                    None
                ),
                change(
                    "mycmd::command",
                    "fetched",
                    Some("\"2026-11-25T21:08:52.310288\""),
                    None
                ),
                change(
                    "mycmd::command",
                    "upstream",
                    Some("\"https://github.com/u/r\""),
                    None
                ),
                change(
                    "n::skill",
                    "content_hash",
                    None,
                    Some(&format!("\"{HASH_A}\""))
                ),
                change("n::skill", "fetched", None, Some("\"t\"")),
            ]
        );
        assert_eq!(after.changes(), diff_locks(Some(&before), Some(&after)));
        let empty = LockEditor::new_empty("l");
        assert_eq!(
            diff_locks(None, Some(&empty)),
            [change("lock", "version", None, Some("\"1.0.0\""))]
        );
    }
}

mod changes {
    //! `changes()` (what the editors saved) against the diff of whole documents.
    use super::*;

    #[test]
    fn nothing_edited_or_edits_to_equal_values_are_no_changes() {
        let mut m = torture();
        assert_eq!(m.changes(), []);
        m.set_updated("2026-11-25T20:26:48.518576");
        m.artifact_mut("my-skill", ArtifactType::Skill)
            .unwrap()
            .set_version_spec(Some("v1.0.0"));
        assert!(!m.is_edited());
        assert_eq!(m.changes(), []);
    }

    #[test]
    fn removed_then_added_again_is_one_item_in_its_old_place() {
        let before = torture();
        let mut m = torture();
        let mut skill = m
            .manifest()
            .unwrap()
            .artifact("my-skill", ArtifactType::Skill)
            .unwrap()
            .clone();
        m.remove_artifact("my-skill", ArtifactType::Skill).unwrap();
        m.artifact_mut("cmd-one", ArtifactType::Command)
            .unwrap()
            .set_upstream(Some("u"));
        skill.resolved_version = Some("v2".into());
        m.add_artifact(&skill).unwrap();
        m.set_updated("t2");
        let changes = m.changes();
        assert_eq!(changes, diff_manifests(Some(&before), Some(&m)));
        let items: Vec<&str> = changes.iter().map(|c| c.item.as_str()).collect();
        assert_eq!(items[0], "collection");
        assert_eq!(items[1], "my-skill::skill");
        assert_eq!(items.last(), Some(&"cmd-one::command"));
    }

    #[test]
    fn items_keep_their_original_order_after_removals_and_adds_again() {
        let mut m = torture();
        for name in ["a0", "a1", "a2", "a3"] {
            m.add_artifact(&Artifact::new(name, ArtifactType::Skill, Origin::Local, "t").unwrap())
                .unwrap();
        }
        m.rebase(m.to_string());
        let before = m.clone();
        let skill = |m: &mut ManifestEditor, name: &str, upstream: &str| {
            m.artifact_mut(name, ArtifactType::Skill)
                .unwrap()
                .set_upstream(Some(upstream));
        };
        skill(&mut m, "a3", "u3");
        m.remove_artifact("a0", ArtifactType::Skill).unwrap();
        m.add_artifact(&Artifact::new("a0", ArtifactType::Skill, Origin::Local, "t2").unwrap())
            .unwrap();
        m.remove_artifact("a0", ArtifactType::Skill).unwrap();
        skill(&mut m, "a2", "u2");
        let changes = m.changes();
        assert_eq!(changes, diff_manifests(Some(&before), Some(&m)));
        let mut items: Vec<&str> = changes.iter().map(|c| c.item.as_str()).collect();
        items.dedup();
        assert_eq!(items, ["a0::skill", "a2::skill", "a3::skill"]);
    }

    #[test]
    fn a_lock_without_its_table_gets_it_first() {
        let text = "[extra]\nk = 1\n";
        let before = LockEditor::parse(text, "l").unwrap();
        let mut l = LockEditor::parse(text, "l").unwrap();
        l.add_entry(&LockEntry::new("b", ArtifactType::Skill, HASH_A, "t").unwrap())
            .unwrap();
        l.add_entry(&LockEntry::new("a", ArtifactType::Agent, HASH_B, "t").unwrap())
            .unwrap();
        let changes = l.changes();
        assert_eq!(changes, diff_locks(Some(&before), Some(&l)));
        assert_eq!(
            changes[0].to_string(),
            "lock version: (absent) -> \"1.0.0\""
        );
        assert_eq!(changes[1].item, "b::skill");
    }

    #[test]
    fn changes_count_from_the_last_rebase_and_discard_goes_back_to_it() {
        let mut m = torture();
        m.set_updated("t2");
        m.remove_artifact("cmd-one", ArtifactType::Command).unwrap();
        let text = m.to_string();
        m.rebase(text.clone());
        assert!(!m.is_edited());
        assert_eq!(m.changes(), []);
        assert_eq!(m.to_string(), text);
        assert_eq!(*m.manifest().unwrap(), Manifest::parse(&text, "c").unwrap());
        let base = ManifestEditor::parse(&text, "c").unwrap();
        m.artifact_mut("my-skill", ArtifactType::Skill)
            .unwrap()
            .set_resolved_sha(None);
        assert_eq!(m.changes(), diff_manifests(Some(&base), Some(&m)));
        assert_eq!(m.changes().len(), 1);
        m.discard_edits();
        assert_eq!(m.to_string(), text);
        assert_eq!(m.changes(), []);
        assert!(
            m.manifest()
                .unwrap()
                .artifact("cmd-one", ArtifactType::Command)
                .is_none()
        );

        let mut l = LockEditor::parse(LOCK, "l").unwrap();
        l.remove_entry("my-skill", ArtifactType::Skill).unwrap();
        let text = l.to_string();
        l.rebase(text.clone());
        assert_eq!(l.changes(), []);
        l.entry_mut("mycmd", ArtifactType::Command)
            .unwrap()
            .set_upstream(None);
        assert_eq!(l.changes().len(), 1);
        l.discard_edits();
        assert_eq!(l.to_string(), text);
        assert_eq!(l.lock().unwrap().entries.len(), 1);
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_][a-zA-Z0-9_ .-]{0,40}"
            .prop_filter("valid", |n| validate_artifact_name(n).is_ok())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any string survives a write and a read: escaping is complete.
        #[test]
        fn any_strings_round_trip(
            name in name(),
            upstream in any::<String>(),
            extra in any::<String>(),
            tags in proptest::collection::vec(any::<String>(), 0..4),
            description in any::<String>(),
        ) {
            let mut m = torture();
            let mut a = Artifact::new(&name, ArtifactType::Skill, Origin::Local, "t").unwrap();
            a.upstream = Some(upstream);
            a.tags = tags;
            a.extra.insert("skillwal_source".into(), extra);
            a.metadata.insert("description".into(), description.into());
            if m.contains_artifact(&name, ArtifactType::Skill) {
                m.remove_artifact(&name, ArtifactType::Skill).unwrap();
            }
            m.add_artifact(&a).unwrap();
            let text = m.to_string();
            let read = Manifest::parse(&text, "c").unwrap();
            prop_assert_eq!(read.artifact(&name, ArtifactType::Skill), Some(&a));
            // Everything else is untouched.
            prop_assert!(text.starts_with(&TORTURE[..TORTURE.find("\n# The first").unwrap()]));
            prop_assert!(text.ends_with("[[tag_definitions]]\nname = \"x\"\ncolor = \"#ff0000\"\n\n# trailing comment\n"));
        }

        /// After any sequence of edits, with or without a rebase on the way, `changes()` is
        /// the diff of the whole documents from the last rebase (or parse) to now.
        #[test]
        fn changes_are_the_diff_of_the_whole_documents(
            ops in proptest::collection::vec((0..6usize, 0..8usize, 0..3usize, any::<u8>()), 1..24),
            rebase_at in 0..24usize,
        ) {
            let names = ["my-skill", "cmd-one", "mycmd", "a0", "a1", "a2", "a3", "n1"];
            // The documents of the tests, with four more skills.
            let mut m = torture();
            let mut l = LockEditor::parse(LOCK, "l").unwrap();
            for name in &names[3..7] {
                m.add_artifact(&Artifact::new(name, ArtifactType::Skill, Origin::Local, "t").unwrap()).unwrap();
                l.add_entry(&LockEntry::new(name, ArtifactType::Skill, HASH_A, "t").unwrap()).unwrap();
            }
            m.rebase(m.to_string());
            l.rebase(l.to_string());
            let mut m_base = ManifestEditor::parse(&m.to_string(), "c").unwrap();
            let mut l_base = LockEditor::parse(&l.to_string(), "l").unwrap();
            for (i, (op, n, t, v)) in ops.into_iter().enumerate() {
                if i == rebase_at {
                    // As the collection keeps them after a commit: the documents in memory
                    // (whose key order may differ from a parse of their text).
                    m_base = m.clone();
                    m.rebase(m.to_string());
                    l_base = l.clone();
                    l.rebase(l.to_string());
                }
                let (name, ty) = (names[n], ArtifactType::ALL[t]);
                let value = format!("v{v}");
                let hash = format!("{v:064x}");
                // Edits that fail (absent, present already) must change nothing.
                match op {
                    0 => {
                        let _ = m.add_artifact(&Artifact::new(name, ty, Origin::Local, &value).unwrap());
                        let _ = l.add_entry(&LockEntry::new(name, ty, &hash, &value).unwrap());
                    }
                    1 => {
                        let _ = m.remove_artifact(name, ty);
                        let _ = l.remove_entry(name, ty);
                    }
                    2 => m.set_updated(&value),
                    3 => {
                        if let Ok(mut a) = m.artifact_mut(name, ty) {
                            a.set_resolved_sha(Some(&value));
                            a.set_tags(std::slice::from_ref(&value));
                        }
                        if let Ok(mut e) = l.entry_mut(name, ty) {
                            e.set_resolved_sha((v % 2 == 0).then_some(value.as_str()));
                        }
                    }
                    4 => {
                        let mut metadata = toml::Table::new();
                        if v % 3 != 0 {
                            metadata.insert("description".into(), value.clone().into());
                        }
                        let _ = m.set_metadata(name, ty, &metadata);
                    }
                    _ => {
                        l.set_entry(&LockEntry::new(name, ty, &hash, &value).unwrap()).unwrap();
                    }
                }
            }
            prop_assert_eq!(m.changes(), diff_manifests(Some(&m_base), Some(&m)));
            prop_assert_eq!(l.changes(), diff_locks(Some(&l_base), Some(&l)));
            let (m_text, l_text) = (m_base.to_string(), l_base.to_string());
            m.discard_edits();
            l.discard_edits();
            prop_assert_eq!(m.to_string(), m_text);
            prop_assert_eq!(l.to_string(), l_text);
        }

        /// Any sequence of adds and removes leaves a valid manifest whose typed view agrees
        /// with a model, and removing what was added restores the original bytes' meaning.
        #[test]
        fn adds_and_removes_agree_with_a_model(
            ops in proptest::collection::vec((name(), 0..3usize, any::<bool>()), 1..12)
        ) {
            let mut m = torture();
            let mut model: Vec<(String, ArtifactType)> = vec![
                ("my-skill".into(), ArtifactType::Skill),
                ("cmd-one".into(), ArtifactType::Command),
            ];
            for (name, t, add) in ops {
                let t = ArtifactType::ALL[t];
                let present = model.contains(&(name.clone(), t));
                if add && !present {
                    m.add_artifact(&Artifact::new(&name, t, Origin::Local, "t").unwrap()).unwrap();
                    model.push((name, t));
                } else if !add && present {
                    m.remove_artifact(&name, t).unwrap();
                    model.retain(|e| *e != (name.clone(), t));
                }
            }
            let read = m.manifest().unwrap();
            let mut seen: Vec<_> = read.artifacts.iter().map(|a| (a.name.clone(), a.artifact_type)).collect();
            seen.sort();
            model.sort();
            prop_assert_eq!(seen, model);
            prop_assert_eq!(read.unsupported.len(), 1);
            prop_assert!(m.to_string().contains("[[mcp_servers]]\nname = \"filesystem\""));
        }
    }
}
