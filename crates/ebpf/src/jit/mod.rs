//! The x86-64 JIT: compiles a checked program once, at load, and runs it with
//! the same address map, budget, helpers and errors as the interpreter.
//!
//! - [`emit`]: an assembler for just the instructions used;
//! - [`compile`]: eBPF to x86-64, with every memory access checked;
//! - [`exec_mem`]: the W^X mapping the code runs from;
//! - this module: the run-time context the code works in, the one entry into
//!   generated code, and the slow path back into Rust (helpers, `callx`,
//!   atomics), which reuses the interpreter's own code.
//!
//! Only built on x86-64 Linux (`lib.rs`); elsewhere the interpreter runs.

mod bounds;
mod compile;
mod emit;
mod exec_mem;

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::error::RunError;
use crate::helpers::{self, HelperOutcome};
use crate::insn::Insn;
use crate::interp;
use crate::memory::{fill_jit_tables, AddressMap, Region, MAX_FRAMES, SLOTS, STACK_BASE, STACK_SLOT};
use crate::opcode::*;
use crate::program::Program;
use crate::vm::Exit;

use exec_mem::ExecMem;

/// A program's machine code, mapped read-execute: every access checked, and
/// when `bounds::prove` found accesses in r1's region, a second compilation
/// without their checks.
pub(crate) struct Compiled {
    mem: ExecMem,
    unchecked: Option<Unchecked>,
}

/// Code whose proven accesses go unchecked, and the entry fact it needs.
struct Unchecked {
    mem: ExecMem,
    /// r1 must point at least this many bytes before the end of its region...
    extent: u64,
    /// ...counting only a writable region's bytes when some proven access writes.
    writes: bool,
}

/// Compiles a checked program (`costs` from `blocks::block_costs`).
pub(crate) fn compile(insns: &[Insn], costs: &[u32]) -> Result<Compiled, String> {
    let slow = slow_path as *const () as usize as u64;
    let map = |code: Vec<u8>| ExecMem::new(&code).map_err(|e| format!("no executable memory: {e}"));
    let mem = map(compile::compile(insns, costs, slow, &[])?)?;
    let unchecked = match bounds::prove(insns) {
        Some(p) => Some(Unchecked { mem: map(compile::compile(insns, costs, slow, &p.proven)?)?, extent: p.extent, writes: p.writes }),
        None => None,
    };
    Ok(Compiled { mem, unchecked })
}

/// What generated code reads and writes besides program memory: the
/// translation tables of the run's address map, the registers it spills
/// around calls into Rust, the budget, and how it stopped. A `Vm` keeps
/// one, which [`run`] fills for each run; the code reaches it through rbp.
#[repr(C)]
#[derive(Default)]
pub(crate) struct Ctx {
    /// Host address of each slot's first byte (0 where unmapped).
    host: [u64; SLOTS],
    /// `lens[0][slot]`: the slot's length; `lens[1][slot]`: the same for a
    /// writable slot, 0 for a read-only one. An access fits when its offset
    /// plus its size is at most the length for its direction.
    lens: [[u64; SLOTS]; 2],
    /// r0..r10 around calls into Rust; r1..r5 hold the arguments at entry.
    regs: [u64; 16],
    /// Instructions left; written back whenever the code returns.
    budget: u64,
    /// Host address of the stack's first byte minus its VM address: r10's
    /// VM value is the frame pointer's host address minus this.
    fp_delta: u64,
    /// Host address one past the stack: the entry frame's pointer.
    stack_top: u64,
    /// rsp after the prologue, for leaving from any call depth.
    saved_rsp: u64,
    /// bpf-to-bpf frames entered beyond the entry function's.
    depth: u64,
    /// rdx while a division uses it.
    tmp: u64,
    /// The host frame pointer while Rust runs.
    saved_fp: u64,
    /// pc, and for memory faults log2(size) << 24 | write << 28.
    fault_info: u64,
    fault_addr: u64,
    /// The address of this run's `SlowState` (an address, not a pointer, so
    /// that a `Vm` keeping its `Ctx` between runs can move between threads).
    slow: usize,
    /// Host address minus VM address in r1's region, for unchecked code.
    arg_delta: u64,
}

