//! The store's file calls besides its commits (commit.rs): the writer lock,
//! the alignment direct reads need, and dropping a file's cached pages.
//!
//! The lock is an exclusive `flock` on the database file, held through a
//! descriptor of its own (`File::try_lock`, which is `flock(LOCK_EX |
//! LOCK_NB)` on Linux). It belongs to that open file description, so it ends
//! when `storeUnlock` drops it, when the handle is collected, or when the
//! process dies (a SIGKILLed writer leaves no stale lock behind).

use std::cell::RefCell;
use std::fs::{File, OpenOptions, TryLockError};

use crate::fadvise;
use crate::napi::{
    CallCtx, ErrorKind, JsError, Method, Prop, Result, TypeTag, Value, MAX_SAFE_INTEGER,
};

static LOCK_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_7374,
    upper: 0x6f72_655f_6c6f_636b,
};

pub(crate) const METHODS: [(&str, Method); 4] = [
    ("storeLock", lock),
    ("storeUnlock", unlock),
    ("alignmentOffset", alignment_offset),
    ("storeDropCache", drop_cache),
];

/// `storeDropCache(fd: number, offset: number, length: number): null` —
/// asks the kernel to drop the clean cached pages of `fd`'s file in
/// `offset..offset + length` (`length` 0: to the end of the file) from its
/// page cache (`posix_fadvise(DONTNEED)`), so that buffered reads of them go
/// to the disk. After a failed write-back the kernel keeps the pages it
/// could not write, marked clean, holding the new bytes; reads return them
/// and, on ext4, later writes over them can be lost (src/store/stale-cache.ts).
/// Dirty pages are written back, not dropped.
fn drop_cache(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let fd = cx.number(0, "fd")?.unwrap_or(-1.0);
    if !(fd >= 0.0 && fd <= i32::MAX as f64 && fd.fract() == 0.0) {
        return Err(JsError::range_error(format!("fd must be a file descriptor, got {fd}")).into());
    }
    let mut range = [0i64; 2];
    for (i, (slot, what)) in range.iter_mut().zip(["offset", "length"]).enumerate() {
        let n = cx.number(1 + i, what)?.unwrap_or(-1.0);
        if !(n >= 0.0 && n <= MAX_SAFE_INTEGER && n.fract() == 0.0) {
            return Err(
                JsError::range_error(format!("{what} must be an integer >= 0, got {n}")).into(),
            );
        }
        *slot = n as i64;
    }
    match fadvise::advise(fd as i32, range[0], range[1], fadvise::DONTNEED) {
        0 => env.null(),
        errno => {
            let e = std::io::Error::from_raw_os_error(errno);
            let msg = format!("cannot drop the cached pages of fd {fd}: {e}");
            let err = JsError::new(ErrorKind::Error, msg).code("DROP_CACHE_FAILED");
            Err(err.prop("errno", Prop::Number(errno as f64)).into())
        }
    }
}

/// `alignmentOffset(bytes: Uint8Array, align: number): number` — how many
/// bytes from the start of `bytes` the first `align`-aligned address is.
/// `O_DIRECT` reads need memory aligned to the device's block size, and a
/// Buffer's backing store never moves, so JavaScript can over-allocate and
/// read into an aligned sub-array (src/store/aligned.ts). Computed from the
/// address alone: nothing is read or written.
fn alignment_offset(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let align = cx.number(1, "align")?.unwrap_or(0.0);
    if !((1.0..=1048576.0).contains(&align)
        && (align as u64).is_power_of_two()
        && align.fract() == 0.0)
    {
        return Err(JsError::range_error(format!(
            "align must be a power of two from 1 to 1048576, got {align}"
        ))
        .into());
    }
    let align = align as usize;
    let bytes = cx
        .bytes(0, "bytes")?
        .ok_or_else(|| JsError::type_error("bytes must be a Uint8Array or Buffer"))?;
    let address = bytes.as_ptr() as usize;
    env.number(((align - address % align) % align) as f64)
}

/// A held lock; `storeUnlock` empties it.
struct LockHandle(RefCell<Option<File>>);

/// `storeLock(path: string): handle` — throws code `LOCKED` when another
/// open file description holds the lock, `LOCK_FAILED` (with `errno`) when
/// the file cannot be opened or locked.
fn lock(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let path = cx.path(0, "path")?;
    let failed = |e: std::io::Error, what: &str| {
        let err = JsError::new(ErrorKind::Error, format!("cannot {what} {path}: {e}"))
            .code("LOCK_FAILED");
        match e.raw_os_error() {
            Some(errno) => err.prop("errno", Prop::Number(errno as f64)),
            None => err,
        }
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| failed(e, "open"))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let message = format!("{path} is locked for writing by another process or handle");
            return Err(JsError::new(ErrorKind::Error, message)
                .code("LOCKED")
                .into());
        }
        Err(TryLockError::Error(e)) => return Err(failed(e, "lock").into()),
    }
    env.external(LockHandle(RefCell::new(Some(file))), &LOCK_TAG, 64)
}

/// `storeUnlock(handle): boolean` — whether the lock was held.
fn unlock(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let handle: &LockHandle = cx.external(0, &LOCK_TAG, "lock")?;
    let held = handle.0.borrow_mut().take().is_some();
    env.boolean(held)
}
