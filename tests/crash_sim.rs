//! Exhaustive crash enumeration on the simulated file system (wal-spec.md §11): for each
//! workload, a crash after every mutating call under every crash model, recovery, and the
//! before/after oracle; then a second crash at every call of each of those recoveries.
//! `SKILLWAL_CRASH_SEEDS=N` (default 3) sets the seeds per seeded model for a longer run.

mod common;

use common::{Budget, check_workload, workloads};

/// Prints one workload's counts and adds them to `total`.
fn tally(name: &str, c: common::Counts, total: &mut common::Counts) {
    eprintln!(
        "{name:>20}: {:>3} crash points, {:>5} crash states, {:>7} states with a crash during recovery",
        c.crash_points, c.states, c.recovery_states
    );
    total.crash_points += c.crash_points;
    total.states += c.states;
    total.recovery_states += c.recovery_states;
}

#[test]
fn every_crash_point_recovers_to_before_or_after() {
    let budget = Budget::from_env();
    let mut total = common::Counts::default();
    for w in workloads() {
        let c = check_workload(&w, budget);
        tally(&w.name, c, &mut total);
    }
    eprintln!(
        "crash states checked: {} after {} crash points, plus {} with a second crash during recovery ({} seeds per seeded model)",
        total.states, total.crash_points, total.recovery_states, budget.seeds
    );
    assert!(total.states > 0 && total.recovery_states > 0);
}

/// The same for runs (wal-spec.md §6.6): several transactions committed in one open engine
/// and retired by one checkpoint, crashed at every call of any of them, of the flushes
/// between them and of the checkpoint; the tree must be the state after the acknowledged
/// commits, or after the one in progress.
#[test]
fn every_crash_point_of_a_run_recovers_to_an_acknowledged_state() {
    let budget = Budget::from_env();
    let mut total = common::Counts::default();
    for w in common::run_workloads() {
        let c = common::check_run_workload(&w, budget);
        tally(&w.name, c, &mut total);
    }
    eprintln!(
        "runs: crash states checked: {} after {} crash points, plus {} with a second crash during recovery",
        total.states, total.crash_points, total.recovery_states
    );
    assert!(total.states > 0 && total.recovery_states > 0);
}
