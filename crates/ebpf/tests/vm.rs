//! Behaviour of the checker and both engines beyond the conformance suite:
//! what is refused at load, and how a run fails. Every run here goes through
//! `on_both`, which runs the interpreter and the JIT and requires the same result.

use std::sync::Arc;

use ebpf::insn::Insn;
use ebpf::opcode::*;
use ebpf::{region_address, Engine, HelperOutcome, Helpers, LoadError, Program, Region, RunError, Vm};

fn i(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { op, dst, src, off, imm }
}
fn mov(dst: u8, imm: i32) -> Insn {
    i(MOV64_K, dst, 0, 0, imm)
}
fn exit() -> Insn {
    i(EXIT, 0, 0, 0, 0)
}
fn code(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|x| x.encode()).collect()
}
fn load(insns: &[Insn]) -> Result<Program, LoadError> {
    Program::from_bytecode_with(&code(insns), &Helpers::standard(), Engine::Jit)
}

/// Runs `f` on a fresh VM of each engine and returns its result, which must
/// be the same on both. Where the JIT is not built, both runs interpret.
fn on_both<T: PartialEq + std::fmt::Debug>(p: &Program, f: impl Fn(&mut Vm) -> T) -> T {
    let mut interp = Vm::new(p);
    interp.set_engine(Engine::Interpreter);
    let expected = f(&mut interp);
    let mut jit = Vm::new(p);
    jit.set_engine(Engine::Jit);
    if ebpf::JIT_BUILT {
        assert_eq!(jit.engine(), Engine::Jit, "{}", p.engine_reason());
    }
    assert_eq!(f(&mut jit), expected, "the JIT disagrees with the interpreter");
    expected
}
fn refusal(insns: &[Insn]) -> (usize, String) {
    match load(insns) {
        Err(LoadError::Check { pc, reason }) => (pc, reason),
        Err(other) => panic!("expected a checker refusal, got {other}"),
        Ok(_) => panic!("expected a checker refusal, program was accepted"),
    }
}
/// Runs with `mem` as region 0 (r1 = its address, r2 = its length) on both
/// engines, which must agree on the result and on `mem` afterwards.
fn run(p: &Program, mem: &mut [u8]) -> Result<u64, RunError> {
    let len = mem.len() as u64;
    let start = mem.to_vec();
    let (result, after) = on_both(p, |vm| {
        let mut m = start.clone();
        let r = vm.run(&mut [Region::writable(&mut m)], &[region_address(0), len]).map(|e| e.r0);
        (r, m)
    });
    mem.copy_from_slice(&after);
    result
}

