//! One ring's loop: chains taken from the batch's source as pages free up,
//! one read each in flight, the program run on each completion.

use std::collections::VecDeque;
use std::time::Instant;

use ebpf::{Program, Vm};
use uring::opcode;

use super::{BatchChain, ChainSource, Finished, Progress, Ring};
use crate::chain::{Chain, ChainOptions, Step};
use crate::file::{clear_tail, XrpFile};
use crate::outcome::{ChainResult, Outcome};

/// A chain this ring has taken and not finished.
struct Active<'c, S> {
    index: usize,
    chain: &'c mut BatchChain<S>,
    state: Chain,
    progress: Progress,
}

/// `user_data` of a read: which active chain, into which page.
fn tag(slot: usize, page: usize) -> u64 {
    (slot as u64) << 32 | page as u64
}

fn untag(user_data: u64) -> (usize, usize) {
    ((user_data >> 32) as usize, (user_data & 0xffff_ffff) as usize)
}

/// Runs chains from `source` on `r` until none are left; returns those it ran.
pub(super) fn run<'c, S: AsMut<[u8]>>(
    r: &mut Ring,
    program: &Program,
    file: &XrpFile,
    options: ChainOptions,
    source: &ChainSource<'c, S>,
    start: Instant,
) -> Vec<Finished> {
    let Ring { ring, pages, registered_buffers, vm: memory, broken } = r;
    let mut vm = Vm::with_memory(program, memory.take().unwrap_or_default());
    // The descriptor as it is, not registered: registering it and
    // unregistering it after were two system calls a run (a ring is reused
    // by batches of any file), more than the lookups of its reads cost.
    let fd = opcode::Fd::Raw(file.fd());
    let mut done = Vec::new();
    let mut active: Vec<Option<Active<'c, S>>> = Vec::new();
    let mut free_slots: Vec<usize> = Vec::new();
    let mut ready: VecDeque<(usize, u64, usize)> = VecDeque::new(); // (slot, offset, len)
    let mut free_pages: Vec<usize> = (0..pages.len()).collect();
    let mut in_flight = 0usize;
    let mut drained = false;
    let mut completed = Vec::new();
    loop {
        // Take new chains only while a page would be left for them: a
        // running chain goes ahead of one not yet started, so about `depth`
        // chains are active at once and a chain's latency is its own hops.
        while !drained && ready.len() < free_pages.len() {
            let Some((index, chain)) = source.take() else {
                drained = true;
                break;
            };
            let (state, step) = Chain::start(options, file, chain.offset, chain.len);
            match step {
                Step::Read { offset, len } => {
                    let a = Active { index, chain, state, progress: Progress::default() };
                    let slot = match free_slots.pop() {
                        Some(s) => {
                            active[s] = Some(a);
                            s
                        }
                        None => {
                            active.push(Some(a));
                            active.len() - 1
                        }
                    };
                    ready.push_back((slot, offset, len));
                }
                Step::Finished(result) => {
                    let progress = Progress { finished: start.elapsed(), ..Progress::default() };
                    done.push((index, progress.report(result)));
                }
            }
        }
        // Queue a read for every ready chain that has a free page.
        while let (Some(&(slot, offset, len)), Some(&page)) = (ready.front(), free_pages.last()) {
            let buf = pages[page].as_mut_ptr();
            let entry = if *registered_buffers {
                opcode::ReadFixed { fd, buf, len: len as u32, offset, buf_index: page as u16 }.build()
            } else {
                opcode::Read { fd, buf, len: len as u32, offset }.build()
            };
            // SAFETY: the page is reserved for this read until its completion
            // is reaped below, and pages outlive the ring (Ring's field order).
            if unsafe { ring.push(&entry.user_data(tag(slot, page))) }.is_err() {
                break; // the submission queue is full: submit this round first
            }
            ready.pop_front();
            free_pages.pop();
            in_flight += 1;
            let a = active[slot].as_mut().expect("a ready chain is active");
            a.progress.started.get_or_insert_with(|| start.elapsed());
        }
        if in_flight == 0 {
            if drained && ready.is_empty() {
                break;
            }
            continue;
        }
        if let Err(e) = ring.submit_and_wait(1) {
            fail_all(e, &mut active, source, &mut done, start);
            *broken = true;
            break;
        }
        completed.extend(ring.completions().map(|c| (c.user_data(), c.result())));
        for (user_data, res) in completed.drain(..) {
            let (slot, page) = untag(user_data);
            in_flight -= 1;
            let read = if res < 0 { Err(-res) } else { Ok(res as usize) };
            if let Ok(n) = read {
                clear_tail(&mut pages[page], n);
            }
            let a = active[slot].as_mut().expect("a read's chain is active");
            let step = a.state.completed(&mut vm, file, read, &pages[page], a.chain.scratch.as_mut());
            let log = vm.take_log();
            if !log.is_empty() {
                a.progress.log.push_str(&log);
            }
            match step {
                Step::Read { offset, len } => ready.push_front((slot, offset, len)),
                Step::Finished(result) => {
                    let mut a = active[slot].take().expect("active");
                    a.progress.finished = start.elapsed();
                    done.push((a.index, a.progress.report(result)));
                    free_slots.push(slot);
                }
            }
            free_pages.push(page);
        }
    }
    *memory = Some(vm.into_memory());
    done
}

/// The ring itself failed: every chain it holds, and every one not yet
/// taken by any ring, reports the error.
fn fail_all<S>(e: std::io::Error, active: &mut [Option<Active<'_, S>>], source: &ChainSource<'_, S>, done: &mut Vec<Finished>, start: Instant) {
    let errno = e.raw_os_error().unwrap_or(5);
    let now = start.elapsed();
    let failed = |offset, hops| ChainResult { outcome: Outcome::ReadError { offset, errno }, hops, last_offset: offset };
    for a in active.iter_mut().filter_map(Option::take) {
        let progress = Progress { finished: now, ..a.progress };
        done.push((a.index, progress.report(failed(a.chain.offset, a.state.hops()))));
    }
    while let Some((index, chain)) = source.take() {
        let progress = Progress { started: Some(now), finished: now, ..Progress::default() };
        done.push((index, progress.report(failed(chain.offset, 0))));
    }
}
