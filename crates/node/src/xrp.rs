//! The XRP runtime for JS: programs and files as tagged externals; chains run
//! as a promise, or many at once as a batch; the kernel probe. Chains on the
//! calling thread take the lean path of xrp_sync.rs. `src/native.ts` types
//! these functions, `src/xrp.ts` is the API.
//!
//! Programs and files are `Arc`-shared: a run queued on the libuv pool takes
//! its own references, so neither garbage collection nor `close` can pull
//! them from under it. A closed file's descriptor closes when its last run ends.
//!
//! Chains travel packed, to keep Node-API calls per chain at zero: in, one
//! chain record per chain and optionally the same number of scratch bytes
//! each; out, one result record per chain, the first `keep` bytes of each
//! final scratch page, and sparse arrays of strings.
//! xrp_records.rs holds the records and the names the choice arguments
//! take, which `native.xrp` exports.

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ::xrp::abi::PAGE_SIZE;
use ::xrp::{
    probe, Backend, BatchChain, BatchEngine, ChainOptions, ChainReport, DirectIo, Outcome,
    PageCheck, Probe, SyncEngine, XrpFile, DEFAULT_HOP_LIMIT, DEFAULT_QUEUE_DEPTH,
};
use ebpf::{Helpers, Program, DEFAULT_BUDGET};

use crate::napi::{CallCtx, Env, ErrorKind, JsError, Method, Prop, Result, TypeTag, Value};
use crate::xrp_records::{
    chain_record, write_record, BatchIo, BATCH_IO, DIRECT_IO, MODES, RESULT_RECORD,
};

static PROGRAM_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_7872,
    upper: 0x705f_7072_6f67_7631,
};
static FILE_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_7872,
    upper: 0x705f_6669_6c65_7631,
};

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
/// Pool threads a batch uses when asked for threads instead of io_uring (as
/// `BatchEngine`'s own fallback).
const MAX_BATCH_THREADS: u32 = 4;

pub(crate) const METHODS: [(&str, Method); 8] = [
    ("xrpLoadElf", load_elf),
    ("xrpProgramInfo", program_info),
    ("xrpOpen", open),
    ("xrpFileInfo", file_info),
    ("xrpClose", close),
    ("xrpProbe", probe_backend),
    ("xrpRun", run_async),
    ("xrpRunBatch", run_batch),
];

fn xrp_error(code: &'static str, message: impl Into<String>) -> JsError {
    JsError::new(ErrorKind::Error, message).code(code)
}

/// A file handle's state: `close` empties it.
pub(crate) struct FileHandle(RefCell<Option<Arc<XrpFile>>>);

/// Argument `i` as a program loaded by `xrpLoadElf`.
pub(crate) fn xrp_program<'cx>(cx: &CallCtx<'cx>, i: usize) -> Result<&'cx Arc<Program>> {
    cx.external(i, &PROGRAM_TAG, "program")
}

/// `xrpLoadElf(object: Uint8Array, selector?: string, jit?: boolean): handle`
fn load_elf(cx: &mut CallCtx<'_>) -> Result<Value> {
    let selector = cx.string(1, "section")?;
    let engine = crate::engine_arg(cx, 2)?;
    let env = cx.env();
    let object = cx
        .bytes(0, "object")?
        .ok_or_else(|| JsError::type_error("object must be a Uint8Array or Buffer"))?;
    // Compiled here, once per load: every chain and run shares the code.
    let program = Program::from_elf_with(object, selector.as_deref(), &Helpers::standard(), engine)
        .map_err(crate::load_error)?;
    let hint = 512 + program.len() * 16 + program.name().len();
    env.external(Arc::new(program), &PROGRAM_TAG, hint)
}

/// `xrpProgramInfo(handle): { name, length, engine, engineReason }`
fn program_info(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    crate::program_info_object(env, xrp_program(cx, 0)?)
}

