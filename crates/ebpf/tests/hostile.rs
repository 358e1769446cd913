//! Hostile input: at least 100,000 random and mutated programs and ELF objects.
//! Every one must end in a clean `LoadError`, `RunError` or exit; a panic,
//! crash or hang fails the test. Generation is seeded, so failures replay.
//!
//! It is also the differential test of the two engines: every program that
//! loads is compiled by the JIT and run on both it and the interpreter, which
//! must agree exactly: the same r0 and instruction count, or the same error
//! (variant, pc, address, ...), the same memory afterwards and the same log.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::Rng;
use ebpf::conformance::{self, Vector};
use ebpf::insn::Insn;
use ebpf::opcode::*;
use ebpf::{list_programs, region_address, Engine, Exit, Helpers, Program, Region, RunError, Vm};

const BUDGET: u64 = 20_000;

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    refused: usize,
    ran: usize,
    faulted: usize,
}

impl Tally {
    /// Loads and, when the checker admits it, runs one program over a copy of `memory`.
    fn bytecode(&mut self, code: &[u8], memory: &[u8], helpers: &Helpers) {
        self.cases += 1;
        match Program::from_bytecode_with(code, helpers, Engine::Jit) {
            Err(_) => self.refused += 1,
            Ok(p) => self.run(&p, memory),
        }
    }

    /// Runs `p` over a copy of `memory` on both engines; they must agree.
    fn run(&mut self, p: &Program, memory: &[u8]) {
        if ebpf::JIT_BUILT {
            assert_eq!(p.engine(), Engine::Jit, "{}", p.engine_reason());
        }
        let expected = outcome(p, Engine::Interpreter, memory);
        let got = outcome(p, Engine::Jit, memory);
        if got != expected {
            panic!(
                "the engines disagree on\n{}\ninterpreter: {expected:?}\njit:         {got:?}",
                p.bytecode().iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
        }
        match expected.result {
            Ok(_) => self.ran += 1,
            Err(_) => self.faulted += 1,
        }
    }
}

/// Everything a run can be seen to do.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    result: Result<Exit, RunError>,
    memory: Vec<u8>,
    readonly: Vec<u8>,
    log: String,
}

fn outcome(p: &Program, engine: Engine, memory: &[u8]) -> Outcome {
    let mut mem = memory.to_vec();
    let ro = vec![0x5au8; 64];
    let len = mem.len() as u64;
    let mut vm = Vm::new(p);
    vm.set_budget(BUDGET).set_engine(engine);
    let regions = &mut [Region::writable(&mut mem), Region::readonly(&ro)];
    let result = vm.run(regions, &[region_address(0), len, region_address(1)]);
    let log = vm.take_log();
    Outcome { result, memory: mem, readonly: ro, log }
}

/// Runs `f`, turning a panic into a test failure that shows the input.
fn guarded(what: &str, input: &[u8], f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        panic!("{what} panicked on input {hex}");
    }
}

const ALU_OPS: [u8; 13] =
    [ALU_ADD, ALU_SUB, ALU_MUL, ALU_DIV, ALU_OR, ALU_AND, ALU_LSH, ALU_RSH, ALU_NEG, ALU_MOD, ALU_XOR, ALU_MOV, ALU_ARSH];
const JMP_OPS: [u8; 11] =
    [JMP_JEQ, JMP_JGT, JMP_JGE, JMP_JSET, JMP_JNE, JMP_JSGT, JMP_JSGE, JMP_JLT, JMP_JLE, JMP_JSLT, JMP_JSLE];
const ATOMIC_OPS: [i32; 10] = [
    ATOMIC_ADD,
    ATOMIC_OR,
    ATOMIC_AND,
    ATOMIC_XOR,
    ATOMIC_ADD | ATOMIC_FETCH,
    ATOMIC_OR | ATOMIC_FETCH,
    ATOMIC_AND | ATOMIC_FETCH,
    ATOMIC_XOR | ATOMIC_FETCH,
    ATOMIC_XCHG,
    ATOMIC_CMPXCHG,
];

