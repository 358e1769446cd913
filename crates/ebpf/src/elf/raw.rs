//! Raw ELF structures: the header, section headers, symbols and relocations,
//! each read with bounds checks.

use crate::error::LoadError;
use crate::insn::INSN_SIZE;
use std::collections::{BTreeMap, HashMap};

const EHDR_SIZE: u64 = 64;
const SHDR_SIZE: u64 = 64;
const SYM_SIZE: u64 = 24;
const REL_SIZE: u64 = 16;

const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ET_REL: u16 = 1;
const EM_BPF: u16 = 247;

const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_RELA: u32 = 4;
const SHT_NOBITS: u32 = 8;
const SHT_REL: u32 = 9;
const SHF_EXECINSTR: u64 = 0x4;

const STT_FUNC: u8 = 2;
const STT_SECTION: u8 = 3;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;

pub const SHN_UNDEF: u16 = 0;
pub const SHN_LORESERVE: u16 = 0xff00;
pub const SHN_COMMON: u16 = 0xfff2;

pub const R_BPF_64_64: u32 = 1;
pub const R_BPF_64_ABS64: u32 = 2;
pub const R_BPF_64_ABS32: u32 = 3;
pub const R_BPF_64_NODYLD32: u32 = 4;
pub const R_BPF_64_32: u32 = 10;

pub(super) fn elf_error(why: impl Into<String>) -> LoadError {
    LoadError::Elf(why.into())
}

pub(super) fn unsupported(symbol: impl Into<String>, reason: impl Into<String>) -> LoadError {
    LoadError::Unsupported { symbol: symbol.into(), reason: reason.into() }
}

/// The instruction index of byte offset `offset`, if it is on a slot boundary.
pub(super) fn insn_index(offset: u64) -> Option<usize> {
    if !offset.is_multiple_of(INSN_SIZE as u64) {
        return None;
    }
    usize::try_from(offset / INSN_SIZE as u64).ok()
}

/// `len` bytes at `offset` of `data`, or an error naming `what`.
pub fn bytes_at<'a>(data: &'a [u8], offset: u64, len: u64, what: &str) -> Result<&'a [u8], LoadError> {
    let range = usize::try_from(offset)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(start, len)| Some(start..start.checked_add(len)?));
    range
        .and_then(|r| data.get(r))
        .ok_or_else(|| elf_error(format!("{what} ({len} bytes at offset {offset:#x}) lies outside the file")))
}

/// `N` little-endian bytes at `at` of a fixed-size record.
fn field<const N: usize>(record: &[u8], at: usize) -> Result<[u8; N], LoadError> {
    at.checked_add(N)
        .and_then(|end| record.get(at..end))
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| elf_error("record shorter than its fields"))
}

fn u16_at(record: &[u8], at: usize) -> Result<u16, LoadError> {
    field(record, at).map(u16::from_le_bytes)
}

fn u32_at(record: &[u8], at: usize) -> Result<u32, LoadError> {
    field(record, at).map(u32::from_le_bytes)
}

fn u64_at(record: &[u8], at: usize) -> Result<u64, LoadError> {
    field(record, at).map(u64::from_le_bytes)
}

/// The NUL-terminated UTF-8 string at `offset` of string table `table`.
pub fn cstr<'a>(table: &'a [u8], offset: u32, what: &str) -> Result<&'a str, LoadError> {
    let tail = usize::try_from(offset)
        .ok()
        .and_then(|o| table.get(o..))
        .ok_or_else(|| elf_error(format!("{what}: name offset {offset} lies outside the string table")))?;
    let len = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| elf_error(format!("{what}: name at offset {offset} is not NUL-terminated")))?;
    std::str::from_utf8(tail.get(..len).unwrap_or_default())
        .map_err(|_| elf_error(format!("{what}: name at offset {offset} is not UTF-8")))
}

#[derive(Debug)]
pub struct Section<'a> {
    pub index: usize,
    pub name: &'a str,
    pub kind: u32,
    pub flags: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
}

impl Section<'_> {
    pub fn is_code(&self) -> bool {
        self.flags & SHF_EXECINSTR != 0
    }
}

