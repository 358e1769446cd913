//! The sync engine: one call runs a whole chain with one `pread` per hop
//! (or one read of the caller's: `run_with`).
//!
//! An engine is not tied to a program: it holds what every chain needs
//! besides the program (the VM's stack and log, the data page), so one
//! engine per thread serves every program and no chain allocates.

use ebpf::{Program, Vm, VmMemory};

use crate::chain::{Chain, ChainOptions, Step};
use crate::file::XrpFile;
use crate::outcome::ChainResult;
use crate::page::Page;

#[derive(Default)]
pub struct SyncEngine {
    /// None only while a chain runs (its `Vm` holds it).
    vm: Option<VmMemory>,
    data: Page,
}

impl SyncEngine {
    pub fn new() -> SyncEngine {
        SyncEngine { vm: Some(VmMemory::new()), data: Page::new() }
    }

    /// Runs one chain of `program` from a read of `len` bytes at `offset`.
    /// `scratch` is the program's scratch page, in and out, used in place: a
    /// page of 4096 bytes as the XRP ABI has it (the VM refuses any access
    /// past a shorter one).
    pub fn run(
        &mut self,
        program: &Program,
        file: &XrpFile,
        options: ChainOptions,
        offset: u64,
        len: usize,
        scratch: &mut [u8],
    ) -> ChainResult {
        self.run_with(program, file, options, offset, len, scratch, &mut |page, offset, len| file.read_into(page, offset, len))
    }

    /// As [`SyncEngine::run`], each hop read by `read` instead of `pread`:
    /// it must do what [`XrpFile::read_into`] does (fill the page from
    /// `offset`, zero the rest, return the bytes read or the errno), e.g.
    /// copy out of a map of the file where the map holds the bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn run_with(
        &mut self,
        program: &Program,
        file: &XrpFile,
        options: ChainOptions,
        offset: u64,
        len: usize,
        scratch: &mut [u8],
        read: &mut dyn FnMut(&mut Page, u64, usize) -> Result<usize, i32>,
    ) -> ChainResult {
        let mut vm = Vm::with_memory(program, self.vm.take().unwrap_or_default());
        let (mut chain, mut step) = Chain::start(options, file, offset, len);
        let result = loop {
            match step {
                Step::Read { offset, len } => {
                    let read = read(&mut self.data, offset, len);
                    step = chain.completed(&mut vm, file, read, &self.data, scratch);
                }
                Step::Finished(result) => break result,
            }
        };
        self.vm = Some(vm.into_memory());
        result
    }

    /// The last block read, as the kernel leaves it in the caller's buffer.
    pub fn data(&self) -> &Page {
        &self.data
    }

    /// What `bpf_trace_printk` wrote during the chains run so far.
    pub fn take_log(&mut self) -> String {
        self.vm.as_mut().map(VmMemory::take_log).unwrap_or_default()
    }
}
