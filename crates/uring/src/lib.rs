//! A small, safe, std-only io_uring binding in the style of tokio-rs/io-uring.
//!
//! - `sys` (private) holds the kernel ABI and every FFI call and raw-memory
//!   access, behind small checked wrappers;
//! - `arch` (private) holds the numbers that differ by architecture, one
//!   table per supported target (x86_64, aarch64; others do not build);
//! - [`opcode`] builds submission [`squeue::Entry`]s (`Nop`, `Read`, `ReadFixed`);
//! - [`IoUring`] owns the ring: [`IoUring::push`], [`IoUring::submit`],
//!   [`IoUring::submit_and_wait`], [`IoUring::completions`], and buffer/file
//!   registration;
//! - [`available`] tells a caller whether io_uring works here, and why not.
//!
//! ```
//! use uring::{opcode, IoUring};
//! let mut ring = IoUring::new(8)?;
//! // SAFETY: a Nop carries no pointers.
//! unsafe { ring.push(&opcode::Nop.build().user_data(7)) }.unwrap();
//! ring.submit_and_wait(1)?;
//! let done = ring.completions().next().unwrap();
//! assert_eq!((done.user_data(), done.result()), (7, 0));
//! # Ok::<(), std::io::Error>(())
//! ```

mod arch;
#[cfg(test)]
mod c_headers;
pub mod cqueue;
pub mod opcode;
pub mod squeue;
mod sys;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use cqueue::CompletionQueue;
use squeue::{PushError, SubmissionQueue};
use sys::Mmap;

/// An io_uring instance: the ring fd and its three mappings.
///
/// Dropping it withdraws entries that were pushed but never submitted,
/// cancels everything in flight and waits until the kernel has completed it,
/// then unmaps the rings and closes the fd. So a buffer handed to the kernel
/// is never written after the `IoUring` is gone.
#[derive(Debug)]
pub struct IoUring {
    sq: SubmissionQueue,
    cq: CompletionQueue,
    sq_ring: Mmap,
    /// `None` with IORING_FEAT_SINGLE_MMAP: the CQ ring shares `sq_ring`.
    cq_ring: Option<Mmap>,
    sqes: Mmap,
    fd: OwnedFd,
    features: u32,
    /// Submitted to the kernel, completion not yet popped.
    in_flight: u64,
}

const CANCEL_USER_DATA: u64 = u64::MAX;

impl IoUring {
    /// Sets up a ring with (at least, rounded to a power of two) `entries`
    /// submission slots; the completion ring gets twice as many.
    pub fn new(entries: u32) -> io::Result<IoUring> {
        let mut p = sys::Params::default();
        let fd = sys::setup(entries, &mut p)?;
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * sys::CQE_SIZE;
        let (sq_ring, cq_ring) = if p.features & sys::IORING_FEAT_SINGLE_MMAP != 0 {
            (Mmap::new(fd.as_fd(), sq_len.max(cq_len), sys::IORING_OFF_SQ_RING)?, None)
        } else {
            let sq = Mmap::new(fd.as_fd(), sq_len, sys::IORING_OFF_SQ_RING)?;
            (sq, Some(Mmap::new(fd.as_fd(), cq_len, sys::IORING_OFF_CQ_RING)?))
        };
        let sqes = Mmap::new(fd.as_fd(), p.sq_entries as usize * sys::SQE_SIZE, sys::IORING_OFF_SQES)?;
        let cq = CompletionQueue::new(cq_ring.as_ref().unwrap_or(&sq_ring), &p);
        Ok(IoUring {
            sq: SubmissionQueue::new(&sq_ring, &p),
            cq,
            sq_ring,
            cq_ring,
            sqes,
            fd,
            features: p.features,
            in_flight: 0,
        })
    }

    /// Number of submission slots.
    pub fn sq_entries(&self) -> u32 {
        self.sq.capacity()
    }

    /// Number of completion slots (completions beyond it wait in the kernel
    /// and are flushed by the next `submit*`).
    pub fn cq_entries(&self) -> u32 {
        self.cq.capacity()
    }

    /// `IORING_FEAT_*` bits reported by the kernel.
    pub fn features(&self) -> u32 {
        self.features
    }

