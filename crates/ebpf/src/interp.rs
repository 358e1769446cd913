//! The interpreter: executes a checked [`Program`] one instruction at a time.
//!
//! It relies on the checker for everything static (opcodes, registers, jump
//! targets, call nesting) and checks at run time only what depends on data:
//! every memory access (through [`AddressMap`]), the instruction budget, and
//! the frame count. Arithmetic follows RFC 9669: wrapping, division by zero
//! gives 0, modulo by zero leaves the dividend, shifts use the low 5 or 6 bits.

use crate::error::RunError;
use crate::helpers::{self, HelperOutcome};
use crate::insn::Insn;
use crate::memory::{AddressMap, FRAME_STACK_SIZE, MAX_FRAMES, STACK_BASE, STACK_SIZE};
use crate::opcode::*;
use crate::program::Program;
use crate::vm::Exit;

/// Saved caller state of a bpf-to-bpf call: the callee may clobber r6..r9 and moves r10.
#[derive(Clone, Copy, Default)]
pub(crate) struct Frame {
    return_pc: usize,
    saved: [u64; 4],
}

/// Runs `program` over `memory` (its top stack frame already zeroed) with
/// r1..r5 = `args` and at most `budget` instructions.
pub(crate) fn run(
    program: &Program,
    memory: &mut AddressMap<'_>,
    frames: &mut [Frame; MAX_FRAMES],
    log: &mut String,
    budget: u64,
    args: &[u64],
) -> Result<Exit, RunError> {
    let insns: &[Insn] = &program.insns;
    let costs: &[u32] = &program.costs;
    let mut reg = [0u64; 16]; // indexed by a 4-bit field: never out of bounds
    for (r, &a) in reg[1..6].iter_mut().zip(args) {
        *r = a;
    }
    reg[10] = STACK_BASE + STACK_SIZE as u64;
    let mut depth = 0usize;
    let mut remaining = budget;
    let mut pc = 0usize;

    macro_rules! fault {
        ($addr:expr, $size:expr, $write:expr) => {
            return Err(RunError::MemoryAccess { pc: pc - 1, addr: $addr, size: $size, write: $write })
        };
    }
    macro_rules! load {
        ($addr:expr, $size:expr) => {{
            let addr: u64 = $addr;
            match memory.load(addr, $size) {
                Some(v) => v,
                None => fault!(addr, $size, false),
            }
        }};
    }
    macro_rules! store {
        ($addr:expr, $size:expr, $value:expr) => {{
            let addr: u64 = $addr;
            if memory.store(addr, $size, $value).is_none() {
                fault!(addr, $size, true);
            }
        }};
    }
    macro_rules! jump_if {
        ($cond:expr, $off:expr) => {
            if $cond {
                pc = pc.wrapping_add($off as isize as usize);
            }
        };
    }

    loop {
        // The checker proved pc stays in range; `get` keeps this panic-free regardless.
        let (Some(&ins), Some(&cost)) = (insns.get(pc), costs.get(pc)) else {
            return Err(RunError::MemoryAccess { pc, addr: pc as u64, size: 8, write: false });
        };
        // A block is charged whole as it is entered (see `blocks`).
        if cost != 0 {
            if remaining < cost as u64 {
                return Err(RunError::BudgetExhausted { pc, budget });
            }
            remaining -= cost as u64;
        }
        pc += 1;
        let d = (ins.dst & 0x0f) as usize;
        let s = (ins.src & 0x0f) as usize;
        // Operands are computed inside each arm, never for every instruction:
        // doing it up front cost half of the interpreter's time.
        match ins.op {
            // 64-bit arithmetic, immediate source.
            ADD64_K => reg[d] = reg[d].wrapping_add(sext(ins.imm)),
            SUB64_K => reg[d] = reg[d].wrapping_sub(sext(ins.imm)),
            MUL64_K => reg[d] = reg[d].wrapping_mul(sext(ins.imm)),
            DIV64_K => reg[d] = div64(reg[d], sext(ins.imm), ins.off),
            OR64_K => reg[d] |= sext(ins.imm),
            AND64_K => reg[d] &= sext(ins.imm),
            LSH64_K => reg[d] <<= sext(ins.imm) & 63,
            RSH64_K => reg[d] >>= sext(ins.imm) & 63,
            NEG64 => reg[d] = reg[d].wrapping_neg(),
            MOD64_K => reg[d] = mod64(reg[d], sext(ins.imm), ins.off),
            XOR64_K => reg[d] ^= sext(ins.imm),
            MOV64_K => reg[d] = sext(ins.imm),
            ARSH64_K => reg[d] = ((reg[d] as i64) >> (sext(ins.imm) & 63)) as u64,
            // 64-bit arithmetic, register source.
            ADD64_X => reg[d] = reg[d].wrapping_add(reg[s]),
            SUB64_X => reg[d] = reg[d].wrapping_sub(reg[s]),
            MUL64_X => reg[d] = reg[d].wrapping_mul(reg[s]),
            DIV64_X => reg[d] = div64(reg[d], reg[s], ins.off),
            OR64_X => reg[d] |= reg[s],
            AND64_X => reg[d] &= reg[s],
            LSH64_X => reg[d] <<= reg[s] & 63,
            RSH64_X => reg[d] >>= reg[s] & 63,
            MOD64_X => reg[d] = mod64(reg[d], reg[s], ins.off),
            XOR64_X => reg[d] ^= reg[s],
            MOV64_X => reg[d] = movsx64(reg[s], ins.off),
            ARSH64_X => reg[d] = ((reg[d] as i64) >> (reg[s] & 63)) as u64,

            // 32-bit arithmetic: operate on the low halves, zero-extend the result.
            ADD32_K => reg[d] = (reg[d] as u32).wrapping_add(ins.imm as u32) as u64,
            SUB32_K => reg[d] = (reg[d] as u32).wrapping_sub(ins.imm as u32) as u64,
            MUL32_K => reg[d] = (reg[d] as u32).wrapping_mul(ins.imm as u32) as u64,
            DIV32_K => reg[d] = div32(reg[d] as u32, ins.imm as u32, ins.off) as u64,
            OR32_K => reg[d] = ((reg[d] as u32) | (ins.imm as u32)) as u64,
            AND32_K => reg[d] = ((reg[d] as u32) & (ins.imm as u32)) as u64,
            LSH32_K => reg[d] = ((reg[d] as u32) << ((ins.imm as u32) & 31)) as u64,
            RSH32_K => reg[d] = ((reg[d] as u32) >> ((ins.imm as u32) & 31)) as u64,
            NEG32 => reg[d] = (reg[d] as u32).wrapping_neg() as u64,
            MOD32_K => reg[d] = mod32(reg[d] as u32, ins.imm as u32, ins.off) as u64,
            XOR32_K => reg[d] = ((reg[d] as u32) ^ (ins.imm as u32)) as u64,
            MOV32_K => reg[d] = (ins.imm as u32) as u64,
            ARSH32_K => reg[d] = (((reg[d] as u32) as i32) >> ((ins.imm as u32) & 31)) as u32 as u64,
            ADD32_X => reg[d] = (reg[d] as u32).wrapping_add(reg[s] as u32) as u64,
            SUB32_X => reg[d] = (reg[d] as u32).wrapping_sub(reg[s] as u32) as u64,
            MUL32_X => reg[d] = (reg[d] as u32).wrapping_mul(reg[s] as u32) as u64,
            DIV32_X => reg[d] = div32(reg[d] as u32, reg[s] as u32, ins.off) as u64,
            OR32_X => reg[d] = ((reg[d] as u32) | (reg[s] as u32)) as u64,
            AND32_X => reg[d] = ((reg[d] as u32) & (reg[s] as u32)) as u64,
            LSH32_X => reg[d] = ((reg[d] as u32) << ((reg[s] as u32) & 31)) as u64,
            RSH32_X => reg[d] = ((reg[d] as u32) >> ((reg[s] as u32) & 31)) as u64,
            MOD32_X => reg[d] = mod32(reg[d] as u32, reg[s] as u32, ins.off) as u64,
            XOR32_X => reg[d] = ((reg[d] as u32) ^ (reg[s] as u32)) as u64,
            MOV32_X => reg[d] = movsx32(reg[s] as u32, ins.off) as u64,
            ARSH32_X => reg[d] = (((reg[d] as u32) as i32) >> ((reg[s] as u32) & 31)) as u32 as u64,

            // Byte order.
            LE => reg[d] = to_le(reg[d], ins.imm),
            BE => reg[d] = to_be(reg[d], ins.imm),
            BSWAP => reg[d] = swap(reg[d], ins.imm),

            // Loads and stores.
            LDDW => {
                let high = insns.get(pc).map_or(0, |i| i.imm as u32 as u64);
                reg[d] = (ins.imm as u32) as u64 | high << 32;
                pc += 1;
            }
            LDXB => reg[d] = load!(addr(reg[s], ins.off), 1),
            LDXH => reg[d] = load!(addr(reg[s], ins.off), 2),
            LDXW => reg[d] = load!(addr(reg[s], ins.off), 4),
            LDXDW => reg[d] = load!(addr(reg[s], ins.off), 8),
            LDXSB => reg[d] = load!(addr(reg[s], ins.off), 1) as u8 as i8 as i64 as u64,
            LDXSH => reg[d] = load!(addr(reg[s], ins.off), 2) as u16 as i16 as i64 as u64,
            LDXSW => reg[d] = load!(addr(reg[s], ins.off), 4) as u32 as i32 as i64 as u64,
            STB => store!(addr(reg[d], ins.off), 1, sext(ins.imm)),
            STH => store!(addr(reg[d], ins.off), 2, sext(ins.imm)),
            STW => store!(addr(reg[d], ins.off), 4, sext(ins.imm)),
            STDW => store!(addr(reg[d], ins.off), 8, sext(ins.imm)),
            STXB => store!(addr(reg[d], ins.off), 1, reg[s]),
            STXH => store!(addr(reg[d], ins.off), 2, reg[s]),
            STXW => store!(addr(reg[d], ins.off), 4, reg[s]),
            STXDW => store!(addr(reg[d], ins.off), 8, reg[s]),
            ATOMIC_W | ATOMIC_DW => atomic(memory, &mut reg, ins, pc - 1)?,

            // Jumps, 64-bit comparisons.
            JA => pc = pc.wrapping_add(ins.off as isize as usize),
            JA32 => pc = pc.wrapping_add(ins.imm as isize as usize),
            JEQ_K => jump_if!(reg[d] == sext(ins.imm), ins.off),
            JEQ_X => jump_if!(reg[d] == reg[s], ins.off),
            JGT_K => jump_if!(reg[d] > sext(ins.imm), ins.off),
            JGT_X => jump_if!(reg[d] > reg[s], ins.off),
            JGE_K => jump_if!(reg[d] >= sext(ins.imm), ins.off),
            JGE_X => jump_if!(reg[d] >= reg[s], ins.off),
            JLT_K => jump_if!(reg[d] < sext(ins.imm), ins.off),
            JLT_X => jump_if!(reg[d] < reg[s], ins.off),
            JLE_K => jump_if!(reg[d] <= sext(ins.imm), ins.off),
            JLE_X => jump_if!(reg[d] <= reg[s], ins.off),
            JSET_K => jump_if!(reg[d] & sext(ins.imm) != 0, ins.off),
            JSET_X => jump_if!(reg[d] & reg[s] != 0, ins.off),
            JNE_K => jump_if!(reg[d] != sext(ins.imm), ins.off),
            JNE_X => jump_if!(reg[d] != reg[s], ins.off),
            JSGT_K => jump_if!((reg[d] as i64) > sext(ins.imm) as i64, ins.off),
            JSGT_X => jump_if!((reg[d] as i64) > reg[s] as i64, ins.off),
            JSGE_K => jump_if!((reg[d] as i64) >= sext(ins.imm) as i64, ins.off),
            JSGE_X => jump_if!((reg[d] as i64) >= reg[s] as i64, ins.off),
            JSLT_K => jump_if!((reg[d] as i64) < sext(ins.imm) as i64, ins.off),
            JSLT_X => jump_if!((reg[d] as i64) < reg[s] as i64, ins.off),
            JSLE_K => jump_if!((reg[d] as i64) <= sext(ins.imm) as i64, ins.off),
            JSLE_X => jump_if!((reg[d] as i64) <= reg[s] as i64, ins.off),

            // Jumps, 32-bit comparisons of the low halves.
            JEQ32_K => jump_if!((reg[d] as u32) == (ins.imm as u32), ins.off),
            JEQ32_X => jump_if!((reg[d] as u32) == (reg[s] as u32), ins.off),
            JGT32_K => jump_if!((reg[d] as u32) > (ins.imm as u32), ins.off),
            JGT32_X => jump_if!((reg[d] as u32) > (reg[s] as u32), ins.off),
            JGE32_K => jump_if!((reg[d] as u32) >= (ins.imm as u32), ins.off),
            JGE32_X => jump_if!((reg[d] as u32) >= (reg[s] as u32), ins.off),
            JLT32_K => jump_if!((reg[d] as u32) < (ins.imm as u32), ins.off),
            JLT32_X => jump_if!((reg[d] as u32) < (reg[s] as u32), ins.off),
            JLE32_K => jump_if!((reg[d] as u32) <= (ins.imm as u32), ins.off),
            JLE32_X => jump_if!((reg[d] as u32) <= (reg[s] as u32), ins.off),
            JSET32_K => jump_if!((reg[d] as u32) & (ins.imm as u32) != 0, ins.off),
            JSET32_X => jump_if!((reg[d] as u32) & (reg[s] as u32) != 0, ins.off),
            JNE32_K => jump_if!((reg[d] as u32) != (ins.imm as u32), ins.off),
            JNE32_X => jump_if!((reg[d] as u32) != (reg[s] as u32), ins.off),
            JSGT32_K => jump_if!(((reg[d] as u32) as i32) > (ins.imm as u32) as i32, ins.off),
            JSGT32_X => jump_if!(((reg[d] as u32) as i32) > (reg[s] as u32) as i32, ins.off),
            JSGE32_K => jump_if!(((reg[d] as u32) as i32) >= (ins.imm as u32) as i32, ins.off),
            JSGE32_X => jump_if!(((reg[d] as u32) as i32) >= (reg[s] as u32) as i32, ins.off),
            JSLT32_K => jump_if!(((reg[d] as u32) as i32) < (ins.imm as u32) as i32, ins.off),
            JSLT32_X => jump_if!(((reg[d] as u32) as i32) < (reg[s] as u32) as i32, ins.off),
            JSLE32_K => jump_if!(((reg[d] as u32) as i32) <= (ins.imm as u32) as i32, ins.off),
            JSLE32_X => jump_if!(((reg[d] as u32) as i32) <= (reg[s] as u32) as i32, ins.off),

            // Calls and exit.
            CALL if ins.src == CALL_LOCAL => {
                if depth + 1 >= MAX_FRAMES {
                    return Err(RunError::CallDepth { pc: pc - 1, max_frames: MAX_FRAMES });
                }
                frames[depth] = Frame { return_pc: pc, saved: [reg[6], reg[7], reg[8], reg[9]] };
                depth += 1;
                reg[10] -= FRAME_STACK_SIZE as u64;
                let top = STACK_SIZE - depth * FRAME_STACK_SIZE;
                memory.zero_stack(top - FRAME_STACK_SIZE..top);
                pc = pc.wrapping_add(ins.imm as isize as usize);
            }
            CALL | CALLX => {
                let id = if ins.op == CALLX { reg[d] } else { ins.imm as u32 as u64 };
                let args = [reg[1], reg[2], reg[3], reg[4], reg[5]];
                match helpers::call(&program.helpers, memory, log, pc - 1, id, args)? {
                    HelperOutcome::Return(v) => reg[0] = v,
                    HelperOutcome::Stop(v) => return Ok(Exit { r0: v, executed: budget - remaining }),
                }
            }
            EXIT => {
                if depth == 0 {
                    return Ok(Exit { r0: reg[0], executed: budget - remaining });
                }
                depth -= 1;
                let f = frames[depth];
                reg[6..10].copy_from_slice(&f.saved);
                reg[10] += FRAME_STACK_SIZE as u64;
                pc = f.return_pc;
            }

            // Unreachable after the checker; refusing here keeps a checker bug from
            // becoming undefined behaviour.
            _ => {
                return Err(RunError::Helper { pc: pc - 1, id: 0, reason: format!("opcode {:#04x} reached the interpreter unchecked", ins.op) })
            }
        }
    }
}

