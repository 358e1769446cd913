//! What xrp.rs's calls exchange with src/xrp.ts besides handles: the
//! chain and result records (packed, so that a call costs no Node-API call
//! per chain), the names each choice argument takes, and the outcome codes.
//! `native.xrp` exports all of them, so JavaScript reads and passes them by
//! name; test/native-api.test.ts checks them against src/native.ts's types.

use ::xrp::abi::{PAGE_SIZE, SECTOR_SIZE};
use ::xrp::{AddressError, ChainReport, DirectIo, Mode, Outcome, PageFault, DEFAULT_HOP_LIMIT, DEFAULT_QUEUE_DEPTH};
use ebpf::DEFAULT_BUDGET;

use crate::napi::{Env, Result, Value};

/// A chain as the `chains` argument packs it, little-endian: offsets in
/// the record, exported as `native.xrp.chainFields`.
pub(crate) mod chain_record {
    /// u64: where the first read starts.
    pub(crate) const OFFSET: usize = 0;
    /// u32: the first read's length, 0 for the mode's default; a u32 of 0 follows.
    pub(crate) const LENGTH: usize = 8;
    /// Bytes per chain (`native.xrp.chainRecord`).
    pub(crate) const SIZE: usize = 16;
    pub(crate) const FIELDS: [(&str, usize); 2] = [("offset", OFFSET), ("length", LENGTH)];

    /// A record's offset and length.
    pub(crate) fn read(record: &[u8]) -> (u64, u32) {
        let offset = u64::from_le_bytes(record[OFFSET..OFFSET + 8].try_into().expect("8 bytes"));
        let length = u32::from_le_bytes(record[LENGTH..LENGTH + 4].try_into().expect("4 bytes"));
        (offset, length)
    }
}

/// A chain's result as [`write_record`] writes it, little-endian: offsets
/// in the record, exported as `native.xrp.resultFields`.
pub(crate) mod result_record {
    /// u32: the outcome, an index into `OUTCOME_CODES`.
    pub(crate) const CODE: usize = 0;
    /// u32: reads completed, the first included.
    pub(crate) const HOPS: usize = 4;
    /// u64: the offset of the last read completed.
    pub(crate) const LAST_OFFSET: usize = 8;
    /// u64: what the program returned (RETURNED).
    pub(crate) const RETURNED: usize = 16;
    /// u32: the pc (PROGRAM_ERROR) or errno (READ_ERROR); a reserved u32 follows.
    pub(crate) const DETAIL: usize = 24;
    /// f64: when the engine took the chain up, ns from the start of the batch.
    pub(crate) const STARTED_NS: usize = 32;
    /// f64: when it finished.
    pub(crate) const FINISHED_NS: usize = 40;
    /// Bytes per chain (`native.xrp.resultRecord`).
    pub(crate) const SIZE: usize = 48;
    pub(crate) const FIELDS: [(&str, usize); 7] = [
        ("code", CODE),
        ("hops", HOPS),
        ("lastOffset", LAST_OFFSET),
        ("returned", RETURNED),
        ("detail", DETAIL),
        ("startedNs", STARTED_NS),
        ("finishedNs", FINISHED_NS),
    ];
}
pub(crate) use result_record::SIZE as RESULT_RECORD;

