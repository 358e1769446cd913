//! Shared by the integration tests: compiling the repository's BPF C sources.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's `bpf/` folder.
pub fn bpf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bpf")
}

/// Compiles `source` (relative to `bpf/`) with clang for the BPF target into a
/// fresh file and returns the object's bytes. Fails the test when clang is
/// missing: the project's setup installs it, so its absence is a real fault.
pub fn compile(source: &str, extra_flags: &[&str]) -> Vec<u8> {
    let src = bpf_dir().join(source);
    let out = std::env::temp_dir().join(format!(
        "xrpkv-test-{}-{}-{}.o",
        std::process::id(),
        source.replace('/', "_"),
        extra_flags.join("").replace(['-', '='], "")
    ));
    let result = Command::new("clang")
        .args(["-target", "bpf", "-O2", "-c", "-I"])
        .arg(bpf_dir().join("include"))
        .args(extra_flags)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("clang is required to compile {source} ({e}): run `bash scripts/setup.sh` or `apt-get install clang`"));
    assert!(result.status.success(), "clang failed on {source}:\n{}", String::from_utf8_lossy(&result.stderr));
    let bytes = std::fs::read(&out).expect("clang wrote the object");
    let _ = std::fs::remove_file(&out);
    bytes
}

/// Every `.c` file directly inside `bpf/<folder>` (sorted), relative to `bpf/`.
pub fn sources(folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(bpf_dir().join(folder))
        .expect("bpf/ folder exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".c"))
        .map(|n| if folder.is_empty() { n } else { format!("{folder}/{n}") })
        .collect();
    names.sort();
    names
}

/// A small deterministic generator (xorshift64*), so every failure replays.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}
