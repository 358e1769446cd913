//! A safe eBPF virtual machine, std only.
//!
//! The parts, in the order a program meets them:
//! - [`elf`]: reads a clang-compiled object, picks a program, links its
//!   bpf-to-bpf calls and `.rodata` references the way libbpf does;
//! - [`check`]: refuses, before anything runs, any instruction the
//!   interpreter could not execute safely and exactly;
//! - [`interp`]: runs a checked program against named memory regions
//!   ([`memory`]), with an instruction budget, calling registered [`helpers`].
//!
//! ```
//! use ebpf::{Helpers, Program, Vm};
//! // mov r0, 42; exit
//! let code = [0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let program = Program::from_bytecode(&code, &Helpers::new()).unwrap();
//! let exit = Vm::new(&program).run(&mut [], &[]).unwrap();
//! assert_eq!(exit.r0, 42);
//! ```

pub mod check;
pub mod conformance;
pub mod elf;
pub mod error;
pub mod helpers;
pub mod insn;
pub mod interp;
pub mod memory;
pub mod opcode;
mod program;

pub use check::MAX_PROGRAM_INSNS;
pub use elf::{list_programs, ProgramInfo};
pub use error::{LoadError, RunError};
pub use helpers::{HelperContext, HelperFn, HelperOutcome, Helpers};
pub use interp::{Exit, Vm, DEFAULT_BUDGET};
pub use memory::{region_address, Region};
pub use program::Program;
