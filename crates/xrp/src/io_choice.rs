//! How the batch engine issues a file's reads, chosen by measuring the file.
//!
//! Three cases, told apart by what io_uring does with a read:
//! - it is in flight at the device (virtio, NVMe) while the ring's thread
//!   runs other chains' programs: **one ring**, as deep as the batch;
//! - it completes inline, inside `io_uring_enter` (a buffered file whose pages
//!   are cached; zram on Linux 6.18, which decompresses in the submitter):
//!   every read costs CPU in the submitting thread. One ring still pays:
//!   it submits a round of reads per system call, which on the development
//!   VM made 1,000 depth-6 lookups 2.7 times as fast on zram as `pread`
//!   threads (2.8 times in the page cache). But one ring is one core, so
//!   **one ring per core**, each on its own thread, keeps them all busy;
//! - it goes to a kernel worker thread (io-wq), because the device cannot
//!   take it without blocking the submitter: a thread hand-off per read, so
//!   **threads doing `pread`**, one per core, instead (none of the
//!   development VM's devices does this, so this case is not measured).
//!
//! The measurement ([`measure`]), once per file (and remembered per device:
//! [`for_file`]): on a new thread, [`PROBE_READS`] reads at offsets spread
//! over the file, one at a time, through a fresh ring. A read whose
//! completion is already posted when `io_uring_enter` returns completed
//! inline. A read during which an io-wq worker of that thread ran (a thread
//! `/proc/self/task/*/comm` names `iou-wrk-<tid>`, whose `schedstat` counts
//! one more time slice, or which appeared) was handed to a worker. One such
//! read is not enough: a direct read of a range with dirty cached pages
//! goes to a worker once, to write them back first. The rule is [`choose`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use uring::{opcode, IoUring};

use crate::abi::PAGE_SIZE;
use crate::file::XrpFile;
use crate::page::Page;

/// Reads per measurement: enough that one stray completion does not decide.
pub const PROBE_READS: u32 = 8;

/// What io_uring did with the probe reads of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measurement {
    /// `reads` reads: `inline` of them completed within `io_uring_enter`,
    /// `punted` were handed to kernel worker threads.
    Probed { reads: u32, inline: u32, punted: u32 },
    /// No ring could be set up (kernel too old, seccomp, `io_uring_disabled`).
    NoRing { why: String },
    /// The file holds no bytes to read.
    Empty,
}

/// How a batch issues its reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchIo {
    /// This many io_urings, one per thread, the engine's depth of reads in flight over all.
    Rings(usize),
    /// This many threads, each running whole chains with `pread`.
    Threads(usize),
}

/// The engine's choice for a file and why, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoChoice {
    pub io: BatchIo,
    pub reason: String,
}

/// Threads (or rings) for a batch whose reads cost CPU: one per core, at most `depth`.
pub fn cpu_threads(depth: u32) -> usize {
    cores().min(depth.max(1) as usize)
}

/// The cores this process may use, found once: `available_parallelism`
/// reads the cgroup's CPU quota (three files under /proc and /sys) on every
/// call, and every batch asked.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// Threads when io_uring is missing and reads may wait on a device: each
/// blocked in `pread`, so up to `depth` of them, at most this many.
pub const FALLBACK_THREADS: usize = 16;

/// The rule: threads doing `pread`, one per core (`cpu_threads`), when at
/// least half the probe reads went to kernel workers; one io_uring per
/// core when at least half completed inline; one io_uring otherwise. Threads
/// doing `pread` (up to `FALLBACK_THREADS`) where io_uring cannot be set up.
pub fn choose(m: &Measurement, depth: u32) -> IoChoice {
    match *m {
        Measurement::NoRing { ref why } => IoChoice {
            io: BatchIo::Threads((depth as usize).clamp(1, FALLBACK_THREADS)),
            reason: format!("io_uring is unavailable: {why}"),
        },
        Measurement::Empty => IoChoice { io: BatchIo::Rings(1), reason: "the file is empty: nothing to measure".into() },
        Measurement::Probed { reads, punted, .. } if 2 * punted >= reads => IoChoice {
            io: BatchIo::Threads(cpu_threads(depth)),
            reason: format!("io_uring handed {punted} of {reads} probe reads to kernel workers: pread on one thread per core"),
        },
        Measurement::Probed { reads, inline, .. } if 2 * inline >= reads => IoChoice {
            io: BatchIo::Rings(cpu_threads(depth)),
            reason: format!("io_uring completed {inline} of {reads} probe reads inline: reads cost CPU, one ring per core"),
        },
        Measurement::Probed { reads, inline, .. } => IoChoice {
            io: BatchIo::Rings(1),
            reason: format!("{} of {reads} probe reads were in flight at the device", reads - inline),
        },
    }
}

