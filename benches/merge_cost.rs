//! What `merge::text::merge` and `merge::unified::diff` cost: a typical skill file, and
//! inputs at the limits (`limits::MERGE_TEXT_BYTES_MAX`, 8 MiB, and
//! `limits::MERGE_TEXT_LINES_MAX`, 32,768 lines), including the worst case we know for the
//! line diff: files of lines drawn at random from two to four values, where every line
//! matches a third to a half of the other side's.
//!
//! Run: `cargo bench -p skillwal-benches --bench merge_cost`. Peak memory of one case:
//! `/usr/bin/time -v target/release/deps/merge_cost-* --bench CASE`.

use criterion::{Criterion, criterion_group, criterion_main};
use skillwal::limits::{MERGE_TEXT_BYTES_MAX, MERGE_TEXT_LINES_MAX};
use skillwal::merge::text::{Labels, merge};
use skillwal::merge::unified::diff;
use std::hint::black_box;

const LABELS: Labels<'static> = Labels {
    ours: "ours",
    base: "base",
    theirs: "theirs",
};

/// A deterministic xorshift generator, so every run measures the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `count` numbered, distinct lines of `width` bytes.
fn numbered(count: usize, width: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let mut line = format!("line {i:>8} of a markdown skill file, with some prose in it ");
            line.truncate(width - 1);
            while line.len() < width - 1 {
                line.push('.');
            }
            line + "\n"
        })
        .collect()
}

/// `lines` with every `every`-th line (from `first`) replaced by a line naming `who`.
fn edit(lines: &[String], first: usize, every: usize, who: &str) -> Vec<u8> {
    let mut out = lines.to_vec();
    for i in (first..out.len()).step_by(every) {
        out[i] = format!("{who} changed line {i}\n");
    }
    out.concat().into_bytes()
}

/// `count` lines, each one of `kinds` values chosen at random.
fn few_kinds(count: usize, kinds: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    (0..count)
        .flat_map(|_| format!("{}\n", rng.next() % kinds).into_bytes())
        .collect()
}

/// One measured input: a name and the three versions of a file.
type Case = (&'static str, Vec<u8>, Vec<u8>, Vec<u8>);

fn bench(c: &mut Criterion) {
    let (bytes_max, lines_max) = (MERGE_TEXT_BYTES_MAX as usize, MERGE_TEXT_LINES_MAX as usize);
    let skill = numbered(300, 70);
    // Both limits at once: 32,768 lines of 256 bytes are 8 MiB.
    let big = numbered(lines_max, bytes_max / lines_max);
    let cases: Vec<Case> = vec![
        (
            "skill_21KiB_edits_both_sides",
            skill.concat().into_bytes(),
            edit(&skill, 3, 40, "ours"),
            edit(&skill, 23, 40, "theirs"),
        ),
        (
            "8MiB_32Ki_lines_edits_both_sides",
            big.concat().into_bytes(),
            edit(&big, 3, 100, "ours"),
            edit(&big, 53, 100, "theirs"),
        ),
        (
            "8MiB_32Ki_lines_all_conflict",
            big.concat().into_bytes(),
            edit(&big, 0, 1, "ours"),
            edit(&big, 0, 1, "theirs"),
        ),
        (
            "32Ki_lines_of_2_kinds",
            few_kinds(lines_max, 2, 1),
            few_kinds(lines_max, 2, 2),
            few_kinds(lines_max, 2, 3),
        ),
        (
            "32Ki_lines_of_4_kinds",
            few_kinds(lines_max, 4, 1),
            few_kinds(lines_max, 4, 2),
            few_kinds(lines_max, 4, 3),
        ),
    ];
    let mut group = c.benchmark_group("merge");
    group.sample_size(10);
    for (name, base, ours, theirs) in &cases {
        for side in [base, ours, theirs] {
            assert_eq!(
                skillwal::merge::classify(side),
                skillwal::merge::Content::Text
            );
        }
        let merged = merge(base, ours, theirs, &LABELS).unwrap();
        println!("{name}: {} conflicts", merged.conflicts.len());
        group.bench_function(*name, |b| {
            b.iter(|| merge(black_box(base), black_box(ours), black_box(theirs), &LABELS).unwrap())
        });
    }
    group.finish();
    let mut group = c.benchmark_group("unified");
    group.sample_size(10);
    for (name, base, ours, _) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| diff("f", Some(black_box(base)), Some(black_box(ours))).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
