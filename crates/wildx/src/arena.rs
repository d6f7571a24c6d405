//! The registry core: one reserved address range carved into page runs, a side table of
//! per-run atomics, and the transitions WRITABLE --seal--> EXECUTABLE --free--> FREE.
//!
//! Input: sizes and run-head indices (from addresses or handles); output: run heads and
//! state words. Lookups are lock-free (one range check, one acquire load); transitions are
//! compare-and-swap on the slot word into a transient busy state, so each transition is
//! atomic with respect to every other. Only allocation and the final step of a free take the
//! allocator lock, which guards the free-run queues and the statistics.
//!
//! Reuse policy: a freed run stays read+write (never executable) in a FIFO of runs of its
//! size, and is handed out again only once [`QUARANTINE`] newer runs of that size were freed
//! (or the address range is exhausted), zero-filled first. So a stale pointer keeps pointing
//! at a freed run for at least that many cycles. At most [`RESIDENT_CAP`] bytes of freed
//! runs stay resident; beyond that they are returned to the OS with `madvise`.
//!
//! A run is either a page (one function at its start) or a code arena (many functions at
//! [`FN_ALIGN`] granularity, recorded in the [`FnTable`]); the arena flag of the head word
//! says which. Both share the state machine; arenas add functions while WRITABLE (in the
//! transient INSTALLING state) and fill every gap with `int3` at seal.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::error::{Error, ErrorKind};
use crate::fn_table::{ArenaFns, FN_ALIGN, FN_SHIFT, FnEntry, FnMeta, FnTable};
use crate::hash::code_hash;
use crate::options::options;
use crate::region::Region;
use crate::slot::{EXECUTABLE, FREE, FREEING, INSTALLING, SEALING, Slot, UNUSED, WRITABLE, Word};
use crate::sys::{Prot, flush_icache};
use crate::{report, stats};

/// Freed runs of one size wait in a FIFO until this many newer ones were freed.
pub const QUARANTINE: usize = 4096;
/// Bytes of freed runs kept resident for fast reuse.
pub const RESIDENT_CAP: usize = 16 << 20;
/// Address-range sizes tried for the reservation, largest first.
const RESERVE_TRY: [usize; 4] = [4 << 30, 1 << 30, 256 << 20, 64 << 20];

/// Who may act on a slot: the raw (address-keyed, C) API, or the Rust handle of a generation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Owner {
    Raw,
    Handle(u64),
}

/// Which kind of run an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// A page: refuse code arenas (`IsArena`).
    Page,
    /// A code arena: refuse pages (`NotAnArena`).
    CodeArena,
    /// Either.
    Any,
}

/// `int3`: what every byte of a sealed arena outside its functions holds.
const INT3: u8 = 0xCC;

#[derive(Debug, Clone, Copy)]
enum Backing {
    /// Still `PROT_NONE` (never used, or a failed preparation): needs `mprotect RW`.
    Reserved,
    /// Read+write and known zero.
    Clean,
    /// Read+write, holds old contents: zero before reuse.
    Dirty,
}

#[derive(Debug, Clone, Copy)]
struct FreeRun {
    start: usize,
    backing: Backing,
}

#[derive(Debug, Default)]
struct Allocator {
    /// First never-used page.
    next: usize,
    /// Freed runs by run length in pages, oldest first.
    queues: HashMap<usize, VecDeque<FreeRun>>,
}

impl Allocator {
    fn take(&mut self, run: usize, total: usize) -> Option<FreeRun> {
        let queue = self.queues.entry(run).or_default();
        if queue.len() >= QUARANTINE {
            return queue.pop_front();
        }
        if run <= total - self.next {
            let start = self.next;
            self.next += run;
            return Some(FreeRun {
                start,
                backing: Backing::Reserved,
            });
        }
        queue.pop_front()
    }

    fn give_back(&mut self, run: usize, free: FreeRun) {
        self.queues.entry(run).or_default().push_back(free);
    }
}