/// `xrpOpen(path: string, direct?: 'auto' | 'require' | 'off', pageCheck?: Uint32Array): handle`
/// — `pageCheck`, when given, is `[pageSize, checksumAt, coveredFrom,
/// pageNoAt]` (pageNoAt 0xffffffff: the pages record no number): every page
/// a chain reads is checked against it before its program runs (xrp's page_check.rs).
fn open(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let path = cx.path(0, "path")?;
    let direct = cx.choice(1, "direct", &DIRECT_IO)?;
    let check = match cx.bytes(2, "pageCheck")? {
        None => None,
        Some(b) if b.len() == 16 => {
            let word =
                |i: usize| u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().expect("4 bytes"));
            let page_no_at = (word(3) != u32::MAX).then(|| word(3));
            Some(PageCheck {
                page_size: word(0),
                checksum_at: word(1),
                covered_from: word(2),
                page_no_at,
            })
        }
        Some(b) => {
            let msg = format!("pageCheck must be 4 u32 (16 bytes), got {} bytes", b.len());
            return Err(JsError::range_error(msg).into());
        }
    };
    let path = Path::new(&path);
    // A directory opens for reading, but no chain could read it: say so now.
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        let e = std::io::Error::from_raw_os_error(21);
        return Err(open_error(&e, direct, path).into());
    }
    let mut file = XrpFile::open(path, direct).map_err(|e| open_error(&e, direct, path))?;
    file.set_page_check(check)
        .map_err(|e| JsError::range_error(format!("pageCheck: {e}")))?;
    env.external(
        FileHandle(RefCell::new(Some(Arc::new(file)))),
        &FILE_TAG,
        512,
    )
}

fn open_error(e: &std::io::Error, direct: DirectIo, path: &Path) -> JsError {
    let path = path.display();
    let unsupported = e.raw_os_error() == Some(22) || e.kind() == std::io::ErrorKind::Unsupported;
    if direct == DirectIo::Require && unsupported {
        return xrp_error(
            "NO_DIRECT_IO",
            format!("{path}: direct I/O (O_DIRECT) was required: {e}"),
        );
    }
    let err = xrp_error("OPEN_FAILED", format!("cannot open {path}: {e}"));
    match e.raw_os_error() {
        Some(errno) => err.prop("errno", Prop::Number(errno as f64)),
        None => err,
    }
}

pub(crate) fn file_handle<'cx>(cx: &CallCtx<'cx>, i: usize) -> Result<&'cx FileHandle> {
    cx.external(i, &FILE_TAG, "file")
}

pub(crate) fn open_file(handle: &FileHandle) -> Result<Arc<XrpFile>> {
    let file = handle.0.borrow().clone();
    file.ok_or_else(|| xrp_error("FILE_CLOSED", "the file is closed").into())
}

/// `xrpFileInfo(handle): [size, blockSize, direct, access]`
fn file_info(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let file = open_file(file_handle(cx, 0)?)?;
    let info = env.array(4)?;
    env.set_element(info, 0, env.number(file.size() as f64)?)?;
    env.set_element(info, 1, env.number(file.block_size() as f64)?)?;
    env.set_element(info, 2, env.boolean(file.is_direct())?)?;
    env.set_element(info, 3, env.string(file.access())?)?;
    Ok(info)
}

/// `xrpClose(handle): boolean` — whether it was open. Runs in flight keep the
/// descriptor open until they end.
fn close(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let was_open = file_handle(cx, 0)?.0.borrow_mut().take().is_some();
    env.boolean(was_open)
}

/// `xrpProbe(): [backend: 'kernel' | 'emulator', reason]`, probed once per process.
fn probe_backend(cx: &mut CallCtx<'_>) -> Result<Value> {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    let env = cx.env();
    let p = PROBE.get_or_init(probe);
    let backend = match p.backend {
        Backend::Kernel { .. } => "kernel",
        Backend::Emulator => "emulator",
    };
    let out = env.array(2)?;
    env.set_element(out, 0, env.string(backend)?)?;
    env.set_element(out, 1, env.string(&p.reason)?)?;
    Ok(out)
}

/// An integer argument in `min..=max`, or `default` when undefined.
fn int_arg(
    cx: &CallCtx<'_>,
    i: usize,
    what: &str,
    min: f64,
    max: f64,
    default: u64,
) -> Result<u64> {
    match cx.number(i, what)? {
        None => Ok(default),
        Some(n) if n.fract() == 0.0 && (min..=max).contains(&n) => Ok(n as u64),
        Some(n) => Err(JsError::range_error(format!(
            "{what} must be an integer from {min} to {max}, got {n}"
        ))
        .into()),
    }
}

/// What every run function takes: `(program, file, chains, scratch?, mode?,
/// hopLimit?, budget?, ...)`, copied out of the call's buffers. Scratch
/// pages are made on the pool thread (`Request::slab`), not here.
struct Request {
    program: Arc<Program>,
    file: Arc<XrpFile>,
    options: ChainOptions,
    /// Each chain's first read: (offset, length).
    starts: Vec<(u64, usize)>,
    /// Chain `i`'s scratch page starts as `prefixes[i * stride..][..stride]`, then zeros.
    prefixes: Vec<u8>,
    stride: usize,
    /// Bytes of each final scratch page that come back, from its start.
    keep: usize,
}

