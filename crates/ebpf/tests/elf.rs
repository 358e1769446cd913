//! The ELF loader against real clang output and hand-built objects.
//!
//! The programs under `bpf/tests/` (and `bpf/node_search.c`) are compiled with
//! clang for `-mcpu=v1`, `v2`, `v3` and `v3 -g`, then listed, loaded, run and
//! cut short. clang (or `$CLANG`) is required: without it these tests fail,
//! they never skip.
//! The hand-built objects (see [`builder`]) cover what clang does not emit on
//! its own: kfunc calls, pseudo loads, odd relocations, sections without
//! function symbols.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use ebpf::insn::Insn;
use ebpf::{list_programs, region_address, Helpers, LoadError, Program, ProgramInfo, Region, Vm};

/// clang flags of each build of every test program.
const FLAVOURS: [(&str, &[&str]); 4] =
    [("v1", &["-mcpu=v1"]), ("v2", &["-mcpu=v2"]), ("v3", &["-mcpu=v3"]), ("v3-g", &["-mcpu=v3", "-g"])];

/// Sources in `bpf/tests/`, and `bpf/node_search.c`.
const TEST_SOURCES: [&str; 6] = ["calls", "rodata", "multi", "map", "global", "extern"];
const NODE_SEARCH: &str = "node_search";

/// Every object, keyed by (flavour, source name), compiled once per test run.
fn objects() -> &'static HashMap<(&'static str, &'static str), Vec<u8>> {
    static OBJECTS: OnceLock<HashMap<(&'static str, &'static str), Vec<u8>>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        let sources: Vec<(&'static str, String)> = TEST_SOURCES
            .iter()
            .map(|&n| (n, format!("tests/{n}.c")))
            .chain([(NODE_SEARCH, format!("{NODE_SEARCH}.c"))])
            .collect();
        let mut keys = Vec::new();
        let mut jobs: Vec<(&str, &[&str])> = Vec::new();
        for &(flavour, flags) in &FLAVOURS {
            for (name, path) in &sources {
                keys.push((flavour, *name));
                jobs.push((path.as_str(), flags));
            }
        }
        keys.into_iter().zip(common::compile_many(&jobs)).collect()
    })
}

fn object(flavour: &str, name: &str) -> &'static [u8] {
    let found = objects().iter().find(|((f, n), _)| *f == flavour && *n == name);
    found.map(|(_, bytes)| bytes.as_slice()).unwrap_or_else(|| panic!("no object {name} for {flavour}"))
}

fn info(name: &str, section: &str, insn_count: usize) -> ProgramInfo {
    ProgramInfo { name: name.into(), section: section.into(), insn_count }
}

fn names(list: &[ProgramInfo]) -> Vec<(&str, &str)> {
    list.iter().map(|p| (p.name.as_str(), p.section.as_str())).collect()
}

fn load(object: &[u8], selector: Option<&str>) -> Result<Program, LoadError> {
    Program::from_elf(object, selector, &Helpers::standard())
}

/// Runs `program` over `input` (as little-endian u64s, padded to `len` bytes):
/// r1 = its address, r2 = its length. Returns r0 and the trace log.
fn run_with_len(program: &Program, input: &[u64], len: usize) -> (u64, String) {
    let mut mem: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    mem.resize(len.max(mem.len()), 0);
    let mut vm = Vm::new(program);
    let args = [region_address(0), mem.len() as u64];
    let mut regions = [Region::writable(&mut mem)];
    let exit = vm.run(&mut regions, &args).unwrap_or_else(|e| panic!("{} failed: {e}", program.name()));
    (exit.r0, vm.take_log())
}

fn run(program: &Program, input: &[u64]) -> (u64, String) {
    run_with_len(program, input, 0)
}

/// The low 32 bits of r0 as the `int` the C program returned.
fn int(r0: u64) -> i32 {
    r0 as u32 as i32
}

fn decode(program: &Program) -> Vec<Insn> {
    ebpf::insn::decode_all(&program.bytecode()).expect("whole instructions")
}