/// The immediate sign-extended to 64 bits, as ALU64 and 64-bit jumps use it.
#[inline(always)]
fn sext(imm: i32) -> u64 {
    imm as i64 as u64
}

/// The address `base + off` of a load or store.
#[inline(always)]
fn addr(base: u64, off: i16) -> u64 {
    base.wrapping_add(off as i64 as u64)
}

fn div64(a: u64, b: u64, signed: i16) -> u64 {
    match (b, signed) {
        (0, _) => 0,
        (_, 0) => a / b,
        _ => (a as i64).wrapping_div(b as i64) as u64,
    }
}

fn mod64(a: u64, b: u64, signed: i16) -> u64 {
    match (b, signed) {
        (0, _) => a,
        (_, 0) => a % b,
        _ => (a as i64).wrapping_rem(b as i64) as u64,
    }
}

fn div32(a: u32, b: u32, signed: i16) -> u32 {
    match (b, signed) {
        (0, _) => 0,
        (_, 0) => a / b,
        _ => (a as i32).wrapping_div(b as i32) as u32,
    }
}

fn mod32(a: u32, b: u32, signed: i16) -> u32 {
    match (b, signed) {
        (0, _) => a,
        (_, 0) => a % b,
        _ => (a as i32).wrapping_rem(b as i32) as u32,
    }
}

