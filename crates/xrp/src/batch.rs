//! The batch engine: many chains at once, on one io_uring or on threads.
//!
//! On io_uring: when a read completes, its chain's program runs in the same
//! completion loop and the chain's next read is queued at once; one
//! `io_uring_enter` then submits the whole round and waits for the next
//! completion. A data page belongs to an in-flight read, not to a chain, so
//! `depth` pages (all registered with the ring) serve any number of chains.
//!
//! On threads: each runs whole chains with the sync engine (`pread` per
//! hop), taking the next chain when one ends; the calling thread is one of
//! them. Which one a file gets is measured ([`crate::io_choice`]):
//! [`BatchEngine::for_file`]; [`BatchEngine::io`] says what was chosen and why.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ebpf::{Program, Vm};
use uring::{opcode, IoUring};

use crate::chain::{Chain, ChainOptions, Step};
use crate::file::{clear_tail, XrpFile};
use crate::io_choice::{self, BatchIo, IoChoice, FALLBACK_THREADS};
use crate::outcome::{ChainResult, Outcome};
use crate::page::Page;
use crate::sync::SyncEngine;

pub const DEFAULT_QUEUE_DEPTH: u32 = 64;

/// One chain of a batch as [`BatchEngine::run_reported`] reports it: its
/// result, what its program logged, and when it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    pub result: ChainResult,
    /// What `bpf_trace_printk` wrote during this chain's program runs.
    pub log: String,
    /// From the start of the batch to when the engine took the chain up: its
    /// first read was queued on the ring (or a pool thread started it), or it
    /// was refused before any read.
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

enum Io {
    Uring { ring: IoUring, registered_buffers: bool },
    Threads { threads: usize },
}

pub struct BatchEngine<'p> {
    // Field order matters: the ring drops (cancelling and reaping every read
    // still in flight) before the pages those reads write into.
    io: Io,
    pages: Vec<Page>,
    program: &'p Program,
    vm: Vm<'p>,
    depth: u32,
    /// Why `io` is what it is, in words.
    why: String,
}

