//! ELF64 object loader (being written).
use crate::error::LoadError;
use crate::program::ProgramInfo;

/// One program linked out of an object: its code with calls resolved to
/// pc-relative offsets and `.rodata` references to `memory::RODATA_BASE + offset`.
pub(crate) struct Linked {
    pub name: String,
    pub code: Vec<u8>,
    pub rodata: Vec<u8>,
}

pub(crate) fn list(_object: &[u8]) -> Result<Vec<ProgramInfo>, LoadError> {
    Err(LoadError::Elf("ELF loading is not implemented yet".into()))
}

pub(crate) fn load(_object: &[u8], _selector: Option<&str>) -> Result<Linked, LoadError> {
    Err(LoadError::Elf("ELF loading is not implemented yet".into()))
}
