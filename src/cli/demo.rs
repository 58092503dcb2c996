//! `skillwal demo`: placeholder until the walkthrough lands.

use super::output::Output;

pub fn run(_keep: bool, _out: &Output) -> anyhow::Result<u8> {
    anyhow::bail!("demo is not built yet")
}
