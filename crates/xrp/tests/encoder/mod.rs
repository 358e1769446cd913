//! A test-only encoder of `docs/FORMAT.md`, written from the document alone
//! (independent of the TypeScript store): bulk-builds an xrpkv file of a given
//! page size from sorted entries, and reads one back to check itself.
//!
//! Built files exercise what readers must not assume: page numbers are a
//! random permutation (children are not in file order), entries are packed
//! in a shuffled physical order (only the slot array is in key order), pages
//! are filled to random levels, and branch separators are either the right
//! child's first key or its shortest prefix above the left child's last key.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::support::Rng;

pub const HEADER: usize = 32;
pub const TYPE_META: u8 = 1;
pub const TYPE_BRANCH: u8 = 2;
pub const TYPE_LEAF: u8 = 3;
pub const TYPE_OVERFLOW: u8 = 4;
pub const PAGE_SIZES: [usize; 4] = [512, 1024, 2048, 4096];

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

pub fn max_key_len(page_size: usize) -> usize {
    (page_size / 4 - 24).min(511)
}

pub fn max_inline(page_size: usize) -> usize {
    page_size / 4 - 16
}

/// zlib's CRC-32 (reflected, polynomial 0xEDB88320), table-driven.
pub fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (n, slot) in t.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    !bytes.iter().fold(!0u32, |c, &b| table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

/// Where a key's value lives in a built file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    Inline(Vec<u8>),
    /// First overflow page and the value's length.
    Overflow { first: u64, len: u32 },
}

/// A built file and what it holds.
#[derive(Clone)]
pub struct Tree {
    pub page_size: usize,
    pub bytes: Vec<u8>,
    pub root: u64,
    pub height: u32,
    /// The entries in key order, with where each value is stored.
    pub entries: Vec<(Vec<u8>, Vec<u8>, Stored)>,
    /// Branch pages, root first by level, and leaf pages, in key order.
    pub branches: Vec<u64>,
    pub leaves: Vec<u64>,
}

impl Tree {
    pub fn page(&self, n: u64) -> &[u8] {
        &self.bytes[n as usize * self.page_size..(n as usize + 1) * self.page_size]
    }

    pub fn page_mut(&mut self, n: u64) -> &mut [u8] {
        let p = self.page_size;
        &mut self.bytes[n as usize * p..(n as usize + 1) * p]
    }

    /// The stored value of `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&Stored> {
        self.entries.binary_search_by(|(k, _, _)| k.as_slice().cmp(key)).ok().map(|i| &self.entries[i].2)
    }

    /// The pages a lookup of `key` reads, root first (what a lookup must follow).
    pub fn path(&self, key: &[u8]) -> Vec<u64> {
        let mut page = self.root;
        let mut path = vec![page];
        while self.page(page)[4] == TYPE_BRANCH {
            let entries = slotted(self.page(page), TYPE_BRANCH);
            let i = entries.iter().rposition(|(k, _)| k.as_slice() <= key).expect("entry 0 is empty");
            page = u64::from_le_bytes(entries[i].1[..8].try_into().unwrap());
            path.push(page);
        }
        path
    }
}

enum LeafValue {
    Inline(Vec<u8>),
    /// Length, and the node of the first overflow page.
    Overflow(u32, usize),
}

enum Node {
    Leaf(Vec<(Vec<u8>, LeafValue)>),
    Branch(Vec<(Vec<u8>, usize)>),
    Overflow(Vec<u8>, Option<usize>),
}

fn leaf_entry_size(key: &[u8], value: &LeafValue) -> usize {
    2 + 8 + key.len() + match value {
        LeafValue::Inline(v) => v.len(),
        LeafValue::Overflow(..) => 8,
    }
}

/// A fill target for one page: between half and all of its usable bytes.
fn target(rng: &mut Rng, usable: usize) -> usize {
    if rng.chance(30) {
        usable
    } else {
        usable / 2 + rng.below(usable / 2 + 1)
    }
}

/// The separator between a left subtree whose last key is `left` and a right
/// one whose first key is `right`: `right`, or its shortest prefix above `left`.
fn separator(rng: &mut Rng, left: &[u8], right: &[u8]) -> Vec<u8> {
    if rng.chance(50) {
        return right.to_vec();
    }
    (0..=right.len()).map(|l| &right[..l]).find(|p| *p > left).expect("right > left").to_vec()
}

