//! `runtime-bench --program dist/bpf/follow.o [--path DIR] [--no-zram]
//! [--size-mib N] [--hops L] [--rounds R] [--seconds S]`: what one hop of an
//! XRP chain costs in xrpkv's runtime, next to plain reads of the same blocks.
//!
//! It writes a file of 4 KiB blocks linked, in a random permutation, into
//! chains of L blocks (`bpf/follow.c` describes a block), then reads the same
//! chains in the same order with:
//! - a plain `pread` loop that parses `next` itself, no VM: the baseline;
//! - the sync engine: one `pread` and one program run per hop;
//! - the batch engine at queue depth 1 and 32 (io_uring);
//! - a plain io_uring reader: the same offsets as independent random reads, 32
//!   in flight, registered buffers and file like the batch engine: the IOPS
//!   reference for the batch engine at depth 32.
//!
//! How to read it: ns/hop is wall time over reads completed, so with many
//! reads in flight it is the inverse of throughput, not a latency. Each figure
//! is the median of R rounds of S seconds per engine; "range" is the min..max
//! over rounds. Within a round every engine starts at the same chain and the
//! engines' order rotates, because the host is noisy; "x pread" is the median
//! over rounds of the engine's ns/hop over the pread loop's in that round.
//! Targets: the sync engine at most 1.10x the pread loop with O_DIRECT; the
//! batch engine at depth 32 at least 0.8x the io_uring reader's IOPS.
//!
//! It runs on the disk (a temp dir, or `--path`), then, when root, on ext4 on
//! a fresh zram device that it unmounts and removes afterwards (not after a
//! kill signal: then `umount` and `echo N > /sys/class/zram-control/hot_remove`
//! by hand). Extended mode (4096-byte reads) always; kernel-compatible mode
//! (512-byte reads) where 512-byte direct reads are possible (not on zram,
//! whose logical block is 4096 bytes).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ebpf::{Helpers, Program};
use uring::{opcode, IoUring};
mod zram;

use zram::Zram;
use xrp::file::O_DIRECT;
use xrp::{BatchChain, BatchEngine, ChainOptions, ChainResult, DirectIo, Mode, Outcome, Page, SyncEngine, XrpFile};

const BLOCK: u64 = 4096;
const END: u64 = u64::MAX;
const DEEP: u32 = 32;
/// Chains per timing check of the one-at-a-time loops: short enough to stop
/// near the deadline, long enough that reading the clock costs nothing.
const CHAINS_PER_CHECK: usize = 64;

struct Args {
    program: PathBuf,
    path: Option<PathBuf>,
    zram: bool,
    size_mib: u64,
    hops: u32,
    rounds: usize,
    seconds: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        program: "dist/bpf/follow.o".into(),
        path: None,
        zram: true,
        size_mib: 256,
        hops: 8,
        rounds: 7,
        seconds: 0.5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--program" => a.program = value()?.into(),
            "--path" => a.path = Some(value()?.into()),
            "--no-zram" => a.zram = false,
            "--size-mib" => a.size_mib = number(&flag, &value()?)?,
            "--hops" => a.hops = number(&flag, &value()?)?,
            "--rounds" => a.rounds = number(&flag, &value()?)?,
            "--seconds" => a.seconds = number(&flag, &value()?)?,
            _ => return Err(format!("unknown flag {flag} (see the top of crates/xrp/src/bin/runtime_bench.rs)")),
        }
    }
    if a.size_mib == 0 || a.hops == 0 || a.rounds == 0 || a.seconds <= 0.0 || a.size_mib * 256 < u64::from(a.hops) {
        return Err("--size-mib, --hops, --rounds and --seconds must be positive, and the file hold one chain".into());
    }
    Ok(a)
}

fn number<T: std::str::FromStr>(flag: &str, s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{flag}: not a number: {s}"))
}

/// xorshift64*: reproducible layouts without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The chains in the file: where each starts, and every block offset in the
/// order the chains visit them.
struct Layout {
    starts: Vec<u64>,
    order: Vec<u64>,
    hops: u32,
}

