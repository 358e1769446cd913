//! The kernel backend: whether this kernel runs XRP programs itself.
//!
//! The probe loads a trivial program as the XRP program type (31 on the
//! paper's 5.12 kernel, 32 on the later port) and, only if this kernel has a
//! `read_xrp` system call, issues a probe read through it (445, then 450, on
//! x86_64, the only architecture with XRP kernels). On any other kernel
//! those numbers belong to other system calls, so they are never called
//! blind.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::abi::PAGE_SIZE;
use crate::arch;
use crate::file::{DirectIo, XrpFile};
use crate::page::Page;
use crate::sys;

// Built only with the `kernel-runner` feature: no kernel with XRP is
// available to test it, so it is not compiled unless asked for.
#[cfg(feature = "kernel-runner")]
mod runner;
#[cfg(feature = "kernel-runner")]
pub use runner::KernelProgram;

/// Known values of `BPF_PROG_TYPE_XRP`.
pub const XRP_PROG_TYPES: [u32; 2] = [32, 31];
/// Known numbers of `read_xrp` on this architecture (none outside x86_64).
pub const READ_XRP_SYSCALLS: &[i64] = arch::READ_XRP_SYSCALLS;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The kernel runs programs: `read_xrp` is `syscall`, programs load as `prog_type`.
    Kernel { syscall: i64, prog_type: u32 },
    Emulator,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub backend: Backend,
    /// Why, in words.
    pub reason: String,
}

/// `mov r0, 0; exit`: a program every verifier accepts.
const TRIVIAL: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

fn kernel_has_read_xrp() -> Result<bool, String> {
    let kallsyms = std::fs::File::open("/proc/kallsyms").map_err(|e| format!("cannot read /proc/kallsyms: {e}"))?;
    let is_read_xrp = |line: &str| arch::READ_XRP_SYMBOLS.iter().any(|s| line.strip_suffix(s).is_some_and(|l| l.ends_with(' ')));
    Ok(BufReader::new(kallsyms).lines().map_while(Result::ok).any(|l| is_read_xrp(&l)))
}

/// Looks for XRP in the running kernel. Never fails: any problem is a reason
/// to use the emulator, given in `reason`.
pub fn probe() -> Probe {
    let emulator = |reason: String| Probe { backend: Backend::Emulator, reason };
    let mut refusals = Vec::new();
    let mut loaded = None;
    for prog_type in XRP_PROG_TYPES {
        match sys::bpf_prog_load(prog_type, &TRIVIAL) {
            // SAFETY: the fd was just returned by bpf() and is owned by nobody else.
            Ok(fd) => {
                loaded = Some((prog_type, unsafe { OwnedFd::from_raw_fd(fd) }));
                break;
            }
            Err(e) => refusals.push(format!("program type {prog_type}: {e}")),
        }
    }
    let has_syscall = match kernel_has_read_xrp() {
        Ok(has) => has,
        Err(why) => return emulator(format!("cannot tell whether the kernel has read_xrp ({why})")),
    };
    if !has_syscall {
        let load = match &loaded {
            Some((t, _)) => format!("a program of type {t} loaded, but that type is not XRP here"),
            None => format!("BPF_PROG_LOAD refused the XRP program types: {}", refusals.join("; ")),
        };
        return emulator(format!(
            "this kernel has no read_xrp system call (no sys_read_xrp in /proc/kallsyms; {load}), so XRP programs run in the emulator"
        ));
    }
    let Some((prog_type, prog)) = loaded else {
        return emulator(format!("the kernel refused an XRP program ({})", refusals.join("; ")));
    };
    match probe_read(prog.as_raw_fd()) {
        Ok(syscall) => Probe {
            backend: Backend::Kernel { syscall, prog_type },
            reason: format!("read_xrp is system call {syscall} and programs load as type {prog_type}"),
        },
        Err(why) => emulator(format!("read_xrp did not work: {why}")),
    }
}

/// One `read_xrp` of a known block of a temporary file; the syscall number that returned it.
fn probe_read(prog_fd: i32) -> Result<i64, String> {
    let path = std::env::temp_dir().join(format!("xrpkv-probe-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        f.write_all(&[0xa5u8; PAGE_SIZE]).and_then(|_| f.sync_all()).map_err(|e| e.to_string())?;
        let file = XrpFile::open(&path, DirectIo::Require).map_err(|e| format!("O_DIRECT: {e}"))?;
        let (mut buf, mut scratch) = (Page::new(), Page::new());
        let mut errors = Vec::new();
        for &number in READ_XRP_SYSCALLS {
            // SAFETY: both pages are 4 KiB-aligned and 4 KiB long; this kernel
            // has sys_read_xrp (checked by the caller).
            match unsafe { sys::read_xrp(number, file.fd(), buf.as_mut_ptr(), 512, 0, prog_fd, scratch.as_mut_ptr()) } {
                Ok(512) if buf[..512].iter().all(|&b| b == 0xa5) => return Ok(number),
                Ok(n) => errors.push(format!("{number}: returned {n}")),
                Err(e) => errors.push(format!("{number}: {e}")),
            }
        }
        Err(errors.join("; "))
    })();
    let _ = std::fs::remove_file(&path);
    result
}
