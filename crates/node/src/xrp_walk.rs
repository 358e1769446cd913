//! The plain baselines the XRP benchmarks compare chains with, as BPF-KV's
//! own benchmark runs them: threads of native code, no BPF.
//! - `xrpWalkThreads`: each thread looks keys up in an xrpkv B+tree, from the
//!   root, one `pread` and one native binary search per level;
//! - `xrpReadThreads`: each thread reads pages, one `pread` each, and
//!   `xrpReadUring`: one io_uring keeps that many reads in flight: the
//!   device's own rate at that many reads in flight, the two ways.
//!
//! Both read through an `XrpFile` opened as the chains' is (`O_DIRECT` or
//! buffered), take the next lookup or read from a shared counter, and run
//! on the libuv pool, whose thread is one of the `threads`. Each item's
//! start and end come back in ns from the start of the call.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use ::xrp::{Page, XrpFile};

use crate::napi::{CallCtx, Env, ErrorKind, JsError, Method, Result, Value};
use crate::xrp_records::DIRECT_IO;

pub(crate) const METHODS: [(&str, Method); 3] =
    [("xrpWalkThreads", walk_threads), ("xrpReadThreads", read_threads), ("xrpReadUring", read_uring)];

/// `struct xrpkv_header` and the entries (bpf/include/xrpkv_format.h).
const HEADER: usize = 32;
const TYPE_AT: usize = 4;
const COUNT_AT: usize = 6;
const TYPE_BRANCH: u8 = 2;
const TYPE_LEAF: u8 = 3;
const BRANCH_FIXED: usize = 10;
const BRANCH_CHILD: usize = 2;
const LEAF_FIXED: usize = 8;
const LEAF_KIND: usize = 2;
const LEAF_VALUE_LEN: usize = 4;
const KIND_INLINE: u8 = 0;

/// What one level of a walk found.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Child(u64),
    Found(Range<usize>),
    Absent,
}

fn u16_at(p: &[u8], at: usize) -> usize {
    u16::from_le_bytes([p[at], p[at + 1]]) as usize
}

/// Searches `page` (of the level `leaf` says) for `key`, checking what it
/// reads as bpf/lookup.c does: the page's type, slots and entries inside
/// it. Branch: the child of the last entry whose key is at most `key`.
/// Leaf: where the inline value of an equal key lies in the page.
fn search(page: &[u8], key: &[u8], leaf: bool) -> std::result::Result<Step, String> {
    let want = if leaf { TYPE_LEAF } else { TYPE_BRANCH };
    if page[TYPE_AT] != want {
        return Err(format!("type {} where a {} belongs", page[TYPE_AT], if leaf { "leaf" } else { "branch" }));
    }
    let count = u16_at(page, COUNT_AT);
    let fixed = if leaf { LEAF_FIXED } else { BRANCH_FIXED };
    let low = HEADER + 2 * count;
    if low > page.len() {
        return Err(format!("{count} slots do not fit the page"));
    }
    let entry = |i: usize| -> std::result::Result<(usize, &[u8]), String> {
        let off = u16_at(page, HEADER + 2 * i);
        let end = off + fixed;
        if off < low || end > page.len() || end + u16_at(page, off) > page.len() {
            return Err(format!("entry {i} at {off} lies outside the entry area"));
        }
        Ok((off, &page[end..end + u16_at(page, off)]))
    };
    // The last entry whose key is <= `key`, and whether it equals it.
    let (mut lo, mut hi, mut below) = (0usize, count, None);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let (off, k) = entry(mid)?;
        match k.cmp(key) {
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Less => {
                below = Some((off, false));
                lo = mid + 1;
            }
            std::cmp::Ordering::Equal => {
                below = Some((off, true));
                break;
            }
        }
    }
    match (leaf, below) {
        (false, None) => Err("no entry covers the key".into()),
        (false, Some((off, _))) => {
            let child = u64::from_le_bytes(page[off + BRANCH_CHILD..off + BRANCH_CHILD + 8].try_into().expect("8 bytes"));
            Ok(Step::Child(child))
        }
        (true, Some((off, true))) => {
            if page[off + LEAF_KIND] != KIND_INLINE {
                return Err("an overflow value in a benchmark tree".into());
            }
            let len = u32::from_le_bytes(page[off + LEAF_VALUE_LEN..off + LEAF_VALUE_LEN + 4].try_into().expect("4 bytes"));
            let at = off + LEAF_FIXED + u16_at(page, off);
            let end = at + len as usize;
            if end > page.len() {
                return Err(format!("a value of {len} bytes runs past the page"));
            }
            Ok(Step::Found(at..end))
        }
        (true, _) => Ok(Step::Absent),
    }
}

