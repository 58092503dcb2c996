/// Python's `str.isspace`.
pub(super) fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub(super) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// The front matter `extract_frontmatter` finds:
/// `^\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)` (no `\r` is left by then).
pub(super) fn lenient_block(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = rest.strip_prefix("---")?.trim_start_matches([' ', '\t']);
    let body = rest.strip_prefix('\n')?;
    let mut from = 0;
    while let Some(i) = body[from..].find("\n---") {
        let q = from + i;
        let after = body[q + 4..].trim_start_matches([' ', '\t']);
        if after.is_empty() || after.starts_with('\n') {
            return Some(&body[..q]);
        }
        from = q + 1;
    }
    None
}

/// The front matter `extract_yaml_frontmatter` finds: `^---\s*\n(.*?)\n---\s*\n`.
pub(super) fn strict_block(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---")?;
    // `\s*\n`, greedy: up to the last newline of the run of white space.
    let run = rest.len() - rest.trim_start_matches(py_space).len();
    let header = rest[..run].rfind('\n')?;
    let body = &rest[header + 1..];
    let mut from = 0;
    while let Some(i) = body[from..].find("\n---") {
        let q = from + i;
        let after = &body[q + 4..];
        let run = after.len() - after.trim_start_matches(py_space).len();
        if after[..run].contains('\n') {
            return Some(&body[..q]);
        }
        from = q + 1;
    }
    None
}

/// `extract_description_from_content` on the body: the first line (stripped) that is not
/// empty and not a heading, cut to 200 characters. The body starts after the first later
/// line that is `---` when the file starts with `---`.
pub(super) fn description_from_body(text: &str) -> Option<String> {
    let mut lines = text.split('\n');
    let body: Vec<&str> = if text.starts_with("---") {
        let all: Vec<&str> = lines.by_ref().collect();
        match all.iter().skip(1).position(|l| py_strip(l) == "---") {
            Some(i) => all[i + 2..].to_vec(),
            None => all,
        }
    } else {
        lines.collect()
    };
    body.iter()
        .map(|l| py_strip(l))
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.chars().take(200).collect())
}
