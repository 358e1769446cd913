//! The store's file read through a read-only shared map (buffered mode):
//! a leaf the kernel holds is copied out of the page cache with no system
//! call. A cached 4 KiB page costs about 2 us through `pread` on this kind
//! of VM and 0.3 us from a map (docs/RESULTS.md); every lookup that leaves
//! the store's own cache reads one.
//!
//! - The map reserves more address space than the file holds (a shared map
//!   may extend past the end of a file) and is remade larger when a read
//!   lands past it and the file has grown: commits only append or rewrite.
//! - Every copy out of it goes through `bus_guard::copy`: a page past the
//!   end of the file (it shrank) or one the disk fails to deliver answers
//!   `FAULTED`, and the caller reads it with `pread`, which says what went
//!   wrong as it always has.
//! - The map reads what `pread` would: Linux keeps one page cache per file,
//!   which the store's writes (`pwrite`) update in place.
//! - `MADV_RANDOM`: a miss reads its own page, as a `pread` of it would,
//!   not the 128 KiB around it; readahead is prefetch.ts's business.
//! - The checksum is checked as the page is copied (`storeMapRead`'s
//!   `checksumFrom`), which saves the caller a second call.
//! - `storeMapPopulate` maps the file's pages in on a thread of its own
//!   (`MADV_POPULATE_READ`), for a file the store reads ahead whole anyway
//!   (src/store/prefetch.ts): a first touch of a page costs a minor fault,
//!   about 8 us on this VM, which made walks look dearer than chains to
//!   `lookup: 'auto'` while chains (which read with `pread`) left the map
//!   untouched.

use std::cell::RefCell;
use std::fs::File;
use std::sync::Arc;

use crate::bus_guard;
use crate::format::header;
use crate::napi::{CallCtx, JsError, Method, Result, TypeTag, Value, MAX_SAFE_INTEGER};
use xrp::crc32::crc32;

static MAP_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_6d61,
    upper: 0x705f_6669_6c65_5f31,
};

pub(crate) const METHODS: [(&str, Method); 5] = [
    ("storeMapGuarded", map_guarded),
    ("storeMapOpen", map_open),
    ("storeMapRead", map_read),
    ("storeMapPopulate", map_populate),
    ("storeMapClose", map_close),
];

/// `storeMapRead`'s answers.
const READ: u32 = 0;
const FAULTED: u32 = 1;
const CHECKSUM_MISMATCH: u32 = 2;

/// The least address space a map reserves, and its growth factor over the file.
const MIN_RESERVE: u64 = 1 << 30;
const GROWTH: u64 = 2;

/// A map of `file` (our own descriptor, so the caller's closing or reusing
/// its number cannot change what is mapped), reserving more than it holds.
pub(crate) struct FileMap {
    file: File,
    /// Shared with a populating thread, which may outlive the handle's use of it.
    map: Arc<sys::Map>,
}

/// The handle's state: `None` once closed.
pub(crate) struct MapHandle(RefCell<Option<FileMap>>);

/// `storeMapGuarded(): boolean` — whether this process can read maps
/// guarded against SIGBUS (x86_64, and the handler installed): whether
/// xrpkv maps files here at all.
fn map_guarded(cx: &mut CallCtx<'_>) -> Result<Value> {
    cx.env().boolean(bus_guard::install())
}

/// `storeMapOpen(fd): handle | null` — a map of `fd`'s file, or
/// null where reads cannot be guarded (not x86_64) or the map was
/// refused (an address-space limit): the caller then reads with `pread`.
fn map_open(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let fd = cx.fd(0)?;
    if !bus_guard::install() {
        return env.null();
    }
    let file = match sys::dup(fd) {
        Ok(f) => f,
        Err(e) => return Err(JsError::range_error(format!("fd {fd}: {e}")).into()),
    };
    let Some(map) = reserve(&file, 0) else {
        return env.null();
    };
    env.external(
        MapHandle(RefCell::new(Some(FileMap { file, map }))),
        &MAP_TAG,
        0,
    )
}

/// A map of `file` reserving room for its current size and for `at_least` bytes.
fn reserve(file: &File, at_least: u64) -> Option<Arc<sys::Map>> {
    let size = file.metadata().ok()?.len().max(at_least);
    let want = size.saturating_mul(GROWTH).max(MIN_RESERVE);
    sys::Map::new(file, usize::try_from(want).ok()?)
        .ok()
        .map(Arc::new)
}

