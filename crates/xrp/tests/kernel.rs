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
    let r = SyncEngine::new().run(&program, &file.open(DirectIo::Auto), ChainOptions::default(), first, 4096, &mut scratch);
    assert_eq!(r.outcome, Outcome::Done);
    assert_eq!(r.hops, 16);
}

#[cfg(feature = "kernel-runner")]
#[test]
fn a_kernel_program_needs_a_kernel_with_xrp() {
    let program = chain_program();
    let err = xrp::KernelProgram::load(&program, &Backend::Emulator).err().expect("no kernel XRP, no kernel program");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    if let Backend::Kernel { .. } = probe().backend {
        return; // on an XRP kernel, loading may succeed
    }
    // Even a forged Kernel backend on this kernel fails at BPF_PROG_LOAD, calling no read_xrp.
    let forged = Backend::Kernel { syscall: 445, prog_type: 32 };
    assert!(xrp::KernelProgram::load(&program, &forged).is_err());
}
