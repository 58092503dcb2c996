//! "Did you mean …?": names close to one that was not found. Close means an edit distance
//! of at most 2 (insertions, deletions, substitutions and swaps of two neighbours; at most
//! 1 for names of up to 4 characters), or one name a prefix of the other.

/// The optimal-string-alignment distance between `a` and `b` (Damerau–Levenshtein without
/// repeated edits of one substring), in characters.
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidates close to `wanted`, closest first (at most three); never `wanted` itself.
pub fn near<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let limit = if wanted.chars().count() <= 4 { 1 } else { 2 };
    let mut found: Vec<(usize, String)> = candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .filter_map(|c| {
            let d = distance(wanted, c);
            let prefix = !wanted.is_empty() && (c.starts_with(wanted) || wanted.starts_with(c));
            (d <= limit || prefix).then(|| (d, c.to_string()))
        })
        .collect();
    found.sort();
    found.dedup_by(|a, b| a.1 == b.1);
    found.into_iter().take(3).map(|(_, c)| c).collect()
}

/// "did you mean `a`?", "did you mean `a` or `b`?", "did you mean `a`, `b` or `c`?".
pub fn did_you_mean(near: &[String]) -> Option<String> {
    let quoted: Vec<String> = near.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [rest @ .., last] => Some(format!("did you mean {} or {last}?", rest.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("two", "two"), 0);
        assert_eq!(distance("twoo", "two"), 1);
        assert_eq!(distance("tow", "two"), 1);
        assert_eq!(distance("review", "reveiw"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn near_names() {
        let names = ["two", "three", "my-skill", "review", "helper"];
        assert_eq!(near("twoo", names), ["two"]);
        assert_eq!(near("my", names), ["my-skill"]);
        assert_eq!(near("reveiw", names), ["review"]);
        assert!(near("nope", names).is_empty());
        assert!(near("two", ["two"]).is_empty());
        assert_eq!(
            did_you_mean(&["a".into(), "b".into(), "c".into()]).unwrap(),
            "did you mean `a`, `b` or `c`?"
        );
    }
}
