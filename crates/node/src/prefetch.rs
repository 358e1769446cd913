//! Reading a whole file into the kernel's page cache ahead of its reads, on
//! a thread of its own (src/store/prefetch.ts decides when).
//!
//! `posix_fadvise(WILLNEED)` starts the reads and returns once they are
//! submitted, in large sequential requests: a file that fits in memory then
//! arrives at the device's streaming rate instead of one random page per
//! lookup. Linux reads at most one readahead window per call (the device's
//! `read_ahead_kb`, 128 KiB by default, or its optimal I/O size if larger)
//! and quietly drops the rest of a longer range, hence the loop over
//! `CHUNK`-sized ranges. Submitting can still block (a full request queue, reclaim), so it
//! runs on a detached thread holding its own descriptor: the caller never
//! waits, and closing the database does not cut it short or free anything it
//! uses.

use std::fs::File;
use std::os::fd::AsRawFd;

use crate::fadvise;
use crate::napi::{CallCtx, ErrorKind, JsError, Method, Prop, Result, Value, MAX_SAFE_INTEGER};

pub(crate) const METHODS: [(&str, Method); 1] = [("storePrefetch", prefetch)];

/// The range each call asks for: the smallest readahead window Linux uses
/// by default, so that no call asks for more than it will read.
const CHUNK: i64 = 128 << 10;

/// `storePrefetch(path: string, length: number): null` — starts reading
/// `path`'s first `length` bytes into the page cache and returns at once.
/// Throws (code `PREFETCH_FAILED`, with `errno`) when the file cannot be
/// opened or the thread not started; what the kernel then does is advice.
fn prefetch(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let path = cx.path(0, "path")?;
    let length = cx.number(1, "length")?.unwrap_or(-1.0);
    if !(length >= 0.0 && length <= MAX_SAFE_INTEGER && length.fract() == 0.0) {
        return Err(
            JsError::range_error(format!("length must be an integer >= 0, got {length}")).into(),
        );
    }
    let failed = |e: std::io::Error, what: &str| {
        let err = JsError::new(
            ErrorKind::Error,
            format!("cannot prefetch {path}: {what}: {e}"),
        )
        .code("PREFETCH_FAILED");
        match e.raw_os_error() {
            Some(errno) => err.prop("errno", Prop::Number(errno as f64)),
            None => err,
        }
    };
    let file = File::open(&path).map_err(|e| failed(e, "open"))?;
    let length = length as i64;
    std::thread::Builder::new()
        .name("xrpkv-prefetch".into())
        .spawn(move || {
            // Advice: an error (EINVAL on a file system without a page
            // cache) leaves reads as they would have been; stop at the first.
            let mut offset = 0;
            while offset < length {
                let n = CHUNK.min(length - offset);
                if fadvise::advise(file.as_raw_fd(), offset, n, fadvise::WILLNEED) != 0 {
                    break;
                }
                offset += n;
            }
        })
        .map_err(|e| failed(e, "start a thread"))?;
    env.null()
}
