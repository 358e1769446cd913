//! Plain reads, no program: what a device does on its own, the reference
//! the engines are measured against (`xrpkv bench depth`'s device rows).

use std::io;
use std::time::{Duration, Instant};

use uring::{opcode, IoUring};

use crate::file::XrpFile;
use crate::page::Page;

/// When one read was queued and when it completed, from the call's start.
pub type ReadTimes = (Duration, Duration);

/// Reads `len` bytes at each of `offsets` through one io_uring, `depth` in
/// flight (registered buffers and file, as the batch engine's ring): each
/// read's times, in the order of `offsets`. A read that fails or comes back
/// short fails the call.
pub fn uring_reads(file: &XrpFile, offsets: &[u64], len: usize, depth: u32) -> io::Result<Vec<ReadTimes>> {
    let depth = depth.clamp(1, 4096).min(offsets.len().max(1) as u32);
    // Declared before the ring, so dropped after it: a ring drops only once
    // every read in flight has completed.
    let mut pages: Vec<Page> = (0..depth).map(|_| Page::new()).collect();
    let mut ring = IoUring::new(depth)?;
    let bufs: Vec<(*mut u8, usize)> = pages.iter_mut().map(|p| (p.as_mut_ptr(), p.len())).collect();
    // SAFETY: the pages outlive the registration (declared before the ring).
    let registered = unsafe { ring.register_buffers(&bufs) }.is_ok();
    let fd = if ring.register_files(&[file.fd()]).is_ok() { opcode::Fd::Fixed(0) } else { opcode::Fd::Raw(file.fd()) };
    let len = len.min(crate::abi::PAGE_SIZE);
    let start = Instant::now();
    let mut times = vec![(Duration::ZERO, Duration::ZERO); offsets.len()];
    let mut next = 0usize;
    let mut push = |ring: &mut IoUring, page: usize, times: &mut [ReadTimes]| -> io::Result<()> {
        if next == offsets.len() {
            return Ok(());
        }
        let (buf, offset) = (bufs[page].0, offsets[next]);
        let entry = if registered {
            opcode::ReadFixed { fd, buf, len: len as u32, offset, buf_index: page as u16 }.build()
        } else {
            opcode::Read { fd, buf, len: len as u32, offset }.build()
        };
        // SAFETY: page `page` is not read or written until this read's
        // completion is popped, and the pages outlive the ring.
        unsafe { ring.push(&entry.user_data((next as u64) << 32 | page as u64)) }.map_err(io::Error::other)?;
        times[next].0 = start.elapsed();
        next += 1;
        Ok(())
    };
    for page in 0..depth as usize {
        push(&mut ring, page, &mut times)?;
    }
    let mut done = Vec::with_capacity(depth as usize);
    let mut completed = 0;
    while completed < offsets.len() {
        ring.submit_and_wait(1)?;
        done.extend(ring.completions().map(|c| (c.user_data(), c.result())));
        for (tag, res) in done.drain(..) {
            let (i, page) = ((tag >> 32) as usize, (tag & 0xffff_ffff) as usize);
            if res < 0 {
                return Err(io::Error::from_raw_os_error(-res));
            }
            if res as usize != len {
                return Err(io::Error::other(format!("a read at {} returned {res} bytes of {len}", offsets[i])));
            }
            times[i].1 = start.elapsed();
            completed += 1;
            push(&mut ring, page, &mut times)?;
        }
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_offset_once_in_order_of_the_times() {
        let path = std::env::temp_dir().join(format!("xrpkv-plain-{}", std::process::id()));
        std::fs::write(&path, vec![1u8; 64 * 4096]).unwrap();
        let file = XrpFile::open(&path, crate::DirectIo::Off).unwrap();
        let offsets: Vec<u64> = (0..200).map(|i| (i * 7 % 64) * 4096).collect();
        match uring_reads(&file, &offsets, 4096, 8) {
            Ok(times) => {
                assert_eq!(times.len(), 200);
                assert!(times.iter().all(|&(a, b)| b >= a && b > Duration::ZERO));
            }
            Err(e) => assert!(uring::available().is_err(), "{e}"),
        }
        // Past the end of the file: a short read fails the call.
        let past = uring_reads(&file, &[64 * 4096], 4096, 1);
        assert!(past.is_err() || uring::available().is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
