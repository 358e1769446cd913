//! The lock file beside a database (`<path>-lock`, docs/FORMAT.md "The lock
//! file"): the reader table every handle on the file shares, in any thread
//! or process, mapped `MAP_SHARED`, and the write lock.
//!
//! - The header holds the txid of the last published commit, a change
//!   counter a reader checks before each read, and who last took the write
//!   lock (for messages).
//! - Each handle owns one slot: its pid, a process-wide owner id (so a
//!   handle of a terminated worker thread can be told from a live one), and
//!   the txid of the oldest snapshot it reads (`NONE` when it reads none).
//!   A writer reuses a page freed by commit T only when every slot's txid
//!   is at least T (src/store/freelist.ts).
//! - A slot whose pid is dead (`kill(pid, 0)` fails with ESRCH), or whose
//!   pid is this process's and whose owner id no handle here holds, is
//!   reclaimed by whoever scans.
//! - The write lock is an exclusive `flock` on the database file, taken per
//!   commit through the handle's own descriptor: a process that dies drops it.
//!   A handle waiting for it flags its slot, so that a writer that has just
//!   released it waits its turn instead of taking it straight back
//!   (src/store/write-lock.ts).
//!
//! Invariant of `pin`: a reader stores the published txid T in its slot and
//! reads the counter again; only when it is still T does it read. A writer
//! that scans the slots after that store sees T; one that scanned before
//! could reuse only pages freed by commits up to T, which no meta at or
//! after T reaches. Every access to the mapping is atomic and SeqCst.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

/// "xrpkvlck", little-endian.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"xrpkvlck");
pub(crate) const VERSION: u32 = 1;
pub(crate) const SLOTS: usize = 126;
pub(crate) const HEADER_BYTES: usize = 64;
pub(crate) const SLOT_BYTES: usize = 32;
/// One 4 KiB page.
pub(crate) const FILE_BYTES: usize = HEADER_BYTES + SLOTS * SLOT_BYTES;
/// A slot's txid when its handle reads no snapshot.
pub(crate) const NONE: u64 = u64::MAX;

/// Header fields: offsets in the file.
pub(crate) mod header {
    pub(crate) const MAGIC: usize = 0;
    pub(crate) const VERSION: usize = 8;
    pub(crate) const SLOTS: usize = 12;
    pub(crate) const PUBLISHED: usize = 16;
    pub(crate) const WRITER_PID: usize = 24;
    pub(crate) const WRITER_OWNER: usize = 28;
}

/// Slot fields: offsets in a slot.
pub(crate) mod slot {
    pub(crate) const PID: usize = 0;
    pub(crate) const OWNER: usize = 4;
    pub(crate) const TXID: usize = 8;
    /// 1 while the handle waits for the write lock (`set_waiting`).
    pub(crate) const WAITING: usize = 16;
}

/// Owner ids of this process's open tables (every thread's).
static LIVE_OWNERS: Mutex<Option<HashSet<u32>>> = Mutex::new(None);
static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);

fn live_owners<R>(f: impl FnOnce(&mut HashSet<u32>) -> R) -> R {
    let mut guard = LIVE_OWNERS.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashSet::new))
}

/// A shared mapping of the lock file.
struct Mapping {
    ptr: *mut u8,
}

#[allow(unsafe_code)] // mmap, munmap and atomics over the mapping: the only unsafe code here
mod map {
    use super::{Mapping, FILE_BYTES};
    use std::ffi::{c_int, c_void};
    use std::sync::atomic::{AtomicU32, AtomicU64};

    use crate::mman::{mmap, munmap, MAP_SHARED, PROT_READ, PROT_WRITE};

    extern "C" {
        fn kill(pid: c_int, sig: c_int) -> c_int;
    }

    impl Mapping {
        /// Maps the first FILE_BYTES of `fd`, which the file must hold.
        pub(super) fn new(fd: c_int) -> std::io::Result<Mapping> {
            // SAFETY: a fresh mapping at an address the kernel picks; nothing of ours is touched.
            let ptr = unsafe {
                mmap(
                    std::ptr::null_mut(),
                    FILE_BYTES,
                    PROT_READ | PROT_WRITE,
                    MAP_SHARED,
                    fd,
                    0,
                )
            };
            if ptr as isize == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Mapping {
                ptr: ptr as *mut u8,
            })
        }

        /// The u64 at `offset`, which must be 8-aligned and inside the mapping.
        pub(super) fn u64(&self, offset: usize) -> &AtomicU64 {
            assert!(offset.is_multiple_of(8) && offset + 8 <= FILE_BYTES);
            // SAFETY: in bounds and aligned (the mapping is page-aligned); it
            // lives as long as `self`; other processes touch it only through
            // atomics too.
            unsafe { &*(self.ptr.add(offset) as *const AtomicU64) }
        }

