//! Which memory accesses are in bounds whatever the run, given one fact
//! checked once at entry: that r1 points at least `extent` bytes before the
//! end of its region (and, when `writes`, that the region is writable).
//!
//! A forward analysis over the checked program tracks, per register, either
//! a range of unsigned values or "r1 at entry plus an offset in a range".
//! An access whose base holds the latter, with the whole access inside
//! `[0, extent)` of that pointer, needs no run-time check in code entered
//! only when the entry fact holds (`super::run` tests it). It is the
//! classic case of a program searching the page it was given, e.g.
//! `node[(mid & 255) * 8 + 16]` in bpf/node_search.c.
//!
//! Soundness rests on: every transfer over-approximates what the instruction
//! can produce (RFC 9669 semantics, wrapping included: a range that could
//! wrap becomes "any value"); conditional jumps refine nothing; loops reach
//! a fixed point because a register whose range still grows after
//! `WIDEN_AFTER` visits of an instruction becomes "any value"; programs with
//! bpf-to-bpf calls are not analysed at all (their frames would need
//! per-frame states), so every access in them stays checked.

use crate::insn::Insn;
use crate::opcode::*;

/// Visits of one instruction after which a still-growing range widens.
const WIDEN_AFTER: u32 = 8;
/// Offsets from r1 are tracked only within this magnitude: far from any
/// wrap, and any region is at most 2^32 bytes.
const OFFSET_LIMIT: i64 = 1 << 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    /// An unsigned value in `lo..=hi`.
    Num(u64, u64),
    /// r1's value at entry plus an offset in `lo..=hi`.
    Arg(i64, i64),
}

const ANY: Val = Val::Num(0, u64::MAX);
const ANY32: Val = Val::Num(0, u32::MAX as u64);

/// What the analysis proved: which pcs access memory in bounds, and the
/// entry fact that makes it so.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Proof {
    /// `proven[pc]`: the load or store at pc needs no check.
    pub proven: Vec<bool>,
    /// Bytes from r1's entry value that the proven accesses reach.
    pub extent: u64,
    /// Whether any proven access is a store.
    pub writes: bool,
}

type State = [Val; 10];

/// The proof for a checked program, or None when nothing is proven.
pub(crate) fn prove(insns: &[Insn]) -> Option<Proof> {
    if insns.iter().any(|i| i.op == CALL && i.src == CALL_LOCAL) {
        return None;
    }
    let n = insns.len();
    let mut states: Vec<Option<State>> = vec![None; n];
    let mut visits = vec![0u32; n];
    let mut entry = [ANY; 10];
    entry[1] = Val::Arg(0, 0);
    states[0] = Some(entry);
    let mut work = vec![0usize];
    while let Some(pc) = work.pop() {
        let Some(state) = states[pc] else { continue };
        for (t, out) in successors(insns, pc, state).into_iter().flatten().filter(|&(t, _)| t < n) {
            let merged = match states[t] {
                None => out,
                Some(old) => {
                    visits[t] += 1;
                    let mut m = old;
                    for r in 0..10 {
                        m[r] = join(old[r], out[r]);
                        if m[r] != old[r] && visits[t] > WIDEN_AFTER {
                            m[r] = ANY;
                        }
                    }
                    m
                }
            };
            if states[t] != Some(merged) {
                states[t] = Some(merged);
                work.push(t);
            }
        }
    }
    let mut proof = Proof { proven: vec![false; n], extent: 0, writes: false };
    for pc in 0..n {
        let (Some(state), i) = (states[pc], insns[pc]) else { continue };
        let (base, write) = match i.op & CLASS_MASK {
            CLASS_LDX if matches!(i.op & MODE_MASK, MODE_MEM | MODE_MEMSX) => (i.src, false),
            CLASS_ST | CLASS_STX if i.op & MODE_MASK == MODE_MEM => (i.dst, true),
            _ => continue,
        };
        if base >= 10 {
            continue; // r10: the JIT's own frame check
        }
        if let Val::Arg(lo, hi) = state[base as usize] {
            let size = access_size(i.op) as i64;
            let (start, end) = (lo + i.off as i64, hi + i.off as i64 + size);
            if start >= 0 && end <= u32::MAX as i64 {
                proof.proven[pc] = true;
                proof.extent = proof.extent.max(end as u64);
                proof.writes |= write;
            }
        }
    }
    proof.proven.iter().any(|&p| p).then_some(proof)
}

