//! `bpf/lookup.c` and `bpf/range.c` against files built by an independent
//! encoder of `docs/FORMAT.md` (`encoder/`), through the sync and batch
//! engines, at every page size; corrupt pages; the instruction budget.

mod encoder;
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use ebpf::{region_address, Helpers, Program, Region, Vm};
use encoder::{Stored, Tree, PAGE_SIZES};
use support::{compile_many, Rng};
use xrp::{abi, BatchChain, BatchEngine, ChainOptions, ChainResult, DirectIo, Mode, Outcome, Page, SyncEngine, XrpFile};

/// VM instructions a hop may take in these tests: about three times the most
/// any hop was measured to take (`instruction_budget_per_hop` prints it).
const BUDGET: u64 = 150_000;

fn objects() -> &'static [Vec<u8>] {
    static OBJECTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    OBJECTS.get_or_init(|| compile_many(&[("lookup.c", &["-mcpu=v3", "-g"]), ("range.c", &["-mcpu=v3", "-g"])]))
}

fn lookup_program() -> Program {
    Program::from_elf(&objects()[0], Some("xrpkv_lookup"), &Helpers::standard()).expect("lookup.c loads")
}

fn range_program() -> Program {
    Program::from_elf(&objects()[1], Some("xrpkv_range"), &Helpers::standard()).expect("range.c loads")
}

fn options(mode: Mode) -> ChainOptions {
    ChainOptions { mode, budget: BUDGET, ..ChainOptions::default() }
}

/// The first read of a chain: a page (512 bytes in kernel-compatible mode).
fn read_len(tree: &Tree, mode: Mode) -> usize {
    match mode {
        Mode::KernelCompatible => 512,
        Mode::Extended => tree.page_size,
    }
}

/// Modes a page size runs in: kernel-compatible only where pages are 512 bytes.
fn modes(page_size: usize) -> Vec<Mode> {
    if page_size == 512 {
        vec![Mode::Extended, Mode::KernelCompatible]
    } else {
        vec![Mode::Extended]
    }
}

struct TempFile(PathBuf);