/// The tree a walk reads: where its root is, how many levels, page size.
#[derive(Clone, Copy)]
struct Tree {
    root: u64,
    height: u32,
    page_size: usize,
}

/// Looks `key` up, reading into `page`; the value's bytes when found.
fn walk<'a>(file: &XrpFile, tree: Tree, key: &[u8], page: &'a mut Page) -> std::result::Result<Option<&'a [u8]>, String> {
    let mut page_no = tree.root;
    for level in 0..tree.height {
        let offset = page_no * tree.page_size as u64;
        match file.read_into(page, offset, tree.page_size) {
            Ok(n) if n == tree.page_size => {}
            Ok(n) => return Err(format!("page {page_no}: a short read of {n} bytes")),
            Err(errno) => return Err(format!("page {page_no}: {}", std::io::Error::from_raw_os_error(errno))),
        }
        let bytes = &page[..tree.page_size];
        match search(bytes, key, level + 1 == tree.height).map_err(|e| format!("page {page_no}: {e}"))? {
            Step::Child(child) => page_no = child,
            Step::Found(range) => return Ok(Some(&page[range])),
            Step::Absent => return Ok(None),
        }
    }
    Err(format!("no leaf after {} levels", tree.height))
}

/// One item done: when it started and finished (ns from the call's start), and what it gave.
type Done<T> = (f64, f64, T);

/// Runs `count` items on `threads` threads (this one among them): `item(i,
/// page)` for each, in no particular order; the first error stops them all.
/// Returns each item's times and result, in item order.
fn on_threads<T, F>(count: usize, threads: usize, start: Instant, item: F) -> std::result::Result<Vec<Done<T>>, String>
where
    T: Send,
    F: Fn(usize, &mut Page) -> std::result::Result<T, String> + Sync,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failed = Mutex::new(None::<String>);
    let work = || {
        let mut page = Page::new();
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count || stop.load(Ordering::Relaxed) {
                break;
            }
            let began = start.elapsed().as_nanos() as f64;
            match item(i, &mut page) {
                Ok(t) => done.push((i, (began, start.elapsed().as_nanos() as f64, t))),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                    break;
                }
            }
        }
        done
    };
    let mut all: Vec<(usize, Done<T>)> = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads.clamp(1, count.max(1))).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for t in others {
            all.extend(t.join().unwrap_or_default());
        }
        all
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    if all.len() != count {
        return Err("a worker thread panicked".into());
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, d)| d).collect())
}

/// Opens `path` as the chains' file is: `direct` is one of `DIRECT_IO`'s names.
fn open(cx: &CallCtx<'_>) -> Result<XrpFile> {
    let path = cx.path(0, "path")?;
    let direct = cx.choice(1, "direct", &DIRECT_IO)?;
    XrpFile::open(Path::new(&path), direct)
        .map_err(|e| JsError::new(ErrorKind::Error, format!("cannot open {path}: {e}")).code("OPEN_FAILED").into())
}

fn count_arg(cx: &CallCtx<'_>, i: usize, what: &str, max: f64) -> Result<usize> {
    match cx.number(i, what)? {
        Some(n) if n.fract() == 0.0 && (1.0..=max).contains(&n) => Ok(n as usize),
        other => Err(JsError::range_error(format!("{what} must be an integer from 1 to {max}, got {other:?}")).into()),
    }
}

/// `[records, elapsedNs]`: the buffer `fill` writes, and the call's time.
fn settle(env: Env, (out, len, elapsed): (Vec<u8>, usize, f64)) -> Result<Value> {
    let result = env.array(2)?;
    env.set_element(result, 0, env.buffer(len, |b| b.copy_from_slice(&out))?)?;
    env.set_element(result, 1, env.number(elapsed)?)?;
    Ok(result)
}

type Outcome = std::result::Result<(Vec<u8>, usize, f64), String>;

/// Settles with the buffer, or rejects with code WALK_FAILED and the message.
fn settle_outcome(env: Env, outcome: Outcome) -> Result<Value> {
    match outcome {
        Ok(done) => settle(env, done),
        Err(e) => Err(JsError::new(ErrorKind::Error, e).code("WALK_FAILED").into()),
    }
}

