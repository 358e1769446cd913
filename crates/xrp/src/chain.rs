//! One chain of reads, as the XRP kernel's completion path runs it. Engines
//! (sync, batch) do the reads; this state machine decides what comes next.
//!
//! Per completed read: check the page when the file has a page check
//! (page_check.rs), build a fresh context (zeroed, `data` and `scratch`
//! set), run the program; a VM error, a non-zero return or `done` ends the
//! chain; otherwise the next read is at `next_addr[0]`, unless the hop limit
//! is reached or the address cannot be read.

use ebpf::{region_address, Region, Vm, DEFAULT_BUDGET};

use crate::abi::{self, CONTEXT_REGION, MAX_ADDRS, PAGE_SIZE, SECTOR_SIZE};
use crate::file::XrpFile;
use crate::outcome::{AddressError, ChainResult, Outcome};
use crate::page::Page;

/// How reads after the first are sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// As the prototype kernel: every read 512 bytes, `size[]` ignored, more
    /// than one `next_addr` set aborts the chain.
    KernelCompatible,
    /// Each read is `size[0]` bytes (a multiple of 512 up to 4096; 0 = 4096).
    #[default]
    Extended,
}

pub const DEFAULT_HOP_LIMIT: u32 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainOptions {
    pub mode: Mode,
    /// Reads per chain, the first included.
    pub hop_limit: u32,
    /// VM instructions per program run.
    pub budget: u64,
}

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions { mode: Mode::Extended, hop_limit: DEFAULT_HOP_LIMIT, budget: DEFAULT_BUDGET }
    }
}

impl ChainOptions {
    /// The size of a chain's first read when the caller does not give one.
    pub fn first_read_len(&self) -> usize {
        match self.mode {
            Mode::KernelCompatible => SECTOR_SIZE,
            Mode::Extended => PAGE_SIZE,
        }
    }
}

/// What a chain wants next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Read { offset: u64, len: usize },
    Finished(ChainResult),
}

pub struct Chain {
    options: ChainOptions,
    hops: u32,
    offset: u64,
}

impl Chain {
    /// A chain whose first read is `len` bytes at `offset`.
    pub fn start(options: ChainOptions, file: &XrpFile, offset: u64, len: usize) -> (Chain, Step) {
        let chain = Chain { options, hops: 0, offset };
        let step = match file.check_read(offset, len as u64) {
            Ok(()) => Step::Read { offset, len },
            Err(e) => chain.finish(Outcome::BadAddress(e)),
        };
        (chain, step)
    }

    pub fn hops(&self) -> u32 {
        self.hops
    }

    fn finish(&self, outcome: Outcome) -> Step {
        Step::Finished(ChainResult { outcome, hops: self.hops, last_offset: self.offset })
    }

    /// The read the last `Step::Read` asked for completed with `read` (bytes
    /// read, or an errno) into `data`. Runs the program, with `scratch` (the
    /// chain's scratch page) writable, and says what is next.
    pub fn completed(
        &mut self,
        vm: &mut Vm<'_>,
        file: &XrpFile,
        read: Result<usize, i32>,
        data: &Page,
        scratch: &mut [u8],
    ) -> Step {
        match read {
            Err(errno) => return self.finish(Outcome::ReadError { offset: self.offset, errno }),
            Ok(0) => {
                return self.finish(Outcome::BadAddress(AddressError::OutOfFile { offset: self.offset, file_size: file.size() }))
            }
            Ok(n) => {
                self.hops += 1;
                if let Some(check) = file.page_check() {
                    if let Err(fault) = check.verify(self.offset, &data[..n]) {
                        return self.finish(Outcome::Corrupt(fault));
                    }
                }
            }
        }
        let mut ctx = abi::fresh_context();
        vm.set_budget(self.options.budget);
        let run = vm.run(
            &mut [Region::writable(&mut ctx), Region::readonly(data), Region::writable(scratch)],
            &[region_address(CONTEXT_REGION)],
        );
        match run {
            Err(e) => return self.finish(Outcome::ProgramError(e)),
            Ok(exit) if exit.r0 != 0 => return self.finish(Outcome::Returned { code: exit.r0 }),
            Ok(_) if abi::done(&ctx) => return self.finish(Outcome::Done),
            Ok(_) => {}
        }
        if self.hops >= self.options.hop_limit {
            return self.finish(Outcome::HopLimit { limit: self.options.hop_limit });
        }
        let offset = abi::next_addr(&ctx, 0);
        let len = match self.options.mode {
            Mode::KernelCompatible => {
                let set = 1 + (1..MAX_ADDRS).filter(|&i| abi::next_addr(&ctx, i) != 0).count();
                if set > 1 {
                    return self.finish(Outcome::BadAddress(AddressError::SeveralAddresses { count: set }));
                }
                SECTOR_SIZE as u64
            }
            Mode::Extended => match abi::size(&ctx, 0) {
                0 => PAGE_SIZE as u64,
                n => n,
            },
        };
        if let Err(e) = file.check_read(offset, len) {
            return self.finish(Outcome::BadAddress(e));
        }
        self.offset = offset;
        Step::Read { offset, len: len as usize }
    }
}