#[derive(Debug)]
pub struct Symbol<'a> {
    /// Empty for section symbols: see [`Object::symbol_name`].
    pub name: &'a str,
    pub kind: u8,
    pub bind: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

impl Symbol<'_> {
    pub fn is_function(&self) -> bool {
        self.kind == STT_FUNC
    }

    pub fn is_function_or_section(&self) -> bool {
        self.kind == STT_FUNC || self.kind == STT_SECTION
    }

    pub fn is_global(&self) -> bool {
        self.bind == STB_GLOBAL || self.bind == STB_WEAK
    }
}

/// A `REL` entry (its offset becomes the key it is stored under): patch
/// that instruction according to `kind`, using symbol number `symbol`.
#[derive(Clone, Copy, Debug)]
pub struct Reloc {
    pub kind: u32,
    pub symbol: usize,
}

/// A parsed object. Names borrow from the file; section contents and
/// relocations are read on demand, each with its own bounds check.
pub struct Object<'a> {
    data: &'a [u8],
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol<'a>>,
    /// Indexes into `symbols` of the function symbols, by section index,
    /// so per-section lookups stay linear in a hostile object's size.
    functions: HashMap<usize, Vec<usize>>,
}

impl<'a> Object<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Object<'a>, LoadError> {
        let header = bytes_at(data, 0, EHDR_SIZE, "ELF header")?;
        if header.get(..4) != Some(b"\x7fELF".as_slice()) {
            return Err(elf_error("not an ELF file (bad magic)"));
        }
        if header.get(4) != Some(&ELFCLASS64) {
            return Err(elf_error("not a 64-bit ELF object"));
        }
        if header.get(5) != Some(&ELFDATA2LSB) {
            return Err(elf_error("not a little-endian ELF object (big-endian bpfeb is not supported)"));
        }
        let e_type = u16_at(header, 16)?;
        if e_type != ET_REL {
            return Err(elf_error(format!(
                "ELF type {e_type} is not a relocatable object (ET_REL, as clang -c emits)"
            )));
        }
        let machine = u16_at(header, 18)?;
        if machine != EM_BPF {
            return Err(elf_error(format!("ELF machine {machine} is not eBPF (247)")));
        }
        let shoff = u64_at(header, 40)?;
        let shentsize = u16_at(header, 58)?;
        let shnum = u16_at(header, 60)?;
        let shstrndx = u16_at(header, 62)?;
        if u64::from(shentsize) != SHDR_SIZE {
            return Err(elf_error(format!("section header size {shentsize} is not {SHDR_SIZE}")));
        }
        if shnum == 0 {
            return Err(elf_error("no section headers (extended section numbering is not supported)"));
        }
        // shnum < 2^16 and SHDR_SIZE = 64: the table size cannot overflow.
        let table = bytes_at(data, shoff, u64::from(shnum) * SHDR_SIZE, "section header table")?;
        let headers = table.chunks_exact(SHDR_SIZE as usize).collect::<Vec<_>>();

        let shstrtab = headers
            .get(usize::from(shstrndx))
            .ok_or_else(|| elf_error(format!("section name table index {shstrndx} is not a section")))?;
        let names = Self::table_bytes(data, shstrtab, "section name table")?;