impl Request {
    /// Every chain's scratch page, back to back: one allocation per batch
    /// (an aligned `Page` per chain cost up to 85 ms a thousand, in glibc's memalign).
    fn slab(&self) -> Vec<u8> {
        let mut slab = vec![0u8; self.starts.len() * PAGE_SIZE];
        if self.stride > 0 {
            for (page, prefix) in slab.chunks_exact_mut(PAGE_SIZE).zip(self.prefixes.chunks_exact(self.stride)) {
                page[..self.stride].copy_from_slice(prefix);
            }
        }
        slab
    }

    /// The chains, their scratch pages in `slab`.
    fn chains<'s>(&self, slab: &'s mut [u8]) -> Vec<BatchChain<&'s mut [u8]>> {
        let pages = slab.chunks_exact_mut(PAGE_SIZE);
        self.starts.iter().zip(pages).map(|(&(offset, len), scratch)| BatchChain { offset, len, scratch }).collect()
    }
}

/// `request` with `keep` (argument `keep_at`, default a page) of each final scratch page to return.
fn request(cx: &mut CallCtx<'_>, keep_at: usize) -> Result<Request> {
    let program = Arc::clone(xrp_program(cx, 0)?);
    let handle = file_handle(cx, 1)?;
    let mode = cx.choice(4, "mode", &MODES)?;
    let hop_limit = int_arg(cx, 5, "hopLimit", 1.0, u32::MAX as f64, DEFAULT_HOP_LIMIT as u64)? as u32;
    let budget = int_arg(cx, 6, "budget", 1.0, MAX_SAFE_INTEGER, DEFAULT_BUDGET)?;
    let keep = int_arg(cx, keep_at, "keep", 0.0, PAGE_SIZE as f64, PAGE_SIZE as u64)? as usize;
    let options = ChainOptions { mode, hop_limit, budget };

    let records = cx.bytes(2, "chains")?.ok_or_else(|| JsError::type_error("chains must be a Uint8Array"))?;
    let size = chain_record::SIZE;
    if records.len() % size != 0 {
        let msg = format!("chains must be a multiple of {size} bytes, got {}", records.len());
        return Err(JsError::range_error(msg).into());
    }
    let mut starts = Vec::with_capacity(records.len() / size);
    for (i, r) in records.chunks_exact(size).enumerate() {
        let (offset, len) = chain_record::read(r);
        let len = match len as usize {
            0 => options.first_read_len(),
            n => n,
        };
        if offset % 512 != 0 {
            let msg = format!("chain {i}: offset {offset} is not a multiple of 512");
            return Err(JsError::range_error(msg).into());
        }
        if len % 512 != 0 || len > PAGE_SIZE {
            let msg = format!("chain {i}: length {len} is not a multiple of 512 from 512 to 4096");
            return Err(JsError::range_error(msg).into());
        }
        starts.push((offset, len));
    }
    let n = starts.len();
    let (prefixes, stride) = match cx.bytes(3, "scratch")? {
        None | Some([]) => (Vec::new(), 0),
        // The same number of bytes for each chain, at most a page: the start
        // of its page; the rest of the page stays zero.
        Some(s) if n > 0 && s.len() % n == 0 && s.len() / n <= PAGE_SIZE => (s.to_vec(), s.len() / n),
        Some(s) => {
            let msg = format!(
                "scratch must be empty or the same number of bytes for each of the {n} chains, at most {PAGE_SIZE} each; got {}",
                s.len()
            );
            return Err(JsError::range_error(msg).into());
        }
    };
    // Last: a closed file is a fault of the call, not of its arguments.
    let file = open_file(handle)?;
    Ok(Request { program, file, options, starts, prefixes, stride, keep })
}

/// Chains that ran, with their scratch pages (a slab) and how reads were done.
struct Ran {
    reports: Vec<ChainReport>,
    scratch: Vec<u8>,
    keep: usize,
    io: String,
    elapsed: Duration,
}

/// Runs each chain in turn with the sync engine (one `pread` per hop).
fn run_one_by_one(req: Request) -> Ran {
    let start = Instant::now();
    let mut slab = req.slab();
    let mut engine = SyncEngine::new();
    let reports = req
        .chains(&mut slab)
        .into_iter()
        .map(|c| {
            let started = start.elapsed();
            let result = engine.run(&req.program, &req.file, req.options, c.offset, c.len, c.scratch);
            ChainReport { result, log: engine.take_log(), started, finished: start.elapsed() }
        })
        .collect();
    let io = "pread, one read per hop".into();
    Ran { reports, scratch: slab, keep: req.keep, io, elapsed: start.elapsed() }
}