        /// The u32 at `offset`, which must be 4-aligned and inside the mapping.
        pub(super) fn u32(&self, offset: usize) -> &AtomicU32 {
            assert!(offset.is_multiple_of(4) && offset + 4 <= FILE_BYTES);
            // SAFETY: as for `u64`.
            unsafe { &*(self.ptr.add(offset) as *const AtomicU32) }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: the mapping `new` made; no reference into it outlives `self`.
            unsafe { munmap(self.ptr as *mut c_void, FILE_BYTES) };
        }
    }

    /// Whether process `pid` is gone: `kill(pid, 0)` fails with ESRCH (EPERM: it exists).
    pub(super) fn process_gone(pid: u32) -> bool {
        // SAFETY: signal 0 sends nothing; it only checks that the pid exists.
        let r = unsafe { kill(pid as c_int, 0) };
        r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(3)
    }
}

/// Why a table cannot be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    Io(&'static str, io::Error),
    /// The file is not a lock file of this version.
    Foreign(String),
    /// Every slot is held by a live handle.
    Full,
}

/// One handle's view of the lock file: its slot, and the write lock when held.
pub(crate) struct ReaderTable {
    map: Mapping,
    /// The database file, whose `flock` is the write lock.
    db: File,
    owner: u32,
    slot: usize,
    writing: bool,
}

