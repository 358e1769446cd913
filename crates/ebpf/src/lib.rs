//! A safe eBPF virtual machine, std only.
//!
//! The parts, in the order a program meets them:
//! - [`elf`]: reads a clang-compiled object, picks a program, links its
//!   bpf-to-bpf calls and `.rodata` references the way libbpf does;
//! - [`check`]: refuses, before anything runs, any instruction the
//!   engines could not execute safely and exactly;
//! - [`Vm`] runs a checked program against named memory regions
//!   ([`memory`]), with an instruction budget, calling registered
//!   [`helpers`], on the engine the program was loaded for: the x86-64 JIT
//!   (compiled once, at load) or the interpreter (see [`Engine`]).
//!
//! ```
//! use ebpf::{Helpers, Program, Vm};
//! // mov r0, 42; exit
//! let code = [0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let program = Program::from_bytecode(&code, &Helpers::new()).unwrap();
//! let exit = Vm::new(&program).run(&mut [], &[]).unwrap();
//! assert_eq!(exit.r0, 42);
//! ```

mod blocks;
pub mod check;
pub mod conformance;
pub mod elf;
mod engine;
pub mod error;
pub mod helpers;
pub mod insn;
mod interp;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod jit;
pub mod memory;
pub mod opcode;
mod program;
mod vm;

pub use check::MAX_PROGRAM_INSNS;
pub use elf::{list_programs, ProgramInfo};
pub use error::{LoadError, RunError};
pub use helpers::{HelperContext, HelperFn, HelperOutcome, Helpers};
pub use engine::{choose as choose_engine, default_engine, Engine, EngineChoice, JIT_BUILT, JIT_ENV};
pub use vm::{Exit, Vm, VmMemory, DEFAULT_BUDGET};
pub use memory::{region_address, Region};
pub use program::Program;
