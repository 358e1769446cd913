//! A 4 KiB-aligned 4 KiB page: what `O_DIRECT` reads into and what the kernel
//! pins for `data` and `scratch`.
//!
//! Every chain needs a few pages, and an aligned allocation is slow (glibc's
//! memalign searches and splits chunks), which showed as a tenth of a
//! one-hop `runSync`. So each thread keeps up to `POOL_PAGES` freed pages and
//! hands them out again, zeroed.

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::abi::PAGE_SIZE;

pub struct Page {
    ptr: NonNull<u8>,
}

// SAFETY: a Page owns its allocation exclusively, like a Box<[u8; 4096]>.
unsafe impl Send for Page {}
unsafe impl Sync for Page {}

fn layout() -> Layout {
    Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).expect("4096 is a valid size and alignment")
}

/// Freed pages kept per thread for reuse.
const POOL_PAGES: usize = 32;

/// A thread's freed pages: allocations of `layout()`, owned by the pool.
struct Pool(Vec<NonNull<u8>>);

impl Drop for Pool {
    fn drop(&mut self) {
        for ptr in self.0.drain(..) {
            // SAFETY: every pointer in the pool came from `alloc_zeroed(layout())`
            // and is owned by the pool alone.
            unsafe { dealloc(ptr.as_ptr(), layout()) }
        }
    }
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool(Vec::new())) };
}

impl Page {
    /// A zeroed page.
    pub fn new() -> Page {
        let reused = POOL.try_with(|p| p.borrow_mut().0.pop()).ok().flatten();
        if let Some(ptr) = reused {
            // SAFETY: a pooled allocation of PAGE_SIZE bytes, now owned by us.
            unsafe { std::ptr::write_bytes(ptr.as_ptr(), 0, PAGE_SIZE) };
            return Page { ptr };
        }
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout()) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(layout()));
        Page { ptr }
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::new()
    }
}

impl Deref for Page {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is a live allocation of PAGE_SIZE bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), PAGE_SIZE) }
    }
}

impl DerefMut for Page {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and &mut self gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), PAGE_SIZE) }
    }
}

impl AsMut<[u8]> for Page {
    fn as_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let ptr = self.ptr;
        // During thread exit the pool may be gone: then free directly.
        let kept = POOL
            .try_with(|p| {
                let mut pool = p.borrow_mut();
                let keep = pool.0.len() < POOL_PAGES;
                if keep {
                    pool.0.push(ptr);
                }
                keep
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: allocated with the same layout, and now owned by no one else.
            unsafe { dealloc(ptr.as_ptr(), layout()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_aligned_zeroed_and_owned() {
        let mut pages: Vec<Page> = (0..64).map(|_| Page::new()).collect();
        for p in &mut pages {
            assert_eq!(p.as_ptr() as usize % PAGE_SIZE, 0);
            assert!(p.iter().all(|&b| b == 0));
            p[PAGE_SIZE - 1] = 7;
        }
        assert!(pages.iter().all(|p| p[PAGE_SIZE - 1] == 7));
        drop(pages);
        // Reused pages come back zeroed, and never twice at once.
        let again: Vec<Page> = (0..64).map(|_| Page::new()).collect();
        let mut addresses: Vec<usize> = again.iter().map(|p| p.as_ptr() as usize).collect();
        addresses.sort_unstable();
        addresses.dedup();
        assert_eq!(addresses.len(), 64);
        assert!(again.iter().all(|p| p.iter().all(|&b| b == 0)));
    }
}
