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

/// Runs one program, one run at a time. Holds the stack and the trace log so
/// that repeated runs allocate nothing.
pub struct Vm<'p> {
    program: &'p Program,
    budget: u64,
    engine: Engine,
    stack: Box<[u8]>,
    /// The interpreter's saved caller state per frame.
    frames: [Frame; MAX_FRAMES],
    log: String,
}

impl<'p> Vm<'p> {
    /// A VM that runs `program` with the engine it was loaded for.
    pub fn new(program: &'p Program) -> Vm<'p> {
        Vm {
            program,
            budget: DEFAULT_BUDGET,
            engine: program.engine(),
            stack: vec![0; STACK_SIZE].into_boxed_slice(),
            frames: [Frame::default(); MAX_FRAMES],
            log: String::new(),
        }
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
        &self.log
    }

    pub fn take_log(&mut self) -> String {
        std::mem::take(&mut self.log)
    }

    /// Runs the program with r1..r5 = `args` (missing ones 0, extra ones
    /// ignored) and r10 at the top of a zeroed 512-byte frame. `regions` are
    /// mapped at [`crate::region_address`]`(0)`, `(1)`, ... in order.
    pub fn run(&mut self, regions: &mut [Region<'_>], args: &[u64]) -> Result<Exit, RunError> {
        let Vm { program, budget, engine, stack, frames, log } = self;
        let program: &Program = program;
        // Each frame is zeroed as it is entered, so a run never sees an
        // earlier run's stack through its own frames.
        stack[STACK_SIZE - FRAME_STACK_SIZE..].fill(0);
        let mut memory = AddressMap::new(&program.rodata, stack, regions);
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if *engine == Engine::Jit {
            if let Some(code) = program.jit.as_ref() {
                return crate::jit::run(code, program, &mut memory, log, *budget, args);
            }
        }
        let _ = engine; // read above only where the JIT is built
        interp::run(program, &mut memory, frames, log, *budget, args)
    }
}
