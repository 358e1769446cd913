//! The reader table and write lock (reader_table.rs) as the store sees them:
//! `storeTableOpen` makes a handle (one per `Database`), the other calls act
//! on it. Txids cross as JS numbers (exact far past any txid); a slot with
//! no snapshot is -1, and `storeTableOldest` is Infinity when no slot holds one.

use std::cell::RefCell;

use crate::napi::{CallCtx, Env, ErrorKind, JsError, Method, Prop, Result, TypeTag, Value};
use crate::reader_table::{self, header, slot, OpenError, ReaderTable, NONE};

static TABLE_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_7264,
    upper: 0x725f_7461_626c_6531,
};

pub(crate) const METHODS: [(&str, Method); 12] = [
    ("storeTableOpen", open),
    ("storeTableClose", close),
    ("storeTablePin", pin),
    ("storeTableHold", hold),
    ("storeTableOldest", oldest),
    ("storeTablePublished", published),
    ("storeTablePublish", publish),
    ("storeWriteLock", write_lock),
    ("storeWriteUnlock", write_unlock),
    ("storeTableInfo", info),
    ("storeWriteWaiting", write_waiting),
    ("storeWriteOthersWaiting", others_waiting),
];

/// A table; `storeTableClose` empties it (its slot freed, its lock released).
struct Handle(RefCell<Option<ReaderTable>>);

fn io_error(e: std::io::Error, message: String) -> JsError {
    let err = JsError::new(ErrorKind::Error, format!("{message}: {e}")).code("LOCK_FAILED");
    match e.raw_os_error() {
        Some(errno) => err.prop("errno", Prop::Number(errno as f64)),
        None => err,
    }
}

/// `storeTableOpen(path): handle` — opens `<path>-lock` (made when missing)
/// and claims a slot. Codes: LOCK_FAILED (errno), LOCK_FILE_INVALID, READERS_FULL.
fn open(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let path = cx.path(0, "path")?;
    match ReaderTable::open(&path) {
        Ok(t) => env.external(Handle(RefCell::new(Some(t))), &TABLE_TAG, 4096),
        Err(OpenError::Io(what, e)) => Err(io_error(e, format!("cannot {what} {path}")).into()),
        Err(OpenError::Foreign(m)) => Err(JsError::new(ErrorKind::Error, m)
            .code("LOCK_FILE_INVALID")
            .into()),
        Err(OpenError::Full) => Err(JsError::new(
            ErrorKind::Error,
            format!(
                "{path}-lock: all {} reader slots are held by open handles",
                reader_table::SLOTS
            ),
        )
        .code("READERS_FULL")
        .into()),
    }
}

/// Runs `f` on the handle's table; a closed one is an error.
fn with<R>(cx: &CallCtx<'_>, f: impl FnOnce(&mut ReaderTable) -> Result<R>) -> Result<R> {
    let handle: &Handle = cx.external(0, &TABLE_TAG, "table")?;
    let mut table = handle.0.borrow_mut();
    match table.as_mut() {
        Some(t) => f(t),
        None => Err(
            JsError::new(ErrorKind::Error, "the reader table was closed")
                .code("CLOSED")
                .into(),
        ),
    }
}

fn txid_value(env: Env, t: u64) -> Result<Value> {
    env.number(if t == NONE { -1.0 } else { t as f64 })
}

/// A txid argument: an integer >= 0, or -1 (none) where `none` allows it.
fn txid_arg(cx: &CallCtx<'_>, i: usize, none: bool) -> Result<u64> {
    let n = cx.number(i, "txid")?.unwrap_or(f64::NAN);
    if none && n == -1.0 {
        return Ok(NONE);
    }
    if !((0.0..=9_007_199_254_740_991.0).contains(&n) && n.fract() == 0.0) {
        return Err(JsError::range_error(format!("txid must be an integer >= 0, got {n}")).into());
    }
    Ok(n as u64)
}

/// `storeTableClose(handle): boolean` — whether it was open.
fn close(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let handle: &Handle = cx.external(0, &TABLE_TAG, "table")?;
    let was = handle.0.borrow_mut().take().is_some();
    env.boolean(was)
}

/// `storeTablePin(handle): number` — holds the published txid in the slot and returns it.
fn pin(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let t = with(cx, |t| Ok(t.pin()))?;
    env.number(t as f64)
}

