//! Copying out of a file's memory map without dying of SIGBUS.
//!
//! Reading a mapped page the kernel cannot fill (the disk failed the read,
//! or the file shrank below it) raises SIGBUS where `pread` would return an
//! error, and SIGBUS kills the process. The store promises a
//! `ReadFailedError` instead (src/store/pager.ts), so its map reads go
//! through `copy`, whose one memory access out of the map is a single
//! instruction (`rep movsb`) at a known address. The SIGBUS handler
//! installed here, finding the instruction pointer on that instruction,
//! moves it to the copy's recovery exit, which returns "faulted"; the
//! caller then reads the page with `pread`, which reports what went wrong.
//! The kernel's own `copy_from_user` recovers the same way (its exception
//! table).
//!
//! Any other SIGBUS is not ours: it goes to the handler that was installed
//! before this one, or, where that was the default, the default is put
//! back and the faulting instruction runs again and kills the process, as
//! it would have without us. A library that later installs its own SIGBUS
//! handler without chaining to this one turns map faults back into deaths;
//! nothing in Node does.
//!
//! x86_64 only (the instruction pointer's place in the signal context is
//! per architecture); elsewhere `install` says no and the store reads with
//! `pread` alone.

/// The copy faulted: the source could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Faulted;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // the copy, the handler and its installation: the only unsafe code here
mod imp {
    use super::Faulted;
    use std::ffi::{c_int, c_void};
    use std::sync::OnceLock;

    // `guarded_copy(dst, src, len) -> u32`, System V ABI (rdi, rsi, rdx; the
    // direction flag is clear on entry). `..._access` labels the one
    // instruction that reads the source; `..._recover` is where the
    // handler sends a fault in it.
    std::arch::global_asm!(
        ".pushsection .text.xrpkv_guarded_copy,\"ax\",@progbits",
        ".p2align 4",
        ".globl xrpkv_guarded_copy",
        ".hidden xrpkv_guarded_copy",
        ".type xrpkv_guarded_copy,@function",
        "xrpkv_guarded_copy:",
        "mov rcx, rdx",
        ".globl xrpkv_guarded_copy_access",
        ".hidden xrpkv_guarded_copy_access",
        "xrpkv_guarded_copy_access:",
        "rep movsb",
        "xor eax, eax",
        "ret",
        ".globl xrpkv_guarded_copy_recover",
        ".hidden xrpkv_guarded_copy_recover",
        "xrpkv_guarded_copy_recover:",
        "mov eax, 1",
        "ret",
        ".size xrpkv_guarded_copy, . - xrpkv_guarded_copy",
        ".popsection",
    );

    extern "C" {
        fn xrpkv_guarded_copy(dst: *mut u8, src: *const u8, len: usize) -> u32;
        static xrpkv_guarded_copy_access: u8;
        static xrpkv_guarded_copy_recover: u8;
        fn sigaction(sig: c_int, act: *const SigAction, old: *mut SigAction) -> c_int;
    }

    /// glibc's `struct sigaction` on x86_64: handler, 1024-bit mask, flags,
    /// restorer (offsets 0, 8, 136, 144; 152 bytes).
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct SigAction {
        handler: usize,
        mask: [u64; 16],
        flags: c_int,
        restorer: usize,
    }
    const _: () = assert!(std::mem::size_of::<SigAction>() == 152);

    const SIGBUS: c_int = 7;
    const SIG_DFL: usize = 0;
    const SIG_IGN: usize = 1;
    const SA_SIGINFO: c_int = 4;
    const SA_ONSTACK: c_int = 0x0800_0000;
    /// Where `ucontext_t.uc_mcontext.gregs[REG_RIP]` is: 40 bytes of
    /// flags, link and stack, then the registers, RIP the 17th.
    const RIP_AT: usize = 40 + 16 * 8;

    const DEFAULT: SigAction = SigAction {
        handler: SIG_DFL,
        mask: [0; 16],
        flags: 0,
        restorer: 0,
    };

    /// The handler SIGBUS had before ours; set before ours is installed.
    static PREVIOUS: OnceLock<SigAction> = OnceLock::new();
    static INSTALLED: OnceLock<bool> = OnceLock::new();

    extern "C" fn on_sigbus(sig: c_int, info: *mut c_void, context: *mut c_void) {
        // SAFETY: with SA_SIGINFO the kernel passes a valid ucontext_t, whose
        // RIP slot is at RIP_AT on x86_64; the two labels are our symbols.
        unsafe {
            let rip = context.cast::<u8>().add(RIP_AT).cast::<usize>();
            if *rip == std::ptr::addr_of!(xrpkv_guarded_copy_access) as usize {
                *rip = std::ptr::addr_of!(xrpkv_guarded_copy_recover) as usize;
                return;
            }
            let previous = PREVIOUS.get().copied().unwrap_or(DEFAULT);
            match previous.handler {
                // Ignoring a fault is not possible: the kernel would force the default.
                SIG_DFL | SIG_IGN => {
                    sigaction(SIGBUS, &DEFAULT, std::ptr::null_mut());
                }
                h if previous.flags & SA_SIGINFO != 0 => {
                    let f: extern "C" fn(c_int, *mut c_void, *mut c_void) = std::mem::transmute(h);
                    f(sig, info, context);
                }
                h => {
                    let f: extern "C" fn(c_int) = std::mem::transmute(h);
                    f(sig);
                }
            }
        }
    }

    pub(crate) fn install() -> bool {
        *INSTALLED.get_or_init(|| {
            let mut previous = DEFAULT;
            let ours = SigAction {
                handler: on_sigbus as *const () as usize,
                mask: [0; 16],
                flags: SA_SIGINFO | SA_ONSTACK,
                restorer: 0,
            };
            // SAFETY: plain sigaction calls with valid structs. The previous
            // handler is recorded before ours can run.
            unsafe {
                if sigaction(SIGBUS, std::ptr::null(), &mut previous) != 0 {
                    return false;
                }
                let _ = PREVIOUS.set(previous);
                sigaction(SIGBUS, &ours, std::ptr::null_mut()) == 0
            }
        })
    }

    /// Copies `dst.len()` bytes from `src` into `dst`.
    ///
    /// # Safety
    /// `src..src + dst.len()` must be mapped (a fault there is what this
    /// survives, not an unmapped address: that is SIGSEGV) and not overlap `dst`;
    /// `install` must have returned true.
    pub(crate) unsafe fn copy(dst: &mut [u8], src: *const u8) -> Result<(), Faulted> {
        match xrpkv_guarded_copy(dst.as_mut_ptr(), src, dst.len()) {
            0 => Ok(()),
            _ => Err(Faulted),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::Faulted;

    pub(crate) fn install() -> bool {
        false
    }

    /// Never called: `install` says no.
    pub(crate) unsafe fn copy(_dst: &mut [u8], _src: *const u8) -> Result<(), Faulted> {
        Err(Faulted)
    }
}

pub(crate) use imp::copy;
/// Installs the SIGBUS handler, once per process; false where there is
/// none (another architecture, or sigaction refused), and `copy` must not
/// be used.
pub(crate) use imp::install;
