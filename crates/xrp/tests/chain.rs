//! The emulator's chain semantics, through the sync engine, on real files:
//! `bpf/tests/xrp_chain.c` follows a chain of blocks (see its header).

mod support;

use ebpf::{region_address, Helpers, Program, Region, RunError, Vm};
use support::*;
use xrp::abi;
use xrp::{AddressError, ChainOptions, DirectIo, Mode, Outcome, Page, SyncEngine, XrpFile};

#[test]
fn context_layout_matches_clang() {
    let object = compile_many(&[("tests/xrp_layout.c", &[])]).remove(0);
    let program = Program::from_elf(&object, None, &Helpers::new()).unwrap();
    let expected = [abi::DATA, abi::DONE, abi::NEXT_ADDR, abi::SIZE, abi::SCRATCH, abi::CONTEXT_SIZE, 4];
    for (field, &want) in expected.iter().enumerate() {
        let mut which = (field as u64).to_le_bytes();
        let got = Vm::new(&program).run(&mut [Region::writable(&mut which)], &[region_address(0)]).unwrap().r0;
        assert_eq!(got, want as u64, "field {field} of struct bpf_xrp");
    }
}

#[test]
fn chains_of_1_to_1000_hops_in_both_modes() {
    let program = chain_program();
    for mode in [Mode::Extended, Mode::KernelCompatible] {
        for n in [1usize, 2, 3, 10, 100, 1000] {
            let (file, first) = shuffled_chain(n, 4096, n as u64);
            let file = file.open(DirectIo::Off);
            let (result, scratch) = run(&program, &file, options(mode), first);
            assert_eq!(result.outcome, Outcome::Done, "{mode:?}, {n} hops");
            assert_eq!(result.hops, n as u32);
            let n = n as u64;
            assert_eq!(tally(&scratch), (n * (n + 1) / 2, n, n), "{mode:?}: every block seen once, in order");
        }
    }
}

#[test]
fn run_with_reads_every_hop_through_the_callers_reader() {
    let program = chain_program();
    let (temp, first) = shuffled_chain(20, 4096, 3);
    let file = temp.open(DirectIo::Off);
    let bytes = std::fs::read(&temp.0).expect("the file");
    let mut engine = SyncEngine::new();
    // A reader from a copy of the file (as a map of it would be): the same chain, every hop through it.
    let mut hops = Vec::new();
    let mut from_memory = |page: &mut Page, offset: u64, len: usize| {
        hops.push(offset);
        let at = offset as usize;
        page[..len].copy_from_slice(&bytes[at..at + len]);
        page[len..].fill(0);
        Ok(len)
    };
    let mut scratch = Page::new();
    let result = engine.run_with(&program, &file, options(Mode::Extended), first, 4096, &mut scratch, &mut from_memory);
    let (want, want_scratch) = run(&program, &file, options(Mode::Extended), first);
    assert_eq!(result, want);
    assert_eq!(tally(&scratch), tally(&want_scratch));
    assert_eq!(hops.len(), 20, "each of the 20 hops read by the caller's reader");
    assert_eq!(hops[0], first);
    // Its errno ends the chain as a failed pread would.
    let mut failing = |_: &mut Page, _: u64, _: usize| Err(5);
    let result = engine.run_with(&program, &file, options(Mode::Extended), first, 4096, &mut Page::new(), &mut failing);
    assert_eq!(result.outcome, Outcome::ReadError { offset: first, errno: 5 });
}

#[test]
fn the_data_page_holds_the_last_block_and_is_zeroed_past_a_short_read() {
    let program = chain_program();
    let (file, first) = shuffled_chain(5, 4096, 9);
    let file = file.open(DirectIo::Off);
    let mut engine = SyncEngine::new();
    let mut scratch = Page::new();
    let result = engine.run(&program, &file, options(Mode::KernelCompatible), first, 512, &mut scratch);
    assert_eq!(result.outcome, Outcome::Done);
    assert_eq!(u64::from_le_bytes(engine.data()[16..24].try_into().unwrap()), 5, "the last block's value");
    assert!(engine.data()[512..].iter().all(|&b| b == 0), "a 512-byte read leaves the rest zeroed");
}

#[test]
fn the_hop_limit_ends_a_chain() {
    let program = chain_program();
    let (file, first) = shuffled_chain(20, 4096, 3);
    let file = file.open(DirectIo::Off);
    let opts = ChainOptions { hop_limit: 10, ..options(Mode::Extended) };
    let (result, scratch) = run(&program, &file, opts, first);
    assert_eq!(result.outcome, Outcome::HopLimit { limit: 10 });
    assert_eq!(result.hops, 10);
    assert_eq!(tally(&scratch).1, 10);

    // The default limit is 1,000 reads: a chain of 1,001 does not finish.
    let (file, first) = shuffled_chain(1001, 4096, 4);
    let (result, _) = run(&program, &file.open(DirectIo::Off), options(Mode::Extended), first);
    assert_eq!(result.outcome, Outcome::HopLimit { limit: 1000 });
}

