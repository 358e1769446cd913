//! The kernel ABI numbers Linux defines per architecture that this crate
//! passes to the kernel: `O_DIRECT`, the `bpf()` system call, the block-device
//! ioctls, and where XRP's `read_xrp` is.
//!
//! Right or refused: each supported architecture has its own table, checked
//! against the kernel's uapi headers, and any other target fails to build.
//! The values really differ: x86_64's `O_DIRECT` is arm64's `O_DIRECTORY`,
//! and x86_64's `bpf` number is an unrelated call on arm64. Both tables are
//! compiled on every target, so neither can fall behind the other (a missing
//! field is a compile error).

use std::os::raw::{c_int, c_long, c_ulong};

#[cfg(not(target_os = "linux"))]
compile_error!("xrp is Linux-only: it needs O_DIRECT, statx, bpf() and Linux's block-device ioctls");

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "xrp knows O_DIRECT, the bpf() system call number and the block-device ioctls for x86_64 and \
     aarch64 only; add this architecture's table to crates/xrp/src/arch.rs, from its uapi headers"
);

/// What this crate takes from one architecture's ABI.
pub struct Abi {
    pub o_direct: c_int,
    pub sys_bpf: c_long,
    /// `BLKSSZGET`, `_IO(0x12, 104)`.
    pub blksszget: c_ulong,
    /// `BLKGETSIZE64`, `_IOR(0x12, 114, size_t)`: the size of `size_t` is
    /// part of the number.
    pub blkgetsize64: c_ulong,
    /// The numbers XRP kernels gave `read_xrp`, tried in order. XRP exists
    /// only as patched x86_64 kernels; elsewhere this is empty and the probe
    /// issues no `read_xrp`.
    pub read_xrp_syscalls: &'static [i64],
    /// `read_xrp`'s entry point as `/proc/kallsyms` names it.
    pub read_xrp_symbols: &'static [&'static str],
}

/// `O_DIRECT` from `asm-generic/fcntl.h` (x86 overrides none of it),
/// `bpf` from `arch/x86/entry/syscalls/syscall_64.tbl`, the ioctls from
/// `linux/fs.h` with `asm-generic/ioctl.h`'s encoding and an 8-byte size_t.
/// `read_xrp` is 445 in the XRP paper's 5.12 kernel (BPF-KV calls it so) and
/// 450 in a later port; on kernels without XRP those are landlock_add_rule
/// and set_mempolicy_home_node, so the probe calls them only when kallsyms
/// has `__x64_sys_read_xrp` (`sys_read_xrp` before syscall wrappers, 4.17).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // compiled to be type-checked
pub const X86_64: Abi = Abi {
    o_direct: 0o40000,
    sys_bpf: 321,
    blksszget: 0x1268,
    blkgetsize64: 0x8008_1272,
    read_xrp_syscalls: &[445, 450],
    read_xrp_symbols: &["__x64_sys_read_xrp", "sys_read_xrp"],
};

/// `O_DIRECT` from `arch/arm64/include/uapi/asm/fcntl.h`, which overrides
/// the generic 0o40000 (its `O_DIRECTORY`) with 0o200000; `bpf` from
/// `asm-generic/unistd.h`, arm64's syscall table; the ioctls as on x86_64
/// (arm64 uses `asm-generic/ioctl.h` too, with an 8-byte size_t). There is
/// no XRP kernel for arm64.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))] // compiled to be type-checked
pub const AARCH64: Abi = Abi {
    o_direct: 0o200000,
    sys_bpf: 280,
    blksszget: 0x1268,
    blkgetsize64: 0x8008_1272,
    read_xrp_syscalls: &[],
    read_xrp_symbols: &[],
};

#[cfg(target_arch = "x86_64")]
const TARGET: Abi = X86_64;
#[cfg(target_arch = "aarch64")]
const TARGET: Abi = AARCH64;

