//! `Vm`: runs a loaded [`Program`] with the engine it was loaded for.

use crate::engine::Engine;
use crate::error::RunError;
use crate::interp::{self, Frame};
use crate::memory::{AddressMap, Region, FRAME_STACK_SIZE, MAX_FRAMES, STACK_SIZE};
use crate::program::Program;

/// Instructions one run may execute unless the embedder says otherwise.
pub const DEFAULT_BUDGET: u64 = 1_000_000;

/// How a run ended: at `exit` from the entry function, or stopped by a helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    pub r0: u64,
    /// Instructions executed (an `LDDW` counts once).
    pub executed: u64,
}

/// The memory runs need besides the program's regions: the stack, the
/// interpreter's saved caller state per frame, and the trace log. A `Vm`
/// owns one; [`Vm::into_memory`] takes it back so that an embedder running
/// many programs (one engine per thread) allocates it once, not per `Vm`.
pub struct VmMemory {
    stack: Box<[u8]>,
    /// False only while the entry frame is all zero: no run since the last
    /// zeroing was of a program that writes memory.
    stack_dirty: bool,
    frames: [Frame; MAX_FRAMES],
    log: String,
    /// The JIT's run context, filled afresh by each run (jit/mod.rs).
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    jit_ctx: Box<crate::jit::Ctx>,
}

impl VmMemory {
    pub fn new() -> VmMemory {
        VmMemory {
            stack: vec![0; STACK_SIZE].into_boxed_slice(),
            stack_dirty: false,
            frames: [Frame::default(); MAX_FRAMES],
            log: String::new(),
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            jit_ctx: crate::jit::Ctx::new(),
        }
    }

    /// What `bpf_trace_printk` wrote since the last `take_log`.
    pub fn take_log(&mut self) -> String {
        std::mem::take(&mut self.log)
    }
}

impl Default for VmMemory {
    fn default() -> Self {
        VmMemory::new()
    }
}

/// Runs one program, one run at a time. Holds the stack and the trace log so
/// that repeated runs allocate nothing.
pub struct Vm<'p> {
    program: &'p Program,
    budget: u64,
    engine: Engine,
    memory: VmMemory,
}

impl<'p> Vm<'p> {
    /// A VM that runs `program` with the engine it was loaded for.
    pub fn new(program: &'p Program) -> Vm<'p> {
        Vm::with_memory(program, VmMemory::new())
    }

    /// A VM for `program` in memory an earlier `Vm` gave back
    /// ([`Vm::into_memory`]): nothing is allocated. The budget is the
    /// default again; the log keeps what was not taken.
    pub fn with_memory(program: &'p Program, memory: VmMemory) -> Vm<'p> {
        Vm { program, budget: DEFAULT_BUDGET, engine: program.engine(), memory }
    }

    /// The memory, for the next `Vm` ([`Vm::with_memory`]).
    pub fn into_memory(self) -> VmMemory {
        self.memory
    }

    /// Sets how many instructions one run may execute before it fails. The
    /// budget is charged a basic block at a time (see the crate's README).
    pub fn set_budget(&mut self, budget: u64) -> &mut Self {
        self.budget = budget;
        self
    }

    /// Runs with `engine` from now on. The JIT needs a program loaded for it:
    /// on any other, the interpreter goes on running ([`Vm::engine`] says so).
    pub fn set_engine(&mut self, engine: Engine) -> &mut Self {
        self.engine = if engine == Engine::Jit { self.program.engine() } else { engine };
        self
    }

    /// The engine the next run uses.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// What `bpf_trace_printk` wrote, one line per call, since the last `take_log`.
    pub fn log(&self) -> &str {
        &self.memory.log
    }

    pub fn take_log(&mut self) -> String {
        self.memory.take_log()
    }

    /// Runs the program with r1..r5 = `args` (missing ones 0, extra ones
    /// ignored) and r10 at the top of a zeroed 512-byte frame. `regions` are
    /// mapped at [`crate::region_address`]`(0)`, `(1)`, ... in order.
    pub fn run(&mut self, regions: &mut [Region<'_>], args: &[u64]) -> Result<Exit, RunError> {
        let Vm { program, budget, engine, memory: VmMemory { stack, stack_dirty, frames, log, #[cfg(all(target_arch = "x86_64", target_os = "linux"))] jit_ctx } } = self;
        let program: &Program = program;
        // Each frame is zeroed as it is entered, so a run never sees an
        // earlier run's stack through its own frames. The entry frame is
        // still zero after runs of programs that write no memory (deeper
        // frames are zeroed by the calls that enter them).
        if *stack_dirty {
            stack[STACK_SIZE - FRAME_STACK_SIZE..].fill(0);
        }
        *stack_dirty = program.writes_memory;
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if *engine == Engine::Jit {
            if let Some(code) = program.jit.as_ref() {
                return crate::jit::run(code, program, stack, regions, log, *budget, args, jit_ctx);
            }
        }
        let _ = engine; // read above only where the JIT is built
        let mut memory = AddressMap::new(&program.rodata, stack, regions);
        interp::run(program, &mut memory, frames, log, *budget, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::Helpers;

    fn program(code: &[[u8; 8]]) -> Program {
        Program::from_bytecode(&code.concat(), &Helpers::standard()).expect("loads")
    }

    #[test]
    fn memory_moves_between_programs_and_no_run_sees_another_runs_stack() {
        // stxdw [r10-8], 0x77; ldxdw r0, [r10-8]; exit
        let writer = program(&[[0x7a, 0x0a, 0xf8, 0xff, 0x77, 0, 0, 0], [0x79, 0xa0, 0xf8, 0xff, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]]);
        // ldxdw r0, [r10-8]; exit
        let reader = program(&[[0x79, 0xa0, 0xf8, 0xff, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]]);
        let mut vm = Vm::new(&writer);
        assert_eq!(vm.run(&mut [], &[]).unwrap().r0, 0x77);
        let memory = vm.into_memory();
        let mut vm = Vm::with_memory(&reader, memory);
        assert_eq!(vm.run(&mut [], &[]).unwrap(), Exit { r0: 0, executed: 2 });
        let mut again = Vm::with_memory(&writer, vm.into_memory());
        assert_eq!(again.run(&mut [], &[]).unwrap().r0, 0x77);
        // A writer, then a program that writes nothing, then a reader: the
        // frame the writer dirtied is zeroed although the run between was clean.
        let mut vm = Vm::with_memory(&reader, again.into_memory());
        assert_eq!(vm.run(&mut [], &[]).unwrap().r0, 0);
        assert_eq!(vm.run(&mut [], &[]).unwrap().r0, 0);
        assert!(!reader.writes_memory && writer.writes_memory);
    }
}