/// `storeTableHold(handle, txid: number | -1): null`
fn hold(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let txid = txid_arg(cx, 1, true)?;
    with(cx, |t| {
        t.hold(txid);
        Ok(())
    })?;
    env.null()
}

/// `storeTableOldest(handle): number` — the oldest txid a live slot holds, Infinity when none.
fn oldest(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let t = with(cx, |t| Ok(t.oldest()))?;
    env.number(if t == NONE { f64::INFINITY } else { t as f64 })
}

/// `storeTablePublished(handle): number`
fn published(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let t = with(cx, |t| Ok(t.published()))?;
    env.number(t as f64)
}

/// `storeTablePublish(handle, txid): null` — raises the published txid (never lowers it).
fn publish(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let txid = txid_arg(cx, 1, false)?;
    with(cx, |t| {
        t.publish(txid);
        Ok(())
    })?;
    env.null()
}

/// `storeWriteLock(handle, wait: boolean): boolean` — takes the write lock
/// (blocking the thread when `wait`); false when `wait` is false and
/// another handle holds it.
fn write_lock(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let wait = cx.boolean(1, "wait")?.unwrap_or(false);
    let got = with(cx, |t| {
        t.lock_write(wait)
            .map_err(|e| io_error(e, "cannot take the write lock".into()).into())
    })?;
    env.boolean(got)
}

/// `storeWriteUnlock(handle): boolean` — whether it was held.
fn write_unlock(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let was = with(cx, |t| {
        t.unlock_write()
            .map_err(|e| io_error(e, "cannot release the write lock".into()).into())
    })?;
    env.boolean(was)
}

/// `storeWriteWaiting(handle, waiting: boolean): null` — flags the slot as waiting for the write lock.
fn write_waiting(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let waiting = cx.boolean(1, "waiting")?.unwrap_or(false);
    with(cx, |t| {
        t.set_waiting(waiting);
        Ok(())
    })?;
    env.null()
}

/// `storeWriteOthersWaiting(handle): boolean` — whether another live handle waits for the write lock.
fn others_waiting(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let waiting = with(cx, |t| Ok(t.others_waiting()))?;
    env.boolean(waiting)
}

/// `storeTableInfo(handle): [owner, writerPid, writerOwner, readers]`:
/// this handle's owner id, who last took the write lock, and every live
/// slot as `[pid, owner, txid | -1]`.
fn info(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let (owner, (wpid, wowner), readers) = with(cx, |t| Ok((t.owner(), t.writer(), t.readers())))?;
    let out = env.array(4)?;
    env.set_element(out, 0, env.number(owner as f64)?)?;
    env.set_element(out, 1, env.number(wpid as f64)?)?;
    env.set_element(out, 2, env.number(wowner as f64)?)?;
    let list = env.array(readers.len())?;
    for (i, (pid, owner, txid)) in readers.into_iter().enumerate() {
        let r = env.array(3)?;
        env.set_element(r, 0, env.number(pid as f64)?)?;
        env.set_element(r, 1, env.number(owner as f64)?)?;
        env.set_element(r, 2, txid_value(env, txid)?)?;
        env.set_element(list, i as u32, r)?;
    }
    env.set_element(out, 3, list)?;
    Ok(out)
}

/// `native.lockFile`: the lock file's layout (docs/FORMAT.md, "The lock
/// file"); test/store-readers.test.ts reads a live file with it.
pub(crate) fn export(env: Env, exports: Value) -> Result<()> {
    let layout = env.numbers(&[
        ("fileBytes", reader_table::FILE_BYTES),
        ("slots", reader_table::SLOTS),
        ("slotBytes", reader_table::SLOT_BYTES),
        ("headerBytes", reader_table::HEADER_BYTES),
        ("version", reader_table::VERSION as usize),
    ])?;
    env.set(layout, "magic", env.bigint(reader_table::MAGIC)?)?;
    let head = env.numbers(&[
        ("magic", header::MAGIC),
        ("version", header::VERSION),
        ("slots", header::SLOTS),
        ("published", header::PUBLISHED),
        ("writerPid", header::WRITER_PID),
        ("writerOwner", header::WRITER_OWNER),
    ])?;
    env.set(layout, "header", head)?;
    env.set(
        layout,
        "slot",
        env.numbers(&[
            ("pid", slot::PID),
            ("owner", slot::OWNER),
            ("txid", slot::TXID),
            ("waiting", slot::WAITING),
        ])?,
    )?;
    env.set(exports, "lockFile", layout)
}
