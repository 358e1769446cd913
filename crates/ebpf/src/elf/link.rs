//! The linker: builds one program from its entry function and every function
//! it reaches, resolving calls and `.rodata` references.

use std::collections::{BTreeMap, HashMap};

use super::func::{functions, Func};
use super::raw::{self, elf_error, insn_index, unsupported};
use crate::error::LoadError;
use crate::insn::{self, Insn};
use crate::memory;
use crate::opcode;

/// One code section, decoded once per link.
struct Code {
    insns: Vec<Insn>,
    /// Relocations by the index of the instruction they patch.
    relocs: BTreeMap<usize, raw::Reloc>,
    /// The section's functions; empty when it has no function symbols.
    funcs: Vec<Func>,
}

/// Builds one program: the entry function first, then every function it
/// reaches, each once, in the order they are first called.
pub(super) struct Linker<'o, 'a> {
    obj: &'o raw::Object<'a>,
    pub(super) code: Vec<Insn>,
    /// Where each function placed so far starts in `code` (or will start: a
    /// function is placed when first reached and emitted in placement order).
    placed: HashMap<Func, usize>,
    /// Placed functions in placement order; `code` holds the first `emitted`.
    queue: Vec<Func>,
    /// Slots of all placed functions: where the next one will start.
    planned: usize,
    sections: HashMap<usize, Code>,
    pub(super) rodata: Vec<u8>,
    /// Where each read-only section was copied into `rodata`.
    rodata_at: HashMap<usize, usize>,
}

impl<'o, 'a> Linker<'o, 'a> {
    pub(super) fn new(obj: &'o raw::Object<'a>) -> Self {
        Linker {
            obj,
            code: Vec::new(),
            placed: HashMap::new(),
            queue: Vec::new(),
            planned: 0,
            sections: HashMap::new(),
            rodata: Vec::new(),
            rodata_at: HashMap::new(),
        }
    }

    pub(super) fn link(&mut self, entry: Func) -> Result<(), LoadError> {
        self.place(entry)?;
        let mut emitted = 0;
        // Emitting a function may place more; they are emitted in turn, so
        // each lands exactly where `place` said it would.
        while let Some(&func) = self.queue.get(emitted) {
            debug_assert_eq!(Some(&self.code.len()), self.placed.get(&func));
            self.emit(func)?;
            emitted += 1;
        }
        Ok(())
    }

    /// Where `func` starts in the linked program, placing it at the end if new.
    fn place(&mut self, func: Func) -> Result<usize, LoadError> {
        if let Some(&at) = self.placed.get(&func) {
            return Ok(at);
        }
        let at = self.planned;
        self.planned = at.checked_add(func.len()).ok_or_else(|| elf_error("program too long"))?;
        self.placed.insert(func, at);
        self.queue.push(func);
        Ok(at)
    }

    /// Decodes code section `section` and its relocations, once.
    fn section_code(&mut self, section: usize) -> Result<&Code, LoadError> {
        if !self.sections.contains_key(&section) {
            let sec = self.obj.section(section)?;
            let insns = insn::decode_all(self.obj.contents(sec)?)
                .ok_or_else(|| elf_error(format!("code section '{}' is not whole instructions", sec.name)))?;
            let relocs = self.obj.code_relocations(sec, insns.len())?;
            let funcs = functions(self.obj, section)?.into_iter().map(|(_, f)| f).collect();
            self.sections.insert(section, Code { insns, relocs, funcs });
        }
        self.sections.get(&section).ok_or_else(|| elf_error("section cache"))
    }

    /// Appends `func`'s instructions to `code`, resolving its relocations.
    fn emit(&mut self, func: Func) -> Result<(), LoadError> {
        let section_name = self.obj.section(func.section)?.name;
        let mut index = func.start;
        while index < func.end {
            let code = self.section_code(func.section)?;
            let insn = code.insns.get(index).copied().ok_or_else(|| elf_error("function outside its section"))?;
            let reloc = code.relocs.get(&index).copied();
            let at = || format!("instruction {index} of '{section_name}'");
            match insn.op {
                opcode::CALL => {
                    let call = self.link_call(func.section, index, insn, reloc, &at)?;
                    self.code.push(call);
                    index += 1;
                }
                opcode::LDDW => {
                    // `lddw` takes two slots; its second may carry no relocation.
                    let next = code
                        .insns
                        .get(index + 1)
                        .copied()
                        .filter(|_| index + 1 < func.end)
                        .ok_or_else(|| elf_error(format!("{} is a 64-bit load missing its second slot", at())))?;
                    if let Some(r) = code.relocs.get(&(index + 1)).copied() {
                        let name = self.obj.symbol_name(r.symbol)?;
                        return Err(unsupported(
                            name,
                            format!("relocation on the second slot of the 64-bit load at {}", at()),
                        ));
                    }
                    let [lo, hi] = self.link_lddw([insn, next], reloc, &at)?;
                    self.code.push(lo);
                    self.code.push(hi);
                    index += 2;
                }
                _ => {
                    if let Some(r) = reloc {
                        let name = self.obj.symbol_name(r.symbol)?;
                        return Err(unsupported(
                            name,
                            format!(
                                "{} relocation at {}, which is neither a call nor a 64-bit load",
                                reloc_type_name(r.kind),
                                at()
                            ),
                        ));
                    }
                    self.code.push(insn);
                    index += 1;
                }
            }
        }
        Ok(())
    }

