//! Rings kept between batches. Setting one up (io_uring_setup, its mapped
//! queues, `depth` aligned data pages, registering them) cost about as much
//! as the reads of a 64-chain batch of the store's `getMany` in the page
//! cache; an engine now takes its rings from here and gives them back.
//!
//! A ring comes back only in the state a new one has: no read in flight (its
//! loop ran until every read was reaped), no file registered. A ring whose
//! loop ended on an io_uring error may still have reads in flight: it is
//! dropped instead (`Ring::broken`), which cancels and reaps them.

use std::io;
use std::sync::Mutex;

use super::Ring;

/// Rings kept at most: two batches' worth on a machine of a few cores.
const KEEP: usize = 8;

static IDLE: Mutex<Vec<Ring>> = Mutex::new(Vec::new());

/// A ring of `depth`: an idle one, else a new one.
pub(super) fn take(depth: u32) -> io::Result<Ring> {
    let idle = {
        let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        idle.iter().position(|r| r.pages.len() == depth as usize).map(|i| idle.swap_remove(i))
    };
    match idle {
        Some(r) => Ok(r),
        None => Ring::new(depth),
    }
}

/// Keeps `rings` for later batches, but never a broken one, nor more than `KEEP`.
pub(super) fn give_back(rings: impl IntoIterator<Item = Ring>) {
    let mut dropped = Vec::new();
    {
        let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        for r in rings {
            if !r.broken && idle.len() < KEEP {
                idle.push(r);
            } else {
                dropped.push(r);
            }
        }
    }
    // Dropping a ring unmaps and closes it: not while holding the lock.
    drop(dropped);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchEngine;
    use ebpf::{Engine, Helpers, Program};

    /// Idle rings of `depth` pages. Depths 7 and 9 are this test's alone:
    /// other tests, running at the same time, share the pool.
    fn idle(depth: usize) -> usize {
        IDLE.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|r| r.pages.len() == depth).count()
    }

    #[test]
    fn a_dropped_engines_rings_serve_the_next_engine_but_not_a_broken_ring() {
        let Ok(probe) = Ring::new(9) else { return }; // no io_uring here: nothing to keep
        let exit = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        let program = Program::from_bytecode_with(&exit, &Helpers::new(), Engine::Interpreter).expect("loads");
        drop(BatchEngine::with_rings(&program, 14, 2));
        assert_eq!(idle(7), 2, "both rings of 7 pages kept");
        let engine = BatchEngine::with_rings(&program, 14, 2);
        assert_eq!(idle(7), 0, "and taken again");
        drop(engine);
        assert_eq!(idle(7), 2);
        give_back([Ring { broken: true, ..probe }]);
        assert_eq!(idle(9), 0, "a broken ring is dropped");
    }
}