/// Every local call lands on an instruction of the linked program.
fn assert_calls_resolved(program: &Program) {
    let code = decode(program);
    for (pc, insn) in code.iter().enumerate() {
        if insn.op == ebpf::opcode::CALL && insn.src == ebpf::opcode::CALL_LOCAL {
            let target = pc as i64 + 1 + insn.imm as i64;
            assert!((0..code.len() as i64).contains(&target), "{}: call at {pc} to {target}", program.name());
            assert_ne!(target, pc as i64 + 1 + -1, "{}: call at {pc} still unrelocated", program.name());
        }
    }
}

fn unsupported_symbol(result: Result<Program, LoadError>) -> (String, String) {
    match result {
        Err(LoadError::Unsupported { symbol, reason }) => (symbol, reason),
        Err(other) => panic!("expected Unsupported, got {other}"),
        Ok(p) => panic!("expected Unsupported, but {} loaded", p.name()),
    }
}

#[test]
fn lists_the_programs_of_each_object() {
    for (flavour, _) in FLAVOURS {
        let calls = list_programs(object(flavour, "calls")).unwrap();
        assert_eq!(calls, [info("calls", "xrp/calls", 12)], "{flavour}");
        let multi = list_programs(object(flavour, "multi")).unwrap();
        assert_eq!(
            multi,
            [info("first", "xrp/first", 3), info("second_a", "xrp/second", 4), info("second_b", "xrp/second", 4)],
            "{flavour}"
        );
        let rodata = list_programs(object(flavour, "rodata")).unwrap();
        assert_eq!(names(&rodata), [("rodata", "xrp/rodata")], "{flavour}");
        let map = list_programs(object(flavour, "map")).unwrap();
        assert_eq!(names(&map), [("uses_map", "xrp/map"), ("uses_legacy_map", "xrp/legacy_map")], "{flavour}");
        let global = list_programs(object(flavour, "global")).unwrap();
        assert_eq!(names(&global), [("uses_bss", "xrp/bss"), ("uses_data", "xrp/data")], "{flavour}");
        let ext = list_programs(object(flavour, "extern")).unwrap();
        assert_eq!(
            names(&ext),
            [("uses_kfunc", "xrp/kfunc"), ("uses_kconfig", "xrp/kconfig"), ("uses_callback", "xrp/callback")],
            "{flavour}"
        );
        let node = list_programs(object(flavour, NODE_SEARCH)).unwrap();
        assert_eq!(names(&node), [("node_search", "xrp/node_search")], "{flavour}");
        assert!(rodata[0].insn_count > 0 && node[0].insn_count > 0);
    }
}

#[test]
fn links_sub_programs_once_each() {
    for (flavour, _) in FLAVOURS {
        let obj = object(flavour, "calls");
        let program = load(obj, None).unwrap();
        assert_eq!(program.name(), "calls");
        // calls (12) + twice (4) + add3 (4) + square (3): add3 is called from
        // both calls and twice but appended once.
        assert_eq!(program.len(), 12 + 4 + 4 + 3, "{flavour}");
        assert_calls_resolved(&program);
        let exits = decode(&program).iter().filter(|i| i.op == ebpf::opcode::EXIT).count();
        assert_eq!(exits, 4, "{flavour}: one exit per function");
        // The same program by section name and by function name.
        assert_eq!(load(obj, Some("xrp/calls")).unwrap().bytecode(), program.bytecode());
        assert_eq!(load(obj, Some("calls")).unwrap().bytecode(), program.bytecode());
    }
}

#[test]
fn rodata_references_point_into_the_rodata_slot() {
    for (flavour, _) in FLAVOURS {
        let program = load(object(flavour, "rodata"), None).unwrap();
        let code = decode(&program);
        let loads: Vec<u64> = code
            .windows(2)
            .filter(|w| w[0].op == ebpf::opcode::LDDW)
            .map(|w| (w[0].imm as u32 as u64) | ((w[1].imm as u32 as u64) << 32))
            .collect();
        // Two table addresses, the format string, bias.
        assert_eq!(loads.len(), 4, "{flavour}: {loads:x?}");
        for address in loads {
            assert_eq!(address >> 32, ebpf::memory::RODATA_BASE >> 32, "{flavour}: {address:#x}");
            assert!((address & 0xffff_ffff) < 256, "{flavour}: {address:#x}");
        }
        assert!(code.iter().all(|i| i.op != ebpf::opcode::LDDW || i.src == 0));
    }
}

