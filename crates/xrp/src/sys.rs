//! The few Linux calls std does not wrap, declared by hand against glibc:
//! block-device ioctls, `statx` for direct-I/O alignment, `bpf()` and
//! `read_xrp`. Each wrapper is small, typed and returns `io::Result`. The
//! numbers that differ by architecture come from [`crate::arch`].

use std::io;
use std::os::fd::RawFd;
use std::os::raw::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

use crate::arch::{BLKGETSIZE64, BLKSSZGET, SYS_BPF};

extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    fn statx(dirfd: c_int, path: *const c_char, flags: c_int, mask: c_uint, buf: *mut c_void) -> c_int;
    fn syscall(number: c_long, ...) -> c_long;
}

// Defined once for every architecture (linux/fcntl.h, linux/stat.h, linux/bpf.h).
const AT_EMPTY_PATH: c_int = 0x1000;
const STATX_DIOALIGN: c_uint = 0x2000;
const STATX_BUF_SIZE: usize = 256;
const STX_MASK: usize = 0;
const STX_DIO_MEM_ALIGN: usize = 152;
const STX_DIO_OFFSET_ALIGN: usize = 156;

const BPF_PROG_LOAD: c_int = 5;

fn check(ret: c_long) -> io::Result<c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The logical block size of a block device (`BLKSSZGET`).
pub fn logical_block_size(fd: RawFd) -> io::Result<u32> {
    let mut size: c_int = 0;
    // SAFETY: BLKSSZGET writes one int through the pointer, which is valid.
    check(unsafe { ioctl(fd, BLKSSZGET, &mut size as *mut c_int) } as c_long)?;
    Ok(size as u32)
}

/// The size in bytes of a block device (`BLKGETSIZE64`).
pub fn device_size(fd: RawFd) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer, which is valid.
    check(unsafe { ioctl(fd, BLKGETSIZE64, &mut size as *mut u64) } as c_long)?;
    Ok(size)
}

/// Direct-I/O alignment of an open file: `(memory, file offset)` in bytes, or
/// `None` when the kernel or file system does not report it (`STATX_DIOALIGN`,
/// Linux 6.1+). `Some((0, 0))` means the file does not support direct I/O.
pub fn dio_alignment(fd: RawFd) -> io::Result<Option<(u32, u32)>> {
    let mut buf = [0u8; STATX_BUF_SIZE];
    // SAFETY: the path is a valid empty C string and buf has room for struct statx.
    check(unsafe { statx(fd, c"".as_ptr(), AT_EMPTY_PATH, STATX_DIOALIGN, buf.as_mut_ptr().cast()) } as c_long)?;
    let word = |at: usize| u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    if word(STX_MASK) & STATX_DIOALIGN == 0 {
        return Ok(None);
    }
    Ok(Some((word(STX_DIO_MEM_ALIGN), word(STX_DIO_OFFSET_ALIGN))))
}

/// `union bpf_attr` as `BPF_PROG_LOAD` reads it (the fields up to `kern_version`).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

/// Loads `code` into the kernel as a program of `prog_type`; returns its fd.
pub fn bpf_prog_load(prog_type: u32, code: &[u8]) -> io::Result<RawFd> {
    let license = c"GPL";
    let attr = ProgLoadAttr {
        prog_type,
        insn_cnt: (code.len() / 8) as u32,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    // SAFETY: attr and the buffers it points to outlive the call; the size
    // passed is attr's, and the kernel zero-extends the rest of the union.
    let fd = check(unsafe {
        syscall(SYS_BPF, BPF_PROG_LOAD, &attr as *const ProgLoadAttr, std::mem::size_of::<ProgLoadAttr>() as c_uint)
    })?;
    Ok(fd as RawFd)
}

/// `read_xrp(fd, buf, count, offset, bpf_fd, scratch)` under syscall `number`.
///
/// # Safety
/// `buf` must be valid for `count` bytes of writes and `scratch` for one page,
/// both 4 KiB-aligned, and `number` must be read_xrp on this kernel: the caller
/// only calls it after a program of the XRP type loaded, which no other kernel
/// accepts.
pub unsafe fn read_xrp(
    number: c_long,
    fd: RawFd,
    buf: *mut u8,
    count: usize,
    offset: u64,
    bpf_fd: RawFd,
    scratch: *mut u8,
) -> io::Result<usize> {
    check(syscall(number, fd, buf, count, offset, bpf_fd, scratch)).map(|n| n as usize)
}
