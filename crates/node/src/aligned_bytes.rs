//! Bytes that start at a 4096-aligned address, which every O_DIRECT write
//! accepts (512 to 4096-byte logical blocks): a Vec over-allocated by one
//! alignment, and the offset of its first aligned byte.
//!
//! It never grows past the capacity it was made with: growing would move
//! the Vec, and the alignment with it.

const ALIGN: usize = 4096;

pub(crate) struct AlignedBytes {
    buffer: Vec<u8>,
    start: usize,
    capacity: usize,
}

impl AlignedBytes {
    /// Room for `capacity` bytes, none written yet. Only pushes write the
    /// memory: no zeroing pass over it first.
    pub(crate) fn with_capacity(capacity: usize) -> AlignedBytes {
        let mut buffer: Vec<u8> = Vec::with_capacity(capacity + ALIGN);
        // For a u8 pointer align_offset is always below ALIGN.
        let start = buffer.as_ptr().align_offset(ALIGN);
        buffer.resize(start, 0);
        AlignedBytes {
            buffer,
            start,
            capacity,
        }
    }

    /// A copy of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> AlignedBytes {
        let mut copy = AlignedBytes::with_capacity(bytes.len());
        copy.buffer.extend_from_slice(bytes);
        copy
    }

    /// Appends `bytes`; false (and nothing appended) when they do not fit.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > self.capacity - self.len() {
            return false;
        }
        self.buffer.extend_from_slice(bytes);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.buffer.len() - self.start
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buffer[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_aligned_and_refuses_what_would_move_it() {
        let mut bytes = AlignedBytes::with_capacity(8192);
        assert_eq!(bytes.as_slice().as_ptr() as usize % ALIGN, 0);
        assert!(bytes.push(&[1; 4096]));
        assert!(bytes.push(&[2; 4096]));
        assert!(!bytes.push(&[3]));
        assert_eq!(bytes.len(), 8192);
        assert_eq!(bytes.as_slice()[4095..4097], [1, 2]);
        let copy = AlignedBytes::of(&[9; 100]);
        assert_eq!(copy.as_slice(), &[9; 100][..]);
        assert_eq!(copy.as_slice().as_ptr() as usize % ALIGN, 0);
    }
}