    /// Resolves a `call` at `index` of `section`, to be emitted at `code.len()`.
    fn link_call(
        &mut self,
        section: usize,
        index: usize,
        insn: Insn,
        reloc: Option<raw::Reloc>,
        at: &dyn Fn() -> String,
    ) -> Result<Insn, LoadError> {
        let reloc_name = |r: Option<raw::Reloc>| r.map(|r| self.obj.symbol_name(r.symbol)).transpose();
        match insn.src {
            opcode::CALL_HELPER => match reloc_name(reloc)? {
                // Helper ids are validated by the checker.
                None => Ok(insn),
                Some(name) => Err(unsupported(name, format!("relocation on the helper call at {}", at()))),
            },
            opcode::CALL_KFUNC => {
                let name = reloc_name(reloc)?.unwrap_or_else(|| format!("kfunc #{}", insn.imm));
                Err(unsupported(
                    name,
                    format!("calls to kernel functions (kfuncs) are not provided by this VM ({})", at()),
                ))
            }
            opcode::CALL_LOCAL => {
                let (target_section, target) = match reloc {
                    Some(r) => self.call_target(r, insn.imm, at)?,
                    None => (
                        section,
                        relative(index, insn.imm)
                            .ok_or_else(|| unsupported(at(), "call target is outside the section"))?,
                    ),
                };
                let func = self
                    .function_containing(target_section, target)?
                    .ok_or_else(|| unsupported(at(), "call target is not inside a function"))?;
                let start = self.place(func)?;
                // Calls may land inside a function; keep the same distance from its start.
                let new_target = start.checked_add(target - func.start);
                let pc = self.code.len();
                let imm = new_target
                    .and_then(|t| i64::try_from(t).ok())
                    .zip(i64::try_from(pc).ok())
                    .and_then(|(t, pc)| i32::try_from(t - pc - 1).ok())
                    .ok_or_else(|| elf_error("program too long"))?;
                Ok(Insn { imm, ..insn })
            }
            // Unknown kinds of call are the checker's to refuse, unless relocated.
            _ => match reloc_name(reloc)? {
                None => Ok(insn),
                Some(name) => {
                    Err(unsupported(name, format!("relocation on a call with src_reg {} at {}", insn.src, at())))
                }
            },
        }
    }

    /// The (section, instruction) a relocated bpf-to-bpf call reaches.
    fn call_target(&self, r: raw::Reloc, imm: i32, at: &dyn Fn() -> String) -> Result<(usize, usize), LoadError> {
        let symbol = self.obj.symbol(r.symbol)?;
        let name = self.obj.symbol_name(r.symbol)?;
        if r.kind != raw::R_BPF_64_32 {
            return Err(unsupported(name, format!("{} relocation on the call at {}", reloc_type_name(r.kind), at())));
        }
        if symbol.shndx == raw::SHN_UNDEF {
            return Err(unsupported(
                name,
                "extern function: not defined in the object (kfuncs and other externs are not provided by this VM)",
            ));
        }
        let section = self.obj.section_of(symbol).filter(|s| s.is_code() && symbol.is_function_or_section());
        let Some(section) = section else {
            return Err(unsupported(name, format!("the call at {} targets something that is not a function", at())));
        };
        let target = insn_index(symbol.value).and_then(|start| relative(start, imm)).ok_or_else(|| {
            unsupported(name.clone(), format!("the call at {} targets no instruction of '{}'", at(), section.name))
        })?;
        Ok((section.index, target))
    }

    /// The function of code section `section` holding instruction `target`:
    /// the whole section when it has no function symbols.
    fn function_containing(&mut self, section: usize, target: usize) -> Result<Option<Func>, LoadError> {
        let code = self.section_code(section)?;
        if target >= code.insns.len() {
            return Ok(None);
        }
        if code.funcs.is_empty() {
            return Ok(Some(Func { section, start: 0, end: code.insns.len() }));
        }
        Ok(code.funcs.iter().find(|f| f.contains(target)).copied())
    }