fn join(a: Val, b: Val) -> Val {
    match (a, b) {
        (Val::Num(a0, a1), Val::Num(b0, b1)) => Val::Num(a0.min(b0), a1.max(b1)),
        (Val::Arg(a0, a1), Val::Arg(b0, b1)) => Val::Arg(a0.min(b0), a1.max(b1)),
        _ => ANY,
    }
}

/// Where control goes after `pc`, each with its state: a conditional jump's
/// two ways refine an unsigned comparison's register (`refine`), and a way
/// that cannot be taken is left out.
fn successors(insns: &[Insn], pc: usize, s: State) -> [Option<(usize, State)>; 2] {
    let (out, next) = step(insns, pc, s);
    let i = insns[pc];
    let conditional = i.op & CLASS_MASK == CLASS_JMP && next[1].is_some() && !matches!(i.op, JA | CALL | CALLX | EXIT);
    if !conditional || i.dst >= 10 {
        return next.map(|t| t.map(|t| (t, out)));
    }
    let d = i.dst as usize;
    let with = |v: Option<Val>| {
        v.map(|v| {
            let mut s = out;
            s[d] = v;
            s
        })
    };
    let (taken, fall) = refine(i, out[d], operand(&out, i, false));
    [with(fall).zip(next[0]).map(|(s, t)| (t, s)), with(taken).zip(next[1]).map(|(s, t)| (t, s))]
}

/// A 64-bit unsigned comparison of `d` with `s`: `d`'s range where the jump
/// is taken and where it falls through (None: that way is impossible).
/// Other comparisons leave `d` as it is both ways.
fn refine(i: Insn, d: Val, s: Val) -> (Option<Val>, Option<Val>) {
    let (Val::Num(d0, d1), Val::Num(s0, s1)) = (d, s) else { return (Some(d), Some(d)) };
    let range = |lo: u64, hi: u64| (lo <= hi).then_some(Val::Num(lo, hi));
    // Each bound moves only where the other operand's range allows for sure.
    let above = |k: u64| k.checked_add(1).and_then(|k| range(d0.max(k), d1)); // d > k
    let below = |k: u64| k.checked_sub(1).and_then(|k| range(d0, d1.min(k))); // d < k
    let at_least = |k: u64| range(d0.max(k), d1);
    let at_most = |k: u64| range(d0, d1.min(k));
    match i.op & OP_MASK {
        JMP_JGT => (above(s0), at_most(s1)),
        JMP_JGE => (at_least(s0), below(s1)),
        JMP_JLT => (below(s1), at_least(s0)),
        JMP_JLE => (at_most(s1), above(s0)),
        _ => (Some(d), Some(d)),
    }
}