/// What `xrpRunSyncLean` (xrp_sync.rs) reads and writes before the scratch
/// page in its `io` buffer, little-endian: offsets in the record, exported
/// as `native.xrp.syncFields`. In: the chain. Out: how it ended.
pub(crate) mod sync_record {
    /// In, u64: where the first read starts.
    pub(crate) const OFFSET: usize = 0;
    /// In, u32: the first read's length, 0 for the mode's default.
    pub(crate) const LENGTH: usize = 8;
    /// In, u32: an index into `MODES`.
    pub(crate) const MODE: usize = 12;
    /// In, u32: reads at most, 0 for the default.
    pub(crate) const HOP_LIMIT: usize = 16;
    /// In, u32: bytes of the scratch page the caller wrote; the rest is zeroed.
    pub(crate) const SCRATCH_LEN: usize = 20;
    /// In, f64: instructions per program run, 0 for the default.
    pub(crate) const BUDGET: usize = 24;
    /// Out, u32: the outcome, an index into `OUTCOME_CODES`.
    pub(crate) const CODE: usize = 32;
    /// Out, u32: reads completed.
    pub(crate) const HOPS: usize = 36;
    /// Out, u64: the offset of the last read completed.
    pub(crate) const LAST_OFFSET: usize = 40;
    /// Out, u64: what the program returned (RETURNED).
    pub(crate) const RETURNED: usize = 48;
    /// Out, u32: the pc (PROGRAM_ERROR) or errno (READ_ERROR).
    pub(crate) const DETAIL: usize = 56;
    /// Out, u32: 1 when the program logged (`xrpSyncDetails` has it).
    pub(crate) const LOGGED: usize = 60;
    /// Bytes before the scratch page (`native.xrp.syncRecord`).
    pub(crate) const SIZE: usize = 64;
    pub(crate) const FIELDS: [(&str, usize); 12] = [
        ("offset", OFFSET),
        ("length", LENGTH),
        ("mode", MODE),
        ("hopLimit", HOP_LIMIT),
        ("scratchLength", SCRATCH_LEN),
        ("budget", BUDGET),
        ("code", CODE),
        ("hops", HOPS),
        ("lastOffset", LAST_OFFSET),
        ("returned", RETURNED),
        ("detail", DETAIL),
        ("logged", LOGGED),
    ];
}

/// What each choice argument takes, by name; the first is the default.
/// Exported as `native.xrp.modes`, `directIo` and `batchIo`.
pub(crate) const MODES: [(&str, Mode); 2] = [
    ("extended", Mode::Extended),
    ("kernel", Mode::KernelCompatible),
];
pub(crate) const DIRECT_IO: [(&str, DirectIo); 3] = [
    ("auto", DirectIo::Auto),
    ("require", DirectIo::Require),
    ("off", DirectIo::Off),
];
/// How a batch issues its reads: io_uring (threads where it is unavailable), or threads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchIo {
    Auto,
    Threads,
}
pub(crate) const BATCH_IO: [(&str, BatchIo); 2] =
    [("auto", BatchIo::Auto), ("threads", BatchIo::Threads)];

/// Outcome codes by index, as result records carry them.
pub(crate) const OUTCOME_CODES: [&str; 10] = [
    "DONE",
    "RETURNED",
    "PROGRAM_ERROR",
    "READ_ERROR",
    "BAD_ADDRESS",
    "BLOCK_SIZE",
    "OUT_OF_FILE",
    "HOP_LIMIT",
    "CHECKSUM",
    "CORRUPT",
];
/// `native.xrp`: the records' sizes and fields, the choice tables, the
/// outcome codes, and the runtime's defaults.
pub(crate) fn export(env: Env, exports: Value) -> Result<()> {
    let codes = env.array(OUTCOME_CODES.len())?;
    for (i, code) in OUTCOME_CODES.iter().enumerate() {
        env.set_element(codes, i as u32, env.string(code)?)?;
    }
    let constants = env.object()?;
    env.set(constants, "outcomeCodes", codes)?;
    env.set(
        constants,
        "chainRecord",
        env.number(chain_record::SIZE as f64)?,
    )?;
    env.set(constants, "resultRecord", env.number(RESULT_RECORD as f64)?)?;
    env.set(constants, "syncRecord", env.number(sync_record::SIZE as f64)?)?;
    env.set(constants, "syncFields", env.numbers(&sync_record::FIELDS)?)?;
    env.set(
        constants,
        "chainFields",
        env.numbers(&chain_record::FIELDS)?,
    )?;
    env.set(
        constants,
        "resultFields",
        env.numbers(&result_record::FIELDS)?,
    )?;
    env.set(constants, "modes", names(env, &MODES)?)?;
    env.set(constants, "directIo", names(env, &DIRECT_IO)?)?;
    env.set(constants, "batchIo", names(env, &BATCH_IO)?)?;
    env.set(constants, "pageSize", env.number(PAGE_SIZE as f64)?)?;
    env.set(constants, "sectorSize", env.number(SECTOR_SIZE as f64)?)?;
    env.set(
        constants,
        "defaultHopLimit",
        env.number(DEFAULT_HOP_LIMIT as f64)?,
    )?;
    env.set(
        constants,
        "defaultBudget",
        env.number(DEFAULT_BUDGET as f64)?,
    )?;
    env.set(
        constants,
        "defaultDepth",
        env.number(DEFAULT_QUEUE_DEPTH as f64)?,
    )?;
    env.set(exports, "xrp", constants)
}

