//! The journal: its bytes ([`format`](mod@format)), reading it ([`reader`]) and writing it
//! (the crate-private `writer`). Knows nothing of collections.

pub mod format;
pub mod reader;
pub(crate) mod writer;
