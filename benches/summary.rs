//! Prints the summary table of the last `cargo bench -p skillwal-benches --bench update_cost` run from what
//! criterion left in `target/criterion/`, without measuring anything:
//! `cargo bench -p skillwal-benches --bench summary`.

mod common;

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    if bench_mode {
        common::print_summary(None);
    }
}