/// Byte offsets into [`Ctx`], as the generated code addresses it.
pub(crate) mod offsets {
    use super::Ctx;
    use std::mem::offset_of;
    pub const HOST: i32 = offset_of!(Ctx, host) as i32;
    pub const LENS: i32 = offset_of!(Ctx, lens) as i32;
    pub const REGS: i32 = offset_of!(Ctx, regs) as i32;
    pub const BUDGET: i32 = offset_of!(Ctx, budget) as i32;
    pub const FP_DELTA: i32 = offset_of!(Ctx, fp_delta) as i32;
    pub const STACK_TOP: i32 = offset_of!(Ctx, stack_top) as i32;
    pub const SAVED_RSP: i32 = offset_of!(Ctx, saved_rsp) as i32;
    pub const DEPTH: i32 = offset_of!(Ctx, depth) as i32;
    pub const TMP: i32 = offset_of!(Ctx, tmp) as i32;
    pub const SAVED_FP: i32 = offset_of!(Ctx, saved_fp) as i32;
    pub const FAULT_INFO: i32 = offset_of!(Ctx, fault_info) as i32;
    pub const FAULT_ADDR: i32 = offset_of!(Ctx, fault_addr) as i32;
    pub const ARG_DELTA: i32 = offset_of!(Ctx, arg_delta) as i32;
}

/// How generated code returned, in eax. The slow path returns `CONTINUE`
/// or one of `STOPPED`, `FAILED`, `PANICKED`, which the code passes on.
pub(crate) mod status {
    pub const CONTINUE: u32 = 0;
    pub const EXITED: u32 = 1;
    pub const STOPPED: u32 = 2;
    pub const FAILED: u32 = 3;
    pub const PANICKED: u32 = 4;
    pub const MEMORY_FAULT: u32 = 5;
    pub const OUT_OF_BUDGET: u32 = 6;
    pub const TOO_DEEP: u32 = 7;
}

/// What the slow path needs from the run: the program, its memory (mapped
/// only when the slow path runs: most runs never take it), its log, and
/// where to leave an error or a helper's panic for [`run`].
struct SlowState<'r, 'a> {
    program: &'r Program,
    stack: &'r mut [u8],
    regions: &'r [Region<'a>],
    log: &'r mut String,
    error: Option<RunError>,
    panic: Option<Box<dyn Any + Send>>,
}

impl Ctx {
    /// A context for [`run`] to fill: a `Vm` keeps one (boxed) for all its
    /// runs, so a run writes only what it needs rather than building ~400
    /// bytes afresh. Between runs its pointers are stale; every run rewrites
    /// every field generated code reads before it enters.
    pub(crate) fn new() -> Box<Ctx> {
        Box::default()
    }
}