/// Writes `size_mib` MiB of blocks, chained `hops` at a time through a random
/// permutation, so consecutive hops land anywhere in the file.
fn build_file(path: &Path, size_mib: u64, hops: u32) -> io::Result<Layout> {
    let blocks = (size_mib * (1 << 20) / BLOCK) as usize;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut perm: Vec<u64> = (0..blocks as u64).collect();
    for i in (1..blocks).rev() {
        perm.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let hops_usize = hops as usize;
    let chains = blocks / hops_usize;
    let order: Vec<u64> = perm[..chains * hops_usize].iter().map(|b| b * BLOCK).collect();
    let mut next_of = vec![END; blocks];
    for chain in order.chunks(hops_usize) {
        for pair in chain.windows(2) {
            next_of[(pair[0] / BLOCK) as usize] = pair[1];
        }
    }
    write_blocks(path, &next_of, &mut rng)?;
    let starts = order.chunks(hops_usize).map(|c| c[0]).collect();
    Ok(Layout { starts, order, hops })
}

/// Header (next, size 4096) then random filler, so no device can shortcut a
/// read of a block (zram stores all-zero pages without data).
fn write_blocks(path: &Path, next_of: &[u64], rng: &mut Rng) -> io::Result<()> {
    let file = File::create(path)?;
    let mut out = BufWriter::with_capacity(1 << 20, &file);
    let mut block = vec![0u8; BLOCK as usize];
    for &next in next_of {
        for word in block.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next().to_le_bytes());
        }
        block[0..8].copy_from_slice(&next.to_le_bytes());
        block[8..16].copy_from_slice(&BLOCK.to_le_bytes());
        out.write_all(&block)?;
    }
    out.flush()?;
    drop(out);
    // Direct reads would otherwise first wait for the dirty pages to be written.
    file.sync_all()
}

/// Reads completed and the time they took.
#[derive(Clone, Copy)]
struct Sample {
    hops: u64,
    secs: f64,
}

impl Sample {
    fn ns_per_hop(&self) -> f64 {
        self.secs * 1e9 / self.hops.max(1) as f64
    }
    fn per_sec(&self) -> f64 {
        self.hops as f64 / self.secs
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Pread,
    Sync,
    Batch(u32),
    Uring(u32),
}

impl Kind {
    fn label(self) -> String {
        match self {
            Kind::Pread => "pread loop (native, no VM)".into(),
            Kind::Sync => "sync engine".into(),
            Kind::Batch(d) => format!("batch engine, depth {d}"),
            Kind::Uring(d) => format!("io_uring reader, depth {d}"),
        }
    }
}

const KINDS: [Kind; 5] = [Kind::Pread, Kind::Sync, Kind::Batch(1), Kind::Batch(DEEP), Kind::Uring(DEEP)];

/// Everything one file's measurements share.
struct Bench<'p> {
    file: XrpFile,
    /// The same file opened like `file` (direct or not), for the plain readers.
    plain: File,
    layout: Layout,
    program: &'p Program,
    sync: SyncEngine,
    shallow: BatchEngine<'p>,
    deep: BatchEngine<'p>,
}