/// Bytes per lookup record of `xrpWalkThreads`: u32 found (0 or 1), u32
/// the value's length, f64 started ns, f64 finished ns.
const WALK_RECORD: usize = 24;

/// `xrpWalkThreads(path, direct, root, height, pageSize, keys, keyLen,
/// valueCap, threads): Promise<[out, elapsedNs]>` — every key of `keys`
/// (`keyLen` bytes each, back to back) looked up. `out`: a `WALK_RECORD`
/// per key, then `valueCap` bytes per key holding its value.
fn walk_threads(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let file = open(cx)?;
    let root = count_arg(cx, 2, "root", 2f64.powi(40))? as u64;
    let height = count_arg(cx, 3, "height", 32.0)? as u32;
    let page_size = count_arg(cx, 4, "pageSize", 4096.0)?;
    let key_len = count_arg(cx, 6, "keyLen", 512.0)?;
    let value_cap = count_arg(cx, 7, "valueCap", 4096.0)?;
    let threads = count_arg(cx, 8, "threads", 1024.0)?;
    let keys = cx.bytes(5, "keys")?.ok_or_else(|| JsError::type_error("keys must be a Uint8Array"))?.to_vec();
    if keys.len() % key_len != 0 {
        return Err(JsError::range_error(format!("keys must be a multiple of {key_len} bytes, got {}", keys.len())).into());
    }
    let tree = Tree { root, height, page_size };
    let work = move || -> Outcome {
        let start = Instant::now();
        let n = keys.len() / key_len;
        let done = on_threads(n, threads, start, |i, page| {
            let found = walk(&file, tree, &keys[i * key_len..(i + 1) * key_len], page)?;
            match found {
                Some(v) if v.len() > value_cap => Err(format!("a value of {} bytes is longer than valueCap", v.len())),
                v => Ok(v.map(<[u8]>::to_vec)),
            }
        })?;
        let elapsed = start.elapsed().as_nanos() as f64;
        let mut out = vec![0u8; n * (WALK_RECORD + value_cap)];
        let (records, data) = out.split_at_mut(n * WALK_RECORD);
        let slots = records.chunks_exact_mut(WALK_RECORD).zip(data.chunks_exact_mut(value_cap));
        for ((r, slot), (began, ended, value)) in slots.zip(done) {
            r[0..4].copy_from_slice(&u32::from(value.is_some()).to_le_bytes());
            if let Some(v) = value {
                r[4..8].copy_from_slice(&(v.len() as u32).to_le_bytes());
                slot[..v.len()].copy_from_slice(&v);
            }
            r[8..16].copy_from_slice(&began.to_le_bytes());
            r[16..24].copy_from_slice(&ended.to_le_bytes());
        }
        let len = out.len();
        Ok((out, len, elapsed))
    };
    env.promise("xrpkv:xrpWalkThreads", work, settle_outcome)
}

/// The `pages` argument (u64 page numbers, little-endian) as byte offsets.
fn offsets(cx: &mut CallCtx<'_>, i: usize, page_size: usize) -> Result<Vec<u64>> {
    let pages = cx.bytes(i, "pages")?.ok_or_else(|| JsError::type_error("pages must be a Uint8Array"))?;
    if pages.len() % 8 != 0 {
        return Err(JsError::range_error(format!("pages must be a multiple of 8 bytes, got {}", pages.len())).into());
    }
    Ok(pages.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) * page_size as u64).collect())
}

/// Each read's times, as `xrpReadThreads` and `xrpReadUring` return them.
fn times_out(times: impl Iterator<Item = (f64, f64)>, elapsed: f64) -> Outcome {
    let out: Vec<u8> = times.flat_map(|(a, b)| a.to_le_bytes().into_iter().chain(b.to_le_bytes())).collect();
    let len = out.len();
    Ok((out, len, elapsed))
}

/// `xrpReadThreads(path, direct, pageSize, pages, threads): Promise<[out,
/// elapsedNs]>` — one read of each page (`pages`: u64 page numbers,
/// little-endian) by `threads` threads doing `pread`. `out`: per read, f64
/// started ns and f64 finished ns.
fn read_threads(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let file = open(cx)?;
    let page_size = count_arg(cx, 2, "pageSize", 4096.0)?;
    let threads = count_arg(cx, 4, "threads", 1024.0)?;
    let offsets = offsets(cx, 3, page_size)?;
    let work = move || -> Outcome {
        let start = Instant::now();
        let times = on_threads(offsets.len(), threads, start, |i, page| match file.read_into(page, offsets[i], page_size) {
            Ok(n) if n == page_size => Ok(()),
            Ok(n) => Err(format!("a read at {}: {n} bytes of {page_size}", offsets[i])),
            Err(errno) => Err(format!("a read at {}: {}", offsets[i], std::io::Error::from_raw_os_error(errno))),
        })?;
        times_out(times.into_iter().map(|(a, b, ())| (a, b)), start.elapsed().as_nanos() as f64)
    };
    env.promise("xrpkv:xrpReadThreads", work, settle_outcome)
}