/// Builds a file of `page_size` pages holding `entries` (sorted, unique keys).
pub fn build(page_size: usize, entries: &[(Vec<u8>, Vec<u8>)], rng: &mut Rng) -> Tree {
    let p = page_size;
    assert!(PAGE_SIZES.contains(&p));
    assert!(entries.windows(2).all(|w| w[0].0 < w[1].0), "sorted, unique keys");
    let usable = p - HEADER;
    let mut nodes: Vec<Node> = Vec::new();

    // Leaves (with their values' overflow chains), packed to random fills.
    let mut level: Vec<(usize, Vec<u8>, Vec<u8>)> = Vec::new(); // (node, first key, last key)
    let mut current: Vec<(Vec<u8>, LeafValue)> = Vec::new();
    let mut used = 0;
    let mut goal = target(rng, usable);
    let close = |nodes: &mut Vec<Node>, level: &mut Vec<(usize, Vec<u8>, Vec<u8>)>, leaf: Vec<(Vec<u8>, LeafValue)>| {
        let first = leaf.first().map(|e| e.0.clone()).unwrap_or_default();
        let last = leaf.last().map(|e| e.0.clone()).unwrap_or_default();
        nodes.push(Node::Leaf(leaf));
        level.push((nodes.len() - 1, first, last));
    };
    for (key, value) in entries {
        assert!(key.len() <= max_key_len(p), "key of {} bytes", key.len());
        let stored = if value.len() <= max_inline(p) {
            LeafValue::Inline(value.clone())
        } else {
            let chunks: Vec<&[u8]> = value.chunks(p - HEADER).collect();
            let first = nodes.len();
            for (i, chunk) in chunks.iter().enumerate() {
                let next = (i + 1 < chunks.len()).then_some(first + i + 1);
                nodes.push(Node::Overflow(chunk.to_vec(), next));
            }
            LeafValue::Overflow(value.len() as u32, first)
        };
        let size = leaf_entry_size(key, &stored);
        if !current.is_empty() && (used + size > goal || used + size > usable) {
            close(&mut nodes, &mut level, std::mem::take(&mut current));
            used = 0;
            goal = target(rng, usable);
        }
        used += size;
        current.push((key.clone(), stored));
    }
    close(&mut nodes, &mut level, current);
    let leaf_nodes: Vec<usize> = level.iter().map(|l| l.0).collect();

    // Branch levels until one node is left: the root.
    let mut height: u32 = 1;
    let mut branch_levels: Vec<Vec<usize>> = Vec::new();
    while level.len() > 1 {
        let mut next_level = Vec::new();
        let mut i = 0;
        while i < level.len() {
            let goal = target(rng, usable);
            let mut branch: Vec<(Vec<u8>, usize)> = vec![(Vec::new(), level[i].0)];
            let first = level[i].1.clone();
            let mut used = 2 + 10;
            i += 1;
            while i < level.len() {
                let sep = separator(rng, &level[i - 1].2, &level[i].1);
                let size = 2 + 10 + sep.len();
                // At least two children when they fit; never past the page.
                let wanted = used + size <= goal || branch.len() < 2 || level.len() - i == 1;
                if !wanted || used + size > usable {
                    break;
                }
                used += size;
                branch.push((sep, level[i].0));
                i += 1;
            }
            let last = level[i - 1].2.clone();
            nodes.push(Node::Branch(branch));
            next_level.push((nodes.len() - 1, first, last));
        }
        branch_levels.push(next_level.iter().map(|l| l.0).collect());
        level = next_level;
        height += 1;
    }
    let root_node = level[0].0;

    // Page numbers: a random permutation of 2..2 + nodes.
    let mut numbers: Vec<u64> = (2..2 + nodes.len() as u64).collect();
    for i in (1..numbers.len()).rev() {
        numbers.swap(i, rng.below(i + 1));
    }
    let page_count = 2 + nodes.len();
    let mut bytes = vec![0u8; page_count * p];
    for (n, node) in nodes.iter().enumerate() {
        let no = numbers[n];
        let page = &mut bytes[no as usize * p..(no as usize + 1) * p];
        match node {
            Node::Overflow(chunk, next) => {
                header(page, TYPE_OVERFLOW, 0, no, next.map_or(0, |x| numbers[x]));
                page[HEADER..HEADER + chunk.len()].copy_from_slice(chunk);
            }
            Node::Leaf(entries) => {
                let encoded: Vec<Vec<u8>> = entries
                    .iter()
                    .map(|(key, value)| {
                        let mut e = Vec::new();
                        e.extend_from_slice(&(key.len() as u16).to_le_bytes());
                        match value {
                            LeafValue::Inline(v) => {
                                e.extend_from_slice(&[0, 0]);
                                e.extend_from_slice(&(v.len() as u32).to_le_bytes());
                                e.extend_from_slice(key);
                                e.extend_from_slice(v);
                            }
                            LeafValue::Overflow(len, first) => {
                                e.extend_from_slice(&[1, 0]);
                                e.extend_from_slice(&len.to_le_bytes());
                                e.extend_from_slice(key);
                                e.extend_from_slice(&numbers[*first].to_le_bytes());
                            }
                        }
                        e
                    })
                    .collect();
                header(page, TYPE_LEAF, entries.len(), no, 0);
                pack(page, &encoded, rng);
            }
            Node::Branch(entries) => {
                let encoded: Vec<Vec<u8>> = entries
                    .iter()
                    .map(|(key, child)| {
                        let mut e = Vec::new();
                        e.extend_from_slice(&(key.len() as u16).to_le_bytes());
                        e.extend_from_slice(&numbers[*child].to_le_bytes());
                        e.extend_from_slice(key);
                        e
                    })
                    .collect();
                header(page, TYPE_BRANCH, entries.len(), no, 0);
                pack(page, &encoded, rng);
            }
        }
    }
    // Meta pages: page 0 written by txid 2, page 1 by txid 1, same tree.
    for (meta, txid) in [(0u64, 2u64), (1, 1)] {
        let page = &mut bytes[meta as usize * p..(meta as usize + 1) * p];
        header(page, TYPE_META, 0, meta, 0);
        page[16..24].copy_from_slice(&txid.to_le_bytes());
        page[32..40].copy_from_slice(b"XRPKVDB\0");
        page[40..44].copy_from_slice(&1u32.to_le_bytes());
        page[44..48].copy_from_slice(&(p as u32).to_le_bytes());
        page[48..56].copy_from_slice(&numbers[root_node].to_le_bytes());
        page[56..60].copy_from_slice(&height.to_le_bytes());
        page[64..72].copy_from_slice(&(page_count as u64).to_le_bytes());
        page[80..88].copy_from_slice(&(entries.len() as u64).to_le_bytes());
    }
    for page in bytes.chunks_mut(p) {
        seal(page);
    }

    let mut model = Vec::new();
    for n in &leaf_nodes {
        if let Node::Leaf(es) = &nodes[*n] {
            for (key, value) in es {
                let stored = match value {
                    LeafValue::Inline(v) => Stored::Inline(v.clone()),
                    LeafValue::Overflow(len, first) => Stored::Overflow { first: numbers[*first], len: *len },
                };
                model.push((key.clone(), stored));
            }
        }
    }
    let entries = entries.iter().zip(model).map(|((k, v), (k2, s))| {
        assert_eq!(k, &k2);
        (k.clone(), v.clone(), s)
    });
    Tree {
        page_size: p,
        bytes,
        root: numbers[root_node],
        height,
        entries: entries.collect(),
        branches: branch_levels.iter().rev().flatten().map(|&n| numbers[n]).collect(),
        leaves: leaf_nodes.iter().map(|&n| numbers[n]).collect(),
    }
}