/// The process-wide registry.
#[derive(Debug)]
pub(crate) struct Arena {
    code: Region,
    table: Region,
    page: usize,
    shift: u32,
    alloc: Mutex<Allocator>,
    resident: AtomicUsize,
    fns: OnceLock<Result<FnTable, Error>>,
}

static ARENA: OnceLock<Result<Arena, Error>> = OnceLock::new();

/// The registry, reserving its address range on first use.
pub(crate) fn arena() -> Result<&'static Arena, Error> {
    ARENA.get_or_init(Arena::new).as_ref().map_err(|e| *e)
}

/// The registry if it exists (lookups never create it: no arena, no page of ours).
#[inline]
pub(crate) fn existing() -> Option<&'static Arena> {
    match ARENA.get() {
        Some(Ok(a)) => Some(a),
        _ => None,
    }
}

/// The page layout of an allocation of `n` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunSize {
    pub(crate) body: usize,
    pub(crate) guard: usize,
    pub(crate) run: usize,
    pub(crate) bytes: usize,
}

/// Rounds `n` to body pages, adds guard pages, and checks every step for overflow.
///
/// Layout of a run: `[guard]? body.. end`, where `end` is one `PROT_NONE` page that is always
/// there: it keeps every run its own kernel mapping (VMA), so `mprotect` on a run never splits
/// or merges mappings (measured: that makes a seal+free pair about 2.5x slower). It is the
/// trailing guard page when `NPK_WILDX_GUARD_PAGES=1`, and only then counted in the quota
/// (`bytes` = body plus 2 guard pages); otherwise it is unmapped reserved address space.
pub(crate) fn run_size(n: usize, page: usize) -> Result<RunSize, Error> {
    let overflow = Error::new(ErrorKind::SizeOverflow);
    if n == 0 {
        return Err(Error::new(ErrorKind::ZeroSize));
    }
    let guard = usize::from(options().guard_pages);
    let body = n.checked_add(page - 1).ok_or(overflow)? / page;
    let run = body.checked_add(guard + 1).ok_or(overflow)?;
    let bytes = counted_bytes(body, guard, page).ok_or(overflow)?;
    if u32::try_from(run).is_err() {
        return Err(overflow);
    }
    Ok(RunSize {
        body,
        guard,
        run,
        bytes,
    })
}

/// Bytes of a run counted against the quota: the body and, if enabled, its 2 guard pages.
fn counted_bytes(body: usize, guard: usize, page: usize) -> Option<usize> {
    body.checked_add(2 * guard)?.checked_mul(page)
}

fn wait() {
    std::thread::yield_now();
}

/// Common state checks of every transition.
fn check(w: Word, owner: Owner, want: Want) -> Result<(), Error> {
    match w.state() {
        UNUSED => return Err(Error::new(ErrorKind::NotOurs)),
        FREE | FREEING => return Err(Error::new(ErrorKind::Freed)),
        _ => {}
    }
    match want {
        Want::Page if w.arena() => return Err(Error::new(ErrorKind::IsArena)),
        Want::CodeArena if !w.arena() => return Err(Error::new(ErrorKind::NotAnArena)),
        _ => {}
    }
    match owner {
        Owner::Raw if w.handle() => Err(Error::new(ErrorKind::OwnedByHandle)),
        Owner::Handle(g) if !w.handle() || w.generation() != g => Err(Error::new(ErrorKind::Freed)),
        _ => Ok(()),
    }
}