    /// Resolves a 64-bit load: unrelocated constants stay; a `.rodata*`
    /// reference becomes a read-only-data address; anything else is refused.
    fn link_lddw(
        &mut self,
        slots: [Insn; 2],
        reloc: Option<raw::Reloc>,
        at: &dyn Fn() -> String,
    ) -> Result<[Insn; 2], LoadError> {
        let [lo, hi] = slots;
        if lo.src != 0 {
            let name = match reloc {
                Some(r) => self.obj.symbol_name(r.symbol)?,
                None => at(),
            };
            return Err(unsupported(
                name,
                format!("64-bit load with src_reg {} ({}) at {}", lo.src, pseudo_name(lo.src), at()),
            ));
        }
        let Some(r) = reloc else { return Ok(slots) };
        let name = self.obj.symbol_name(r.symbol)?;
        if r.kind != raw::R_BPF_64_64 {
            return Err(unsupported(
                name,
                format!("{} relocation on the 64-bit load at {}", reloc_type_name(r.kind), at()),
            ));
        }
        let symbol = self.obj.symbol(r.symbol)?;
        let section = match symbol.shndx {
            raw::SHN_UNDEF => {
                return Err(unsupported(
                    name,
                    "extern variable: not defined in the object (.kconfig and ksyms are not provided by this VM)",
                ))
            }
            raw::SHN_COMMON => return Err(unsupported(name, GLOBALS_NEED_MAPS)),
            _ => self
                .obj
                .section_of(symbol)
                .ok_or_else(|| unsupported(name.clone(), "symbol is not in a section of the object"))?,
        };
        let section_name = section.name;
        if section_name == ".maps" || section_name == "maps" || section_name.starts_with("maps/") {
            return Err(unsupported(name, "maps are not provided by this VM"));
        }
        if section_name.starts_with(".data") || section_name.starts_with(".bss") {
            return Err(unsupported(name, GLOBALS_NEED_MAPS));
        }
        if section.is_code() {
            let target = self.obj.function_at(section.index, symbol.value.wrapping_add(lo.imm as i64 as u64));
            return Err(unsupported(
                target.unwrap_or(name),
                format!("function pointers (callbacks) are not supported (64-bit load at {})", at()),
            ));
        }
        if !section_name.starts_with(".rodata") {
            return Err(unsupported(
                name,
                format!("references to section '{section_name}' are not supported (only .rodata*)"),
            ));
        }
        if symbol.value > section.size {
            return Err(elf_error(format!("symbol '{name}' lies past the end of '{section_name}'")));
        }
        let placement = self.rodata_placement(section.index)?;
        // RODATA_BASE + placement + st_value + addend, where both the placement
        // and st_value are below the file size; the addend may be negative.
        let address = u64::try_from(placement)
            .ok()
            .and_then(|p| {
                memory::RODATA_BASE.checked_add(p)?.checked_add(symbol.value)?.checked_add_signed(i64::from(lo.imm))
            })
            .ok_or_else(|| elf_error(format!("address of '{name}' overflows")))?;
        Ok([Insn { imm: address as u32 as i32, ..lo }, Insn { imm: (address >> 32) as u32 as i32, ..hi }])
    }

    /// Where read-only section `section` starts in `rodata`, copying it there
    /// (8-byte aligned) on first use.
    fn rodata_placement(&mut self, section: usize) -> Result<usize, LoadError> {
        if let Some(&at) = self.rodata_at.get(&section) {
            return Ok(at);
        }
        let bytes = self.obj.contents(self.obj.section(section)?)?;
        let at = self.rodata.len().next_multiple_of(8);
        self.rodata.resize(at, 0);
        self.rodata.extend_from_slice(bytes);
        self.rodata_at.insert(section, at);
        Ok(at)
    }
}

const GLOBALS_NEED_MAPS: &str = "global variables need maps, which this VM does not provide";

/// `index + 1 + imm`, the target of a pc-relative jump or call, if not negative.
pub(super) fn relative(index: usize, imm: i32) -> Option<usize> {
    let index = i64::try_from(index).ok()?;
    usize::try_from(index.checked_add(1)?.checked_add(i64::from(imm))?).ok()
}

fn reloc_type_name(kind: u32) -> String {
    match kind {
        raw::R_BPF_64_64 => "R_BPF_64_64".into(),
        raw::R_BPF_64_ABS64 => "R_BPF_64_ABS64".into(),
        raw::R_BPF_64_ABS32 => "R_BPF_64_ABS32".into(),
        raw::R_BPF_64_NODYLD32 => "R_BPF_64_NODYLD32".into(),
        raw::R_BPF_64_32 => "R_BPF_64_32".into(),
        other => format!("unknown relocation type {other}"),
    }
}

/// What a 64-bit load's `src_reg` asks of libbpf and the kernel.
fn pseudo_name(src: u8) -> &'static str {
    match src {
        1 => "map fd",
        2 => "map value",
        3 => "BTF id",
        4 => "function pointer",
        5 => "map index",
        6 => "map index value",
        _ => "unknown kind",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_targets_are_never_negative() {
        assert_eq!(relative(4, -1), Some(4));
        assert_eq!(relative(4, 3), Some(8));
        assert_eq!(relative(0, -1), Some(0));
        assert_eq!(relative(0, -2), None);
        assert_eq!(relative(0, i32::MIN), None);
    }
}
