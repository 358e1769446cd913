//! `posix_fadvise(2)`: telling the kernel how a range of a file will be
//! used. Advice only: it changes what the page cache holds, never what a
//! read returns, so a failure costs speed, not correctness.

/// POSIX_FADV_WILLNEED and POSIX_FADV_DONTNEED: 3 and 4 in Linux's generic
/// uapi, which x86_64 and aarch64 use (the xrp crate refuses to build for
/// other architectures).
pub(crate) const WILLNEED: std::ffi::c_int = 3;
pub(crate) const DONTNEED: std::ffi::c_int = 4;

/// `posix_fadvise(fd, offset, length, advice)`: 0, or an errno.
#[allow(unsafe_code)] // one libc call; it touches no memory of ours
pub(crate) fn advise(
    fd: std::ffi::c_int,
    offset: i64,
    length: i64,
    advice: std::ffi::c_int,
) -> std::ffi::c_int {
    extern "C" {
        fn posix_fadvise(
            fd: std::ffi::c_int,
            offset: i64,
            len: i64,
            advice: std::ffi::c_int,
        ) -> std::ffi::c_int;
    }
    // SAFETY: a plain system call on a descriptor number; a bad one is EBADF.
    unsafe { posix_fadvise(fd, offset, length, advice) }
}
