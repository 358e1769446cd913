//! The batch engine against the sync engine: same chains, same outcomes.

mod support;

use support::*;
use xrp::{AddressError, BatchChain, BatchEngine, ChainOptions, DirectIo, Mode, Outcome, Page, SyncEngine, XrpFile};

/// 1,000 chains starting at random blocks of one long shuffled chain: each
/// follows it to the end (or its hop limit), some start at bad offsets.
fn chains(first_blocks: &[u64], rng: &mut Rng) -> Vec<BatchChain> {
    (0..1000)
        .map(|i| {
            let offset = if i % 97 == 13 { 4096 * 5000 } else { first_blocks[rng.below(first_blocks.len())] };
            BatchChain { offset, len: 4096, scratch: Page::new() }
        })
        .collect()
}

fn check_against_sync(engine: &mut BatchEngine, file: &XrpFile, opts: ChainOptions, blocks: &[u64]) {
    let program = chain_program();
    let mut rng = Rng::new(77);
    let mut batch = chains(blocks, &mut rng);
    let results = engine.run(file, opts, &mut batch);
    assert_eq!(results.len(), batch.len());
    let mut sync = SyncEngine::new();
    let mut seen = [0usize; 3];
    for (c, got) in batch.iter().zip(&results) {
        let mut scratch = Page::new();
        let want = sync.run(&program, file, opts, c.offset, c.len, &mut scratch);
        assert_eq!(got, &want, "chain from {}", c.offset);
        assert_eq!(&c.scratch[..24], &scratch[..24], "scratch of the chain from {}", c.offset);
        seen[match got.outcome {
            Outcome::Done => 0,
            Outcome::HopLimit { .. } => 1,
            _ => 2,
        }] += 1;
    }
    assert!(seen.iter().all(|&n| n > 0), "done, hop limit and bad address all occur: {seen:?}");
}

/// One chain of `n` blocks; returns the file and every block's offset in chain order.
fn long_chain(n: usize) -> (TempFile, Vec<u64>) {
    let mut order: Vec<u64> = (0..n as u64).map(|i| i * 4096).collect();
    let mut rng = Rng::new(5);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let blocks: Vec<(u64, Block)> = order
        .iter()
        .enumerate()
        .map(|(i, &at)| (at, Block { next: order.get(i + 1).copied().unwrap_or(END), size: 4096, value: i as u64, action: 0 }))
        .collect();
    (TempFile::new(n, &blocks), order)
}

#[test]
fn a_thousand_chains_on_io_uring_match_the_sync_engine() {
    let program = chain_program();
    let (file, order) = long_chain(120);
    let opts = ChainOptions { hop_limit: 60, ..ChainOptions::default() };
    for direct in [DirectIo::Off, DirectIo::Auto] {
        let file = file.open(direct);
        for depth in [1, 64] {
            let mut engine = BatchEngine::new(&program, depth);
            assert!(engine.io().starts_with("io_uring"), "{}", engine.io());
            check_against_sync(&mut engine, &file, opts, &order);
        }
    }
}

#[test]
fn the_thread_pool_fallback_matches_the_sync_engine() {
    let program = chain_program();
    let (file, order) = long_chain(120);
    let opts = ChainOptions { hop_limit: 60, ..ChainOptions::default() };
    let mut engine = BatchEngine::with_threads(&program, 3);
    assert!(engine.io().contains("threads doing pread"), "{}", engine.io());
    check_against_sync(&mut engine, &file.open(DirectIo::Off), opts, &order);
}

#[test]
fn the_engine_a_file_measures_matches_the_sync_engine_and_says_why() {
    let program = chain_program();
    let (file, order) = long_chain(120);
    let opts = ChainOptions { hop_limit: 60, ..ChainOptions::default() };
    // Buffered and just written: its pages are cached, so reads complete
    // inline and the engine runs a ring per core (unless io_uring is off here).
    let buffered = file.open(DirectIo::Off);
    let mut engine = BatchEngine::for_file(&program, 32, &buffered);
    let io = engine.io();
    assert!(io.contains("probe reads inline: reads cost CPU, one ring per core") || io.contains("io_uring is unavailable"), "{io}");
    check_against_sync(&mut engine, &buffered, opts, &order);
    // Several rings at once, one per thread, give the same results as one.
    for rings in [2, 3] {
        let mut engine = BatchEngine::with_rings(&program, 32, rings);
        assert!(engine.io().starts_with(&format!("{rings} io_urings, one per thread")), "{}", engine.io());
        check_against_sync(&mut engine, &buffered, opts, &order);
    }
    // Whatever direct reads measure as, the results are the same.
    let direct = file.open(DirectIo::Auto);
    let mut engine = BatchEngine::for_file(&program, 32, &direct);
    assert!(engine.io().contains("probe reads") || engine.io().contains("unavailable"), "{}", engine.io());
    check_against_sync(&mut engine, &direct, opts, &order);
}