impl TempFile {
    fn new(bytes: &[u8]) -> TempFile {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("xrpkv-lookup-{}-{n}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
    fn open(&self) -> XrpFile {
        XrpFile::open(&self.0, DirectIo::Off).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Trees of about `n` keys at each page size, with their files.
fn trees(n: usize, seed: u64) -> Vec<(Tree, TempFile)> {
    PAGE_SIZES
        .iter()
        .map(|&p| {
            let mut rng = Rng::new(seed ^ p as u64);
            let entries = encoder::entries(&mut rng, p, n);
            let tree = encoder::build(p, &entries, &mut rng);
            let file = TempFile::new(&tree.bytes);
            (tree, file)
        })
        .collect()
}

// ---- Lookups ----

fn lookup_scratch(key: &[u8], page_size: usize) -> Page {
    let mut s = Page::new();
    s[4..6].copy_from_slice(&(key.len() as u16).to_le_bytes());
    s[8..12].copy_from_slice(&(page_size as u32).to_le_bytes());
    s[32..32 + key.len()].copy_from_slice(key);
    s
}

#[derive(Debug, PartialEq, Eq)]
enum Found {
    Inline(Vec<u8>),
    Overflow { first: u64, len: u32 },
    Absent,
    Corrupt,
    Other(u32),
}

/// What a lookup's scratch says, and the pages it searched.
fn found(s: &Page) -> (Found, u64) {
    let len = u32_at(s, 12);
    let f = match u32_at(s, 0) {
        1 => Found::Inline(s[1024..1024 + len as usize].to_vec()),
        2 => Found::Absent,
        3 => Found::Overflow { first: u64_at(s, 16), len },
        4 => Found::Corrupt,
        other => Found::Other(other),
    };
    (f, u64_at(s, 24))
}

fn expected(tree: &Tree, key: &[u8]) -> Found {
    match tree.get(key) {
        None => Found::Absent,
        Some(Stored::Inline(v)) => Found::Inline(v.clone()),
        Some(&Stored::Overflow { first, len }) => Found::Overflow { first, len },
    }
}

/// Every key of the tree and as many absent ones: neighbours of present keys
/// (one byte more, one less, the last byte changed), random keys, and keys
/// longer than the page size allows (up to 511 bytes).
fn queries(tree: &Tree, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut q: Vec<Vec<u8>> = tree.entries.iter().map(|e| e.0.clone()).collect();
    let present = q.len();
    for i in 0..present {
        let k = &q[rng.below(present)];
        let mut v = k.clone();
        match rng.below(5) {
            0 => v.push(rng.next() as u8),
            1 => {
                v.pop();
            }
            2 if !v.is_empty() => *v.last_mut().unwrap() ^= 1 << rng.below(8),
            3 => v = encoder::keys(&mut Rng::new(i as u64 + 1), tree.page_size, 2).pop().unwrap(),
            _ => v = (0..1 + rng.below(511)).map(|_| rng.next() as u8).collect(),
        }
        v.truncate(511);
        if tree.get(&v).is_none() {
            q.push(v);
        }
    }
    q.push(vec![0xff; 511]);
    q.push(vec![0x00; 511]);
    q
}

#[test]
fn crc32_is_zlibs() {
    assert_eq!(encoder::crc32(b""), 0);
    assert_eq!(encoder::crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(encoder::crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
}

#[test]
fn the_encoder_reads_back_what_it_wrote() {
    for (tree, _file) in trees(1500, 1) {
        let (entries, height) = encoder::decode(&tree.bytes, tree.page_size);
        assert_eq!(height, tree.height);
        let want: Vec<(Vec<u8>, Vec<u8>)> = tree.entries.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
        assert_eq!(entries, want, "page size {}", tree.page_size);
        assert!(tree.height >= 3, "page size {}: height {}", tree.page_size, tree.height);
        let overflow = tree.entries.iter().filter(|e| matches!(e.2, Stored::Overflow { .. })).count();
        let empty_key = tree.entries[0].0.is_empty();
        assert!(overflow > 0 && empty_key, "page size {}: overflow values and the empty key", tree.page_size);
    }
}

#[test]
fn the_programs_have_no_rodata_and_no_globals() {
    // Global variables fail to load; .rodata would load here but not in a kernel.
    assert!(lookup_program().rodata().is_empty());
    assert!(range_program().rodata().is_empty());
}

/// Runs every query through the sync engine and checks it against the model.
fn check_lookups_sync(program: &Program, tree: &Tree, file: &XrpFile, mode: Mode, keys: &[Vec<u8>]) -> [usize; 3] {
    let mut engine = SyncEngine::new();
    let mut seen = [0usize; 3];
    for key in keys {
        let mut scratch = lookup_scratch(key, tree.page_size);
        let r = engine.run(program, file, options(mode), tree.root * tree.page_size as u64, read_len(tree, mode), &mut scratch);
        let want = expected(tree, key);
        let (got, levels) = found(&scratch);
        let what = format!("page size {}, {mode:?}, key {key:02x?}", tree.page_size);
        assert_eq!(r.outcome, Outcome::Done, "{what}");
        assert_eq!(got, want, "{what}");
        assert_eq!((levels, r.hops), (tree.height as u64, tree.height), "{what}: one hop per level");
        seen[match want {
            Found::Inline(_) => 0,
            Found::Overflow { .. } => 1,
            _ => 2,
        }] += 1;
    }
    seen
}

#[test]
fn lookups_match_the_model_at_every_page_size_through_the_sync_engine() {
    let program = lookup_program();
    for (tree, file) in trees(3000, 2) {
        let keys = queries(&tree, &mut Rng::new(3));
        for mode in modes(tree.page_size) {
            let seen = check_lookups_sync(&program, &tree, &file.open(), mode, &keys);
            assert!(seen.iter().all(|&n| n >= 100), "inline, overflow and absent keys all tested: {seen:?}");
            println!("page size {} height {} {mode:?}: {seen:?} (inline, overflow, absent)", tree.page_size, tree.height);
        }
    }
}

#[test]
fn lookups_through_the_batch_engine_match_the_model() {
    let program = lookup_program();
    for (tree, file) in trees(3000, 4) {
        let file = file.open();
        let keys = queries(&tree, &mut Rng::new(5));
        for mode in modes(tree.page_size) {
            let mut chains: Vec<BatchChain> = keys
                .iter()
                .map(|k| BatchChain {
                    offset: tree.root * tree.page_size as u64,
                    len: read_len(&tree, mode),
                    scratch: lookup_scratch(k, tree.page_size),
                })
                .collect();
            let mut engine = BatchEngine::new(&program, 64);
            let results = engine.run(&file, options(mode), &mut chains);
            for ((key, chain), r) in keys.iter().zip(&chains).zip(&results) {
                let what = format!("page size {}, {mode:?}, {}, key {key:02x?}", tree.page_size, engine.io());
                assert_eq!(r.outcome, Outcome::Done, "{what}");
                assert_eq!(found(&chain.scratch), (expected(&tree, key), tree.height as u64), "{what}");
            }
        }
    }
}

#[test]
fn a_tree_of_one_leaf_and_an_empty_root_leaf() {
    let program = lookup_program();
    let mut rng = Rng::new(6);
    for p in PAGE_SIZES {
        for n in [0usize, 1, 2] {
            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..n).map(|i| (vec![b'k', i as u8], vec![i as u8; 3])).collect();
            let tree = encoder::build(p, &entries, &mut rng);
            assert_eq!(tree.height, 1);
            let file = TempFile::new(&tree.bytes);
            let keys = vec![vec![], b"k".to_vec(), vec![b'k', 0], vec![b'k', 1], vec![b'k', 2]];
            check_lookups_sync(&program, &tree, &file.open(), Mode::Extended, &keys);
        }
    }
}

#[test]
fn scratch_outside_the_format_is_refused_with_state_0() {
    let program = lookup_program();
    let (tree, file) = trees(50, 7).remove(1);
    let file = file.open();
    let run = |scratch: &mut Page| {
        SyncEngine::new().run(&program, &file, options(Mode::Extended), tree.root * tree.page_size as u64, tree.page_size, scratch)
    };
    let mut long_key = lookup_scratch(b"k", tree.page_size);
    long_key[4..6].copy_from_slice(&512u16.to_le_bytes());
    let mut odd_page = lookup_scratch(b"k", tree.page_size);
    odd_page[8..12].copy_from_slice(&1000u32.to_le_bytes());
    for scratch in [&mut long_key, &mut odd_page] {
        let r = run(scratch);
        assert_eq!(r.outcome, Outcome::Returned { code: 22 });
        assert_eq!(u32_at(scratch, 0), 0);
    }
}

// ---- Corrupt pages ----

/// Byte offset in `page` of slot `i`'s entry.
fn entry_at(page: &[u8], i: usize) -> usize {
    u16_at(page, 32 + 2 * i) as usize
}

/// Looks `key` up in a copy of `tree` changed by `corrupt`; returns what the
/// lookup reported. Never a program error.
fn lookup_in(program: &Program, tree: &Tree, key: &[u8], corrupt: impl FnOnce(&mut Tree)) -> (ChainResult, Found) {
    let mut bad = tree.clone();
    corrupt(&mut bad);
    let file = TempFile::new(&bad.bytes);
    let mut scratch = lookup_scratch(key, tree.page_size);
    let r = SyncEngine::new().run(
        program,
        &file.open(),
        options(Mode::Extended),
        tree.root * tree.page_size as u64,
        tree.page_size,
        &mut scratch,
    );
    (r, found(&scratch).0)
}

#[test]
fn corrupt_pages_end_in_state_4() {
    let program = lookup_program();
    for (tree, _file) in trees(600, 8) {
        let p = tree.page_size;
        let mut rng = Rng::new(9);
        for _ in 0..20 {
            let (key, _, _) = &tree.entries[rng.below(tree.entries.len())];
            let path = tree.path(key);
            let leaf = *path.last().unwrap();
            let branch = path[rng.below(path.len() - 1)];
            let any = path[rng.below(path.len())];
            let count = |t: &Tree, n: u64| u16_at(t.page(n), 6) as usize;
            let first_probe = |t: &Tree, n: u64| entry_at(t.page(n), count(t, n) / 2);
            let found_at = |t: &Tree| {
                let page = t.page(leaf);
                (0..count(t, leaf)).map(|i| entry_at(page, i)).find(|&o| {
                    let len = u16_at(page, o) as usize;
                    &page[o + 8..o + 8 + len] == key.as_slice()
                })
            };
            type Corruption<'a> = (&'a str, Box<dyn Fn(&mut Tree) + 'a>);
            let cases: Vec<Corruption> = vec![
                ("type 0", Box::new(|t: &mut Tree| t.page_mut(any)[4] = 0)),
                ("type meta", Box::new(|t: &mut Tree| t.page_mut(any)[4] = 1)),
                ("type overflow", Box::new(|t: &mut Tree| t.page_mut(any)[4] = 4)),
                ("type 9", Box::new(|t: &mut Tree| t.page_mut(any)[4] = 9)),
                ("count 0xffff", Box::new(|t: &mut Tree| t.page_mut(any)[6..8].copy_from_slice(&[0xff, 0xff]))),
                ("count one past the page", Box::new(move |t: &mut Tree| {
                    let n = ((p - 32) / 10 + 1) as u16;
                    t.page_mut(leaf)[6..8].copy_from_slice(&n.to_le_bytes())
                })),
                ("branch count 0", Box::new(|t: &mut Tree| t.page_mut(branch)[6..8].copy_from_slice(&[0, 0]))),
                ("slot at the page end", Box::new(move |t: &mut Tree| {
                    let i = 32 + 2 * (count(t, any) / 2);
                    t.page_mut(any)[i..i + 2].copy_from_slice(&(p as u16 - 4).to_le_bytes())
                })),
                ("slot past the page", Box::new(move |t: &mut Tree| {
                    let i = 32 + 2 * (count(t, any) / 2);
                    t.page_mut(any)[i..i + 2].copy_from_slice(&(p as u16).to_le_bytes())
                })),
                ("slot 0xffff", Box::new(move |t: &mut Tree| {
                    let i = 32 + 2 * (count(t, any) / 2);
                    t.page_mut(any)[i..i + 2].copy_from_slice(&[0xff, 0xff])
                })),
                ("slot inside the slot array", Box::new(move |t: &mut Tree| {
                    let i = 32 + 2 * (count(t, any) / 2);
                    t.page_mut(any)[i..i + 2].copy_from_slice(&32u16.to_le_bytes())
                })),
                ("key longer than maxKeyLen", Box::new(move |t: &mut Tree| {
                    let o = first_probe(t, any);
                    let too_long = (encoder::max_key_len(p) + 1) as u16;
                    t.page_mut(any)[o..o + 2].copy_from_slice(&too_long.to_le_bytes())
                })),
                ("key past the page", Box::new(move |t: &mut Tree| {
                    // The first probe's entry moves to the page's last bytes:
                    // its fixed part fits, its one-byte key does not.
                    let fixed = if t.page(any)[4] == 2 { 10 } else { 8 };
                    let i = 32 + 2 * (count(t, any) / 2);
                    t.page_mut(any)[i..i + 2].copy_from_slice(&((p - fixed) as u16).to_le_bytes());
                    t.page_mut(any)[p - fixed..p - fixed + 2].copy_from_slice(&1u16.to_le_bytes());
                })),
                ("child 0", Box::new(move |t: &mut Tree| {
                    for i in 0..count(t, branch) {
                        let o = entry_at(t.page(branch), i);
                        t.page_mut(branch)[o + 2..o + 10].copy_from_slice(&0u64.to_le_bytes());
                    }
                })),
                ("child 1", Box::new(move |t: &mut Tree| {
                    for i in 0..count(t, branch) {
                        let o = entry_at(t.page(branch), i);
                        t.page_mut(branch)[o + 2..o + 10].copy_from_slice(&1u64.to_le_bytes());
                    }
                })),
                ("child 2^50", Box::new(move |t: &mut Tree| {
                    for i in 0..count(t, branch) {
                        let o = entry_at(t.page(branch), i);
                        t.page_mut(branch)[o + 2..o + 10].copy_from_slice(&(1u64 << 50).to_le_bytes());
                    }
                })),
                ("value kind 2", Box::new(move |t: &mut Tree| {
                    let o = found_at(t).unwrap();
                    t.page_mut(leaf)[o + 2] = 2;
                })),
                ("inline value one byte past the page", Box::new(move |t: &mut Tree| {
                    // Past the inline limit too unless the entry sits near the page's end.
                    let o = found_at(t).unwrap();
                    let len = (p - (o + 8 + key.len()) + 1) as u32;
                    t.page_mut(leaf)[o + 2] = 0;
                    t.page_mut(leaf)[o + 4..o + 8].copy_from_slice(&len.to_le_bytes());
                })),
                ("inline value above the inline limit", Box::new(move |t: &mut Tree| {
                    let o = found_at(t).unwrap();
                    t.page_mut(leaf)[o + 2] = 0;
                    t.page_mut(leaf)[o + 4..o + 8].copy_from_slice(&((p / 4 - 15) as u32).to_le_bytes());
                })),
                ("overflow value within the inline limit", Box::new(move |t: &mut Tree| {
                    let o = found_at(t).unwrap();
                    t.page_mut(leaf)[o + 2] = 1;
                    t.page_mut(leaf)[o + 4..o + 8].copy_from_slice(&((p / 4 - 16) as u32).to_le_bytes());
                })),
                ("overflow page 0 or 1", Box::new(move |t: &mut Tree| {
                    let o = found_at(t).unwrap();
                    let v = o + 8 + key.len();
                    let page = t.page_mut(leaf);
                    if page[o + 2] == 1 {
                        page[v..v + 8].copy_from_slice(&1u64.to_le_bytes());
                    } else if u32_at(page, o + 4) >= 8 {
                        page[o + 2] = 1;
                        page[o + 4..o + 8].copy_from_slice(&(p as u32).to_le_bytes());
                        page[v..v + 8].copy_from_slice(&0u64.to_le_bytes());
                    } else {
                        page[o + 2] = 1; // and a length within the inline limit
                    }
                })),
            ];
            for (name, corrupt) in &cases {
                let (r, got) = lookup_in(&program, &tree, key, corrupt);
                let what = format!("page size {p}, {name} on the path {path:?} of key {key:02x?}");
                assert_eq!(r.outcome, Outcome::Done, "{what}");
                assert_eq!(got, Found::Corrupt, "{what}");
            }
        }
    }
}

#[test]
fn a_cycle_ends_in_state_4_after_32_pages() {
    let program = lookup_program();
    let (tree, _f) = trees(600, 10).remove(0);
    let root = tree.root;
    let (r, got) = lookup_in(&program, &tree, b"", |t| {
        let o = entry_at(t.page(root), 0);
        t.page_mut(root)[o + 2..o + 10].copy_from_slice(&root.to_le_bytes());
    });
    assert_eq!((r.outcome, r.hops, got), (Outcome::Done, 32, Found::Corrupt));
}

#[test]
fn random_damage_never_faults_the_program() {
    let lookup = lookup_program();
    let range = range_program();
    for (tree, _file) in trees(400, 11) {
        let p = tree.page_size;
        let mut rng = Rng::new(12);
        let mut states = BTreeMap::new();
        for _ in 0..300 {
            let (key, _, _) = &tree.entries[rng.below(tree.entries.len())];
            let path = tree.path(key);
            let mut bad = tree.bytes.clone();
            for _ in 0..1 + rng.below(6) {
                let page = path[rng.below(path.len())] as usize;
                // Mostly the header and slots, where a flip matters most.
                let at = if rng.chance(60) { rng.below(32 + 2 * 48) } else { rng.below(p) };
                bad[page * p + at] ^= 1 << rng.below(8);
            }
            let file = TempFile::new(&bad);
            let file = file.open();
            let mut scratch = lookup_scratch(key, p);
            let r = SyncEngine::new().run(&lookup, &file, options(Mode::Extended), tree.root * p as u64, p, &mut scratch);
            let ok = matches!(r.outcome, Outcome::Done | Outcome::BadAddress(xrp::AddressError::OutOfFile { .. }));
            assert!(ok, "page size {p}: {r:?}");
            *states.entry(format!("lookup {}", u32_at(&scratch, 0))).or_insert(0) += 1;
            let mut scratch = range_scratch(key, p, tree.root, 0);
            let r = SyncEngine::new().run(&range, &file, options(Mode::Extended), tree.root * p as u64, p, &mut scratch);
            let ok = matches!(r.outcome, Outcome::Done | Outcome::BadAddress(xrp::AddressError::OutOfFile { .. }));
            assert!(ok, "page size {p}: range {r:?}");
            *states.entry(format!("range {}", u32_at(&scratch, 0))).or_insert(0) += 1;
        }
        println!("page size {p}: states after random damage {states:?}");
    }
}

// ---- Range scans ----

fn range_scratch(start: &[u8], page_size: usize, root: u64, max_pairs: u16) -> Page {
    let mut s = Page::new();
    s[4..6].copy_from_slice(&(start.len() as u16).to_le_bytes());
    s[6..8].copy_from_slice(&max_pairs.to_le_bytes());
    s[8..12].copy_from_slice(&(page_size as u32).to_le_bytes());
    s[16..24].copy_from_slice(&root.to_le_bytes());
    s[64..64 + start.len()].copy_from_slice(start);
    s
}

/// The pairs of one call.
fn pairs(s: &Page) -> Vec<(Vec<u8>, Stored)> {
    let (count, used) = (u32_at(s, 32) as usize, u32_at(s, 36) as usize);
    assert!(used <= 3008, "used {used}");
    let area = &s[1088..1088 + used];
    let mut at = 0;
    let mut out = Vec::new();
    for _ in 0..count {
        let key_len = u16_at(area, at) as usize;
        let value_len = u16_at(area, at + 2);
        let key = area[at + 4..at + 4 + key_len].to_vec();
        at += 4 + key_len;
        if value_len == 0xffff {
            out.push((key, Stored::Overflow { first: u64_at(area, at), len: u32_at(area, at + 8) }));
            at += 12;
        } else {
            out.push((key, Stored::Inline(area[at..at + value_len as usize].to_vec())));
            at += value_len as usize;
        }
    }
    assert_eq!(at, used, "pairs fill exactly `used` bytes");
    out
}

/// A scan from `start` to the end: calls made (each checked), and the pairs.
fn scan(engine: &mut SyncEngine, program: &Program, file: &XrpFile, tree: &Tree, mode: Mode, start: &[u8], max: u16) -> (usize, Vec<(Vec<u8>, Stored)>) {
    let p = tree.page_size as u64;
    let mut scratch = range_scratch(start, tree.page_size, tree.root, max);
    let mut all = Vec::new();
    for call in 1.. {
        let page = u64_at(&scratch, 16);
        let len = if mode == Mode::KernelCompatible { 512 } else { tree.page_size };
        let r = engine.run(program, file, options(mode), page * p, len, &mut scratch);
        assert_eq!(r.outcome, Outcome::Done, "call {call}");
        assert_eq!(u32_at(&scratch, 40), r.hops, "levels: pages read by this call");
        let got = pairs(&scratch);
        if max > 0 {
            assert!(got.len() <= max as usize);
        }
        all.extend(got);
        match u32_at(&scratch, 0) {
            1 => assert!(u32_at(&scratch, 32) > 0, "a call that says more returned pairs"),
            2 => return (call, all),
            s => panic!("call {call}: state {s}"),
        }
    }
    unreachable!()
}

fn model_from(tree: &Tree, start: &[u8]) -> Vec<(Vec<u8>, Stored)> {
    encoder::model(tree).range(start.to_vec()..).map(|(k, s)| (k.clone(), s.clone())).collect()
}

#[test]
fn full_and_resumed_range_scans_equal_the_model() {
    let program = range_program();
    for (tree, file) in trees(2000, 13) {
        let file = file.open();
        let mut engine = SyncEngine::new();
        let mut rng = Rng::new(14);
        for mode in modes(tree.page_size) {
            for max in [0u16, 1, 7, 64] {
                let (calls, got) = scan(&mut engine, &program, &file, &tree, mode, b"", max);
                assert_eq!(got, model_from(&tree, b""), "page size {}, {mode:?}, max {max}", tree.page_size);
                if max == 0 {
                    println!("page size {} {mode:?}: a full scan of {} keys took {calls} calls", tree.page_size, got.len());
                }
            }
            // From random starts, present and absent, and past the last key.
            let mut starts: Vec<Vec<u8>> = (0..15).map(|_| tree.entries[rng.below(tree.entries.len())].0.clone()).collect();
            starts.extend(queries(&tree, &mut rng).into_iter().rev().take(15));
            starts.push(vec![0xff; encoder::max_key_len(tree.page_size)]);
            for start in starts {
                let (_, got) = scan(&mut engine, &program, &file, &tree, mode, &start, 5);
                assert_eq!(got, model_from(&tree, &start), "page size {}, start {start:02x?}", tree.page_size);
            }
        }
    }
}

#[test]
fn range_scans_of_a_single_leaf_and_an_empty_tree() {
    let program = range_program();
    let mut rng = Rng::new(15);
    for p in PAGE_SIZES {
        for n in [0usize, 1, 3] {
            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..n).map(|i| (vec![b'k', i as u8], vec![i as u8; 3])).collect();
            let tree = encoder::build(p, &entries, &mut rng);
            let file = TempFile::new(&tree.bytes);
            let mut engine = SyncEngine::new();
            for max in [0, 1] {
                let (_, got) = scan(&mut engine, &program, &file.open(), &tree, Mode::Extended, b"", max);
                assert_eq!(got, model_from(&tree, b""));
            }
        }
    }
}

#[test]
fn the_batch_engine_runs_range_calls_as_the_sync_engine() {
    let program = range_program();
    for (tree, file) in trees(1500, 16) {
        let file = file.open();
        let mut rng = Rng::new(17);
        let p = tree.page_size;
        let starts: Vec<Vec<u8>> = (0..300).map(|_| tree.entries[rng.below(tree.entries.len())].0.clone()).collect();
        let mut chains: Vec<BatchChain> = starts
            .iter()
            .enumerate()
            .map(|(i, s)| BatchChain { offset: tree.root * p as u64, len: p, scratch: range_scratch(s, p, tree.root, (i % 9) as u16) })
            .collect();
        let results = BatchEngine::new(&program, 32).run(&file, options(Mode::Extended), &mut chains);
        let mut sync = SyncEngine::new();
        for ((start, chain), r) in starts.iter().zip(&chains).zip(&results) {
            let mut scratch = range_scratch(start, p, tree.root, u16_at(&chain.scratch, 6));
            let want = sync.run(&program, &file, options(Mode::Extended), tree.root * p as u64, p, &mut scratch);
            assert_eq!(r, &want);
            assert_eq!(&chain.scratch[..], &scratch[..], "page size {p}: the whole scratch page");
            let got = pairs(&chain.scratch);
            assert_eq!(got[..], model_from(&tree, start)[..got.len()]);
        }
    }
}

#[test]
fn range_scans_check_page_numbers_and_ignore_leaf_next() {
    let program = range_program();
    let (tree, _f) = trees(800, 18).remove(1);
    let p = tree.page_size;
    // Leaves' `next` holds garbage: scans do not read it.
    let mut bad = tree.bytes.clone();
    for &leaf in &tree.leaves {
        bad[leaf as usize * p + 24..leaf as usize * p + 32].copy_from_slice(&0x1234_5678u64.to_le_bytes());
    }
    let file = TempFile::new(&bad);
    let (_, got) = scan(&mut SyncEngine::new(), &program, &file.open(), &tree, Mode::Extended, b"", 0);
    assert_eq!(got, model_from(&tree, b""));

    // A leaf whose pageNo is not the page asked for ends the scan in state 4.
    let victim = tree.leaves[tree.leaves.len() / 2];
    let mut bad = tree.bytes.clone();
    bad[victim as usize * p + 8] ^= 1;
    let file = TempFile::new(&bad);
    let file = file.open();
    let mut scratch = range_scratch(b"", p, tree.root, 0);
    let mut engine = SyncEngine::new();
    let mut calls = 0;
    while u32_at(&scratch, 0) != 4 {
        assert_eq!(u32_at(&scratch, 0), if calls == 0 { 0 } else { 1 }, "stops at the bad leaf, never ends");
        let r = engine.run(&program, &file, options(Mode::Extended), u64_at(&scratch, 16) * p as u64, p, &mut scratch);
        assert_eq!(r.outcome, Outcome::Done);
        calls += 1;
    }
    assert_eq!(u64_at(&scratch, 16), victim);
    // The lookup does not check pageNo: it still finds keys in that leaf.
    let leaf = tree.page(victim);
    let o = entry_at(leaf, 0);
    let key = leaf[o + 8..o + 8 + u16_at(leaf, o) as usize].to_vec();
    let mut scratch = lookup_scratch(&key, p);
    let r = SyncEngine::new().run(&lookup_program(), &file, options(Mode::Extended), tree.root * p as u64, p, &mut scratch);
    assert_eq!((r.outcome, found(&scratch).0), (Outcome::Done, expected(&tree, &key)));

    // A resume slot past the leaf's count is state 4.
    let mut scratch = range_scratch(b"", p, tree.root, 1);
    let clean = TempFile::new(&tree.bytes);
    let clean = clean.open();
    engine.run(&program, &clean, options(Mode::Extended), tree.root * p as u64, p, &mut scratch);
    assert_eq!(u32_at(&scratch, 0), 1);
    scratch[24..28].copy_from_slice(&1000u32.to_le_bytes());
    engine.run(&program, &clean, options(Mode::Extended), u64_at(&scratch, 16) * p as u64, p, &mut scratch);
    assert_eq!(u32_at(&scratch, 0), 4);
}

// ---- The instruction budget ----

/// Runs a chain hop by hop in the VM as the emulator does (fresh context,
/// data page, scratch) and returns the instructions each hop executed.
fn hop_costs(program: &Program, tree: &Tree, first: u64, scratch: &mut Page) -> Vec<u64> {
    let p = tree.page_size;
    let mut vm = Vm::new(program);
    let mut costs = Vec::new();
    let mut page = first;
    loop {
        let mut data = Page::new();
        data[..p].copy_from_slice(tree.page(page));
        let mut ctx = abi::fresh_context();
        let exit = vm
            .run(
                &mut [Region::writable(&mut ctx), Region::readonly(&data), Region::writable(scratch)],
                &[region_address(abi::CONTEXT_REGION)],
            )
            .expect("the program runs");
        costs.push(exit.executed);
        if exit.r0 != 0 || abi::done(&ctx) {
            return costs;
        }
        page = abi::next_addr(&ctx, 0) / p as u64;
    }
}

#[test]
fn instruction_budget_per_hop() {
    let lookup = lookup_program();
    let range = range_program();
    let mut worst = 0;
    let mut all = trees(3000, 2);
    // The most compare work a page allows: 511-byte keys that differ only in
    // their last byte (about 4 probes of 511 bytes per page), at each size
    // with its longest keys, and values at the inline limit for range copies.
    for p in PAGE_SIZES {
        let mut rng = Rng::new(p as u64);
        let max = encoder::max_key_len(p);
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..=255u8)
            .map(|b| {
                let mut k = vec![0x61; max - 1];
                k.push(b);
                (k, vec![b; if b % 2 == 0 { encoder::max_inline(p) } else { 1 }])
            })
            .collect();
        let tree = encoder::build(p, &entries, &mut rng);
        let file = TempFile::new(&tree.bytes);
        all.push((tree, file));
    }
    for (tree, _file) in all {
        let p = tree.page_size;
        let (mut max, mut sum, mut hops) = (0u64, 0u64, 0u64);
        for key in queries(&tree, &mut Rng::new(3)) {
            let costs = hop_costs(&lookup, &tree, tree.root, &mut lookup_scratch(&key, p));
            max = max.max(*costs.iter().max().unwrap());
            sum += costs.iter().sum::<u64>();
            hops += costs.len() as u64;
        }
        let mut range_max = 0u64;
        let mut scratch = range_scratch(b"", p, tree.root, 0);
        loop {
            let costs = hop_costs(&range, &tree, u64_at(&scratch, 16), &mut scratch);
            range_max = range_max.max(*costs.iter().max().unwrap());
            if u32_at(&scratch, 0) != 1 {
                break;
            }
        }
        println!(
            "page size {p}, {} keys, height {}: lookup max {max} instructions per hop (mean {}), range max {range_max} per hop; budget {BUDGET}",
            tree.entries.len(),
            tree.height,
            sum / hops
        );
        worst = worst.max(max).max(range_max);
    }
    assert!(worst * 2 <= BUDGET, "the budget ({BUDGET}) keeps a margin over the worst hop ({worst})");
}

/// What a kernel without xrpkv's page check relies on: the programs
/// themselves refuse a page that is not the one they asked for (a valid
/// page copied to the wrong place) or not of its level.
#[test]
fn the_programs_check_page_numbers_and_levels_when_asked() {
    let program = lookup_program();
    for (tree, _file) in trees(600, 11) {
        let p = tree.page_size;
        let (key, _, _) = &tree.entries[tree.entries.len() / 2];
        let path = tree.path(key);
        assert!(path.len() >= 3, "page size {p}: a tree of at least 3 levels");
        let lookup = |t: &Tree, checked: bool| {
            let file = TempFile::new(&t.bytes);
            let mut scratch = lookup_scratch(key, p);
            if checked {
                scratch[544..552].copy_from_slice(&t.root.to_le_bytes());
                scratch[552..556].copy_from_slice(&t.height.to_le_bytes());
            }
            let r = SyncEngine::new().run(&program, &file.open(), options(Mode::Extended), t.root * p as u64, p, &mut scratch);
            assert_eq!(r.outcome, Outcome::Done, "page size {p}");
            (found(&scratch).0, u64_at(&scratch, 544))
        };
        // A sound tree: found, with the checks on; `page` ends at the leaf.
        let (sound, last) = lookup(&tree, true);
        assert!(matches!(sound, Found::Inline(_) | Found::Overflow { .. }), "page size {p}: {sound:?}");
        assert_eq!(last, *path.last().unwrap());
        // The leaf's parent points at another leaf's page, whose bytes are a sound
        // leaf of the same level: only the page number tells. Copy the key's leaf
        // to where the other was, and point the parent there.
        let leaf = *path.last().unwrap();
        let other = *tree.leaves.iter().find(|&&l| l != leaf).unwrap();
        let mut misplaced = tree.clone();
        let bytes = misplaced.page(leaf).to_vec();
        misplaced.bytes[other as usize * p..(other as usize + 1) * p].copy_from_slice(&bytes);
        let parent = path[path.len() - 2];
        let parent_page = misplaced.page(parent).to_vec();
        let child_field = (0..u16_at(&parent_page, 6) as usize)
            .map(|i| entry_at(&parent_page, i) + 2)
            .find(|&at| u64_at(&parent_page, at) == leaf)
            .unwrap();
        let at = parent as usize * p + child_field;
        misplaced.bytes[at..at + 8].copy_from_slice(&other.to_le_bytes());
        assert!(matches!(lookup(&misplaced, false).0, Found::Inline(_) | Found::Overflow { .. }), "page size {p}: unchecked, the misplaced leaf answers");
        assert_eq!(lookup(&misplaced, true), (Found::Corrupt, other), "page size {p}: checked, it is refused and named");
        // A leaf where a branch must be: the root's child points at a leaf.
        let mut shallow = tree.clone();
        let root_page = shallow.page(tree.root).to_vec();
        let at = tree.root as usize * p + entry_at(&root_page, 0) + 2;
        shallow.bytes[at..at + 8].copy_from_slice(&tree.leaves[0].to_le_bytes());
        let (first, _, _) = &tree.entries[0];
        let file = TempFile::new(&shallow.bytes);
        let mut scratch = lookup_scratch(first, p);
        scratch[544..552].copy_from_slice(&tree.root.to_le_bytes());
        scratch[552..556].copy_from_slice(&tree.height.to_le_bytes());
        SyncEngine::new().run(&program, &file.open(), options(Mode::Extended), tree.root * p as u64, p, &mut scratch);
        assert_eq!(found(&scratch).0, Found::Corrupt, "page size {p}: a leaf above the leaf level");
    }
}
