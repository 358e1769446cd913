//! The submission queue: [`Entry`] (one SQE, built by [`crate::opcode`]) and
//! the ring bookkeeping behind [`crate::IoUring::push`].

use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::sys::{self, Mmap, Params};

/// One submission queue entry. Build it with an [`crate::opcode`] builder.
#[derive(Clone, Copy)]
pub struct Entry(pub(crate) sys::Sqe);

impl Entry {
    /// Sets the value the completion will carry back ([`crate::cqueue::Entry::user_data`]).
    #[must_use]
    pub fn user_data(mut self, user_data: u64) -> Entry {
        self.0.user_data = user_data;
        self
    }

    pub fn get_user_data(&self) -> u64 {
        self.0.user_data
    }

    /// The `IORING_OP_*` number.
    pub fn opcode(&self) -> u8 {
        self.0.opcode
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        f.debug_struct("Entry")
            .field("opcode", &s.opcode)
            .field("flags", &s.flags)
            .field("fd", &s.fd)
            .field("off", &s.off)
            .field("addr", &format_args!("{:#x}", s.addr))
            .field("len", &s.len)
            .field("buf_index", &s.buf_index)
            .field("user_data", &s.user_data)
            .finish()
    }
}

/// The submission queue is full: submit (and possibly reap) before pushing more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushError;

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("io_uring submission queue is full")
    }
}

impl std::error::Error for PushError {}

/// Offsets of the SQ ring words plus our cached tail. We are the only
/// writer of `tail`; the kernel is the only writer of `head`.
#[derive(Debug)]
pub(crate) struct SubmissionQueue {
    head: u32,
    tail: u32,
    flags: u32,
    mask: u32,
    entries: u32,
    /// Our copy of the tail (the published one always equals it).
    local_tail: u32,
}

impl SubmissionQueue {
    pub(crate) fn new(ring: &Mmap, p: &Params) -> SubmissionQueue {
        let off = &p.sq_off;
        let mask = ring.atomic_u32(off.ring_mask).load(Relaxed);
        let entries = ring.atomic_u32(off.ring_entries).load(Relaxed);
        // The indirection array maps ring slot -> SQE index; we use the
        // identity, written once, so slot `tail & mask` is SQE `tail & mask`.
        for i in 0..entries {
            ring.atomic_u32(off.array + 4 * i).store(i, Relaxed);
        }
        // Published by the first Release store of `tail`.
        SubmissionQueue {
            head: off.head,
            tail: off.tail,
            flags: off.flags,
            mask,
            entries,
            local_tail: ring.atomic_u32(off.tail).load(Relaxed),
        }
    }

    pub(crate) fn capacity(&self) -> u32 {
        self.entries
    }

    /// Entries pushed but not yet consumed by the kernel.
    pub(crate) fn pending(&self, ring: &Mmap) -> u32 {
        // Acquire pairs with the kernel's release of `head` after it has
        // finished reading the SQEs it consumed.
        self.local_tail.wrapping_sub(ring.atomic_u32(self.head).load(Acquire))
    }

    pub(crate) fn push(&mut self, ring: &Mmap, sqes: &Mmap, entry: &Entry) -> Result<(), PushError> {
        if self.pending(ring) >= self.entries {
            return Err(PushError);
        }
        let slot = (self.local_tail & self.mask) as usize;
        sqes.write_sqe(slot * sys::SQE_SIZE, &entry.0);
        self.local_tail = self.local_tail.wrapping_add(1);
        // Release: the SQE contents are visible before the kernel sees the tail.
        ring.atomic_u32(self.tail).store(self.local_tail, Release);
        Ok(())
    }

    /// Withdraws entries the kernel has not consumed (only sound while no
    /// `io_uring_enter` is running, which `&mut IoUring` guarantees).
    pub(crate) fn withdraw_pending(&mut self, ring: &Mmap) {
        self.local_tail = ring.atomic_u32(self.head).load(Acquire);
        ring.atomic_u32(self.tail).store(self.local_tail, Release);
    }

    /// The kernel has completions parked in its overflow list; an enter
    /// with GETEVENTS moves them into the CQ ring.
    pub(crate) fn cq_overflowed(&self, ring: &Mmap) -> bool {
        ring.atomic_u32(self.flags).load(Relaxed) & sys::IORING_SQ_CQ_OVERFLOW != 0
    }
}
