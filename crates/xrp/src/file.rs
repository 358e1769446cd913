//! A file opened for XRP chains: direct I/O when the file system allows it,
//! else buffered, and it says which and why.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::abi::{PAGE_SIZE, SECTOR_SIZE};
use crate::outcome::AddressError;
use crate::page::Page;
use crate::page_check::PageCheck;
use crate::sys;

/// This architecture's `O_DIRECT`, to open a file the way [`XrpFile`] does.
pub use crate::arch::O_DIRECT;

/// Whether to open with `O_DIRECT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DirectIo {
    /// Direct when the file system supports it, else buffered (the default).
    #[default]
    Auto,
    /// Direct or fail: the kernel XRP path needs it.
    Require,
    /// Always buffered.
    Off,
}

pub struct XrpFile {
    file: File,
    size: u64,
    direct: bool,
    /// The alignment a direct read needs, for its offset and its length.
    block_size: u32,
    access: String,
    /// What every page a chain reads must pass before its program runs (page_check.rs).
    page_check: Option<PageCheck>,
    /// The device its reads go to, and its inode (`device`).
    device: (u64, u64),
}

impl XrpFile {
    pub fn open(path: &Path, direct: DirectIo) -> io::Result<XrpFile> {
        let buffered = || OpenOptions::new().read(true).open(path);
        let (file, why_buffered) = match direct {
            DirectIo::Off => (buffered()?, Some("direct I/O was not asked for".to_string())),
            _ => match OpenOptions::new().read(true).custom_flags(O_DIRECT).open(path) {
                Ok(f) => (f, None),
                Err(e) if e.raw_os_error() == Some(22) && direct == DirectIo::Auto => {
                    (buffered()?, Some("the file system refuses O_DIRECT".to_string()))
                }
                Err(e) => return Err(e),
            },
        };
        let meta = file.metadata()?;
        let is_device = meta.file_type().is_block_device();
        let size = if is_device { sys::device_size(file.as_raw_fd())? } else { meta.len() };
        let mut me = XrpFile {
            file,
            size,
            direct: why_buffered.is_none(),
            block_size: SECTOR_SIZE as u32,
            access: String::new(),
            page_check: None,
            device: (if is_device { meta.rdev() } else { meta.dev() }, meta.ino()),
        };
        if me.direct {
            me.block_size = if is_device {
                sys::logical_block_size(me.fd())?
            } else {
                match sys::dio_alignment(me.fd())? {
                    Some((_, 0)) if direct == DirectIo::Require => {
                        return Err(io::Error::new(io::ErrorKind::Unsupported, "this file does not support direct I/O"))
                    }
                    Some((_, 0)) => {
                        let f = buffered()?;
                        return Ok(XrpFile { file: f, direct: false, access: "buffered (the file does not support direct I/O)".into(), ..me });
                    }
                    Some((_, offset_align)) => offset_align,
                    None => SECTOR_SIZE as u32, // kernels before 6.1 do not say; 512 is the common case
                }
            };
            if !me.block_size.is_power_of_two() {
                return Err(io::Error::other(format!("unexpected direct-I/O block size {}", me.block_size)));
            }
            me.access = format!("direct (O_DIRECT, {}-byte blocks)", me.block_size);
        } else {
            me.access = format!("buffered ({})", why_buffered.unwrap_or_default());
        }
        Ok(me)
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn is_direct(&self) -> bool {
        self.direct
    }

    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// The device its reads go to (a block device's own number, else its
    /// file system's) and its inode, as of opening: they cannot change while
    /// it is open, and asking the kernel per batch cost a path lookup each.
    pub fn device(&self) -> (u64, u64) {
        self.device
    }

    /// How reads are done, in words: "direct (O_DIRECT, 512-byte blocks)" or
    /// "buffered (<why>)".
    pub fn access(&self) -> &str {
        &self.access
    }

    /// Checks every page chains read from now on against `check` before their
    /// program runs; a page that fails ends its chain (`Outcome::Corrupt`).
    /// Refused (InvalidInput) when the layout does not fit its page size.
    pub fn set_page_check(&mut self, check: Option<PageCheck>) -> io::Result<()> {
        if check.is_some_and(|c| !c.fits()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the page check's fields do not fit in its page size"));
        }
        self.page_check = check;
        Ok(())
    }

    pub fn page_check(&self) -> Option<&PageCheck> {
        self.page_check.as_ref()
    }

    /// Whether a read of `len` bytes at `offset` can be issued.
    pub fn check_read(&self, offset: u64, len: u64) -> Result<(), AddressError> {
        if !offset.is_multiple_of(SECTOR_SIZE as u64) {
            return Err(AddressError::Misaligned { offset });
        }
        if len == 0 || !len.is_multiple_of(SECTOR_SIZE as u64) || len > PAGE_SIZE as u64 {
            return Err(AddressError::BadSize { size: len });
        }
        // Logical block sizes are powers of two (checked at open): a mask, not
        // a division, on every hop.
        let block_mask = self.block_size as u64 - 1;
        if self.direct && (offset | len) & block_mask != 0 {
            return Err(AddressError::BlockSize { offset, len, block_size: self.block_size });
        }
        if offset >= self.size {
            return Err(AddressError::OutOfFile { offset, file_size: self.size });
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset` into `page`, zeroing the rest of the page
    /// so a program never sees an earlier block's bytes. Returns bytes read
    /// (fewer at the end of the file) or the errno.
    pub fn read_into(&self, page: &mut Page, offset: u64, len: usize) -> Result<usize, i32> {
        let len = len.min(PAGE_SIZE);
        loop {
            match self.file.read_at(&mut page[..len], offset) {
                Ok(n) => {
                    clear_tail(page, n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.raw_os_error().unwrap_or(5)),
            }
        }
    }
}

/// Zeroes the page past the `n` bytes a read filled, so a program never sees
/// an earlier block's bytes there.
pub(crate) fn clear_tail(page: &mut Page, n: usize) {
    page[n.min(PAGE_SIZE)..].fill(0);
}