impl<'p> BatchEngine<'p> {
    /// An engine with up to `depth` reads in flight on io_uring, or (where
    /// io_uring is unavailable) threads doing `pread`.
    pub fn new(program: &'p Program, depth: u32) -> BatchEngine<'p> {
        BatchEngine::uring(program, depth, "asked for".into())
    }

    /// An engine that runs chains on `threads` threads with `pread`, never io_uring.
    pub fn with_threads(program: &'p Program, threads: usize) -> BatchEngine<'p> {
        BatchEngine::threads(program, threads, "asked for".into())
    }

    /// The engine `file` should be read with (up to `depth` chains at once),
    /// as its device measured ([`io_choice::for_file`], [`io_choice::choose`]).
    pub fn for_file(program: &'p Program, depth: u32, file: &XrpFile) -> BatchEngine<'p> {
        let IoChoice { io, reason } = io_choice::choose(&io_choice::for_file(file), depth);
        match io {
            BatchIo::Uring => BatchEngine::uring(program, depth, reason),
            BatchIo::Threads(n) => BatchEngine::threads(program, n, reason),
        }
    }

    fn uring(program: &'p Program, depth: u32, why: String) -> BatchEngine<'p> {
        let depth = depth.clamp(1, 4096);
        let pages: Vec<Page> = (0..depth).map(|_| Page::new()).collect();
        match IoUring::new(depth) {
            Ok(mut ring) => {
                let bufs: Vec<(*mut u8, usize)> = pages.iter().map(|p| (p.as_ptr() as *mut u8, p.len())).collect();
                // SAFETY: the pages outlive the registration: they are dropped after the ring.
                let registered_buffers = unsafe { ring.register_buffers(&bufs) }.is_ok();
                let io = Io::Uring { ring, registered_buffers };
                BatchEngine { io, pages, program, vm: Vm::new(program), depth, why }
            }
            Err(e) => {
                let threads = (depth as usize).min(FALLBACK_THREADS);
                BatchEngine::threads(program, threads, format!("io_uring is unavailable: {e}"))
            }
        }
    }

    fn threads(program: &'p Program, threads: usize, why: String) -> BatchEngine<'p> {
        let threads = threads.clamp(1, 64);
        let io = Io::Threads { threads };
        BatchEngine { io, pages: Vec::new(), program, vm: Vm::new(program), depth: threads as u32, why }
    }

    /// How reads are issued and why, in words.
    pub fn io(&self) -> String {
        match &self.io {
            Io::Uring { registered_buffers, .. } => format!(
                "io_uring, queue depth {}{} ({})",
                self.depth,
                if *registered_buffers { ", registered buffers" } else { "" },
                self.why
            ),
            Io::Threads { threads, .. } => {
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
        match &mut self.io {
            Io::Uring { ring, registered_buffers } => {
                run_on_ring(ring, *registered_buffers, &mut self.pages, &mut self.vm, file, options, chains, start)
            }
            Io::Threads { threads } => run_on_threads(*threads, self.program, file, options, chains, start),
        }
    }
}

/// `user_data` of a read: which chain, into which page.
fn tag(chain: usize, page: usize) -> u64 {
    (chain as u64) << 32 | page as u64
}

fn untag(user_data: u64) -> (usize, usize) {
    ((user_data >> 32) as usize, (user_data & 0xffff_ffff) as usize)
}

#[allow(clippy::too_many_arguments)]
fn run_on_ring<S: AsMut<[u8]>>(
    ring: &mut IoUring,
    registered_buffers: bool,
    pages: &mut [Page],
    vm: &mut Vm<'_>,
    file: &XrpFile,
    options: ChainOptions,
    chains: &mut [BatchChain<S>],
    start: Instant,
) -> Vec<ChainReport> {
    let fd = match ring.register_files(&[file.fd()]) {
        Ok(()) => opcode::Fd::Fixed(0),
        Err(_) => opcode::Fd::Raw(file.fd()),
    };
    let mut results: Vec<Option<ChainResult>> = vec![None; chains.len()];
    let mut progress: Vec<Progress> = vec![Progress::default(); chains.len()];
    let mut states = Vec::with_capacity(chains.len());
    let mut ready: VecDeque<(usize, u64, usize)> = VecDeque::new(); // (chain, offset, len)
    for (i, c) in chains.iter().enumerate() {
        let (chain, step) = Chain::start(options, file, c.offset, c.len);
        states.push(chain);
        match step {
            Step::Read { offset, len } => ready.push_back((i, offset, len)),
            Step::Finished(r) => {
                results[i] = Some(r);
                progress[i].finished = start.elapsed();
            }
        }
    }
    let mut free_pages: Vec<usize> = (0..pages.len()).collect();
    let mut in_flight = 0usize;
    let mut completed = Vec::new();
    loop {
        // Queue a read for every ready chain that has a free page.
        while let (Some(&(i, offset, len)), Some(&page)) = (ready.front(), free_pages.last()) {
            let buf = pages[page].as_mut_ptr();
            let entry = if registered_buffers {
                opcode::ReadFixed { fd, buf, len: len as u32, offset, buf_index: page as u16 }.build()
            } else {
                opcode::Read { fd, buf, len: len as u32, offset }.build()
            };
            // SAFETY: the page is reserved for this read until its completion
            // is reaped below, and pages outlive the ring (BatchEngine's field order).
            if unsafe { ring.push(&entry.user_data(tag(i, page))) }.is_err() {
                break; // the submission queue is full: submit this round first
            }
            ready.pop_front();
            free_pages.pop();
            in_flight += 1;
            progress[i].started.get_or_insert_with(|| start.elapsed());
        }
        if in_flight == 0 {
            break;
        }
        if let Err(e) = ring.submit_and_wait(1) {
            // The ring itself failed: every unfinished chain reports it.
            let errno = e.raw_os_error().unwrap_or(5);
            let now = start.elapsed();
            for (i, r) in results.iter_mut().enumerate() {
                if r.is_none() {
                    *r = Some(ChainResult { outcome: Outcome::ReadError { offset: chains[i].offset, errno }, hops: states[i].hops(), last_offset: chains[i].offset });
                    progress[i].finished = now;
                }
            }
            break;
        }
        completed.extend(ring.completions().map(|c| (c.user_data(), c.result())));
        for (user_data, res) in completed.drain(..) {
            let (i, page) = untag(user_data);
            in_flight -= 1;
            let read = if res < 0 { Err(-res) } else { Ok(res as usize) };
            if let Ok(n) = read {
                clear_tail(&mut pages[page], n);
            }
            let step = states[i].completed(vm, file, read, &pages[page], chains[i].scratch.as_mut());
            let log = vm.take_log();
            if !log.is_empty() {
                progress[i].log.push_str(&log);
            }
            match step {
                // A running chain goes ahead of chains not yet started, so about
                // `depth` chains are active at once and a chain's latency is
                // its own hops, not the whole batch's.
                Step::Read { offset, len } => ready.push_front((i, offset, len)),
                Step::Finished(r) => {
                    results[i] = Some(r);
                    progress[i].finished = start.elapsed();
                }
            }
            free_pages.push(page);
        }
    }
    if matches!(fd, opcode::Fd::Fixed(_)) {
        let _ = ring.unregister_files();
    }
    results
        .into_iter()
        .zip(progress)
        .map(|(r, p)| p.report(r.expect("every chain finishes before the loop ends")))
        .collect()
}

/// `threads` threads, each with its own sync engine, take chains in turn;
/// the calling thread is one of them, so one thread spawns none.
fn run_on_threads<S: AsMut<[u8]> + Send>(
    threads: usize,
    program: &Program,
    file: &XrpFile,
    options: ChainOptions,
    chains: &mut [BatchChain<S>],
    start: Instant,
) -> Vec<ChainReport> {
    let threads = threads.clamp(1, chains.len().max(1));
    let next = std::sync::Mutex::new(chains.iter_mut().enumerate());
    let work = || {
        let mut engine = SyncEngine::new();
        let mut done = Vec::new();
        loop {
            let Some((i, c)) = next.lock().unwrap_or_else(|p| p.into_inner()).next() else { break };
            let started = start.elapsed();
            let result = engine.run(program, file, options, c.offset, c.len, c.scratch.as_mut());
            let progress = Progress { log: engine.take_log(), started: Some(started), finished: start.elapsed() };
            done.push((i, progress.report(result)));
        }
        done
    };
    let mut results: Vec<(usize, ChainReport)> = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for w in others {
            // A worker that panicked loses its chains: the assert below says so.
            all.extend(w.join().unwrap_or_default());
        }
        all
    });
    results.sort_by_key(|(i, _)| *i);
    assert_eq!(results.len(), chains.len(), "a worker thread panicked");
    results.into_iter().map(|(_, r)| r).collect()
}
