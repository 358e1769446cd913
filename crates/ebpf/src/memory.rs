//! The program's address space: a few named regions, each at its own 4 GiB slot.
//!
//! Programs never see host addresses. Address `slot << 32 | offset` names byte
//! `offset` of the region in `slot`; slot 0 is never mapped, so null and small
//! integers used as pointers always fault. Every load and store goes through
//! [`AddressMap::translate`], which checks the slot, the bounds and the
//! permission before the one `unsafe` access in this crate touches host memory.
//!
//! | slot | region | access |
//! | --- | --- | --- |
//! | 1 | the program's read-only data (`.rodata`) | read |
//! | 2 | the stack: 8 frames of 512 bytes | read, write |
//! | 3.. | the embedder's regions, in the order given to `Vm::run` | as given |

use std::marker::PhantomData;

pub const SLOT_SHIFT: u32 = 32;
pub const RODATA_SLOT: usize = 1;
pub const STACK_SLOT: usize = 2;
pub const FIRST_REGION_SLOT: usize = 3;
/// How many regions an embedder may pass to one run.
pub const MAX_REGIONS: usize = 5;
/// Slots in the address map, the unmapped slot 0 included.
pub const SLOTS: usize = FIRST_REGION_SLOT + MAX_REGIONS;

/// Address of the first byte of `.rodata` as the loader relocates it.
pub const RODATA_BASE: u64 = (RODATA_SLOT as u64) << SLOT_SHIFT;
pub const STACK_BASE: u64 = (STACK_SLOT as u64) << SLOT_SHIFT;

/// Stack bytes per call frame, as in the kernel.
pub const FRAME_STACK_SIZE: usize = 512;
/// Frames including the entry function, as in the kernel (`MAX_CALL_FRAMES`).
pub const MAX_FRAMES: usize = 8;
pub const STACK_SIZE: usize = FRAME_STACK_SIZE * MAX_FRAMES;

/// The address at which embedder region `index` (0-based) starts.
pub const fn region_address(index: usize) -> u64 {
    ((FIRST_REGION_SLOT + index) as u64) << SLOT_SHIFT
}