#[test]
fn checker_refuses_malformed_programs_with_pc_and_reason() {
    let cases: Vec<(Vec<Insn>, usize, &str)> = vec![
        (vec![], 0, "empty"),
        (vec![mov(0, 1)], 0, "past its last instruction"),
        (vec![i(0xff, 0, 0, 0, 0), exit()], 0, "unknown"),
        (vec![mov(11, 1), exit()], 0, "r11"),
        (vec![mov(10, 1), exit()], 0, "r10"),
        (vec![i(ADD64_K, 0, 3, 0, 1), exit()], 0, "source register must be 0"),
        (vec![i(ADD64_X, 0, 1, 0, 5), exit()], 0, "immediate must be 0"),
        (vec![i(ADD64_K, 0, 0, 4, 1), exit()], 0, "offset 4"),
        (vec![i(JA, 0, 0, 5, 0), exit()], 0, "outside the program"),
        (vec![i(JA, 0, 0, -2, 0), exit()], 0, "outside the program"),
        (vec![i(JA, 0, 0, 1, 0), i(LDDW, 1, 0, 0, 1), i(0, 0, 0, 0, 0), exit()], 0, "second half of an lddw"),
        (vec![i(LDDW, 1, 0, 0, 1)], 0, "missing its second slot"),
        (vec![i(LDDW, 1, 0, 0, 1), i(0, 1, 0, 0, 0), exit()], 1, "second slot"),
        (vec![i(LDDW, 1, 1, 0, 1), i(0, 0, 0, 0, 0), exit()], 0, "map or pseudo"),
        (vec![i(CALL, 0, 0, 0, 99), exit()], 0, "helper 99"),
        (vec![i(CALL, 0, 2, 0, 1), exit()], 0, "kfunc"),
        (vec![i(CALLX, 1, 2, 0, 0), exit()], 0, "reserved source register"),
        (vec![i(CALLX, 1, 0, 0, 6), exit()], 0, "reserved immediate"),
        (vec![i(EXIT, 0, 0, 0, 1)], 0, "reserved immediate"),
        (vec![i(EXIT | SRC_X, 0, 0, 0, 0), exit()], 0, "unknown jump opcode 0x9d"),
        (vec![i(JA | SRC_X, 0, 0, 0, 0), exit()], 0, "unknown jump opcode 0x0d"),
        (vec![i(LE, 0, 0, 0, 17), exit()], 0, "16, 32 or 64"),
        (vec![i(0x20, 0, 0, 0, 0), exit()], 0, "legacy packet access"),
        (vec![i(ATOMIC_DW, 1, 2, 0, 0x33), exit()], 0, "atomic operation"),
        (vec![i(ATOMIC_DW, 1, 10, 0, ATOMIC_XCHG), exit()], 0, "frame pointer"),
        (vec![i(LDXSB | SIZE_DW, 0, 1, 0, 0), exit()], 0, "unknown load"),
        // A local call into a sub-program that falls off the end.
        (vec![i(CALL, 0, CALL_LOCAL, 0, 1), exit(), mov(0, 1)], 2, "past its last instruction"),
        // A jump from the entry function into the sub-program's body.
        (vec![i(CALL, 0, CALL_LOCAL, 0, 2), i(JA, 0, 0, 1, 0), exit(), exit()], 1, "leaves its sub-program"),
        // Recursion.
        (vec![i(CALL, 0, CALL_LOCAL, 0, 1), exit(), i(CALL, 0, CALL_LOCAL, 0, -1), exit()], 2, "calls itself"),
    ];
    for (insns, pc, words) in cases {
        let (got_pc, reason) = refusal(&insns);
        assert!(reason.contains(words), "{insns:?}: reason {reason:?} should mention {words:?}");
        assert_eq!(got_pc, pc, "{insns:?}: {reason}");
    }
}

/// A chain of `n` sub-programs, each calling the next: `n + 1` frames.
fn call_chain(n: usize) -> Vec<Insn> {
    let mut p = Vec::new();
    for k in 0..=n {
        if k < n {
            p.push(i(CALL, 0, CALL_LOCAL, 0, 1)); // call the next function, two slots on
        } else {
            p.push(mov(0, 7));
        }
        p.push(exit());
    }
    // Fix offsets: function k starts at 2k; its call at 2k targets 2k+2.
    p
}

#[test]
fn calls_nest_at_most_eight_frames() {
    let p = load(&call_chain(7)).expect("8 frames are allowed");
    assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[])).unwrap().r0, 7);
    let (_, reason) = refusal(&call_chain(8));
    assert!(reason.contains("9 frames"), "{reason}");
}