#[test]
fn selects_among_several_programs() {
    for (flavour, _) in FLAVOURS {
        let obj = object(flavour, "multi");
        let all: Vec<String> = ["first", "second_a", "second_b"].map(String::from).to_vec();
        assert_eq!(
            load(obj, None).err(),
            Some(LoadError::NoSuchProgram { wanted: "(none given)".into(), available: all.clone() })
        );
        assert_eq!(
            load(obj, Some("nope")).err(),
            Some(LoadError::NoSuchProgram { wanted: "nope".into(), available: all })
        );
        // A section with two programs is ambiguous: the error lists them.
        let err = load(obj, Some("xrp/second")).err().unwrap();
        assert_eq!(
            err,
            LoadError::NoSuchProgram {
                wanted: "xrp/second".into(),
                available: vec!["second_a".into(), "second_b".into()]
            }
        );
        assert!(err.to_string().contains("second_a, second_b"), "{err}");
        assert_eq!(load(obj, Some("xrp/first")).unwrap().name(), "first");
        for name in ["second_a", "second_b"] {
            let p = load(obj, Some(name)).unwrap();
            assert_eq!(p.name(), name);
            assert_eq!(p.len(), 4 + 3, "{flavour}: {name} + scale");
            assert_calls_resolved(&p);
        }
    }
}

#[test]
fn refuses_maps_globals_and_externs_naming_the_symbol() {
    for (flavour, _) in FLAVOURS {
        let cases = [
            ("map", "uses_map", "counts", "maps"),
            ("map", "uses_legacy_map", "legacy", "maps"),
            ("global", "uses_bss", "hits", "global variables need maps"),
            ("global", "uses_data", "limit", "global variables need maps"),
            ("extern", "uses_kfunc", "bpf_kfunc_example", "extern function"),
            ("extern", "uses_kconfig", "LINUX_KERNEL_VERSION", "extern variable"),
            ("extern", "uses_callback", "step", "function pointers"),
        ];
        for (source, program, symbol, why) in cases {
            let result = load(object(flavour, source), Some(program));
            let (got, reason) = unsupported_symbol(result);
            assert_eq!(got, symbol, "{flavour} {program}: {reason}");
            assert!(reason.contains(why), "{flavour} {program}: {reason}");
        }
    }
}

#[test]
fn every_truncation_is_an_elf_error() {
    for (flavour, _) in FLAVOURS {
        for name in TEST_SOURCES.iter().copied().chain([NODE_SEARCH]) {
            let obj = object(flavour, name);
            // clang writes the section headers last: no proper prefix is whole.
            for len in 0..obj.len() {
                let cut = &obj[..len];
                let listed = std::panic::catch_unwind(|| list_programs(cut));
                match listed {
                    Ok(Err(LoadError::Elf(_))) => {}
                    Ok(other) => panic!("{name} ({flavour}) cut to {len} bytes: {other:?}"),
                    Err(_) => panic!("{name} ({flavour}) cut to {len} bytes: list_programs panicked"),
                }
                let loaded = std::panic::catch_unwind(|| load(cut, None).err());
                assert!(matches!(loaded, Ok(Some(LoadError::Elf(_)))), "{name} ({flavour}) cut to {len} bytes");
            }
        }
    }
}

#[test]
fn mutated_objects_never_panic() {
    let mut rng = common::Rng::new(0x5eed_e1f0);
    for (flavour, _) in FLAVOURS {
        for name in TEST_SOURCES.iter().copied().chain([NODE_SEARCH]) {
            let obj = object(flavour, name);
            for round in 0..300 {
                let mut bad = obj.to_vec();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bad.len());
                    bad[at] = match rng.below(4) {
                        0 => 0,
                        1 => 0xff,
                        2 => bad[at] ^ (1 << rng.below(8)),
                        _ => rng.next() as u8,
                    };
                }
                let outcome = std::panic::catch_unwind(|| {
                    let _ = list_programs(&bad);
                    let _ = load(&bad, None);
                    for p in ["calls", "first", "second_b", "uses_map", "xrp/rodata", NODE_SEARCH] {
                        let _ = load(&bad, Some(p));
                    }
                });
                assert!(outcome.is_ok(), "{name} ({flavour}) mutation round {round} panicked");
            }
        }
    }
}