/// The common header; txid 1, checksum left for `seal`.
fn header(page: &mut [u8], kind: u8, count: usize, page_no: u64, next: u64) {
    page[4] = kind;
    page[5] = 0;
    page[6..8].copy_from_slice(&(count as u16).to_le_bytes());
    page[8..16].copy_from_slice(&page_no.to_le_bytes());
    page[16..24].copy_from_slice(&1u64.to_le_bytes());
    page[24..32].copy_from_slice(&next.to_le_bytes());
}

/// Writes the checksum: CRC-32 of bytes 4..P.
pub fn seal(page: &mut [u8]) {
    let crc = crc32(&page[4..]);
    page[0..4].copy_from_slice(&crc.to_le_bytes());
}

/// Slotted layout: entries packed from the end downward in a shuffled order,
/// the slot array at 32 in key order.
fn pack(page: &mut [u8], entries: &[Vec<u8>], rng: &mut Rng) {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut end = page.len();
    for &i in &order {
        let e = &entries[i];
        end -= e.len();
        page[end..end + e.len()].copy_from_slice(e);
        page[HEADER + 2 * i..HEADER + 2 * i + 2].copy_from_slice(&(end as u16).to_le_bytes());
    }
    assert!(HEADER + 2 * entries.len() <= end, "entries overlap the slot array");
}

