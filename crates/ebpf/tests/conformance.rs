//! Runs every vector of the public eBPF conformance suite (../shared/bpf-conformance)
//! on both engines.

use ebpf::conformance::{self, Vector};
use ebpf::{Engine, Program, Vm};

fn vectors() -> Vec<Vector> {
    let path = conformance::shared_dir().join("bpf-conformance/vectors.tsv");
    conformance::read_vectors(&path)
        .unwrap_or_else(|e| panic!("{e}\n(the conformance vectors live in shared/ beside the repository; set XRPKV_SHARED to its path)"))
}

fn every_vector_passes_on(engine: Engine) {
    let vectors = vectors();
    assert_eq!(vectors.len(), 313, "the suite has 313 vectors");
    let helpers = conformance::helpers();
    let mut failures = Vec::new();
    for v in &vectors {
        let program = match Program::from_bytecode_with(&v.code, &helpers, engine) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: load error: {e}", v.name));
                continue;
            }
        };
        assert_eq!(program.engine(), engine, "{}: {}", v.name, program.engine_reason());
        let mut memory = v.memory.clone();
        match conformance::run(&mut Vm::new(&program), &mut memory) {
            Ok(exit) if exit.r0 == v.expected_r0 => {}
            Ok(exit) => failures.push(format!("{}: r0 = {:#x}, expected {:#x}", v.name, exit.r0, v.expected_r0)),
            Err(e) => failures.push(format!("{}: run error: {e}", v.name)),
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), vectors.len(), failures.join("\n"));
    println!("{engine:?}: all {} conformance vectors passed", vectors.len());
}

#[test]
fn every_conformance_vector_passes_on_the_interpreter() {
    every_vector_passes_on(Engine::Interpreter);
}

#[test]
#[cfg_attr(not(all(target_arch = "x86_64", target_os = "linux")), ignore = "the JIT is x86-64 Linux only")]
fn every_conformance_vector_passes_on_the_jit() {
    every_vector_passes_on(Engine::Jit);
}
