//! The memory-mapping calls of libc this crate uses (`reader_table`'s lock
//! file, `file_map`'s read map), declared once. Their numbers are Linux's
//! generic ones, which x86_64 and aarch64 share (the xrp crate refuses to
//! build for other architectures).
use std::ffi::{c_int, c_long, c_void};

extern "C" {
    pub(crate) fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: c_long,
    ) -> *mut c_void;
    pub(crate) fn munmap(addr: *mut c_void, len: usize) -> c_int;
    pub(crate) fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
}

pub(crate) const PROT_READ: c_int = 1;
pub(crate) const PROT_WRITE: c_int = 2;
pub(crate) const MAP_SHARED: c_int = 1;
pub(crate) const MAP_NORESERVE: c_int = 0x4000;
pub(crate) const MADV_RANDOM: c_int = 1;
/// Linux 5.14 on; older kernels refuse it with EINVAL.
pub(crate) const MADV_POPULATE_READ: c_int = 22;
