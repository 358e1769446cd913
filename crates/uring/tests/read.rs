//! Reads: random offsets at queue depth 64, EOF, bad fds, O_DIRECT,
//! registered buffers and registered files.

mod common;

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use common::{verify, Rng, TempFile, EBADF, EFAULT, EINVAL, O_DIRECT};
use uring::opcode::{Fd, Read, ReadFixed};
use uring::IoUring;

/// One read, waited for; returns the raw result.
fn read_once(ring: &mut IoUring, fd: Fd, buf: &mut [u8], offset: u64) -> i32 {
    let read = Read { fd, buf: buf.as_mut_ptr(), len: buf.len() as u32, offset };
    // SAFETY: `buf` is borrowed mutably until we return, after the completion.
    unsafe { ring.push(&read.build().user_data(42)).unwrap() };
    ring.submit_and_wait(1).unwrap();
    let c = ring.completions().next().unwrap();
    assert_eq!(c.user_data(), 42);
    c.result()
}

#[test]
fn many_random_reads_at_depth_64_return_every_byte() {
    const DEPTH: usize = 64;
    const MAX_LEN: u64 = 64 * 1024;
    let file = TempFile::in_target(3 * 1024 * 1024 + 123, 1);
    let f = file.open();
    let mut ring = IoUring::new(DEPTH as u32).unwrap();
    let mut bufs: Vec<Vec<u8>> = (0..DEPTH).map(|_| vec![0u8; MAX_LEN as usize]).collect();
    let mut meta = [(0u64, 0u32); DEPTH]; // (offset, len) per slot
    let mut free: VecDeque<usize> = (0..DEPTH).collect();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (total, mut issued, mut done, mut peak) = (4000, 0, 0, 0);
    let mut bytes = 0u64;
    while done < total {
        while issued < total {
            let Some(slot) = free.pop_front() else { break };
            // Mostly inside the file, some straddling or past EOF.
            let offset = rng.below(file.len + 4096);
            let len = 1 + rng.below(MAX_LEN) as u32;
            meta[slot] = (offset, len);
            bufs[slot].fill(0xAA);
            let read = Read { fd: Fd::Raw(f.as_raw_fd()), buf: bufs[slot].as_mut_ptr(), len, offset };
            // SAFETY: slot `slot` is not touched (nor its Vec resized) until
            // its completion is popped; `bufs` outlives `ring`.
            unsafe { ring.push(&read.build().user_data(slot as u64)).unwrap() };
            issued += 1;
        }
        ring.submit_and_wait(1).unwrap();
        peak = peak.max(ring.in_flight());
        let completed: Vec<_> = ring.completions().collect();
        for c in completed {
            let slot = c.user_data() as usize;
            let (offset, len) = meta[slot];
            let expect = file.len.saturating_sub(offset).min(u64::from(len));
            assert_eq!(c.result() as i64, expect as i64, "read of {len} at {offset}");
            verify(file.seed, offset, &bufs[slot][..expect as usize]);
            assert!(bufs[slot][expect as usize..len as usize].iter().all(|&b| b == 0xAA));
            bytes += expect;
            free.push_back(slot);
            done += 1;
        }
    }
    assert_eq!(peak, DEPTH as u64, "queue depth 64 was reached");
    assert!(bytes > 50 * 1024 * 1024);
    assert_eq!(ring.in_flight(), 0);
}

#[test]
fn read_past_eof_is_short_or_zero() {
    let file = TempFile::in_target(10_000, 2);
    let f = file.open();
    let mut ring = IoUring::new(4).unwrap();
    let mut buf = vec![0u8; 4096];
    assert_eq!(read_once(&mut ring, Fd::Raw(f.as_raw_fd()), &mut buf, 10_000 - 10), 10);
    verify(file.seed, 10_000 - 10, &buf[..10]);
    assert_eq!(read_once(&mut ring, Fd::Raw(f.as_raw_fd()), &mut buf, 10_000), 0);
    assert_eq!(read_once(&mut ring, Fd::Raw(f.as_raw_fd()), &mut buf, 1 << 40), 0);
    // offset u64::MAX = current position: reads advance it like read(2).
    let mut a = [0u8; 6000];
    assert_eq!(read_once(&mut ring, Fd::Raw(f.as_raw_fd()), &mut a, u64::MAX), 6000);
    assert_eq!(read_once(&mut ring, Fd::Raw(f.as_raw_fd()), &mut a, u64::MAX), 4000);
    verify(file.seed, 6000, &a[..4000]);
    assert_eq!(read_once(&mut ring, Fd::Raw(f.as_raw_fd()), &mut a, u64::MAX), 0);
}

