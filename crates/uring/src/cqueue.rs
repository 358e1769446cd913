//! The completion queue: [`Entry`] (one CQE) and the ring bookkeeping behind
//! [`crate::IoUring::completions`].

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::sys::{self, Mmap, Params};

/// One completion: the submission's `user_data` and its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry(pub(crate) sys::Cqe);

impl Entry {
    pub fn user_data(&self) -> u64 {
        self.0.user_data
    }

    /// What the equivalent syscall would return: bytes read (0 at end of
    /// file), or a negated errno (`-9` for `EBADF`).
    pub fn result(&self) -> i32 {
        self.0.res
    }

    /// `IORING_CQE_F_*` flags (none are meaningful for this crate's opcodes).
    pub fn flags(&self) -> u32 {
        self.0.flags
    }

    /// [`Self::result`] as an `io::Result`: `Ok(n)` or the errno as an error.
    pub fn into_result(self) -> std::io::Result<u32> {
        if self.0.res < 0 {
            Err(std::io::Error::from_raw_os_error(-self.0.res))
        } else {
            Ok(self.0.res as u32)
        }
    }
}

/// Offsets of the CQ ring words plus our cached head. We are the only
/// writer of `head`; the kernel is the only writer of `tail`.
#[derive(Debug)]
pub(crate) struct CompletionQueue {
    head: u32,
    tail: u32,
    cqes: u32,
    overflow: u32,
    mask: u32,
    entries: u32,
    local_head: u32,
}

impl CompletionQueue {
    pub(crate) fn new(ring: &Mmap, p: &Params) -> CompletionQueue {
        let off = &p.cq_off;
        CompletionQueue {
            head: off.head,
            tail: off.tail,
            cqes: off.cqes,
            overflow: off.overflow,
            mask: ring.atomic_u32(off.ring_mask).load(Relaxed),
            entries: ring.atomic_u32(off.ring_entries).load(Relaxed),
            local_head: ring.atomic_u32(off.head).load(Relaxed),
        }
    }

    pub(crate) fn capacity(&self) -> u32 {
        self.entries
    }

    /// Completions ready to pop.
    pub(crate) fn ready(&self, ring: &Mmap) -> u32 {
        // Acquire pairs with the kernel's release of `tail` after writing CQEs.
        ring.atomic_u32(self.tail).load(Acquire).wrapping_sub(self.local_head)
    }

    /// Completions the kernel had to drop (CQ full and, with
    /// IORING_FEAT_NODROP, no memory to park them): they will never arrive.
    pub(crate) fn dropped(&self, ring: &Mmap) -> u32 {
        ring.atomic_u32(self.overflow).load(Relaxed)
    }

    pub(crate) fn pop(&mut self, ring: &Mmap) -> Option<Entry> {
        if self.ready(ring) == 0 {
            return None;
        }
        let slot = (self.local_head & self.mask) as usize;
        let cqe = ring.read_cqe(self.cqes as usize + slot * sys::CQE_SIZE);
        self.local_head = self.local_head.wrapping_add(1);
        // Release: our read of the slot happens before the kernel may reuse it.
        ring.atomic_u32(self.head).store(self.local_head, Release);
        Some(Entry(cqe))
    }
}