/// A mostly well-formed instruction at `pc` of a `len`-slot program, so random
/// programs get past the checker often enough to exercise the interpreter.
/// Memory bases favour r1 (region 0), r3 (read-only region 1) and r10 (stack).
fn random_insn(rng: &mut Rng, pc: usize, len: usize, corrupt: bool) -> Insn {
    let pick = |rng: &mut Rng, from: &[u8]| from[rng.below(from.len())];
    let reg = |rng: &mut Rng| rng.below(10) as u8;
    let base = |rng: &mut Rng| [1u8, 3, 10, 2, 0][rng.below(5)];
    let disp = |rng: &mut Rng, b: u8| if b == 10 { -(1 + rng.below(520) as i16) } else { rng.below(72) as i16 - 4 };
    let size = |rng: &mut Rng| [SIZE_B, SIZE_H, SIZE_W, SIZE_DW][rng.below(4)];
    let imm = |rng: &mut Rng| if rng.chance(50) { rng.below(80) as i32 - 16 } else { rng.next() as i32 };
    // Forward most of the time so loops stay rare; the budget ends the rest.
    let target_off = |rng: &mut Rng| {
        let target = if rng.chance(85) { pc + 1 + rng.below(len - pc) } else { rng.below(len) };
        (target as i64 - pc as i64 - 1) as i16
    };
    let mut i = Insn::default();
    match rng.below(16) {
        0..=5 => {
            let op = pick(rng, &ALU_OPS);
            let class = if rng.chance(50) { CLASS_ALU64 } else { CLASS_ALU };
            let by_reg = op != ALU_NEG && rng.chance(50);
            i.op = class | op | if by_reg { SRC_X } else { SRC_K };
            i.dst = reg(rng);
            if by_reg {
                i.src = rng.below(11) as u8;
            } else if op != ALU_NEG {
                i.imm = imm(rng);
            }
            i.off = match op {
                ALU_DIV | ALU_MOD => rng.below(2) as i16,
                ALU_MOV if by_reg => [0, 8, 16, if class == CLASS_ALU64 { 32 } else { 0 }][rng.below(4)],
                _ => 0,
            };
        }
        6 => {
            i.op = [LE, BE, BSWAP][rng.below(3)];
            i.dst = reg(rng);
            i.imm = [16, 32, 64][rng.below(3)];
        }
        7 | 8 => {
            let sx = rng.chance(20);
            i.op = CLASS_LDX | if sx { MODE_MEMSX | [SIZE_B, SIZE_H, SIZE_W][rng.below(3)] } else { MODE_MEM | size(rng) };
            i.dst = reg(rng);
            i.src = base(rng);
            i.off = disp(rng, i.src);
        }
        9 | 10 => {
            let (class, value) = if rng.chance(50) { (CLASS_ST, 0) } else { (CLASS_STX, rng.below(11) as u8) };
            i.op = class | MODE_MEM | size(rng);
            i.dst = base(rng);
            i.src = value;
            i.off = disp(rng, i.dst);
            if class == CLASS_ST {
                i.imm = imm(rng);
            }
        }
        11 => {
            i.op = if rng.chance(50) { ATOMIC_W } else { ATOMIC_DW };
            i.dst = base(rng);
            i.src = reg(rng);
            i.off = disp(rng, i.dst);
            i.imm = ATOMIC_OPS[rng.below(ATOMIC_OPS.len())];
        }
        12 | 13 => {
            let by_reg = rng.chance(50);
            let class = if rng.chance(50) { CLASS_JMP } else { CLASS_JMP32 };
            i.op = class | pick(rng, &JMP_OPS) | if by_reg { SRC_X } else { SRC_K };
            i.dst = rng.below(11) as u8;
            if by_reg {
                i.src = rng.below(11) as u8;
            } else {
                i.imm = imm(rng);
            }
            i.off = target_off(rng);
        }
        14 => {
            i.op = JA;
            i.off = target_off(rng);
        }
        _ => {
            i.op = CALL;
            i.imm = [5, 6, 6, 1][rng.below(4)];
            if rng.chance(10) {
                i.src = CALL_LOCAL;
                i.imm = target_off(rng) as i32;
            } else if rng.chance(10) {
                // callx: the id is whatever the register holds, often not a helper.
                i = Insn { op: CALLX, dst: reg(rng), ..Default::default() };
            }
        }
    }
    if corrupt && rng.chance(5) {
        // Corrupt one field: the checker must refuse or the run end cleanly.
        match rng.below(5) {
            0 => i.op = rng.next() as u8,
            1 => i.dst = rng.below(16) as u8,
            2 => i.src = rng.below(16) as u8,
            3 => i.off = rng.next() as i16,
            _ => i.imm = rng.next() as i32,
        }
    }
    i
}

