//! xrpkv's Node addon: the eBPF VM and the XRP runtime (`xrp`), exposed
//! through a handful of functions. `src/native.ts` types them; `src/vm.ts`
//! and `src/xrp.ts` are the API users see.
//!
//! Node-API is declared by hand (`napi_sys`) and wrapped (`napi`), so this
//! crate has no dependency besides `ebpf` and `xrp`. All `unsafe` code lives in those two
//! modules, but for one descriptor duplication in `commit`, one
//! `posix_fadvise` in `fadvise`, the lock file's mapping in
//! `reader_table`, the database file's read map in `file_map` and its
//! SIGBUS-guarded copy in `bus_guard`, and `mincore` and hole punching in
//! `evict` (each allowed there by name); the rest is checked safe.
#![deny(unsafe_code)]

mod aligned_bytes;
mod bus_guard;
mod commit;
mod commit_order;
mod evict;
mod fadvise;
mod geo_math;
mod file_map;
mod mman;
mod format;
mod io_trace;
mod leaves;
mod napi;
mod napi_sys;
mod prefetch;
mod reader_table;
mod staged_pages;
mod store;
mod store_table;
mod xrp;
mod xrp_records;
mod xrp_sync;
mod xrp_walk;

use ebpf::{
    default_engine, list_programs, region_address, Engine, Helpers, LoadError, Program, Region,
    RunError, Vm, DEFAULT_BUDGET,
};
use napi::{CallCtx, Env, JsError, Prop, Result, TypeTag, Value};

/// Marks externals that hold a `Program`, so a foreign external is refused.
static PROGRAM_TAG: TypeTag = TypeTag {
    lower: 0x7872_706b_765f_7072,
    upper: 0x6f67_7261_6d5f_7631,
};

/// Largest budget accepted: budgets arrive as JS numbers, exact up to 2^53 - 1.
const MAX_BUDGET: f64 = 9_007_199_254_740_991.0;

/// Called once by `napi_register_module_v1`.
pub(crate) fn init(env: Env, exports: Value) -> Result<()> {
    let methods: [(&str, napi::Method); 6] = [
        ("loadElf", load_elf),
        ("loadBytecode", load_bytecode),
        ("listPrograms", list),
        ("programInfo", program_info),
        ("run", run),
        ("vmEngine", vm_engine),
    ];
    for (name, method) in methods
        .into_iter()
        .chain(xrp::METHODS)
        .chain(xrp_sync::METHODS)
        .chain(xrp_walk::METHODS)
        .chain(store::METHODS)
        .chain(prefetch::METHODS)
        .chain(store_table::METHODS)
        .chain(commit::METHODS)
        .chain(staged_pages::METHODS)
        .chain(io_trace::METHODS)
        .chain(leaves::METHODS)
        .chain(file_map::METHODS)
        .chain(evict::METHODS)
        .chain(geo_math::METHODS)
    {
        env.set(exports, name, env.function(name, method)?)?;
    }
    xrp_records::export(env, exports)?;
    format::export(env, exports)?;
    store_table::export(env, exports)?;
    env.set(exports, "memoryAddress", env.bigint(region_address(0))?)?;
    env.set(exports, "defaultBudget", env.number(DEFAULT_BUDGET as f64)?)?;
    Ok(())
}

pub(crate) fn load_error(e: LoadError) -> JsError {
    let err = JsError::new(napi::ErrorKind::Error, e.to_string()).code(e.code());
    match e {
        LoadError::Check { pc, .. } => err.prop("pc", Prop::Number(pc as f64)),
        _ => err,
    }
}

fn run_error(e: RunError, log: String) -> JsError {
    JsError::new(napi::ErrorKind::Error, e.to_string())
        .code(e.code())
        .prop("pc", Prop::Number(e.pc() as f64))
        .prop("log", Prop::Str(log))
}

/// Wraps a loaded program in a tagged external. The size hint (decoded
/// instructions are 8-12 bytes each, plus the helper table and name) lets V8
/// weigh what it keeps alive.
fn program_handle(env: Env, program: Program) -> Result<Value> {
    let hint = 512 + program.len() * 16 + program.name().len();
    env.external(program, &PROGRAM_TAG, hint)
}

/// The engine a load asks for with its `jit` argument: false the
/// interpreter, true the JIT, undefined the process default (`vmEngine`).
pub(crate) fn engine_arg(cx: &CallCtx<'_>, i: usize) -> Result<Engine> {
    Ok(match cx.boolean(i, "jit")? {
        Some(false) => Engine::Interpreter,
        Some(true) => Engine::Jit,
        None => default_engine().engine,
    })
}