// ---- Runs (need the interpreter) ----

#[test]
fn runs_bpf_to_bpf_calls() {
    for (flavour, _) in FLAVOURS {
        let program = load(object(flavour, "calls"), None).unwrap();
        // twice(add3(a, b, c)) + d * d
        assert_eq!(int(run(&program, &[1, 2, 3, 4]).0), 2 * 6 + 16, "{flavour}");
        assert_eq!(int(run(&program, &[10, 20, 30, 5]).0), 2 * 60 + 25, "{flavour}");
    }
}

#[test]
fn runs_rodata_tables_and_trace_printk() {
    for (flavour, _) in FLAVOURS {
        let program = load(object(flavour, "rodata"), None).unwrap();
        let (r0, log) = run(&program, &[5]);
        assert_eq!(log, "key 5 -> 125\n", "{flavour}");
        assert_eq!(int(r0), 125 + 25 + 1000 + 12, "{flavour}");
        let (r0, log) = run(&program, &[3 + 8]);
        assert_eq!(log, "key 3 -> 27\n", "{flavour}");
        assert_eq!(int(r0), 27 + 9 + 1000 + 11, "{flavour}");
    }
}

#[test]
fn runs_each_program_of_a_multi_program_object() {
    for (flavour, _) in FLAVOURS {
        let obj = object(flavour, "multi");
        for (name, want) in [("first", 8), ("second_a", 14), ("xrp/first", 8), ("second_b", 21)] {
            let program = load(obj, Some(name)).unwrap();
            assert_eq!(int(run(&program, &[7]).0), want, "{flavour} {name}");
        }
    }
}

const NODE_KEYS: usize = 255;
const NOT_FOUND: u64 = !0;

/// The node layout of `bpf/node_search.c`, as u64 words.
fn node(search_key: u64, keys: &[u64], values: &[u64]) -> Vec<u64> {
    let mut words = vec![0u64; 2 + 2 * NODE_KEYS];
    words[0] = search_key;
    words[1] = keys.len() as u64;
    words[2..2 + keys.len()].copy_from_slice(keys);
    words[2 + NODE_KEYS..2 + NODE_KEYS + values.len()].copy_from_slice(values);
    words
}

/// What node_search must return: the value of the first key >= search_key.
fn lower_bound(search_key: u64, keys: &[u64], values: &[u64]) -> u64 {
    keys.iter().position(|&k| k >= search_key).map_or(NOT_FOUND, |i| values[i])
}

#[test]
fn node_search_matches_a_reference_lower_bound() {
    let mut rng = common::Rng::new(0xb7ee_5eed);
    for (flavour, _) in FLAVOURS {
        let program = load(object(flavour, NODE_SEARCH), Some("xrp/node_search")).unwrap();
        for round in 0..400 {
            let count = match round % 4 {
                0 => NODE_KEYS,
                1 => rng.below(4),
                _ => rng.below(NODE_KEYS as usize + 1),
            };
            // Small key ranges give duplicates; large ones give sparse keys.
            let spread = if round % 2 == 0 { 300 } else { u64::MAX / 2 };
            let mut keys: Vec<u64> = (0..count).map(|_| rng.next() % spread).collect();
            keys.sort_unstable();
            let values: Vec<u64> = (0..count).map(|_| rng.next()).collect();
            let mut probes = vec![0, u64::MAX, rng.next() % spread, rng.next() % spread];
            probes.extend(keys.first().copied());
            probes.extend(keys.last().map(|k| k.saturating_add(1)));
            if count > 0 {
                let k = keys[rng.below(count)];
                probes.extend([k, k.wrapping_sub(1)]);
            }
            for search_key in probes {
                let (r0, _) = run(&program, &node(search_key, &keys, &values));
                assert_eq!(r0, lower_bound(search_key, &keys, &values), "{flavour}: key {search_key} in {keys:?}");
            }
        }
        // A count past 255 and a short node are refused with ~0.
        let mut bad = node(1, &[1, 2], &[10, 20]);
        assert_eq!(run(&program, &bad).0, 10);
        bad[1] = 256;
        assert_eq!(run(&program, &bad).0, NOT_FOUND, "{flavour}: count > 255");
        let short = node(1, &[1], &[10]);
        let (r0, _) = run_with_len(&program, &short[..511], 0);
        assert_eq!(r0, NOT_FOUND, "{flavour}: node shorter than 4096 bytes");
    }
}