fn random_program(rng: &mut Rng) -> Vec<u8> {
    let len = 2 + rng.below(48);
    let mut insns: Vec<Insn> = (0..len - 1).map(|pc| random_insn(rng, pc, len, true)).collect();
    if rng.chance(97) {
        insns.push(Insn { op: EXIT, ..Default::default() });
    } else {
        insns.push(random_insn(rng, len - 1, len, true));
    }
    let mut code: Vec<u8> = insns.iter().flat_map(|i| i.encode()).collect();
    if rng.chance(2) {
        code.truncate(rng.below(code.len() + 1)); // not a whole number of slots
    }
    code
}

/// Rewrites one field of one instruction, keeping the rest well-formed.
fn mutate_fields(rng: &mut Rng, code: &[u8]) -> Vec<u8> {
    let mut insns = ebpf::insn::decode_all(code).unwrap_or_default();
    if insns.is_empty() {
        return code.to_vec();
    }
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(insns.len());
        let i = &mut insns[at];
        match rng.below(4) {
            0 => i.off = i.off.wrapping_add(rng.below(9) as i16 - 4),
            1 => i.imm = if rng.chance(50) { i.imm.wrapping_add(rng.below(9) as i32 - 4) } else { rng.next() as i32 },
            2 => i.dst = rng.below(10) as u8,
            _ => i.src = rng.below(11) as u8,
        }
    }
    insns.iter().flat_map(|i| i.encode()).collect()
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(6) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = rng.next() as u8,
            2 => {
                let v = [0u8, 0xff, 0x7f, 0x80][rng.below(4)];
                let end = (at + 1 + rng.below(8)).min(out.len());
                out[at..end].fill(v);
            }
            3 => {
                let word = rng.next().to_le_bytes();
                let end = (at + 8).min(out.len());
                out[at..end].copy_from_slice(&word[..end - at]);
            }
            4 => out.truncate(at),
            _ => {
                let from = rng.below(out.len());
                let end = (from + 1 + rng.below(16)).min(out.len());
                let chunk = out[from..end].to_vec();
                out.splice(at..at, chunk);
            }
        }
    }
    out
}

#[test]
fn random_programs_end_cleanly() {
    let helpers = conformance::helpers();
    let mut rng = Rng::new(0x5eed_0001);
    let mut tally = Tally::default();
    for _ in 0..40_000 {
        let code = random_program(&mut rng);
        let memory: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
        guarded("random bytecode", &code, || tally.bytecode(&code, &memory, &helpers));
    }
    println!("random programs: {tally:?}");
    assert!(tally.ran + tally.faulted >= 4_000, "too few random programs got past the checker: {tally:?}");
    assert!(tally.ran >= 1_000 && tally.faulted >= 1_000, "both outcomes must be exercised: {tally:?}");
}

/// Values that find the edges of arithmetic: signed and unsigned extremes,
/// the 32-bit boundaries, and region addresses.
const EDGES: [u64; 12] = [
    0,
    1,
    u64::MAX,
    i64::MIN as u64,
    i64::MAX as u64,
    i32::MIN as u32 as u64,
    i32::MIN as i64 as u64,
    u32::MAX as u64,
    1 << 32,
    63,
    64,
    region_address(0) + 8,
];

/// A program the checker accepts: up to three functions, each calling only
/// later ones, each starting by loading edge values into a few registers and
/// ending with `exit`. Made to exercise the engines, not the checker.
fn well_formed_program(rng: &mut Rng) -> Vec<u8> {
    let functions = 1 + rng.below(3);
    let mut bodies: Vec<Vec<Insn>> = Vec::new();
    for _ in 0..functions {
        let mut body = Vec::new();
        for _ in 0..rng.below(4) {
            let v = EDGES[rng.below(EDGES.len())];
            body.push(Insn { op: LDDW, dst: rng.below(10) as u8, imm: v as u32 as i32, ..Default::default() });
            body.push(Insn { imm: (v >> 32) as u32 as i32, ..Default::default() });
        }
        let len = 2 + rng.below(30);
        for pc in 0..len - 1 {
            let mut i = random_insn(rng, pc, len, false);
            let is_jump = matches!(i.op & CLASS_MASK, CLASS_JMP | CLASS_JMP32) && i.op != CALL && i.op != CALLX;
            if is_jump && pc as i64 + 1 + i.off as i64 >= len as i64 {
                i.off = (len - pc - 2) as i16; // onto the exit, not past it
            }
            body.push(i);
        }
        body.push(Insn { op: EXIT, ..Default::default() });
        bodies.push(body);
    }
    let starts: Vec<usize> = bodies.iter().scan(0, |at, b| Some(std::mem::replace(at, *at + b.len()))).collect();
    let mut insns = Vec::new();
    for (f, body) in bodies.into_iter().enumerate() {
        for (pc, mut i) in body.into_iter().enumerate() {
            if i.op == CALL && i.src == CALL_LOCAL {
                if f + 1 < functions {
                    let callee = starts[f + 1 + rng.below(functions - f - 1)];
                    i.imm = callee as i32 - (starts[f] + pc) as i32 - 1;
                } else {
                    i = Insn { op: CALL, imm: [5, 6][rng.below(2)], ..Default::default() };
                }
            } else if i.op == CALL && i.imm == 1 {
                i.imm = 5; // helper 1 is not registered
            }
            insns.push(i);
        }
    }
    insns.iter().flat_map(|i| i.encode()).collect()
}