/// A branch or leaf page's entries in slot order: (key, rest of the entry
/// after the key for leaves / the child bytes for branches).
fn slotted(page: &[u8], kind: u8) -> Vec<(Vec<u8>, Vec<u8>)> {
    let count = u16::from_le_bytes([page[6], page[7]]) as usize;
    (0..count)
        .map(|i| {
            let off = u16::from_le_bytes([page[HEADER + 2 * i], page[HEADER + 2 * i + 1]]) as usize;
            let key_len = u16::from_le_bytes([page[off], page[off + 1]]) as usize;
            if kind == TYPE_BRANCH {
                (page[off + 10..off + 10 + key_len].to_vec(), page[off + 2..off + 10].to_vec())
            } else {
                (page[off + 8..off + 8 + key_len].to_vec(), page[off..off + 8].to_vec())
            }
        })
        .collect()
}

/// Reads a file back as FORMAT.md says a store opens and scans it: the valid
/// meta page with the larger txid, every page's checksum, type and pageNo,
/// leaves all at the same depth, keys in order inside the separators, overflow
/// chains reassembled. Returns the entries and the height.
pub fn decode(bytes: &[u8], p: usize) -> (Vec<Entry>, u32) {
    let page = |n: u64| &bytes[n as usize * p..(n as usize + 1) * p];
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let checked = |n: u64, kind: u8| {
        let b = page(n);
        assert_eq!(u32::from_le_bytes(b[0..4].try_into().unwrap()), crc32(&b[4..]), "checksum of page {n}");
        assert_eq!(b[4], kind, "type of page {n}");
        assert_eq!(u64_at(b, 8), n, "pageNo of page {n}");
        b
    };
    let meta = [0u64, 1].into_iter().map(|n| checked(n, TYPE_META)).max_by_key(|b| u64_at(b, 16)).unwrap();
    assert_eq!(&meta[32..40], b"XRPKVDB\0");
    assert_eq!(u32::from_le_bytes(meta[44..48].try_into().unwrap()) as usize, p);
    let root = u64_at(meta, 48);
    let height = u32::from_le_bytes(meta[56..60].try_into().unwrap());

    let mut out = Vec::new();
    // (page, depth, lowest key allowed, first key above it)
    type Visit = (u64, u32, Vec<u8>, Option<Vec<u8>>);
    let mut stack: Vec<Visit> = vec![(root, 1, Vec::new(), None)];
    while let Some((n, depth, low, high)) = stack.pop() {
        let b = page(n);
        let in_bounds = |k: &[u8]| k >= low.as_slice() && high.as_ref().is_none_or(|h| k < h.as_slice());
        if depth < height {
            let b = checked(n, TYPE_BRANCH);
            let entries = slotted(b, TYPE_BRANCH);
            assert!(!entries.is_empty() && entries[0].0.is_empty(), "branch {n}: entry 0 has an empty key");
            for i in (0..entries.len()).rev() {
                let lo = if i == 0 { low.clone() } else { entries[i].0.clone() };
                let hi = entries.get(i + 1).map(|e| e.0.clone()).or(high.clone());
                if i > 0 {
                    assert!(in_bounds(&entries[i].0) && entries[i - 1].0 < entries[i].0, "branch {n} keys");
                }
                stack.push((u64::from_le_bytes(entries[i].1[..].try_into().unwrap()), depth + 1, lo, hi));
            }
        } else {
            checked(n, TYPE_LEAF);
            assert_eq!(u64_at(b, 24), 0, "leaf {n}: next is 0");
            for (i, (key, fixed)) in slotted(b, TYPE_LEAF).into_iter().enumerate() {
                assert!(in_bounds(&key), "leaf {n}: key outside its parent's range");
                assert!(out.last().is_none_or(|(k, _): &Entry| *k < key), "keys in order");
                let len = u32::from_le_bytes(fixed[4..8].try_into().unwrap()) as usize;
                let off = u16::from_le_bytes([b[HEADER + 2 * i], b[HEADER + 2 * i + 1]]) as usize;
                let value_at = off + 8 + key.len();
                let value = match fixed[2] {
                    0 => {
                        assert!(len <= max_inline(p), "leaf {n}: inline value over the limit");
                        b[value_at..value_at + len].to_vec()
                    }
                    1 => {
                        assert!(len > max_inline(p), "leaf {n}: overflow value within the inline limit");
                        let mut v = Vec::new();
                        let mut next = u64_at(b, value_at);
                        while next != 0 {
                            let o = checked(next, TYPE_OVERFLOW);
                            let take = (len - v.len()).min(p - HEADER);
                            v.extend_from_slice(&o[HEADER..HEADER + take]);
                            next = u64_at(o, 24);
                        }
                        assert_eq!(v.len(), len, "overflow chain length");
                        v
                    }
                    k => panic!("leaf {n}: value kind {k}"),
                };
                out.push((key, value));
            }
        }
    }
    (out, height)
}

