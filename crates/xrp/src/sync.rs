//! The sync engine: one call runs a whole chain with one `pread` per hop.

use ebpf::{Program, Vm};

use crate::chain::{Chain, ChainOptions, Step};
use crate::file::XrpFile;
use crate::outcome::ChainResult;
use crate::page::Page;

pub struct SyncEngine<'p> {
    vm: Vm<'p>,
    data: Page,
}

impl<'p> SyncEngine<'p> {
    pub fn new(program: &'p Program) -> SyncEngine<'p> {
        SyncEngine { vm: Vm::new(program), data: Page::new() }
    }

    /// Runs one chain from a read of `len` bytes at `offset`. `scratch` is the
    /// program's scratch page, in and out.
    pub fn run(&mut self, file: &XrpFile, options: ChainOptions, offset: u64, len: usize, scratch: &mut Page) -> ChainResult {
        let (mut chain, mut step) = Chain::start(options, file, offset, len);
        loop {
            match step {
                Step::Read { offset, len } => {
                    let read = file.read_into(&mut self.data, offset, len);
                    step = chain.completed(&mut self.vm, file, read, &self.data, scratch);
                }
                Step::Finished(result) => return result,
            }
        }
    }

    /// The last block read, as the kernel leaves it in the caller's buffer.
    pub fn data(&self) -> &Page {
        &self.data
    }

    /// What `bpf_trace_printk` wrote during the chains run so far.
    pub fn take_log(&mut self) -> String {
        self.vm.take_log()
    }
}