/// This architecture's `O_DIRECT`.
pub const O_DIRECT: c_int = TARGET.o_direct;
pub const SYS_BPF: c_long = TARGET.sys_bpf;
pub const BLKSSZGET: c_ulong = TARGET.blksszget;
pub const BLKGETSIZE64: c_ulong = TARGET.blkgetsize64;
pub const READ_XRP_SYSCALLS: &[i64] = TARGET.read_xrp_syscalls;
pub const READ_XRP_SYMBOLS: &[&str] = TARGET.read_xrp_symbols;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c_headers::assert_headers_agree;
    use std::fs::OpenOptions;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn the_targets_table_is_what_this_machines_c_headers_say() {
        let named = [
            ("O_DIRECT", TARGET.o_direct.into()),
            ("__NR_bpf", TARGET.sys_bpf),
            ("BLKSSZGET", TARGET.blksszget as i64),
            ("BLKGETSIZE64", TARGET.blkgetsize64 as i64),
        ];
        assert_headers_agree(&["fcntl.h", "asm/unistd.h", "linux/fs.h"], &named);
    }

    /// arm64's syscall table is on every Linux machine, so the aarch64 table
    /// is checked on x86_64 too. Its `O_DIRECT` is in arm64's own fcntl.h,
    /// which only an arm64 machine has; the test above checks it there.
    #[test]
    fn the_aarch64_table_is_what_the_generic_headers_say() {
        let named = [
            ("__NR_bpf", AARCH64.sys_bpf),
            // linux/fs.h encodes with asm/ioctl.h, which is asm-generic/ioctl.h
            // on both architectures, and size_t is 8 bytes on both.
            ("BLKSSZGET", AARCH64.blksszget as i64),
            ("BLKGETSIZE64", AARCH64.blkgetsize64 as i64),
        ];
        // stddef.h: BLKGETSIZE64 names size_t.
        assert_headers_agree(&["stddef.h", "asm-generic/unistd.h", "linux/fs.h"], &named);
    }

    extern "C" {
        fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    }
    // The same on every Linux architecture (asm-generic/fcntl.h, errno-base.h).
    const F_GETFL: c_int = 3;
    const F_SETFL: c_int = 4;
    const EINVAL: i32 = 22;

    /// What makes `O_DIRECT` itself, asked of the running kernel: a file
    /// system without direct I/O refuses it at open with EINVAL (so it is
    /// not O_APPEND, O_NOATIME, O_NONBLOCK, O_ASYNC or O_LARGEFILE, which
    /// procfs accepts, nor O_DIRECTORY, refused with ENOTDIR), and on a file
    /// that has direct I/O the flag is kept and F_SETFL can clear it (which
    /// leaves only O_DIRECT of the flags refused above).
    #[test]
    fn o_direct_is_the_flag_the_kernel_treats_as_direct_io() {
        let procfs = OpenOptions::new().read(true).custom_flags(O_DIRECT).open("/proc/self/status");
        assert_eq!(procfs.err().and_then(|e| e.raw_os_error()), Some(EINVAL), "procfs has no direct I/O");

        let file = file_with_direct_io();
        let fd = file.as_raw_fd();
        // SAFETY: F_GETFL and F_SETFL take an open fd and an int; fd is open for the test.
        let flags = unsafe { fcntl(fd, F_GETFL) };
        assert!(flags >= 0 && flags & O_DIRECT == O_DIRECT, "F_GETFL {flags:#o} lacks O_DIRECT {O_DIRECT:#o}");
        // SAFETY: as above.
        assert_eq!(unsafe { fcntl(fd, F_SETFL, flags & !O_DIRECT) }, 0);
        // SAFETY: as above.
        assert_eq!(unsafe { fcntl(fd, F_GETFL) } & O_DIRECT, 0, "F_SETFL did not clear O_DIRECT");
    }

    /// A file opened with O_DIRECT in the first directory whose file system
    /// has direct I/O: the temporary directory, /var/tmp, or the test
    /// binary's (tmpfs before Linux 6.6 has none).
    fn file_with_direct_io() -> std::fs::File {
        let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.to_path_buf()));
        let dirs = [Some(std::env::temp_dir()), Some("/var/tmp".into()), exe_dir];
        let mut refusals = Vec::new();
        for dir in dirs.into_iter().flatten() {
            let path = dir.join(format!("xrpkv-arch-{}", std::process::id()));
            if let Err(e) = std::fs::write(&path, [0u8; 4096]) {
                refusals.push(format!("{}: {e}", dir.display()));
                continue;
            }
            let opened = OpenOptions::new().read(true).custom_flags(O_DIRECT).open(&path);
            let _ = std::fs::remove_file(&path);
            match opened {
                Ok(file) => return file,
                Err(e) => refusals.push(format!("{}: {e}", dir.display())),
            }
        }
        panic!("no directory to open a file with O_DIRECT in: {}", refusals.join("; "))
    }
}