#[test]
fn read_on_bad_fd_completes_with_ebadf() {
    let mut ring = IoUring::new(4).unwrap();
    let mut buf = vec![0u8; 128];
    assert_eq!(read_once(&mut ring, Fd::Raw(-1), &mut buf, 0), -EBADF);
    assert_eq!(read_once(&mut ring, Fd::Raw(1_000_000), &mut buf, 0), -EBADF);
    let c = {
        // SAFETY: a length-0 read never writes.
        unsafe { ring.push(&Read { fd: Fd::Raw(-1), buf: buf.as_mut_ptr(), len: 0, offset: 0 }.build()).unwrap() };
        ring.submit_and_wait(1).unwrap();
        ring.completions().next().unwrap()
    };
    assert_eq!(c.into_result().unwrap_err().raw_os_error(), Some(EBADF));
    assert!(buf.iter().all(|&b| b == 0));
}

/// A heap buffer with 4 KiB alignment for O_DIRECT.
struct Aligned {
    ptr: *mut u8,
    layout: Layout,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let layout = Layout::from_size_align(len, 4096).unwrap();
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        Aligned { ptr, layout }
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is a live allocation of `layout.size()` initialised bytes.
        unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size()) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in `new`.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// Returns "direct" when O_DIRECT reads worked, "einval" when the filesystem
/// refused O_DIRECT and the refusal came back cleanly as EINVAL.
fn o_direct_reads_in(dir: &Path) -> &'static str {
    const LEN: u64 = 1024 * 1024;
    let file = TempFile::new(dir, LEN, 4).expect("create file for O_DIRECT");
    let f = match OpenOptions::new().read(true).custom_flags(O_DIRECT).open(&file.path) {
        Ok(f) => f,
        Err(e) => {
            // e.g. tmpfs before 6.6: refused at open, reported as an io::Error.
            assert_eq!(e.raw_os_error(), Some(EINVAL), "O_DIRECT open in {}: {e}", dir.display());
            eprintln!("O_DIRECT unsupported in {} (open: {e}); checked EINVAL", dir.display());
            return "einval";
        }
    };
    let mut ring = IoUring::new(32).unwrap();
    let bufs: Vec<Aligned> = (0..32).map(|i| Aligned::new(4096 * (1 + i % 4))).collect();
    let mut rng = Rng(99);
    let mut offsets = Vec::new();
    for (i, b) in bufs.iter().enumerate() {
        let len = b.layout.size() as u64;
        let offset = rng.below(LEN / 4096) * 4096; // aligned; some run past EOF
        offsets.push(offset);
        let read = Read { fd: Fd::Raw(f.as_raw_fd()), buf: b.ptr, len: len as u32, offset };
        // SAFETY: each buffer is distinct, outlives the ring, and is only
        // read after its completion is popped.
        unsafe { ring.push(&read.build().user_data(i as u64)).unwrap() };
    }
    ring.submit_and_wait(32).unwrap();
    let mut einval = 0;
    for c in ring.completions() {
        let i = c.user_data() as usize;
        if c.result() == -EINVAL {
            einval += 1;
            continue;
        }
        let expect = (LEN - offsets[i]).min(bufs[i].layout.size() as u64);
        assert_eq!(c.result() as u64, expect, "O_DIRECT read {i} in {}", dir.display());
        verify(file.seed, offsets[i], &bufs[i].as_slice()[..expect as usize]);
    }
    assert!(einval == 0 || einval == 32, "O_DIRECT EINVAL for only {einval} of 32 reads");
    // A misaligned file offset: EINVAL where the device requires alignment,
    // or correct data where the filesystem falls back to buffered I/O.
    let b = Aligned::new(4096);
    let read = Read { fd: Fd::Raw(f.as_raw_fd()), buf: b.ptr, len: 4096, offset: 1 };
    // SAFETY: as above.
    unsafe { ring.push(&read.build().user_data(77)).unwrap() };
    ring.submit_and_wait(1).unwrap();
    let r = ring.completions().next().unwrap().result();
    if r == -EINVAL {
        // reported cleanly
    } else {
        assert_eq!(r, 4096, "misaligned O_DIRECT read");
        verify(file.seed, 1, b.as_slice());
    }
    if einval == 32 {
        eprintln!("O_DIRECT reads refused in {} with EINVAL (reported cleanly)", dir.display());
        "einval"
    } else {
        "direct"
    }
}

#[test]
fn o_direct_reads_with_aligned_buffers() {
    let mut outcomes = Vec::new();
    for dir in ["/var/tmp", env!("CARGO_TARGET_TMPDIR")] {
        let dir = Path::new(dir);
        if !dir.is_dir() {
            eprintln!("{} does not exist; not tried", dir.display());
            continue;
        }
        outcomes.push((dir, o_direct_reads_in(dir)));
    }
    eprintln!("O_DIRECT outcomes: {outcomes:?}");
    assert!(!outcomes.is_empty(), "no directory to try O_DIRECT in");
}

