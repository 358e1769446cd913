//! ELF64 object loader: lists the programs of a clang-compiled eBPF object and
//! links one of them the way libbpf does.
//!
//! What it reads (little-endian ELF64, `ET_REL`, `EM_BPF`, as `clang -target
//! bpf -O2 [-g] -c` emits):
//! - a *program* is a global function (`STT_FUNC`) in an executable section
//!   other than `.text`; an executable section without a global function
//!   symbol is one program named after the section. `.text` holds sub-programs.
//! - a bpf-to-bpf call (`call` with `src_reg = 1`) reaches a function through
//!   an `R_BPF_64_32` relocation (target instruction `st_value / 8 + imm + 1`
//!   of the symbol's section) or, without one, pc-relative in its own section.
//!   Every function reached is appended once after the program, and each call's
//!   `imm` is rewritten to the new pc-relative offset.
//! - a 64-bit load (`lddw`) with an `R_BPF_64_64` relocation against a symbol in
//!   a `.rodata*` section becomes the address of that byte in the program's
//!   read-only data, mapped at [`memory::RODATA_BASE`].
//!
//! Everything else a program asks for (maps, global variables, externs,
//! kfuncs, function pointers, other relocation types) is refused as
//! [`LoadError::Unsupported`] naming the symbol. Relocations of non-code
//! sections (`.BTF`, `.BTF.ext`, debug info) are ignored.
//!
//! Every read from the file is bounds-checked and every offset computed with
//! checked arithmetic: a malformed object yields [`LoadError::Elf`], never a
//! panic.


use crate::error::LoadError;
use crate::insn::{Insn, INSN_SIZE};
use crate::program::ProgramInfo;

mod link;
mod raw;

use link::Linker;

/// One program linked out of an object: its code with calls resolved to
/// pc-relative offsets and `.rodata` references to `memory::RODATA_BASE + offset`.
pub(crate) struct Linked {
    pub name: String,
    pub code: Vec<u8>,
    pub rodata: Vec<u8>,
}

/// Lists the programs of `object`, in section order, then by offset.
pub(crate) fn list(object: &[u8]) -> Result<Vec<ProgramInfo>, LoadError> {
    let obj = raw::Object::parse(object)?;
    Ok(programs(&obj)?
        .into_iter()
        .map(|p| ProgramInfo { name: p.name.to_string(), section: p.section.to_string(), insn_count: p.func.len() })
        .collect())
}

/// Links the program chosen by `selector` (see [`select`]).
pub(crate) fn load(object: &[u8], selector: Option<&str>) -> Result<Linked, LoadError> {
    let obj = raw::Object::parse(object)?;
    let all = programs(&obj)?;
    let chosen = select(&all, selector)?;
    let mut linker = Linker::new(&obj);
    linker.link(chosen.func)?;
    Ok(Linked {
        name: chosen.name.to_string(),
        code: linker.code.iter().flat_map(Insn::encode).collect(),
        rodata: linker.rodata,
    })
}

fn elf_error(why: impl Into<String>) -> LoadError {
    LoadError::Elf(why.into())
}

fn unsupported(symbol: impl Into<String>, reason: impl Into<String>) -> LoadError {
    LoadError::Unsupported { symbol: symbol.into(), reason: reason.into() }
}

/// A run of instructions `start..end` (slot indexes, `start < end`) of code
/// section `section`: one function, or a whole section without function symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Func {
    section: usize,
    start: usize,
    end: usize,
}

impl Func {
    fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    fn contains(&self, index: usize) -> bool {
        self.start <= index && index < self.end
    }
}

/// A program of the object: an entry function and where it lives.
struct Prog<'a> {
    name: &'a str,
    section: &'a str,
    func: Func,
}

/// Every program of the object (see the module documentation).
fn programs<'a>(obj: &raw::Object<'a>) -> Result<Vec<Prog<'a>>, LoadError> {
    let mut out = Vec::new();
    for section in obj.sections.iter().filter(|s| s.is_code() && s.name != ".text") {
        let insn_count = code_len(obj, section)?;
        let mut entries = Vec::new();
        for (symbol, func) in functions(obj, section.index)? {
            if symbol.is_global() {
                entries.push(Prog { name: symbol.name, section: section.name, func });
            }
        }
        if entries.is_empty() && insn_count > 0 {
            let func = Func { section: section.index, start: 0, end: insn_count };
            entries.push(Prog { name: section.name, section: section.name, func });
        }
        out.extend(entries);
    }
    Ok(out)
}

/// Picks by function name first, then by section name; `None` asks for the
/// one program of the object.
fn select<'p, 'a>(all: &'p [Prog<'a>], selector: Option<&str>) -> Result<&'p Prog<'a>, LoadError> {
    let names = |progs: &[&Prog]| progs.iter().map(|p| p.name.to_string()).collect::<Vec<_>>();
    let everything: Vec<&Prog> = all.iter().collect();
    let Some(wanted) = selector else {
        return match all {
            [only] => Ok(only),
            _ => Err(LoadError::NoSuchProgram { wanted: "(none given)".into(), available: names(&everything) }),
        };
    };
    if let Some(p) = all.iter().find(|p| p.name == wanted) {
        return Ok(p);
    }
    let in_section: Vec<&Prog> = all.iter().filter(|p| p.section == wanted).collect();
    match in_section[..] {
        [only] => Ok(only),
        // A section holding several programs is ambiguous: list its programs.
        [_, _, ..] => Err(LoadError::NoSuchProgram { wanted: wanted.into(), available: names(&in_section) }),
        [] => Err(LoadError::NoSuchProgram { wanted: wanted.into(), available: names(&everything) }),
    }
}

/// Instruction slots in code section `section`.
fn code_len(obj: &raw::Object, section: &raw::Section) -> Result<usize, LoadError> {
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
fn functions<'o, 'a>(obj: &'o raw::Object<'a>, section: usize) -> Result<Vec<(&'o raw::Symbol<'a>, Func)>, LoadError> {
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

/// The instruction index of byte offset `offset`, if it is on a slot boundary.
fn insn_index(offset: u64) -> Option<usize> {
    if !offset.is_multiple_of(INSN_SIZE as u64) {
        return None;
    }
    usize::try_from(offset / INSN_SIZE as u64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insn_index_needs_whole_slots() {
        assert_eq!(insn_index(0), Some(0));
        assert_eq!(insn_index(16), Some(2));
        assert_eq!(insn_index(12), None);
    }

    fn prog(name: &'static str, section: &'static str, start: usize) -> Prog<'static> {
        Prog { name, section, func: Func { section: 1, start, end: start + 1 } }
    }

    #[test]
    fn selection_by_function_then_section() {
        let all = [prog("a", "s1", 0), prog("b", "s2", 0), prog("c", "s2", 1)];
        assert_eq!(select(&all, Some("b")).unwrap().name, "b");
        assert_eq!(select(&all, Some("s1")).unwrap().name, "a");
        let ambiguous = select(&all, Some("s2")).err().unwrap();
        assert_eq!(
            ambiguous,
            LoadError::NoSuchProgram { wanted: "s2".into(), available: vec!["b".into(), "c".into()] }
        );
        let missing = select(&all, Some("zz")).err().unwrap();
        assert!(matches!(missing, LoadError::NoSuchProgram { available, .. } if available.len() == 3));
        assert!(select(&all, None).is_err());
        assert_eq!(select(&all[..1], None).unwrap().name, "a");
        assert!(select(&[], None).is_err());
    }
}