/// Where the file's reads go: its device (and inode when buffered, since
/// the page cache holds one file's pages, not the device's), and how it is opened.
type DeviceKey = (u64, u64, bool);

fn device_key(file: &XrpFile) -> DeviceKey {
    let (dev, ino) = file.device();
    (dev, if file.is_direct() { 0 } else { ino }, file.is_direct())
}

/// The measurement of `file`'s device, made once per device per process.
pub fn for_file(file: &XrpFile) -> Measurement {
    static SEEN: OnceLock<Mutex<HashMap<DeviceKey, Measurement>>> = OnceLock::new();
    let key = device_key(file);
    let seen = SEEN.get_or_init(Default::default);
    if let Some(m) = seen.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return m.clone();
    }
    // Measured outside the lock: two first batches at once measure twice, harmlessly.
    let m = measure(file);
    seen.lock().unwrap_or_else(|p| p.into_inner()).insert(key, m.clone());
    m
}

/// Probes `file` on a new thread, so that the io-wq workers counted are the
/// probe's own (a worker is named for the thread whose reads it serves).
/// When reads went to workers it probes again, on another new thread: the
/// first direct read of a range whose cached pages are dirty (a file just
/// written) goes to a worker to write them back, once; a device that blocks
/// its submitter sends every read there every time.
pub fn measure(file: &XrpFile) -> Measurement {
    let probe = || {
        std::thread::scope(|s| s.spawn(|| probe_here(file)).join())
            .unwrap_or_else(|_| Measurement::NoRing { why: "the probe thread panicked".into() })
    };
    match probe() {
        Measurement::Probed { punted, .. } if punted > 0 => probe(),
        m => m,
    }
}

fn probe_here(file: &XrpFile) -> Measurement {
    let reads = probe_reads(file.size(), file.block_size() as u64);
    if reads.is_empty() {
        return Measurement::Empty;
    }
    // Declared before the ring, so dropped after it: a ring drops only once
    // every read in flight has completed.
    let mut page = Page::new();
    let mut ring = match IoUring::new(1) {
        Ok(r) => r,
        Err(e) => return Measurement::NoRing { why: e.to_string() },
    };
    let tid = this_thread_id();
    let (mut inline, mut punted) = (0, 0);
    for &(offset, len) in &reads {
        let before = tid.as_deref().map(worker_slices);
        let entry = opcode::Read { fd: opcode::Fd::Raw(file.fd()), buf: page.as_mut_ptr(), len: len as u32, offset }.build();
        // SAFETY: `page` is valid for `len` <= 4096 bytes of writes and is not
        // touched until the completion is popped below, or until the ring
        // (which waits for everything in flight) has dropped.
        if unsafe { ring.push(&entry) }.is_err() {
            return Measurement::NoRing { why: "the submission queue refused a read".into() };
        }
        if let Err(e) = ring.submit() {
            return Measurement::NoRing { why: e.to_string() };
        }
        if ring.completions().next().is_some() {
            inline += 1;
            continue;
        }
        if let Err(e) = ring.submit_and_wait(1) {
            return Measurement::NoRing { why: e.to_string() };
        }
        ring.completions().for_each(drop);
        if before.is_some() && tid.as_deref().map(worker_slices) != before {
            punted += 1;
        }
    }
    Measurement::Probed { reads: reads.len() as u32, inline, punted }
}