impl ReaderTable {
    /// Opens (creating it when missing) `<db_path>-lock` and claims a slot.
    pub(crate) fn open(db_path: &str) -> Result<ReaderTable, OpenError> {
        let io = |what| move |e| OpenError::Io(what, e);
        let db = File::open(db_path).map_err(io("open"))?;
        let lock_path = format!("{db_path}-lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&lock_path)
            .map_err(io("open the lock file of"))?;
        // Exclusive while it is sized and its header written: a second
        // opener sees all of it or none.
        file.lock().map_err(io("lock the lock file of"))?;
        let map = Self::prepare(&file, &lock_path);
        file.unlock().map_err(io("unlock the lock file of"))?;
        let owner = NEXT_OWNER.fetch_add(1, SeqCst);
        live_owners(|live| live.insert(owner));
        let mut table = ReaderTable {
            map: map?,
            db,
            owner,
            slot: usize::MAX,
            writing: false,
        };
        table.slot = match table.claim() {
            Some(s) => s,
            None => {
                table.reclaim();
                table.claim().ok_or(OpenError::Full)?
            }
        };
        Ok(table)
    }

    /// Sizes a new lock file and writes its header, or checks an existing one's.
    fn prepare(file: &File, path: &str) -> Result<Mapping, OpenError> {
        let len = file
            .metadata()
            .map_err(|e| OpenError::Io("stat the lock file of", e))?
            .len();
        if len < FILE_BYTES as u64 {
            file.set_len(FILE_BYTES as u64)
                .map_err(|e| OpenError::Io("size the lock file of", e))?;
        }
        let map =
            Mapping::new(file.as_raw_fd()).map_err(|e| OpenError::Io("map the lock file of", e))?;
        match map.u64(header::MAGIC).load(SeqCst) {
            0 => {
                map.u32(header::VERSION).store(VERSION, SeqCst);
                map.u32(header::SLOTS).store(SLOTS as u32, SeqCst);
                for s in 0..SLOTS {
                    map.u64(slot_at(s) + slot::TXID).store(NONE, SeqCst);
                }
                map.u64(header::MAGIC).store(MAGIC, SeqCst);
            }
            MAGIC => {
                let (v, n) = (
                    map.u32(header::VERSION).load(SeqCst),
                    map.u32(header::SLOTS).load(SeqCst),
                );
                if v != VERSION || n != SLOTS as u32 {
                    return Err(OpenError::Foreign(format!("{path} is a lock file of version {v} with {n} slots; this xrpkv reads version {VERSION} with {SLOTS}")));
                }
            }
            _ => {
                return Err(OpenError::Foreign(format!(
                    "{path} is not an xrpkv lock file (its magic is wrong)"
                )))
            }
        }
        Ok(map)
    }

    fn pid_of(&self, s: usize) -> &AtomicU32 {
        self.map.u32(slot_at(s) + slot::PID)
    }
    fn txid_of(&self, s: usize) -> &AtomicU64 {
        self.map.u64(slot_at(s) + slot::TXID)
    }

    /// A free slot, taken: pid 0 -> this pid, then the owner and no txid.
    fn claim(&self) -> Option<usize> {
        let pid = std::process::id();
        (0..SLOTS).find(|&s| {
            let won = self
                .pid_of(s)
                .compare_exchange(0, pid, SeqCst, SeqCst)
                .is_ok();
            if won {
                self.map
                    .u32(slot_at(s) + slot::OWNER)
                    .store(self.owner, SeqCst);
                self.txid_of(s).store(NONE, SeqCst);
                self.map.u32(slot_at(s) + slot::WAITING).store(0, SeqCst);
            }
            won
        })
    }

    /// Frees the slots of dead processes and of this process's closed handles.
    fn reclaim(&self) {
        self.reclaim_where(|_| true);
    }

    /// `reclaim`, of the slots `check` picks only.
    fn reclaim_where(&self, check: impl Fn(usize) -> bool) {
        let me = std::process::id();
        for s in 0..SLOTS {
            let pid = self.pid_of(s).load(SeqCst);
            if pid == 0 || !check(s) {
                continue;
            }
            let dead = if pid == me {
                let owner = self.map.u32(slot_at(s) + slot::OWNER).load(SeqCst);
                !live_owners(|live| live.contains(&owner))
            } else {
                map::process_gone(pid)
            };
            // Only the pid is swapped: a new claimer resets the txid itself.
            if dead {
                let _ = self.pid_of(s).compare_exchange(pid, 0, SeqCst, SeqCst);
            }
        }
    }

    /// The last published txid.
    pub(crate) fn published(&self) -> u64 {
        self.map.u64(header::PUBLISHED).load(SeqCst)
    }

    /// Raises the published txid to `txid` (it never falls).
    pub(crate) fn publish(&self, txid: u64) {
        self.map.u64(header::PUBLISHED).fetch_max(txid, SeqCst);
    }

    /// Holds the published txid in this handle's slot (see the module's
    /// invariant) and returns it: every page a meta at or after it reaches
    /// stays as it is until the slot changes.
    pub(crate) fn pin(&self) -> u64 {
        loop {
            let t = self.published();
            self.txid_of(self.slot).store(t, SeqCst);
            if self.published() == t {
                return t;
            }
        }
    }

    /// Sets this handle's slot to `txid` (NONE: it reads nothing). Lowering
    /// it is only sound to a txid the slot has held without a break.
    pub(crate) fn hold(&self, txid: u64) {
        self.txid_of(self.slot).store(txid, SeqCst);
    }

    /// The oldest txid any live slot holds (NONE when none), dead ones reclaimed first.
    pub(crate) fn oldest(&self) -> u64 {
        self.reclaim();
        (0..SLOTS)
            .filter(|&s| self.pid_of(s).load(SeqCst) != 0)
            .map(|s| self.txid_of(s).load(SeqCst))
            .min()
            .unwrap_or(NONE)
    }

    /// Live slots: (pid, owner, txid).
    pub(crate) fn readers(&self) -> Vec<(u32, u32, u64)> {
        self.reclaim();
        (0..SLOTS)
            .filter_map(|s| {
                let pid = self.pid_of(s).load(SeqCst);
                let owner = self.map.u32(slot_at(s) + slot::OWNER).load(SeqCst);
                (pid != 0).then(|| (pid, owner, self.txid_of(s).load(SeqCst)))
            })
            .collect()
    }

    /// Takes the write lock; with `wait` false, returns false at once when
    /// another handle (any thread or process) holds it.
    pub(crate) fn lock_write(&mut self, wait: bool) -> io::Result<bool> {
        if self.writing {
            return Ok(true);
        }
        if wait {
            self.db.lock()?;
        } else {
            match self.db.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        self.writing = true;
        self.set_waiting(false);
        self.map
            .u32(header::WRITER_PID)
            .store(std::process::id(), SeqCst);
        self.map.u32(header::WRITER_OWNER).store(self.owner, SeqCst);
        Ok(true)
    }

    /// Releases the write lock; whether it was held.
    pub(crate) fn unlock_write(&mut self) -> io::Result<bool> {
        if !self.writing {
            return Ok(false);
        }
        self.writing = false;
        self.db.unlock()?;
        Ok(true)
    }

    /// Flags (or unflags) this handle's slot as waiting for the write lock.
    pub(crate) fn set_waiting(&self, waiting: bool) {
        self.map
            .u32(slot_at(self.slot) + slot::WAITING)
            .store(waiting as u32, SeqCst);
    }

    /// Whether another live handle waits for the write lock.
    pub(crate) fn others_waiting(&self) -> bool {
        let flagged =
            |s: usize| s != self.slot && self.map.u32(slot_at(s) + slot::WAITING).load(SeqCst) == 1;
        self.reclaim_where(flagged);
        (0..SLOTS).any(|s| self.pid_of(s).load(SeqCst) != 0 && flagged(s))
    }

    /// Who last took the write lock: (pid, owner).
    pub(crate) fn writer(&self) -> (u32, u32) {
        (
            self.map.u32(header::WRITER_PID).load(SeqCst),
            self.map.u32(header::WRITER_OWNER).load(SeqCst),
        )
    }

    pub(crate) fn owner(&self) -> u32 {
        self.owner
    }
}

impl Drop for ReaderTable {
    fn drop(&mut self) {
        // usize::MAX: `open` found no slot.
        if self.slot < SLOTS {
            self.txid_of(self.slot).store(NONE, SeqCst);
            let _ = self
                .pid_of(self.slot)
                .compare_exchange(std::process::id(), 0, SeqCst, SeqCst);
        }
        live_owners(|live| live.remove(&self.owner));
        // The database file's descriptor closes after this, and the write lock with it.
    }
}

/// Where slot `s` starts in the file.
pub(crate) const fn slot_at(s: usize) -> usize {
    HEADER_BYTES + s * SLOT_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> String {
        let dir = std::env::temp_dir().join(format!(
            "xrpkv-reader-table-{}-{}",
            std::process::id(),
            NEXT_OWNER.fetch_add(1, SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        std::fs::write(&path, b"x").unwrap();
        path.to_str().unwrap().to_string()
    }

    #[test]
    fn a_pinned_slot_holds_back_the_oldest_txid_until_released() {
        let path = db();
        let a = ReaderTable::open(&path).unwrap();
        let b = ReaderTable::open(&path).unwrap();
        assert_eq!(a.oldest(), NONE);
        a.publish(7);
        assert_eq!(b.pin(), 7);
        a.publish(9);
        assert_eq!(a.oldest(), 7);
        b.hold(NONE);
        assert_eq!(a.oldest(), NONE);
        a.publish(3);
        assert_eq!(a.published(), 9, "the published txid never falls");
    }

    #[test]
    fn slots_of_closed_handles_and_dead_processes_are_reclaimed() {
        let path = db();
        let a = ReaderTable::open(&path).unwrap();
        let b = ReaderTable::open(&path).unwrap();
        b.pin();
        // A handle this process no longer has, as a terminated worker's would be.
        live_owners(|live| live.remove(&b.owner));
        assert_eq!(a.oldest(), NONE);
        // A slot of a process that is gone: the pid of a child that exited.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let s = a.claim().unwrap();
        a.pid_of(s).store(gone, SeqCst);
        a.txid_of(s).store(1, SeqCst);
        assert_eq!(a.oldest(), NONE);
        assert_eq!(a.pid_of(s).load(SeqCst), 0);
        drop(b);
    }

    #[test]
    fn the_write_lock_excludes_other_handles_until_released() {
        let path = db();
        let mut a = ReaderTable::open(&path).unwrap();
        let mut b = ReaderTable::open(&path).unwrap();
        assert!(a.lock_write(false).unwrap());
        assert!(!b.lock_write(false).unwrap());
        assert_eq!(b.writer(), (std::process::id(), a.owner()));
        assert!(a.unlock_write().unwrap());
        assert!(b.lock_write(false).unwrap());
        drop(b);
        assert!(
            a.lock_write(false).unwrap(),
            "a closed handle's lock ends with it"
        );
    }

    #[test]
    fn a_waiting_handle_is_seen_by_the_others_until_it_takes_the_lock() {
        let path = db();
        let mut a = ReaderTable::open(&path).unwrap();
        let b = ReaderTable::open(&path).unwrap();
        assert!(!a.others_waiting() && !b.others_waiting());
        a.set_waiting(true);
        assert!(b.others_waiting());
        assert!(!a.others_waiting(), "a handle's own flag is not another's");
        assert!(a.lock_write(false).unwrap());
        assert!(!b.others_waiting());
    }

    #[test]
    fn a_file_that_is_not_a_lock_file_is_refused() {
        let path = db();
        std::fs::write(format!("{path}-lock"), vec![0xabu8; FILE_BYTES]).unwrap();
        assert!(matches!(
            ReaderTable::open(&path),
            Err(OpenError::Foreign(_))
        ));
    }

    #[test]
    fn every_slot_taken_is_an_error_not_a_shared_slot() {
        let path = db();
        let tables: Vec<_> = (0..SLOTS)
            .map(|_| ReaderTable::open(&path).unwrap())
            .collect();
        assert!(matches!(ReaderTable::open(&path), Err(OpenError::Full)));
        drop(tables);
        assert!(ReaderTable::open(&path).is_ok());
    }
}