#[test]
fn memory_faults_name_pc_address_and_size() {
    // r0 = *(u64 *)(r1 + 8) with 8 bytes of memory: one past the end.
    let p = load(&[mov(0, 0), i(LDXDW, 0, 1, 8, 0), exit()]).unwrap();
    let err = run(&p, &mut [0u8; 8]).unwrap_err();
    assert_eq!(err, RunError::MemoryAccess { pc: 1, addr: region_address(0) + 8, size: 8, write: false });
    assert!(err.to_string().contains("instruction 1"), "{err}");

    // A store to a read-only region.
    let p = load(&[i(STB, 1, 0, 0, 1), mov(0, 0), exit()]).unwrap();
    let ro = [0u8; 4];
    let err = on_both(&p, |vm| vm.run(&mut [Region::readonly(&ro)], &[region_address(0)])).unwrap_err();
    assert!(matches!(err, RunError::MemoryAccess { pc: 0, write: true, .. }), "{err:?}");

    // A null pointer, a host-looking address, and below the stack.
    for addr_reg_value in [0i32, 0x1000, -1] {
        let p = load(&[mov(1, addr_reg_value), i(LDXB, 0, 1, 0, 0), exit()]).unwrap();
        assert!(matches!(run(&p, &mut []), Err(RunError::MemoryAccess { pc: 1, .. })));
    }
    let p = load(&[i(LDXB, 0, 10, -4097, 0), exit()]).unwrap();
    assert!(matches!(run(&p, &mut []), Err(RunError::MemoryAccess { pc: 0, .. })));
    let p = load(&[i(LDXB, 0, 10, 0, 0), exit()]).unwrap();
    assert!(matches!(run(&p, &mut []), Err(RunError::MemoryAccess { pc: 0, .. })), "r10 itself is one past the stack");
}

