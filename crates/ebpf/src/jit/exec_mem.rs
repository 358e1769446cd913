//! Executable memory under W^X: code is copied into a private read-write
//! mapping, which is then made read-execute. No page is ever writable and
//! executable at once, the mapping is never written again after `mprotect`,
//! and it is unmapped when the compiled program is dropped.
//!
//! The three system calls are declared here by hand (the crate is std only);
//! this module is the only place that calls them.

use std::ffi::c_void;
use std::io;
use std::ptr::NonNull;

// Linux's values (asm-generic/mman-common.h), the same on x86-64 and others.
const PROT_READ: i32 = 0x1;
const PROT_WRITE: i32 = 0x2;
const PROT_EXEC: i32 = 0x4;
const MAP_PRIVATE: i32 = 0x02;
const MAP_ANONYMOUS: i32 = 0x20;
const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

extern "C" {
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, offset: i64) -> *mut c_void;
    fn mprotect(addr: *mut c_void, len: usize, prot: i32) -> i32;
    fn munmap(addr: *mut c_void, len: usize) -> i32;
}

/// A read-execute mapping holding one program's machine code.
pub struct ExecMem {
    ptr: NonNull<u8>,
    /// Mapped length: the code rounded up to whole pages.
    len: usize,
}

// SAFETY: the mapping is immutable (read-execute) for its whole life after
// `new` returns, so sharing or moving it between threads is sound.
unsafe impl Send for ExecMem {}
unsafe impl Sync for ExecMem {}

const PAGE: usize = 4096;

impl ExecMem {
    /// Maps `code` read-execute. Fails (as the system says) where the system
    /// refuses anonymous executable memory, e.g. under a strict W^X policy.
    pub fn new(code: &[u8]) -> io::Result<ExecMem> {
        let len = code.len().max(1).div_ceil(PAGE) * PAGE;
        // SAFETY: an anonymous private mapping with no address hint touches no
        // existing memory; the result is checked against MAP_FAILED.
        let p = unsafe { mmap(std::ptr::null_mut(), len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) };
        if p == MAP_FAILED || p.is_null() {
            return Err(io::Error::last_os_error());
        }
        let Some(ptr) = NonNull::new(p as *mut u8) else {
            return Err(io::Error::other("mmap returned null"));
        };
        // From here on, dropping `mem` unmaps, on every path.
        let mem = ExecMem { ptr, len };
        // SAFETY: the mapping is `len >= code.len()` bytes, read-write, and
        // owned by `mem` alone; the source is a live slice that cannot overlap it.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), mem.ptr.as_ptr(), code.len()) };
        // SAFETY: changes only the protection of the mapping made above.
        if unsafe { mprotect(mem.ptr.as_ptr() as *mut c_void, len, PROT_READ | PROT_EXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(mem)
    }

    /// The first byte of the code.
    pub fn start(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Bytes mapped (whole pages).
    #[cfg(test)]
    pub fn mapped_len(&self) -> usize {
        self.len
    }
}

impl Drop for ExecMem {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; nothing refers to it
        // once its owner (the compiled program) is dropped.
        unsafe { munmap(self.ptr.as_ptr() as *mut c_void, self.len) };
    }
}

/// Held by the unit tests that map code, so that one of them can tell from
/// /proc/self/maps that a dropped mapping is gone (and not another test's).
#[cfg(test)]
pub(crate) static MAPPING_TEST_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    /// The permissions of the mapping that contains `p`, from /proc/self/maps.
    fn permissions(p: *const u8) -> Option<String> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let p = p as usize;
        maps.lines().find_map(|l| {
            let (range, rest) = l.split_once(' ')?;
            let (lo, hi) = range.split_once('-')?;
            let (lo, hi) = (usize::from_str_radix(lo, 16).ok()?, usize::from_str_radix(hi, 16).ok()?);
            (lo <= p && p < hi).then(|| rest.split_whitespace().next().unwrap_or("").to_string())
        })
    }

    #[test]
    fn code_is_read_execute_never_writable_and_unmapped_on_drop() {
        let _only_mapper = MAPPING_TEST_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let code = [0xc3u8; 100]; // ret
        let mem = ExecMem::new(&code).unwrap();
        assert_eq!(mem.mapped_len(), PAGE);
        let start = mem.start();
        // SAFETY: reading the first bytes of a live read-execute mapping.
        assert_eq!(unsafe { std::slice::from_raw_parts(start, 100) }, &code);
        let perms = permissions(start).expect("the mapping is listed");
        assert!(perms.starts_with("r-x"), "{perms}");
        drop(mem);
        // Once unmapped, another test's thread may map something else at the
        // same address (an allocator arena, read-write); only code maps
        // read-execute, and every test that makes code holds the lock.
        let after = permissions(start);
        assert!(after.as_deref().map_or(true, |p| !p.starts_with("r-x")), "unmapped on drop, still {after:?}");
    }
}