/// `mov` (offset 0) or `movsx` from an 8-, 16- or 32-bit source (v4).
fn movsx64(v: u64, bits: i16) -> u64 {
    match bits {
        8 => v as i8 as i64 as u64,
        16 => v as i16 as i64 as u64,
        32 => v as i32 as i64 as u64,
        _ => v,
    }
}

fn movsx32(v: u32, bits: i16) -> u32 {
    match bits {
        8 => v as i8 as i32 as u32,
        16 => v as i16 as i32 as u32,
        _ => v,
    }
}

fn to_le(v: u64, width: i32) -> u64 {
    match width {
        16 => (v as u16).to_le() as u64,
        32 => (v as u32).to_le() as u64,
        _ => v.to_le(),
    }
}

fn to_be(v: u64, width: i32) -> u64 {
    match width {
        16 => (v as u16).to_be() as u64,
        32 => (v as u32).to_be() as u64,
        _ => v.to_be(),
    }
}

fn swap(v: u64, width: i32) -> u64 {
    match width {
        16 => (v as u16).swap_bytes() as u64,
        32 => (v as u32).swap_bytes() as u64,
        _ => v.swap_bytes(),
    }
}

/// One atomic read-modify-write at `reg[dst] + off`, as both engines run it:
/// the load is checked as a read, the store (when there is one) as a write.
/// A run is single-threaded, so plain operations are atomic with respect to it.
pub(crate) fn atomic(memory: &mut AddressMap<'_>, reg: &mut [u64; 16], ins: Insn, pc: usize) -> Result<(), RunError> {
    let size = access_size(ins.op);
    let (d, s) = ((ins.dst & 0x0f) as usize, (ins.src & 0x0f) as usize);
    let at = addr(reg[d], ins.off);
    let fault = |write| RunError::MemoryAccess { pc, addr: at, size, write };
    let old = memory.load(at, size).ok_or(fault(false))?;
    let narrow = |v: u64| if size == 4 { v as u32 as u64 } else { v };
    let src = reg[s];
    let fetch = ins.imm & ATOMIC_FETCH != 0;
    let new = match ins.imm {
        ATOMIC_XCHG => src,
        ATOMIC_CMPXCHG => {
            let equal = narrow(old) == narrow(reg[0]);
            if equal {
                memory.store(at, size, src).ok_or(fault(true))?;
            }
            reg[0] = narrow(old);
            return Ok(());
        }
        op => match op & !ATOMIC_FETCH {
            ATOMIC_ADD => old.wrapping_add(src),
            ATOMIC_OR => old | src,
            ATOMIC_AND => old & src,
            _ => old ^ src, // ATOMIC_XOR: the checker admits nothing else
        },
    };
    memory.store(at, size, new).ok_or(fault(true))?;
    if fetch {
        reg[s] = narrow(old);
    }
    Ok(())
}