/// The state after the instruction at `pc`, and where control goes next.
fn step(insns: &[Insn], pc: usize, mut s: State) -> (State, [Option<usize>; 2]) {
    let i = insns[pc];
    let next = Some(pc + 1);
    let jump = |off: i64| usize::try_from(pc as i64 + 1 + off).ok();
    let d = (i.dst as usize).min(9);
    match i.op & CLASS_MASK {
        // Byte swaps: LE/BE are ALU-class yet may leave 64 bits.
        CLASS_ALU | CLASS_ALU64 if i.op & OP_MASK == ALU_END => s[d] = ANY,
        CLASS_ALU64 => s[d] = alu64(i, s[d], operand(&s, i, false)),
        CLASS_ALU => s[d] = alu32(i, s[d], operand(&s, i, true)),
        CLASS_LD => {
            s[d] = if i.src == 0 {
                let high = insns.get(pc + 1).map_or(0, |n| n.imm as u32 as u64);
                exact(i.imm as u32 as u64 | high << 32)
            } else {
                ANY
            };
            return (s, [Some(pc + 2), None]);
        }
        CLASS_LDX => {
            s[d] = match (i.op & MODE_MASK, access_size(i.op)) {
                (MODE_MEM, 1) => Val::Num(0, 0xff),
                (MODE_MEM, 2) => Val::Num(0, 0xffff),
                (MODE_MEM, 4) => ANY32,
                _ => ANY,
            }
        }
        CLASS_ST => {}
        CLASS_STX => {
            if i.op & MODE_MASK == MODE_ATOMIC {
                if i.imm & ATOMIC_FETCH != 0 {
                    s[(i.src as usize).min(9)] = ANY;
                }
                if i.imm == ATOMIC_CMPXCHG {
                    s[0] = ANY;
                }
            }
        }
        _ => match i.op {
            JA => return (s, [jump(i.off as i64), None]),
            JA32 => return (s, [jump(i.imm as i64), None]),
            EXIT => return (s, [None, None]),
            CALL | CALLX => {
                for r in &mut s[0..6] {
                    *r = ANY;
                }
            }
            _ => return (s, [next, jump(i.off as i64)]),
        },
    }
    (s, [next, None])
}

fn exact(v: u64) -> Val {
    Val::Num(v, v)
}

/// The source operand: the immediate (sign-extended for 64-bit, as is for
/// 32-bit) or the register's value.
fn operand(s: &State, i: Insn, alu32: bool) -> Val {
    if i.op & SRC_X == 0 {
        return if alu32 { exact(i.imm as u32 as u64) } else { exact(i.imm as i64 as u64) };
    }
    if i.src >= 10 {
        return ANY; // r10: a stack address, not tracked
    }
    s[i.src as usize]
}

fn alu64(i: Insn, a: Val, b: Val) -> Val {
    use Val::*;
    let op = i.op & OP_MASK;
    if i.off != 0 && matches!(op, ALU_MOV | ALU_DIV | ALU_MOD) {
        return ANY; // sign-extending moves, signed division
    }
    match (op, a, b) {
        (ALU_MOV, _, b) => b,
        (ALU_ADD, Num(a0, a1), Num(b0, b1)) => match (a0.checked_add(b0), a1.checked_add(b1)) {
            (Some(lo), Some(hi)) => Num(lo, hi),
            _ => ANY,
        },
        (ALU_ADD, Arg(p0, p1), Num(n0, n1)) | (ALU_ADD, Num(n0, n1), Arg(p0, p1)) => shift_arg(p0, p1, n0, n1, false),
        (ALU_SUB, Num(a0, a1), Num(b0, b1)) if a0 >= b1 => Num(a0 - b1, a1 - b0),
        (ALU_SUB, Arg(p0, p1), Num(n0, n1)) => shift_arg(p0, p1, n0, n1, true),
        (ALU_AND, Num(_, a1), Num(_, b1)) => Num(0, a1.min(b1)),
        (ALU_AND, _, Num(_, b1)) | (ALU_AND, Num(_, b1), _) => Num(0, b1),
        (ALU_LSH, Num(a0, a1), Num(k, k1)) if k == k1 => {
            let k = (k & 63) as u32;
            if a1.leading_zeros() >= k {
                Num(a0 << k, a1 << k)
            } else {
                ANY
            }
        }
        (ALU_RSH, Num(a0, a1), Num(k, k1)) if k == k1 => Num(a0 >> (k & 63), a1 >> (k & 63)),
        (ALU_RSH, _, Num(k, k1)) if k == k1 => Num(0, u64::MAX >> (k & 63)),
        (ALU_DIV, Num(a0, a1), Num(d, d1)) if d == d1 && d != 0 => Num(a0 / d, a1 / d),
        (ALU_MOD, Num(_, a1), Num(d, d1)) if d == d1 && d != 0 => Num(0, a1.min(d - 1)),
        (ALU_MOD, _, Num(d, d1)) if d == d1 && d != 0 => Num(0, d - 1),
        _ => ANY,
    }
}

