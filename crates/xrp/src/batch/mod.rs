//! The batch engine: many chains at once, on io_uring or on threads.
//!
//! - [`ring`]: one io_uring keeps up to its depth of reads in flight; when a
//!   read completes, its chain's program runs in the same completion loop
//!   and the chain's next read is queued at once, and one `io_uring_enter`
//!   submits the round and waits. A data page belongs to an in-flight read,
//!   not to a chain, so `depth` registered pages serve any number of chains.
//! - several rings, one per thread (the calling thread one of them), each
//!   running that loop over the chains it takes;
//! - [`threads`]: threads each running whole chains with the sync engine
//!   (`pread` per hop).
//!
//! - [`idle_rings`]: rings kept between batches, so that a small batch does
//!   not pay for setting one up.
//!
//! Rings and threads take chains from one [`ChainSource`] as they have room,
//! so a batch spreads itself over them. Which way a file is read is measured
//! ([`crate::io_choice`]): [`BatchEngine::for_file`]; [`BatchEngine::io`]
//! says what was chosen and why.

mod idle_rings;
mod ring;
mod threads;

use std::iter::Enumerate;
use std::slice::IterMut;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ebpf::{Program, VmMemory};
use uring::IoUring;

use crate::chain::ChainOptions;
use crate::file::XrpFile;
use crate::io_choice::{self, BatchIo, IoChoice, FALLBACK_THREADS};
use crate::outcome::ChainResult;
use crate::page::Page;

pub const DEFAULT_QUEUE_DEPTH: u32 = 64;

/// One chain of a batch as [`BatchEngine::run_reported`] reports it: its
/// result, what its program logged, and when it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub result: ChainResult,
    /// What `bpf_trace_printk` wrote during this chain's program runs.
    pub log: String,
    /// From the start of the batch to when the engine took the chain up: its
    /// first read was queued on a ring (or a thread started it), or it was
    /// refused before any read.
    pub started: Duration,
    /// From the start of the batch to when the chain finished.
    pub finished: Duration,
}

/// What an engine learns about one chain as it runs.
#[derive(Clone, Default)]
struct Progress {
    log: String,
    started: Option<Duration>,
    finished: Duration,
}

impl Progress {
    fn report(self, result: ChainResult) -> ChainReport {
        ChainReport { result, log: self.log, started: self.started.unwrap_or(self.finished), finished: self.finished }
    }
}

/// One chain of a batch: where it starts, and its scratch page (in and out):
/// a `Page` of its own, or (`S = &mut [u8]`) 4096 bytes of a caller's slab,
/// so that a large batch makes one allocation, not one per chain.
pub struct BatchChain<S = Page> {
    pub offset: u64,
    pub len: usize,
    pub scratch: S,
}

/// A run's chains, handed out one at a time, with their index, to whichever
/// ring or thread has room.
struct ChainSource<'c, S> {
    next: Mutex<Enumerate<IterMut<'c, BatchChain<S>>>>,
}

impl<'c, S> ChainSource<'c, S> {
    fn new(chains: &'c mut [BatchChain<S>]) -> Self {
        ChainSource { next: Mutex::new(chains.iter_mut().enumerate()) }
    }

    fn take(&self) -> Option<(usize, &'c mut BatchChain<S>)> {
        self.next.lock().unwrap_or_else(|p| p.into_inner()).next()
    }
}

/// A finished chain: its index in the batch and its report.
type Finished = (usize, ChainReport);

/// One io_uring with its data pages and the VM memory its programs run in.
struct Ring {
    // Field order matters: the ring drops (cancelling and reaping every read
    // still in flight) before the pages those reads write into.
    ring: IoUring,
    pages: Vec<Page>,
    registered_buffers: bool,
    vm: Option<VmMemory>,
    /// Its loop ended on an io_uring error, maybe with reads in flight: not
    /// to be used again (idle_rings.rs).
    broken: bool,
}

impl Ring {
    fn new(depth: u32) -> std::io::Result<Ring> {
        let pages: Vec<Page> = (0..depth).map(|_| Page::new()).collect();
        let mut ring = IoUring::new(depth)?;
        let bufs: Vec<(*mut u8, usize)> = pages.iter().map(|p| (p.as_ptr() as *mut u8, p.len())).collect();
        // SAFETY: the pages outlive the registration: they are dropped after the ring.
        let registered_buffers = unsafe { ring.register_buffers(&bufs) }.is_ok();
        Ok(Ring { ring, pages, registered_buffers, vm: Some(VmMemory::new()), broken: false })
    }
}

enum Io {
    /// One ring per thread; one ring runs on the calling thread alone.
    Rings(Vec<Ring>),
    Threads { threads: usize },
}

pub struct BatchEngine<'p> {
    io: Io,
    program: &'p Program,
    /// Reads in flight at most, over all rings (threads: the thread count).
    depth: u32,
    /// Why `io` is what it is, in words.
    why: String,
}