// ---- Hand-built objects: what clang does not emit by itself ----

mod builder {
    //! Writes minimal ELF64 eBPF relocatable objects: the given sections, then
    //! `.rel*` sections, `.symtab`, `.strtab` and `.shstrtab`.

    pub const EXEC: u64 = 0x2 | 0x4; // SHF_ALLOC | SHF_EXECINSTR
    pub const ALLOC: u64 = 0x2;
    pub const FUNC: u8 = 2;
    pub const OBJECT: u8 = 1;
    pub const SECTION: u8 = 3;
    pub const LOCAL: u8 = 0;
    pub const GLOBAL: u8 = 1;

    struct Section {
        name: String,
        kind: u32,
        flags: u64,
        data: Vec<u8>,
        link: u32,
        info: u32,
        entsize: u64,
    }

    pub struct Obj {
        sections: Vec<Section>,
        /// (name, info, shndx, value, size)
        symbols: Vec<(String, u8, u16, u64, u64)>,
        /// (section index, offset, type, symbol index)
        relocs: Vec<(usize, u64, u32, usize)>,
    }

    impl Obj {
        pub fn new() -> Obj {
            Obj { sections: Vec::new(), symbols: vec![(String::new(), 0, 0, 0, 0)], relocs: Vec::new() }
        }

        /// Adds a PROGBITS section; returns its section index.
        pub fn section(&mut self, name: &str, flags: u64, data: Vec<u8>) -> usize {
            self.sections.push(Section { name: name.into(), kind: 1, flags, data, link: 0, info: 0, entsize: 0 });
            self.sections.len()
        }

        /// Adds a symbol; returns its index.
        pub fn symbol(&mut self, name: &str, kind: u8, bind: u8, shndx: usize, value: u64, size: u64) -> usize {
            self.symbols.push((name.into(), bind << 4 | kind, shndx as u16, value, size));
            self.symbols.len() - 1
        }

        pub fn reloc(&mut self, section: usize, offset: u64, kind: u32, symbol: usize) {
            self.relocs.push((section, offset, kind, symbol));
        }

