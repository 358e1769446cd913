//! Basic blocks: the unit in which both engines charge the instruction budget.
//!
//! A block starts at a *leader* (the entry, every jump or local-call target,
//! every instruction after a jump, call or exit) and runs straight to the next
//! leader or to its last instruction, a jump, call or exit. Entering a block
//! costs its whole length at once; a block that does not fit in the remaining
//! budget does not start, and the run fails with `BudgetExhausted` at the
//! block's first instruction. Charging whole blocks lets the JIT check the
//! budget once per block instead of once per instruction, and because every
//! block ends at an exit, a call or a jump, a run that exits (or that a helper
//! stops) has been charged exactly the instructions it executed.

use crate::insn::Insn;
use crate::opcode::*;

/// `costs[pc]` is the length of the block that starts at `pc` (an `LDDW`
/// counts once), or 0 where no block starts. Expects a checked program.
pub(crate) fn block_costs(insns: &[Insn]) -> Vec<u32> {
    let len = insns.len();
    let starts = starts(insns);
    let mut leader = vec![false; len];
    if len > 0 {
        leader[0] = true;
    }
    for pc in (0..len).filter(|&pc| starts[pc]) {
        let i = &insns[pc];
        if !ends_block(i) {
            continue;
        }
        let next = pc + width(i);
        if next < len {
            leader[next] = true;
        }
        if let Some(t) = target(i, pc).filter(|&t| t < len) {
            leader[t] = true;
        }
    }
    let mut costs = vec![0u32; len];
    let mut current: Option<usize> = None;
    for pc in (0..len).filter(|&pc| starts[pc]) {
        let block = match current {
            Some(b) if !leader[pc] => b,
            _ => pc,
        };
        costs[block] += 1;
        current = (!ends_block(&insns[pc])).then_some(block);
    }
    costs
}

/// `starts[pc]` is false only for the second slot of an `LDDW`.
pub(crate) fn starts(insns: &[Insn]) -> Vec<bool> {
    let mut starts = vec![true; insns.len()];
    let mut pc = 0;
    while pc < insns.len() {
        if insns[pc].op == LDDW && pc + 1 < insns.len() {
            starts[pc + 1] = false;
            pc += 2;
        } else {
            pc += 1;
        }
    }
    starts
}

fn width(i: &Insn) -> usize {
    if i.op == LDDW {
        2
    } else {
        1
    }
}

/// Jumps, calls (local, helper, `callx`) and `exit` end their block.
pub(crate) fn ends_block(i: &Insn) -> bool {
    matches!(i.op & CLASS_MASK, CLASS_JMP | CLASS_JMP32)
}

/// Where a jump or local call may go, if anywhere but the next instruction.
fn target(i: &Insn, pc: usize) -> Option<usize> {
    let next = pc as i64 + 1;
    let t = match i.op {
        EXIT | CALLX => return None,
        CALL if i.src == CALL_LOCAL => next + i.imm as i64,
        CALL => return None,
        JA32 => next + i.imm as i64,
        _ => next + i.off as i64,
    };
    usize::try_from(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(op: u8, off: i16, imm: i32) -> Insn {
        Insn { op, dst: 0, src: 0, off, imm }
    }

    #[test]
    fn blocks_split_at_targets_and_after_jumps() {
        // 0: mov; 1: jeq +2 -> 4; 2: lddw (2 slots); 4: mov; 5: exit
        let insns = [
            i(MOV64_K, 0, 1),
            i(JEQ_K, 2, 0),
            i(LDDW, 0, 5),
            i(0, 0, 0),
            i(MOV64_K, 0, 2),
            i(EXIT, 0, 0),
        ];
        assert_eq!(block_costs(&insns), vec![2, 0, 1, 0, 2, 0]);
        // A loop onto itself: the jump is its own block.
        let insns = [i(MOV64_K, 0, 0), i(JA, -1, 0), i(EXIT, 0, 0)];
        assert_eq!(block_costs(&insns), vec![1, 1, 1]);
    }
}