/// A two-block chain whose first block is `first` (it points at slot 1 unless said otherwise).
fn two_blocks(first: Block) -> TempFile {
    TempFile::new(2, &[(0, first), (4096, Block { next: END, size: 0, value: 2, action: 0 })])
}

fn block(action: u64) -> Block {
    Block { next: 4096, size: 0, value: 1, action }
}

#[test]
fn program_faults_and_returns_end_the_chain_with_their_reason() {
    let program = chain_program();
    let outcome = |b: Block, mode: Mode| {
        let f = two_blocks(b);
        run(&program, &f.open(DirectIo::Off), options(mode), 0).0
    };
    let r = outcome(block(1), Mode::Extended);
    assert!(matches!(r.outcome, Outcome::ProgramError(RunError::MemoryAccess { write: false, .. })), "{r:?}");
    assert_eq!(r.hops, 1);
    assert_eq!(outcome(block(2), Mode::Extended).outcome, Outcome::Returned { code: 7 });
    let r = outcome(block(4), Mode::Extended);
    assert!(matches!(r.outcome, Outcome::ProgramError(RunError::BudgetExhausted { .. })), "{r:?}");

    // Two addresses: the prototype kernel aborts; extended mode follows next_addr[0].
    let r = outcome(block(3), Mode::KernelCompatible);
    assert_eq!(r.outcome, Outcome::BadAddress(AddressError::SeveralAddresses { count: 2 }));
    assert_eq!(outcome(block(3), Mode::Extended).outcome, Outcome::Done);
}

#[test]
fn bad_addresses_are_refused_before_any_read() {
    let program = chain_program();
    let outcome = |b: Block| {
        let f = two_blocks(b);
        run(&program, &f.open(DirectIo::Off), options(Mode::Extended), 0).0
    };
    let r = outcome(Block { next: 100, ..block(0) });
    assert_eq!(r.outcome, Outcome::BadAddress(AddressError::Misaligned { offset: 100 }));
    assert_eq!((r.hops, r.last_offset), (1, 0));
    let r = outcome(Block { next: 8192, ..block(0) });
    assert_eq!(r.outcome, Outcome::BadAddress(AddressError::OutOfFile { offset: 8192, file_size: 8192 }));
    for size in [1000u64, 8192, 100] {
        let r = outcome(Block { size, ..block(0) });
        assert_eq!(r.outcome, Outcome::BadAddress(AddressError::BadSize { size }));
    }
    // The first read is checked too.
    let f = two_blocks(block(0));
    let mut scratch = Page::new();
    let r = SyncEngine::new().run(&program, &f.open(DirectIo::Off), options(Mode::Extended), 512 * 3 + 1, 4096, &mut scratch);
    assert_eq!(r.outcome, Outcome::BadAddress(AddressError::Misaligned { offset: 1537 }));
    assert_eq!(r.hops, 0);
}

#[test]
fn a_file_shorter_than_the_chain_ends_it_out_of_file() {
    let program = chain_program();
    let (file, first) = shuffled_chain(50, 4096, 11);
    // Cut the file in half: the chain reaches a block that is no longer there.
    std::fs::OpenOptions::new().write(true).open(&file.0).unwrap().set_len(25 * 4096).unwrap();
    let (result, scratch) = run(&program, &file.open(DirectIo::Off), options(Mode::Extended), first);
    assert!(
        matches!(result.outcome, Outcome::BadAddress(AddressError::OutOfFile { file_size: 102_400, .. })),
        "{result:?}"
    );
    assert_eq!(tally(&scratch).1, result.hops as u64, "every read block ran the program once");
    assert!(result.hops < 50);
}

#[test]
fn direct_io_is_used_when_the_file_system_allows_it_and_block_size_is_enforced() {
    let program = chain_program();
    let (file, first) = shuffled_chain(8, 4096, 5);
    let direct = file.open(DirectIo::Auto);
    if !direct.is_direct() {
        // Some file systems (older tmpfs) refuse O_DIRECT: then it says so, and Require fails.
        assert!(direct.access().starts_with("buffered"), "{}", direct.access());
        assert!(XrpFile::open(&file.0, DirectIo::Require).is_err());
        return;
    }
    assert!(direct.access().contains("O_DIRECT"), "{}", direct.access());
    let block = direct.block_size();
    assert!(block.is_power_of_two() && block >= 512, "{block}");
    // Extended mode with whole pages always works.
    let (result, scratch) = run(&program, &direct, options(Mode::Extended), first);
    assert_eq!(result.outcome, Outcome::Done);
    assert_eq!(tally(&scratch), (36, 8, 8));
    // 512-byte reads work only where the logical block allows them; elsewhere
    // the error names the block size instead of returning a wrong result.
    let (result, _) = run(&program, &direct, options(Mode::KernelCompatible), first);
    if block <= 512 {
        assert_eq!(result.outcome, Outcome::Done);
    } else {
        assert_eq!(
            result.outcome,
            Outcome::BadAddress(AddressError::BlockSize { offset: first, len: 512, block_size: block })
        );
        assert!(result.outcome.to_string().contains(&format!("{block} bytes")));
    }
}
