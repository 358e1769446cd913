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
