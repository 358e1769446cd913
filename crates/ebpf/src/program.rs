//! A loaded, checked program: what the interpreter runs.

use crate::check;
use crate::elf;
use crate::error::LoadError;
use crate::helpers::{HelperFn, Helpers};
use crate::insn::{self, Insn};

/// A program that passed the checker against a set of helpers. Immutable and
/// shareable between threads; each run gets its own [`crate::Vm`].
pub struct Program {
    name: String,
    pub(crate) insns: Vec<Insn>,
    pub(crate) rodata: Vec<u8>,
    pub(crate) helpers: Vec<Option<HelperFn>>,
}

impl Program {
    /// Loads raw bytecode (8-byte little-endian slots, no relocations).
    pub fn from_bytecode(code: &[u8], helpers: &Helpers) -> Result<Program, LoadError> {
        let insns = insn::decode_all(code).ok_or_else(|| LoadError::Check {
            pc: code.len() / insn::INSN_SIZE,
            reason: format!("bytecode length {} is not a multiple of 8", code.len()),
        })?;
        Program::checked("bytecode".to_string(), insns, Vec::new(), helpers)
    }

    /// Loads the program named `selector` (a function or section name) from an
    /// ELF object; with `None`, the object must hold exactly one program.
    pub fn from_elf(object: &[u8], selector: Option<&str>, helpers: &Helpers) -> Result<Program, LoadError> {
        let linked = elf::load(object, selector)?;
        let insns = insn::decode_all(&linked.code).ok_or_else(|| LoadError::Elf("code is not whole instructions".into()))?;
        Program::checked(linked.name, insns, linked.rodata, helpers)
    }

    fn checked(name: String, insns: Vec<Insn>, rodata: Vec<u8>, helpers: &Helpers) -> Result<Program, LoadError> {
        check::check(&insns, helpers)?;
        Ok(Program { name, insns, rodata, helpers: helpers.table() })
    }

    pub fn name(&self) -> &str {
        &self.name
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