    /// Operations submitted whose completion has not been popped yet.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Entries pushed but not yet submitted.
    pub fn pending(&self) -> u32 {
        self.sq.pending(&self.sq_ring)
    }

    /// Queues `entry` for the next [`submit`](Self::submit); fails with
    /// [`PushError`] when all submission slots are taken.
    ///
    /// # Safety
    /// The kernel acts on the entry asynchronously, after this call returns.
    /// Every pointer it carries must therefore stay valid until the entry's
    /// completion has been popped from [`completions`](Self::completions), or
    /// until this `IoUring` is dropped (drop cancels and waits for everything
    /// in flight; if the ring is leaked, e.g. with `mem::forget`, the memory
    /// must be leaked too). For [`opcode::Read`] and [`opcode::ReadFixed`]:
    /// `buf` must be valid for writes of `len` bytes, and nothing may read or
    /// write those bytes until then. A [`opcode::Nop`] carries no pointers.
    pub unsafe fn push(&mut self, entry: &squeue::Entry) -> Result<(), PushError> {
        self.sq.push(&self.sq_ring, &self.sqes, entry)
    }

    /// Hands every pushed entry to the kernel; returns how many it took.
    /// With nothing pushed this is a no-op returning `Ok(0)`.
    pub fn submit(&mut self) -> io::Result<usize> {
        self.enter(0)
    }

    /// Like [`submit`](Self::submit), then blocks until at least `want`
    /// completions are ready to pop (or the completion ring is full).
    /// Fails with `InvalidInput` if fewer than `want` operations are
    /// submitted or pending, instead of waiting forever. Signals (`EINTR`)
    /// are retried.
    pub fn submit_and_wait(&mut self, want: usize) -> io::Result<usize> {
        self.enter(want)
    }

    fn enter(&mut self, want: usize) -> io::Result<usize> {
        let possible = self.in_flight + u64::from(self.sq.pending(&self.sq_ring));
        if want as u64 > possible {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("waiting for {want} completions with only {possible} operations in flight"),
            ));
        }
        let want = u32::try_from(want).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut submitted = 0usize;
        loop {
            let to_submit = self.sq.pending(&self.sq_ring);
            let cq_ring = self.cq_ring.as_ref().unwrap_or(&self.sq_ring);
            let ready = self.cq.ready(cq_ring);
            let wait = want > ready && ready < self.cq.capacity();
            let flush = self.sq.cq_overflowed(&self.sq_ring);
            if to_submit == 0 && !wait && !flush {
                return Ok(submitted);
            }
            let flags = if wait || flush { sys::IORING_ENTER_GETEVENTS } else { 0 };
            let min_complete = if wait { want } else { 0 };
            match sys::enter(self.fd.as_fd(), to_submit, min_complete, flags) {
                Ok(n) => {
                    submitted += n as usize;
                    self.in_flight += u64::from(n);
                    if !wait {
                        return Ok(submitted);
                    }
                    // A signal can cut the wait short after a successful
                    // submission; the loop re-checks readiness.
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if submitted > 0 => return Ok(submitted),
                Err(e) => return Err(e),
            }
        }
    }

    /// Pops ready completions, oldest first. Never blocks; stops when the
    /// completion ring is empty.
    pub fn completions(&mut self) -> Completions<'_> {
        Completions { ring: self }
    }

    fn pop(&mut self) -> Option<cqueue::Entry> {
        let cq_ring = self.cq_ring.as_ref().unwrap_or(&self.sq_ring);
        let entry = self.cq.pop(cq_ring)?;
        self.in_flight = self.in_flight.saturating_sub(1);
        Some(entry)
    }

    /// Registers buffers for [`opcode::ReadFixed`] (index = position in
    /// `bufs`). Replaces nothing: unregister first to change the set.
    ///
    /// # Safety
    /// Each `(ptr, len)` must be memory valid for writes that stays allocated
    /// until [`unregister_buffers`](Self::unregister_buffers) or drop: the
    /// kernel pins those pages and writes into them on every fixed read.
    pub unsafe fn register_buffers(&mut self, bufs: &[(*mut u8, usize)]) -> io::Result<()> {
        let iovecs: Vec<sys::Iovec> =
            bufs.iter().map(|&(base, len)| sys::Iovec { base: base.cast(), len }).collect();
        // SAFETY: forwarded to our caller (same contract).
        unsafe { sys::register_buffers(self.fd.as_fd(), &iovecs) }
    }

    pub fn unregister_buffers(&mut self) -> io::Result<()> {
        sys::unregister_buffers(self.fd.as_fd())
    }

    /// Registers files for [`opcode::Fd::Fixed`] (index = position in `fds`).
    /// The kernel keeps its own reference: closing an fd afterwards leaves
    /// its fixed slot usable until [`unregister_files`](Self::unregister_files).
    /// A `-1` entry leaves that slot empty.
    pub fn register_files(&mut self, fds: &[RawFd]) -> io::Result<()> {
        sys::register_files(self.fd.as_fd(), fds)
    }

    pub fn unregister_files(&mut self) -> io::Result<()> {
        sys::unregister_files(self.fd.as_fd())
    }
}