#[test]
fn a_store_that_faults_changes_nothing() {
    // Writes 0xff at offset 0, then an 8-byte store one byte past the end.
    let p = load(&[i(STB, 1, 0, 0, 0xff), i(STDW, 1, 0, 1, -1), mov(0, 0), exit()]).unwrap();
    let mut mem = [0u8; 8];
    assert!(run(&p, &mut mem).is_err());
    assert_eq!(mem, [0xff, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn the_budget_ends_an_endless_loop() {
    let p = load(&[mov(0, 0), i(JA, 0, 0, -1, 0), exit()]).unwrap();
    let err = on_both(&p, |vm| vm.run(&mut [], &[])).unwrap_err();
    assert_eq!(err, RunError::BudgetExhausted { pc: 1, budget: ebpf::DEFAULT_BUDGET });
    let err = on_both(&p, |vm| vm.set_budget(10).run(&mut [], &[])).unwrap_err();
    assert_eq!(err, RunError::BudgetExhausted { pc: 1, budget: 10 });

    // Exactly enough budget succeeds; one less fails where the block that
    // does not fit starts (the whole program is one block here).
    let p = load(&[mov(0, 1), mov(0, 2), exit()]).unwrap();
    assert_eq!(on_both(&p, |vm| vm.set_budget(3).run(&mut [], &[])).unwrap().executed, 3);
    let err = on_both(&p, |vm| vm.set_budget(2).run(&mut [], &[])).unwrap_err();
    assert_eq!(err, RunError::BudgetExhausted { pc: 0, budget: 2 });

    // Blocks split at jump targets and after jumps: the run gets as far as
    // whole blocks fit. 0-1: mov, jeq (always); 2: mov (skipped); 3-4: mov, exit.
    let p = load(&[mov(0, 1), i(JEQ_K, 0, 0, 1, 1), mov(0, 9), mov(0, 3), exit()]).unwrap();
    assert_eq!(on_both(&p, |vm| vm.set_budget(4).run(&mut [], &[])).unwrap().executed, 4);
    let err = on_both(&p, |vm| vm.set_budget(3).run(&mut [], &[])).unwrap_err();
    assert_eq!(err, RunError::BudgetExhausted { pc: 3, budget: 3 });
}

#[test]
fn calls_charge_the_callee_s_blocks_and_stop_at_the_budget() {
    // main: call f; exit. f: loop forever. Ends in f, on either engine.
    let p = load(&[i(CALL, 0, CALL_LOCAL, 0, 1), exit(), mov(0, 1), i(JA, 0, 0, -2, 0)]).unwrap();
    let err = on_both(&p, |vm| vm.set_budget(1001).run(&mut [], &[])).unwrap_err();
    assert_eq!(err, RunError::BudgetExhausted { pc: 2, budget: 1001 });
}

#[test]
fn each_run_starts_with_a_zeroed_frame() {
    // Reads a stack slot, then writes it: a second run must still read 0.
    let p = load(&[i(LDXDW, 0, 10, -8, 0), i(STDW, 10, 0, -8, 77), exit()]).unwrap();
    let twice = on_both(&p, |vm| [vm.run(&mut [], &[]), vm.run(&mut [], &[])]);
    assert_eq!(twice.map(|r| r.unwrap().r0), [0, 0]);
}

#[test]
fn helpers_return_stop_or_fail() {
    let mut helpers = Helpers::new();
    helpers.register(1, "double", Arc::new(|_, a| Ok(HelperOutcome::Return(a[0] * 2))));
    helpers.register(2, "stop", Arc::new(|_, a| Ok(HelperOutcome::Stop(a[0]))));
    helpers.register(3, "fail", Arc::new(|_, _| Err("no such thing".into())));
    let prog = |id| {
        Program::from_bytecode(&code(&[mov(1, 21), i(CALL, 0, 0, 0, id), mov(0, 5), exit()]), &helpers).unwrap()
    };
    let p1 = Program::from_bytecode(&code(&[mov(1, 21), i(CALL, 0, 0, 0, 1), exit()]), &helpers).unwrap();
    let run = |p: &Program| on_both(p, |vm| vm.run(&mut [], &[]));
    assert_eq!(run(&p1).unwrap(), ebpf::Exit { r0: 42, executed: 3 });
    assert_eq!(run(&prog(2)).unwrap(), ebpf::Exit { r0: 21, executed: 2 }, "stop ends the program at once");
    let err = run(&prog(3)).unwrap_err();
    assert_eq!(err, RunError::Helper { pc: 1, id: 3, reason: "no such thing".into() });
    // Helper 6 is not in this table, so a program calling it is refused at load.
    assert!(Program::from_bytecode(&code(&[i(CALL, 0, 0, 0, 6), exit()]), &helpers).is_err());
}

#[test]
fn trace_printk_formats_into_the_log() {
    // The format string sits in the caller's memory; r3, r4 and r5 are the arguments.
    let fmt = b"n=%d u=%lu x=%x %%\0";
    let p = load(&[
        mov(2, fmt.len() as i32),
        mov(3, -5),
        mov(4, 7),
        mov(5, 255),
        i(CALL, 0, 0, 0, 6),
        exit(),
    ])
    .unwrap();
    let (r0, log) = on_both(&p, |vm| {
        let mut mem = fmt.to_vec();
        let r0 = vm.run(&mut [Region::writable(&mut mem)], &[region_address(0)]).unwrap().r0;
        (r0, vm.take_log())
    });
    assert_eq!(log, "n=-5 u=7 x=ff %\n");
    assert_eq!(r0, "n=-5 u=7 x=ff %".len() as u64);

    // A format string outside memory is a helper failure, not a crash.
    let err = on_both(&p, |vm| vm.run(&mut [], &[0x1234])).unwrap_err();
    assert!(matches!(err, RunError::Helper { id: 6, .. }), "{err:?}");
    // One without its NUL within fmt_size is -EINVAL, as in the kernel.
    let r0 = on_both(&p, |vm| {
        let mut mem = vec![b'a'; fmt.len()];
        vm.run(&mut [Region::writable(&mut mem)], &[region_address(0)]).unwrap().r0
    });
    assert_eq!(r0 as i64, -22);
}

#[test]
fn local_calls_preserve_callee_saved_registers_and_get_their_own_frame() {
    // main: r6 = 1; store 11 at fp-8; call f; r0 += r6 + *(fp-8); exit
    // f:    r6 = 100; store 22 at fp-8; r0 = 5; exit
    let p = load(&[
        mov(6, 1),
        i(STDW, 10, 0, -8, 11),
        i(CALL, 0, CALL_LOCAL, 0, 4),
        i(ADD64_X, 0, 6, 0, 0),
        i(LDXDW, 1, 10, -8, 0),
        i(ADD64_X, 0, 1, 0, 0),
        exit(),
        mov(6, 100),
        i(STDW, 10, 0, -8, 22),
        mov(0, 5),
        exit(),
    ])
    .unwrap();
    assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[])).unwrap().r0, 5 + 1 + 11);
}

