//! The kernel probe, as far as this kernel allows: it must decide, say why,
//! and never disturb the emulator.

mod support;

use support::*;
use xrp::{probe, Backend, ChainOptions, DirectIo, Outcome, Page, SyncEngine};

#[test]
fn the_probe_decides_and_says_why() {
    let first = probe();
    assert!(!first.reason.is_empty());
    match &first.backend {
        Backend::Emulator => {
            // This is every kernel without XRP: the reason names what was missing.
            assert!(
                first.reason.contains("read_xrp") || first.reason.contains("XRP program"),
                "reason: {}",
                first.reason
            );
        }
        Backend::Kernel { syscall, prog_type } => {
            assert!(xrp::kernel::READ_XRP_SYSCALLS.contains(syscall));
            assert!(xrp::kernel::XRP_PROG_TYPES.contains(prog_type));
        }
    }
    assert_eq!(probe(), first, "probing twice gives the same answer");
    println!("XRP backend: {:?}: {}", first.backend, first.reason);
}

#[test]
fn the_emulator_works_after_probing() {
    let _ = probe();
    let program = chain_program();
    let (file, first) = shuffled_chain(16, 4096, 2);
    let mut scratch = Page::new();
    let r = SyncEngine::new(&program).run(&file.open(DirectIo::Auto), ChainOptions::default(), first, 4096, &mut scratch);
    assert_eq!(r.outcome, Outcome::Done);
    assert_eq!(r.hops, 16);
}
