//! The load-time checker: everything the interpreter relies on is proven here,
//! once, so the run loop only checks what depends on data (memory addresses,
//! the budget).
//!
//! After `check` succeeds:
//! - every slot is a known opcode with its reserved fields zero, or the second
//!   half of an `LDDW`, which nothing jumps or calls into;
//! - registers are r0..r10 and nothing writes r10 (the frame pointer);
//! - every helper id called is registered (a `callx` takes its id from a
//!   register: the engines check it when it runs);
//! - the program splits into sub-programs at its entry and at every local call
//!   target; every jump stays inside its sub-program and no sub-program can
//!   run off its end (its last instruction is `exit` or an unconditional jump);
//! - calls form no cycle and nest at most `MAX_FRAMES` frames deep;
//! - the program is at most [`MAX_PROGRAM_INSNS`] slots long.
//!
//! It does not track register types or values as the kernel's verifier does:
//! memory safety comes from the address map, termination from the budget.

use crate::error::LoadError;
use crate::helpers::Helpers;
use crate::insn::Insn;
use crate::memory::MAX_FRAMES;
use crate::opcode::*;

/// Longest program accepted, in instruction slots (the kernel's limit for a
/// privileged loader is 1,000,000 processed; BPF-KV's programs are ~100).
pub const MAX_PROGRAM_INSNS: usize = 65_536;

const FP: u8 = 10;

fn refuse<T>(pc: usize, reason: impl Into<String>) -> Result<T, LoadError> {
    Err(LoadError::Check { pc, reason: reason.into() })
}

/// Checks `insns` against the helpers the embedder registered.
pub fn check(insns: &[Insn], helpers: &Helpers) -> Result<(), LoadError> {
    if insns.is_empty() {
        return refuse(0, "program is empty");
    }
    if insns.len() > MAX_PROGRAM_INSNS {
        return refuse(MAX_PROGRAM_INSNS, format!("program has {} instructions; the limit is {MAX_PROGRAM_INSNS}", insns.len()));
    }
    let starts = instruction_starts(insns)?;
    let mut calls = Vec::new(); // (pc of call, target)
    for pc in 0..insns.len() {
        if !starts[pc] {
            continue;
        }
        check_insn(insns, pc, helpers)?;
        if let Some(target) = branch_target(insns, pc) {
            if target < 0 || target as usize >= insns.len() {
                return refuse(pc, format!("jump or call target {target} is outside the program (0..{})", insns.len()));
            }
            if !starts[target as usize] {
                return refuse(pc, format!("jump or call target {target} is the second half of an lddw"));
            }
            if is_local_call(&insns[pc]) {
                calls.push((pc, target as usize));
            }
        }
    }
    check_subprograms(insns, &starts, &calls)
}

/// `starts[pc]` is false only for the second slot of an `LDDW`.
fn instruction_starts(insns: &[Insn]) -> Result<Vec<bool>, LoadError> {
    let mut starts = vec![true; insns.len()];
    let mut pc = 0;
    while pc < insns.len() {
        if insns[pc].op == LDDW {
            let Some(second) = insns.get(pc + 1) else {
                return refuse(pc, "lddw is missing its second slot");
            };
            if second.op != 0 || second.dst != 0 || second.src != 0 || second.off != 0 {
                return refuse(pc + 1, "second slot of lddw must have opcode, registers and offset zero");
            }
            starts[pc + 1] = false;
            pc += 2;
        } else {
            pc += 1;
        }
    }
    Ok(starts)
}

fn is_local_call(i: &Insn) -> bool {
    i.op == CALL && i.src == CALL_LOCAL
}

/// The pc a jump or local call may transfer to, relative offsets resolved.
fn branch_target(insns: &[Insn], pc: usize) -> Option<i64> {
    let i = &insns[pc];
    let next = pc as i64 + 1;
    match i.op & CLASS_MASK {
        CLASS_JMP if i.op == CALL => is_local_call(i).then_some(next + i.imm as i64),
        CLASS_JMP if i.op == EXIT => None,
        CLASS_JMP32 if i.op == JA32 => Some(next + i.imm as i64),
        CLASS_JMP | CLASS_JMP32 => Some(next + i.off as i64),
        _ => None,
    }
}

/// Whether execution can continue at `pc + width` after this instruction.
fn falls_through(i: &Insn) -> bool {
    !matches!(i.op, JA | JA32 | EXIT)
}

