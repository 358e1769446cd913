//! Shared test helpers: deterministic file contents, temp files, a PRNG.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub const EBADF: i32 = 9;
pub const EFAULT: i32 = 14;
pub const EINVAL: i32 = 22;

/// `O_DIRECT` differs by architecture (arm64's is x86_64's `O_DIRECTORY`).
/// The library never opens files, so its `arch` table has no open flags;
/// other targets do not build (src/arch.rs).
#[cfg(target_arch = "x86_64")]
pub const O_DIRECT: i32 = 0o40000;
#[cfg(target_arch = "aarch64")]
pub const O_DIRECT: i32 = 0o200000;

/// The byte at `pos` of file number `seed` (different seeds differ everywhere).
pub fn byte_at(seed: u64, pos: u64) -> u8 {
    let x = (pos ^ seed.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8 ^ (x >> 24) as u8
}

/// Asserts `got` equals the file contents at `offset`.
pub fn verify(seed: u64, offset: u64, got: &[u8]) {
    for (i, &b) in got.iter().enumerate() {
        let pos = offset + i as u64;
        assert_eq!(b, byte_at(seed, pos), "byte at file offset {pos} (seed {seed})");
    }
}

/// A file filled with `byte_at(seed, ..)`, removed on drop.
pub struct TempFile {
    pub path: PathBuf,
    pub len: u64,
    pub seed: u64,
}

impl TempFile {
    pub fn new(dir: &Path, len: u64, seed: u64) -> std::io::Result<TempFile> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("uring-test-{}-{n}-{seed}", std::process::id()));
        let mut f = File::create(&path)?;
        let data: Vec<u8> = (0..len).map(|p| byte_at(seed, p)).collect();
        f.write_all(&data)?;
        f.sync_all()?;
        Ok(TempFile { path, len, seed })
    }

    pub fn in_target(len: u64, seed: u64) -> TempFile {
        TempFile::new(Path::new(env!("CARGO_TARGET_TMPDIR")), len, seed).expect("create temp file")
    }

    pub fn open(&self) -> File {
        File::open(&self.path).expect("open temp file")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// xorshift64*: reproducible "random" offsets without a crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