/// A piece of embedder memory lent to one run, readable or also writable.
/// Only the first 4 GiB of a larger slice is addressable.
pub struct Region<'a> {
    ptr: *mut u8,
    len: usize,
    writable: bool,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a> Region<'a> {
    pub fn readonly(bytes: &'a [u8]) -> Region<'a> {
        // The pointer is only ever read through: `writable` is false.
        Region { ptr: bytes.as_ptr() as *mut u8, len: bytes.len(), writable: false, _borrow: PhantomData }
    }

    pub fn writable(bytes: &'a mut [u8]) -> Region<'a> {
        Region { ptr: bytes.as_mut_ptr(), len: bytes.len(), writable: true, _borrow: PhantomData }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[derive(Clone, Copy)]
struct Slot {
    ptr: *mut u8,
    len: usize,
    writable: bool,
}

const UNMAPPED: Slot = Slot { ptr: std::ptr::null_mut(), len: 0, writable: false };

/// Calls `f` with each mapped slot of a run over `rodata`, `stack` and
/// `regions`: what [`AddressMap::new`] and [`fill_jit_tables`] both map.
#[inline(always)]
fn each_mapped(rodata: &[u8], stack: &mut [u8], regions: &[Region<'_>], mut f: impl FnMut(usize, Slot)) {
    f(RODATA_SLOT, Slot { ptr: rodata.as_ptr() as *mut u8, len: rodata.len(), writable: false });
    f(STACK_SLOT, Slot { ptr: stack.as_mut_ptr(), len: stack.len(), writable: true });
    for (i, r) in regions.iter().take(MAX_REGIONS).enumerate() {
        f(FIRST_REGION_SLOT + i, Slot { ptr: r.ptr, len: r.len.min(1 << SLOT_SHIFT), writable: r.writable });
    }
}

/// The JIT's translation tables (jit/mod.rs `Ctx`) for the run that
/// `AddressMap::new(rodata, stack, regions)` would map, without building
/// it: each slot's host base (0 where unmapped), its length, and its length
/// for writes (0 for a read-only slot). An access the tables allow is one
/// `translate` allows: both come from `each_mapped`.
pub(crate) fn fill_jit_tables(rodata: &[u8], stack: &mut [u8], regions: &[Region<'_>], host: &mut [u64; SLOTS], lens: &mut [[u64; SLOTS]; 2]) {
    *host = [0; SLOTS];
    *lens = [[0; SLOTS]; 2];
    each_mapped(rodata, stack, regions, |i, slot| {
        host[i] = slot.ptr as u64;
        lens[0][i] = slot.len as u64;
        lens[1][i] = if slot.writable { slot.len as u64 } else { 0 };
    });
}

/// The slots of one run. It lives only as long as the borrows it was built
/// from (`'a`), which `Vm::run` guarantees by building it on its own stack.
pub struct AddressMap<'a> {
    slots: [Slot; SLOTS],
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a> AddressMap<'a> {
    pub fn new(rodata: &'a [u8], stack: &'a mut [u8], regions: &'a [Region<'a>]) -> AddressMap<'a> {
        let mut slots = [UNMAPPED; SLOTS];
        each_mapped(rodata, stack, regions, |i, slot| slots[i] = slot);
        AddressMap { slots, _borrow: PhantomData }
    }

    /// The host pointer for `size` bytes at `addr`, or `None` when any of them
    /// lies outside a mapped region or `write` is asked of a read-only one.
    #[inline(always)]
    fn translate(&self, addr: u64, size: usize, write: bool) -> Option<*mut u8> {
        let slot = self.slots.get((addr >> SLOT_SHIFT) as usize)?;
        let offset = (addr as u32) as usize;
        // offset < 2^32 and size <= 8: the sum cannot overflow usize on 64-bit hosts.
        if offset + size > slot.len || (write && !slot.writable) {
            return None;
        }
        // SAFETY: offset + size <= slot.len, so the pointer stays inside the slice.
        Some(unsafe { slot.ptr.add(offset) })
    }

    #[inline(always)]
    pub fn load(&self, addr: u64, size: usize) -> Option<u64> {
        let p = self.translate(addr, size, false)?;
        // SAFETY: `translate` checked that `size` bytes at `p` are inside a live
        // borrowed slice; unaligned reads are allowed, as in eBPF.
        unsafe {
            Some(match size {
                1 => *p as u64,
                2 => u16::from_le(std::ptr::read_unaligned(p as *const u16)) as u64,
                4 => u32::from_le(std::ptr::read_unaligned(p as *const u32)) as u64,
                _ => u64::from_le(std::ptr::read_unaligned(p as *const u64)),
            })
        }
    }

    #[inline(always)]
    pub fn store(&mut self, addr: u64, size: usize, value: u64) -> Option<()> {
        let p = self.translate(addr, size, true)?;
        // SAFETY: as in `load`, and the slot is writable (a `&mut` borrow).
        unsafe {
            match size {
                1 => *p = value as u8,
                2 => std::ptr::write_unaligned(p as *mut u16, (value as u16).to_le()),
                4 => std::ptr::write_unaligned(p as *mut u32, (value as u32).to_le()),
                _ => std::ptr::write_unaligned(p as *mut u64, value.to_le()),
            }
        }
        Some(())
    }

    /// Zeroes `range` of the stack, for a frame being entered.
    pub(crate) fn zero_stack(&mut self, range: std::ops::Range<usize>) {
        let stack = self.slots[STACK_SLOT];
        if range.start <= range.end && range.end <= stack.len {
            // SAFETY: the range lies inside the stack slice, which is writable.
            unsafe { std::ptr::write_bytes(stack.ptr.add(range.start), 0, range.end - range.start) }
        }
    }

    /// Copies `len` readable bytes at `addr` out, for helpers (format strings).
    pub fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        if len > (1 << SLOT_SHIFT) {
            return None;
        }
        let p = self.translate(addr, len, false)?;
        // SAFETY: `translate` checked all `len` bytes.
        Some(unsafe { std::slice::from_raw_parts(p, len) }.to_vec())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for i in 0..max as u64 {
            let b = self.load(addr.wrapping_add(i), 1)? as u8;
            if b == 0 {
                return Some(out);
            }
            out.push(b);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_access_is_bounded_and_permissioned() {
        let rodata = [1u8, 2, 3, 4];
        let mut stack = vec![0u8; STACK_SIZE];
        let mut buf = [0u8; 16];
        let ro = [9u8; 8];
        let regions = [Region::writable(&mut buf), Region::readonly(&ro)];
        let mut map = AddressMap::new(&rodata, &mut stack, &regions);

        assert_eq!(map.load(RODATA_BASE, 4), Some(0x0403_0201));
        assert_eq!(map.load(RODATA_BASE + 1, 4), None, "crosses the end of .rodata");
        assert_eq!(map.store(RODATA_BASE, 1, 0), None, ".rodata is read-only");
        assert_eq!(map.load(0, 1), None, "slot 0 is never mapped");
        assert_eq!(map.load(u64::MAX, 1), None);

        let w = region_address(0);
        assert_eq!(map.store(w + 8, 8, 0x1122_3344_5566_7788), Some(()));
        assert_eq!(map.load(w + 8, 8), Some(0x1122_3344_5566_7788));
        assert_eq!(map.store(w + 9, 8, 0), None, "one byte past the end");
        assert_eq!(map.store(region_address(1), 1, 0), None, "read-only region");
        assert_eq!(map.load(region_address(1) + 7, 1), Some(9));
        assert_eq!(map.load(region_address(2), 1), None, "no third region");

        let top = STACK_BASE + STACK_SIZE as u64;
        assert_eq!(map.store(top - 8, 8, 7), Some(()));
        assert_eq!(map.store(top, 1, 7), None);
        drop(map);
        assert_eq!(buf[8], 0x88);
    }
}