/// Runs all chains at once with the batch engine: on threads when asked
/// for, else as the file's device measured (xrp's io_choice.rs).
fn run_all_at_once(req: Request, depth: u32, threads: bool) -> Ran {
    let start = Instant::now();
    let mut slab = req.slab();
    let mut engine = if threads {
        BatchEngine::with_threads(&req.program, depth.min(MAX_BATCH_THREADS) as usize)
    } else {
        BatchEngine::for_file(&req.program, depth, &req.file)
    };
    let reports = engine.run_reported(&req.file, req.options, &mut req.chains(&mut slab));
    let io = engine.io();
    drop(engine);
    Ran { reports, scratch: slab, keep: req.keep, io, elapsed: start.elapsed() }
}

/// `[out, messages, logs, faults, io, elapsedNs]`: `out` holds the records,
/// then a scratch page per chain (one buffer: creating a Node buffer costs as
/// much as a one-hop chain's read). messages for chains not DONE, logs where
/// not empty, the VM's fault code for PROGRAM_ERROR; each of the three is
/// null when no chain has one. What promises settle with.
fn ran_in_buffer(env: Env, ran: Ran) -> Result<Value> {
    let n = ran.reports.len();
    let out = env.buffer(n * (RESULT_RECORD + ran.keep), |b| write_out(b, &ran))?;
    let sparse = |pick: &dyn Fn(&ChainReport) -> Option<String>| -> Result<Value> {
        if ran.reports.iter().all(|r| pick(r).is_none()) {
            return env.null();
        }
        let array = env.array(n)?;
        for (i, report) in ran.reports.iter().enumerate() {
            if let Some(text) = pick(report) {
                env.set_element(array, i as u32, env.string(&text)?)?;
            }
        }
        Ok(array)
    };
    let messages =
        sparse(&|r| (r.result.outcome != Outcome::Done).then(|| r.result.outcome.to_string()))?;
    let faults = sparse(&|r| match &r.result.outcome {
        Outcome::ProgramError(e) => Some(e.code().to_string()),
        _ => None,
    })?;
    let logs = sparse(&|r| (!r.log.is_empty()).then(|| r.log.clone()))?;
    let result = env.array(6)?;
    let parts = [
        out,
        messages,
        logs,
        faults,
        env.string(&ran.io)?,
        env.number(ran.elapsed.as_nanos() as f64)?,
    ];
    for (i, v) in parts.into_iter().enumerate() {
        env.set_element(result, i as u32, v)?;
    }
    Ok(result)
}

/// The records, then the first `keep` bytes of each final scratch page, into `b` (at least that long).
fn write_out(b: &mut [u8], ran: &Ran) {
    let n = ran.reports.len();
    let (records, kept) = b.split_at_mut(n * RESULT_RECORD);
    for (out, report) in records.chunks_exact_mut(RESULT_RECORD).zip(&ran.reports) {
        write_record(out, report);
    }
    if ran.keep > 0 {
        for (out, page) in kept.chunks_exact_mut(ran.keep).zip(ran.scratch.chunks_exact(PAGE_SIZE)) {
            out.copy_from_slice(&page[..ran.keep]);
        }
    }
}

/// `xrpRun(program, file, chains, scratch?, mode?, hopLimit?, budget?, keep?)`:
/// the chains one after another with the sync engine, on the libuv pool;
/// returns a promise. `keep`: bytes of each final scratch page returned (default 4096).
fn run_async(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let req = request(cx, 7)?;
    env.promise("xrpkv:xrpRun", move || run_one_by_one(req), ran_in_buffer)
}

/// `xrpRunBatch(program, file, chains, scratch?, mode?, hopLimit?, budget?, depth?, io?: 'auto' | 'threads', keep?)`:
/// all chains in flight at once on the libuv pool; returns a promise.
fn run_batch(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let depth = int_arg(cx, 7, "depth", 1.0, 4096.0, DEFAULT_QUEUE_DEPTH as u64)? as u32;
    let threads = cx.choice(8, "io", &BATCH_IO)? == BatchIo::Threads;
    let req = request(cx, 9)?;
    env.promise(
        "xrpkv:xrpRunBatch",
        move || run_all_at_once(req, depth, threads),
        ran_in_buffer,
    )
}
