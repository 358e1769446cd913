//! The page format as this crate writes it (docs/FORMAT.md): copies of what
//! bpf/include/xrpkv_format.h declares. `native.format` exports them, and
//! test/format-layout.test.ts checks them against what clang compiles from
//! the header, so a copy that drifts fails there.

use crate::napi::{Env, Result, Value};

/// The page sizes a file may have (`xrpkv_page_size_ok`).
pub(crate) const PAGE_SIZES: [usize; 4] = [512, 1024, 2048, 4096];
/// Pages 0 and 1 are the meta pages (`XRPKV_META_PAGES`).
pub(crate) const META_PAGES: u64 = 2;
/// `XRPKV_HEADER_SIZE`: the slot array starts here.
pub(crate) const HEADER_SIZE: usize = 32;
/// A slot: the u16 offset of an entry (`XRPKV_SLOT_SIZE`).
pub(crate) const SLOT_SIZE: usize = 2;

/// `struct xrpkv_header`: offsets in the page.
pub(crate) mod header {
    pub(crate) const CHECKSUM: usize = 0;
    pub(crate) const TYPE: usize = 4;
    pub(crate) const COUNT: usize = 6;
    pub(crate) const PAGE_NO: usize = 8;
    pub(crate) const TXID: usize = 16;
}

/// The checksum covers the page from here (past itself) to its end.
pub(crate) const CHECKSUMMED: usize = header::CHECKSUM + 4;

/// `XRPKV_TYPE_LEAF`.
pub(crate) const TYPE_LEAF: u8 = 3;

/// `struct xrpkv_leaf_entry`: offsets in the entry; its key follows at `SIZE`.
pub(crate) mod leaf_entry {
    pub(crate) const KEY_LEN: usize = 0;
    pub(crate) const VALUE_KIND: usize = 2;
    pub(crate) const RESERVED: usize = 3;
    pub(crate) const VALUE_LEN: usize = 4;
    pub(crate) const SIZE: usize = 8;
}

/// A leaf entry's `valueKind` (`XRPKV_KIND_*`).
pub(crate) const KIND_INLINE: u8 = 0;
pub(crate) const KIND_OVERFLOW: u8 = 1;
/// What follows an overflow value's key: its first overflow page, a u64 (`XRPKV_OVERFLOW_REF`).
pub(crate) const OVERFLOW_REF: usize = 8;

/// The longest value a leaf of `page_size` bytes holds inline (`xrpkv_max_inline`).
pub(crate) fn max_inline(page_size: usize) -> usize {
    page_size / 4 - 16
}

/// `native.format`: the constants above, named as TypeScript names them
/// (src/format/page.ts), `maxInline` for each of `pageSizes`.
pub(crate) fn export(env: Env, exports: Value) -> Result<()> {
    let list = |items: &mut dyn Iterator<Item = usize>| -> Result<Value> {
        let items: Vec<usize> = items.collect();
        let a = env.array(items.len())?;
        for (i, n) in items.into_iter().enumerate() {
            env.set_element(a, i as u32, env.number(n as f64)?)?;
        }
        Ok(a)
    };
    let format = env.numbers(&[
        ("headerSize", HEADER_SIZE),
        ("metaPages", META_PAGES as usize),
        ("slotSize", SLOT_SIZE),
        ("leafEntrySize", leaf_entry::SIZE),
        ("overflowRef", OVERFLOW_REF),
    ])?;
    let fields = [
        (
            "header",
            env.numbers(&[
                ("checksum", header::CHECKSUM),
                ("type", header::TYPE),
                ("count", header::COUNT),
                ("pageNo", header::PAGE_NO),
                ("txid", header::TXID),
            ])?,
        ),
        (
            "leafEntry",
            env.numbers(&[
                ("keyLen", leaf_entry::KEY_LEN),
                ("valueKind", leaf_entry::VALUE_KIND),
                ("reserved", leaf_entry::RESERVED),
                ("valueLen", leaf_entry::VALUE_LEN),
            ])?,
        ),
        ("pageTypes", env.numbers(&[("leaf", TYPE_LEAF as usize)])?),
        (
            "valueKinds",
            env.numbers(&[
                ("inline", KIND_INLINE as usize),
                ("overflow", KIND_OVERFLOW as usize),
            ])?,
        ),
        ("pageSizes", list(&mut PAGE_SIZES.into_iter())?),
        (
            "maxInline",
            list(&mut PAGE_SIZES.into_iter().map(max_inline))?,
        ),
    ];
    for (name, value) in fields {
        env.set(format, name, value)?;
    }
    env.set(exports, "format", format)
}