        let mut sections = Vec::with_capacity(headers.len());
        for (index, h) in headers.iter().enumerate() {
            let what = format!("section {index}");
            sections.push(Section {
                index,
                name: cstr(names, u32_at(h, 0)?, &what)?,
                kind: u32_at(h, 4)?,
                flags: u64_at(h, 8)?,
                offset: u64_at(h, 24)?,
                size: u64_at(h, 32)?,
                link: u32_at(h, 40)?,
                info: u32_at(h, 44)?,
            });
        }
        let mut obj = Object { data, sections, symbols: Vec::new(), functions: HashMap::new() };
        obj.symbols = obj.parse_symbols()?;
        for (i, symbol) in obj.symbols.iter().enumerate().filter(|(_, s)| s.is_function()) {
            obj.functions.entry(usize::from(symbol.shndx)).or_default().push(i);
        }
        Ok(obj)
    }

    /// The bytes of a string table given its raw section header.
    fn table_bytes(data: &'a [u8], header: &[u8], what: &str) -> Result<&'a [u8], LoadError> {
        if u32_at(header, 4)? != SHT_STRTAB {
            return Err(elf_error(format!("{what} is not a string table")));
        }
        bytes_at(data, u64_at(header, 24)?, u64_at(header, 32)?, what)
    }

    /// The one symbol table, with names from the string table it links to.
    fn parse_symbols(&self) -> Result<Vec<Symbol<'a>>, LoadError> {
        let mut tables = self.sections.iter().filter(|s| s.kind == SHT_SYMTAB);
        let symtab = tables.next().ok_or_else(|| elf_error("no symbol table"))?;
        if tables.next().is_some() {
            return Err(elf_error("more than one symbol table"));
        }
        let strtab = self.section(usize::try_from(symtab.link).unwrap_or(usize::MAX))?;
        if strtab.kind != SHT_STRTAB {
            return Err(elf_error("the symbol table's string table is not a string table"));
        }
        let names = self.contents(strtab)?;
        let bytes = self.contents(symtab)?;
        if !(bytes.len() as u64).is_multiple_of(SYM_SIZE) {
            return Err(elf_error("symbol table is not whole 24-byte entries"));
        }
        let mut symbols = Vec::with_capacity(bytes.len() / SYM_SIZE as usize);
        for (i, s) in bytes.chunks_exact(SYM_SIZE as usize).enumerate() {
            let info = field::<1>(s, 4)?[0];
            symbols.push(Symbol {
                name: cstr(names, u32_at(s, 0)?, &format!("symbol {i}"))?,
                kind: info & 0xf,
                bind: info >> 4,
                shndx: u16_at(s, 6)?,
                value: u64_at(s, 8)?,
                size: u64_at(s, 16)?,
            });
        }
        Ok(symbols)
    }

    pub fn section(&self, index: usize) -> Result<&Section<'a>, LoadError> {
        self.sections.get(index).ok_or_else(|| elf_error(format!("section index {index} out of range")))
    }

    /// The section a symbol is defined in, if it names an ordinary one.
    pub fn section_of(&self, symbol: &Symbol) -> Option<&Section<'a>> {
        if symbol.shndx == SHN_UNDEF || symbol.shndx >= SHN_LORESERVE {
            return None;
        }
        self.sections.get(usize::from(symbol.shndx))
    }

    /// The bytes of a section; `NOBITS` sections have none in the file.
    pub fn contents(&self, section: &Section) -> Result<&'a [u8], LoadError> {
        if section.kind == SHT_NOBITS {
            return Err(elf_error(format!("section '{}' has no contents in the file", section.name)));
        }
        bytes_at(self.data, section.offset, section.size, &format!("section '{}'", section.name))
    }

    pub fn symbol(&self, index: usize) -> Result<&Symbol<'a>, LoadError> {
        self.symbols.get(index).ok_or_else(|| elf_error(format!("symbol index {index} out of range")))
    }

    /// A symbol's name for messages: a section symbol is named after its section.
    pub fn symbol_name(&self, index: usize) -> Result<String, LoadError> {
        let symbol = self.symbol(index)?;
        if symbol.name.is_empty() && symbol.kind == STT_SECTION {
            if let Some(section) = self.section_of(symbol) {
                return Ok(section.name.to_string());
            }
        }
        Ok(symbol.name.to_string())
    }

    /// The function symbols defined in section `section`.
    pub fn functions_in(&self, section: usize) -> impl Iterator<Item = &Symbol<'a>> {
        let indexes = self.functions.get(&section).map_or(&[][..], Vec::as_slice);
        indexes.iter().filter_map(|&i| self.symbols.get(i))
    }

    /// The name of a function starting at byte `offset` of section `section`.
    pub fn function_at(&self, section: usize, offset: u64) -> Option<String> {
        self.functions_in(section).find(|s| s.value == offset).map(|s| s.name.to_string())
    }

    /// The relocations of code section `section` (of `insn_count` slots),
    /// by the index of the instruction each patches.
    pub fn code_relocations(
        &self,
        section: &Section,
        insn_count: usize,
    ) -> Result<BTreeMap<usize, Reloc>, LoadError> {
        let mut out = BTreeMap::new();
        let targets_this = |s: &&Section| usize::try_from(s.info).ok() == Some(section.index);
        if let Some(rel) = self.sections.iter().filter(|s| s.kind == SHT_RELA).find(targets_this) {
            return Err(unsupported(rel.name, "RELA relocations of code are not used by eBPF and not supported"));
        }
        for rel in self.sections.iter().filter(|s| s.kind == SHT_REL).filter(targets_this) {
            let bytes = self.contents(rel)?;
            if !(bytes.len() as u64).is_multiple_of(REL_SIZE) {
                return Err(elf_error(format!("relocation section '{}' is not whole 16-byte entries", rel.name)));
            }
            for r in bytes.chunks_exact(REL_SIZE as usize) {
                let offset = u64_at(r, 0)?;
                let info = u64_at(r, 8)?;
                let index = insn_index(offset).filter(|&i| i < insn_count).ok_or_else(|| {
                    elf_error(format!(
                        "relocation at offset {offset:#x} is not an instruction of '{}'",
                        section.name
                    ))
                })?;
                let reloc = Reloc { kind: info as u32, symbol: usize::try_from(info >> 32).unwrap_or(usize::MAX) };
                if out.insert(index, reloc).is_some() {
                    return Err(elf_error(format!("two relocations at offset {offset:#x} of '{}'", section.name)));
                }
            }
        }
        Ok(out)
    }
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

    #[test]
    fn bytes_at_checks_bounds_and_overflow() {
        let data = [1u8, 2, 3, 4];
        assert_eq!(bytes_at(&data, 1, 3, "x").unwrap(), &[2, 3, 4]);
        assert_eq!(bytes_at(&data, 4, 0, "x").unwrap(), &[] as &[u8]);
        assert!(bytes_at(&data, 2, 3, "x").is_err());
        assert!(bytes_at(&data, u64::MAX, 2, "x").is_err());
        assert!(bytes_at(&data, 1, u64::MAX, "x").is_err());
    }

    #[test]
    fn fields_read_little_endian_within_the_record() {
        let rec = [0x34u8, 0x12, 0x78, 0x56, 0, 0, 0, 0x80];
        assert_eq!(u16_at(&rec, 0).unwrap(), 0x1234);
        assert_eq!(u32_at(&rec, 0).unwrap(), 0x5678_1234);
        assert_eq!(u64_at(&rec, 0).unwrap(), 0x8000_0000_5678_1234);
        assert!(u64_at(&rec, 1).is_err());
        assert!(u16_at(&rec, usize::MAX).is_err());
    }

    #[test]
    fn cstr_needs_a_terminator_and_utf8() {
        let table = b"\0.text\0xrp/a\0\xff\0open";
        assert_eq!(cstr(table, 0, "s").unwrap(), "");
        assert_eq!(cstr(table, 1, "s").unwrap(), ".text");
        assert_eq!(cstr(table, 7, "s").unwrap(), "xrp/a");
        assert_eq!(cstr(table, 3, "s").unwrap(), "ext");
        assert!(cstr(table, 13, "s").is_err(), "not UTF-8");
        assert!(cstr(table, 15, "s").is_err(), "no NUL");
        assert!(cstr(table, 99, "s").is_err(), "past the end");
    }

    #[test]
    fn header_is_validated() {
        assert!(matches!(Object::parse(b""), Err(LoadError::Elf(_))));
        let mut h = [0u8; 64];
        assert!(Object::parse(&h).is_err());
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = ELFCLASS64;
        h[5] = ELFDATA2LSB;
        h[16] = ET_REL as u8;
        h[18] = EM_BPF as u8;
        h[58] = 64;
        // No section headers.
        let err = Object::parse(&h).err().unwrap();
        assert!(err.to_string().contains("no section headers"), "{err}");
        h[60] = 1;
        h[40] = 200; // section header table past the end
        let err = Object::parse(&h).err().unwrap();
        assert!(err.to_string().contains("outside the file"), "{err}");
        h[18] = 62; // x86-64
        let err = Object::parse(&h).err().unwrap();
        assert!(err.to_string().contains("not eBPF"), "{err}");
    }
}
