//! A loaded, checked program: what the engines run.

use crate::blocks;
use crate::check;
use crate::elf;
use crate::engine::{default_engine, Engine};
use crate::error::LoadError;
use crate::helpers::{HelperFn, Helpers};
use crate::insn::{self, Insn};

/// A program that passed the checker against a set of helpers, compiled for
/// the JIT when it was loaded for it. Immutable and shareable between
/// threads; each run gets its own [`crate::Vm`].
pub struct Program {
    name: String,
    pub(crate) insns: Vec<Insn>,
    pub(crate) rodata: Vec<u8>,
    pub(crate) helpers: Vec<Option<HelperFn>>,
    /// Budget charged on entering the basic block at each pc (see `blocks`).
    pub(crate) costs: Vec<u32>,
    /// Whether a run can write memory other than by zeroing frames: any
    /// store, atomic or helper call. A run of a program that cannot leaves
    /// the stack as it found it (`Vm::run` then need not zero it again).
    pub(crate) writes_memory: bool,
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub(crate) jit: Option<crate::jit::Compiled>,
    engine: Engine,
    engine_reason: String,
}

impl Program {
    /// Loads raw bytecode (8-byte little-endian slots, no relocations) for
    /// the default engine ([`crate::default_engine`]).
    pub fn from_bytecode(code: &[u8], helpers: &Helpers) -> Result<Program, LoadError> {
        Program::from_bytecode_with(code, helpers, default_engine().engine)
    }

    /// As [`Program::from_bytecode`], for `engine`. Asking for the JIT where
    /// it is not built, or where the system refuses it executable memory,
    /// loads for the interpreter; [`Program::engine_reason`] says why.
    pub fn from_bytecode_with(code: &[u8], helpers: &Helpers, engine: Engine) -> Result<Program, LoadError> {
        let insns = insn::decode_all(code).ok_or_else(|| LoadError::Check {
            pc: code.len() / insn::INSN_SIZE,
            reason: format!("bytecode length {} is not a multiple of 8", code.len()),
        })?;
        Program::checked("bytecode".to_string(), insns, Vec::new(), helpers, engine)
    }

    /// Loads the program named `selector` (a function or section name) from an
    /// ELF object; with `None`, the object must hold exactly one program.
    pub fn from_elf(object: &[u8], selector: Option<&str>, helpers: &Helpers) -> Result<Program, LoadError> {
        Program::from_elf_with(object, selector, helpers, default_engine().engine)
    }

    /// As [`Program::from_elf`], for `engine` (see [`Program::from_bytecode_with`]).
    pub fn from_elf_with(object: &[u8], selector: Option<&str>, helpers: &Helpers, engine: Engine) -> Result<Program, LoadError> {
        let linked = elf::load(object, selector)?;
        let insns = insn::decode_all(&linked.code).ok_or_else(|| LoadError::Elf("code is not whole instructions".into()))?;
        Program::checked(linked.name, insns, linked.rodata, helpers, engine)
    }

    fn checked(name: String, insns: Vec<Insn>, rodata: Vec<u8>, helpers: &Helpers, engine: Engine) -> Result<Program, LoadError> {
        check::check(&insns, helpers)?;
        let costs = blocks::block_costs(&insns);
        let writes_memory = insns.iter().any(|i| {
            matches!(i.op & crate::opcode::CLASS_MASK, crate::opcode::CLASS_ST | crate::opcode::CLASS_STX)
                || matches!(i.op, crate::opcode::CALL | crate::opcode::CALLX)
        });
        let mut program = Program {
            name,
            insns,
            rodata,
            helpers: helpers.table(),
            costs,
            writes_memory,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            jit: None,
            engine: Engine::Interpreter,
            engine_reason: "the interpreter was asked for".to_string(),
        };
        if engine == Engine::Jit {
            program.compile();
        }
        Ok(program)
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn compile(&mut self) {
        match crate::jit::compile(&self.insns, &self.costs) {
            Ok(code) => {
                self.jit = Some(code);
                self.engine = Engine::Jit;
                self.engine_reason = "compiled by the x86-64 JIT".to_string();
            }
            Err(why) => self.engine_reason = format!("the JIT could not compile it ({why}); the interpreter runs it"),
        }
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn compile(&mut self) {
        self.engine_reason = "this build has no JIT (it is x86-64 Linux only); the interpreter runs it".to_string();
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine a new [`crate::Vm`] runs this program with.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Why this program runs on [`Program::engine`], in words.
    pub fn engine_reason(&self) -> &str {
        &self.engine_reason
    }

    /// Instruction slots, sub-programs included.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The program's read-only data (`.rodata`), addressed at `memory::RODATA_BASE`.
    pub fn rodata(&self) -> &[u8] {
        &self.rodata
    }

    /// The linked bytecode, as it will run.
    pub fn bytecode(&self) -> Vec<u8> {
        self.insns.iter().flat_map(|i| i.encode()).collect()
    }
}
