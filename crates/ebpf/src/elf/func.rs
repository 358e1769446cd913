//! Functions: the runs of instructions that programs and sub-programs are
//! made of, found from a code section's function symbols.

use super::raw::{self, elf_error, insn_index};
use crate::error::LoadError;
use crate::insn::INSN_SIZE;

/// A run of instructions `start..end` (slot indexes, `start < end`) of code
/// section `section`: one function, or a whole section without function symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Func {
    pub(super) section: usize,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Func {
    pub(super) fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub(super) fn contains(&self, index: usize) -> bool {
        self.start <= index && index < self.end
    }
}

/// Instruction slots in code section `section`.
pub(super) fn code_len(obj: &raw::Object, section: &raw::Section) -> Result<usize, LoadError> {
    let bytes = obj.contents(section)?;
    if !bytes.len().is_multiple_of(INSN_SIZE) {
        return Err(elf_error(format!(
            "code section '{}' is {} bytes, not whole instructions",
            section.name,
            bytes.len()
        )));
    }
    Ok(bytes.len() / INSN_SIZE)
}

/// The function symbols of code section `section` with their ranges, sorted
/// by start. A symbol of size 0 (hand-written assembly) extends to the next
/// function or the end of the section.
pub(super) fn functions<'o, 'a>(obj: &'o raw::Object<'a>, section: usize) -> Result<Vec<(&'o raw::Symbol<'a>, Func)>, LoadError> {
    let sec = obj.section(section)?;
    let insn_count = code_len(obj, sec)?;
    let mut found = Vec::new();
    for symbol in obj.functions_in(section) {
        let start = insn_index(symbol.value).filter(|&i| i < insn_count).ok_or_else(|| {
            elf_error(format!(
                "function '{}' starts at {:#x}, not an instruction of '{}'",
                symbol.name, symbol.value, sec.name
            ))
        })?;
        let len = insn_index(symbol.size).ok_or_else(|| {
            elf_error(format!("function '{}' has size {}, not whole instructions", symbol.name, symbol.size))
        })?;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= insn_count)
            .ok_or_else(|| elf_error(format!("function '{}' runs past the end of '{}'", symbol.name, sec.name)))?;
        found.push((symbol, start, end));
    }
    found.sort_by_key(|&(_, start, end)| (start, end));
    let starts: Vec<usize> = found.iter().map(|&(_, start, _)| start).collect();
    Ok(found
        .into_iter()
        .map(|(symbol, start, end)| {
            let next = starts.get(starts.partition_point(|&s| s <= start)).copied();
            let end = if end > start { end } else { next.unwrap_or(insn_count) };
            (symbol, Func { section, start, end })
        })
        .collect())
}