#[test]
fn callx_calls_the_helper_whose_id_is_in_dst_checked_at_run_time() {
    let mut helpers = Helpers::new();
    helpers.register(1, "double", Arc::new(|_, a| Ok(HelperOutcome::Return(a[0] * 2))));
    // r1 = 21; r3 = r2 (the id, from the caller); callx r3; exit
    let p = Program::from_bytecode_with(
        &code(&[mov(1, 21), i(MOV64_X, 3, 2, 0, 0), i(CALLX, 3, 0, 0, 0), exit()]),
        &helpers,
        Engine::Jit,
    )
    .unwrap();
    let run = |id: u64| on_both(&p, |vm| vm.run(&mut [], &[0, id]));
    assert_eq!(run(1).unwrap().r0, 42);
    for id in [0, 2, 1 << 32 | 1, u64::MAX] {
        let err = run(id).unwrap_err();
        let RunError::Helper { pc: 2, reason, .. } = &err else { panic!("{err:?}") };
        assert!(reason.contains("not a registered helper"), "{reason}");
    }
}

#[test]
fn r10_reads_as_its_vm_address_in_every_frame() {
    // main: r0 = r10; call f; exit.  f: r0 -= r10 (the frame size); exit.
    let p = load(&[i(MOV64_X, 0, 10, 0, 0), i(CALL, 0, CALL_LOCAL, 0, 1), exit(), i(SUB64_X, 0, 10, 0, 0), exit()]).unwrap();
    assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[])).unwrap().r0, 512);
    let p = load(&[i(MOV64_X, 0, 10, 0, 0), exit()]).unwrap();
    assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[])).unwrap().r0, ebpf::memory::STACK_BASE + 4096);
}

#[test]
fn eight_nested_frames_run_on_both_engines() {
    // The deepest chain the checker allows: 7 calls and 8 exits, 16 instructions.
    let p = load(&call_chain(7)).unwrap();
    assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[])).unwrap(), ebpf::Exit { r0: 7, executed: 16 });
}

#[test]
fn a_jump_over_one_mov_runs_both_ways_and_charges_the_mov_only_when_it_runs() {
    // 0: r0 = 1; 1: if r1 > 5 goto 3; 2: r0 = r1; 3: exit
    let p = load(&[mov(0, 1), i(JGT_K, 1, 0, 1, 5), i(MOV64_X, 0, 1, 0, 0), exit()]).unwrap();
    for (arg, r0, executed) in [(0u64, 0u64, 4u64), (5, 5, 4), (6, 1, 3), (u64::MAX, 1, 3)] {
        assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[arg])).unwrap(), ebpf::Exit { r0, executed });
    }
    for budget in 0..5 {
        on_both(&p, |vm| vm.set_budget(budget).run(&mut [], &[3]));
    }
    let err = on_both(&p, |vm| vm.set_budget(2).run(&mut [], &[3])).unwrap_err();
    assert_eq!(err, RunError::BudgetExhausted { pc: 2, budget: 2 });

    // 0: r0 = -1; 1: if (s32) r1 < 0 goto 4; 2: w0 = 7; 3: goto 4; 4: exit
    let p = load(&[mov(0, -1), i(JSLT32_K, 1, 0, 2, 0), i(MOV32_K, 0, 0, 0, 7), i(JA, 0, 0, 0, 0), exit()]).unwrap();
    for (arg, r0) in [(0u64, 7u64), (1 << 31, u64::MAX), (1 << 32, 7)] {
        assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[arg])).unwrap().r0, r0, "{arg:#x}");
    }
    for budget in 0..6 {
        on_both(&p, |vm| vm.set_budget(budget).run(&mut [], &[0]));
    }
    // A 32-bit move zero-extends; where it does not run, r0 keeps its upper half.
    let p = load(&[mov(0, -1), i(JEQ_K, 1, 0, 1, 0), i(MOV32_X, 0, 0, 0, 0), exit()]).unwrap();
    assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[0])).unwrap().r0, u64::MAX);
    assert_eq!(on_both(&p, |vm| vm.run(&mut [], &[1])).unwrap().r0, u32::MAX as u64);
}
