//! A commit's pages, gathered in the addon's memory one call per page
//! before the commit job writes them (commit.rs).
//!
//! This copy is the only one the pages take on their way to the disk, and
//! the writer makes it in slices between turns of the event loop
//! (src/store/pager.ts, `stage`). Handing the job a commit's pages in one
//! buffer cost two copies of the whole commit in one turn, most of it page
//! faults on fresh memory: about 100 ms per 100,000 keys of a checkpoint
//! during which nothing else ran.
//!
//! A handle is made for a number of pages and its memory allocated once,
//! aligned for O_DIRECT. A commit takes the pages out (`take`); the handle
//! is then empty and refuses more.

use std::sync::Mutex;

use crate::aligned_bytes::AlignedBytes;
use crate::format::PAGE_SIZES;
use crate::napi::{CallCtx, JsError, Method, Result, TypeTag, Value, MAX_SAFE_INTEGER};

static STAGED_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_7374,
    upper: 0x6167_6564_5f70_6773,
};

pub(crate) const METHODS: [(&str, Method); 2] = [
    ("storeStagePages", stage_pages),
    ("storeStagePage", stage_page),
];

/// Pages in the order they were given, and their numbers.
pub(crate) struct Staged {
    pub(crate) data: AlignedBytes,
    pub(crate) numbers: Vec<u64>,
    pub(crate) page_size: usize,
}

/// The handle's state: `None` once a commit has taken the pages.
pub(crate) struct StagedPages(Mutex<Option<Staged>>);

/// `storeStagePages(pageSize, count): handle` — room for `count` pages.
fn stage_pages(cx: &mut CallCtx<'_>) -> Result<Value> {
    let page_size = cx.number(0, "pageSize")?.unwrap_or(0.0);
    if !PAGE_SIZES.iter().any(|&p| p as f64 == page_size) {
        let msg = format!("pageSize must be 512, 1024, 2048 or 4096, got {page_size}");
        return Err(JsError::range_error(msg).into());
    }
    let page_size = page_size as usize;
    let count = cx.number(1, "count")?.unwrap_or(-1.0);
    // 2^32 pages of 4 KiB is 16 TiB: far past any commit, and no overflow below.
    if !(count >= 0.0 && count <= u32::MAX as f64 && count.fract() == 0.0) {
        let msg = format!("count must be an integer from 0 to 2^32 - 1, got {count}");
        return Err(JsError::range_error(msg).into());
    }
    let count = count as usize;
    let staged = Staged {
        data: AlignedBytes::with_capacity(count * page_size),
        numbers: Vec::with_capacity(count),
        page_size,
    };
    let bytes = count * page_size;
    cx.env()
        .external(StagedPages(Mutex::new(Some(staged))), &STAGED_TAG, bytes)
}

/// `storeStagePage(handle, pageNo, page): null` — appends a copy of `page`.
fn stage_page(cx: &mut CallCtx<'_>) -> Result<Value> {
    let handle: &StagedPages = cx.external(0, &STAGED_TAG, "staged")?;
    let page_no = cx.number(1, "pageNo")?.unwrap_or(-1.0);
    if !(page_no >= 0.0 && page_no <= MAX_SAFE_INTEGER && page_no.fract() == 0.0) {
        let msg = format!("pageNo must be a non-negative integer, got {page_no}");
        return Err(JsError::range_error(msg).into());
    }
    let page = cx
        .bytes(2, "page")?
        .ok_or_else(|| JsError::type_error("page must be a Uint8Array"))?;
    let mut slot = handle.0.lock().unwrap_or_else(|p| p.into_inner());
    let staged = slot.as_mut().ok_or_else(already_taken)?;
    if page.len() != staged.page_size {
        let msg = format!("page must be {} bytes, got {}", staged.page_size, page.len());
        return Err(JsError::range_error(msg).into());
    }
    if !staged.data.push(page) {
        return Err(JsError::range_error("more pages than the handle was made for").into());
    }
    staged.numbers.push(page_no as u64);
    cx.env().null()
}

fn already_taken() -> JsError {
    JsError::range_error("these pages were already given to a commit")
}

/// The page size of the handle at argument `i`, whose pages are still there.
pub(crate) fn page_size(cx: &CallCtx<'_>, i: usize) -> Result<usize> {
    let handle: &StagedPages = cx.external(i, &STAGED_TAG, "staged")?;
    let slot = handle.0.lock().unwrap_or_else(|p| p.into_inner());
    Ok(slot.as_ref().ok_or_else(already_taken)?.page_size)
}

/// The pages of the handle at argument `i`, taken out of it.
pub(crate) fn take(cx: &mut CallCtx<'_>, i: usize) -> Result<Staged> {
    let handle: &StagedPages = cx.external(i, &STAGED_TAG, "staged")?;
    let mut slot = handle.0.lock().unwrap_or_else(|p| p.into_inner());
    slot.take().ok_or_else(|| already_taken().into())
}
