//! eBPF to x86-64, one instruction at a time, from a checked program.
//!
//! Register map: r0..r9 live in host registers for the whole run; r10 (the
//! frame pointer) is never held as a VM address: `FP` holds the host address
//! of the current frame's top, and r10's VM value is computed (`FP -
//! ctx.fp_delta`) only where a program reads it as a number. rax and rcx are
//! scratch; rbp points at the run's [`super::Ctx`]; r11 counts the budget.
//!
//! What must hold, instruction by instruction:
//! - every load and store goes through `access`: its address is translated
//!   through the ctx's tables after checking the slot and that the whole
//!   access fits (for its direction), exactly as `AddressMap::translate`
//!   decides; only r10-relative accesses inside the current frame skip the
//!   check, because every frame lies inside the stack for every call depth,
//!   and, in the second compilation of a program, the accesses `bounds.rs`
//!   proves inside r1's region, because that code is entered only after
//!   `super::run` has checked that the region is long enough;
//! - every basic block starts by charging its cost (`blocks`) to r11 and
//!   leaves through an out-of-line stub when the budget does not cover it;
//! - division and modulo never reach `div` with a zero divisor, nor `idiv`
//!   with -1 (which traps on INT_MIN), and give RFC 9669's results instead;
//! - no host address reaches an eBPF register: translated addresses live
//!   only in rax, and r10 is converted back to its VM value when read.

use super::emit::*;
use super::offsets::*;
use super::status;
use crate::insn::Insn;
use crate::memory::{FRAME_STACK_SIZE, MAX_FRAMES, SLOTS};
use crate::opcode::*;

/// Host register of eBPF r0..r9.
const MAP: [Reg; 10] = [RBX, RDI, RSI, RDX, R8, R9, R12, R13, R14, R15];
const CTX: Reg = RBP;
/// Host address of the top of the current frame (r10's host twin).
const FP: Reg = R10;
const BUDGET: Reg = R11;

/// An out-of-line exit, reached only when a check fails.
enum Stub {
    Budget { pc: usize },
    Depth { pc: usize },
    Memory { pc: usize, base: u8, off: i16, size: usize, write: bool },
}

/// A conditional jump over a lone `mov` (and, optionally, a `ja` to the
/// jump's own target), compiled as a conditional move: no branch to
/// mispredict. The skipped block's cost is charged only when it would run.
struct Select {
    mov: Insn,
    /// The cost of the block the `mov` starts.
    cost: u32,
    /// Where the `ja` after the `mov` goes (the jump's target), if there is one.
    then: Option<usize>,
    /// Instructions after the jump that the select replaces.
    replaces: usize,
}

struct Compiler<'a> {
    a: Asm,
    insns: &'a [Insn],
    costs: &'a [u32],
    /// Whether any jump or call goes to each pc.
    targeted: Vec<bool>,
    /// One label per instruction slot; only those of instructions are bound.
    at: Vec<Label>,
    stubs: Vec<(Label, Stub)>,
    exit: Label,
    epilogue: Label,
    zero_frame: Label,
    /// End of the entry sub-program: its `exit`s end the run, others return.
    entry_end: usize,
    slow_path: u64,
    /// `proven[pc]`: the access at pc is in bounds whenever this code runs
    /// (`bounds::prove`; empty when compiling the fully checked code).
    proven: &'a [bool],
}