/// r1 + [p0, p1] plus (or minus) an unsigned [n0, n1], if it stays small.
fn shift_arg(p0: i64, p1: i64, n0: u64, n1: u64, minus: bool) -> Val {
    if n1 > OFFSET_LIMIT as u64 {
        return ANY;
    }
    let (n0, n1) = (n0 as i64, n1 as i64);
    let (lo, hi) = if minus { (p0 - n1, p1 - n0) } else { (p0 + n0, p1 + n1) };
    if lo.abs() > OFFSET_LIMIT || hi.abs() > OFFSET_LIMIT {
        return ANY;
    }
    Val::Arg(lo, hi)
}

/// A 32-bit operation: the 64-bit one on the operands' low halves, whose
/// result stands only if it fits 32 bits (else it wrapped: any 32-bit value).
fn alu32(i: Insn, a: Val, b: Val) -> Val {
    let low = |v: Val| match v {
        Val::Num(_, hi) if hi <= u32::MAX as u64 => v,
        _ => ANY32,
    };
    // 32-bit shifts count modulo 32, not 64.
    let b = match (i.op & OP_MASK, b) {
        (ALU_LSH | ALU_RSH, Val::Num(k, k1)) if k == k1 => exact(k & 31),
        (ALU_LSH | ALU_RSH, _) => return ANY32,
        _ => low(b),
    };
    match alu64(i, low(a), b) {
        Val::Num(lo, hi) if hi <= u32::MAX as u64 => Val::Num(lo, hi),
        _ => ANY32,
    }
}