/// `storeMapRead(handle, offset, dst, checksumFrom): 0 | 1 | 2` — copies
/// `dst.length` bytes of the file at `offset` into `dst`: 0 read; 1 not
/// read (past the end of the file, a failed read, or a closed handle: read
/// it with `pread` to learn which); 2 read, and the page's stored checksum
/// is not the CRC-32 of `dst` from `checksumFrom` on (-1: not checked).
fn map_read(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let handle: &MapHandle = cx.external(0, &MAP_TAG, "map")?;
    let offset = cx.number(1, "offset")?.unwrap_or(-1.0);
    if !((0.0..=MAX_SAFE_INTEGER).contains(&offset) && offset.fract() == 0.0) {
        let msg = format!("offset must be an integer >= 0, got {offset}");
        return Err(JsError::range_error(msg).into());
    }
    let from = cx.number(3, "checksumFrom")?.unwrap_or(-1.0);
    let dst = cx
        .bytes(2, "dst")?
        .ok_or_else(|| JsError::type_error("dst must be a Uint8Array"))?;
    let check = if from == -1.0 {
        None
    } else if from >= (header::CHECKSUM + 4) as f64
        && from <= dst.len() as f64
        && from.fract() == 0.0
    {
        Some(from as usize)
    } else {
        let msg = format!(
            "checksumFrom must be -1 or an integer from 4 to {}, got {from}",
            dst.len()
        );
        return Err(JsError::range_error(msg).into());
    };
    let answer = match handle.0.borrow_mut().as_mut() {
        None => FAULTED,
        Some(m) => match read(m, offset as u64, dst) {
            Err(bus_guard::Faulted) => FAULTED,
            Ok(()) => match check {
                Some(from) if stored_checksum(dst) != crc32(&dst[from..]) => CHECKSUM_MISMATCH,
                _ => READ,
            },
        },
    };
    env.number(answer as f64)
}

fn stored_checksum(page: &[u8]) -> u32 {
    let at = header::CHECKSUM;
    if page.len() < at + 4 {
        return 0;
    }
    u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]])
}

/// The map handle of argument `i` (a handle of `storeMapOpen`), or None
/// where it is undefined or null: the caller then reads with `pread`.
pub(crate) fn map_arg<'cx>(cx: &CallCtx<'cx>, i: usize) -> Result<Option<&'cx MapHandle>> {
    if cx.is_absent(i)? {
        return Ok(None);
    }
    cx.external(i, &MAP_TAG, "map").map(Some)
}

impl MapHandle {
    /// The map while the handle is open (None once closed).
    pub(crate) fn open(&self) -> std::cell::RefMut<'_, Option<FileMap>> {
        self.0.borrow_mut()
    }
}

/// Copies the file's bytes at `offset` into `dst`, remaking the map larger
/// first when they lie past it.
pub(crate) fn read(
    m: &mut FileMap,
    offset: u64,
    dst: &mut [u8],
) -> std::result::Result<(), bus_guard::Faulted> {
    let end = offset
        .checked_add(dst.len() as u64)
        .ok_or(bus_guard::Faulted)?;
    if end > m.map.len() as u64 {
        // Past the reservation: the file grew (or the read is past its end,
        // which the copy then reports). Let go of the old map before making
        // the new one (a populating thread may hold it a little longer).
        let size = m.file.metadata().map_err(|_| bus_guard::Faulted)?.len();
        if end > size {
            return Err(bus_guard::Faulted);
        }
        m.map = Arc::new(sys::Map::empty());
        m.map = reserve(&m.file, end).ok_or(bus_guard::Faulted)?;
    }
    m.map.copy_out(offset as usize, dst)
}

/// `storeMapPopulate(handle, offset, length): null` — maps the file's
/// bytes `offset..offset + length` (whole memory pages of it, within the
/// map) into this process's page tables on a thread of its own, reading
/// what the page cache lacks, and returns at once. Advice: a refusal (a
/// kernel before 5.14, a failed read) leaves the pages to be mapped on
/// first touch. Nothing for a closed handle.
fn map_populate(cx: &mut CallCtx<'_>) -> Result<Value> {
    let handle: &MapHandle = cx.external(0, &MAP_TAG, "map")?;
    let mut range = [0u64; 2];
    for (k, what) in ["offset", "length"].into_iter().enumerate() {
        let n = cx.number(1 + k, what)?.unwrap_or(-1.0);
        if !((0.0..=MAX_SAFE_INTEGER).contains(&n) && n.fract() == 0.0) {
            let msg = format!("{what} must be an integer >= 0, got {n}");
            return Err(JsError::range_error(msg).into());
        }
        range[k] = n as u64;
    }
    if let Some(m) = handle.0.borrow().as_ref() {
        let map = Arc::clone(&m.map);
        let end = range[0].saturating_add(range[1]).min(map.len() as u64) as usize;
        let start = (range[0] as usize).min(end);
        let started = std::thread::Builder::new()
            .name("xrpkv-map-populate".into())
            .spawn(move || map.populate(start, end));
        // Advice: without a thread, pages are mapped as they are touched.
        drop(started);
    }
    cx.env().null()
}

/// `storeMapClose(handle): null` — unmaps now (the handle's collection
/// would too); reads after it answer 1.
fn map_close(cx: &mut CallCtx<'_>) -> Result<Value> {
    let handle: &MapHandle = cx.external(0, &MAP_TAG, "map")?;
    handle.0.borrow_mut().take();
    cx.env().null()
}

#[allow(unsafe_code)] // mmap, munmap, madvise, dup and the guarded copy: the only unsafe code here
mod sys {
    use crate::bus_guard;
    use std::ffi::c_int;
    use std::fs::File;
    use std::os::fd::{AsRawFd, FromRawFd};

    use crate::mman::{
        madvise, mmap, munmap, MADV_POPULATE_READ, MADV_RANDOM, MAP_NORESERVE, MAP_SHARED,
        PROT_READ,
    };

