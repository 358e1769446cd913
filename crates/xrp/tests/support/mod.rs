//! Test fixtures shared by the runtime's tests: the chain program and chain files.
#![allow(dead_code)]

#[path = "../../../ebpf/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

#[allow(unused_imports)]
pub use common::{compile_many, Rng};
use ebpf::{Helpers, Program};
use xrp::{ChainOptions, ChainResult, Mode, Page, SyncEngine, XrpFile, DirectIo};

pub const END: u64 = u64::MAX;

pub fn chain_program() -> Program {
    let object = common::compile_many(&[("tests/xrp_chain.c", &["-mcpu=v3"])]).remove(0);
    Program::from_elf(&object, Some("xrp_chain"), &Helpers::standard()).expect("xrp_chain loads")
}

/// A block header: next, size, value, action.
#[derive(Clone, Copy)]
pub struct Block {
    pub next: u64,
    pub size: u64,
    pub value: u64,
    pub action: u64,
}

/// A temporary file of `slots` 4 KiB slots holding `blocks` at given offsets.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(slots: usize, blocks: &[(u64, Block)]) -> TempFile {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("xrpkv-chain-{}-{n}", std::process::id()));
        let mut bytes = vec![0u8; slots * 4096];
        for &(at, b) in blocks {
            let at = at as usize;
            for (i, v) in [b.next, b.size, b.value, b.action].iter().enumerate() {
                bytes[at + 8 * i..at + 8 * i + 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }

    pub fn open(&self, direct: DirectIo) -> XrpFile {
        XrpFile::open(&self.0, direct).unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A chain of `n` blocks through a file of `n` slots in shuffled order, each
/// asking for a next read of `size`. Returns the file and the first offset.
pub fn shuffled_chain(n: usize, size: u64, seed: u64) -> (TempFile, u64) {
    let mut order: Vec<u64> = (0..n as u64).map(|i| i * 4096).collect();
    let mut rng = Rng::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let blocks: Vec<(u64, Block)> = order
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let next = order.get(i + 1).copied().unwrap_or(END);
            (at, Block { next, size, value: i as u64 + 1, action: 0 })
        })
        .collect();
    (TempFile::new(n, &blocks), order[0])
}

pub fn options(mode: Mode) -> ChainOptions {
    ChainOptions { mode, ..ChainOptions::default() }
}

pub fn tally(scratch: &Page) -> (u64, u64, u64) {
    let word = |i: usize| u64::from_le_bytes(scratch[8 * i..8 * i + 8].try_into().unwrap());
    (word(0), word(1), word(2))
}

pub fn run(program: &Program, file: &XrpFile, opts: ChainOptions, offset: u64) -> (ChainResult, Page) {
    let mut scratch = Page::new();
    let result = SyncEngine::new().run(program, file, opts, offset, opts.first_read_len(), &mut scratch);
    (result, scratch)
}

