//! The interpreter (being written).
use crate::error::RunError;
use crate::memory::Region;
use crate::program::Program;

/// Instructions one run may execute unless the embedder says otherwise.
pub const DEFAULT_BUDGET: u64 = 1_000_000;

/// How a run ended at `exit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    pub r0: u64,
    /// Instructions executed (LDDW counts once).
    pub executed: u64,
}

/// Runs one program, one run at a time. Holds the stack and the trace log so
/// repeated runs allocate nothing.
pub struct Vm<'p> {
    program: &'p Program,
    budget: u64,
    log: String,
}

impl<'p> Vm<'p> {
    pub fn new(program: &'p Program) -> Vm<'p> {
        Vm { program, budget: DEFAULT_BUDGET, log: String::new() }
    }
    pub fn set_budget(&mut self, budget: u64) -> &mut Self {
        self.budget = budget;
        self
    }
    pub fn log(&self) -> &str {
        &self.log
    }
    pub fn take_log(&mut self) -> String {
        std::mem::take(&mut self.log)
    }
    /// Runs with r1..r5 = `args` (missing ones 0) and r10 at the top of the stack.
    pub fn run(&mut self, _regions: &mut [Region<'_>], _args: &[u64]) -> Result<Exit, RunError> {
        let _ = self.program;
        todo!()
    }
}