/// Machine code for a checked program. `slow_path` is the address of the
/// `sysv64` function that runs helper calls, `callx` and atomics. Accesses
/// at the pcs `proven` marks are emitted without their check: such code may
/// only be entered when the proof's entry fact holds (`super::run`).
pub(crate) fn compile(insns: &[Insn], costs: &[u32], slow_path: u64, proven: &[bool]) -> Result<Vec<u8>, String> {
    let mut a = Asm::new();
    let at = (0..insns.len()).map(|_| a.new_label()).collect();
    let (exit, epilogue, zero_frame) = (a.new_label(), a.new_label(), a.new_label());
    let entry_end = (0..insns.len())
        .filter(|&pc| insns[pc].op == CALL && insns[pc].src == CALL_LOCAL)
        .map(|pc| (pc as i64 + 1 + insns[pc].imm as i64) as usize)
        .filter(|&t| t > 0)
        .min()
        .unwrap_or(insns.len());
    let starts = crate::blocks::starts(insns);
    let mut targeted = vec![false; insns.len()];
    for pc in (0..insns.len()).filter(|&pc| starts[pc]) {
        if let Some(t) = jump_target(&insns[pc], pc).filter(|&t| t < insns.len()) {
            targeted[t] = true;
        }
    }
    let mut c = Compiler {
        a,
        insns,
        costs,
        targeted,
        at,
        stubs: Vec::new(),
        exit,
        epilogue,
        zero_frame,
        entry_end,
        slow_path,
        proven,
    };
    c.prologue();
    let mut resume = 0;
    for pc in (0..insns.len()).filter(|&pc| starts[pc]) {
        if pc < resume {
            continue; // replaced by a select
        }
        c.a.bind(c.at[pc]);
        if costs[pc] != 0 {
            c.a.alu_imm(W::B64, Alu::Sub, Rm::R(BUDGET), costs[pc] as i32);
            c.stub(Cond::B, Stub::Budget { pc });
        }
        if let Some(select) = c.select(pc) {
            resume = pc + 1 + select.replaces;
            c.emit_select(pc, select)?;
        } else {
            c.insn(pc)?;
        }
    }
    c.tail();
    c.a.finish()
}

