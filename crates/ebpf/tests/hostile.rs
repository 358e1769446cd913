//! Hostile input: at least 100,000 random and mutated programs and ELF objects.
//! Every one must end in a clean `LoadError`, `RunError` or exit; a panic,
//! crash or hang fails the test. Generation is seeded, so failures replay.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::Rng;
use ebpf::conformance::{self, Vector};
use ebpf::insn::Insn;
use ebpf::opcode::*;
use ebpf::{list_programs, region_address, Helpers, Program, Region, Vm};

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
        match Program::from_bytecode(code, helpers) {
            Err(_) => self.refused += 1,
            Ok(p) => self.run(&p, memory),
        }
    }

    fn run(&mut self, p: &Program, memory: &[u8]) {
        let mut mem = memory.to_vec();
        let mut ro = vec![0x5au8; 64];
        let len = mem.len() as u64;
        let mut vm = Vm::new(p);
        vm.set_budget(BUDGET);
        let regions = &mut [Region::writable(&mut mem), Region::readonly(&mut ro)];
        match vm.run(regions, &[region_address(0), len, region_address(1)]) {
            Ok(_) => self.ran += 1,
            Err(_) => self.faulted += 1,
        }
    }
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
fn random_insn(rng: &mut Rng, pc: usize, len: usize) -> Insn {
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
            }
        }
    }
    if rng.chance(5) {
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
    let mut insns: Vec<Insn> = (0..len - 1).map(|pc| random_insn(rng, pc, len)).collect();
    if rng.chance(97) {
        insns.push(Insn { op: EXIT, ..Default::default() });
    } else {
        insns.push(random_insn(rng, len - 1, len));
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
