//! Shared by the integration tests: compiling the repository's BPF C sources.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository's `bpf/` folder.
pub fn bpf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bpf")
}

/// Compiles each `(source, flags)` (source relative to `bpf/`) with clang for
/// the BPF target, all at once, and returns the objects in order. `$CLANG`
/// names another clang. Fails the test when clang is missing: the project's
/// setup installs it, so its absence is a real fault, never a reason to skip.
pub fn compile_many(jobs: &[(&str, &[&str])]) -> Vec<Vec<u8>> {
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    // One directory per call: tests of one binary compile in parallel.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("xrpkv-bpf-test-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    let started: Vec<_> = jobs
        .iter()
        .enumerate()
        .map(|(n, (source, flags))| {
            let out = dir.join(format!("{n}.o"));
            let child = Command::new(&clang)
                .args(["-target", "bpf", "-O2", "-Wall", "-Werror", "-c", "-I"])
                .arg(bpf_dir().join("include"))
                .args(*flags)
                .arg(bpf_dir().join(source))
                .arg("-o")
                .arg(&out)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("clang is required ({clang}: {e}): run `bash scripts/setup.sh` or `apt-get install clang`")
                });
            (source, flags, out, child)
        })
        .collect();
    let objects = started
        .into_iter()
        .map(|(source, flags, out, child)| {
            let result = child.wait_with_output().expect("wait for clang");
            assert!(
                result.status.success(),
                "clang {source} {flags:?} failed:\n{}",
                String::from_utf8_lossy(&result.stderr)
            );
            std::fs::read(&out).expect("clang wrote the object")
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    objects
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