impl Compiler<'_> {
    fn stub(&mut self, cond: Cond, stub: Stub) {
        let label = self.a.new_label();
        self.a.jcc(cond, label);
        self.stubs.push((label, stub));
    }

    /// `sysv64` entry: save callee-saved registers, align the stack, load
    /// r0..r9 from `ctx.regs`, the frame pointer and the budget.
    fn prologue(&mut self) {
        for r in [RBX, RBP, R12, R13, R14, R15] {
            self.a.push(r);
        }
        // Six pushes and the return address: 8 more bytes align rsp to 16,
        // as calls into Rust need. Every bpf-to-bpf call keeps it aligned.
        self.a.alu_imm(W::B64, Alu::Sub, Rm::R(RSP), 8);
        self.a.mov(W::B64, CTX, RDI);
        self.a.store(W::B64, mem(CTX, SAVED_RSP), RSP);
        self.load_regs();
        self.a.load(W::B64, false, FP, mem(CTX, STACK_TOP));
        self.a.load(W::B64, false, BUDGET, mem(CTX, BUDGET_OFF));
    }

    fn load_regs(&mut self) {
        for (i, &r) in MAP.iter().enumerate() {
            self.a.load(W::B64, false, r, mem(CTX, REGS + 8 * i as i32));
        }
    }

    fn store_regs(&mut self) {
        for (i, &r) in MAP.iter().enumerate() {
            self.a.store(W::B64, mem(CTX, REGS + 8 * i as i32), r);
        }
    }

    /// The exit path, the epilogue, the frame-zeroing routine and the stubs.
    fn tail(&mut self) {
        self.a.bind(self.exit);
        self.a.store(W::B64, mem(CTX, REGS), MAP[0]);
        self.a.mov_imm(RAX, status::EXITED as u64);
        // eax holds the status from here on.
        self.a.bind(self.epilogue);
        self.a.store(W::B64, mem(CTX, BUDGET_OFF), BUDGET);
        self.a.load(W::B64, false, RSP, mem(CTX, SAVED_RSP));
        self.a.alu_imm(W::B64, Alu::Add, Rm::R(RSP), 8);
        for r in [R15, R14, R13, R12, RBP, RBX] {
            self.a.pop(r);
        }
        self.a.ret();

        // Zeroes the 512 bytes below FP: a frame being entered.
        self.a.bind(self.zero_frame);
        self.a.zero_xmm0();
        for k in 1..=(FRAME_STACK_SIZE / 16) as i32 {
            self.a.store_xmm0(mem(FP, -16 * k));
        }
        self.a.ret();

        for (label, stub) in std::mem::take(&mut self.stubs) {
            self.a.bind(label);
            let (info, code) = match stub {
                Stub::Budget { pc } => (pc as i32, status::OUT_OF_BUDGET),
                Stub::Depth { pc } => (pc as i32, status::TOO_DEEP),
                Stub::Memory { pc, base, off, size, write } => {
                    // The faulting address, recomputed: the base register is
                    // unchanged on the way here.
                    self.address(base, off);
                    self.a.store(W::B64, mem(CTX, FAULT_ADDR), RAX);
                    let info = pc as i32 | (size.trailing_zeros() as i32) << 24 | (write as i32) << 28;
                    (info, status::MEMORY_FAULT)
                }
            };
            self.a.store_imm(W::B64, mem(CTX, FAULT_INFO), info);
            self.a.mov_imm(RAX, code as u64);
            self.a.jmp(self.epilogue);
        }
    }

    /// The host register holding eBPF register `r`'s value; r10's VM value
    /// is computed into `scratch`.
    fn value(&mut self, r: u8, scratch: Reg) -> Reg {
        if r == 10 {
            self.a.mov(W::B64, scratch, FP);
            self.a.alu_load(W::B64, Alu::Sub, scratch, mem(CTX, FP_DELTA));
            scratch
        } else {
            MAP[r as usize]
        }
    }

    /// rax = the VM address `base + off` (wrapping, as the interpreter).
    fn address(&mut self, base: u8, off: i16) {
        if base == 10 {
            self.value(10, RAX);
            if off != 0 {
                self.a.alu_imm(W::B64, Alu::Add, Rm::R(RAX), off as i32);
            }
        } else {
            self.a.lea(RAX, mem(MAP[base as usize], off as i32));
        }
    }

    /// The host operand for `size` bytes at `base + off`, checked as
    /// `AddressMap::translate` checks; a failing check leaves by a stub.
    /// Clobbers rax and rcx.
    fn access(&mut self, pc: usize, base: u8, off: i16, size: usize, write: bool) -> Mem {
        let off32 = off as i32;
        if base == 10 && off32 >= -(FRAME_STACK_SIZE as i32) && off32 + size as i32 <= 0 {
            // Inside the current frame, which lies inside the stack at every depth.
            return mem(FP, off32);
        }
        if self.proven.get(pc) == Some(&true) {
            // r1's region holds this access whatever the run (bounds.rs):
            // the host address is the VM address plus the region's delta,
            // which is loaded off the address's dependency chain.
            self.a.load(W::B64, false, RAX, mem(CTX, ARG_DELTA));
            self.a.alu(W::B64, Alu::Add, RAX, MAP[base as usize]);
            return mem(RAX, off32);
        }
        self.address(base, off);
        self.a.mov(W::B64, RCX, RAX);
        self.a.shift_imm(W::B64, Shift::Shr, RCX, 32);
        self.a.alu_imm(W::B64, Alu::Cmp, Rm::R(RCX), SLOTS as i32);
        self.stub(Cond::Ae, Stub::Memory { pc, base, off, size, write });
        self.a.mov(W::B32, RAX, RAX); // the offset in the slot
        // offset + size < 2^32 + 8: no overflow; the access fits iff it is
        // at most the slot's length for this direction (0: none at all).
        self.a.alu_imm(W::B64, Alu::Add, Rm::R(RAX), size as i32);
        let table = LENS + (write as i32) * (8 * SLOTS as i32);
        self.a.alu_load(W::B64, Alu::Cmp, RAX, mem_index8(CTX, RCX, table));
        self.stub(Cond::A, Stub::Memory { pc, base, off, size, write });
        self.a.alu_load(W::B64, Alu::Add, RAX, mem_index8(CTX, RCX, HOST));
        mem(RAX, -(size as i32))
    }

    fn insn(&mut self, pc: usize) -> Result<(), String> {
        let i = self.insns[pc];
        match i.op & CLASS_MASK {
            CLASS_ALU | CLASS_ALU64 => self.alu(i),
            CLASS_LD => {
                // lddw: the checker proved the second slot exists.
                let high = self.insns.get(pc + 1).map_or(0, |n| n.imm as u32 as u64);
                self.a.mov_imm(MAP[i.dst as usize], i.imm as u32 as u64 | high << 32);
            }
            CLASS_LDX => {
                let size = access_size(i.op);
                let m = self.access(pc, i.src, i.off, size, false);
                self.a.load(width(size), i.op & MODE_MASK == MODE_MEMSX, MAP[i.dst as usize], m);
            }
            CLASS_ST => {
                let size = access_size(i.op);
                let m = self.access(pc, i.dst, i.off, size, true);
                self.a.store_imm(width(size), m, i.imm);
            }
            CLASS_STX if i.op & MODE_MASK == MODE_ATOMIC => self.slow(pc),
            CLASS_STX => {
                let size = access_size(i.op);
                let m = self.access(pc, i.dst, i.off, size, true);
                let v = self.value(i.src, RCX);
                self.a.store(width(size), m, v);
            }
            _ => self.jump(pc, i)?,
        }
        Ok(())
    }

    fn jump(&mut self, pc: usize, i: Insn) -> Result<(), String> {
        let target = |t: i64| usize::try_from(t).map_err(|_| format!("jump target {t} at {pc}"));
        let next = pc as i64 + 1;
        match i.op {
            JA => self.a.jmp(self.at[target(next + i.off as i64)?]),
            JA32 => self.a.jmp(self.at[target(next + i.imm as i64)?]),
            EXIT if pc < self.entry_end => self.a.jmp(self.exit),
            EXIT => self.a.ret(),
            CALL if i.src == CALL_LOCAL => self.local_call(pc, target(next + i.imm as i64)?),
            CALL | CALLX => self.slow(pc),
            _ => {
                let cond = self.compare(pc, i)?;
                self.a.jcc(cond, self.at[target(next + i.off as i64)?]);
            }
        }
        Ok(())
    }

    /// Compares as conditional jump `i` does; the condition under which it jumps.
    fn compare(&mut self, pc: usize, i: Insn) -> Result<Cond, String> {
        let w = if i.op & CLASS_MASK == CLASS_JMP32 { W::B32 } else { W::B64 };
        let d = self.value(i.dst, RAX);
        let op = i.op & OP_MASK;
        match (i.op & SRC_X != 0, op == JMP_JSET) {
            (true, true) => {
                let s = self.value(i.src, RCX);
                self.a.test(w, d, s);
            }
            (true, false) => {
                let s = self.value(i.src, RCX);
                self.a.alu(w, Alu::Cmp, d, s);
            }
            (false, true) => self.a.test_imm(w, d, i.imm),
            (false, false) => self.a.alu_imm(w, Alu::Cmp, Rm::R(d), i.imm),
        }
        Ok(match op {
            JMP_JEQ => Cond::E,
            JMP_JNE | JMP_JSET => Cond::Ne,
            JMP_JGT => Cond::A,
            JMP_JGE => Cond::Ae,
            JMP_JLT => Cond::B,
            JMP_JLE => Cond::Be,
            JMP_JSGT => Cond::G,
            JMP_JSGE => Cond::Ge,
            JMP_JSLT => Cond::L,
            JMP_JSLE => Cond::Le,
            _ => return Err(format!("opcode {:#04x} at {pc} reached the JIT unchecked", i.op)),
        })
    }

    /// Whether the conditional jump at `pc` skips only a plain `mov` that
    /// nothing else jumps to: `jcc +1; mov`, or `jcc T; mov; ja T`.
    fn select(&self, pc: usize) -> Option<Select> {
        let j = self.insns[pc];
        let conditional = matches!(j.op & CLASS_MASK, CLASS_JMP | CLASS_JMP32)
            && !matches!(j.op, JA | JA32 | CALL | CALLX | EXIT);
        // r10 operands would need rax or rcx, which the select uses.
        if !conditional || j.dst == 10 || (j.op & SRC_X != 0 && j.src == 10) {
            return None;
        }
        let n = pc + 1;
        let mov = *self.insns.get(n)?;
        let plain = matches!(mov.op, MOV64_K | MOV32_K) || (matches!(mov.op, MOV64_X | MOV32_X) && mov.off == 0);
        if !plain || self.targeted[n] {
            return None;
        }
        let target = pc as i64 + 1 + j.off as i64;
        let cost = self.costs[n];
        if target == n as i64 + 1 {
            return Some(Select { mov, cost, then: None, replaces: 1 });
        }
        let ja = *self.insns.get(n + 1)?;
        if ja.op == JA && !self.targeted[n + 1] && (n + 2) as i64 + ja.off as i64 == target {
            return Some(Select { mov, cost, then: Some(target as usize), replaces: 2 });
        }
        None
    }

    /// The select: the value into rcx, compare, `cmov` where the jump would
    /// not be taken, and charge the skipped block's cost the same way. A run
    /// the charge stops fails at the `mov`, as the interpreter's does; the
    /// moved register is then never seen.
    fn emit_select(&mut self, pc: usize, select: Select) -> Result<(), String> {
        let m = select.mov;
        let d = MAP[m.dst as usize];
        // Nothing between the compare and the cmov may touch the flags.
        let value = match m.op {
            MOV64_X => self.value(m.src, RCX),
            MOV32_X => {
                let s = self.value(m.src, RCX);
                self.a.mov(W::B32, RCX, s);
                RCX
            }
            MOV64_K => {
                self.a.mov_imm_keep_flags(W::B64, RCX, m.imm);
                RCX
            }
            _ => {
                self.a.mov_imm_keep_flags(W::B32, RCX, m.imm);
                RCX
            }
        };
        self.a.mov_imm_keep_flags(W::B32, RAX, 0);
        let stays = self.compare(pc, self.insns[pc])?.not();
        self.a.cmov(stays, d, value);
        self.a.set_al(stays);
        match select.cost {
            1 => {}
            2 => self.a.alu(W::B32, Alu::Add, RAX, RAX),
            c => self.a.imul_imm(W::B32, RAX, RAX, c as i32),
        }
        self.a.alu(W::B64, Alu::Sub, BUDGET, RAX);
        self.stub(Cond::B, Stub::Budget { pc: pc + 1 });
        if let Some(t) = select.then {
            self.a.jmp(self.at[t]);
        }
        Ok(())
    }

    /// A bpf-to-bpf call: check the depth, save r6..r9, enter and zero a new
    /// frame, call, and undo it all on return. Each call takes 48 bytes of
    /// host stack (8 padding, 4 registers, the return address): rsp stays
    /// 16-byte aligned in every frame.
    fn local_call(&mut self, pc: usize, target: usize) {
        self.a.alu_imm(W::B64, Alu::Cmp, Rm::M(mem(CTX, DEPTH)), (MAX_FRAMES - 1) as i32);
        self.stub(Cond::Ae, Stub::Depth { pc });
        self.a.alu_imm(W::B64, Alu::Add, Rm::M(mem(CTX, DEPTH)), 1);
        self.a.alu_imm(W::B64, Alu::Sub, Rm::R(RSP), 8);
        for &r in &MAP[6..10] {
            self.a.push(r);
        }
        self.a.alu_imm(W::B64, Alu::Sub, Rm::R(FP), FRAME_STACK_SIZE as i32);
        self.a.call(self.zero_frame);
        self.a.call(self.at[target]);
        for &r in MAP[6..10].iter().rev() {
            self.a.pop(r);
        }
        self.a.alu_imm(W::B64, Alu::Add, Rm::R(RSP), 8);
        self.a.alu_imm(W::B64, Alu::Add, Rm::R(FP), FRAME_STACK_SIZE as i32);
        self.a.alu_imm(W::B64, Alu::Sub, Rm::M(mem(CTX, DEPTH)), 1);
    }

    /// Hands the instruction at `pc` to Rust's slow path with every register
    /// spilled to the ctx (r10 as its VM value), then reloads them; a status
    /// other than CONTINUE ends the run with it.
    fn slow(&mut self, pc: usize) {
        self.store_regs();
        let r10 = self.value(10, RAX);
        self.a.store(W::B64, mem(CTX, REGS + 80), r10);
        self.a.store(W::B64, mem(CTX, SAVED_FP), FP);
        self.a.store(W::B64, mem(CTX, BUDGET_OFF), BUDGET);
        self.a.mov(W::B64, RDI, CTX);
        self.a.mov_imm(RSI, pc as u64);
        self.a.mov_imm(RAX, self.slow_path);
        self.a.call_reg(RAX);
        self.load_regs();
        self.a.load(W::B64, false, FP, mem(CTX, SAVED_FP));
        self.a.load(W::B64, false, BUDGET, mem(CTX, BUDGET_OFF));
        self.a.test(W::B32, RAX, RAX);
        self.a.jcc(Cond::Ne, self.epilogue);
    }

    fn alu(&mut self, i: Insn) {
        let w = if i.op & CLASS_MASK == CLASS_ALU64 { W::B64 } else { W::B32 };
        let d = MAP[i.dst as usize]; // the checker refuses writes to r10
        let by_reg = i.op & SRC_X != 0;
        let op = i.op & OP_MASK;
        let simple = match op {
            ALU_ADD => Some(Alu::Add),
            ALU_SUB => Some(Alu::Sub),
            ALU_OR => Some(Alu::Or),
            ALU_AND => Some(Alu::And),
            ALU_XOR => Some(Alu::Xor),
            _ => None,
        };
        if let Some(alu) = simple {
            if by_reg {
                let s = self.value(i.src, RCX);
                self.a.alu(w, alu, d, s);
            } else {
                self.a.alu_imm(w, alu, Rm::R(d), i.imm);
            }
            return;
        }
        match op {
            ALU_MUL if by_reg => {
                let s = self.value(i.src, RCX);
                self.a.imul(w, d, s);
            }
            ALU_MUL => self.a.imul_imm(w, d, d, i.imm),
            ALU_DIV | ALU_MOD => self.div(w, i, d),
            ALU_LSH | ALU_RSH | ALU_ARSH => {
                let shift = match op {
                    ALU_LSH => Shift::Shl,
                    ALU_RSH => Shift::Shr,
                    _ => Shift::Sar,
                };
                if by_reg {
                    let s = self.value(i.src, RCX);
                    if s != RCX {
                        self.a.mov(W::B32, RCX, s);
                    }
                    self.a.shift_cl(w, shift, d);
                } else {
                    let mask = if w == W::B64 { 63 } else { 31 };
                    let count = (i.imm & mask) as u8;
                    if count != 0 {
                        self.a.shift_imm(w, shift, d, count);
                    }
                }
                if w == W::B32 {
                    // A 32-bit result is zero-extended, also for a shift by 0.
                    self.a.mov(W::B32, d, d);
                }
            }
            ALU_NEG => self.a.unary(w, Unary::Neg, d),
            ALU_MOV if by_reg => {
                let s = self.value(i.src, RCX);
                match i.off {
                    8 => self.a.extend(w, W::B8, true, d, s),
                    16 => self.a.extend(w, W::B16, true, d, s),
                    32 => self.a.extend(w, W::B32, true, d, s),
                    _ => self.a.mov(w, d, s),
                }
            }
            ALU_MOV if w == W::B64 => self.a.mov_imm(d, i.imm as i64 as u64),
            ALU_MOV => self.a.mov_imm(d, i.imm as u32 as u64),
            _ => self.byte_swap(i, d), // ALU_END: the checker admits nothing else
        }
    }

    fn byte_swap(&mut self, i: Insn, d: Reg) {
        let to_le = i.op == LE; // the host is little-endian
        match (i.imm, to_le) {
            (16, true) => self.a.extend(W::B32, W::B16, false, d, d),
            (32, true) => self.a.mov(W::B32, d, d),
            (_, true) => {}
            (16, false) => {
                self.a.swap16(d);
                self.a.extend(W::B32, W::B16, false, d, d);
            }
            (32, false) => self.a.bswap(W::B32, d),
            _ => self.a.bswap(W::B64, d),
        }
    }

    /// RFC 9669 division and modulo (offset 1: signed): x / 0 = 0, x % 0 = x
    /// (its low half for 32 bits), and signed x / -1 = -x, x % -1 = 0, which
    /// `idiv` would trap on for the most negative x.
    fn div(&mut self, w: W, i: Insn, d: Reg) {
        let signed = i.off == 1;
        let modulo = i.op & OP_MASK == ALU_MOD;
        let (zero, minus_one, done) = (self.a.new_label(), self.a.new_label(), self.a.new_label());
        if i.op & SRC_X != 0 {
            let s = self.value(i.src, RCX);
            self.a.mov(W::B64, RCX, s);
            self.a.test(w, RCX, RCX);
            self.a.jcc(Cond::E, zero);
            if signed {
                self.a.alu_imm(w, Alu::Cmp, Rm::R(RCX), -1);
                self.a.jcc(Cond::E, minus_one);
            }
        } else {
            let divisor = if w == W::B64 { i.imm as i64 as u64 } else { i.imm as u32 as u64 };
            if divisor == 0 {
                self.a.jmp(zero);
            } else if signed && i.imm == -1 {
                self.a.jmp(minus_one);
            }
            self.a.mov_imm(RCX, divisor);
        }
        self.a.store(W::B64, mem(CTX, TMP), RDX);
        self.a.mov(w, RAX, d);
        if signed {
            self.a.sign_extend_rax(w);
        } else {
            self.a.alu(W::B32, Alu::Xor, RDX, RDX);
        }
        self.a.unary(w, if signed { Unary::Idiv } else { Unary::Div }, RCX);
        if modulo {
            self.a.mov(w, RAX, RDX);
        }
        self.a.load(W::B64, false, RDX, mem(CTX, TMP));
        self.a.mov(w, d, RAX);
        self.a.jmp(done);

        self.a.bind(zero);
        match (modulo, w) {
            (false, _) => self.a.mov_imm(d, 0),
            (true, W::B32) => self.a.mov(W::B32, d, d),
            (true, _) => {}
        }
        self.a.jmp(done);
        self.a.bind(minus_one);
        if modulo {
            self.a.mov_imm(d, 0);
        } else {
            self.a.unary(w, Unary::Neg, d);
        }
        self.a.bind(done);
    }
}

/// Where a jump or local call goes, if anywhere but the next instruction.
fn jump_target(i: &Insn, pc: usize) -> Option<usize> {
    let next = pc as i64 + 1;
    let t = match i.op {
        CALL if i.src == CALL_LOCAL => next + i.imm as i64,
        JA32 => next + i.imm as i64,
        EXIT | CALL | CALLX => return None,
        _ if matches!(i.op & CLASS_MASK, CLASS_JMP | CLASS_JMP32) => next + i.off as i64,
        _ => return None,
    };
    usize::try_from(t).ok()
}

/// Operand width of a `size`-byte access.
fn width(size: usize) -> W {
    match size {
        1 => W::B8,
        2 => W::B16,
        4 => W::B32,
        _ => W::B64,
    }
}

const BUDGET_OFF: i32 = super::offsets::BUDGET;
