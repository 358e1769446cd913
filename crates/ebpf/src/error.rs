//! Errors of the VM: `LoadError` before a program may run, `RunError` while it runs.

use std::fmt;

/// Why a program could not be loaded. Nothing about it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The object file is not a well-formed little-endian ELF64 eBPF object.
    Elf(String),
    /// No program with the requested section or function name; `available` lists them.
    NoSuchProgram { wanted: String, available: Vec<String> },
    /// The object asks for something this VM does not provide (maps, BTF-only
    /// features, an unknown relocation); `symbol` names what asked for it.
    Unsupported { symbol: String, reason: String },
    /// The checker refused instruction `pc` (an index into the loaded program).
    Check { pc: usize, reason: String },
}

impl LoadError {
    /// A short stable identifier, for bindings that expose `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Elf(_) => "ELF",
            LoadError::NoSuchProgram { .. } => "NO_SUCH_PROGRAM",
            LoadError::Unsupported { .. } => "UNSUPPORTED",
            LoadError::Check { .. } => "CHECK",
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Elf(why) => write!(f, "malformed ELF object: {why}"),
            LoadError::NoSuchProgram { wanted, available } => {
                write!(f, "no program named '{wanted}' in the object")?;
                if available.is_empty() {
                    write!(f, " (it holds no programs)")
                } else {
                    write!(f, " (it holds: {})", available.join(", "))
                }
            }
            LoadError::Unsupported { symbol, reason } => write!(f, "'{symbol}': {reason}"),
            LoadError::Check { pc, reason } => write!(f, "instruction {pc}: {reason}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Why a run stopped without reaching `exit`. The program's memory regions may
/// hold partial writes; nothing outside them was touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// A load or store outside every region, or a store to a read-only one.
    MemoryAccess { pc: usize, addr: u64, size: usize, write: bool },
    /// The instruction budget ran out (an endless or too-long loop).
    BudgetExhausted { pc: usize, budget: u64 },
    /// A bpf-to-bpf call would exceed the frame limit.
    CallDepth { pc: usize, max_frames: usize },
    /// A helper reported a failure.
    Helper { pc: usize, id: u32, reason: String },
}

impl RunError {
    pub fn code(&self) -> &'static str {
        match self {
            RunError::MemoryAccess { .. } => "MEMORY_ACCESS",
            RunError::BudgetExhausted { .. } => "BUDGET_EXHAUSTED",
            RunError::CallDepth { .. } => "CALL_DEPTH",
            RunError::Helper { .. } => "HELPER",
        }
    }

    pub fn pc(&self) -> usize {
        match self {
            RunError::MemoryAccess { pc, .. }
            | RunError::BudgetExhausted { pc, .. }
            | RunError::CallDepth { pc, .. }
            | RunError::Helper { pc, .. } => *pc,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::MemoryAccess { pc, addr, size, write } => write!(
                f,
                "instruction {pc}: {} of {size} bytes at {addr:#x} is outside the program's {} memory",
                if *write { "store" } else { "load" },
                if *write { "writable" } else { "readable" },
            ),
            RunError::BudgetExhausted { pc, budget } => {
                write!(f, "instruction {pc}: instruction budget of {budget} exhausted")
            }
            RunError::CallDepth { pc, max_frames } => {
                write!(f, "instruction {pc}: call exceeds {max_frames} stack frames")
            }
            RunError::Helper { pc, id, reason } => {
                write!(f, "instruction {pc}: helper {id} failed: {reason}")
            }
        }
    }
}

impl std::error::Error for RunError {}
