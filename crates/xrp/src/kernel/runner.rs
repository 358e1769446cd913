//! Running a program in a kernel with XRP: loads it with `bpf()` and runs a
//! chain with `read_xrp`, as the probe found them.
//!
//! Untested, and so built only with the `kernel-runner` feature: no kernel
//! with XRP is available to this project's machines, where the probe always
//! chooses the emulator. The probe itself is always built and tested.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::Backend;
use crate::abi::PAGE_SIZE;
use crate::file::XrpFile;
use crate::page::Page;
use crate::sys;

/// A program loaded into a kernel with XRP, run with `read_xrp`.
///
/// The prototype kernel reports nothing but the first read's byte count: the
/// outcome of a chain is only what the program wrote to scratch. This path is
/// reached only where [`probe`](super::probe) found XRP, which no kernel available to this
/// project's tests has.
pub struct KernelProgram {
    fd: OwnedFd,
    syscall: i64,
}

impl KernelProgram {
    /// Loads `program` into the kernel the probe found.
    pub fn load(program: &ebpf::Program, backend: &Backend) -> std::io::Result<KernelProgram> {
        let Backend::Kernel { syscall, prog_type } = *backend else {
            return Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "this kernel has no XRP"));
        };
        if !program.rodata().is_empty() {
            // The emulator maps .rodata itself; a kernel needs it as a map, which
            // this loader does not create.
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "programs with .rodata need maps in the kernel; run them in the emulator",
            ));
        }
        let fd = sys::bpf_prog_load(prog_type, &program.bytecode())?;
        // SAFETY: the fd was just returned by bpf() and is owned by nobody else.
        Ok(KernelProgram { fd: unsafe { OwnedFd::from_raw_fd(fd) }, syscall })
    }

    /// One chain from a read of `len` bytes at `offset`; returns the kernel's
    /// byte count. The file must be direct (the buffered path never runs the program).
    pub fn run(&self, file: &XrpFile, offset: u64, len: usize, data: &mut Page, scratch: &mut Page) -> std::io::Result<usize> {
        if !file.is_direct() {
            return Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "the kernel runs XRP programs only on O_DIRECT files"));
        }
        let len = len.min(PAGE_SIZE);
        // SAFETY: both pages are 4 KiB-aligned pages we own for the call; this
        // kernel has read_xrp under `syscall` (a Backend::Kernel comes only from the probe).
        unsafe { sys::read_xrp(self.syscall, file.fd(), data.as_mut_ptr(), len, offset, self.fd.as_raw_fd(), scratch.as_mut_ptr()) }
    }
}
