//! Threads, each with its own sync engine (`pread` per hop), taking chains
//! from the batch's source in turn; the calling thread is one of them, so
//! one thread spawns none.

use std::time::Instant;

use ebpf::Program;

use super::{ChainSource, Finished, Progress};
use crate::chain::ChainOptions;
use crate::file::XrpFile;
use crate::sync::SyncEngine;

pub(super) fn run<S: AsMut<[u8]> + Send>(
    threads: usize,
    program: &Program,
    file: &XrpFile,
    options: ChainOptions,
    source: &ChainSource<'_, S>,
    start: Instant,
) -> Vec<Finished> {
    let work = || {
        let mut engine = SyncEngine::new();
        let mut done = Vec::new();
        while let Some((i, c)) = source.take() {
            let started = start.elapsed();
            let result = engine.run(program, file, options, c.offset, c.len, c.scratch.as_mut());
            let progress = Progress { log: engine.take_log(), started: Some(started), finished: start.elapsed() };
            done.push((i, progress.report(result)));
        }
        done
    };
    std::thread::scope(|s| {
        let others: Vec<_> = (1..threads.max(1)).map(|_| s.spawn(work)).collect();
        let mut done = work();
        for w in others {
            done.extend(w.join().unwrap_or_default());
        }
        done
    })
}
