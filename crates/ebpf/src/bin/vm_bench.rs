//! `vm-bench [NODE_SEARCH_OBJECT]`: nanoseconds per executed instruction of
//! the interpreter and of the JIT, side by side, for (a) the conformance
//! programs and (b) a lower-bound search over a 4 KiB B+tree node
//! (`bpf/node_search.c`). Prints the median of 7 rounds and the ratio.
//!
//! `npm run bench:vm` runs it on the object `npm install` compiled.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ebpf::{conformance, region_address, Engine, Helpers, Program, Region, Vm};

const ENGINES: [Engine; 2] = [Engine::Interpreter, Engine::Jit];

const ROUNDS: usize = 7;
const ROUND_TIME: Duration = Duration::from_millis(150);

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// CPU time this thread has run, in ns: unlike wall time, not inflated
/// while other work on a shared machine holds the core.
fn thread_cpu_ns() -> u64 {
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: clock_gettime writes one timespec, whose layout this matches on 64-bit Linux.
    let ok = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    assert!(ok, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

/// Runs `one` (which returns instructions executed) repeatedly for about
/// ROUND_TIME, ROUNDS times; returns the median ns of thread CPU time per
/// instruction and per run.
fn measure(mut one: impl FnMut() -> u64) -> (f64, f64) {
    let mut per_insn = Vec::new();
    let mut per_run = Vec::new();
    for _ in 0..ROUNDS {
        let (mut runs, mut insns) = (0u64, 0u64);
        let start = Instant::now();
        let cpu = thread_cpu_ns();
        while start.elapsed() < ROUND_TIME {
            for _ in 0..256 {
                insns += one();
            }
            runs += 256;
        }
        let ns = (thread_cpu_ns() - cpu) as f64;
        per_insn.push(ns / insns as f64);
        per_run.push(ns / runs as f64);
    }
    (median(per_insn), median(per_run))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Prints one result line per engine and the interpreter's time over the JIT's.
fn report(what: &str, per_engine: &[(Engine, f64, String)]) {
    println!("{what}");
    for (engine, ns, detail) in per_engine {
        println!("    {:<11} {ns:6.2} ns/instruction{detail}", engine.name());
    }
    if let [(_, interp, _), (_, jit, _)] = per_engine {
        println!("    interpreter / jit: {:.1}x", interp / jit);
    }
}

fn conformance_programs() -> Result<(), String> {
    let path = conformance::shared_dir().join("bpf-conformance/vectors.tsv");
    let vectors = conformance::read_vectors(&path)?;
    let helpers = conformance::helpers();
    let mut programs = Vec::new();
    for v in &vectors {
        if let Ok(p) = Program::from_bytecode_with(&v.code, &helpers, Engine::Jit) {
            programs.push((p, v.memory.clone()));
        }
    }
    let trivial = Program::from_bytecode_with(
        &[0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0],
        &Helpers::new(),
        Engine::Jit,
    )
    .map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    let mut shape = String::new();
    for engine in ENGINES {
        let mut vms: Vec<(Vm, Vec<u8>)> = programs
            .iter()
            .map(|(p, m)| {
                let mut vm = Vm::new(p);
                vm.set_engine(engine);
                (vm, m.clone())
            })
            .collect();
        let (ns_insn, ns_run) = measure(|| {
            let mut executed = 0;
            for (vm, mem) in vms.iter_mut() {
                executed += conformance::run(vm, mem).map_or(0, |e| e.executed);
            }
            executed
        });
        let per_program = ns_run / vms.len() as f64;
        let insns_per_program = per_program / ns_insn;
        // The fixed cost of a run (frame zeroing, address map, for the JIT
        // its tables): these programs execute only about ten instructions.
        let mut vm = Vm::new(&trivial);
        vm.set_engine(engine);
        let (_, ns_empty) = measure(|| vm.run(&mut [], &[]).map_or(0, |e| e.executed));
        let net = (per_program - ns_empty) / (insns_per_program - 2.0);
        shape = format!("({} programs, {insns_per_program:.1} instructions each)", vms.len());
        let detail = format!(", {per_program:5.0} ns/run; fixed cost of a run {ns_empty:5.1} ns, net of it {net:5.2} ns/instruction");
        results.push((engine, ns_insn, detail));
    }
    report(&format!("(a) conformance programs {shape}"), &results);
    Ok(())
}

/// The node layout of `bpf/node_search.c`: search key, count, 255 keys, 255 values.
fn node(keys: &[u64], search: u64) -> Vec<u8> {
    let mut n = vec![0u8; 4096];
    n[0..8].copy_from_slice(&search.to_le_bytes());
    n[8..16].copy_from_slice(&(keys.len() as u64).to_le_bytes());
    for (i, k) in keys.iter().enumerate() {
        n[16 + 8 * i..24 + 8 * i].copy_from_slice(&k.to_le_bytes());
        n[2056 + 8 * i..2064 + 8 * i].copy_from_slice(&(k * 10).to_le_bytes());
    }
    n
}

fn node_search(object: &str) -> Result<(), String> {
    let bytes = std::fs::read(object).map_err(|e| format!("cannot read {object}: {e} (run `npm install` first)"))?;
    let program =
        Program::from_elf_with(&bytes, None, &Helpers::standard(), Engine::Jit).map_err(|e| format!("{object}: {e}"))?;
    let keys: Vec<u64> = (0..255).map(|i| 16 + 4 * i).collect();
    let mut results = Vec::new();
    let mut searched = 0.0;
    for engine in ENGINES {
        let mut page = node(&keys, 0);
        let mut vm = Vm::new(&program);
        vm.set_engine(engine);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut checked = 0;
        let (ns_insn, ns_run) = measure(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let search = x % 1100;
            page[0..8].copy_from_slice(&search.to_le_bytes());
            let exit = vm.run(&mut [Region::readonly(&page)], &[region_address(0), 4096]).expect("node_search runs");
            if checked < 1000 {
                let expect = keys.iter().find(|&&k| k >= search).map_or(u64::MAX, |k| k * 10);
                assert_eq!(exit.r0, expect, "node_search({search}) on the {}", engine.name());
                checked += 1;
            }
            black_box(exit.executed)
        });
        searched = (ns_run / ns_insn).round();
        results.push((engine, ns_insn, format!(", {ns_run:5.0} ns/search")));
    }
    report(&format!("(b) node_search over a 4 KiB node (255 keys, {searched} instructions/search)"), &results);
    Ok(())
}

fn main() {
    println!("eBPF VM, interpreter and JIT, median of {ROUNDS} rounds of {} ms, in this thread's CPU time", ROUND_TIME.as_millis());
    if !ebpf::JIT_BUILT {
        println!("(this build has no JIT: both lines run the interpreter)");
    }
    let object = std::env::args().nth(1).unwrap_or_else(|| "dist/bpf/node_search.o".into());
    let results = [conformance_programs(), node_search(&object)];
    let mut failed = false;
    for r in results {
        if let Err(e) = r {
            eprintln!("vm-bench: {e}");
            failed = true;
        }
    }
    std::process::exit(failed as i32);
}