#[test]
fn chains_run_on_scratch_slices_of_one_slab() {
    let program = chain_program();
    let (file, order) = long_chain(40);
    let file = file.open(DirectIo::Off);
    let opts = ChainOptions::default();
    let mut slab = vec![0u8; 3 * 4096];
    for mut engine in [BatchEngine::new(&program, 2), BatchEngine::with_threads(&program, 2)] {
        slab.fill(0);
        let mut chains: Vec<BatchChain<&mut [u8]>> =
            slab.chunks_exact_mut(4096).zip([0, 10, 39]).map(|(scratch, i)| BatchChain { offset: order[i], len: 4096, scratch }).collect();
        let results = engine.run(&file, opts, &mut chains);
        assert!(results.iter().all(|r| r.outcome == Outcome::Done), "{results:?}");
        // The program counts the blocks it saw in scratch's second u64: 40, 30 and 1 to the end.
        let seen: Vec<u64> = slab.chunks_exact(4096).map(|p| u64::from_le_bytes(p[8..16].try_into().unwrap())).collect();
        assert_eq!(seen, [40, 30, 1], "{}", engine.io());
    }
}

#[test]
fn batches_report_faults_per_chain_and_the_engine_stays_usable() {
    let program = chain_program();
    // Block 0 faults, block 1 returns 7, block 2 asks for two addresses, block 3 is fine.
    let file = TempFile::new(
        4,
        &[
            (0, Block { next: 4096, size: 0, value: 1, action: 1 }),
            (4096, Block { next: 8192, size: 0, value: 1, action: 2 }),
            (8192, Block { next: 12288, size: 0, value: 1, action: 3 }),
            (12288, Block { next: END, size: 0, value: 1, action: 0 }),
        ],
    );
    let file = file.open(DirectIo::Off);
    let mut engine = BatchEngine::new(&program, 8);
    let opts = ChainOptions { mode: Mode::KernelCompatible, ..ChainOptions::default() };
    for _ in 0..3 {
        let mut batch: Vec<BatchChain> =
            [0u64, 4096, 8192, 12288, 100].iter().map(|&offset| BatchChain { offset, len: 512, scratch: Page::new() }).collect();
        let outcomes: Vec<Outcome> = engine.run(&file, opts, &mut batch).into_iter().map(|r| r.outcome).collect();
        assert!(matches!(outcomes[0], Outcome::ProgramError(_)), "{:?}", outcomes[0]);
        assert_eq!(outcomes[1], Outcome::Returned { code: 7 });
        assert_eq!(outcomes[2], Outcome::BadAddress(AddressError::SeveralAddresses { count: 2 }));
        assert_eq!(outcomes[3], Outcome::Done);
        assert_eq!(outcomes[4], Outcome::BadAddress(AddressError::Misaligned { offset: 100 }));
    }
    assert!(engine.run::<Page>(&file, opts, &mut []).is_empty());
}

/// One instruction slot: opcode, dst, src, off, imm.
fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let [o0, o1] = off.to_le_bytes();
    let [i0, i1, i2, i3] = imm.to_le_bytes();
    [op, src << 4 | dst, o0, o1, i0, i1, i2, i3]
}

#[test]
fn reports_carry_each_chains_log_and_times_and_match_run() {
    use ebpf::{Helpers, Program};
    // bpf_trace_printk(data, 5, 7) with data = "x=%d\0", then done = 1.
    let code: Vec<u8> = [
        insn(0xbf, 6, 1, 0, 0), // r6 = ctx
        insn(0x79, 1, 6, 0, 0), // r1 = ctx->data
        insn(0xb7, 2, 0, 0, 5),
        insn(0xb7, 3, 0, 0, 7),
        insn(0x85, 0, 0, 0, 6),
        insn(0xb7, 7, 0, 0, 1),
        insn(0x63, 6, 7, 8, 0), // ctx->done = 1
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
    ]
    .concat();
    let program = Program::from_bytecode(&code, &Helpers::standard()).unwrap();
    let file = TempFile::new(2, &[]);
    let mut bytes = std::fs::read(&file.0).unwrap();
    bytes[..5].copy_from_slice(b"x=%d\0");
    std::fs::write(&file.0, bytes).unwrap();
    let file = file.open(DirectIo::Off);
    let opts = ChainOptions::default();
    let batch = || -> Vec<BatchChain> {
        [0u64, 4096, 8192, 0].iter().map(|&offset| BatchChain { offset, len: 4096, scratch: Page::new() }).collect()
    };
    for mut engine in [BatchEngine::new(&program, 2), BatchEngine::with_threads(&program, 2)] {
        let reports = engine.run_reported(&file, opts, &mut batch());
        let logs: Vec<&str> = reports.iter().map(|r| r.log.as_str()).collect();
        assert_eq!(logs, ["x=7\n", "\n", "", "x=7\n"], "{}", engine.io()); // block 1 is zeros: an empty line
        assert_eq!(reports[2].result.outcome, Outcome::BadAddress(AddressError::OutOfFile { offset: 8192, file_size: 8192 }));
        assert!(reports.iter().all(|r| r.started <= r.finished), "{reports:?}");
        let results: Vec<_> = reports.into_iter().map(|r| r.result).collect();
        assert_eq!(results, engine.run(&file, opts, &mut batch()));
    }
}