fn check_insn(insns: &[Insn], pc: usize, helpers: &Helpers) -> Result<(), LoadError> {
    let i = &insns[pc];
    if i.dst > FP || i.src > FP {
        return refuse(pc, format!("register r{} does not exist (r0..r10)", i.dst.max(i.src)));
    }
    let zero = |field: &str, value: i64| reserved(pc, i, &[(field, value)]);
    let writes_dst = |i: &Insn| -> Result<(), LoadError> {
        if i.dst == FP {
            return refuse(pc, "r10 is the read-only frame pointer");
        }
        Ok(())
    };
    match i.op & CLASS_MASK {
        CLASS_LD => {
            if i.op != LDDW {
                return refuse(pc, format!("opcode {:#04x} (legacy packet access or unknown load) is not supported", i.op));
            }
            if i.src != 0 {
                return refuse(pc, format!("lddw with src_reg {} (a map or pseudo reference) is not supported", i.src));
            }
            zero("offset", i.off as i64)?;
            writes_dst(i)
        }
        CLASS_LDX => {
            match i.op & MODE_MASK {
                MODE_MEM => {}
                MODE_MEMSX if i.op & SIZE_MASK != SIZE_DW => {}
                _ => return refuse(pc, format!("unknown load opcode {:#04x}", i.op)),
            }
            zero("immediate", i.imm as i64)?;
            writes_dst(i)
        }
        CLASS_ST => {
            if i.op & MODE_MASK != MODE_MEM {
                return refuse(pc, format!("unknown store opcode {:#04x}", i.op));
            }
            zero("source register", i.src as i64)
        }
        CLASS_STX => match i.op & MODE_MASK {
            MODE_MEM => zero("immediate", i.imm as i64),
            MODE_ATOMIC => check_atomic(pc, i),
            _ => refuse(pc, format!("unknown store opcode {:#04x}", i.op)),
        },
        CLASS_ALU | CLASS_ALU64 => {
            check_alu(pc, i)?;
            writes_dst(i)
        }
        _ => check_jump(pc, i, helpers),
    }
}

fn check_atomic(pc: usize, i: &Insn) -> Result<(), LoadError> {
    if i.op != ATOMIC_W && i.op != ATOMIC_DW {
        return refuse(pc, format!("atomic operations take 4 or 8 bytes, not opcode {:#04x}", i.op));
    }
    let fetches = match i.imm {
        ATOMIC_ADD | ATOMIC_OR | ATOMIC_AND | ATOMIC_XOR => false,
        x if x == ATOMIC_ADD | ATOMIC_FETCH
            || x == ATOMIC_OR | ATOMIC_FETCH
            || x == ATOMIC_AND | ATOMIC_FETCH
            || x == ATOMIC_XOR | ATOMIC_FETCH
            || x == ATOMIC_XCHG
            || x == ATOMIC_CMPXCHG =>
        {
            true
        }
        x => return refuse(pc, format!("unknown atomic operation {x:#x}")),
    };
    if fetches && i.src == FP {
        return refuse(pc, "an atomic fetch cannot write r10, the read-only frame pointer");
    }
    Ok(())
}

fn check_alu(pc: usize, i: &Insn) -> Result<(), LoadError> {
    let op = i.op & OP_MASK;
    let is64 = i.op & CLASS_MASK == CLASS_ALU64;
    let reg_source = i.op & SRC_X != 0;
    let bad_field = |what: &str| refuse(pc, format!("{what} of opcode {:#04x}", i.op));
    if op == ALU_END {
        if is64 && reg_source {
            return refuse(pc, format!("unknown byte-swap opcode {:#04x}", i.op));
        }
        if i.src != 0 || i.off != 0 {
            return bad_field("reserved source register and offset must be 0");
        }
        return match i.imm {
            16 | 32 | 64 => Ok(()),
            w => refuse(pc, format!("byte swap width must be 16, 32 or 64, not {w}")),
        };
    }
    if op > ALU_ARSH {
        return refuse(pc, format!("unknown arithmetic opcode {:#04x}", i.op));
    }
    if op == ALU_NEG {
        if reg_source || i.src != 0 || i.imm != 0 || i.off != 0 {
            return bad_field("neg takes no source: register, immediate and offset must be 0");
        }
        return Ok(());
    }
    if reg_source && i.imm != 0 {
        return bad_field("immediate must be 0 with a register source");
    }
    if !reg_source && i.src != 0 {
        return bad_field("source register must be 0 with an immediate source");
    }
    let off_ok = match op {
        ALU_DIV | ALU_MOD => i.off == 0 || i.off == 1, // 1: signed (v4)
        ALU_MOV if reg_source => matches!(i.off, 0 | 8 | 16) || (is64 && i.off == 32), // movsx (v4)
        _ => i.off == 0,
    };
    if !off_ok {
        return refuse(pc, format!("offset {} is not valid for opcode {:#04x}", i.off, i.op));
    }
    Ok(())
}

