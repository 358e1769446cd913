//! A store's commits: each one job on the libuv pool that writes its pages
//! and its meta page and syncs, in the order of the store's commits
//! (commit_order.rs). Two protocols, one call each, as docs/FORMAT.md
//! ("Meta pages") specifies them:
//!
//! - `storeTreeCommit` (a checkpoint): every new page, sync, then the meta
//!   page, sync. The pages are ones the previous meta cannot reach, and the
//!   new meta reaches them only once they are durable, so a crash at any
//!   point leaves the previous commit or this one, whole.
//! - `storeLogCommit`: the log pages and the meta page, then one sync. A
//!   crash before it returns can leave the meta on disk without some of the
//!   pages; the meta's `newLogPages` / `newLogSum` let opening see that and
//!   fall back to the previous commit (src/format/log.ts, `tornLogCommit`),
//!   so the commit needs one sync instead of two.
//!
//! A store opened with `sync: false` passes `sync` false: the same writes,
//! no syncs at all (durability traded for speed).
//!
//! A commit's pages are scattered over the file (freed pages are reused):
//! one asynchronous call per run, or per step of the protocol, cost a pool
//! round trip each, most of the time a small commit waited. The job owns
//! its pages (staged_pages.rs: the caller staged them, in page order, and
//! the call takes them out of the handle), an aligned copy of the meta page
//! and a duplicate of `fd` (made before the call returns), so nothing it
//! uses can change or close under it. The duplicate shares the descriptor's
//! open file, `O_DIRECT` included.
//!
//! The job starts writing only once every commit issued before it with the
//! same `order` has finished, and writes nothing if one of them failed: the
//! writer can issue a commit while the one before is still on disk.
//!
//! A failure says which step failed (the error's `stage`): `write` (a
//! `pwrite`: nothing of this commit was synced, ENOSPC on a full disk),
//! `sync` (an `fdatasync`: the kernel may have dropped pages it could not
//! write and kept them in its cache as if written), or `earlier` (a commit
//! before it failed, so it wrote nothing).
//!
//! Tests can record every write and sync of every commit, in order, with
//! `storeIoTrace(path)` (io_trace.rs): the power-failure test rebuilds from
//! that record the states a disk could hold after a crash.

use std::fs::File;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::Arc;

use crate::aligned_bytes::AlignedBytes;
use crate::commit_order::CommitOrder;
use crate::format::META_PAGES;
use crate::staged_pages::{self, Staged};
use crate::io_trace;
use crate::napi::{CallCtx, Env, ErrorKind, JsError, Method, Prop, Result, TypeTag, Value};

static ORDER_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_7374,
    upper: 0x6f72_655f_6f72_6472,
};

pub(crate) const METHODS: [(&str, Method); 3] = [
    ("storeCommitOrder", commit_order),
    ("storeTreeCommit", tree_commit),
    ("storeLogCommit", log_commit),
];

/// The step of a commit that failed (the module's header says what each means).
#[derive(Clone, Copy)]
enum Stage {
    Earlier,
    Write,
    Sync,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Earlier => "earlier",
            Stage::Write => "write",
            Stage::Sync => "sync",
        }
    }
}

type Failure = (Stage, std::io::Error);

/// "File too large" (asm-generic/errno-base.h, the same on every Linux target).
const EFBIG: i32 = 27;

/// How a commit's writes and syncs go (the module's header says why).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// Pages, sync, meta, sync.
    Tree,
    /// Pages and meta, sync.
    Log,
}

/// `storeCommitOrder(): handle` — the order one store's commits go to disk
/// in (commit_order.rs): every commit given it waits on the pool for
/// the ones given it before.
fn commit_order(cx: &mut CallCtx<'_>) -> Result<Value> {
    let order: Arc<CommitOrder> = Arc::default();
    cx.env().external(order, &ORDER_TAG, 64)
}

/// `storeTreeCommit(fd, staged, meta, metaPageNo, sync, order): Promise<null>`
/// — a tree commit: the pages of `staged` (staged_pages.rs, taken out of
/// it), runs of consecutive page numbers with one `pwrite` each,
/// `fdatasync`, then the meta page at `metaPageNo`, `fdatasync` (neither
/// sync when `sync` is false).
fn tree_commit(cx: &mut CallCtx<'_>) -> Result<Value> {
    commit(cx, Protocol::Tree)
}

/// `storeLogCommit(fd, staged, meta, metaPageNo, sync, order): Promise<null>`
/// — a log commit: the pages as `storeTreeCommit` writes them, the meta
/// page, then one `fdatasync` (none when `sync` is false).
fn log_commit(cx: &mut CallCtx<'_>) -> Result<Value> {
    commit(cx, Protocol::Log)
}