    extern "C" {
        fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    }
    const F_DUPFD_CLOEXEC: c_int = 1030;

    /// A read-only shared map of `len` bytes from the start of a file (or none).
    pub(super) struct Map {
        ptr: *mut u8,
        len: usize,
    }

    /// A descriptor of our own for the file `fd` names.
    pub(super) fn dup(fd: c_int) -> std::io::Result<File> {
        // SAFETY: fcntl on a number; a bad one is EBADF.
        let ours = unsafe { fcntl(fd, F_DUPFD_CLOEXEC, 0) };
        if ours < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `ours` is a fresh descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(ours) })
    }

    impl Map {
        pub(super) fn empty() -> Map {
            Map {
                ptr: std::ptr::null_mut(),
                len: 0,
            }
        }

        pub(super) fn new(file: &File, len: usize) -> std::io::Result<Map> {
            // SAFETY: a fresh read-only mapping at an address the kernel picks.
            let ptr = unsafe {
                mmap(
                    std::ptr::null_mut(),
                    len,
                    PROT_READ,
                    MAP_SHARED | MAP_NORESERVE,
                    file.as_raw_fd(),
                    0,
                )
            };
            if ptr as isize == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: advice on our own mapping; a refusal changes only readahead.
            unsafe { madvise(ptr, len, MADV_RANDOM) };
            Ok(Map {
                ptr: ptr.cast(),
                len,
            })
        }

        pub(super) fn len(&self) -> usize {
            self.len
        }

        /// Maps the first `length` bytes (at most the map) into the page
        /// tables, reading what the page cache lacks; advice, so errors are ignored.
        pub(super) fn populate(&self, start: usize, end: usize) {
            // Whole memory pages inside start..end.
            let start = start.div_ceil(4096) * 4096;
            let end = end.min(self.len) & !4095;
            if start < end {
                // SAFETY: a range of our own read-only mapping, alive while `self` is.
                unsafe { madvise(self.ptr.add(start).cast(), end - start, MADV_POPULATE_READ) };
            }
        }

        /// `dst.len()` bytes at `offset`, which the caller keeps inside the map.
        pub(super) fn copy_out(
            &self,
            offset: usize,
            dst: &mut [u8],
        ) -> Result<(), bus_guard::Faulted> {
            assert!(offset
                .checked_add(dst.len())
                .is_some_and(|end| end <= self.len));
            // SAFETY: inside our mapping (checked above), which lives as long
            // as `self` and cannot overlap a JS buffer; `Map::new` is only
            // reached after `bus_guard::install` said yes (map_open).
            unsafe { bus_guard::copy(dst, self.ptr.add(offset)) }
        }
    }

    // SAFETY: a read-only mapping; reading it from several threads is sound,
    // and it is unmapped only when the last owner drops it.
    unsafe impl Send for Map {}
    unsafe impl Sync for Map {}

    impl Drop for Map {
        fn drop(&mut self) {
            if self.len > 0 {
                // SAFETY: the mapping `new` made; no reference into it outlives `self`.
                unsafe { munmap(self.ptr.cast(), self.len) };
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file of `pages` 4 KiB pages, page n filled with n + 1, and its map.
    fn map_of(pages: usize) -> (std::path::PathBuf, FileMap) {
        let path = std::env::temp_dir().join(format!("xrpkv-map-{}-{pages}", std::process::id()));
        let mut f = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        for p in 0..pages {
            f.write_all(&vec![p as u8 + 1; 4096]).unwrap();
        }
        let map = reserve(&f, 0).unwrap();
        (path, FileMap { file: f, map })
    }

    #[test]
    fn reads_what_the_file_holds_and_survives_a_page_past_its_end() {
        assert!(bus_guard::install());
        let (path, mut m) = map_of(3);
        let mut page = [0u8; 4096];
        m.map.populate(0, 3 * 4096);
        read(&mut m, 4096, &mut page).unwrap();
        assert!(page.iter().all(|&b| b == 2));
        // The file shrinks under the map: the page is gone, and the copy
        // says so instead of the process dying of SIGBUS.
        m.file.set_len(4096).unwrap();
        assert_eq!(read(&mut m, 8192, &mut page), Err(bus_guard::Faulted));
        read(&mut m, 0, &mut page).unwrap();
        assert!(page.iter().all(|&b| b == 1));
        // Past the reservation and past the end: refused without a copy.
        let far = m.map.len() as u64 + 4096;
        assert_eq!(read(&mut m, far, &mut page), Err(bus_guard::Faulted));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_file_grown_past_the_reservation_is_mapped_again() {
        assert!(bus_guard::install());
        let (path, mut m) = map_of(1);
        let old = m.map.len() as u64;
        m.file.set_len(old + 8192).unwrap();
        let mut page = [9u8; 4096];
        read(&mut m, old + 4096, &mut page).unwrap();
        assert!(page.iter().all(|&b| b == 0), "a hole reads as zeros");
        assert!(m.map.len() as u64 >= old + 8192);
        std::fs::remove_file(path).unwrap();
    }
}
