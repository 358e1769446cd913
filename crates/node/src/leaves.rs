//! Leaf pages encoded from leaf entries that are already in their on-page
//! form (docs/FORMAT.md: `keyLen` u16, `valueKind` u8, reserved u8,
//! `valueLen` u32, key, inline value or overflow page number; format.rs has
//! the offsets), back to back.
//!
//! A bulk load's batch is packed that way as it arrives (src/store/packed.ts),
//! so a commit's new leaves are each a run of those entries: cut into pages in
//! TypeScript (node.ts `cutPieces`, the one cutting rule), then written here,
//! checksums included, in one call instead of a few calls into Node per
//! entry. The bytes equal what src/store/page.ts `encodeLeaf` writes for the
//! same entries (test/store-leaves.test.ts compares them).
//!
//! A shuffled batch's entries, applied in key order, lie scattered in its
//! buffer: the caller then passes where each starts, and they are read from
//! there (a copy per entry in JavaScript, `Buffer.copy`, cost a tenth of a
//! 100,000-key commit).

use crate::format::{
    header, leaf_entry, max_inline, CHECKSUMMED, HEADER_SIZE, KIND_INLINE, KIND_OVERFLOW,
    OVERFLOW_REF, PAGE_SIZES, SLOT_SIZE, TYPE_LEAF,
};
use crate::napi::{CallCtx, JsError, Method, Result, Value, MAX_SAFE_INTEGER};
use xrp::crc32::crc32;

pub(crate) const METHODS: [(&str, Method); 1] = [("storeEncodeLeaves", encode_leaves)];

/// `storeEncodeLeaves(head, entries, counts, pageNos, pageSize, txid, starts?): Buffer`
/// — leaf pages `pageNos[k]` (u64 LE) of `counts[k]` (u32 LE) entries each,
/// taken in order from `head` then `entries`, every entry used once; page k
/// at `k * pageSize` of the result. With `starts` (a Uint32Array's bytes:
/// u32s in this machine's order), the entries
/// of `entries` are the ones starting at those offsets, in that order,
/// instead of all its bytes back to back. Bad arguments, entries that are
/// not in leaf form or do not fit their page throw RangeError or TypeError.
fn encode_leaves(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let page_size = cx.number(4, "pageSize")?.unwrap_or(0.0);
    if !PAGE_SIZES.iter().any(|&p| p as f64 == page_size) {
        let msg = format!("pageSize must be 512, 1024, 2048 or 4096, got {page_size}");
        return Err(JsError::range_error(msg).into());
    }
    let txid = cx.number(5, "txid")?.unwrap_or(-1.0);
    if !((0.0..=MAX_SAFE_INTEGER).contains(&txid) && txid.fract() == 0.0) {
        let msg = format!("txid must be an integer from 0 to 2^53-1, got {txid}");
        return Err(JsError::range_error(msg).into());
    }
    let counts: Vec<u32> = words(cx, 2, "counts", "page")?
        .map(u32::from_le_bytes)
        .collect();
    let page_nos: Vec<u64> = words(cx, 3, "pageNos", "page")?
        .map(u64::from_le_bytes)
        .collect();
    if counts.len() != page_nos.len() {
        let msg = format!(
            "counts name {} pages, pageNos {}",
            counts.len(),
            page_nos.len()
        );
        return Err(JsError::range_error(msg).into());
    }
    let starts: Option<Vec<usize>> = match cx.bytes(6, "starts")? {
        None => None,
        Some(_) => Some(
            words(cx, 6, "starts", "entry")?
                .map(|w| u32::from_ne_bytes(w) as usize)
                .collect(),
        ),
    };
    // Copied so that `entries` can be borrowed next: the head is at most a page.
    let head = required(cx.bytes(0, "head")?, "head")?.to_vec();
    let entries = required(cx.bytes(1, "entries")?, "entries")?;
    let body = match starts {
        None => Body::BackToBack {
            bytes: entries,
            at: 0,
        },
        Some(starts) => Body::Placed {
            bytes: entries,
            starts,
            next: 0,
        },
    };
    let layout = Layout {
        page_size: page_size as usize,
        txid: txid as u64,
    };
    let len = counts.len() * layout.page_size;
    let mut outcome = Ok(());
    let pages = env.buffer(len, |out| {
        outcome = layout.encode(&head, body, &counts, &page_nos, out)
    })?;
    outcome.map_err(JsError::range_error)?;
    Ok(pages)
}

fn required<'a>(bytes: Option<&'a mut [u8]>, what: &str) -> Result<&'a mut [u8]> {
    bytes.ok_or_else(|| JsError::type_error(format!("{what} must be a Uint8Array")).into())
}

/// Argument `i`'s bytes as words of `N` bytes, one per `unit` (a page, an entry).
fn words<const N: usize>(
    cx: &mut CallCtx<'_>,
    i: usize,
    what: &str,
    unit: &str,
) -> Result<impl Iterator<Item = [u8; N]>> {
    let bytes = required(cx.bytes(i, what)?, what)?;
    if bytes.len() % N != 0 {
        let msg = format!("{what} must hold {N} bytes per {unit}, got {}", bytes.len());
        return Err(JsError::range_error(msg).into());
    }
    let words: Vec<[u8; N]> = bytes
        .chunks_exact(N)
        .map(|c| {
            let mut w = [0; N];
            w.copy_from_slice(c);
            w
        })
        .collect();
    Ok(words.into_iter())
}

