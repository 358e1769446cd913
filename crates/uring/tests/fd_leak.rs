//! Alone in its own test binary so no other test opens fds or maps meanwhile.

use uring::{opcode, IoUring};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

#[test]
fn thousand_rings_leak_no_fd_and_no_mapping() {
    // Warm up anything lazily allocated (stdout, allocator arenas).
    drop(IoUring::new(8).unwrap());
    let (fds, maps) = (open_fds(), mappings());
    for i in 0..1000u64 {
        let mut ring = IoUring::new(if i % 2 == 0 { 8 } else { 256 }).unwrap();
        if i % 10 == 0 {
            // SAFETY: a Nop carries no pointers.
            unsafe { ring.push(&opcode::Nop.build().user_data(i)).unwrap() };
            ring.submit_and_wait(1).unwrap();
            assert_eq!(ring.completions().next().unwrap().user_data(), i);
        }
    }
    // A few alive at once, then dropped together.
    let many: Vec<IoUring> = (0..32).map(|_| IoUring::new(32).unwrap()).collect();
    assert_eq!(open_fds(), fds + 32);
    drop(many);
    assert_eq!(open_fds(), fds, "ring fds leaked");
    assert_eq!(mappings(), maps, "ring mappings leaked");
}
