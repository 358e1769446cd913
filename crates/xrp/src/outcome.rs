//! How a chain ended. Unlike the prototype kernel, which returns the first
//! read's byte count whatever happened, every chain here says why it stopped.

use std::fmt;

use ebpf::RunError;

use crate::page_check::PageFault;

/// Why a read the program asked for was not issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressError {
    /// The offset is not a multiple of 512, as XRP requires.
    Misaligned { offset: u64 },
    /// Extended mode: `size[0]` is not a multiple of 512 up to 4096.
    BadSize { size: u64 },
    /// A direct read the device cannot serve: its logical block is larger than
    /// or does not divide the read (zram: 4096 bytes).
    BlockSize { offset: u64, len: u64, block_size: u32 },
    /// The read starts at or past the end of the file.
    OutOfFile { offset: u64, file_size: u64 },
    /// Kernel-compatible mode: more than one `next_addr` was set.
    SeveralAddresses { count: usize },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Misaligned { offset } => write!(f, "offset {offset} is not a multiple of 512"),
            AddressError::BadSize { size } => write!(f, "read size {size} is not a multiple of 512 between 512 and 4096"),
            AddressError::BlockSize { offset, len, block_size } => write!(
                f,
                "a direct read of {len} bytes at offset {offset} cannot be served: the device's logical block is {block_size} bytes"
            ),
            AddressError::OutOfFile { offset, file_size } => {
                write!(f, "offset {offset} is at or past the end of the file ({file_size} bytes)")
            }
            AddressError::SeveralAddresses { count } => {
                write!(f, "{count} next_addr entries set; the XRP kernel follows only next_addr[0] and aborts")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The program set `done`.
    Done,
    /// The program returned non-zero, which ends a chain in the kernel too.
    Returned { code: u64 },
    /// The VM stopped the program.
    ProgramError(RunError),
    /// A read failed with this errno.
    ReadError { offset: u64, errno: i32 },
    /// The program asked for a read that cannot be issued.
    BadAddress(AddressError),
    /// The chain reached its hop limit without finishing.
    HopLimit { limit: u32 },
    /// A page read failed the file's page check (page_check.rs): the program never saw it.
    Corrupt(PageFault),
}

impl Outcome {
    /// A short stable identifier, for bindings that expose `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Done => "DONE",
            Outcome::Returned { .. } => "RETURNED",
            Outcome::ProgramError(_) => "PROGRAM_ERROR",
            Outcome::ReadError { .. } => "READ_ERROR",
            Outcome::BadAddress(AddressError::BlockSize { .. }) => "BLOCK_SIZE",
            Outcome::BadAddress(AddressError::OutOfFile { .. }) => "OUT_OF_FILE",
            Outcome::BadAddress(_) => "BAD_ADDRESS",
            Outcome::HopLimit { .. } => "HOP_LIMIT",
            Outcome::Corrupt(PageFault::Checksum { .. }) => "CHECKSUM",
            Outcome::Corrupt(_) => "CORRUPT",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => write!(f, "done"),
            Outcome::Returned { code } => write!(f, "the program returned {code:#x}"),
            Outcome::ProgramError(e) => write!(f, "program error: {e}"),
            Outcome::ReadError { offset, errno } => {
                write!(f, "read at offset {offset} failed: {}", std::io::Error::from_raw_os_error(*errno))
            }
            Outcome::BadAddress(e) => write!(f, "bad address: {e}"),
            Outcome::HopLimit { limit } => write!(f, "hop limit of {limit} reads reached"),
            Outcome::Corrupt(fault) => write!(f, "{fault}"),
        }
    }
}

/// One finished chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainResult {
    pub outcome: Outcome,
    /// Reads completed, the first one included.
    pub hops: u32,
    /// Offset of the last read completed (the block `data` held last).
    pub last_offset: u64,
}