/// Keys for a page size: lengths 0..=maxKeyLen over a small alphabet (with
/// 0x00 and 0xff), many sharing long prefixes, many prefixes of others, plus
/// some fully random ones. Sorted, unique, `n` of them.
pub fn keys(rng: &mut Rng, page_size: usize, n: usize) -> Vec<Vec<u8>> {
    const ALPHABET: [u8; 8] = [0x00, 0x01, b'a', b'b', 0x7f, 0x80, 0xfe, 0xff];
    let max = max_key_len(page_size);
    let stems: Vec<Vec<u8>> = (0..6).map(|_| (0..max).map(|_| ALPHABET[rng.below(8)]).collect()).collect();
    let mut set = std::collections::BTreeSet::new();
    set.insert(Vec::new());
    while set.len() < n {
        let stem = &stems[rng.below(stems.len())];
        let key: Vec<u8> = match rng.below(10) {
            0..=4 => {
                let mut k = stem[..rng.below(max + 1)].to_vec();
                for _ in 0..rng.below(6) {
                    k.push(ALPHABET[rng.below(8)]);
                }
                k.truncate(max);
                k
            }
            5 | 6 => (0..rng.below(max + 1)).map(|_| rng.next() as u8).collect(),
            7 => {
                let mut k = stem[..max - rng.below(4.min(max))].to_vec();
                if k.len() < max {
                    k.push(rng.next() as u8);
                }
                k
            }
            8 => (0..rng.below(4)).map(|_| ALPHABET[rng.below(8)]).collect(),
            _ => {
                let all: Vec<&Vec<u8>> = set.iter().collect();
                let other = all[rng.below(all.len())];
                other[..rng.below(other.len() + 1)].to_vec()
            }
        };
        set.insert(key);
    }
    set.into_iter().collect()
}

/// A value for a page size: empty, short, up to and exactly the inline limit,
/// one past it, or up to three pages long.
pub fn value(rng: &mut Rng, page_size: usize) -> Vec<u8> {
    let inline = max_inline(page_size);
    let len = match rng.below(20) {
        0 | 1 => 0,
        2..=9 => 1 + rng.below(32),
        10..=13 => rng.below(inline + 1),
        14 => inline,
        15 => inline + 1,
        16 => page_size - HEADER,
        _ => inline + 1 + rng.below(3 * page_size),
    };
    (0..len).map(|_| rng.next() as u8).collect()
}

/// Sorted entries: `n` keys with values.
pub fn entries(rng: &mut Rng, page_size: usize, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    keys(rng, page_size, n).into_iter().map(|k| (k, value(rng, page_size))).collect()
}

/// The model as a map, for range expectations.
pub fn model(tree: &Tree) -> BTreeMap<Vec<u8>, Stored> {
    tree.entries.iter().map(|(k, _, s)| (k.clone(), s.clone())).collect()
}