/// `xrpReadUring(path, direct, pageSize, pages, depth): Promise<[out,
/// elapsedNs]>` — as `xrpReadThreads`, through one io_uring with `depth`
/// reads in flight (xrp's plain.rs).
fn read_uring(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let file = open(cx)?;
    let page_size = count_arg(cx, 2, "pageSize", 4096.0)?;
    let depth = count_arg(cx, 4, "depth", 4096.0)? as u32;
    let offsets = offsets(cx, 3, page_size)?;
    let work = move || -> Outcome {
        let start = Instant::now();
        let times = ::xrp::plain::uring_reads(&file, &offsets, page_size, depth).map_err(|e| format!("io_uring reads: {e}"))?;
        let ns = |d: std::time::Duration| d.as_nanos() as f64;
        times_out(times.into_iter().map(|(a, b)| (ns(a), ns(b))), start.elapsed().as_nanos() as f64)
    };
    env.promise("xrpkv:xrpReadUring", work, settle_outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of `leaf` entries (key, value or child) in key order, slots in order.
    fn page(leaf: bool, entries: &[(&[u8], &[u8], u64)]) -> Vec<u8> {
        let mut p = vec![0u8; 4096];
        p[TYPE_AT] = if leaf { TYPE_LEAF } else { TYPE_BRANCH };
        p[COUNT_AT..COUNT_AT + 2].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        let mut at = 4096;
        for (i, (k, v, child)) in entries.iter().enumerate() {
            let mut e = (k.len() as u16).to_le_bytes().to_vec();
            if leaf {
                e.extend([KIND_INLINE, 0]);
                e.extend((v.len() as u32).to_le_bytes());
                e.extend(*k);
                e.extend(*v);
            } else {
                e.extend(child.to_le_bytes());
                e.extend(*k);
            }
            at -= e.len();
            p[at..at + e.len()].copy_from_slice(&e);
            p[HEADER + 2 * i..HEADER + 2 * i + 2].copy_from_slice(&(at as u16).to_le_bytes());
        }
        p
    }

    #[test]
    fn searches_branches_and_leaves() {
        let b = page(false, &[(b"", b"", 7), (b"f", b"", 8), (b"m", b"", 9)]);
        assert_eq!(search(&b, b"a", false), Ok(Step::Child(7)));
        assert_eq!(search(&b, b"f", false), Ok(Step::Child(8)));
        assert_eq!(search(&b, b"g", false), Ok(Step::Child(8)));
        assert_eq!(search(&b, b"zz", false), Ok(Step::Child(9)));
        let l = page(true, &[(b"a", b"one", 0), (b"b", b"", 0), (b"c", b"three", 0)]);
        let found = |k: &[u8]| match search(&l, k, true) {
            Ok(Step::Found(r)) => Some(l[r].to_vec()),
            Ok(Step::Absent) => None,
            other => panic!("{other:?}"),
        };
        assert_eq!(found(b"a"), Some(b"one".to_vec()));
        assert_eq!(found(b"b"), Some(vec![]));
        assert_eq!(found(b"c"), Some(b"three".to_vec()));
        assert_eq!(found(b"bb"), None);
        assert_eq!(found(b""), None);
    }

    #[test]
    fn refuses_what_does_not_parse() {
        let l = page(true, &[(b"a", b"one", 0)]);
        assert!(search(&l, b"a", false).unwrap_err().contains("where a branch belongs"));
        let mut bad = l.clone();
        bad[HEADER..HEADER + 2].copy_from_slice(&4095u16.to_le_bytes());
        assert!(search(&bad, b"a", true).unwrap_err().contains("outside the entry area"));
        let mut many = l;
        many[COUNT_AT..COUNT_AT + 2].copy_from_slice(&3000u16.to_le_bytes());
        assert!(search(&many, b"a", true).unwrap_err().contains("do not fit"));
        let b = page(false, &[(b"m", b"", 9)]);
        assert!(search(&b, b"a", false).unwrap_err().contains("no entry covers"));
    }
}
