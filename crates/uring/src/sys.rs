//! The raw io_uring ABI: structs, constants and the three syscalls, as in
//! `<linux/io_uring.h>`, with the numbers that differ by architecture taken
//! from [`crate::arch`]. This is the only module with `unsafe`; it
//! exports safe wrappers (`setup`, `enter`, `register_*`, [`Mmap`]) whose
//! bounds and alignment checks keep the rest of the crate in safe Rust.

use std::ffi::{c_int, c_long, c_void};
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

use crate::arch::{MAP_POPULATE, MAP_SHARED, PROT_READ, PROT_WRITE};
use crate::arch::{SYS_IO_URING_ENTER, SYS_IO_URING_REGISTER, SYS_IO_URING_SETUP};

// mmap offsets selecting which region of the ring fd to map.
pub const IORING_OFF_SQ_RING: i64 = 0;
pub const IORING_OFF_CQ_RING: i64 = 0x800_0000;
pub const IORING_OFF_SQES: i64 = 0x1000_0000;

// `io_uring_params.features`.
pub const IORING_FEAT_SINGLE_MMAP: u32 = 1 << 0;

// `io_uring_enter` flags.
pub const IORING_ENTER_GETEVENTS: u32 = 1 << 0;

// SQ ring `flags` word.
pub const IORING_SQ_CQ_OVERFLOW: u32 = 1 << 1;

// `io_uring_sqe.flags`.
pub const IOSQE_FIXED_FILE: u8 = 1 << 0;

// Opcodes.
pub const IORING_OP_NOP: u8 = 0;
pub const IORING_OP_READ_FIXED: u8 = 4;
pub const IORING_OP_ASYNC_CANCEL: u8 = 14;
pub const IORING_OP_READ: u8 = 22;

// `cancel_flags` of IORING_OP_ASYNC_CANCEL (5.19+).
pub const IORING_ASYNC_CANCEL_ALL: u32 = 1 << 0;
pub const IORING_ASYNC_CANCEL_ANY: u32 = 1 << 2;

// `io_uring_register` opcodes.
const IORING_REGISTER_BUFFERS: u32 = 0;
const IORING_UNREGISTER_BUFFERS: u32 = 1;
const IORING_REGISTER_FILES: u32 = 2;
const IORING_UNREGISTER_FILES: u32 = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SqringOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub flags: u32,
    pub dropped: u32,
    pub array: u32,
    pub resv1: u32,
    pub user_addr: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CqringOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub overflow: u32,
    pub cqes: u32,
    pub flags: u32,
    pub resv1: u32,
    pub user_addr: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Params {
    pub sq_entries: u32,
    pub cq_entries: u32,
    pub flags: u32,
    pub sq_thread_cpu: u32,
    pub sq_thread_idle: u32,
    pub features: u32,
    pub wq_fd: u32,
    pub resv: [u32; 3],
    pub sq_off: SqringOffsets,
    pub cq_off: CqringOffsets,
}

/// `struct io_uring_sqe`, with the unions flattened to the members we use.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sqe {
    pub opcode: u8,
    pub flags: u8,
    pub ioprio: u16,
    pub fd: i32,
    pub off: u64,
    pub addr: u64,
    pub len: u32,
    /// `rw_flags` / `cancel_flags` / ... union.
    pub op_flags: u32,
    pub user_data: u64,
    pub buf_index: u16,
    pub personality: u16,
    pub splice_fd_in: i32,
    pub addr3: u64,
    pub pad2: u64,
}

/// `struct io_uring_cqe` (16 bytes; we never ask for IORING_SETUP_CQE32).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cqe {
    pub user_data: u64,
    pub res: i32,
    pub flags: u32,
}

/// `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Iovec {
    pub base: *mut c_void,
    pub len: usize,
}

// The kernel ABI is fixed; fail the build, not the program, if a field slips.
const _: () = assert!(size_of::<SqringOffsets>() == 40);
const _: () = assert!(size_of::<CqringOffsets>() == 40);
const _: () = assert!(size_of::<Params>() == 120);
const _: () = assert!(size_of::<Sqe>() == 64);
const _: () = assert!(size_of::<Cqe>() == 16);
const _: () = assert!(size_of::<Iovec>() == 16);

pub const SQE_SIZE: usize = size_of::<Sqe>();
pub const CQE_SIZE: usize = size_of::<Cqe>();

extern "C" {
    // glibc's generic syscall(2) wrapper: returns -1 and sets errno on error.
    fn syscall(num: c_long, ...) -> c_long;
    fn mmap(addr: *mut c_void, len: usize, prot: c_int, flags: c_int, fd: c_int, off: i64)
        -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
}