/// Up to `PROBE_READS` reads spread over a file of `size` bytes, each one
/// page (or, near the end, one block) at a multiple of both.
fn probe_reads(size: u64, block: u64) -> Vec<(u64, u64)> {
    let step = PAGE_SIZE as u64;
    if size < block {
        return Vec::new();
    }
    let pages = size / step;
    if pages == 0 {
        return vec![(0, block)];
    }
    let n = (PROBE_READS as u64).min(pages);
    let mut offsets: Vec<u64> = (0..n).map(|i| i * pages / n * step).collect();
    offsets.dedup();
    offsets.into_iter().map(|o| (o, step)).collect()
}

/// This thread's id as the kernel names it (`/proc/thread-self` is `<pid>/task/<tid>`).
fn this_thread_id() -> Option<String> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// The io-wq workers serving thread `tid`: how many, and the time slices
/// they have run (`schedstat`'s third field; 0 where the kernel keeps none,
/// and then a new worker is what shows).
fn worker_slices(tid: &str) -> (u32, u64) {
    let name = format!("iou-wrk-{tid}");
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return (0, 0) };
    let mut found = (0, 0);
    for task in tasks.flatten() {
        let path = task.path();
        if std::fs::read_to_string(path.join("comm")).is_ok_and(|c| c.trim_end() == name) {
            let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            found.0 += 1;
            found.1 += stat.split_whitespace().nth(2).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let probed = |inline, punted| Measurement::Probed { reads: 8, inline, punted };
        let cores = cpu_threads(32);
        // A dirty range sends one direct read to a worker: still the device.
        for m in [probed(0, 0), probed(3, 0), probed(0, 1), probed(3, 3)] {
            assert_eq!(choose(&m, 32).io, BatchIo::Rings(1), "{m:?}");
        }
        for m in [probed(4, 0), probed(8, 0)] {
            assert_eq!(choose(&m, 32).io, BatchIo::Rings(cores), "{m:?}");
        }
        for m in [probed(0, 4), probed(0, 8), probed(4, 4)] {
            assert_eq!(choose(&m, 32).io, BatchIo::Threads(cores), "{m:?}");
        }
        assert_eq!(choose(&probed(8, 0), 1).io, BatchIo::Rings(1));
        assert!(choose(&probed(0, 7), 32).reason.contains("7 of 8 probe reads to kernel workers"));
        assert!(choose(&probed(8, 0), 32).reason.contains("8 of 8 probe reads inline"));
        let none = Measurement::NoRing { why: "ENOSYS".into() };
        assert_eq!(choose(&none, 64).io, BatchIo::Threads(FALLBACK_THREADS));
        assert_eq!(choose(&none, 3).io, BatchIo::Threads(3));
        assert_eq!(choose(&Measurement::Empty, 8).io, BatchIo::Rings(1));
    }

    #[test]
    fn probe_reads_stay_in_the_file_on_page_boundaries() {
        assert_eq!(probe_reads(0, 512), vec![]);
        assert_eq!(probe_reads(1024, 512), vec![(0, 512)]);
        assert_eq!(probe_reads(3 * 4096, 512), vec![(0, 4096), (4096, 4096), (8192, 4096)]);
        let many = probe_reads(1 << 30, 4096);
        assert_eq!(many.len(), PROBE_READS as usize);
        assert!(many.iter().all(|&(o, l)| o % 4096 == 0 && l == 4096 && o + l <= 1 << 30));
    }

    #[test]
    fn a_cached_buffered_file_reads_inline_and_gets_a_ring_per_core() {
        let path = std::env::temp_dir().join(format!("xrpkv-io-choice-{}", std::process::id()));
        std::fs::write(&path, vec![7u8; 64 * 4096]).unwrap();
        let file = XrpFile::open(&path, crate::DirectIo::Off).unwrap();
        // Read once so that every page is cached (it was just written, but be sure).
        let mut page = Page::new();
        for i in 0..64 {
            file.read_into(&mut page, i * 4096, 4096).unwrap();
        }
        let m = measure(&file);
        std::fs::remove_file(&path).unwrap();
        match m {
            Measurement::NoRing { .. } => {} // io_uring is off here: nothing to check
            Measurement::Probed { reads, inline, .. } => {
                assert_eq!(reads, PROBE_READS);
                assert!(2 * inline >= reads, "{m:?}");
                assert_eq!(choose(&m, 32).io, BatchIo::Rings(cpu_threads(32)));
            }
            Measurement::Empty => panic!("the file is not empty"),
        }
    }
}