#[test]
fn registered_buffers_and_read_fixed() {
    let file = TempFile::in_target(256 * 1024, 5);
    let f = file.open();
    let mut ring = IoUring::new(8).unwrap();
    let mut a = vec![0u8; 16 * 1024];
    let mut b = vec![0u8; 16 * 1024];
    // Register all of `a` but only the first half of `b`.
    // SAFETY: `a` and `b` outlive the ring and are not resized.
    unsafe { ring.register_buffers(&[(a.as_mut_ptr(), a.len()), (b.as_mut_ptr(), 8 * 1024)]).unwrap() };
    // A second registration without unregistering is refused (EBUSY).
    // SAFETY: as above.
    assert!(unsafe { ring.register_buffers(&[(a.as_mut_ptr(), 4096)]) }.is_err());

    let fd = Fd::Raw(f.as_raw_fd());
    let (pa, pb) = (a.as_mut_ptr(), b.as_mut_ptr());
    let reads = [
        ReadFixed { fd, buf: pa, len: 16 * 1024, offset: 1000, buf_index: 0 },
        ReadFixed { fd, buf: pb.wrapping_add(100), len: 1000, offset: 77_777, buf_index: 1 },
        // Runs past the registered 8 KiB of `b` (still inside the Vec): EFAULT.
        ReadFixed { fd, buf: pb.wrapping_add(8 * 1024 - 10), len: 100, offset: 0, buf_index: 1 },
        // No buffer 5.
        ReadFixed { fd, buf: pa, len: 10, offset: 0, buf_index: 5 },
    ];
    for (i, r) in reads.iter().enumerate() {
        // SAFETY: every target range lies inside `a` or `b`, which are not
        // accessed until all completions are popped.
        unsafe { ring.push(&r.build().user_data(i as u64)).unwrap() };
    }
    ring.submit_and_wait(4).unwrap();
    let mut results: Vec<(u64, i32)> = ring.completions().map(|c| (c.user_data(), c.result())).collect();
    results.sort();
    assert_eq!(results, [(0, 16 * 1024), (1, 1000), (2, -EFAULT), (3, -EFAULT)]);
    verify(file.seed, 1000, &a);
    verify(file.seed, 77_777, &b[100..1100]);
    assert!(b[..100].iter().chain(&b[1100..]).all(|&x| x == 0));

    ring.unregister_buffers().unwrap();
    let after = ReadFixed { fd, buf: pa, len: 10, offset: 0, buf_index: 0 };
    // SAFETY: as above.
    unsafe { ring.push(&after.build()).unwrap() };
    ring.submit_and_wait(1).unwrap();
    assert_eq!(ring.completions().next().unwrap().result(), -EFAULT);
    assert!(ring.unregister_buffers().is_err(), "nothing registered any more");
}

#[test]
fn registered_files_and_fixed_fd() {
    let fa = TempFile::in_target(5000, 6);
    let fb = TempFile::in_target(7000, 7);
    let file_a = fa.open();
    let mut ring = IoUring::new(8).unwrap();
    {
        let file_b = fb.open();
        ring.register_files(&[file_a.as_raw_fd(), -1, file_b.as_raw_fd()]).unwrap();
    } // file_b closed: the ring's reference keeps slot 2 usable
    let mut buf = vec![0u8; 3000];
    assert_eq!(read_once(&mut ring, Fd::Fixed(2), &mut buf, 6000), 1000);
    verify(fb.seed, 6000, &buf[..1000]);
    assert_eq!(read_once(&mut ring, Fd::Fixed(0), &mut buf, 100), 3000);
    verify(fa.seed, 100, &buf);
    assert_eq!(read_once(&mut ring, Fd::Fixed(1), &mut buf, 0), -EBADF, "empty slot");
    assert_eq!(read_once(&mut ring, Fd::Fixed(3), &mut buf, 0), -EBADF, "out of range");

    // Registered buffers and files together.
    let mut fixed = vec![0u8; 4096];
    // SAFETY: `fixed` outlives the ring and is untouched until the completion.
    unsafe { ring.register_buffers(&[(fixed.as_mut_ptr(), fixed.len())]).unwrap() };
    let r = ReadFixed { fd: Fd::Fixed(2), buf: fixed.as_mut_ptr(), len: 4096, offset: 10, buf_index: 0 };
    // SAFETY: as above.
    unsafe { ring.push(&r.build().user_data(9)).unwrap() };
    ring.submit_and_wait(1).unwrap();
    assert_eq!(ring.completions().next().unwrap().result(), 4096);
    verify(fb.seed, 10, &fixed);

    ring.unregister_files().unwrap();
    assert_eq!(read_once(&mut ring, Fd::Fixed(0), &mut buf, 0), -EBADF, "after unregister");
}