#[test]
fn well_formed_programs_agree_on_both_engines() {
    let helpers = conformance::helpers();
    let mut rng = Rng::new(0x5eed_0004);
    let mut tally = Tally::default();
    for _ in 0..40_000 {
        let code = well_formed_program(&mut rng);
        let memory: Vec<u8> = (0..rng.below(80)).map(|_| rng.next() as u8).collect();
        guarded("well-formed bytecode", &code, || tally.bytecode(&code, &memory, &helpers));
    }
    println!("well-formed programs: {tally:?}");
    assert!(tally.refused * 100 <= tally.cases, "the checker should accept these: {tally:?}");
    assert!(tally.ran >= 5_000 && tally.faulted >= 5_000, "both outcomes must be exercised: {tally:?}");
}

#[test]
fn mutated_conformance_programs_end_cleanly() {
    let path = conformance::shared_dir().join("bpf-conformance/vectors.tsv");
    let vectors: Vec<Vector> = conformance::read_vectors(&path).expect("conformance vectors (set XRPKV_SHARED)");
    let helpers = conformance::helpers();
    let mut rng = Rng::new(0x5eed_0002);
    let mut tally = Tally::default();
    for _ in 0..40_000 {
        let v = &vectors[rng.below(vectors.len())];
        let code = if rng.chance(50) { mutate(&mut rng, &v.code) } else { mutate_fields(&mut rng, &v.code) };
        guarded("mutated bytecode", &code, || tally.bytecode(&code, &v.memory, &helpers));
    }
    println!("mutated conformance programs: {tally:?}");
    assert!(tally.ran + tally.faulted >= 4_000, "too few mutants got past the checker: {tally:?}");
}

#[test]
fn mutated_elf_objects_end_cleanly() {
    let sources: Vec<String> = common::sources("").into_iter().chain(common::sources("tests")).collect();
    let jobs: Vec<(&str, &[&str])> = sources
        .iter()
        .flat_map(|s| [(s.as_str(), &["-mcpu=v1"][..]), (s.as_str(), &["-mcpu=v3", "-g"][..])])
        .collect();
    let seeds = common::compile_many(&jobs);
    assert!(!seeds.is_empty(), "bpf/ holds programs to mutate");
    let helpers = Helpers::standard();
    let mut rng = Rng::new(0x5eed_0003);
    let mut tally = Tally::default();
    let mut listed = 0;
    for _ in 0..25_000 {
        let seed = &seeds[rng.below(seeds.len())];
        let object = mutate(&mut rng, seed);
        guarded("mutated ELF object", &object, || {
            tally.cases += 1;
            let names: Vec<String> = match list_programs(&object) {
                Ok(found) => found.into_iter().map(|p| p.name).collect(),
                Err(_) => Vec::new(),
            };
            listed += !names.is_empty() as usize;
            let selectors = names.iter().map(|n| Some(n.as_str())).chain([None, Some("no-such-program")]);
            for selector in selectors {
                match Program::from_elf(&object, selector, &helpers) {
                    Err(_) => tally.refused += 1,
                    Ok(p) => tally.run(&p, &[0u8; 4096]),
                }
            }
        });
    }
    println!("mutated ELF objects: {tally:?}, {listed} still listable");
    assert!(listed >= 2_500, "mutations should often leave the object readable: {listed}");
}