fn check_jump(pc: usize, i: &Insn, helpers: &Helpers) -> Result<(), LoadError> {
    let op = i.op & OP_MASK;
    let reg_source = i.op & SRC_X != 0;
    match i.op {
        JA => reserved(pc, i, &[("registers", (i.dst | i.src) as i64), ("immediate", i.imm as i64)]),
        JA32 => reserved(pc, i, &[("registers", (i.dst | i.src) as i64), ("offset", i.off as i64)]),
        // callx: the helper whose id is in `dst`, as the conformance suite and
        // PREVAIL define it; which id can only be known, and checked, at run time.
        CALLX => reserved(
            pc,
            i,
            &[("source register", i.src as i64), ("offset", i.off as i64), ("immediate", i.imm as i64)],
        ),
        CALL => {
            if i.dst != 0 || i.off != 0 {
                return refuse(pc, "call must have destination register and offset 0");
            }
            match i.src {
                CALL_HELPER => {
                    let id = i.imm as u32;
                    if !helpers.contains(id) {
                        return refuse(pc, format!("call to helper {id}, which is not registered"));
                    }
                    Ok(())
                }
                CALL_LOCAL => Ok(()),
                CALL_KFUNC => refuse(pc, "calls to kernel functions (kfuncs) are not supported"),
                s => refuse(pc, format!("call with unknown source register value {s}")),
            }
        }
        EXIT => reserved(
            pc,
            i,
            &[("registers", (i.dst | i.src) as i64), ("offset", i.off as i64), ("immediate", i.imm as i64)],
        ),
        // Call, exit and ja exist only in the forms matched above (0x0d and
        // 0x9d, say, are not conditional jumps).
        _ if op == JMP_CALL || op == JMP_EXIT || op == JMP_JA => {
            refuse(pc, format!("unknown jump opcode {:#04x}", i.op))
        }
        _ if op > JMP_JSLE => refuse(pc, format!("unknown jump opcode {:#04x}", i.op)),
        _ => {
            if reg_source && i.imm != 0 {
                return refuse(pc, format!("immediate must be 0 with a register source in opcode {:#04x}", i.op));
            }
            if !reg_source && i.src != 0 {
                return refuse(pc, format!("source register must be 0 with an immediate source in opcode {:#04x}", i.op));
            }
            Ok(())
        }
    }
}

/// Refuses `i` unless every named reserved field is zero.
fn reserved(pc: usize, i: &Insn, fields: &[(&str, i64)]) -> Result<(), LoadError> {
    match fields.iter().find(|(_, value)| *value != 0) {
        Some((name, value)) => refuse(pc, format!("reserved {name} of opcode {:#04x} must be 0, not {value}", i.op)),
        None => Ok(()),
    }
}

/// Splits the program at its entry and every local-call target, then checks
/// that control stays inside each piece and that calls nest boundedly.
fn check_subprograms(insns: &[Insn], starts: &[bool], calls: &[(usize, usize)]) -> Result<(), LoadError> {
    let mut entries: Vec<usize> = calls.iter().map(|&(_, t)| t).chain([0]).collect();
    entries.sort_unstable();
    entries.dedup();
    let sub_of = |pc: usize| entries.partition_point(|&e| e <= pc) - 1;
    let end_of = |s: usize| entries.get(s + 1).copied().unwrap_or(insns.len());

    for pc in (0..insns.len()).filter(|&pc| starts[pc]) {
        let s = sub_of(pc);
        let width = if insns[pc].op == LDDW { 2 } else { 1 };
        if falls_through(&insns[pc]) && pc + width >= end_of(s) {
            return refuse(pc, if end_of(s) == insns.len() {
                "the program can run past its last instruction (it must end with exit or ja)".to_string()
            } else {
                format!("execution can fall through into the sub-program at {}", end_of(s))
            });
        }
        if let Some(target) = branch_target(insns, pc) {
            let target = target as usize; // range-checked by the caller
            if !is_local_call(&insns[pc]) && sub_of(target) != s {
                return refuse(pc, format!("jump to {target} leaves its sub-program ({}..{})", entries[s], end_of(s)));
            }
        }
    }

    // Call graph between sub-programs; depth counts frames, the entry's included.
    let mut callees: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    for &(pc, target) in calls {
        callees[sub_of(pc)].push(sub_of(target));
    }
    let mut depth: Vec<Option<usize>> = vec![None; entries.len()];
    let mut on_path = vec![false; entries.len()];
    let frames = frame_depth(0, &callees, &mut depth, &mut on_path).map_err(|s| LoadError::Check {
        pc: entries[s],
        reason: format!("sub-program at {} calls itself, directly or indirectly (recursion is not allowed)", entries[s]),
    })?;
    if frames > MAX_FRAMES {
        return refuse(0, format!("calls nest {frames} frames deep; the limit is {MAX_FRAMES}"));
    }
    Ok(())
}

/// Frames needed to run sub-program `s`; `Err(s)` names one on a cycle.
/// Iterative over an explicit stack so a hostile call chain cannot overflow ours.
fn frame_depth(
    root: usize,
    callees: &[Vec<usize>],
    depth: &mut [Option<usize>],
    on_path: &mut [bool],
) -> Result<usize, usize> {
    let mut stack: Vec<(usize, usize)> = vec![(root, 0)]; // (sub-program, next callee index)
    on_path[root] = true;
    while let Some(&mut (s, ref mut next)) = stack.last_mut() {
        if let Some(&c) = callees[s].get(*next) {
            *next += 1;
            if on_path[c] {
                return Err(c);
            }
            if depth[c].is_none() {
                on_path[c] = true;
                stack.push((c, 0));
            }
        } else {
            let d = 1 + callees[s].iter().map(|&c| depth[c].unwrap_or(0)).max().unwrap_or(0);
            depth[s] = Some(d);
            on_path[s] = false;
            stack.pop();
        }
    }
    Ok(depth[root].unwrap_or(1))
}