impl AsFd for IoUring {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for IoUring {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for IoUring {
    fn drop(&mut self) {
        // Never let the kernel see entries that were pushed but not submitted.
        self.sq.withdraw_pending(&self.sq_ring);
        if self.in_flight == 0 {
            return;
        }
        // Cancel what can be cancelled (Linux 5.19+; older kernels fail the
        // cancel with -EINVAL and we simply wait), then wait for everything.
        let cancel = opcode::CancelAll.build().user_data(CANCEL_USER_DATA);
        let _ = self.sq.push(&self.sq_ring, &self.sqes, &cancel);
        loop {
            while self.pop().is_some() {}
            let cq_ring = self.cq_ring.as_ref().unwrap_or(&self.sq_ring);
            // Completions the kernel dropped (only under memory pressure)
            // never arrive; what remains beyond them is truly outstanding.
            let lost = u64::from(self.cq.dropped(cq_ring));
            if self.in_flight <= lost && self.sq.pending(&self.sq_ring) == 0 {
                return;
            }
            if let Err(e) = self.enter(1) {
                // Unreachable in practice (the fd is ours and valid). Freeing
                // the rings now could let the kernel write into buffers our
                // callers are about to free; aborting is the only sound exit.
                eprintln!("uring: cannot wait for in-flight operations on drop: {e}");
                std::process::abort();
            }
        }
    }
}

/// Iterator returned by [`IoUring::completions`].
#[derive(Debug)]
pub struct Completions<'a> {
    ring: &'a mut IoUring,
}

impl Iterator for Completions<'_> {
    type Item = cqueue::Entry;

    fn next(&mut self) -> Option<cqueue::Entry> {
        self.ring.pop()
    }
}

/// Checks that io_uring works here: sets up a tiny ring and round-trips a
/// `Nop` and a `Read` (the latter needs Linux 5.6). The error says why not —
/// `ENOSYS` (no io_uring), `EPERM` (`kernel.io_uring_disabled`, seccomp, or
/// a container policy), `Unsupported` (kernel too old) — so a caller can fall
/// back to a thread pool and log the reason.
pub fn available() -> io::Result<()> {
    let mut ring = IoUring::new(2)?;
    let read_bad_fd = opcode::Read { fd: opcode::Fd::Raw(-1), buf: std::ptr::null_mut(), len: 0, offset: 0 };
    // SAFETY: the Nop carries no pointer; the Read has length 0 (nothing is
    // ever written) and fails on the invalid fd anyway.
    unsafe {
        ring.push(&opcode::Nop.build().user_data(1)).map_err(io::Error::other)?;
        ring.push(&read_bad_fd.build().user_data(2)).map_err(io::Error::other)?;
    }
    ring.submit_and_wait(2)?;
    let mut seen = 0;
    for c in ring.completions() {
        seen += 1;
        match (c.user_data(), c.result()) {
            (1, 0) | (2, -9) => {} // Nop ok; Read reached the fd check: EBADF
            (2, -22) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "io_uring lacks IORING_OP_READ (kernel older than 5.6)",
                ))
            }
            (_, res) if res < 0 => return Err(io::Error::from_raw_os_error(-res)),
            (u, res) => return Err(io::Error::other(format!("io_uring probe: op {u} returned {res}"))),
        }
    }
    if seen != 2 {
        return Err(io::Error::other("io_uring probe: completions missing"));
    }
    Ok(())
}
