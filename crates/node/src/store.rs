//! The store's file calls besides its commits (commit.rs) and its lock file
//! (store_table.rs): the alignment direct reads need, dropping a file's
//! cached pages, and the pages' checksum.

use crate::fadvise;
use crate::napi::{CallCtx, ErrorKind, JsError, Method, Prop, Result, Value, MAX_SAFE_INTEGER};
use xrp::crc32::crc32 as crc32_of;

pub(crate) const METHODS: [(&str, Method); 3] = [
    ("alignmentOffset", alignment_offset),
    ("storeDropCache", drop_cache),
    ("crc32", crc32),
];

/// `storeDropCache(fd: number, offset: number, length: number): null` —
/// asks the kernel to drop the clean cached pages of `fd`'s file in
/// `offset..offset + length` (`length` 0: to the end of the file) from its
/// page cache (`posix_fadvise(DONTNEED)`), so that buffered reads of them go
/// to the disk. After a failed write-back the kernel keeps the pages it
/// could not write, marked clean, holding the new bytes, and reads return
/// them (src/store/stale-cache.ts). Dirty pages are written back, not dropped.
fn drop_cache(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let fd = cx.fd(0)?;
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
    match fadvise::advise(fd, range[0], range[1], fadvise::DONTNEED) {
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

/// `crc32(bytes: Uint8Array, from?: number): number` — the CRC-32 zlib
/// computes (the checksum every page carries, docs/FORMAT.md) of `bytes`
/// from `from` on, with the emulator's carry-less-multiply code where the
/// CPU has it: about half the time of `zlib.crc32` on a 4 KiB page, which
/// every buffered read verifies and every commit seals.
fn crc32(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let from = cx.number(1, "from")?.unwrap_or(0.0);
    let bytes = cx
        .bytes(0, "bytes")?
        .ok_or_else(|| JsError::type_error("bytes must be a Uint8Array or Buffer"))?;
    if !(from >= 0.0 && from <= bytes.len() as f64 && from.fract() == 0.0) {
        return Err(JsError::range_error(format!(
            "from must be an integer from 0 to {}, got {from}",
            bytes.len()
        ))
        .into());
    }
    env.number(crc32_of(&bytes[from as usize..]) as f64)
}
