//! The XRP runtime: runs a program written for the XRP kernel against a file,
//! in the kernel when it has XRP, else in the resubmission emulator.
//!
//! - [`abi`]: the context layout of `bpf/include/xrp.h`;
//! - [`chain`]: one chain's state machine, shared by every engine;
//! - [`sync`]: one chain per call, `pread` per hop;
//! - [`batch`]: many chains at once, on one io_uring or on threads doing
//!   `pread`, as [`io_choice`] measures each file's device;
//! - [`kernel`]: the probe for a kernel with XRP (and, with the
//!   `kernel-runner` feature, `KernelProgram`, which runs chains in it);
//! - [`file`], [`page`], [`outcome`]: what chains read, into what, and how they end;
//! - [`page_check`], [`crc32`]: what the emulator verifies of each page a chain reads;
//! - [`plain`]: plain reads through io_uring, the device's own rate, for benchmarks.

pub mod abi;
mod arch;
pub mod batch;
pub mod chain;
pub mod crc32;
pub mod file;
pub mod io_choice;
pub mod kernel;
pub mod outcome;
pub mod page;
pub mod page_check;
pub mod plain;
pub mod sync;
mod sys;

// The uring crate's check of constants against the C headers, shared rather
// than copied (test-only, std-only).
#[cfg(test)]
#[path = "../../uring/src/c_headers.rs"]
mod c_headers;

pub use batch::{BatchChain, BatchEngine, ChainReport, DEFAULT_QUEUE_DEPTH};
pub use chain::{ChainOptions, Mode, DEFAULT_HOP_LIMIT};
pub use file::{DirectIo, XrpFile};
pub use kernel::{probe, Backend, Probe};
#[cfg(feature = "kernel-runner")]
pub use kernel::KernelProgram;
pub use outcome::{AddressError, ChainResult, Outcome};
pub use page::Page;
pub use page_check::{PageCheck, PageFault};
pub use sync::SyncEngine;
