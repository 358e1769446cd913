//! A plugin for the public eBPF conformance suite's runner.
//!
//! `bpf-conformance-plugin [<memory as hex>]` reads the program as hex text on
//! standard input, runs it with the memory as r1/r2 and the suite's helpers,
//! and prints r0 in hex. Any failure goes to standard error with exit code 1.

use std::io::Read;
use std::process::ExitCode;

use ebpf::{conformance, Program, Vm};

fn main() -> ExitCode {
    match run() {
        Ok(r0) => {
            println!("{r0:x}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("bpf-conformance-plugin: {why}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<u64, String> {
    // Options the runner may pass (`--flag`) are not ours; the memory is the
    // one positional argument.
    let memory_hex = std::env::args().skip(1).filter(|a| !a.starts_with("--")).next_back().unwrap_or_default();
    let mut memory = conformance::parse_hex(&memory_hex).ok_or("memory argument is not hex")?;
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| format!("cannot read the program: {e}"))?;
    let code = conformance::parse_hex(&text).ok_or("program on standard input is not hex")?;
    let program = Program::from_bytecode(&code, &conformance::helpers()).map_err(|e| format!("load: {e}"))?;
    let exit = conformance::run(&mut Vm::new(&program), &mut memory).map_err(|e| format!("run: {e}"))?;
    Ok(exit.r0)
}
