//! Builders for submission entries, one struct per `IORING_OP_*`.
//!
//! Building is safe; pushing an entry that carries a buffer pointer is what
//! is `unsafe` (see [`crate::IoUring::push`]).

use std::os::fd::RawFd;

use crate::squeue::Entry;
use crate::sys;

/// The file an operation targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fd {
    /// An ordinary file descriptor.
    Raw(RawFd),
    /// An index into the table set by [`crate::IoUring::register_files`]
    /// (sets `IOSQE_FIXED_FILE`).
    Fixed(u32),
}

impl Fd {
    fn apply(self, sqe: &mut sys::Sqe) {
        match self {
            Fd::Raw(fd) => sqe.fd = fd,
            Fd::Fixed(index) => {
                // The kernel reads the index from the same (signed) field.
                sqe.fd = index as i32;
                sqe.flags |= sys::IOSQE_FIXED_FILE;
            }
        }
    }
}

/// Does nothing; completes with result 0. Useful for wake-ups and probes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nop;

impl Nop {
    pub fn build(self) -> Entry {
        Entry(sys::Sqe { opcode: sys::IORING_OP_NOP, fd: -1, ..Default::default() })
    }
}

/// `pread(fd, buf, len, offset)` (IORING_OP_READ, Linux 5.6+).
/// `offset == u64::MAX` means "at the file position, advancing it".
#[derive(Clone, Copy, Debug)]
pub struct Read {
    pub fd: Fd,
    pub buf: *mut u8,
    pub len: u32,
    pub offset: u64,
}

impl Read {
    pub fn build(self) -> Entry {
        let mut sqe = sys::Sqe {
            opcode: sys::IORING_OP_READ,
            addr: self.buf as u64,
            len: self.len,
            off: self.offset,
            ..Default::default()
        };
        self.fd.apply(&mut sqe);
        Entry(sqe)
    }
}

/// Like [`Read`], into (part of) buffer `buf_index` registered with
/// [`crate::IoUring::register_buffers`]; `buf..buf+len` must lie inside it
/// (the kernel checks, failing with `-EFAULT`).
#[derive(Clone, Copy, Debug)]
pub struct ReadFixed {
    pub fd: Fd,
    pub buf: *mut u8,
    pub len: u32,
    pub offset: u64,
    pub buf_index: u16,
}

impl ReadFixed {
    pub fn build(self) -> Entry {
        let mut sqe = sys::Sqe {
            opcode: sys::IORING_OP_READ_FIXED,
            addr: self.buf as u64,
            len: self.len,
            off: self.offset,
            buf_index: self.buf_index,
            ..Default::default()
        };
        self.fd.apply(&mut sqe);
        Entry(sqe)
    }
}

/// Cancels every request in flight on the ring (Linux 5.19+); used by `Drop`.
pub(crate) struct CancelAll;

impl CancelAll {
    pub(crate) fn build(self) -> Entry {
        Entry(sys::Sqe {
            opcode: sys::IORING_OP_ASYNC_CANCEL,
            fd: -1,
            op_flags: sys::IORING_ASYNC_CANCEL_ALL | sys::IORING_ASYNC_CANCEL_ANY,
            ..Default::default()
        })
    }
}