/// Where the entries after the head are: all of `bytes`, back to back, or
/// the ones starting at `starts`, in that order.
enum Body<'a> {
    BackToBack {
        bytes: &'a [u8],
        at: usize,
    },
    Placed {
        bytes: &'a [u8],
        starts: Vec<usize>,
        next: usize,
    },
}

/// The entries to write, in order: the head's, then the body's.
struct Entries<'a> {
    head: &'a [u8],
    head_at: usize,
    body: Body<'a>,
    taken: usize,
}

impl<'a> Entries<'a> {
    /// The next entry's bytes, checked to be a whole leaf entry with an
    /// inline value of at most `max_inline` bytes or an overflow reference.
    fn next(&mut self, max_inline: usize) -> std::result::Result<&'a [u8], String> {
        let n = self.taken;
        let (bytes, at) = if self.head_at < self.head.len() {
            (self.head, &mut self.head_at)
        } else {
            match &mut self.body {
                Body::BackToBack { bytes, at } if *at < bytes.len() => (*bytes, at),
                Body::Placed {
                    bytes,
                    starts,
                    next,
                } if *next < starts.len() => {
                    let start = starts[*next];
                    *next += 1;
                    if start > bytes.len() {
                        return Err(format!("entry {n} starts past the end of entries"));
                    }
                    let entry = entry_at(&bytes[start..], n, max_inline)?;
                    self.taken += 1;
                    return Ok(entry);
                }
                _ => return Err(format!("counts name more entries than the {n} given")),
            }
        };
        let entry = entry_at(&bytes[*at..], n, max_inline)?;
        *at += entry.len();
        self.taken += 1;
        Ok(entry)
    }

    /// Whether entries are left after the ones taken.
    fn left(&self) -> bool {
        self.head_at < self.head.len()
            || match &self.body {
                Body::BackToBack { bytes, at } => *at < bytes.len(),
                Body::Placed { starts, next, .. } => *next < starts.len(),
            }
    }
}

/// The leaf entry (entry `n` of the call) at the start of `bytes`, checked
/// to be whole, with an inline value of at most `max_inline` bytes or an
/// overflow reference.
fn entry_at(bytes: &[u8], n: usize, max_inline: usize) -> std::result::Result<&[u8], String> {
    if bytes.len() < leaf_entry::SIZE {
        return Err(format!("entry {n} is cut short"));
    }
    let key_len = u16_at(bytes, leaf_entry::KEY_LEN) as usize;
    let value_len = u32_at(bytes, leaf_entry::VALUE_LEN) as usize;
    let stored = match bytes[leaf_entry::VALUE_KIND] {
        KIND_INLINE if value_len <= max_inline => value_len,
        KIND_INLINE => {
            return Err(format!(
                "entry {n}'s inline value is too long ({value_len} bytes)"
            ))
        }
        KIND_OVERFLOW => OVERFLOW_REF,
        kind => return Err(format!("entry {n} has unknown value kind {kind}")),
    };
    if bytes[leaf_entry::RESERVED] != 0 {
        return Err(format!("entry {n}'s reserved byte is not 0"));
    }
    let len = leaf_entry::SIZE + key_len + stored;
    if len > bytes.len() {
        return Err(format!("entry {n} is cut short"));
    }
    Ok(&bytes[..len])
}

struct Layout {
    page_size: usize,
    txid: u64,
}

impl Layout {
    /// Writes the pages into `out` (zeroed, `counts.len()` pages long).
    fn encode(
        &self,
        head: &[u8],
        body: Body<'_>,
        counts: &[u32],
        page_nos: &[u64],
        out: &mut [u8],
    ) -> std::result::Result<(), String> {
        let p = self.page_size;
        let max_inline = max_inline(p);
        let mut entries = Entries {
            head,
            head_at: 0,
            body,
            taken: 0,
        };
        for ((page, &count), &page_no) in out.chunks_exact_mut(p).zip(counts).zip(page_nos) {
            let n = count as usize;
            let slots_end = HEADER_SIZE + SLOT_SIZE * n;
            if slots_end > p {
                return Err(format!("{n} entries overflow a page of {p} bytes"));
            }
            page[header::TYPE] = TYPE_LEAF;
            put(page, header::COUNT, &(n as u16).to_le_bytes());
            put(page, header::PAGE_NO, &page_no.to_le_bytes());
            put(page, header::TXID, &self.txid.to_le_bytes());
            // Entries packed from the end of the page down, slots in order.
            let mut end = p;
            for i in 0..n {
                let entry = entries.next(max_inline)?;
                if entry.len() > end - slots_end {
                    return Err(format!("the entries of page {page_no} overflow it"));
                }
                end -= entry.len();
                put(
                    page,
                    HEADER_SIZE + SLOT_SIZE * i,
                    &(end as u16).to_le_bytes(),
                );
                put(page, end, entry);
            }
            let sum = crc32(&page[CHECKSUMMED..]);
            put(page, header::CHECKSUM, &sum.to_le_bytes());
        }
        if entries.left() {
            let n = entries.taken;
            return Err(format!("counts name {n} entries, but more were given"));
        }
        Ok(())
    }
}

/// `bytes` written into `page` at `at`.
fn put(page: &mut [u8], at: usize, bytes: &[u8]) {
    page[at..at + bytes.len()].copy_from_slice(bytes);
}

/// The u16 (little-endian) at `at`.
fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// The u32 (little-endian) at `at`.
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}
