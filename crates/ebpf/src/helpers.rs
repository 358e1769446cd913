//! Helper functions a program may `call` by id, registered by the embedder.
//!
//! A program that calls an id nobody registered is refused at load, so a run
//! never meets an unknown helper.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::error::RunError;
use crate::memory::AddressMap;

/// `bpf_trace_printk(fmt, fmt_size, ...)`, as numbered in the kernel.
pub const TRACE_PRINTK: u32 = 6;
/// The conformance suite's "unwind" helper. Only its runner registers it.
pub const CONFORMANCE_UNWIND: u32 = 5;

/// Largest helper id accepted, so the run-time table stays a small array.
pub const MAX_HELPER_ID: u32 = 1 << 16;

/// What a helper call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperOutcome {
    /// Continue with this value in r0.
    Return(u64),
    /// Stop the whole program now, as if it had exited with this r0.
    Stop(u64),
}

/// What a helper may touch during a call: the program's memory, checked the
/// same way as the program's own loads, and the run's text log.
pub struct HelperContext<'m, 'a> {
    pub memory: &'m mut AddressMap<'a>,
    pub log: &'m mut String,
}

pub type HelperFn =
    Arc<dyn Fn(&mut HelperContext<'_, '_>, [u64; 5]) -> Result<HelperOutcome, String> + Send + Sync>;

/// The helpers an embedder offers, by id.
#[derive(Clone, Default)]
pub struct Helpers {
    by_id: BTreeMap<u32, (String, HelperFn)>,
}

impl Helpers {
    /// No helpers at all.
    pub fn new() -> Helpers {
        Helpers::default()
    }

    /// The helpers every embedder of this project offers: `bpf_trace_printk`.
    pub fn standard() -> Helpers {
        let mut h = Helpers::new();
        h.register(TRACE_PRINTK, "bpf_trace_printk", Arc::new(trace_printk));
        h
    }

    /// Adds or replaces helper `id`. Ids above [`MAX_HELPER_ID`] are ignored
    /// and therefore refused at load.
    pub fn register(&mut self, id: u32, name: &str, f: HelperFn) -> &mut Helpers {
        if id <= MAX_HELPER_ID {
            self.by_id.insert(id, (name.to_string(), f));
        }
        self
    }

    pub fn get(&self, id: u32) -> Option<&HelperFn> {
        self.by_id.get(&id).map(|(_, f)| f)
    }

    pub fn contains(&self, id: u32) -> bool {
        self.by_id.contains_key(&id)
    }

    /// A dense table indexed by id, for the interpreter's call path.
    pub(crate) fn table(&self) -> Vec<Option<HelperFn>> {
        let len = self.by_id.keys().next_back().map_or(0, |&max| max as usize + 1);
        let mut t = vec![None; len];
        for (&id, (_, f)) in &self.by_id {
            t[id as usize] = Some(f.clone());
        }
        t
    }
}

/// Calls helper `id` for the `call` or `callx` at `pc`, as both engines do.
/// A `call`'s id was checked at load; a `callx` takes its id from a register,
/// so an id nobody registered fails here, at run time.
pub(crate) fn call(
    table: &[Option<HelperFn>],
    memory: &mut AddressMap<'_>,
    log: &mut String,
    pc: usize,
    id: u64,
    args: [u64; 5],
) -> Result<HelperOutcome, RunError> {
    let Some(Some(helper)) = usize::try_from(id).ok().and_then(|i| table.get(i)) else {
        let reason = format!("{id:#x} is not a registered helper id");
        return Err(RunError::Helper { pc, id: u32::try_from(id).unwrap_or(u32::MAX), reason });
    };
    let mut ctx = HelperContext { memory, log };
    helper(&mut ctx, args).map_err(|reason| RunError::Helper { pc, id: id as u32, reason })
}

/// The conformance suite's unwind helper: returns its argument, and stops the
/// program with r0 = 0 when that argument is 0.
pub fn conformance_unwind() -> HelperFn {
    Arc::new(|_, args| Ok(if args[0] == 0 { HelperOutcome::Stop(0) } else { HelperOutcome::Return(args[0]) }))
}

/// Longest line one `bpf_trace_printk` call may add to the log, as in the kernel.
const TRACE_LINE_MAX: usize = 1024;

/// The kernel's `bpf_trace_printk`: formats up to three arguments with `%d %i %u
/// %x %ld %li %lu %lx %lld %lli %llu %llx %p %c %%` and appends the line to the
/// run's log. Returns the number of bytes written, or a negative errno on a bad
/// format, as the kernel does.
fn trace_printk(ctx: &mut HelperContext<'_, '_>, args: [u64; 5]) -> Result<HelperOutcome, String> {
    const EINVAL: u64 = (-22i64) as u64;
    let (fmt_addr, fmt_size) = (args[0], args[1] as usize);
    if fmt_size == 0 || fmt_size > TRACE_LINE_MAX {
        return Ok(HelperOutcome::Return(EINVAL));
    }
    let Some(fmt) = ctx.memory.read_bytes(fmt_addr, fmt_size) else {
        return Err(format!("format string at {fmt_addr:#x} ({fmt_size} bytes) is outside readable memory"));
    };
    // The format must be NUL-terminated within fmt_size bytes.
    let Some(end) = fmt.iter().position(|&b| b == 0) else {
        return Ok(HelperOutcome::Return(EINVAL));
    };
    let fmt = &fmt[..end];
    let mut out = String::new();
    let mut next_arg = 2;
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        if c != b'%' {
            out.push(c as char);
            continue;
        }
        if fmt.get(i) == Some(&b'%') {
            out.push('%');
            i += 1;
            continue;
        }
        let mut longs = 0;
        while fmt.get(i) == Some(&b'l') && longs < 2 {
            longs += 1;
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else { return Ok(HelperOutcome::Return(EINVAL)) };
        i += 1;
        if next_arg > 4 {
            return Ok(HelperOutcome::Return(EINVAL));
        }
        let raw = args[next_arg];
        next_arg += 1;
        let value = if longs == 0 { raw as u32 as u64 } else { raw };
        let signed = if longs == 0 { raw as u32 as i32 as i64 } else { raw as i64 };
        let _ = match conv {
            b'd' | b'i' => write!(out, "{signed}"),
            b'u' => write!(out, "{value}"),
            b'x' => write!(out, "{value:x}"),
            b'p' if longs == 0 => write!(out, "{raw:#x}"),
            b'c' if longs == 0 => write!(out, "{}", (raw as u8) as char),
            _ => return Ok(HelperOutcome::Return(EINVAL)),
        };
    }
    out.truncate(TRACE_LINE_MAX);
    let written = out.len() as u64;
    ctx.log.push_str(&out);
    ctx.log.push('\n');
    Ok(HelperOutcome::Return(written))
}
