//! What the emulator verifies of every page a chain reads, before the
//! program sees it: the page's checksum and, where the page records it, its
//! own number. A program that searches a damaged page can find a wrong
//! value or miss a present one without noticing (a flipped bit in a key
//! still parses); a check here turns that into an outcome that names the
//! page. The layout is the file's (docs/FORMAT.md, "Pages"), given per file
//! ([`crate::XrpFile::set_page_check`]); a file opened for a foreign program
//! has none unless asked for.
//!
//! A real XRP kernel runs only the program's own checks: the store's
//! programs also compare each page's recorded number, type and level with
//! what they asked for (bpf/lookup.c, bpf/range.c).

use std::fmt;

use crate::crc32::crc32;

/// Where a file's pages keep their checksum (zlib's CRC-32) and their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCheck {
    /// Every read must be whole pages of this size at page-aligned offsets.
    pub page_size: u32,
    /// Byte offset of the checksum, a little-endian u32.
    pub checksum_at: u32,
    /// The checksum covers the page from here to its end.
    pub covered_from: u32,
    /// Byte offset of the page's own number (little-endian u64), if it records one.
    pub page_no_at: Option<u32>,
}

/// A page that failed its check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageFault {
    /// The read was not one whole page at a page boundary, so it cannot be checked.
    NotAPage { offset: u64, len: usize },
    /// Its checksum does not match its bytes.
    Checksum { page: u64 },
    /// A valid page, but another one: it records a different number.
    Misplaced { page: u64, claims: u64 },
}

impl PageCheck {
    /// Checks the page read at `offset` (`data`, the bytes read).
    pub fn verify(&self, offset: u64, data: &[u8]) -> Result<(), PageFault> {
        let size = self.page_size as usize;
        if data.len() != size || offset % size as u64 != 0 {
            return Err(PageFault::NotAPage {
                offset,
                len: data.len(),
            });
        }
        let page = offset / size as u64;
        let at = self.checksum_at as usize;
        let stored = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        if crc32(&data[self.covered_from as usize..]) != stored {
            return Err(PageFault::Checksum { page });
        }
        if let Some(at) = self.page_no_at {
            let claims = u64::from_le_bytes(
                data[at as usize..at as usize + 8]
                    .try_into()
                    .expect("8 bytes"),
            );
            if claims != page {
                return Err(PageFault::Misplaced { page, claims });
            }
        }
        Ok(())
    }

    /// The layout's fields fit in a page of its size (checked when a file is given it).
    pub fn fits(&self) -> bool {
        let size = self.page_size as u64;
        self.page_size.is_power_of_two()
            && (512..=4096).contains(&self.page_size)
            && self.checksum_at as u64 + 4 <= size
            && (self.covered_from as u64) < size
            && self.page_no_at.is_none_or(|at| at as u64 + 8 <= size)
    }
}

impl PageFault {
    /// The page the fault is about.
    pub fn page(&self, page_size: u32) -> u64 {
        match *self {
            PageFault::NotAPage { offset, .. } => offset / page_size as u64,
            PageFault::Checksum { page } | PageFault::Misplaced { page, .. } => page,
        }
    }
}

impl fmt::Display for PageFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageFault::NotAPage { offset, len } => {
                write!(f, "a read of {len} bytes at offset {offset} is not one whole page, so it cannot be checked")
            }
            PageFault::Checksum { page } => write!(f, "page {page}: checksum mismatch"),
            PageFault::Misplaced { page, claims } => {
                write!(f, "page {page}: it claims to be page {claims}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK: PageCheck = PageCheck {
        page_size: 512,
        checksum_at: 0,
        covered_from: 4,
        page_no_at: Some(8),
    };

    fn page(no: u64) -> Vec<u8> {
        let mut p = vec![7u8; 512];
        p[8..16].copy_from_slice(&no.to_le_bytes());
        let sum = crc32(&p[4..]);
        p[0..4].copy_from_slice(&sum.to_le_bytes());
        p
    }

    #[test]
    fn passes_a_good_page_and_names_each_fault() {
        assert_eq!(CHECK.verify(3 * 512, &page(3)), Ok(()));
        let mut flipped = page(3);
        flipped[100] ^= 1;
        assert_eq!(
            CHECK.verify(3 * 512, &flipped),
            Err(PageFault::Checksum { page: 3 })
        );
        assert_eq!(
            CHECK.verify(5 * 512, &page(3)),
            Err(PageFault::Misplaced { page: 5, claims: 3 })
        );
        assert_eq!(
            CHECK.verify(3 * 512, &page(3)[..256]),
            Err(PageFault::NotAPage {
                offset: 1536,
                len: 256
            })
        );
        assert_eq!(
            CHECK.verify(100, &page(3)),
            Err(PageFault::NotAPage {
                offset: 100,
                len: 512
            })
        );
    }

    #[test]
    fn refuses_layouts_outside_the_page() {
        assert!(CHECK.fits());
        assert!(!PageCheck {
            page_size: 500,
            ..CHECK
        }
        .fits());
        assert!(!PageCheck {
            checksum_at: 510,
            ..CHECK
        }
        .fits());
        assert!(!PageCheck {
            page_no_at: Some(505),
            ..CHECK
        }
        .fits());
        assert!(PageCheck {
            page_no_at: None,
            ..CHECK
        }
        .fits());
    }
}
