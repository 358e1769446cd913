//! Ring mechanics: nops, queue full, empty submits, CQ overflow, drop with
//! operations in flight, the availability probe.

mod common;

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::os::fd::AsRawFd;

use uring::opcode::{self, Fd};
use uring::squeue::PushError;
use uring::IoUring;

fn nop(user_data: u64) -> uring::squeue::Entry {
    opcode::Nop.build().user_data(user_data)
}

#[test]
fn probe_reports_available() {
    uring::available().expect("io_uring should work on the test machine");
}

#[test]
fn nop_round_trip_keeps_user_data() {
    let mut ring = IoUring::new(8).unwrap();
    assert_eq!(ring.sq_entries(), 8);
    assert_eq!(ring.cq_entries(), 16);
    for round in 0..3u64 {
        for i in 0..5u64 {
            // SAFETY: a Nop carries no pointers.
            unsafe { ring.push(&nop(0xdead_beef_0000 + round * 100 + i)).unwrap() };
        }
        assert_eq!(ring.pending(), 5);
        assert_eq!(ring.submit_and_wait(5).unwrap(), 5);
        assert_eq!(ring.pending(), 0);
        let done: Vec<_> = ring.completions().collect();
        assert_eq!(done.len(), 5);
        for (i, c) in done.iter().enumerate() {
            assert_eq!(c.user_data(), 0xdead_beef_0000 + round * 100 + i as u64);
            assert_eq!(c.result(), 0);
            assert_eq!(c.into_result().unwrap(), 0);
        }
        assert_eq!(ring.in_flight(), 0);
    }
    // Extreme user_data values survive too.
    // SAFETY: a Nop carries no pointers.
    unsafe { ring.push(&nop(u64::MAX - 1)).unwrap() };
    ring.submit_and_wait(1).unwrap();
    assert_eq!(ring.completions().next().unwrap().user_data(), u64::MAX - 1);
}

#[test]
fn full_queue_push_returns_push_error() {
    let mut ring = IoUring::new(4).unwrap();
    for i in 0..4 {
        // SAFETY: a Nop carries no pointers.
        unsafe { ring.push(&nop(i)).unwrap() };
    }
    // SAFETY: as above.
    let err = unsafe { ring.push(&nop(99)) }.unwrap_err();
    assert_eq!(err, PushError);
    assert_eq!(err.to_string(), "io_uring submission queue is full");
    assert_eq!(ring.submit().unwrap(), 4);
    // Submitting frees the slots even before the completions are reaped.
    for i in 4..8 {
        // SAFETY: as above.
        unsafe { ring.push(&nop(i)).unwrap() };
    }
    assert_eq!(ring.submit_and_wait(8).unwrap(), 4);
    let seen: Vec<u64> = ring.completions().map(|c| c.user_data()).collect();
    assert_eq!(seen, (0..8).collect::<Vec<_>>());
}

#[test]
fn submit_with_nothing_pushed_is_fine() {
    let mut ring = IoUring::new(2).unwrap();
    assert_eq!(ring.submit().unwrap(), 0);
    assert_eq!(ring.submit_and_wait(0).unwrap(), 0);
    assert!(ring.completions().next().is_none());
    // Waiting for completions that cannot come is refused, not a hang.
    let err = ring.submit_and_wait(1).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn completion_overflow_is_not_lost() {
    // 2 SQ slots, 4 CQ slots: 10 unreaped completions overflow the CQ ring;
    // the kernel parks the extra ones (IORING_FEAT_NODROP) and submit flushes them.
    let mut ring = IoUring::new(2).unwrap();
    assert_eq!(ring.cq_entries(), 4);
    for round in 0..5u64 {
        for i in 0..2 {
            // SAFETY: a Nop carries no pointers.
            unsafe { ring.push(&nop(round * 2 + i)).unwrap() };
        }
        assert_eq!(ring.submit().unwrap(), 2);
    }
    assert_eq!(ring.in_flight(), 10);
    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        seen.extend(ring.completions().map(|c| c.user_data()));
        if seen.len() == 10 {
            break;
        }
        ring.submit().unwrap();
    }
    assert_eq!(seen, (0..10).collect());
    assert_eq!(ring.in_flight(), 0);
}

#[test]
fn drop_cancels_and_waits_for_reads_in_flight() {
    let (mut rx, mut tx) = std::io::pipe().unwrap();
    let mut buf = vec![0u8; 64];
    let mut ring = IoUring::new(4).unwrap();
    let read = opcode::Read { fd: Fd::Raw(rx.as_raw_fd()), buf: buf.as_mut_ptr(), len: 64, offset: u64::MAX };
    // SAFETY: `buf` outlives `ring`, whose drop waits for the read.
    unsafe { ring.push(&read.build().user_data(1)).unwrap() };
    assert_eq!(ring.submit().unwrap(), 1);
    // A second read pushed but never submitted must never reach the kernel.
    let mut buf2 = vec![0u8; 64];
    let read2 = opcode::Read { fd: Fd::Raw(rx.as_raw_fd()), buf: buf2.as_mut_ptr(), len: 64, offset: u64::MAX };
    // SAFETY: as above.
    unsafe { ring.push(&read2.build().user_data(2)).unwrap() };
    drop(ring); // would hang here if drop did not cancel the pipe read
    // Neither read consumed anything: the data written now is still there.
    tx.write_all(b"still here").unwrap();
    drop(tx);
    let mut got = String::new();
    rx.read_to_string(&mut got).unwrap();
    assert_eq!(got, "still here");
    assert!(buf.iter().chain(&buf2).all(|&b| b == 0));
}

#[test]
fn blocked_read_completes_when_data_arrives() {
    let (rx, mut tx) = std::io::pipe().unwrap();
    let mut buf = vec![0u8; 16];
    let mut ring = IoUring::new(4).unwrap();
    let read = opcode::Read { fd: Fd::Raw(rx.as_raw_fd()), buf: buf.as_mut_ptr(), len: 16, offset: u64::MAX };
    // SAFETY: `buf` is not touched until the completion is popped below.
    unsafe { ring.push(&read.build().user_data(5)).unwrap() };
    ring.submit().unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        tx.write_all(b"hello").unwrap();
        tx
    });
    ring.submit_and_wait(1).unwrap();
    let c = ring.completions().next().unwrap();
    assert_eq!((c.user_data(), c.result()), (5, 5));
    assert_eq!(&buf[..5], b"hello");
    drop(writer.join().unwrap());
}
