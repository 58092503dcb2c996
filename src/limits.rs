//! Every bound the engine keeps, in one place. wal-spec.md §8 lists the same numbers.

/// Bytes of a record's frame header.
pub const RECORD_HEADER_BYTES: u64 = 32;
/// Largest file content stored inline in the journal; larger contents are staged in a file
/// of their own and made durable before the commit point. 4 MiB keeps the documents of a
/// 10,000-artifact collection (about 2 MB each) inline, so that an update of such a
/// collection commits with the journal's one `fdatasync` instead of one per document.
pub const INLINE_CONTENT_MAX: u64 = 4 * 1024 * 1024;
/// Inline content one transaction may put in the journal; past it, contents are staged.
pub const INLINE_BYTES_PER_TXN_MAX: u64 = 64 * 1024 * 1024;
/// Largest record payload: an inline file plus its path and fields.
pub const RECORD_PAYLOAD_MAX: u32 = (INLINE_CONTENT_MAX as u32) + 16 * 1024;
/// Longest relative path, in bytes.
pub const PATH_BYTES_MAX: usize = 4096;
/// Deepest relative path, in components.
pub const PATH_DEPTH_MAX: usize = 64;
/// Operations (file, directory and tree operations) in one transaction.
pub const OPS_PER_TXN_MAX: u32 = 100_000;
/// Roots one transaction may span (wal-spec.md §14).
pub const ROOTS_PER_TXN_MAX: usize = 16;
/// Entries (files and directories) in one staged tree.
pub const TREE_ENTRIES_MAX: u32 = 100_000;
/// Field changes carried by one diff record; longer diffs use several records.
pub const DIFF_CHANGES_PER_RECORD_MAX: usize = 32;
/// Longest diff value kept in a record, in bytes; longer values are cut at a char boundary.
pub const DIFF_VALUE_BYTES_MAX: usize = 512;
/// Longest document name, item and field name in a diff record, in bytes; longer ones are
/// cut at a char boundary.
pub const DIFF_NAME_BYTES_MAX: usize = 255;
/// Longest transaction label, in bytes.
pub const LABEL_BYTES_MAX: usize = 1024;
/// Size the journal file is created with (zeros, made durable once), so that a commit's
/// append writes into allocated blocks and its `fdatasync` has no size to update. A
/// transaction whose records go past it extends the file (that commit's `fdatasync` then
/// also records the new size); once its records are retired the file is cut back to this
/// size (wal-spec.md §6.4 step 5).
pub const JOURNAL_PREALLOC_BYTES: u64 = 1024 * 1024;
/// The journal's size in a root that asks for a small one (a project's `.skillwal/`, which
/// must not cost a megabyte in every project; wal-spec.md §15), and the inline content its
/// transactions may hold (larger content is staged and synced instead, so the journal stays
/// near this size).
pub const SMALL_JOURNAL_PREALLOC_BYTES: u64 = 128 * 1024;
/// The most transactions one run holds (wal-spec.md §6.6): a transaction joins a run only
/// while it has fewer, and a reader reads no transaction past this many.
pub const RUN_TXNS_MAX: u32 = 64;
/// A transaction joins a run only while the run's records end before this many times the
/// preallocated journal (wal-spec.md §6.6): the journal grows to a few MiB during a run of
/// large transactions (a 1,000-artifact collection's manifest and lock are ~350 KB a
/// transaction) and is cut back when the run is retired.
pub const RUN_JOURNAL_FACTOR: u64 = 4;
/// See [`SMALL_JOURNAL_PREALLOC_BYTES`].
pub const SMALL_INLINE_BYTES_PER_TXN_MAX: u64 = 64 * 1024;
/// Buffer size for streaming file contents.
pub const STREAM_BUFFER_BYTES: usize = 64 * 1024;
/// Most symbolic links followed in resolving one path (Linux's `MAXSYMLINKS`); past it the
/// path counts as looping.
pub const LINK_HOPS_MAX: usize = 40;

const _: () = assert!(RECORD_PAYLOAD_MAX as u64 > INLINE_CONTENT_MAX + PATH_BYTES_MAX as u64);
const _: () = assert!(INLINE_BYTES_PER_TXN_MAX >= INLINE_CONTENT_MAX);
const _: () = assert!(JOURNAL_PREALLOC_BYTES >= 4096 + 64 * 1024 + 16 * 1024);
const _: () = assert!(SMALL_JOURNAL_PREALLOC_BYTES >= 4096 + 64 * 1024 + 16 * 1024);
const _: () = assert!(SMALL_INLINE_BYTES_PER_TXN_MAX < SMALL_JOURNAL_PREALLOC_BYTES);
const _: () = assert!(
    DIFF_CHANGES_PER_RECORD_MAX * (2 * DIFF_VALUE_BYTES_MAX + 2 * 255 + 16) + 256
        < RECORD_PAYLOAD_MAX as usize
);

// Bounds of the SkillMeat layer (`src/skillmeat/`).

/// Largest document (manifest, lock, config) read and parsed, in bytes. A collection of ten
/// thousand artifacts with metadata stays well below it; anything larger is not a file
/// SkillMeat wrote. Documents are read whole (they are parsed whole), so this bounds the
/// memory a read takes.
pub const DOCUMENT_BYTES_MAX: usize = 16 * 1024 * 1024;

// Bounds of the merge module (`src/merge/`). They are not engine or journal bounds, so
// wal-spec.md §8 does not list them.

/// Largest file, in bytes, that `merge::text` merges and `merge::unified` diffs line by
/// line; a larger file is handled like a binary one (kept whole, reported). It bounds the
/// memory one file takes (the diff holds its lines, their interned ids and edit vectors).
/// 8 MiB is far above any skill, command or agent text.
pub const MERGE_TEXT_BYTES_MAX: u64 = 8 * 1024 * 1024;
/// Most lines in a file that `merge::text` merges and `merge::unified` diffs line by line;
/// a longer file is handled like a binary one. It bounds the time: the line diff is near
/// linear on real text, but on files of a few oft-repeated lines it grows about with the
/// square of the line count (git's does too). Measured worst case at this bound (random
/// lines from 2 to 4 distinct values on each side, benches/merge_cost.rs): about 2 s per
/// merge on the development machine; ordinary text at this bound merges in milliseconds.
pub const MERGE_TEXT_LINES_MAX: u64 = 32 * 1024;
/// Bytes at the start of a file searched for a NUL byte to tell binary from text: git's
/// rule (`buffer_is_binary`, which looks at the first 8,000 bytes).
pub const BINARY_SNIFF_BYTES: usize = 8000;
