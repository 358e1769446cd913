//! A 4 KiB-aligned 4 KiB page: what `O_DIRECT` reads into and what the kernel
//! pins for `data` and `scratch`.

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
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

impl Page {
    /// A zeroed page.
    pub fn new() -> Page {
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

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with the same layout, freed once.
        unsafe { dealloc(self.ptr.as_ptr(), layout()) }
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
    }
}