/// `vmEngine(): [engine: 'jit' | 'interpreter', reason]`: what programs load
/// for unless they ask otherwise (the JIT on x86-64 Linux, unless XRPKV_JIT=0).
fn vm_engine(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let choice = default_engine();
    let out = env.array(2)?;
    env.set_element(out, 0, env.string(choice.engine.name())?)?;
    env.set_element(out, 1, env.string(&choice.reason)?)?;
    Ok(out)
}

/// `loadElf(object: Uint8Array, name?: string, jit?: boolean): handle`
fn load_elf(cx: &mut CallCtx<'_>) -> Result<Value> {
    let name = cx.string(1, "name")?;
    let engine = engine_arg(cx, 2)?;
    let env = cx.env();
    let object = cx
        .bytes(0, "object")?
        .ok_or_else(|| JsError::type_error("object must be a Uint8Array or Buffer"))?;
    let program = Program::from_elf_with(object, name.as_deref(), &Helpers::standard(), engine)
        .map_err(load_error)?;
    program_handle(env, program)
}

/// `loadBytecode(code: Uint8Array, jit?: boolean): handle`
fn load_bytecode(cx: &mut CallCtx<'_>) -> Result<Value> {
    let engine = engine_arg(cx, 1)?;
    let env = cx.env();
    let code = cx
        .bytes(0, "code")?
        .ok_or_else(|| JsError::type_error("code must be a Uint8Array or Buffer"))?;
    let program =
        Program::from_bytecode_with(code, &Helpers::standard(), engine).map_err(load_error)?;
    program_handle(env, program)
}

/// `listPrograms(object: Uint8Array): { name, section, insnCount }[]`
fn list(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let object = cx
        .bytes(0, "object")?
        .ok_or_else(|| JsError::type_error("object must be a Uint8Array or Buffer"))?;
    let infos = list_programs(object).map_err(load_error)?;
    let array = env.array(infos.len())?;
    for (i, info) in infos.iter().enumerate() {
        let o = env.object()?;
        env.set(o, "name", env.string(&info.name)?)?;
        env.set(o, "section", env.string(&info.section)?)?;
        env.set(o, "insnCount", env.number(info.insn_count as f64)?)?;
        env.set_element(array, i as u32, o)?;
    }
    Ok(array)
}

/// `programInfo(handle): { name, length, engine, engineReason }`
fn program_info(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let program: &Program = cx.external(0, &PROGRAM_TAG, "program")?;
    program_info_object(env, program)
}

/// What `programInfo` and `xrpProgramInfo` say about a loaded program.
pub(crate) fn program_info_object(env: Env, program: &Program) -> Result<Value> {
    let o = env.object()?;
    env.set(o, "name", env.string(program.name())?)?;
    env.set(o, "length", env.number(program.len() as f64)?)?;
    env.set(o, "engine", env.string(program.engine().name())?)?;
    env.set(o, "engineReason", env.string(program.engine_reason())?)?;
    Ok(o)
}

/// `run(handle, memory?: Uint8Array, budget?: number): [r0, executed, log]`
///
/// `memory` becomes writable region 0, with r1 = its VM address and r2 = its
/// length; without it r1 = r2 = 0.
fn run(cx: &mut CallCtx<'_>) -> Result<Value> {
    let env = cx.env();
    let program: &Program = cx.external(0, &PROGRAM_TAG, "program")?;
    let budget = match cx.number(2, "budget")? {
        None => DEFAULT_BUDGET,
        Some(b) if b.fract() == 0.0 && (1.0..=MAX_BUDGET).contains(&b) => b as u64,
        Some(b) => {
            return Err(JsError::range_error(format!(
                "budget must be an integer from 1 to 2^53-1, got {b}"
            ))
            .into())
        }
    };
    let mut vm = Vm::new(program);
    vm.set_budget(budget);
    let outcome = match cx.bytes(1, "memory")? {
        Some(memory) => {
            let len = memory.len() as u64;
            vm.run(&mut [Region::writable(memory)], &[region_address(0), len])
        }
        None => vm.run(&mut [], &[0, 0]),
    };
    let log = vm.take_log();
    let exit = outcome.map_err(|e| run_error(e, log.clone()))?;
    // An array, not an object: named properties set through Node-API cost
    // more than the run itself (a map transition each); vm.ts names them.
    let result = env.array(3)?;
    env.set_element(result, 0, env.bigint(exit.r0)?)?;
    env.set_element(result, 1, env.number(exit.executed as f64)?)?;
    env.set_element(result, 2, env.string(&log)?)?;
    Ok(result)
}
