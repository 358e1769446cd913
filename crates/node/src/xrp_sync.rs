//! The lean path from JavaScript to a synchronous chain: `xrpRunSyncLean`.
//!
//! A call makes no object, array, string or buffer, and allocates nothing:
//! - the chain runs on this thread's one sync engine (`ENGINE`), which serves
//!   every program (its VM stack and data page are reused);
//! - the caller's `io` buffer carries everything else: a record of numbers
//!   in (`sync_record`'s `in` fields) and out, then the scratch page the
//!   program runs on, in place;
//! - the call returns the outcome's code as a number. What only a failed or
//!   logging chain needs (its message, its log, the VM's fault code) stays
//!   here until `xrpSyncDetails` asks for it.

use std::cell::RefCell;

use ::xrp::abi::PAGE_SIZE;
use ::xrp::{ChainOptions, ChainResult, Outcome, Page, SyncEngine, DEFAULT_HOP_LIMIT};
use ebpf::{Program, DEFAULT_BUDGET};

use crate::file_map::{self, map_arg};
use crate::napi::{CallCtx, JsError, Method, Result, Value};
use crate::xrp::{file_handle, open_file, xrp_program};
use crate::xrp_records::{outcome_code, outcome_detail, sync_record, MODES};

pub(crate) const METHODS: [(&str, Method); 2] = [("xrpRunSyncLean", run_lean), ("xrpSyncDetails", details)];

/// How the last lean chain on this thread ended, and what it logged.
struct Last {
    result: Option<ChainResult>,
    log: String,
}