/// `r2 = r3 & 255; r2 <<= 3; r2 += r1; r0 = *(u64 *)(r2 + 16)`, then `more`,
/// then `exit`: a load at a masked index from r1 (here and in the JIT's tests).
#[cfg(test)]
pub(crate) fn masked_index_load(more: &[Insn]) -> Vec<Insn> {
    let i = |op, dst, src, off, imm| Insn { op, dst, src, off, imm };
    let load = [i(MOV64_X, 2, 3, 0, 0), i(AND64_K, 2, 0, 0, 255), i(LSH64_K, 2, 0, 0, 3), i(ADD64_X, 2, 1, 0, 0), i(LDXDW, 0, 2, 16, 0)];
    load.iter().chain(more).copied().chain([i(EXIT, 0, 0, 0, 0)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn { op, dst, src, off, imm }
    }

    #[test]
    fn a_masked_index_from_r1_is_proven_and_sets_the_extent() {
        let proof = prove(&masked_index_load(&[])).expect("proven");
        assert_eq!(proof.proven, vec![false, false, false, false, true, false]);
        assert_eq!(proof.extent, 255 * 8 + 16 + 8);
        assert!(!proof.writes);
    }

    #[test]
    fn unbounded_negative_or_foreign_bases_stay_checked() {
        let unbounded = [i(ADD64_X, 1, 3, 0, 0), i(LDXDW, 0, 1, 0, 0), i(EXIT, 0, 0, 0, 0)];
        assert_eq!(prove(&unbounded), None, "r1 + any value");
        let below = [i(LDXDW, 0, 1, -8, 0), i(EXIT, 0, 0, 0, 0)];
        assert_eq!(prove(&below), None, "before r1");
        let other = [i(LDXDW, 0, 2, 0, 0), i(EXIT, 0, 0, 0, 0)];
        assert_eq!(prove(&other), None, "r2 is not r1");
        // w2 = w1: the low half of a pointer is a number, not a pointer.
        let truncated = [i(MOV32_X, 2, 1, 0, 0), i(LDXB, 0, 2, 0, 0), i(EXIT, 0, 0, 0, 0)];
        assert_eq!(prove(&truncated), None);
        // r1 reassigned on one path only: the join is "any value".
        let joined = [
            i(JEQ_K, 2, 0, 1, 0),
            i(MOV64_X, 1, 3, 0, 0),
            i(LDXB, 0, 1, 0, 0),
            i(EXIT, 0, 0, 0, 0),
        ];
        assert_eq!(prove(&joined), None);
    }

    #[test]
    fn a_pointer_advanced_in_a_loop_widens_to_unchecked() {
        // loop: r0 = *(u8 *)(r1 + 0); r1 += 1; if r0 != 0 goto loop; exit
        let p = [i(LDXB, 0, 1, 0, 0), i(ADD64_K, 1, 0, 0, 1), i(JNE_K, 0, 0, -3, 0), i(EXIT, 0, 0, 0, 0)];
        assert_eq!(prove(&p), None, "its offset grows without bound");
    }

    #[test]
    fn wrapping_32_bit_arithmetic_and_byte_swaps_are_not_trusted() {
        let run = |p: &[Insn]| (0..p.len()).fold([ANY; 10], |s, pc| step(p, pc, s).0)[2];
        // w2 = 0xffffffff; w2 += 2: wraps to 1 in the VM, never 0x100000001.
        assert_eq!(run(&[i(MOV32_K, 2, 0, 0, -1), i(ADD32_K, 2, 0, 0, 2)]), ANY32);
        // w2 = 8; w2 >>= 35: a 32-bit shift by 3, so 1, not 0.
        assert_eq!(run(&[i(MOV32_K, 2, 0, 0, 8), i(RSH32_K, 2, 0, 0, 35)]), Val::Num(1, 1));
        // w2 = 1; be64 r2: 1 << 56, beyond 32 bits although ALU-class.
        assert_eq!(run(&[i(MOV32_K, 2, 0, 0, 1), i(BE, 2, 0, 0, 64)]), ANY);
    }

    #[test]
    fn unsigned_comparisons_bound_the_compared_register() {
        // if r2 > 255 goto exit; if r3 >= r2 goto exit; r3 &= 255; r3 <<= 3; r1 += r3; r0 = *(u64 *)(r1 + 2056)
        let p = [
            i(JGT_K, 2, 0, 6, 255),
            i(JGE_X, 3, 2, 5, 0),
            i(AND64_K, 3, 0, 0, 255),
            i(LSH64_K, 3, 0, 0, 3),
            i(ADD64_X, 1, 3, 0, 0),
            i(LDXDW, 0, 1, 2056, 0),
            i(EXIT, 0, 0, 0, 0),
        ];
        // r3 < r2 <= 255: r3 <= 254, so the load ends at 254 * 8 + 2056 + 8 = 4096.
        assert_eq!(prove(&p).expect("proven").extent, 4096);
        assert_eq!(refine(i(JGE_K, 3, 0, 0, 0), Val::Num(0, 9), exact(0)), (Some(Val::Num(0, 9)), None), "r3 < 0 is impossible");
        assert_eq!(refine(i(JLE_X, 3, 2, 0, 0), Val::Num(0, 9), Val::Num(4, 6)), (Some(Val::Num(0, 6)), Some(Val::Num(5, 9))));
    }

    #[test]
    fn programs_with_local_calls_are_not_analysed() {
        let p = [i(CALL, 0, CALL_LOCAL, 0, 1), i(EXIT, 0, 0, 0, 0), i(LDXB, 0, 1, 0, 0), i(EXIT, 0, 0, 0, 0)];
        assert_eq!(prove(&p), None);
    }
}