/// Runs compiled `code` of `program` in `ctx`; the other arguments are as for the interpreter.
pub(crate) fn run(
    code: &Compiled,
    program: &Program,
    stack: &mut [u8],
    regions: &[Region<'_>],
    log: &mut String,
    budget: u64,
    args: &[u64],
    ctx: &mut Ctx,
) -> Result<Exit, RunError> {
    // What the code reads before it writes: the tables, the registers (the
    // prologue loads r0..r9: r1..r5 the arguments, the others zero), the
    // stack's bounds, the budget, the call depth; and what `run` reads after
    // (the fault fields, r0 on exit), reset so no earlier run's shows.
    fill_jit_tables(&program.rodata, stack, regions, &mut ctx.host, &mut ctx.lens);
    ctx.regs = [0; 16];
    for (r, &a) in ctx.regs[1..6].iter_mut().zip(args) {
        *r = a;
    }
    ctx.budget = budget;
    ctx.depth = 0;
    ctx.fault_info = 0;
    ctx.fault_addr = 0;
    ctx.arg_delta = 0;
    let stack_host = ctx.host[STACK_SLOT];
    ctx.stack_top = stack_host + ctx.lens[0][STACK_SLOT];
    ctx.fp_delta = stack_host.wrapping_sub(STACK_BASE);

    let entered = match &code.unchecked {
        Some(u) => match r1_region_delta(ctx, args.first().copied().unwrap_or(0), u) {
            Some(delta) => {
                ctx.arg_delta = delta;
                &u.mem
            }
            None => &code.mem,
        },
        None => &code.mem,
    };

    let mut slow = SlowState { program, stack, regions, log, error: None, panic: None };
    ctx.slow = &mut slow as *mut SlowState as usize;
    let returned = enter(entered, ctx);
    let info = ctx.fault_info;
    let pc = (info & 0xff_ffff) as usize;
    match returned {
        status::EXITED | status::STOPPED => Ok(Exit { r0: ctx.regs[0], executed: budget - ctx.budget }),
        status::MEMORY_FAULT => Err(RunError::MemoryAccess {
            pc,
            addr: ctx.fault_addr,
            size: 1 << ((info >> 24) & 3),
            write: (info >> 28) & 1 == 1,
        }),
        status::OUT_OF_BUDGET => Err(RunError::BudgetExhausted { pc, budget }),
        status::TOO_DEEP => Err(RunError::CallDepth { pc, max_frames: MAX_FRAMES }),
        status::FAILED => Err(slow.error.take().unwrap_or_else(|| unexpected(pc, "a failure without an error"))),
        status::PANICKED => resume_unwind(slow.panic.take().unwrap_or_else(|| Box::new("a helper panicked"))),
        other => Err(unexpected(pc, &format!("status {other}"))),
    }
}

fn unexpected(pc: usize, what: &str) -> RunError {
    RunError::Helper { pc, id: 0, reason: format!("the JIT stopped with {what}") }
}

/// The entry fact of unchecked code `u`: r1 (`r1`) lies in a mapped slot
/// with at least `u.extent` bytes of it from r1 on (writable ones if `u`
/// writes), as the checked code would find it. Then every proven access,
/// r1 plus an offset inside that extent, is one the checks would allow, and
/// its host address is its VM address plus the returned delta.
fn r1_region_delta(ctx: &Ctx, r1: u64, u: &Unchecked) -> Option<u64> {
    let slot = (r1 >> 32) as usize;
    let len = *ctx.lens[u.writes as usize].get(slot)?;
    let fits = ctx.host[slot] != 0 && (r1 as u32 as u64) + u.extent <= len;
    fits.then(|| ctx.host[slot].wrapping_sub((slot as u64) << 32))
}

/// Runs `code` on `ctx`: the one call into generated code.
fn enter(code: &ExecMem, ctx: &mut Ctx) -> u32 {
    // SAFETY: `code` holds, read-execute, what `compile::compile` generated
    // from a checked program: a `sysv64` function of one pointer that saves
    // and restores every callee-saved register, keeps the stack aligned,
    // reads and writes only `*ctx` and, after checking each access against
    // `ctx`'s tables (which `run` built from the live address map), the
    // memory of the run's regions and stack; in unchecked code, accesses
    // proven inside r1's region go unchecked, and `run` enters it only when
    // `r1_region_delta` found that region long enough (`ctx.arg_delta`).
    // It calls only `slow_path`, and returns a status in eax.
    let entry: extern "sysv64" fn(*mut Ctx) -> u32 = unsafe { std::mem::transmute(code.start()) };
    entry(ctx)
}

/// The instructions generated code hands back to Rust: helper calls, `callx`
/// and atomics, run by the interpreter's own code on the spilled registers.
extern "sysv64" fn slow_path(ctx: *mut Ctx, pc: u64) -> u32 {
    // SAFETY: generated code passes the `ctx` that `run` gave it (kept in
    // rbp), while `run` is blocked in `enter` and holds no other reference to
    // it; `ctx.slow` points at `run`'s live `SlowState`.
    let ctx = unsafe { &mut *ctx };
    let state = unsafe { &mut *(ctx.slow as *mut SlowState) };
    // A panic must not unwind through generated code: carry it to `run`.
    match catch_unwind(AssertUnwindSafe(|| state.step(&mut ctx.regs, pc as usize))) {
        Ok(Ok(None)) => status::CONTINUE,
        Ok(Ok(Some(r0))) => {
            ctx.regs[0] = r0;
            status::STOPPED
        }
        Ok(Err(e)) => {
            state.error = Some(e);
            status::FAILED
        }
        Err(payload) => {
            state.panic = Some(payload);
            status::PANICKED
        }
    }
}

impl SlowState<'_, '_> {
    /// Runs the instruction at `pc`; `Some(r0)` when a helper stopped the program.
    fn step(&mut self, regs: &mut [u64; 16], pc: usize) -> Result<Option<u64>, RunError> {
        let Some(&ins) = self.program.insns.get(pc) else {
            return Err(unexpected(pc, "a slow path outside the program"));
        };
        match ins.op {
            CALL | CALLX => {
                let id = if ins.op == CALLX { regs[(ins.dst & 0x0f) as usize] } else { ins.imm as u32 as u64 };
                let args = [regs[1], regs[2], regs[3], regs[4], regs[5]];
                let mut memory = AddressMap::new(&self.program.rodata, self.stack, self.regions);
                match helpers::call(&self.program.helpers, &mut memory, self.log, pc, id, args)? {
                    HelperOutcome::Return(v) => {
                        regs[0] = v;
                        Ok(None)
                    }
                    HelperOutcome::Stop(v) => Ok(Some(v)),
                }
            }
            ATOMIC_W | ATOMIC_DW => {
                let mut memory = AddressMap::new(&self.program.rodata, self.stack, self.regions);
                interp::atomic(&mut memory, regs, ins, pc).map(|()| None)
            }
            op => Err(unexpected(pc, &format!("a slow path for opcode {op:#04x}"))),
        }
    }
}

#[cfg(test)]
mod tests;
