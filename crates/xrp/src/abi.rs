//! The XRP program context, byte for byte as `bpf/include/xrp.h` declares it
//! (the paper's field order). Offsets are checked against clang's layout by a test.

use ebpf::region_address;

pub const DATA: usize = 0;
pub const DONE: usize = 8;
pub const NEXT_ADDR: usize = 16;
pub const SIZE: usize = 144;
pub const SCRATCH: usize = 272;
pub const CONTEXT_SIZE: usize = 280;
pub const MAX_ADDRS: usize = 16;

/// Data and scratch are one page each, as the kernel pins them.
pub const PAGE_SIZE: usize = 4096;
/// The prototype kernel resubmits every read as this many bytes.
pub const SECTOR_SIZE: usize = 512;

/// Where a program's regions sit in the VM: the context is r1.
pub const CONTEXT_REGION: usize = 0;
pub const DATA_REGION: usize = 1;
pub const SCRATCH_REGION: usize = 2;

/// One context as the kernel's completion path builds it: zeroed, then `data`
/// and `scratch` set to where the program can reach the two pages.
pub fn fresh_context() -> [u8; CONTEXT_SIZE] {
    let mut ctx = [0u8; CONTEXT_SIZE];
    ctx[DATA..DATA + 8].copy_from_slice(&region_address(DATA_REGION).to_le_bytes());
    ctx[SCRATCH..SCRATCH + 8].copy_from_slice(&region_address(SCRATCH_REGION).to_le_bytes());
    ctx
}

fn u64_at(ctx: &[u8; CONTEXT_SIZE], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&ctx[at..at + 8]);
    u64::from_le_bytes(b)
}

pub fn done(ctx: &[u8; CONTEXT_SIZE]) -> bool {
    ctx[DONE..DONE + 4] != [0; 4]
}

pub fn next_addr(ctx: &[u8; CONTEXT_SIZE], i: usize) -> u64 {
    u64_at(ctx, NEXT_ADDR + 8 * i)
}

pub fn size(ctx: &[u8; CONTEXT_SIZE], i: usize) -> u64 {
    u64_at(ctx, SIZE + 8 * i)
}
