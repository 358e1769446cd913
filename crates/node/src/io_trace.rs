//! A record of every write and sync the store's commits make, for tests:
//! the power-failure test (test/store-power.test.ts) replays it to build
//! every state a disk could be left in by a crash, which a kill cannot show
//! (a killed process loses nothing the kernel already has).
//!
//! `storeIoTrace(path)` starts appending records to `path`; `storeIoTrace(null)`
//! stops. Off (the default) it costs one uncontended lock per write. A
//! record is what happened, after it happened, in the order it happened
//! (commits are serialized by commit_order.rs, and the lock orders the rest):
//!   kind u8 (1 write, 2 sync), offset u64 LE, length u32 LE, then for a
//!   write `length` bytes (the data; a sync's offset and length are 0).
//! A failure to record fails the write: a test must not see a partial trace.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

use crate::napi::{CallCtx, ErrorKind, JsError, Method, Result, Value};

pub(crate) const METHODS: [(&str, Method); 1] = [("storeIoTrace", set_trace)];

static TRACE: Mutex<Option<File>> = Mutex::new(None);

const WRITE: u8 = 1;
const SYNC: u8 = 2;

/// `storeIoTrace(path: string | null): null`
fn set_trace(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let file = match cx.string(0, "path")? {
        Some(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| {
                    JsError::new(
                        ErrorKind::Error,
                        format!("cannot open the I/O trace {path}: {e}"),
                    )
                })?,
        ),
        None => None,
    };
    *TRACE.lock().unwrap_or_else(|p| p.into_inner()) = file;
    env.null()
}

fn record(kind: u8, offset: u64, data: &[u8]) -> std::io::Result<()> {
    let mut trace = TRACE.lock().unwrap_or_else(|p| p.into_inner());
    let Some(file) = trace.as_mut() else {
        return Ok(());
    };
    let mut head = [0u8; 13];
    head[0] = kind;
    head[1..9].copy_from_slice(&offset.to_le_bytes());
    head[9..13].copy_from_slice(&(data.len() as u32).to_le_bytes());
    file.write_all(&head)?;
    file.write_all(data)
}

/// `file.write_all_at(data, offset)`, recorded.
pub(crate) fn write_at(file: &File, data: &[u8], offset: u64) -> std::io::Result<()> {
    file.write_all_at(data, offset)?;
    record(WRITE, offset, data)
}

/// `file.sync_data()`, recorded.
pub(crate) fn sync(file: &File) -> std::io::Result<()> {
    file.sync_data()?;
    record(SYNC, 0, &[])
}