impl<'p> BatchEngine<'p> {
    /// An engine with up to `depth` reads in flight on one io_uring, or
    /// (where io_uring is unavailable) threads doing `pread`.
    pub fn new(program: &'p Program, depth: u32) -> BatchEngine<'p> {
        BatchEngine::rings(program, depth, 1, "asked for".into())
    }

    /// An engine that runs chains on `threads` threads with `pread`, never io_uring.
    pub fn with_threads(program: &'p Program, threads: usize) -> BatchEngine<'p> {
        BatchEngine::threads(program, threads, "asked for".into())
    }

    /// An engine with `rings` io_urings, one per thread, `depth` reads in flight over all.
    pub fn with_rings(program: &'p Program, depth: u32, rings: usize) -> BatchEngine<'p> {
        BatchEngine::rings(program, depth, rings, "asked for".into())
    }

    /// The engine `file` should be read with (up to `depth` chains at once),
    /// as its device measured ([`io_choice::for_file`], [`io_choice::choose`]).
    pub fn for_file(program: &'p Program, depth: u32, file: &XrpFile) -> BatchEngine<'p> {
        let IoChoice { io, reason } = io_choice::choose(&io_choice::for_file(file), depth);
        match io {
            BatchIo::Rings(n) => BatchEngine::rings(program, depth, n, reason),
            BatchIo::Threads(n) => BatchEngine::threads(program, n, reason),
        }
    }

    fn rings(program: &'p Program, depth: u32, rings: usize, why: String) -> BatchEngine<'p> {
        let depth = depth.clamp(1, 4096);
        let rings = rings.clamp(1, depth as usize);
        let each = depth.div_ceil(rings as u32);
        match (0..rings).map(|_| idle_rings::take(each)).collect::<std::io::Result<Vec<Ring>>>() {
            Ok(all) => BatchEngine { io: Io::Rings(all), program, depth: each * rings as u32, why },
            Err(e) => {
                let threads = (depth as usize).min(FALLBACK_THREADS);
                BatchEngine::threads(program, threads, format!("io_uring is unavailable: {e}"))
            }
        }
    }

    fn threads(program: &'p Program, threads: usize, why: String) -> BatchEngine<'p> {
        let threads = threads.clamp(1, 64);
        BatchEngine { io: Io::Threads { threads }, program, depth: threads as u32, why }
    }

    /// How reads are issued and why, in words.
    pub fn io(&self) -> String {
        match &self.io {
            Io::Rings(rings) => {
                let registered = if rings.iter().all(|r| r.registered_buffers) { ", registered buffers" } else { "" };
                let how = match rings.len() {
                    1 => format!("io_uring, queue depth {}", self.depth),
                    n => format!("{n} io_urings, one per thread, queue depth {} each", self.depth / n as u32),
                };
                format!("{how}{registered} ({})", self.why)
            }
            Io::Threads { threads } => {
                format!("{threads} thread{} doing pread ({})", if *threads == 1 { "" } else { "s" }, self.why)
            }
        }
    }

    /// Whether chains run on threads doing `pread` (else on io_uring).
    pub fn uses_threads(&self) -> bool {
        matches!(self.io, Io::Threads { .. })
    }

    /// Runs every chain to its end; results are in the order of `chains`.
    pub fn run<S: AsMut<[u8]> + Send>(&mut self, file: &XrpFile, options: ChainOptions, chains: &mut [BatchChain<S>]) -> Vec<ChainResult> {
        self.run_reported(file, options, chains).into_iter().map(|r| r.result).collect()
    }

    /// As [`BatchEngine::run`], and says for each chain what its program
    /// logged and when, from the start of this call, it started and finished.
    pub fn run_reported<S: AsMut<[u8]> + Send>(
        &mut self,
        file: &XrpFile,
        options: ChainOptions,
        chains: &mut [BatchChain<S>],
    ) -> Vec<ChainReport> {
        let start = Instant::now();
        let count = chains.len();
        let source = ChainSource::new(chains);
        let program = self.program;
        let mut done: Vec<Finished> = match &mut self.io {
            Io::Rings(rings) => {
                let (here, others) = rings.split_first_mut().expect("an engine has a ring");
                // A few chains run on this thread's ring alone: another
                // thread, spawned for them, would cost more than it saves.
                let others = if count < MANY_CHAINS { &mut [][..] } else { others };
                std::thread::scope(|s| {
                    let source = &source;
                    let workers: Vec<_> =
                        others.iter_mut().map(|r| s.spawn(move || ring::run(r, program, file, options, source, start))).collect();
                    let mut done = ring::run(here, program, file, options, source, start);
                    for w in workers {
                        done.extend(w.join().unwrap_or_default());
                    }
                    done
                })
            }
            Io::Threads { threads } => threads::run(*threads, program, file, options, &source, start),
        };
        // A ring or thread that panicked loses its chains: this says so.
        assert_eq!(done.len(), count, "a batch thread panicked");
        done.sort_unstable_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    }
}

/// Chains in a batch from which its rings run on threads of their own.
const MANY_CHAINS: usize = 16;

impl Drop for BatchEngine<'_> {
    /// The rings go back for the next engine (idle_rings.rs).
    fn drop(&mut self) {
        if let Io::Rings(rings) = &mut self.io {
            idle_rings::give_back(std::mem::take(rings));
        }
    }
}
