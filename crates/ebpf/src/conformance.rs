//! The public eBPF conformance suite's contract, shared by the conformance
//! test, the suite's plugin binary and the VM benchmark.
//!
//! A vector is one program with optional input memory and the `r0` it must
//! exit with. The suite runs a program with r1 = its memory, r2 = the memory's
//! length, and registers helper 5 ("unwind").

use std::path::Path;

use crate::error::RunError;
use crate::helpers::{self, Helpers};
use crate::vm::{Exit, Vm};
use crate::memory::{region_address, Region};

/// The helpers the suite's runner offers: the standard ones plus "unwind".
pub fn helpers() -> Helpers {
    let mut h = Helpers::standard();
    h.register(helpers::CONFORMANCE_UNWIND, "unwind", helpers::conformance_unwind());
    h
}

/// Runs `vm` the way the suite does: `memory` as the one writable region.
pub fn run(vm: &mut Vm<'_>, memory: &mut [u8]) -> Result<Exit, RunError> {
    let len = memory.len() as u64;
    if memory.is_empty() {
        return vm.run(&mut [], &[0, 0]);
    }
    vm.run(&mut [Region::writable(memory)], &[region_address(0), len])
}

/// Decodes hex text (whitespace ignored, any case). `None` on anything else.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// One line of `vectors.tsv`.
pub struct Vector {
    pub name: String,
    pub memory: Vec<u8>,
    pub code: Vec<u8>,
    pub expected_r0: u64,
}

/// Reads the suite's vectors: `name \t memory-hex \t code-hex \t r0-hex \t (unused)`.
pub fn read_vectors(path: &Path) -> Result<Vec<Vector>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let bad = |what: &str| format!("{}:{}: {what}", path.display(), n + 1);
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 4 {
                return Err(bad("expected at least 4 tab-separated columns"));
            }
            Ok(Vector {
                name: cols[0].to_string(),
                memory: parse_hex(cols[1]).ok_or_else(|| bad("memory is not hex"))?,
                code: parse_hex(cols[2]).ok_or_else(|| bad("program is not hex"))?,
                expected_r0: u64::from_str_radix(cols[3].trim(), 16).map_err(|_| bad("r0 is not hex"))?,
            })
        })
        .collect()
}

/// Where the shared test data lives: `$XRPKV_SHARED`, else `shared/` beside the repository.
pub fn shared_dir() -> std::path::PathBuf {
    match std::env::var_os("XRPKV_SHARED") {
        Some(dir) => dir.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}
