//! Front matter as SkillMeat 0.74 reads it, without Python: every case of
//! `tests/frontmatter_cases/` against the `[artifacts.metadata]` (less `extra`) and `tags`
//! that the real skillmeat 0.74.0 wrote for it (recorded from `skillmeat add`; the same
//! cases are re-checked against the live tool by `tests/frontmatter_python.rs`), plus the
//! reading of the file, the update path and the error messages.

mod frontmatter_cases;

use frontmatter_cases::CASES;
use skillwal::skillmeat::frontmatter::{
    FrontMatterError, MAX_SOURCE, metadata, metadata_and_tags, read_source,
};

type Expected = Result<(&'static str, &'static [&'static str]), ()>;

/// What skillmeat 0.74.0 wrote: the metadata table as TOML and the tags, or `Err` where its
/// add failed.
const EXPECTED: &[(&str, Expected)] = &[
    (
        "folded",
        Ok((
            "description = \"Folded text\\nsecond para\\n\"\nversion = \"1.0\"\n",
            &[],
        )),
    ),
    (
        "folded-strip",
        Ok(("description = \"Folded\\n  more indented\\nback\"\n", &[])),
    ),
    (
        "folded-keep",
        Ok(("description = \"keep\\n\\n\\n\"\nauthor = \"x\"\n", &[])),
    ),
    (
        "literal",
        Ok((
            "description = \"line one\\n  indented two\\nline three\\n\"\nlicense = \"MIT\"\n",
            &[],
        )),
    ),
    (
        "literal-strip",
        Ok((
            "description = \"Reference for things.\\nTRIGGER: when asked.\"\nlicense = \"Complete terms in LICENSE.txt\"\n",
            &[],
        )),
    ),
    ("literal-keep", Ok(("description = \"kept\\n\"\n", &[]))),
    (
        "literal-indent-indicator",
        Ok(("description = \"   starts with spaces\\nthen not\"\n", &[])),
    ),
    (
        "double-quoted-escapes",
        Ok((
            "description = \"Say \\\"hi\\\" é\ttab \\\\ back A /   \"\nauthor = \"AB\"\n",
            &[],
        )),
    ),
    (
        "single-quoted",
        Ok((
            "title = \"multi\\nline\"\ndescription = \"it's a \\\"test\\\" \\\\n not an escape\"\n",
            &[],
        )),
    ),
    (
        "quoted-numbers",
        Ok((
            "title = \"1.0\"\nauthor = \"yes\"\nversion = \"0.10\"\n",
            &[],
        )),
    ),
    (
        "comments",
        Ok((
            "description = \"text\"\nauthor = \"a#b\"\nversion = \"1.2.3\"\n",
            &[],
        )),
    ),
    (
        "version-0-10",
        Ok(("description = \"d\"\nversion = \"0.1\"\n", &[])),
    ),
    ("version-1-0", Ok(("version = \"1.0\"\n", &[]))),
    ("version-2", Ok(("version = \"2\"\n", &[]))),
    ("version-semver", Ok(("version = \"1.2.3\"\n", &[]))),
    (
        "version-1e5",
        Ok(("title = \"100000.0\"\nversion = \"1e5\"\n", &[])),
    ),
    (
        "ints-1-1",
        Ok((
            "title = \"31\"\ndescription = \"90\"\nauthor = \"5\"\nlicense = \"1000\"\nversion = \"8\"\n",
            &[],
        )),
    ),
    (
        "floats-special",
        Ok((
            "title = \"-inf\"\ndescription = \"6.02e+23\"\nauthor = \"nan\"\nlicense = \"90.5\"\nversion = \"inf\"\n",
            &[],
        )),
    ),
    (
        "big-int",
        Ok((
            "title = \"0\"\nauthor = \"12\"\nversion = \"123456789012345678901234567890\"\n",
            &[],
        )),
    ),
    (
        "float-tiny",
        Ok(("title = \"1e+17\"\nversion = \"1e-05\"\n", &[])),
    ),
    (
        "booleans",
        Ok((
            "title = \"True\"\ndescription = \"n\"\nauthor = \"False\"\nlicense = \"True\"\nversion = \"True\"\n",
            &[],
        )),
    ),
    (
        "nulls-and-empty",
        Ok((
            "title = \"\"\ndescription = \"Body line\"\nauthor = \"None\"\nlicense = \"None\"\nversion = \"None\"\n",
            &[],
        )),
    ),
    (
        "empty-description",
        Ok((
            "description = \"First paragraph line.\"\nversion = \"\"\n",
            &[],
        )),
    ),
    ("null-description", Ok(("description = \"None\"\n", &[]))),
    (
        "false-description",
        Ok(("title = \"0\"\ndescription = \"False\"\n", &[])),
    ),
    (
        "dates",
        Ok((
            "title = \"2001-12-14 21:59:43.100000-05:00\"\nauthor = \"2001-12-14 21:59:43.100000\"\nlicense = \"2002-12-14 00:00:00+00:00\"\nversion = \"2024-01-05\"\n",
            &[],
        )),
    ),
    ("bad-date", Ok(("description = \"body\"\n", &[]))),
    ("tags-block", Ok(("", &["testing", "compat"]))),
    (
        "tags-flow-mixed",
        Ok((
            "dependencies = [\n    \"x\",\n    \"2\",\n]\n",
            &["a", "b", "1", "1.0", "True"],
        )),
    ),
    (
        "tags-text",
        Ok((
            "dependencies = [\n    \"a\",\n    \"b\",\n]\n",
            &["one", "two", "three"],
        )),
    ),
    (
        "tags-block-dash-at-key-indent",
        Ok(("dependencies = [\n    \"x\",\n]\n", &["a", "b"])),
    ),
    ("tags-empty-list", Ok(("", &[]))),
    ("tags-nested", Ok(("", &["['a', 'b']", "{'c': 'd'}"]))),
    ("tags-number", Err(())),
    ("tags-only-commas", Err(())),
    (
        "nested-metadata",
        Ok(("description = \"d\"\nlicense = \"Apache-2.0\"\n", &[])),
    ),
    (
        "map-description",
        Ok((
            "title = \"[1, 2.5, True, None, datetime.date(2024, 1, 5)]\"\ndescription = \"{'a': 1, 'b': ['x', \\\"it's\\\"], 'c': None}\"\n",
            &[],
        )),
    ),
    (
        "tools-text",
        Ok((
            "tools = [\n    \"Read\",\n    \"Bash\",\n    \"WebFetch\",\n]\n",
            &[],
        )),
    ),
    (
        "allowed-tools-list",
        Ok((
            "tools = [\n    \"Read\",\n    \"TodoWrite\",\n    \"Grep\",\n]\n",
            &[],
        )),
    ),
    (
        "tools-empty-then-allowed",
        Ok(("tools = [\n    \"Glob\",\n]\n", &[])),
    ),
    ("tools-single", Ok(("tools = [\n    \"Bash\",\n]\n", &[]))),
    (
        "colon-in-description",
        Ok((
            "description = \"Use this when: you need it\"\ntools = [\n    \"Read\",\n    \"Grep\",\n]\n",
            &[],
        )),
    ),
    ("unclosed-flow", Ok(("description = \"partial\"\n", &[]))),
    ("tab-indent", Ok(("description = \"ok\"\n", &[]))),
    ("unknown-tag", Ok(("description = \"!foo bar\"\n", &[]))),
    ("equals-value", Ok(("description = \"=\"\n", &[]))),
    ("two-documents", Ok(("description = \"second\"\n", &[]))),
    ("control-char", Ok(("description = \"bell\\u0007\"\n", &[]))),
    (
        "partial-quotes",
        Ok(("description = \"'quoted' and more: x\"\n", &[])),
    ),
    ("int-key", Err(())),
    ("int-key-tags", Err(())),
    ("int-key-tags-list", Err(())),
    ("null-unknown-key", Err(())),
    ("null-name", Err(())),
    ("null-in-unknown-list", Err(())),
    ("nested-int-key", Err(())),
    ("null-hooks-at-eof", Err(())),
    ("null-aos", Err(())),
    (
        "null-known-is-fine",
        Ok(("description = \"d\"\nauthor = \"None\"\n", &["a"])),
    ),
    ("int-key-at-eof", Ok(("", &[]))),
    (
        "explicit-tags",
        Ok((
            "title = \"1.0\"\nauthor = \"12\"\nlicense = \"16\"\nversion = \"0.10\"\n",
            &[],
        )),
    ),
    ("anchors", Ok(("author = \"Me\"\nlicense = \"Me\"\n", &[]))),
    (
        "merge-at-top",
        Ok(("title = \"from merge\"\nversion = \"4\"\n", &[])),
    ),
    ("duplicate-keys", Ok(("description = \"second\"\n", &[]))),
    (
        "python-tag",
        Ok(("description = \"!!python/name:os.system x\"\n", &[])),
    ),
    (
        "no-front-matter",
        Ok(("description = \"Just do it.\"\n", &[])),
    ),
    ("no-closing-line", Ok(("description = \"---\"\n", &[]))),
    (
        "empty-front-matter",
        Ok(("description = \"Body only.\"\n", &[])),
    ),
    (
        "front-matter-is-list",
        Ok(("description = \"body\"\n", &[])),
    ),
    (
        "front-matter-is-text",
        Ok(("description = \"body\"\n", &[])),
    ),
    (
        "leading-blank-lines",
        Ok(("description = \"after blanks\"\nversion = \"1\"\n", &[])),
    ),
    (
        "crlf",
        Ok(("description = \"crlf folded\\n\"\nversion = \"0.1\"\n", &[])),
    ),
    (
        "bom",
        Ok(("description = \"with bom\"\nversion = \"1.0\"\n", &[])),
    ),
    (
        "closing-with-spaces",
        Ok(("description = \"spaced\"\n", &[])),
    ),
    (
        "closing-at-eof",
        Ok(("description = \"eof\"\nversion = \"0.5\"\n", &[])),
    ),
    ("dashes-in-body", Ok(("description = \"d\"\n", &[]))),
    ("line-separator", Ok(("description = \"a b\"\n", &[]))),
    (
        "long-body-line",
        Ok((
            "description = \"éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\"\n",
            &[],
        )),
    ),
    (
        "unicode",
        Ok((
            "description = \"Ünïcödé — “quotes” 日本語 😀\"\nauthor = \"Zoë\"\n",
            &[],
        )),
    ),
];

#[test]
fn every_case_gives_what_skillmeat_wrote() {
    let mut diffs = Vec::new();
    for case in CASES.iter().filter(|c| c.ty == "skill") {
        let expected = EXPECTED
            .iter()
            .find(|(n, _)| *n == case.name)
            .unwrap_or_else(|| panic!("no expectation for {}", case.name))
            .1;
        let got = metadata_and_tags(case.text);
        let same = match (&got, expected) {
            (Ok((meta, tags)), Ok((toml_text, want_tags))) => {
                let want: toml::Table = toml_text.parse().unwrap();
                *meta == want
                    && tags
                        .iter()
                        .map(String::as_str)
                        .eq(want_tags.iter().copied())
            }
            (Err(_), Err(())) => true,
            _ => false,
        };
        if !same {
            diffs.push(format!(
                "{}: got {got:?}, skillmeat wrote {expected:?}",
                case.name
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn the_issue_s_examples() {
    let (meta, _) = metadata_and_tags(
        "---\ndescription: >\n  Folded\n  lines\nauthor: \"A \\\"q\\\"\" # comment\nversion: 0.10\n---\n",
    )
    .unwrap();
    assert_eq!(meta["description"].as_str(), Some("Folded lines\n"));
    assert_eq!(meta["author"].as_str(), Some("A \"q\""));
    assert_eq!(meta["version"].as_str(), Some("0.1"));
    let (meta, _) = metadata_and_tags("---\ndescription: |-\n  a\n  b\n---\n").unwrap();
    assert_eq!(meta["description"].as_str(), Some("a\nb"));
}

#[test]
fn add_refuses_what_skillmeat_cannot_add_and_update_does_not() {
    let text = "---\ndescription: d\nversion: 2\ntags: 5\n---\n";
    assert_eq!(
        metadata_and_tags(text).unwrap_err(),
        FrontMatterError::Tags { value: "5".into() }
    );
    assert_eq!(metadata(text)["version"].as_str(), Some("2"));
    let text = "---\ndescription: d\nargument-hint:\n---\n";
    let err = metadata_and_tags(text).unwrap_err();
    assert_eq!(
        err,
        FrontMatterError::Unwritable {
            key: "`argument-hint`".into()
        }
    );
    assert!(
        err.to_string().contains("`argument-hint` is empty"),
        "{err}"
    );
    assert_eq!(metadata(text)["description"].as_str(), Some("d"));
    let err = metadata_and_tags("---\n1: x\n---\n").unwrap_err();
    assert!(err.to_string().contains("the key `1`"), "{err}");
}

#[test]
fn tags_are_not_part_of_the_update_metadata() {
    let meta = metadata("---\ndescription: d\ntags: [a, b]\n---\n");
    assert_eq!(meta.len(), 1, "{meta:?}");
}

#[test]
fn front_matter_over_the_limit_is_not_parsed() {
    let pad = "x".repeat(64 * 1024);
    let text = format!("---\ndescription: d\nversion: 3\npad: {pad}\n---\nFrom the body.\n");
    let (meta, _) = metadata_and_tags(&text).unwrap();
    assert_eq!(meta.get("version"), None);
    assert_eq!(meta["description"].as_str(), Some("From the body."));
}

#[test]
fn yaml_bombs_are_not_expanded() {
    let mut text = String::from("---\ndescription: d\na: &a [\"xxxxxxxxxxxxxxxxxxxxxxxx\"]\n");
    let mut prev = 'a';
    for c in 'b'..='z' {
        text.push_str(&format!(
            "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = c;
    }
    text.push_str("---\nBody.\n");
    let start = std::time::Instant::now();
    let (meta, _) = metadata_and_tags(&text).unwrap();
    assert!(start.elapsed().as_secs() < 5);
    // SkillMeat would hang or run out of memory; skillwal reads the body only.
    assert_eq!(meta["description"].as_str(), Some("Body."));
}

#[test]
fn reading_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("SKILL.md");
    std::fs::write(&p, "---\r\ndescription: >\r\n  a\r\n  b\r\n---\r\n").unwrap();
    let text = read_source(std::fs::File::open(&p).unwrap()).unwrap();
    // The block ends the front matter: no line break of its own (as for PyYAML).
    assert_eq!(
        metadata_and_tags(&text).unwrap().0["description"].as_str(),
        Some("a b")
    );
    // Not UTF-8, even far beyond what is kept: no metadata, as for SkillMeat.
    std::fs::write(&p, b"---\ndescription: caf\xe9\n---\n").unwrap();
    assert_eq!(read_source(std::fs::File::open(&p).unwrap()), None);
    let mut big = b"---\ndescription: big\n---\n".to_vec();
    big.resize(MAX_SOURCE + 10, b'x');
    big.push(0xff);
    std::fs::write(&p, &big).unwrap();
    assert_eq!(read_source(std::fs::File::open(&p).unwrap()), None);
    // A character cut at the limit is fine when the file is UTF-8.
    let mut big = b"---\ndescription: big\n---\n".to_vec();
    big.resize(MAX_SOURCE - 1, b'x');
    big.extend_from_slice("é and more".as_bytes());
    std::fs::write(&p, &big).unwrap();
    let text = read_source(std::fs::File::open(&p).unwrap()).unwrap();
    assert_eq!(text.len(), MAX_SOURCE - 1);
    assert_eq!(
        metadata_and_tags(&text).unwrap().0["description"].as_str(),
        Some("big")
    );
}