/// The names of `choices`, in order.
fn names<T>(env: Env, choices: &[(&str, T)]) -> Result<Value> {
    let a = env.array(choices.len())?;
    for (i, (name, _)) in choices.iter().enumerate() {
        env.set_element(a, i as u32, env.string(name)?)?;
    }
    Ok(a)
}

/// `outcome`'s code as records carry it: its index in `OUTCOME_CODES` (a
/// test checks every outcome against the table by name).
pub(crate) fn outcome_code(outcome: &Outcome) -> u32 {
    match outcome {
        Outcome::Done => 0,
        Outcome::Returned { .. } => 1,
        Outcome::ProgramError(_) => 2,
        Outcome::ReadError { .. } => 3,
        Outcome::BadAddress(AddressError::BlockSize { .. }) => 5,
        Outcome::BadAddress(AddressError::OutOfFile { .. }) => 6,
        Outcome::BadAddress(_) => 4,
        Outcome::HopLimit { .. } => 7,
        Outcome::Corrupt(PageFault::Checksum { .. }) => 8,
        Outcome::Corrupt(_) => 9,
    }
}

/// `(returned, detail)` as records carry them: what the program returned
/// (RETURNED), the pc (PROGRAM_ERROR) or the errno (READ_ERROR).
pub(crate) fn outcome_detail(outcome: &Outcome) -> (u64, u32) {
    match outcome {
        Outcome::Returned { code } => (*code, 0),
        Outcome::ProgramError(e) => (0, e.pc() as u32),
        Outcome::ReadError { errno, .. } => (0, *errno as u32),
        _ => (0, 0),
    }
}

/// One result record ([`result_record`]); bytes it names no field of are 0.
pub(crate) fn write_record(out: &mut [u8], report: &ChainReport) {
    use result_record::*;
    let r = &report.result;
    let code = outcome_code(&r.outcome);
    let (returned, detail) = outcome_detail(&r.outcome);
    out[..SIZE].fill(0);
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(CODE, &code.to_le_bytes());
    put(HOPS, &r.hops.to_le_bytes());
    put(LAST_OFFSET, &r.last_offset.to_le_bytes());
    put(RETURNED, &returned.to_le_bytes());
    put(DETAIL, &detail.to_le_bytes());
    put(
        STARTED_NS,
        &(report.started.as_nanos() as f64).to_le_bytes(),
    );
    put(
        FINISHED_NS,
        &(report.finished.as_nanos() as f64).to_le_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebpf::RunError;

    #[test]
    fn every_outcome_has_its_code_s_index() {
        let outcomes = [
            Outcome::Done,
            Outcome::Returned { code: 1 },
            Outcome::ProgramError(RunError::BudgetExhausted { pc: 0, budget: 1 }),
            Outcome::ReadError { offset: 0, errno: 5 },
            Outcome::BadAddress(AddressError::Misaligned { offset: 1 }),
            Outcome::BadAddress(AddressError::BadSize { size: 1 }),
            Outcome::BadAddress(AddressError::SeveralAddresses { count: 2 }),
            Outcome::BadAddress(AddressError::BlockSize { offset: 0, len: 512, block_size: 4096 }),
            Outcome::BadAddress(AddressError::OutOfFile { offset: 0, file_size: 0 }),
            Outcome::HopLimit { limit: 1 },
            Outcome::Corrupt(PageFault::Checksum { page: 1 }),
            Outcome::Corrupt(PageFault::Misplaced { page: 1, claims: 2 }),
            Outcome::Corrupt(PageFault::NotAPage { offset: 0, len: 1 }),
        ];
        for o in &outcomes {
            assert_eq!(OUTCOME_CODES[outcome_code(o) as usize], o.code(), "{o:?}");
        }
        let mut seen: Vec<&str> = outcomes.iter().map(Outcome::code).collect();
        seen.dedup();
        assert_eq!(seen.len(), OUTCOME_CODES.len(), "every code is some outcome's");
    }
}
