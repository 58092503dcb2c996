//! `cargo fuzz run -s none journal` (see fuzz/README.md): the journal reader, `inspect` and
//! the recovery decision on arbitrary journals. The check itself is in `src/check.rs`.
#![no_main]

#[path = "../src/check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
