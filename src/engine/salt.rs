//! Where salts come from.

use crate::error::{Error, Result};

/// Where salts come from.
///
/// A salt must never repeat for one journal: a retired transaction's records would
/// validate again. From the OS, 64 random bits make that practically impossible. A seeded
/// source (for deterministic tests) mixes the seed with the header sequence the salt is for,
/// which only grows across durable header writes, so it never repeats either.
pub(super) enum SaltSource {
    Os,
    Seeded(u64),
}

impl SaltSource {
    pub(super) fn new(seed: Option<u64>) -> SaltSource {
        match seed {
            Some(s) => SaltSource::Seeded(s),
            None => SaltSource::Os,
        }
    }

    /// The seed, when salts are drawn from one (deterministic tests).
    pub(super) fn seed(&self) -> Option<u64> {
        match self {
            SaltSource::Os => None,
            SaltSource::Seeded(s) => Some(*s),
        }
    }

    /// A salt for the header with sequence `sequence`, never 0 and never `avoid`.
    pub(super) fn next(&mut self, avoid: u64, sequence: u64) -> Result<u64> {
        for attempt in 0u64.. {
            let v = match self {
                SaltSource::Os => {
                    let mut b = [0u8; 8];
                    rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty())
                        .map_err(|e| Error::io("getrandom", "/dev/urandom", crate::fs::errno(e)))?;
                    u64::from_le_bytes(b)
                }
                SaltSource::Seeded(seed) => {
                    mix64(*seed ^ sequence.wrapping_mul(0x9E37_79B9) ^ (attempt << 48))
                }
            };
            if v != 0 && v != avoid {
                return Ok(v);
            }
        }
        unreachable!("an unbounded loop returns")
    }
}

/// SplitMix64's output function: a bijection of `u64` that spreads every input bit over
/// the output (the first value a SplitMix64 generator seeded with `x` yields).
pub(super) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