thread_local! {
    /// This thread's engine for synchronous chains, whatever the program.
    static ENGINE: RefCell<SyncEngine> = RefCell::new(SyncEngine::new());
    static LAST: RefCell<Last> = const { RefCell::new(Last { result: None, log: String::new() }) };
}

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn u32_at(record: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(record[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(record: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(record[at..at + 8].try_into().expect("8 bytes"))
}

fn range_error(message: String) -> crate::napi::Throw {
    JsError::range_error(message).into()
}

/// What the record's `in` fields ask for: (options, offset, length, the
/// bytes of the page the caller wrote).
fn read_request(record: &[u8]) -> Result<(ChainOptions, u64, usize, usize)> {
    use sync_record::*;
    let mode = match MODES.get(u32_at(record, MODE) as usize) {
        Some(&(_, mode)) => mode,
        None => return Err(range_error(format!("mode must be an index into xrp.modes, got {}", u32_at(record, MODE)))),
    };
    let hop_limit = match u32_at(record, HOP_LIMIT) {
        0 => DEFAULT_HOP_LIMIT,
        n => n,
    };
    let budget = match f64::from_le_bytes(record[BUDGET..BUDGET + 8].try_into().expect("8 bytes")) {
        0.0 => DEFAULT_BUDGET,
        b if b.fract() == 0.0 && (1.0..=MAX_SAFE_INTEGER).contains(&b) => b as u64,
        b => return Err(range_error(format!("budget must be an integer from 1 to 2^53-1, got {b}"))),
    };
    let options = ChainOptions { mode, hop_limit, budget };
    let offset = u64_at(record, OFFSET);
    if offset % 512 != 0 {
        return Err(range_error(format!("offset must be a multiple of 512, got {offset}")));
    }
    let length = match u32_at(record, LENGTH) as usize {
        0 => options.first_read_len(),
        n if n % 512 == 0 && n <= PAGE_SIZE => n,
        n => return Err(range_error(format!("length must be a multiple of 512 from 512 to 4096, got {n}"))),
    };
    let written = u32_at(record, SCRATCH_LEN) as usize;
    if written > PAGE_SIZE {
        return Err(range_error(format!("scratchLength must be at most 4096, got {written}")));
    }
    Ok((options, offset, length, written))
}

/// The record's `out` fields for `result`.
fn write_result(record: &mut [u8], result: &ChainResult, logged: bool) {
    use sync_record::*;
    let (returned, detail) = outcome_detail(&result.outcome);
    let mut put = |at: usize, bytes: &[u8]| record[at..at + bytes.len()].copy_from_slice(bytes);
    put(CODE, &outcome_code(&result.outcome).to_le_bytes());
    put(HOPS, &result.hops.to_le_bytes());
    put(LAST_OFFSET, &result.last_offset.to_le_bytes());
    put(RETURNED, &returned.to_le_bytes());
    put(DETAIL, &detail.to_le_bytes());
    put(LOGGED, &u32::from(logged).to_le_bytes());
}

/// `xrpRunSyncLean(program, file, io, map?): number` — one chain on this
/// thread. With `map` (a `storeMapOpen` handle of the same file: the store
/// passes its pager's) and `file` read buffered, each hop copies its page
/// out of the map where the map holds it, else reads it with `pread`.
/// `io` is a `sync_record` (its `in` fields set) and then the scratch page:
/// the page past its first `scratchLength` bytes is zeroed, the program
/// runs on it in place, and the record's `out` fields say how the chain
/// ended. Returns the outcome's code (an index into `xrp.outcomeCodes`).
fn run_lean(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let program: &Program = xrp_program(cx, 0)?;
    let handle = file_handle(cx, 1)?;
    // Before `io`, which borrows the call's arguments for the rest of it.
    let map_handle = map_arg(cx, 3)?;
    let io = cx.bytes(2, "io")?.ok_or_else(|| JsError::type_error("io must be a Uint8Array"))?;
    if io.len() < sync_record::SIZE + PAGE_SIZE {
        let need = sync_record::SIZE + PAGE_SIZE;
        return Err(range_error(format!("io must be at least {need} bytes, got {}", io.len())));
    }
    let (record, rest) = io.split_at_mut(sync_record::SIZE);
    let scratch = &mut rest[..PAGE_SIZE];
    let (options, offset, length, written) = read_request(record)?;
    // Last: a closed file is a fault of the call, not of its arguments.
    let file = open_file(handle)?;
    scratch[written..].fill(0);
    let mut open_map = map_handle.map(|h| h.open());
    let map = open_map.as_mut().and_then(|m| m.as_mut());
    let (result, log) = ENGINE.with(|engine| {
        // A chain never calls back into JavaScript, so the engine is free;
        // should it not be, a fresh one runs the chain.
        let mut fresh;
        let mut borrowed = engine.try_borrow_mut();
        let engine = match borrowed.as_deref_mut() {
            Ok(e) => e,
            Err(_) => {
                fresh = SyncEngine::new();
                &mut fresh
            }
        };
        let result = match map {
            // A buffered file's hops copied out of the store's map: no system
            // call per hop where the map holds the page (a cached page by
            // `pread` cost 2.2 µs here, out of the map 0.3).
            Some(m) if !file.is_direct() => {
                engine.run_with(program, &file, options, offset, length, scratch, &mut |page: &mut Page, at, len| {
                    let len = len.min(PAGE_SIZE);
                    match file_map::read(m, at, &mut page[..len]) {
                        Ok(()) => {
                            page[len..].fill(0);
                            Ok(len)
                        }
                        // Past the end of the file, or a failed read: `pread` says which.
                        Err(_) => file.read_into(page, at, len),
                    }
                })
            }
            _ => engine.run(program, &file, options, offset, length, scratch),
        };
        (result, engine.take_log())
    });
    write_result(record, &result, !log.is_empty());
    let code = outcome_code(&result.outcome);
    LAST.with(|last| *last.borrow_mut() = Last { result: Some(result), log });
    env.number(code as f64)
}

/// `xrpSyncDetails(): [message, log, fault | null]` — of the last
/// `xrpRunSyncLean` on this thread: how it ended in words, what its program
/// logged, and the VM's fault code for PROGRAM_ERROR.
fn details(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    LAST.with(|last| {
        let last = last.borrow();
        let message = last.result.as_ref().map_or_else(|| "no chain has run".to_string(), |r| r.outcome.to_string());
        let fault = match last.result.as_ref().map(|r| &r.outcome) {
            Some(Outcome::ProgramError(e)) => env.string(e.code())?,
            _ => env.null()?,
        };
        let out = env.array(3)?;
        env.set_element(out, 0, env.string(&message)?)?;
        env.set_element(out, 1, env.string(&last.log)?)?;
        env.set_element(out, 2, fault)?;
        Ok(out)
    })
}