        pub fn build(mut self) -> Vec<u8> {
            let user = self.sections.len();
            let symtab = user + 1 + count_distinct(&self.relocs);
            // .rel<name> sections, one per relocated section, in order.
            let mut targets: Vec<usize> = self.relocs.iter().map(|r| r.0).collect();
            targets.sort_unstable();
            targets.dedup();
            for &target in &targets {
                let mut data = Vec::new();
                for &(_, offset, kind, sym) in self.relocs.iter().filter(|r| r.0 == target) {
                    data.extend(offset.to_le_bytes());
                    data.extend(((sym as u64) << 32 | kind as u64).to_le_bytes());
                }
                let name = format!(".rel{}", self.sections[target - 1].name);
                self.sections.push(Section {
                    name,
                    kind: 9,
                    flags: 0,
                    data,
                    link: symtab as u32,
                    info: target as u32,
                    entsize: 16,
                });
            }
            let mut strtab = vec![0u8];
            let mut symdata = Vec::new();
            for (name, info, shndx, value, size) in &self.symbols {
                let at = if name.is_empty() { 0 } else { push_str(&mut strtab, name) };
                symdata.extend(at.to_le_bytes());
                symdata.push(*info);
                symdata.push(0);
                symdata.extend(shndx.to_le_bytes());
                symdata.extend(value.to_le_bytes());
                symdata.extend(size.to_le_bytes());
            }
            let strtab_index = symtab + 1;
            self.sections.push(Section {
                name: ".symtab".into(),
                kind: 2,
                flags: 0,
                data: symdata,
                link: strtab_index as u32,
                info: 1,
                entsize: 24,
            });
            self.sections.push(Section {
                name: ".strtab".into(),
                kind: 3,
                flags: 0,
                data: strtab,
                link: 0,
                info: 0,
                entsize: 0,
            });
            let mut shstrtab = vec![0u8];
            let mut name_at: Vec<u32> = self.sections.iter().map(|s| push_str(&mut shstrtab, &s.name)).collect();
            name_at.push(push_str(&mut shstrtab, ".shstrtab"));
            self.sections.push(Section {
                name: ".shstrtab".into(),
                kind: 3,
                flags: 0,
                data: shstrtab,
                link: 0,
                info: 0,
                entsize: 0,
            });

            let mut out = vec![0u8; 64];
            let mut offsets = Vec::new();
            for s in &self.sections {
                out.resize(out.len().next_multiple_of(8), 0);
                offsets.push(out.len() as u64);
                out.extend(&s.data);
            }
            out.resize(out.len().next_multiple_of(8), 0);
            let shoff = out.len() as u64;
            out.extend([0u8; 64]); // section 0
            for (i, s) in self.sections.iter().enumerate() {
                out.extend(name_at[i].to_le_bytes());
                out.extend(s.kind.to_le_bytes());
                out.extend(s.flags.to_le_bytes());
                out.extend(0u64.to_le_bytes()); // addr
                out.extend(offsets[i].to_le_bytes());
                out.extend((s.data.len() as u64).to_le_bytes());
                out.extend(s.link.to_le_bytes());
                out.extend(s.info.to_le_bytes());
                out.extend(8u64.to_le_bytes()); // addralign
                out.extend(s.entsize.to_le_bytes());
            }
            let shnum = self.sections.len() as u16 + 1;
            let header = &mut out[..64];
            header[..4].copy_from_slice(b"\x7fELF");
            header[4] = 2; // ELFCLASS64
            header[5] = 1; // little-endian
            header[6] = 1; // EV_CURRENT
            header[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
            header[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
            header[20..24].copy_from_slice(&1u32.to_le_bytes());
            header[40..48].copy_from_slice(&shoff.to_le_bytes());
            header[52..54].copy_from_slice(&64u16.to_le_bytes());
            header[58..60].copy_from_slice(&64u16.to_le_bytes());
            header[60..62].copy_from_slice(&shnum.to_le_bytes());
            header[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
            out
        }
    }

    fn count_distinct(relocs: &[(usize, u64, u32, usize)]) -> usize {
        let mut t: Vec<usize> = relocs.iter().map(|r| r.0).collect();
        t.sort_unstable();
        t.dedup();
        t.len()
    }

    fn push_str(table: &mut Vec<u8>, s: &str) -> u32 {
        let at = table.len() as u32;
        table.extend(s.as_bytes());
        table.push(0);
        at
    }
}

use builder::*;

fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { op, dst, src, off, imm }
}

fn code(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(Insn::encode).collect()
}

const MOV64_IMM: u8 = 0xb7;
const ADD64_IMM: u8 = 0x07;
const R_BPF_64_64: u32 = 1;
const R_BPF_64_ABS64: u32 = 2;
const R_BPF_64_32: u32 = 10;

fn exit() -> Insn {
    insn(ebpf::opcode::EXIT, 0, 0, 0, 0)
}

fn mov(dst: u8, imm: i32) -> Insn {
    insn(MOV64_IMM, dst, 0, 0, imm)
}

fn call_local(imm: i32) -> Insn {
    insn(ebpf::opcode::CALL, 0, 1, 0, imm)
}

/// An object with one program `main` in `xrp/main` running `main_code`.
fn one_program(main_code: &[Insn]) -> (Obj, usize, usize) {
    let mut obj = Obj::new();
    let sec = obj.section("xrp/main", EXEC, code(main_code));
    let sym = obj.symbol("main", FUNC, GLOBAL, sec, 0, (main_code.len() * 8) as u64);
    (obj, sec, sym)
}

#[test]
fn builder_object_round_trips() {
    let (obj, _, _) = one_program(&[mov(0, 7), exit()]);
    let bytes = obj.build();
    assert_eq!(list_programs(&bytes).unwrap(), [info("main", "xrp/main", 2)]);
    assert_eq!(load(&bytes, None).unwrap().bytecode(), code(&[mov(0, 7), exit()]));
}

#[test]
fn a_section_without_function_symbols_is_one_program() {
    let mut obj = Obj::new();
    obj.section("xrp/asm", EXEC, code(&[mov(0, 1), call_local(1), exit(), mov(0, 2), exit()]));
    let bytes = obj.build();
    assert_eq!(list_programs(&bytes).unwrap(), [info("xrp/asm", "xrp/asm", 5)]);
    let program = load(&bytes, Some("xrp/asm")).unwrap();
    // The pc-relative call stays inside the (only) function: nothing appended.
    assert_eq!(program.bytecode(), code(&[mov(0, 1), call_local(1), exit(), mov(0, 2), exit()]));
}

#[test]
fn links_calls_with_and_without_relocations() {
    // main:  call sub (relocated against the .text section symbol)
    //        call sub2 (relocated likewise); exit
    // .text: sub:  r0 = 0; call sub2 (pc-relative, no relocation); exit
    //        sub2: r0 = 5; exit
    let mut obj = Obj::new();
    let text = obj.section(".text", EXEC, code(&[mov(0, 0), call_local(1), exit(), mov(0, 5), exit()]));
    let main = obj.section("xrp/main", EXEC, code(&[call_local(-1), call_local(2), exit()]));
    let text_sym = obj.symbol("", SECTION, LOCAL, text, 0, 0);
    obj.symbol("sub", FUNC, LOCAL, text, 0, 24);
    obj.symbol("sub2", FUNC, LOCAL, text, 24, 16);
    obj.symbol("main", FUNC, GLOBAL, main, 0, 24);
    // Through the section symbol, imm is the target's index - 1.
    obj.reloc(main, 0, R_BPF_64_32, text_sym);
    obj.reloc(main, 8, R_BPF_64_32, text_sym);
    let bytes = obj.build();
    let program = load(&bytes, None).unwrap();
    let want = [
        call_local(2), // 0: -> 3 (sub)
        call_local(4), // 1: -> 6 (sub2)
        exit(),        // 2
        mov(0, 0),     // 3: sub
        call_local(1), // 4: -> 6 (sub2, appended once)
        exit(),        // 5
        mov(0, 5),     // 6: sub2
        exit(),        // 7
    ];
    assert_eq!(decode(&program), want);
}

#[test]
fn places_rodata_sections_and_offsets() {
    let mut obj = Obj::new();
    let lddw = |dst: u8, imm: i32| [insn(ebpf::opcode::LDDW, dst, 0, 0, imm), insn(0, 0, 0, 0, 0)];
    let [a0, a1] = lddw(1, 0);
    let [b0, b1] = lddw(2, 3);
    let [c0, c1] = lddw(3, 0);
    let [d0, d1] = lddw(4, -1);
    let text = obj.section("xrp/main", EXEC, code(&[a0, a1, b0, b1, c0, c1, d0, d1, exit()]));
    let ro = obj.section(".rodata", ALLOC, vec![1, 2, 3, 4, 5]);
    let strs = obj.section(".rodata.str1.1", ALLOC | 0x30, b"hi\0".to_vec());
    obj.symbol("main", FUNC, GLOBAL, text, 0, 72);
    let table = obj.symbol("table", OBJECT, GLOBAL, ro, 2, 3);
    let ro_sec = obj.symbol("", SECTION, LOCAL, ro, 0, 0);
    let str_sec = obj.symbol("", SECTION, LOCAL, strs, 0, 0);
    obj.reloc(text, 0, R_BPF_64_64, str_sec); // first use: .rodata.str1.1 at 0
    obj.reloc(text, 16, R_BPF_64_64, ro_sec); // .rodata at 8 (aligned), + 3
    obj.reloc(text, 32, R_BPF_64_64, table); // 8 + 2
    obj.reloc(text, 48, R_BPF_64_64, table); // 8 + 2 - 1
    let program = load(&obj.build(), None).unwrap();
    let code = decode(&program);
    let base = ebpf::memory::RODATA_BASE;
    for (slot, want) in [(0, base), (2, base + 8 + 3), (4, base + 8 + 2), (6, base + 8 + 1)] {
        let got = (code[slot].imm as u32 as u64) | ((code[slot + 1].imm as u32 as u64) << 32);
        assert_eq!(got, want, "lddw at {slot}");
        assert_eq!(code[slot].src, 0);
    }
}

#[test]
fn refuses_what_the_vm_does_not_provide() {
    // A kfunc call (src_reg 2).
    let (obj, _, _) = one_program(&[insn(ebpf::opcode::CALL, 0, 2, 0, 1234), exit()]);
    let (symbol, reason) = unsupported_symbol(load(&obj.build(), None));
    assert!(symbol.contains("1234") && reason.contains("kfunc"), "{symbol}: {reason}");

    // 64-bit loads with src_reg set in the object (map fd, function pointer).
    for src in [1u8, 4] {
        let (obj, _, _) = one_program(&[insn(ebpf::opcode::LDDW, 1, src, 0, 0), insn(0, 0, 0, 0, 0), exit()]);
        let (_, reason) = unsupported_symbol(load(&obj.build(), None));
        assert!(reason.contains(&format!("src_reg {src}")), "{reason}");
    }

    // A call relocated against data.
    let (mut obj, sec, _) = one_program(&[call_local(-1), exit()]);
    let ro = obj.section(".rodata", ALLOC, vec![0; 8]);
    let data = obj.symbol("not_code", OBJECT, GLOBAL, ro, 0, 8);
    obj.reloc(sec, 0, R_BPF_64_32, data);
    let (symbol, reason) = unsupported_symbol(load(&obj.build(), None));
    assert_eq!(symbol, "not_code", "{reason}");

    // An absolute relocation in code, and an unknown relocation type.
    for kind in [R_BPF_64_ABS64, 77] {
        let (mut obj, sec, _) = one_program(&[mov(1, 0), insn(ADD64_IMM, 1, 0, 0, 0), exit()]);
        let ro = obj.section(".rodata", ALLOC, vec![0; 8]);
        let data = obj.symbol("thing", OBJECT, GLOBAL, ro, 0, 8);
        obj.reloc(sec, 8, kind, data);
        let (symbol, reason) = unsupported_symbol(load(&obj.build(), None));
        assert_eq!(symbol, "thing", "{reason}");
    }

    // A pc-relative call past the end of its section.
    let (obj, _, _) = one_program(&[call_local(5), exit()]);
    assert!(matches!(load(&obj.build(), None), Err(LoadError::Unsupported { .. })));
}

#[test]
fn ignores_relocations_of_non_code_sections() {
    let (mut obj, _, _) = one_program(&[mov(0, 3), exit()]);
    let btf = obj.section(".BTF.ext", 0, vec![0; 32]);
    obj.reloc(btf, 8, 4, 99); // R_BPF_64_NODYLD32 against a symbol that does not even exist
    obj.reloc(btf, 3, R_BPF_64_ABS64, 0);
    assert_eq!(load(&obj.build(), None).unwrap().bytecode(), code(&[mov(0, 3), exit()]));
}

#[test]
fn hostile_headers_are_elf_errors() {
    let (obj, _, _) = one_program(&[mov(0, 3), exit()]);
    let good = obj.build();
    let patches: [(usize, &[u8]); 8] = [
        (0, b"\x7fELG"),
        (4, &[1]),           // ELFCLASS32
        (5, &[2]),           // big-endian
        (16, &[2, 0]),       // ET_EXEC
        (40, &[0xff; 8]),    // section headers at u64::MAX
        (58, &[63, 0]),      // section header size
        (60, &[0xff, 0xff]), // 65535 sections
        (62, &[0xfe, 0xff]), // name table index out of range
    ];
    for (at, bytes) in patches {
        let mut bad = good.clone();
        bad[at..at + bytes.len()].copy_from_slice(bytes);
        assert!(matches!(list_programs(&bad), Err(LoadError::Elf(_))), "patch at {at}: {:?}", list_programs(&bad));
    }
    // Every byte of every section header set to 0xff, one header at a time.
    let shoff = u64::from_le_bytes(good[40..48].try_into().unwrap()) as usize;
    for start in (shoff..good.len()).step_by(64) {
        for field in (0..64).step_by(4) {
            let mut bad = good.clone();
            bad[start + field..start + field + 4].copy_from_slice(&[0xff; 4]);
            let _ = list_programs(&bad);
            let _ = load(&bad, None);
        }
    }
}
