//! The kernel ABI numbers Linux defines per architecture: io_uring's system
//! call numbers and the mmap flags the rings are mapped with. They agree on
//! x86_64 and aarch64, but not everywhere (alpha numbers io_uring_setup 535,
//! mips defines MAP_POPULATE as 0x10000).
//!
//! Right or refused: each supported architecture has its own table, checked
//! against the kernel's uapi headers, and any other target fails to build
//! rather than pass one architecture's number to another's kernel. Both tables are compiled on every target, so neither can fall
//! behind the other (a missing field is a compile error).

use std::ffi::{c_int, c_long};

#[cfg(not(target_os = "linux"))]
compile_error!("uring is Linux-only: io_uring is a Linux system call interface");

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "uring knows io_uring's system call numbers and mmap flags for x86_64 and aarch64 only; \
     add this architecture's table to crates/uring/src/arch.rs, from its uapi headers"
);

/// What this crate takes from one architecture's ABI.
pub struct Abi {
    pub sys_io_uring_setup: c_long,
    pub sys_io_uring_enter: c_long,
    pub sys_io_uring_register: c_long,
    pub prot_read: c_int,
    pub prot_write: c_int,
    pub map_shared: c_int,
    pub map_populate: c_int,
}

/// `arch/x86/entry/syscalls/syscall_64.tbl`; x86 takes its mmap flags from
/// `asm-generic/mman-common.h` and `linux/mman.h`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // compiled to be type-checked
pub const X86_64: Abi = Abi {
    sys_io_uring_setup: 425,
    sys_io_uring_enter: 426,
    sys_io_uring_register: 427,
    prot_read: 0x1,
    prot_write: 0x2,
    map_shared: 0x01,
    map_populate: 0x8000,
};

/// arm64 has no syscall table of its own: `arch/arm64/include/uapi/asm/unistd.h`
/// is `asm-generic/unistd.h`, and its `asm/mman.h` includes
/// `asm-generic/mman.h` (adding only PROT_BTI and PROT_MTE).
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))] // compiled to be type-checked
pub const AARCH64: Abi = Abi {
    sys_io_uring_setup: 425,
    sys_io_uring_enter: 426,
    sys_io_uring_register: 427,
    prot_read: 0x1,
    prot_write: 0x2,
    map_shared: 0x01,
    map_populate: 0x8000,
};

#[cfg(target_arch = "x86_64")]
const TARGET: Abi = X86_64;
#[cfg(target_arch = "aarch64")]
const TARGET: Abi = AARCH64;

pub const SYS_IO_URING_SETUP: c_long = TARGET.sys_io_uring_setup;
pub const SYS_IO_URING_ENTER: c_long = TARGET.sys_io_uring_enter;
pub const SYS_IO_URING_REGISTER: c_long = TARGET.sys_io_uring_register;
pub const PROT_READ: c_int = TARGET.prot_read;
pub const PROT_WRITE: c_int = TARGET.prot_write;
pub const MAP_SHARED: c_int = TARGET.map_shared;
pub const MAP_POPULATE: c_int = TARGET.map_populate;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c_headers::assert_headers_agree;

    fn named(abi: &Abi) -> [(&'static str, i64); 7] {
        [
            ("__NR_io_uring_setup", abi.sys_io_uring_setup),
            ("__NR_io_uring_enter", abi.sys_io_uring_enter),
            ("__NR_io_uring_register", abi.sys_io_uring_register),
            ("PROT_READ", abi.prot_read.into()),
            ("PROT_WRITE", abi.prot_write.into()),
            ("MAP_SHARED", abi.map_shared.into()),
            ("MAP_POPULATE", abi.map_populate.into()),
        ]
    }

    #[test]
    fn the_targets_table_is_what_this_machines_kernel_headers_say() {
        assert_headers_agree(&["asm/unistd.h", "linux/mman.h"], &named(&TARGET));
    }

    /// The headers arm64 uses are on every Linux machine, so the aarch64 table
    /// is checked on x86_64 too.
    #[test]
    fn the_aarch64_table_is_what_the_generic_headers_say() {
        // MAP_SHARED is defined in linux/mman.h, for every architecture.
        let headers = ["asm-generic/unistd.h", "asm-generic/mman.h", "linux/mman.h"];
        assert_headers_agree(&headers, &named(&AARCH64));
    }

    /// The check above compares, rather than only compiling.
    #[test]
    #[should_panic(expected = "PROT_WRITE is not 4")]
    fn a_wrong_value_fails_the_check() {
        assert_headers_agree(&["linux/mman.h"], &[("PROT_WRITE", 4)]);
    }
}
