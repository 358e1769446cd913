//! A plugin for the public eBPF conformance suite's runner.
//!
//! `bpf-conformance-plugin [--jit | --interpreter] [<memory as hex>]` reads
//! the program as hex text on standard input, runs it with the memory as
//! r1/r2 and the suite's helpers, and prints r0 in hex. Without a flag the
//! default engine runs it (the JIT on x86-64 Linux, unless XRPKV_JIT=0).
//! Any failure goes to standard error with exit code 1; an unknown flag, or
//! more than one memory argument, is a usage error (exit code 2), so that a
//! mistyped `--jit` can never quietly test the interpreter instead.

use std::io::Read;
use std::process::ExitCode;

use ebpf::{conformance, default_engine, Engine, Program, Vm};

const USAGE: &str = "usage: bpf-conformance-plugin [--jit | --interpreter] [<memory as hex>] < program.hex";

fn main() -> ExitCode {
    let engine = match parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("bpf-conformance-plugin: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(engine) {
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

/// The engine asked for (None: the default) and the memory argument.
fn parse(args: impl Iterator<Item = String>) -> Result<(Option<Engine>, String), String> {
    let (mut engine, mut memory) = (None, None);
    for arg in args {
        let wanted = match arg.as_str() {
            "--jit" => Engine::Jit,
            "--interpreter" => Engine::Interpreter,
            flag if flag.starts_with('-') => return Err(format!("unknown option '{flag}'")),
            _ if memory.is_some() => return Err(format!("more than one memory argument ('{arg}')")),
            _ => {
                memory = Some(arg);
                continue;
            }
        };
        if engine.is_some_and(|e| e != wanted) {
            return Err("--jit and --interpreter exclude each other".into());
        }
        engine = Some(wanted);
    }
    Ok((engine, memory.unwrap_or_default()))
}

fn run((engine, memory_hex): (Option<Engine>, String)) -> Result<u64, String> {
    let mut memory = conformance::parse_hex(&memory_hex).ok_or("memory argument is not hex")?;
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| format!("cannot read the program: {e}"))?;
    let code = conformance::parse_hex(&text).ok_or("program on standard input is not hex")?;
    let wanted = engine.unwrap_or(default_engine().engine);
    let program =
        Program::from_bytecode_with(&code, &conformance::helpers(), wanted).map_err(|e| format!("load: {e}"))?;
    if engine.is_some() && program.engine() != wanted {
        return Err(format!("the {} was asked for, but {}", wanted.name(), program.engine_reason()));
    }
    let exit = conformance::run(&mut Vm::new(&program), &mut memory).map_err(|e| format!("run: {e}"))?;
    Ok(exit.r0)
}
