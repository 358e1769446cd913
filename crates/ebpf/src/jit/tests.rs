//! Unit tests of the JIT's pieces; the engines' agreement is tested
//! end to end in tests/ (conformance, vm, hostile).

use super::*;
use crate::helpers::Helpers;
use crate::memory::{region_address, Region};
use crate::{Engine, Vm};

fn program(insns: &[Insn]) -> Program {
    let _only_mapper = exec_mem::MAPPING_TEST_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let code: Vec<u8> = insns.iter().flat_map(|i| i.encode()).collect();
    Program::from_bytecode_with(&code, &Helpers::standard(), Engine::Jit).unwrap()
}

fn i(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { op, dst, src, off, imm }
}

#[test]
fn context_layout_fits_short_displacements() {
    // The hot fields sit where rbp-relative operands stay small.
    assert_eq!(offsets::HOST, 0);
    assert_eq!(offsets::LENS, 8 * SLOTS as i32);
    assert!(offsets::FAULT_ADDR < 1024);
}

#[test]
fn a_program_loaded_for_the_jit_runs_compiled() {
    let p = program(&[i(MOV64_K, 0, 0, 0, 7), i(ADD64_X, 0, 1, 0, 0), i(EXIT, 0, 0, 0, 0)]);
    assert_eq!(p.engine(), Engine::Jit, "{}", p.engine_reason());
    let mut vm = Vm::new(&p);
    assert_eq!(vm.engine(), Engine::Jit);
    assert_eq!(vm.run(&mut [], &[35]).unwrap(), Exit { r0: 42, executed: 3 });
    vm.set_engine(Engine::Interpreter);
    assert_eq!(vm.engine(), Engine::Interpreter);
    assert_eq!(vm.run(&mut [], &[35]).unwrap(), Exit { r0: 42, executed: 3 });
}

#[test]
fn faults_name_the_same_pc_address_and_size() {
    // r0 = *(u32 *)(r1 + 6) over 8 bytes: 2 bytes past the end.
    let p = program(&[i(LDXW, 0, 1, 6, 0), i(EXIT, 0, 0, 0, 0)]);
    let mut mem = [0u8; 8];
    let want = RunError::MemoryAccess { pc: 0, addr: region_address(0) + 6, size: 4, write: false };
    for engine in [Engine::Jit, Engine::Interpreter] {
        let mut vm = Vm::new(&p);
        vm.set_engine(engine);
        assert_eq!(vm.run(&mut [Region::writable(&mut mem)], &[region_address(0)]), Err(want.clone()), "{engine:?}");
    }
}

/// Both engines over `mem` with r1 at `r1` and r3 = `r3`: they must agree.
fn agree(p: &Program, mem: &mut [u8], writable: bool, r1: u64, r3: u64) -> Result<Exit, RunError> {
    let mut results = Vec::new();
    for engine in [Engine::Interpreter, Engine::Jit] {
        let mut copy = mem.to_vec();
        let region = if writable { Region::writable(&mut copy) } else { Region::readonly(&copy) };
        let mut vm = Vm::new(p);
        vm.set_engine(engine);
        results.push((vm.run(&mut [region], &[r1, 0, r3]), copy));
    }
    assert_eq!(results[0], results[1], "the engines disagree (r1 {r1:#x}, r3 {r3})");
    mem.copy_from_slice(&results[0].1);
    results.swap_remove(0).0
}

#[test]
fn accesses_proven_inside_r1s_region_run_unchecked_only_when_it_is_long_enough() {
    // ...; *(u64 *)(r2 + 16) = r0 + 1
    let p = program(&bounds::masked_index_load(&[i(ADD64_K, 0, 0, 0, 1), i(STXDW, 2, 0, 16, 0)]));
    let unchecked = p.jit.as_ref().and_then(|c| c.unchecked.as_ref()).expect("a second compilation");
    assert_eq!((unchecked.extent, unchecked.writes), (255 * 8 + 24, true));
    let base = region_address(0);
    // Exactly long enough: the unchecked code runs, its last slot included.
    let mut mem = vec![0u8; 2064];
    assert_eq!(agree(&p, &mut mem, true, base, 255).unwrap().r0, 1);
    assert_eq!(mem[2056], 1);
    // One byte short, r1 moved up, or read-only: the checked code, which
    // faults where the interpreter does and runs where it runs.
    let mut short = vec![0u8; 2063];
    assert!(matches!(agree(&p, &mut short, true, base, 255), Err(RunError::MemoryAccess { pc: 4, .. })));
    assert_eq!(agree(&p, &mut short, true, base, 3).unwrap().r0, 1);
    assert!(agree(&p, &mut mem, true, base + 8, 255).is_err());
    assert!(matches!(agree(&p, &mut mem, false, base, 1), Err(RunError::MemoryAccess { pc: 6, write: true, .. })));
    // r1 outside any region: no region to be long enough.
    assert!(agree(&p, &mut mem, true, 0, 1).is_err());
    assert!(agree(&p, &mut mem, true, u64::MAX - 7, 1).is_err());
}
