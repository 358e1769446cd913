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
//!   read-only data, mapped at [`crate::memory::RODATA_BASE`].
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
use crate::insn::Insn;

mod func;
mod link;
mod raw;

use func::{code_len, functions, Func};
use link::Linker;

/// One program of an object file, as [`list_programs`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramInfo {
    /// The function's name (the section's name when it has no function symbol).
    pub name: String,
    /// The ELF section that holds it, e.g. `xrp` or `xdp/lookup`.
    pub section: String,
    /// Instruction slots of the function itself, before sub-programs are appended.
    pub insn_count: usize,
}

/// One program linked out of an object: its code with calls resolved to
/// pc-relative offsets and `.rodata` references to `memory::RODATA_BASE + offset`.
pub(crate) struct Linked {
    pub name: String,
    pub code: Vec<u8>,
    pub rodata: Vec<u8>,
}

/// Lists the programs of an ELF object, in section order, then by offset.
pub fn list_programs(object: &[u8]) -> Result<Vec<ProgramInfo>, LoadError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
