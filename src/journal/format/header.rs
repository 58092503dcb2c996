//! The two header slots at the start of the journal (wal-spec.md §3).

use super::*;

/// One header slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The format version of this slot, and of the records of the transaction it describes:
    /// [`FORMAT_VERSION`] for every header this build writes but the active header of a
    /// transaction across several roots ([`FORMAT_VERSION_MULTI_ROOT`]); an older supported
    /// version only as read from a journal an older skillwal left (wal-spec.md §3.1, §13).
    pub version: u16,
    /// Increases by one at every header write; the valid slot with the larger one is current.
    pub sequence: u64,
    /// Records belong to the journal's live transaction only if they carry this salt.
    pub live_salt: u64,
    /// The id the next transaction takes.
    pub next_txn_id: u64,
    /// Whether a transaction may have records in the journal. Written (unsynced) by
    /// `begin`, made durable by the commit's `fdatasync`; cleared when the salt is retired.
    /// An idle header means no record can be live, and recovery reads no further.
    pub active: bool,
}

/// Why a header slot is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The slot does not start with [`HEADER_MAGIC`]: not a skillwal header (or zeroed).
    BadMagic,
    /// Magic and CRC match but the version (held) is outside
    /// [`FORMAT_VERSION_OLDEST`]..=[`FORMAT_VERSION_NEWEST`]: another skillwal wrote the journal,
    /// which is then refused whole (wal-spec.md §3.1).
    UnsupportedVersion(u16),
    /// The slot's CRC (bytes 508..512) does not match its bytes 0..508: a torn or damaged
    /// write.
    BadChecksum {
        /// The CRC stored in the slot.
        stored: u32,
        /// The CRC of the slot's bytes, mask applied: what `stored` should be.
        computed: u32,
    },
    /// Magic, CRC and version are right but a field holds a value no writer writes; names
    /// the field (`slot size`, `records offset`, `state`, `salt (0)`).
    BadField(&'static str),
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderProblem::BadMagic => write!(f, "magic is not \"SKILLWAL\""),
            HeaderProblem::UnsupportedVersion(v) => write!(
                f,
                "format version {v} (this build reads {FORMAT_VERSION_OLDEST} to {FORMAT_VERSION_NEWEST})"
            ),
            HeaderProblem::BadChecksum { stored, computed } => {
                write!(f, "checksum 0x{stored:08x} should be 0x{computed:08x}")
            }
            HeaderProblem::BadField(what) => write!(f, "invalid {what}"),
        }
    }
}

/// Slot offsets within a header slot (wal-spec.md §3.1).
mod slot {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 8;
    pub const SLOT_BYTES: usize = 10;
    pub const SEQUENCE: usize = 16;
    pub const LIVE_SALT: usize = 24;
    pub const RECORDS_OFFSET: usize = 32;
    pub const NEXT_TXN_ID: usize = 40;
    pub const STATE: usize = 48;
    pub const CRC: usize = 508;
}

/// The 512 bytes of a header slot holding `h` (wal-spec.md §3.1), CRC included; reserved
/// bytes are 0. The salt must not be 0 and the version must be one this build reads
/// (checked in debug builds only).
pub fn encode_header(h: &Header) -> [u8; HEADER_SLOT_BYTES as usize] {
    debug_assert!(h.live_salt != 0, "salt 0 is reserved");
    debug_assert!(
        (FORMAT_VERSION_OLDEST..=FORMAT_VERSION_NEWEST).contains(&h.version),
        "a header of an unknown version"
    );
    let mut b = [0u8; HEADER_SLOT_BYTES as usize];
    b[slot::MAGIC..slot::MAGIC + 8].copy_from_slice(&HEADER_MAGIC);
    b[slot::VERSION..slot::VERSION + 2].copy_from_slice(&h.version.to_le_bytes());
    b[slot::SLOT_BYTES..slot::SLOT_BYTES + 2]
        .copy_from_slice(&(HEADER_SLOT_BYTES as u16).to_le_bytes());
    b[slot::SEQUENCE..slot::SEQUENCE + 8].copy_from_slice(&h.sequence.to_le_bytes());
    b[slot::LIVE_SALT..slot::LIVE_SALT + 8].copy_from_slice(&h.live_salt.to_le_bytes());
    b[slot::RECORDS_OFFSET..slot::RECORDS_OFFSET + 8]
        .copy_from_slice(&RECORDS_OFFSET.to_le_bytes());
    b[slot::NEXT_TXN_ID..slot::NEXT_TXN_ID + 8].copy_from_slice(&h.next_txn_id.to_le_bytes());
    b[slot::STATE] = u8::from(h.active);
    let crc = crc32fast::hash(&b[..slot::CRC]) ^ HEADER_CRC_MASK;
    b[slot::CRC..slot::CRC + 4].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Decodes one 512-byte slot. Valid iff the magic matches, the CRC matches, the version is
/// one this build reads ([`FORMAT_VERSION_OLDEST`]..=[`FORMAT_VERSION_NEWEST`]), the slot size is
/// 512, the records offset is 4096, the salt is not 0 and the state is 0 or 1; otherwise the
/// first of these that fails, in that order, is the [`HeaderProblem`].
pub fn decode_header(b: &[u8; HEADER_SLOT_BYTES as usize]) -> Result<Header, HeaderProblem> {
    if b[slot::MAGIC..slot::MAGIC + 8] != HEADER_MAGIC {
        return Err(HeaderProblem::BadMagic);
    }
    let stored = le_u32(b, slot::CRC);
    let computed = crc32fast::hash(&b[..slot::CRC]) ^ HEADER_CRC_MASK;
    if stored != computed {
        return Err(HeaderProblem::BadChecksum { stored, computed });
    }
    let version = le_u16(b, slot::VERSION);
    if !(FORMAT_VERSION_OLDEST..=FORMAT_VERSION_NEWEST).contains(&version) {
        return Err(HeaderProblem::UnsupportedVersion(version));
    }
    if le_u16(b, slot::SLOT_BYTES) as u64 != HEADER_SLOT_BYTES {
        return Err(HeaderProblem::BadField("slot size"));
    }
    if le_u64(b, slot::RECORDS_OFFSET) != RECORDS_OFFSET {
        return Err(HeaderProblem::BadField("records offset"));
    }
    let active = match b[slot::STATE] {
        0 => false,
        1 => true,
        _ => return Err(HeaderProblem::BadField("state")),
    };
    let h = Header {
        version,
        sequence: le_u64(b, slot::SEQUENCE),
        live_salt: le_u64(b, slot::LIVE_SALT),
        next_txn_id: le_u64(b, slot::NEXT_TXN_ID),
        active,
    };
    if h.live_salt == 0 {
        return Err(HeaderProblem::BadField("salt (0)"));
    }
    Ok(h)
}