impl<'p> Bench<'p> {
    fn open(path: &Path, layout: Layout, program: &'p Program) -> io::Result<Bench<'p>> {
        let file = XrpFile::open(path, DirectIo::Auto)?;
        let flags = if file.is_direct() { O_DIRECT } else { 0 };
        let plain = OpenOptions::new().read(true).custom_flags(flags).open(path)?;
        Ok(Bench {
            file,
            plain,
            layout,
            program,
            sync: SyncEngine::new(),
            shallow: BatchEngine::new(program, 1),
            deep: BatchEngine::new(program, DEEP),
        })
    }

    /// Runs `kind` from chain `first` until `seconds` have passed.
    fn measure(&mut self, kind: Kind, options: ChainOptions, first: usize, seconds: f64) -> Result<Sample, String> {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let len = options.first_read_len();
        match kind {
            Kind::Pread => pread_loop(&self.plain, &self.layout, len, first, deadline),
            Kind::Sync => sync_loop(&mut self.sync, self.program, &self.file, &self.layout, options, first, deadline),
            Kind::Batch(1) => batch_loop(&mut self.shallow, 1, &self.file, &self.layout, options, first, deadline),
            Kind::Batch(d) => batch_loop(&mut self.deep, d, &self.file, &self.layout, options, first, deadline),
            Kind::Uring(d) => {
                let start = first * self.layout.hops as usize;
                uring_reader(&self.plain, &self.layout.order, len, d, start, deadline).map_err(|e| format!("io_uring reader: {e}"))
            }
        }
    }
}

/// The baseline: what any program would do without XRP, one `pread` per hop.
fn pread_loop(file: &File, layout: &Layout, len: usize, first: usize, deadline: Instant) -> Result<Sample, String> {
    let mut page = Page::new();
    let start = Instant::now();
    let (mut hops, mut chain) = (0u64, first);
    while Instant::now() < deadline {
        for _ in 0..CHAINS_PER_CHECK {
            let mut offset = layout.starts[chain];
            let mut seen = 0;
            loop {
                file.read_exact_at(&mut page[..len], offset).map_err(|e| format!("pread at {offset}: {e}"))?;
                seen += 1;
                offset = u64::from_le_bytes(page[0..8].try_into().expect("8 bytes"));
                if offset == END {
                    break;
                }
            }
            expect_hops(seen, layout.hops)?;
            hops += u64::from(seen);
            chain = (chain + 1) % layout.starts.len();
        }
    }
    Ok(Sample { hops, secs: start.elapsed().as_secs_f64() })
}

fn sync_loop(
    engine: &mut SyncEngine,
    program: &Program,
    file: &XrpFile,
    layout: &Layout,
    options: ChainOptions,
    first: usize,
    deadline: Instant,
) -> Result<Sample, String> {
    let mut scratch = Page::new();
    let len = options.first_read_len();
    let start = Instant::now();
    let (mut hops, mut chain) = (0u64, first);
    while Instant::now() < deadline {
        for _ in 0..CHAINS_PER_CHECK {
            scratch[0..8].fill(0);
            let result = engine.run(program, file, options, layout.starts[chain], len, &mut scratch);
            hops += check_chain(&result, &scratch, layout.hops)?;
            chain = (chain + 1) % layout.starts.len();
        }
    }
    Ok(Sample { hops, secs: start.elapsed().as_secs_f64() })
}

fn batch_loop(
    engine: &mut BatchEngine<'_>,
    depth: u32,
    file: &XrpFile,
    layout: &Layout,
    options: ChainOptions,
    first: usize,
    deadline: Instant,
) -> Result<Sample, String> {
    // 32 chains per read in flight: the pipeline only drains at the end of a
    // call, when fewer chains than `depth` are left, a few percent of a call.
    let per_call = (depth as usize * 32).max(CHAINS_PER_CHECK);
    let len = options.first_read_len();
    let mut chains: Vec<BatchChain> = (0..per_call).map(|_| BatchChain { offset: 0, len, scratch: Page::new() }).collect();
    let start = Instant::now();
    let (mut hops, mut next) = (0u64, first);
    while Instant::now() < deadline {
        for c in chains.iter_mut() {
            c.offset = layout.starts[next];
            c.scratch[0..8].fill(0);
            next = (next + 1) % layout.starts.len();
        }
        let results = engine.run(file, options, &mut chains);
        for (result, c) in results.iter().zip(&chains) {
            hops += check_chain(result, &c.scratch, layout.hops)?;
        }
    }
    Ok(Sample { hops, secs: start.elapsed().as_secs_f64() })
}

/// The IOPS reference: `depth` independent reads always in flight, over the
/// blocks in chain order, with nothing to decide between a completion and the
/// next submission.
fn uring_reader(file: &File, order: &[u64], len: usize, depth: u32, first: usize, deadline: Instant) -> io::Result<Sample> {
    use std::os::fd::AsRawFd;
    // Declared before the ring so they are dropped after it: the ring cancels
    // and waits for reads still in flight when it drops.
    let mut pages: Vec<Page> = (0..depth).map(|_| Page::new()).collect();
    let mut ring = IoUring::new(depth)?;
    let bufs: Vec<(*mut u8, usize)> = pages.iter_mut().map(|p| (p.as_mut_ptr(), p.len())).collect();
    // SAFETY: the pages outlive the ring (declared before it).
    unsafe { ring.register_buffers(&bufs)? };
    ring.register_files(&[file.as_raw_fd()])?;
    let mut next = first;
    let mut push = |ring: &mut IoUring, page: usize| -> io::Result<()> {
        let entry = opcode::ReadFixed {
            fd: opcode::Fd::Fixed(0),
            buf: bufs[page].0,
            len: len as u32,
            offset: order[next],
            buf_index: page as u16,
        };
        next = (next + 1) % order.len();
        // SAFETY: page `page` is not in use until this read's completion is
        // popped, and the pages outlive the ring.
        unsafe { ring.push(&entry.build().user_data(page as u64)) }.map_err(io::Error::other)
    };
    for page in 0..depth as usize {
        push(&mut ring, page)?;
    }
    let start = Instant::now();
    let mut hops = 0u64;
    let mut done = Vec::with_capacity(depth as usize);
    while Instant::now() < deadline {
        ring.submit_and_wait(1)?;
        done.extend(ring.completions().map(|c| (c.user_data() as usize, c.result())));
        for (page, res) in done.drain(..) {
            if res != len as i32 {
                return Err(io::Error::other(format!("read returned {res}, expected {len}")));
            }
            hops += 1;
            push(&mut ring, page)?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(ring); // cancels and reaps the reads still in flight, before `pages` go
    Ok(Sample { hops, secs })
}

/// A chain must end with `done` after exactly `hops` reads, each counted by
/// the program in scratch: else the engine did not read what the loop did.
fn check_chain(result: &ChainResult, scratch: &Page, hops: u32) -> Result<u64, String> {
    if result.outcome != Outcome::Done {
        return Err(format!("a chain ended with: {}", result.outcome));
    }
    expect_hops(result.hops, hops)?;
    let counted = u64::from_le_bytes(scratch[0..8].try_into().expect("8 bytes"));
    if counted != u64::from(hops) {
        return Err(format!("the program counted {counted} blocks in a chain of {hops}"));
    }
    Ok(u64::from(hops))
}

fn expect_hops(seen: u32, hops: u32) -> Result<(), String> {
    if seen != hops {
        return Err(format!("a chain took {seen} reads, expected {hops}"));
    }
    Ok(())
}

/// Every round of every engine in one mode, then the table.
fn run_mode(bench: &mut Bench<'_>, options: ChainOptions, args: &Args) -> Result<(), String> {
    // One short pass each so first-touch costs (ring setup, page faults) land outside the rounds.
    for &kind in &KINDS {
        bench.measure(kind, options, 0, 0.05)?;
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); KINDS.len()];
    let chains = bench.layout.starts.len();
    for round in 0..args.rounds {
        let first = round * chains / args.rounds;
        for k in 0..KINDS.len() {
            let k = (k + round) % KINDS.len(); // rotate who goes first
            samples[k].push(bench.measure(KINDS[k], options, first, args.seconds)?);
        }
    }
    print_table(&samples);
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median over rounds of `a`'s value over `b`'s in the same round.
fn paired_ratio(a: &[Sample], b: &[Sample], value: impl Fn(&Sample) -> f64) -> f64 {
    median(a.iter().zip(b).map(|(x, y)| value(x) / value(y)).collect())
}

fn print_table(samples: &[Vec<Sample>]) {
    let pread = &samples[0];
    println!("  {:<30} {:>10} {:>17} {:>10} {:>8}", "", "ns/hop", "range", "hops/s", "x pread");
    for (k, s) in samples.iter().enumerate() {
        let ns: Vec<f64> = s.iter().map(Sample::ns_per_hop).collect();
        let (lo, hi) = (ns.iter().copied().fold(f64::MAX, f64::min), ns.iter().copied().fold(0.0, f64::max));
        let iops = median(s.iter().map(Sample::per_sec).collect());
        let ratio = paired_ratio(s, pread, Sample::ns_per_hop);
        let (label, ns, range) = (KINDS[k].label(), median(ns), format!("{lo:.0}..{hi:.0}"));
        println!("  {label:<30} {ns:>10.0} {range:>17} {iops:>10.0} {ratio:>7.2}x");
    }
    let sync = paired_ratio(&samples[1], pread, Sample::ns_per_hop);
    let deep = paired_ratio(&samples[3], &samples[4], Sample::per_sec);
    println!("  sync engine / pread loop, per hop: {sync:.3}x (target <= 1.10x: {})", verdict(sync <= 1.10));
    println!("  batch depth {DEEP} / io_uring reader depth {DEEP}, IOPS: {deep:.3}x (target >= 0.80x: {})", verdict(deep >= 0.80));
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// Builds the file under `dir`, measures both modes, removes the file.
fn run_location(label: &str, dir: &Path, program: &Program, args: &Args) -> Result<(), String> {
    let path = dir.join(format!("xrpkv-runtime-bench-{}.bin", std::process::id()));
    println!("\n== {label}: {}", path.display());
    let built = Instant::now();
    let layout = build_file(&path, args.size_mib, args.hops).map_err(|e| format!("cannot write {}: {e}", path.display()));
    let result = layout.and_then(|layout| {
        println!("  file written and synced in {:.1} s", built.elapsed().as_secs_f64());
        let mut bench = Bench::open(&path, layout, program).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        measure_modes(&mut bench, args)
    });
    let _ = fs::remove_file(&path);
    result
}

fn measure_modes(bench: &mut Bench<'_>, args: &Args) -> Result<(), String> {
    println!("  access: {}", bench.file.access());
    println!("  batch engine: {} | {}", bench.shallow.io(), bench.deep.io());
    let hop_limit = args.hops.max(xrp::DEFAULT_HOP_LIMIT);
    let extended = ChainOptions { mode: Mode::Extended, hop_limit, ..ChainOptions::default() };
    println!("  -- extended mode (4096-byte reads)");
    run_mode(bench, extended, args)?;
    let kernel = ChainOptions { mode: Mode::KernelCompatible, ..extended };
    match bench.file.check_read(bench.layout.starts[0], 512) {
        Ok(()) => {
            println!("  -- kernel-compatible mode (512-byte reads)");
            run_mode(bench, kernel, args)
        }
        Err(why) => {
            println!("  -- kernel-compatible mode (512-byte reads): not measured here: {why}");
            Ok(())
        }
    }
}

/// A temp dir on the disk, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn load_program(path: &Path) -> Result<Program, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e} (run `node scripts/build.mjs bpf`)", path.display()))?;
    Program::from_elf(&bytes, Some("xrp_follow"), &Helpers::standard()).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(args: &Args) -> Result<(), String> {
    let program = load_program(&args.program)?;
    println!(
        "runtime-bench: {} MiB file of 4 KiB blocks in chains of {} hops (random permutation); program {}",
        args.size_mib,
        args.hops,
        args.program.display()
    );
    println!("median of {} rounds x {} s per engine; x pread = median per-round ratio of ns/hop to the pread loop", args.rounds, args.seconds);
    let mut failed = false;
    let _temp;
    let dir = match &args.path {
        Some(dir) => dir.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!("xrpkv-runtime-bench-{}", std::process::id()));
            fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            _temp = TempDir(dir.clone());
            dir
        }
    };
    if let Err(e) = run_location("disk", &dir, &program, args) {
        eprintln!("runtime-bench: disk: {e}");
        failed = true;
    }
    if !args.zram {
        return if failed { Err("the disk run failed".into()) } else { Ok(()) };
    }
    match Zram::setup(args.size_mib) {
        Ok(zram) => {
            if let Err(e) = run_location(&zram.describe(), &zram.mount, &program, args) {
                eprintln!("runtime-bench: zram: {e}");
                failed = true;
            }
        }
        Err(why) => println!("\n== zram: not measured: {why}"),
    }
    if failed {
        Err("a run failed".into())
    } else {
        Ok(())
    }
}

fn main() {
    let result = parse_args().and_then(|args| run(&args));
    if let Err(e) = result {
        eprintln!("runtime-bench: {e}");
        std::process::exit(1);
    }
}
