//! Front matter cases shared by `tests/frontmatter.rs` (expected values written out) and
//! `tests/frontmatter_python.rs` (the same files added by skillwal and by the real Python
//! skillmeat 0.74.0, results compared). Each case is (name, artifact type, file text); a
//! skill's text is its `SKILL.md`, a command's or agent's text is the whole `.md` file.

#![allow(dead_code)]

pub struct Case {
    pub name: &'static str,
    pub ty: &'static str,
    pub text: &'static str,
}

const fn skill(name: &'static str, text: &'static str) -> Case {
    Case {
        name,
        ty: "skill",
        text,
    }
}

pub const CASES: &[Case] = &[
    // Block scalars and their chomping.
    skill(
        "folded",
        "---\nname: folded\ndescription: >\n  Folded\n  text\n\n  second para\n\nversion: 1.0\n---\nbody\n",
    ),
    skill(
        "folded-strip",
        "---\ndescription: >-\n  Folded\n    more indented\n  back\n---\n",
    ),
    skill(
        "folded-keep",
        "---\ndescription: >+\n  keep\n\n\nauthor: x\n---\n",
    ),
    skill(
        "literal",
        "---\ndescription: |\n  line one\n    indented two\n  line three\n\n# a comment, not content\nlicense: MIT\n---\n",
    ),
    skill(
        "literal-strip",
        "---\ndescription: |-\n  Reference for things.\n  TRIGGER: when asked.\nlicense: Complete terms in LICENSE.txt\n---\n\n# Title\n",
    ),
    skill("literal-keep", "---\ndescription: |+\n  kept\n\n---\n"),
    skill(
        "literal-indent-indicator",
        "---\ndescription: |2\n     starts with spaces\n  then not\n---\n",
    ),
    // Quoting.
    skill(
        "double-quoted-escapes",
        "---\ndescription: \"Say \\\"hi\\\" \\u00e9\\ttab \\\\ back \\x41 \\/ \\N \\_\"\nauthor: \"A\\\n  B\"\n---\n",
    ),
    skill(
        "single-quoted",
        "---\ndescription: 'it''s a \"test\" \\n not an escape'\ntitle: 'multi\n\n  line'\n---\n",
    ),
    skill(
        "quoted-numbers",
        "---\nversion: \"0.10\"\ntitle: '1.0'\nauthor: \"yes\"\n---\n",
    ),
    // Comments.
    skill(
        "comments",
        "---\n# leading comment\ndescription: text # trailing comment\nauthor: a#b\nversion: 1.2.3   # comment\n# tags: [no]\n---\n",
    ),
    // Numbers.
    skill(
        "version-0-10",
        "---\nname: x\ndescription: d\nversion: 0.10\n---\n",
    ),
    skill("version-1-0", "---\nversion: 1.0\n---\n"),
    skill("version-2", "---\nversion: 2\n---\n"),
    skill("version-semver", "---\nversion: 1.2.3\n---\n"),
    skill("version-1e5", "---\nversion: 1e5\ntitle: 1.0e+5\n---\n"),
    skill(
        "ints-1-1",
        "---\nversion: 010\ntitle: 0x1F\nauthor: 0b101\nlicense: 1_000\ndescription: 1:30\n---\n",
    ),
    skill(
        "floats-special",
        "---\nversion: .inf\ntitle: -.Inf\nauthor: .NaN\nlicense: 1:30.5\ndescription: 6.02e+23\n---\n",
    ),
    skill(
        "big-int",
        "---\nversion: 123456789012345678901234567890\ntitle: -0\nauthor: +12\n---\n",
    ),
    skill(
        "float-tiny",
        "---\nversion: 0.00001\ntitle: 100000000000000000.0\n---\n",
    ),
    // Booleans and nulls.
    skill(
        "booleans",
        "---\ntitle: yes\nauthor: Off\nlicense: true\nversion: on\ndescription: n\n---\n",
    ),
    skill(
        "nulls-and-empty",
        "---\nauthor:\nlicense: ~\nversion: null\ntitle: ''\n---\nBody line\n",
    ),
    skill(
        "empty-description",
        "---\ndescription: \"\"\nversion: \"\"\n---\n# Heading\n\nFirst paragraph line.\n",
    ),
    skill("null-description", "---\ndescription:\n---\nbody text\n"),
    skill(
        "false-description",
        "---\ndescription: false\ntitle: 0\n---\nbody\n",
    ),
    // Dates.
    skill(
        "dates",
        "---\nversion: 2024-01-05\ntitle: 2001-12-14t21:59:43.10-05:00\nauthor: 2001-12-14 21:59:43.10\nlicense: 2002-12-14 00:00:00 Z\n---\n",
    ),
    skill(
        "bad-date",
        "---\ndescription: d\nversion: 2024-02-30\n---\nbody\n",
    ),
    // Lists.
    skill(
        "tags-block",
        "---\ntags:\n  - testing\n  - compat\n  - testing\n---\n",
    ),
    skill(
        "tags-flow-mixed",
        "---\ntags: [a, 'b', 1, 1.0, true, null, '', 0, a]\ndependencies: [x, 2]\n---\n",
    ),
    skill(
        "tags-text",
        "---\ntags: one, two , ,three\ndependencies: \"a,b\"\n---\n",
    ),
    skill(
        "tags-block-dash-at-key-indent",
        "---\ntags:\n- a\n- b\ndependencies:\n- x\n---\n",
    ),
    skill("tags-empty-list", "---\ntags: []\ndependencies: []\n---\n"),
    skill("tags-nested", "---\ntags: [[a, b], {c: d}]\n---\n"),
    skill("tags-number", "---\ntags: 5\n---\n"),
    skill("tags-only-commas", "---\ntags: ' , '\n---\n"),
    // Nested maps and other values stored as Python shows them.
    skill(
        "nested-metadata",
        "---\nname: n\ndescription: d\nmetadata:\n  version: 1.0\n  author: someone\nlicense: Apache-2.0\n---\n",
    ),
    skill(
        "map-description",
        "---\ndescription: {a: 1, b: [x, 'it''s'], c: null}\ntitle: [1, 2.5, true, null, 2024-01-05]\n---\n",
    ),
    // Tools.
    skill(
        "tools-text",
        "---\ntools: read, bash, Foo, web-fetch\n---\n",
    ),
    skill(
        "allowed-tools-list",
        "---\nallowed-tools: [Read, todo_write, mcp__x__y, Grep]\n---\n",
    ),
    skill(
        "tools-empty-then-allowed",
        "---\ntools: []\nallowed-tools: Glob\n---\n",
    ),
    skill("tools-single", "---\ntools: Bash\n---\n"),
    // YAML that PyYAML cannot load: the line-by-line fallback.
    skill(
        "colon-in-description",
        "---\nname: c\ndescription: Use this when: you need it\nversion: 1.0\ntools: Read, Grep\n---\nbody\n",
    ),
    skill(
        "unclosed-flow",
        "---\nname: [unclosed\ndescription: \"partial\"\nauthor: me\n---\nbody\n",
    ),
    skill(
        "tab-indent",
        "---\ndescription: ok\nmeta:\n\tkey: v\n---\nbody\n",
    ),
    skill(
        "unknown-tag",
        "---\ndescription: !foo bar\nversion: 1\n---\nbody\n",
    ),
    skill("equals-value", "---\ndescription: =\n---\nbody\n"),
    skill(
        "two-documents",
        "---\ndescription: first\n...\ndescription: second\n---\nbody\n",
    ),
    skill("control-char", "---\ndescription: bell\u{7}\n---\nbody\n"),
    skill(
        "partial-quotes",
        "---\ndescription: 'quoted' and more: x\n---\n",
    ),
    // A key that is not text: SkillMeat's first pass raises and the raw values are kept.
    skill(
        "int-key",
        "---\n1: one\ntitle: 2024-01-05\nversion: 0.10\nauthor: 7\ndescription: yes\ndependencies: [a, 1]\n---\nbody\n",
    ),
    skill("int-key-tags", "---\n2024: x\ntags: a, b\n---\n"),
    skill("int-key-tags-list", "---\ntrue: x\ntags: [a, b, a]\n---\n"),
    // Values SkillMeat keeps, raw, under `metadata.extra` and then cannot write: its add
    // fails.
    skill(
        "null-unknown-key",
        "---\ndescription: d\nargument-hint:\n---\n",
    ),
    skill("null-name", "---\nname:\ndescription: d\n---\n"),
    skill(
        "null-in-unknown-list",
        "---\ndescription: d\nfoo: [a, null]\n---\n",
    ),
    skill(
        "nested-int-key",
        "---\ndescription: d\nmeta:\n  1: x\n---\n",
    ),
    skill(
        "null-hooks-at-eof",
        "---\ndescription: d\nhooks: {pre: ~}\n---",
    ),
    skill("null-aos", "---\ndescription: d\naos_run_uuid:\n---\n"),
    skill(
        "null-known-is-fine",
        "---\ndescription: d\nauthor:\ntags: [a, ~]\n---\n",
    ),
    skill("int-key-at-eof", "---\n1: x\nversion: 0.10\n---"),
    // Explicit tags, anchors, merges, duplicates.
    skill(
        "explicit-tags",
        "---\nversion: !!str 0.10\ntitle: !!float 1\nauthor: ! 12\nlicense: !!int \"0x10\"\n---\n",
    ),
    skill(
        "anchors",
        "---\nauthor: &a Me\nlicense: *a\nbase: &b {title: merged, version: 3}\nmeta:\n  <<: *b\n---\n",
    ),
    skill(
        "merge-at-top",
        "---\nx: &b {title: from merge, version: 3}\n<<: *b\nversion: 4\n---\n",
    ),
    skill(
        "duplicate-keys",
        "---\ndescription: first\ndescription: second\n---\n",
    ),
    skill(
        "python-tag",
        "---\ndescription: !!python/name:os.system x\n---\nbody\n",
    ),
    // Where the front matter is, and what it is.
    skill("no-front-matter", "# Title\n\nJust do it.\n"),
    skill("no-closing-line", "---\ndescription: never closed\n"),
    skill("empty-front-matter", "---\n\n---\n\nBody only.\n"),
    skill("front-matter-is-list", "---\n- a\n- b\n---\nbody\n"),
    skill("front-matter-is-text", "---\njust text\n---\nbody\n"),
    skill(
        "leading-blank-lines",
        "\n\n---\ndescription: after blanks\nversion: 1\n---\nbody\n",
    ),
    skill(
        "crlf",
        "---\r\ndescription: >\r\n  crlf\r\n  folded\r\nversion: 0.10\r\n---\r\nbody\r\n",
    ),
    skill(
        "bom",
        "\u{feff}---\ndescription: with bom\nversion: 1.0\n---\nbody\n",
    ),
    skill(
        "closing-with-spaces",
        "--- \ndescription: spaced\n---  \nbody\n",
    ),
    skill("closing-at-eof", "---\ndescription: eof\nversion: 0.5\n---"),
    skill(
        "dashes-in-body",
        "---\ndescription: d\n---\n---\nnot front matter\n---\n",
    ),
    skill(
        "line-separator",
        "---\ndescription: \"a\u{2028}b\"\ntitle: plain\u{2028}sep\n---\nbody\n",
    ),
    skill(
        "long-body-line",
        "---\nname: long\n---\nééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé end\n",
    ),
    skill(
        "unicode",
        "---\ndescription: \"Ünïcödé — “quotes” 日本語 😀\"\nauthor: Zoë\n---\n",
    ),
    Case {
        name: "cmd-plain",
        ty: "command",
        text: "Review the diff.\n\nMore.\n",
    },
    Case {
        name: "cmd-front",
        ty: "command",
        text: "---\ndescription: Review the current diff\nallowed-tools: Bash(git diff:*), Read\nargument-hint: [file]\n---\n\nReview $ARGUMENTS\n",
    },
    Case {
        name: "agent-front",
        ty: "agent",
        text: "---\nname: helper\ndescription: |\n  A helpful agent.\n  Use it: often.\ntools: Read, Grep, Glob\nmodel: sonnet\ncolor: blue\n---\n\nYou help.\n",
    },
];
