//! Taking a file's pages out of the kernel's page cache when asking
//! (`posix_fadvise(DONTNEED)`, store.rs) is not enough: the kernel drops no
//! page that a process has mapped. Opening after a failed write-back must
//! not build on what such a page holds (src/store/stale-cache.ts), so it
//! asks which pages of a range are still cached after the drop
//! (`storeResident`: `mincore` on a map of its own) and punches a hole where
//! they are free (`storePunchHole`: the file system deallocates the range
//! and the kernel unmaps and drops its pages in every process; reads of it
//! return zeros until a commit writes it).

use std::ffi::{c_int, c_void};

use crate::mman::{mmap, munmap, MAP_SHARED, PROT_READ};
use crate::napi::{CallCtx, ErrorKind, JsError, Method, Prop, Result, Value, MAX_SAFE_INTEGER};

pub(crate) const METHODS: [(&str, Method); 2] =
    [("storeResident", resident), ("storePunchHole", punch_hole)];

/// The memory page: `mincore`'s unit.
const MEMORY_PAGE: u64 = 4096;

/// Arguments `i` and `i + 1`: a range of whole memory pages.
fn range_args(cx: &CallCtx<'_>, i: usize) -> Result<(u64, u64)> {
    let mut out = [0u64; 2];
    for (k, what) in ["offset", "length"].into_iter().enumerate() {
        let n = cx.number(i + k, what)?.unwrap_or(-1.0);
        if !((0.0..=MAX_SAFE_INTEGER).contains(&n)
            && n.fract() == 0.0
            && n as u64 % MEMORY_PAGE == 0)
        {
            let msg = format!("{what} must be a multiple of {MEMORY_PAGE} >= 0, got {n}");
            return Err(JsError::range_error(msg).into());
        }
        out[k] = n as u64;
    }
    Ok((out[0], out[1]))
}

fn os_error(what: &str, e: std::io::Error) -> JsError {
    let err = JsError::new(ErrorKind::Error, format!("{what}: {e}")).code("EVICT_FAILED");
    match e.raw_os_error() {
        Some(errno) => err.prop("errno", Prop::Number(errno as f64)),
        None => err,
    }
}

/// `storeResident(fd, offset, length): Buffer` — a byte per memory page of
/// the range, 1 where the kernel's page cache holds it. The range must lie
/// inside the file (a map past its end answers nothing).
fn resident(cx: &mut CallCtx<'_>) -> Result<Value> {
    let fd = cx.fd(0)?;
    let (offset, length) = range_args(cx, 1)?;
    let pages = (length / MEMORY_PAGE) as usize;
    let mut vec = vec![0u8; pages];
    if pages > 0 {
        sys::resident(fd, offset, length as usize, &mut vec)
            .map_err(|e| os_error("cannot tell which pages are cached", e))?;
    }
    cx.env().buffer(pages, |out| {
        for (o, v) in out.iter_mut().zip(&vec) {
            *o = v & 1;
        }
    })
}

/// `storePunchHole(fd, offset, length): null` — deallocates the range
/// (`FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`): its pages leave the page
/// cache, mapped or not, and read as zeros. Throws code EVICT_FAILED (with
/// errno; EOPNOTSUPP where the file system cannot).
fn punch_hole(cx: &mut CallCtx<'_>) -> Result<Value> {
    let fd = cx.fd(0)?;
    let (offset, length) = range_args(cx, 1)?;
    if length > 0 {
        sys::punch_hole(fd, offset, length).map_err(|e| os_error("cannot punch a hole", e))?;
    }
    cx.env().null()
}

#[allow(unsafe_code)] // mmap, mincore, munmap and fallocate: the only unsafe code here
mod sys {
    use super::*;

    extern "C" {
        fn mincore(addr: *mut c_void, len: usize, vec: *mut u8) -> c_int;
        fn fallocate(fd: c_int, mode: c_int, offset: i64, len: i64) -> c_int;
    }
    const FALLOC_FL_KEEP_SIZE: c_int = 1;
    const FALLOC_FL_PUNCH_HOLE: c_int = 2;

    pub(super) fn resident(
        fd: c_int,
        offset: u64,
        len: usize,
        vec: &mut [u8],
    ) -> std::io::Result<()> {
        assert_eq!(vec.len(), len / MEMORY_PAGE as usize);
        // SAFETY: a fresh read-only mapping of our own, never dereferenced,
        // unmapped before returning; mincore writes len / 4096 bytes to vec.
        unsafe {
            let ptr = mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ,
                MAP_SHARED,
                fd,
                offset as i64,
            );
            if ptr as isize == -1 {
                return Err(std::io::Error::last_os_error());
            }
            let r = mincore(ptr, len, vec.as_mut_ptr());
            let e = std::io::Error::last_os_error();
            munmap(ptr, len);
            if r != 0 {
                return Err(e);
            }
        }
        Ok(())
    }

    pub(super) fn punch_hole(fd: c_int, offset: u64, len: u64) -> std::io::Result<()> {
        // SAFETY: a system call on a descriptor number; it touches no memory of ours.
        let r = unsafe {
            fallocate(
                fd,
                FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                offset as i64,
                len as i64,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}
