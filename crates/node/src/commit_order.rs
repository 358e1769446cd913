//! The order of a store's commits on disk, kept on the libuv pool.
//!
//! Commits must reach the disk one after another, in the order the writer
//! issued them: a commit's pages may reuse pages that the commit before it
//! freed, so nothing of it may be written before that one's meta page is
//! durable. JavaScript used to keep that order by issuing a commit's job
//! only once the one before had settled on the main thread; under load the
//! main thread is busy with the network and saw a completion a millisecond
//! or more after the disk was done, and the disk stood idle meanwhile.
//!
//! Now the writer issues each commit's job as soon as the commit is
//! prepared, with a ticket taken on the main thread in issue order. A job
//! waits on the pool for the tickets before its own to finish, so the next
//! commit's writes start the moment the previous one's last sync returns.
//! Invariants: tickets are numbered in issue order; a ticket's turn comes
//! only once every earlier ticket has finished; once one has failed, every
//! later job writes nothing and fails too (the file's state on disk is then
//! unknown, as the writer assumes). libuv runs jobs in the order they were
//! queued, so the job holding the current turn is always running or
//! runnable: waiting cannot deadlock the pool.

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The order of one store's commits: shared by every ticket it hands out.
#[derive(Default)]
pub(crate) struct CommitOrder {
    state: Mutex<OrderState>,
    turn_changed: Condvar,
}

#[derive(Default)]
struct OrderState {
    /// Tickets handed out.
    issued: u64,
    /// The ticket whose turn it is: every ticket below it has finished.
    turn: u64,
    /// A finished ticket failed (or was dropped without finishing).
    failed: bool,
    /// Tickets dropped before their turn: each fails the order when its turn comes.
    abandoned: BTreeSet<u64>,
}

impl CommitOrder {
    /// The next ticket: its turn comes after every ticket taken before it.
    pub(crate) fn ticket(self: &Arc<Self>) -> Ticket {
        let mut state = self.lock();
        let number = state.issued;
        state.issued += 1;
        Ticket {
            order: Arc::clone(self),
            number,
            finished: false,
        }
    }

    /// The state, even if a thread panicked holding it (its counters stay consistent).
    fn lock(&self) -> MutexGuard<'_, OrderState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One commit's place in the order. Dropping a ticket without `finish`
/// (a job that never ran, or panicked) counts as a failure, so that no
/// later commit writes over an unknown state or waits forever.
pub(crate) struct Ticket {
    order: Arc<CommitOrder>,
    number: u64,
    finished: bool,
}

/// An earlier commit failed: this one must write nothing.
#[derive(Debug)]
pub(crate) struct EarlierFailed;

impl Ticket {
    /// Blocks until every earlier ticket has finished; `EarlierFailed` if one failed.
    pub(crate) fn wait_turn(&self) -> Result<(), EarlierFailed> {
        let mut state = self.order.lock();
        while state.turn != self.number {
            state = self
                .order
                .turn_changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.failed {
            Err(EarlierFailed)
        } else {
            Ok(())
        }
    }

    /// Ends this ticket's turn (after `wait_turn`), handing it to the next.
    pub(crate) fn finish(mut self, ok: bool) {
        self.end(ok);
    }

    fn end(&mut self, ok: bool) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut state = self.order.lock();
        if state.turn != self.number {
            // Dropped before its turn (its job never ran): it fails when its
            // turn comes, and nothing blocks here meanwhile.
            state.abandoned.insert(self.number);
            return;
        }
        state.failed |= !ok;
        state.turn += 1;
        loop {
            let next = state.turn;
            if !state.abandoned.remove(&next) {
                break;
            }
            state.failed = true;
            state.turn += 1;
        }
        self.order.turn_changed.notify_all();
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.end(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn turns_pass_in_ticket_order_whatever_order_jobs_start() {
        let order = Arc::new(CommitOrder::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let tickets: Vec<Ticket> = (0..4).map(|_| order.ticket()).collect();
        let handles: Vec<_> = tickets
            .into_iter()
            .enumerate()
            .rev() // the last ticket's job starts first
            .map(|(i, ticket)| {
                let log = Arc::clone(&log);
                thread::spawn(move || {
                    ticket.wait_turn().unwrap();
                    log.lock().unwrap().push(i);
                    ticket.finish(true);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_failure_fails_every_later_ticket() {
        let order = Arc::new(CommitOrder::default());
        let first = order.ticket();
        let second = order.ticket();
        let third = order.ticket();
        first.wait_turn().unwrap();
        first.finish(false);
        assert!(second.wait_turn().is_err());
        second.finish(true);
        assert!(third.wait_turn().is_err());
    }

    #[test]
    fn a_dropped_ticket_counts_as_failed_and_passes_its_turn() {
        let order = Arc::new(CommitOrder::default());
        let first = order.ticket();
        let second = order.ticket();
        let third = order.ticket();
        drop(second); // before its turn: nothing blocks
        let waiter = thread::spawn(move || third.wait_turn().is_err());
        thread::sleep(Duration::from_millis(20));
        first.wait_turn().unwrap();
        first.finish(true);
        assert!(waiter.join().unwrap());
    }
}