impl Arena {
    fn new() -> Result<Self, Error> {
        let page = crate::sys::page_size();
        let mut last = Error::new(ErrorKind::ArenaExhausted);
        for bytes in RESERVE_TRY {
            let pages = bytes / page;
            let table_bytes = pages * std::mem::size_of::<Slot>();
            let code = match Region::reserve(pages, page) {
                Ok(r) => r,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let table = match Region::map_rw(table_bytes.div_ceil(page), page) {
                Ok(t) => t,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            crate::raw::publish_fast(
                code.base() as usize,
                code.len(),
                page.trailing_zeros(),
                table.base().cast::<Slot>(),
            );
            return Ok(Self {
                code,
                table,
                page,
                shift: page.trailing_zeros(),
                alloc: Mutex::new(Allocator::default()),
                resident: AtomicUsize::new(0),
                fns: OnceLock::new(),
            });
        }
        Err(last)
    }

    pub(crate) fn page_size(&self) -> usize {
        self.page
    }

    /// The function table, mapped on first use (by the first code arena).
    fn fn_table(&self) -> Result<&FnTable, Error> {
        self.fns
            .get_or_init(|| {
                let table = FnTable::new(self.code.len(), self.page)?;
                crate::raw::publish_fn_table(table.base());
                Ok(table)
            })
            .as_ref()
            .map_err(|e| *e)
    }

    /// The function table if any arena was ever created (lookups never create it).
    fn existing_fn_table(&self) -> Option<&FnTable> {
        match self.fns.get() {
            Some(Ok(t)) => Some(t),
            _ => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Allocator> {
        // No code panics while holding the lock; if one ever did, the queues are still valid.
        self.alloc
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The slot of page `idx`.
    ///
    /// # Panics
    /// If `idx` is outside the arena.
    #[inline]
    pub(crate) fn slot(&self, idx: usize) -> &Slot {
        assert!(
            idx < self.code.pages(),
            "slot index {idx} outside the arena"
        );
        // SAFETY: the table maps at least `code.pages()` zero-initialised `Slot`s (sized in
        // `new`), all-zero bytes are a valid `Slot` (atomics only), and it lives as long as
        // `self`. `idx` is in bounds (asserted above).
        unsafe { &*self.table.base().cast::<Slot>().add(idx) }
    }

    /// The page index of `addr` if it is page-aligned and inside the arena.
    #[inline]
    pub(crate) fn index_of(&self, addr: usize) -> Result<usize, Error> {
        let off = addr.wrapping_sub(self.code.base() as usize);
        if off >= self.code.len() || off & (self.page - 1) != 0 {
            return Err(Error::new(ErrorKind::NotOurs));
        }
        Ok(off >> self.shift)
    }

    pub(crate) fn addr_of(&self, idx: usize) -> *mut u8 {
        self.code.range(idx, 0).0
    }

    /// The body of run head `idx` as bytes.
    ///
    /// # Safety
    /// The caller must hold the slot in a state where the body is mapped readable and not
    /// being written by Rust code (`SEALING`, `EXECUTABLE`, or a handle that owns it).
    pub(crate) unsafe fn body(&self, idx: usize) -> &[u8] {
        let pages = self.slot(idx).body_pages.load(Ordering::Relaxed) as usize;
        let (addr, len) = self.code.range(idx, pages);
        // SAFETY: in bounds (`range`), readable per the contract.
        unsafe { std::slice::from_raw_parts(addr, len) }
    }

    /// Allocates a zero-filled read+write run for `n` bytes (a code arena if `code_arena`);
    /// returns its head index and word.
    pub(crate) fn alloc(
        &self,
        n: usize,
        handle: bool,
        code_arena: bool,
    ) -> Result<(usize, Word), Error> {
        let table = if code_arena {
            Some(self.fn_table()?)
        } else {
            None
        };
        let RunSize {
            body,
            guard,
            run,
            bytes,
        } = run_size(n, self.page)?;
        let mut alloc = self.lock();
        stats::charge(bytes).map_err(|(mapped, quota)| {
            Error::new(ErrorKind::QuotaExceeded {
                requested: bytes,
                mapped,
                quota,
            })
        })?;
        let Some(free) = alloc.take(run, self.code.pages()) else {
            stats::uncharge(bytes);
            return Err(Error::new(ErrorKind::ArenaExhausted));
        };
        drop(alloc);
        let head = free.start + guard;
        match free.backing {
            Backing::Reserved => {
                if let Err(e) = self.code.protect(head, body, Prot::ReadWrite) {
                    let mut alloc = self.lock();
                    stats::uncharge(bytes);
                    alloc.give_back(run, free);
                    return Err(e);
                }
            }
            Backing::Clean => {}
            Backing::Dirty => {
                // SAFETY: a dirty free run is read+write (left so by `free`) and out of the
                // allocator, so nothing else references it.
                unsafe { self.code.zero(head, body) };
                self.resident.fetch_sub(body * self.page, Ordering::Relaxed);
            }
        }
        let slot = self.slot(head);
        let old = Word(slot.word.load(Ordering::Acquire));
        slot.body_pages.store(body as u32, Ordering::Relaxed);
        slot.lead.store(guard as u32, Ordering::Relaxed);
        slot.run_pages.store(run as u32, Ordering::Relaxed);
        slot.hash.store(0, Ordering::Relaxed);
        let mut word = Word::new(old.generation(), WRITABLE, handle, 0);
        if let Some(table) = table {
            // Run geometry never changes, so these stay right for every later use of the run.
            for p in 0..body {
                self.slot(head + p)
                    .head
                    .store(p as u32 + 1, Ordering::Relaxed);
            }
            table.lists().insert(head, ArenaFns::default());
            word = word.as_arena();
        }
        slot.word.store(word.0, Ordering::Release);
        report::audit(format_args!(
            "{}({n}) = {:p} ({bytes} bytes mapped{})",
            if code_arena { "arena" } else { "alloc" },
            self.addr_of(head),
            if guard == 1 { ", 2 guard pages" } else { "" }
        ));
        Ok((head, word))
    }

    /// Moves the slot from `from` to `busy`, waiting out other transient states.
    fn enter(
        &self,
        idx: usize,
        (owner, want): (Owner, Want),
        busy: u64,
        on_sealed: ErrorKind,
    ) -> Result<Word, Error> {
        let slot = self.slot(idx);
        let mut w = Word(slot.word.load(Ordering::Acquire));
        loop {
            check(w, owner, want)?;
            let ok = match w.state() {
                WRITABLE => true,
                EXECUTABLE if busy == FREEING => true,
                SEALING | INSTALLING if busy == FREEING => {
                    wait();
                    w = Word(slot.word.load(Ordering::Acquire));
                    continue;
                }
                INSTALLING => {
                    wait();
                    w = Word(slot.word.load(Ordering::Acquire));
                    continue;
                }
                _ => false,
            };
            if !ok {
                return Err(Error::new(on_sealed));
            }
            match slot.word.compare_exchange(
                w.0,
                w.with_state(busy).0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(w),
                Err(now) => w = Word(now),
            }
        }
    }

    /// Seals run head `idx`: hash, `mprotect` read+execute, flush hook. Keeps the recorded
    /// tag unless `tag` is given. A code arena instead gets its gaps filled with `int3` and a
    /// hash per function (its head word keeps tag 0).
    pub(crate) fn seal(
        &self,
        idx: usize,
        owner: (Owner, Want),
        tag: Option<u32>,
    ) -> Result<Word, Error> {
        let w = self.enter(idx, owner, SEALING, ErrorKind::AlreadySealed)?;
        let slot = self.slot(idx);
        let pages = slot.body_pages.load(Ordering::Relaxed) as usize;
        let hash = if w.arena() {
            if let Err(e) = self.seal_functions(idx, w.generation()) {
                slot.word.store(w.0, Ordering::Release);
                return Err(e);
            }
            0
        } else {
            // SAFETY: we hold SEALING, so no other transition runs and the body is read+write.
            code_hash(unsafe { self.body(idx) })
        };
        if let Err(e) = self.code.protect(idx, pages, Prot::ReadExec) {
            slot.word.store(w.0, Ordering::Release);
            return Err(e);
        }
        let (addr, len) = self.code.range(idx, pages);
        flush_icache(addr, len);
        // A tag recorded by `install` stands only for the bytes installed: if the
        // page was written after `install` (its hash then differs from the one
        // recorded there), the proof no longer holds and the page seals untagged.
        let kept = if w.tag() != 0 && slot.hash.load(Ordering::Relaxed) != hash {
            0
        } else {
            w.tag()
        };
        slot.hash.store(hash, Ordering::Relaxed);
        let tag = if w.arena() { 0 } else { tag.unwrap_or(kept) };
        let done = w.with_state(EXECUTABLE).with_tag(tag);
        slot.word.store(done.0, Ordering::Release);
        report::audit(format_args!(
            "seal({addr:p}) tag=0x{:x} hash=0x{hash:016x}",
            done.tag()
        ));
        Ok(done)
    }

    /// Fills every gap of arena `idx` with `int3`, records each function's sealed hash and
    /// drops the tag of a function whose bytes changed since it was added (the proof was for
    /// the bytes added, as with `install`). The caller holds SEALING.
    fn seal_functions(&self, idx: usize, generation: u64) -> Result<(), Error> {
        let table = self.fn_table()?;
        let Some(mut list) = table.lists().remove(&idx) else {
            return Err(Error::new(ErrorKind::NotOurs));
        };
        let pages = self.slot(idx).body_pages.load(Ordering::Relaxed) as usize;
        let (addr, len) = self.code.range(idx, pages);
        // SAFETY: the caller holds SEALING on a WRITABLE run: `len` bytes at `addr` are
        // mapped read+write, no other transition runs, and no Rust reference to them is live
        // (typed arenas hand out none while writable).
        let body = unsafe { std::slice::from_raw_parts_mut(addr, len) };
        let mut end = 0;
        for f in &mut list.fns {
            body[end..f.offset].fill(INT3);
            end = f.offset + f.len;
            let hash = code_hash(&body[f.offset..end]);
            if hash != f.hash && f.tag != 0 {
                f.tag = 0;
                table.set(self.granule(idx, f.offset), 0, generation);
            }
            f.hash = hash;
        }
        body[end..].fill(INT3);
        list.sealed = Some(list.fns.as_slice().into());
        table.lists().insert(idx, list);
        Ok(())
    }

    /// The granule index of byte `offset` of run head `idx`.
    fn granule(&self, idx: usize, offset: usize) -> usize {
        ((idx << self.shift) + offset) >> FN_SHIFT
    }

    /// Adds `code` as the next function of code arena `idx`: calls `prove` with the address
    /// the code will run at (the validator; it returns the signature tag to record), copies
    /// the code to the next [`FN_ALIGN`] boundary and records it. Returns its byte offset.
    /// Holds the arena in INSTALLING meanwhile, so adds to one arena are serialised.
    pub(crate) fn add<E: From<Error>>(
        &self,
        idx: usize,
        owner: Owner,
        code: &[u8],
        prove: impl FnOnce(u64) -> Result<u32, E>,
    ) -> Result<usize, E> {
        let w = self.enter(
            idx,
            (owner, Want::CodeArena),
            INSTALLING,
            ErrorKind::AlreadySealed,
        )?;
        let slot = self.slot(idx);
        // Puts the word back on every exit, a panic in `prove` included.
        let _busy = Restore { slot, word: w };
        if code.is_empty() {
            return Err(Error::new(ErrorKind::ZeroSize).into());
        }
        let table = self.fn_table()?;
        let pages = slot.body_pages.load(Ordering::Relaxed) as usize;
        let (base, capacity) = self.code.range(idx, pages);
        let lists = table.lists();
        let offset = lists
            .get(&idx)
            .map(|l| l.used)
            .ok_or(Error::new(ErrorKind::NotOurs))?;
        drop(lists);
        let available = capacity - offset;
        if code.len() > available {
            return Err(Error::new(ErrorKind::ArenaFull {
                needed: code.len(),
                available,
            })
            .into());
        }
        let tag = prove(base as u64 + offset as u64)?;
        // SAFETY: we hold INSTALLING on a WRITABLE arena: its body is read+write and only we
        // write it; `offset + code.len() <= capacity` (checked above).
        let dest = unsafe { base.add(offset) };
        // SAFETY: `dest` is writable for `code.len()` bytes (above); `copy` (memmove) is
        // right even if a raw caller passed bytes from inside the arena itself.
        unsafe { std::ptr::copy(code.as_ptr(), dest, code.len()) };
        // SAFETY: the bytes just written, still ours under INSTALLING.
        let hash = code_hash(unsafe { std::slice::from_raw_parts(dest, code.len()) });
        table.set(self.granule(idx, offset), tag, w.generation());
        let mut lists = table.lists();
        let list = lists.get_mut(&idx).ok_or(Error::new(ErrorKind::NotOurs))?;
        list.fns.push(FnMeta {
            offset,
            len: code.len(),
            tag,
            hash,
        });
        list.used = (offset + code.len()).next_multiple_of(FN_ALIGN);
        drop(lists);
        report::audit(format_args!(
            "add({:p}) {} bytes at {dest:p} tag=0x{tag:x}",
            base,
            code.len()
        ));
        Ok(offset)
    }

    /// The run head of the code-arena page holding code offset `off`, if that page ever
    /// belonged to an arena.
    #[inline]
    fn arena_head(&self, off: usize) -> Option<usize> {
        let page = off >> self.shift;
        let d = self.slot(page).head.load(Ordering::Relaxed) as usize;
        (d != 0 && d <= page + 1).then(|| page + 1 - d)
    }

    /// The tag of the function of a code arena that starts at `addr`, if its arena is
    /// sealed. Lock-free: the page's `head` field, one acquire load of the head word, one of
    /// the granule entry (written before the word turned EXECUTABLE, never while it is).
    ///
    /// # Errors
    /// `NotOurs` (no function starts there), `NotSealed`, `Freed` (the arena, or the earlier
    /// arena whose function this was, was freed).
    pub(crate) fn function_at(&self, addr: usize) -> Result<u32, Error> {
        let not_ours = Error::new(ErrorKind::NotOurs);
        let off = addr.wrapping_sub(self.code.base() as usize);
        if off >= self.code.len() || !off.is_multiple_of(FN_ALIGN) {
            return Err(not_ours);
        }
        let table = self.existing_fn_table().ok_or(not_ours)?;
        let head = self.arena_head(off).ok_or(not_ours)?;
        let w = Word(self.slot(head).word.load(Ordering::Acquire));
        match table.get(off >> FN_SHIFT) {
            Some(FnEntry { tag, generation }) if w.arena() && generation == w.generation() => {
                match w.state() {
                    EXECUTABLE => Ok(tag),
                    FREE | FREEING => Err(Error::new(ErrorKind::Freed)),
                    _ => Err(Error::new(ErrorKind::NotSealed)),
                }
            }
            // A function of an earlier incarnation of this run, which was freed.
            Some(_) => Err(Error::new(ErrorKind::Freed)),
            None if matches!(w.state(), FREE | FREEING) => Err(Error::new(ErrorKind::Freed)),
            None => Err(not_ours),
        }
    }

    /// Re-hashes the function at `addr` (of a sealed arena) against its hash recorded at seal.
    ///
    /// # Errors
    /// `Tampered` if it changed; `NotOurs`/`Freed` if it is no longer a sealed function.
    pub(crate) fn verify_function(&self, addr: usize) -> Result<(), Error> {
        let off = addr.wrapping_sub(self.code.base() as usize);
        let gone = Error::new(ErrorKind::Freed);
        let head = self.arena_head(off).ok_or(gone)?;
        let fns = self.sealed_fns(head).ok_or(gone)?;
        let at = off - (head << self.shift);
        let f = fns
            .binary_search_by_key(&at, |f| f.offset)
            .map(|i| fns[i])
            .map_err(|_| gone)?;
        // SAFETY: the range lies in the run's body (recorded at add), which stays mapped and
        // readable for the life of the process (runs are never unmapped).
        let now = code_hash(unsafe { std::slice::from_raw_parts(addr as *const u8, f.len) });
        if now == f.hash {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::Tampered))
        }
    }

    /// The function list of sealed code arena `idx`.
    pub(crate) fn sealed_fns(&self, idx: usize) -> Option<std::sync::Arc<[FnMeta]>> {
        self.existing_fn_table()?
            .lists()
            .get(&idx)
            .and_then(|l| l.sealed.clone())
    }

    /// Copies `code` to the start of writable run head `idx` and records `tag`.
    pub(crate) fn install(
        &self,
        idx: usize,
        owner: Owner,
        code: &[u8],
        tag: u32,
    ) -> Result<(), Error> {
        let w = self.enter(
            idx,
            (owner, Want::Page),
            INSTALLING,
            ErrorKind::AlreadySealed,
        )?;
        let slot = self.slot(idx);
        let pages = slot.body_pages.load(Ordering::Relaxed) as usize;
        let (addr, len) = self.code.range(idx, pages);
        if code.len() > len {
            slot.word.store(w.0, Ordering::Release);
            return Err(Error::new(ErrorKind::TooLong));
        }
        // SAFETY: we hold INSTALLING on a WRITABLE run: it is read+write, `code.len()` fits
        // (checked above), and no other transition touches it until we store the word.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), addr, code.len()) };
        // Remember what the tag vouches for; `seal` drops the tag if the page
        // changes between here and there.
        // SAFETY: we still hold INSTALLING, so the body is read+write and ours.
        let hash = code_hash(unsafe { self.body(idx) });
        slot.hash.store(hash, Ordering::Relaxed);
        slot.word.store(w.with_tag(tag).0, Ordering::Release);
        report::audit(format_args!(
            "install({addr:p}) {} bytes tag=0x{tag:x}",
            code.len()
        ));
        Ok(())
    }

    /// Frees run head `idx`: revokes execute, quarantines the run, updates statistics. The
    /// function entries of a code arena stay (their generation now names a freed arena) until
    /// the run's memory is returned to the OS.
    pub(crate) fn free(&self, idx: usize, owner: (Owner, Want)) -> Result<(), Error> {
        let w = self.enter(idx, owner, FREEING, ErrorKind::Freed)?;
        let table = if w.arena() {
            self.existing_fn_table()
        } else {
            None
        };
        if let Some(table) = table {
            table.lists().remove(&idx);
        }
        let slot = self.slot(idx);
        let body = slot.body_pages.load(Ordering::Relaxed) as usize;
        let lead = slot.lead.load(Ordering::Relaxed) as usize;
        let run = slot.run_pages.load(Ordering::Relaxed) as usize;
        let addr = self.addr_of(idx);
        let mut reusable = true;
        if w.state() == EXECUTABLE && self.code.protect(idx, body, Prot::ReadWrite).is_err() {
            // The run stays read+execute; it is logically freed (never callable through the
            // registry again) but retired instead of reused.
            reusable = false;
        }
        let body_bytes = body * self.page;
        let mut backing = Backing::Dirty;
        if reusable {
            let before = self.resident.fetch_add(body_bytes, Ordering::Relaxed);
            if before + body_bytes > RESIDENT_CAP && self.code.discard(idx, body).is_ok() {
                self.resident.fetch_sub(body_bytes, Ordering::Relaxed);
                backing = Backing::Clean;
                if let Some(table) = table {
                    table.discard(idx, body);
                }
            }
        }
        slot.word.store(w.freed().0, Ordering::Release);
        let mut alloc = self.lock();
        if reusable {
            alloc.give_back(
                run,
                FreeRun {
                    start: idx - lead,
                    backing,
                },
            );
        }
        stats::release(counted_bytes(body, lead, self.page).unwrap_or(0));
        drop(alloc);
        report::audit(format_args!("free({addr:p}) ok"));
        Ok(())
    }

    /// Clears the handle flag so the raw (C) API owns the run from now on.
    pub(crate) fn release_handle(&self, idx: usize, generation: u64) -> Result<(), Error> {
        let slot = self.slot(idx);
        let mut w = Word(slot.word.load(Ordering::Acquire));
        loop {
            check(w, Owner::Handle(generation), Want::Any)?;
            match slot.word.compare_exchange(
                w.0,
                w.without_handle().0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => w = Word(now),
            }
        }
    }
}

/// Stores `word` into `slot` when dropped: ends a transient state on every path.
struct Restore<'a> {
    slot: &'a Slot,
    word: Word,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.slot.word.store(self.word.0, Ordering::Release);
    }
}