fn commit(cx: &mut CallCtx<'_>, protocol: Protocol) -> Result<Value> {
    let fd = cx.fd(0)?;
    let page_size = staged_pages::page_size(cx, 1)?;
    let meta_no = cx.number(3, "metaPageNo")?.unwrap_or(-1.0);
    if !(meta_no >= 0.0 && meta_no < META_PAGES as f64 && meta_no.fract() == 0.0) {
        return Err(
            JsError::range_error(format!("metaPageNo must be 0 or 1, got {meta_no}")).into(),
        );
    }
    let sync = cx
        .boolean(4, "sync")?
        .ok_or_else(|| JsError::type_error("sync must be a boolean"))?;
    let meta = cx
        .bytes(2, "meta")?
        .ok_or_else(|| JsError::type_error("meta must be a Uint8Array"))?;
    if meta.len() != page_size {
        let msg = format!("meta must be one page of {page_size} bytes, got {}", meta.len());
        return Err(JsError::range_error(msg).into());
    }
    let meta = AlignedBytes::of(meta);
    let meta_offset = meta_no as u64 * page_size as u64;
    let order: &Arc<CommitOrder> = cx.external(5, &ORDER_TAG, "order")?;
    let file = duplicate(fd)
        .map_err(|e| write_failed(format!("cannot duplicate fd {fd}: {e}"), &e))?;
    // Taken last: a call that throws takes neither the pages nor a place in the order.
    let staged = staged_pages::take(cx, 1)?;
    let ticket = order.ticket();
    let work = move || -> std::result::Result<(), Failure> {
        if ticket.wait_turn().is_err() {
            let e = std::io::Error::other("an earlier commit failed, so this one wrote nothing");
            return Err((Stage::Earlier, e));
        }
        let written = (|| {
            let write = |e| (Stage::Write, e);
            let sync_data = || io_trace::sync(&file).map_err(|e| (Stage::Sync, e));
            write_runs(&file, &staged).map_err(write)?;
            if sync && protocol == Protocol::Tree {
                sync_data()?;
            }
            io_trace::write_at(&file, meta.as_slice(), meta_offset).map_err(write)?;
            if sync {
                sync_data()?;
            }
            Ok(())
        })();
        ticket.finish(written.is_ok());
        written
    };
    let name = match protocol {
        Protocol::Tree => "xrpkv:storeTreeCommit",
        Protocol::Log => "xrpkv:storeLogCommit",
    };
    cx.env().promise(name, work, settle_write)
}

/// The writes: pages given with consecutive numbers go out together.
fn write_runs(file: &File, staged: &Staged) -> std::io::Result<()> {
    let (bytes, numbers, page_size) = (staged.data.as_slice(), &staged.numbers, staged.page_size);
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i + 1;
        while j < numbers.len() && numbers[j] == numbers[j - 1] + 1 {
            j += 1;
        }
        // Past the largest offset a file has (i64::MAX): EFBIG, as the kernel says it.
        let offset = numbers[i]
            .checked_mul(page_size as u64)
            .filter(|o| o.saturating_add(((j - i) * page_size) as u64) <= i64::MAX as u64)
            .ok_or_else(|| std::io::Error::from_raw_os_error(EFBIG))?;
        io_trace::write_at(file, &bytes[i * page_size..j * page_size], offset)?;
        i = j;
    }
    Ok(())
}

/// A descriptor of its own for the open file `fd` names (`F_DUPFD_CLOEXEC`).
#[allow(unsafe_code)] // the one raw descriptor this crate touches outside napi
fn duplicate(fd: RawFd) -> std::io::Result<File> {
    // SAFETY: borrowed only for the duplication, during this call; a closed
    // or invalid `fd` makes it fail with EBADF rather than touch anything.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(File::from(borrowed.try_clone_to_owned()?))
}

/// A WRITE_FAILED error carrying `e`'s errno.
fn write_failed(message: String, e: &std::io::Error) -> JsError {
    let err = JsError::new(ErrorKind::Error, message).code("WRITE_FAILED");
    match e.raw_os_error() {
        Some(errno) => err.prop("errno", Prop::Number(errno as f64)),
        None => err,
    }
}

fn settle_write(env: Env, result: std::result::Result<(), Failure>) -> Result<Value> {
    match result {
        Ok(()) => env.null(),
        Err((stage, e)) => {
            let what = match stage {
                Stage::Earlier => format!("wrote nothing: {e}"),
                Stage::Write => format!("a write failed: {e}"),
                Stage::Sync => format!("fdatasync failed: {e}"),
            };
            let err = write_failed(format!("the commit {what}"), &e);
            Err(err
                .prop("stage", Prop::Str(stage.name().to_string()))
                .into())
        }
    }
}