fn check(ret: c_long) -> io::Result<c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `io_uring_setup(2)`: creates a ring, fills `params`, returns its fd.
pub fn setup(entries: u32, params: &mut Params) -> io::Result<OwnedFd> {
    // SAFETY: `params` is a valid, exclusively borrowed io_uring_params the
    // kernel reads and writes only during the call.
    let fd = check(unsafe { syscall(SYS_IO_URING_SETUP, entries as c_long, params as *mut Params) })?;
    // SAFETY: on success the return value is a new fd nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `io_uring_enter(2)` without a signal mask; returns the number of SQEs consumed.
pub fn enter(fd: BorrowedFd<'_>, to_submit: u32, min_complete: u32, flags: u32) -> io::Result<u32> {
    // SAFETY: only integers and a null sigmask pointer (with size 0) are
    // passed; the kernel touches no user memory through this call except the
    // rings, which are mapped for as long as `fd` is open.
    let n = check(unsafe {
        syscall(
            SYS_IO_URING_ENTER,
            fd.as_raw_fd() as c_long,
            to_submit as c_long,
            min_complete as c_long,
            flags as c_long,
            std::ptr::null::<c_void>(),
            0 as c_long,
        )
    })?;
    Ok(n as u32)
}

/// `io_uring_register(2)` with an array argument read during the call, or
/// none (the UNREGISTER opcodes insist on a null `arg` and `nr_args == 0`).
fn register<T>(fd: BorrowedFd<'_>, opcode: u32, args: Option<&[T]>) -> io::Result<()> {
    let (ptr, nr) = match args {
        Some(a) => (a.as_ptr().cast::<c_void>(), a.len()),
        None => (std::ptr::null(), 0),
    };
    let nr = u32::try_from(nr).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `ptr` is null or a live slice of `nr` elements of the type
    // `opcode` expects (callers pair them); the kernel copies it during the call.
    check(unsafe { syscall(SYS_IO_URING_REGISTER, fd.as_raw_fd() as c_long, opcode as c_long, ptr, nr as c_long) })?;
    Ok(())
}

/// IORING_REGISTER_BUFFERS.
///
/// # Safety
/// Each iovec must describe writable memory that stays allocated (and is
/// not otherwise accessed while a fixed read targets it) until the buffers
/// are unregistered or the ring is closed: the kernel pins those pages and
/// writes into them whenever a READ_FIXED names them.
pub unsafe fn register_buffers(fd: BorrowedFd<'_>, iovecs: &[Iovec]) -> io::Result<()> {
    register(fd, IORING_REGISTER_BUFFERS, Some(iovecs))
}

/// IORING_REGISTER_FILES: the kernel takes its own reference on each file.
pub fn register_files(fd: BorrowedFd<'_>, fds: &[RawFd]) -> io::Result<()> {
    register(fd, IORING_REGISTER_FILES, Some(fds))
}

pub fn unregister_buffers(fd: BorrowedFd<'_>) -> io::Result<()> {
    register::<u8>(fd, IORING_UNREGISTER_BUFFERS, None)
}

pub fn unregister_files(fd: BorrowedFd<'_>) -> io::Result<()> {
    register::<u8>(fd, IORING_UNREGISTER_FILES, None)
}

/// A shared, read-write mapping of one region of a ring fd, unmapped on drop.
///
/// Access goes through bounds- and alignment-checked methods only, so the
/// ring code built on it needs no `unsafe`. Raw writes/reads are volatile
/// because the kernel reads SQEs and writes CQEs behind the compiler's back;
/// ordering against the ring indices comes from the Acquire/Release atomics.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; moving the
// owner to another thread is fine. (Not Sync: the non-atomic SQE writes
// rely on a single writer, which `&mut IoUring` guarantees.)
unsafe impl Send for Mmap {}

impl Mmap {
    pub fn new(fd: BorrowedFd<'_>, len: usize, offset: i64) -> io::Result<Mmap> {
        // SAFETY: a fresh mapping at a kernel-chosen address cannot alias any
        // existing Rust object; failures are reported as MAP_FAILED.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_POPULATE,
                fd.as_raw_fd(),
                offset,
            )
        };
        if ptr as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Mmap { ptr, len })
    }

    fn checked(&self, offset: usize, size: usize, align: usize) -> *mut u8 {
        assert!(
            offset.checked_add(size).is_some_and(|end| end <= self.len) && offset.is_multiple_of(align),
            "io_uring ring offset {offset}+{size} outside mapping of {} bytes or misaligned",
            self.len
        );
        // In bounds per the assert; the base is page aligned, so `offset` being a multiple of `align`
        // makes the result aligned too.
        self.ptr.as_ptr().wrapping_add(offset)
    }

    /// A view of the ring word at `offset` (head, tail, mask, flags, ...).
    pub fn atomic_u32(&self, offset: u32) -> &AtomicU32 {
        let p = self.checked(offset as usize, 4, 4);
        // SAFETY: `p` is in bounds and 4-aligned, the mapping lives as long as
        // `&self`, AtomicU32 has u32's layout, and the kernel accesses these
        // words only with READ_ONCE/WRITE_ONCE/acquire/release, i.e. atomically.
        unsafe { &*p.cast::<AtomicU32>() }
    }

    /// Stores one SQE into the slot at `offset` of the SQE array.
    pub fn write_sqe(&self, offset: usize, sqe: &Sqe) {
        let p = self.checked(offset, SQE_SIZE, 8);
        // SAFETY: in bounds and aligned; no Rust reference to SQE memory ever
        // exists, and the ring protocol only hands us slots the kernel has
        // finished with (head was loaded with Acquire).
        unsafe { p.cast::<Sqe>().write_volatile(*sqe) }
    }

    /// Copies out the CQE at `offset`.
    pub fn read_cqe(&self, offset: usize) -> Cqe {
        let p = self.checked(offset, CQE_SIZE, 8);
        // SAFETY: in bounds and aligned; Cqe is plain integers (any bit
        // pattern is valid), and the caller loaded the tail with Acquire, so
        // the kernel's write of this slot is visible.
        unsafe { p.cast::<Cqe>().read_volatile() }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from a successful mmap and nothing
        // borrowed from `self` outlives it. munmap can only fail on bad args.
        unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
