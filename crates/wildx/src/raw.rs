//! The address-keyed API: what the C ABI (and `npk_jit_compile`) uses.
//!
//! Pages here are owned by the registry and named by the address `alloc_raw` returned. Every
//! function validates the address first (null, inside the arena, a run head, state, owner)
//! and never dereferences an address it has not validated. `lookup` and `checked_entry` are
//! lock-free: a range check plus one acquire load of the run's state word (for a function
//! of a code arena: the page's head field, the arena's state word and the function's entry).
//! Code arenas are named by their base address too; their functions by the addresses
//! [`arena_add_raw`] returned.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use crate::arena::{Owner, Want, arena, existing, run_size};
use crate::error::{Error, ErrorKind};
use crate::fn_table::{FN_ALIGN, FN_SHIFT, entry_value};
use crate::hash::code_hash;
use crate::options::options;
use crate::slot::{
    ARENA_EXECUTABLE, EXECUTABLE, FREE, FREEING, INSTALLING, SEALING, STATE_AND_TAG, Slot, UNUSED,
    WRITABLE, Word, executable_with,
};
use crate::{report, sys};

/// The arena geometry, copied into plain atomics once the arena exists, so the call fast
/// path needs no `OnceLock` and no pointer chase. `len` stays 0 until then, and forever when
/// `NPK_WILDX_VERIFY` or `NPK_WILDX_AUDIT` is on (options are read before the arena is
/// created), so every fast check fails over to the slow path that implements those.
/// Written once, before any page address is handed out.
struct Fast {
    base: AtomicUsize,
    len: AtomicUsize,
    table: AtomicPtr<Slot>,
}

/// Page size the fast path is compiled for (every x86-64 Linux system); with any other page
/// size the fast path stays disabled and calls take the slow path.
const FAST_PAGE_SHIFT: u32 = 12;

static FAST: Fast = Fast {
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    table: AtomicPtr::new(std::ptr::null_mut()),
};

/// The function table of code arenas, for the arena call fast path: null until the first
/// arena exists; once set, never changes and never unmapped.
static FAST_FNS: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());

/// Publishes the function table for the fast path (called once, when it is mapped).
pub(crate) fn publish_fn_table(entries: *mut AtomicU64) {
    FAST_FNS.store(entries, Ordering::Release);
}

/// Publishes the arena geometry for the fast path (called once, when the arena is created).
pub(crate) fn publish_fast(base: usize, len: usize, shift: u32, table: *mut Slot) {
    FAST.base.store(base, Ordering::Relaxed);
    FAST.table.store(table, Ordering::Relaxed);
    let opts = options();
    let fast_len = if opts.verify || opts.audit || shift != FAST_PAGE_SHIFT {
        0
    } else {
        len
    };
    FAST.len.store(fast_len, Ordering::Release);
}

/// An executable page found by [`lookup`] or [`checked_entry`].
///
/// The pointer stays valid only until the page is freed; it is not tied to a lifetime
/// because the page is owned by the registry, not by a Rust value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    ptr: NonNull<u8>,
    tag: u32,
}

impl Entry {
    /// The entry point (the first byte of the page).
    #[must_use]
    pub fn ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    /// The signature tag recorded at seal (0: none).
    #[must_use]
    pub fn tag(&self) -> u32 {
        self.tag
    }
}

/// The state of the page at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageState {
    /// Allocated and writable (a seal or install may be in progress).
    Writable,
    /// Sealed: read+execute.
    Executable,
    /// Freed (or being freed). The address may be handed out again after quarantine.
    Freed,
    /// Null, or not the start of a page this registry handed out.
    NotOurs,
}

fn state_error(w: Word) -> Error {
    Error::new(match w.state() {
        UNUSED => ErrorKind::NotOurs,
        FREE | FREEING => ErrorKind::Freed,
        _ => ErrorKind::NotSealed,
    })
}

/// Validates `addr` as a possible run head; returns its index.
#[inline]
fn index(addr: *const u8) -> Result<(&'static crate::arena::Arena, usize), Error> {
    if addr.is_null() {
        return Err(Error::new(ErrorKind::Null));
    }
    let arena = existing().ok_or(Error::new(ErrorKind::NotOurs))?;
    Ok((arena, arena.index_of(addr as usize)?))
}

/// Allocates a zero-filled, read+write (never executable) page run of at least `n` bytes.
///
/// # Errors
/// `ZeroSize` for 0 and `SizeOverflow` when rounding overflows (both before any system call),
/// `QuotaExceeded`, `ArenaExhausted`, or an `Os` error.
pub fn alloc_raw(n: usize) -> Result<NonNull<u8>, Error> {
    run_size(n, sys::page_size())?;
    let arena = arena()?;
    let (idx, _) = arena.alloc(n, false, false)?;
    NonNull::new(arena.addr_of(idx)).ok_or(Error::new(ErrorKind::NotOurs))
}

/// Creates a code arena of at least `n` bytes (rounded up to whole pages): read+write, never
/// executable, owned by the raw API and named by the returned base address. Add functions
/// with [`arena_add_raw`], seal with [`arena_seal_raw`] (or [`seal_raw`]), free with
/// [`arena_free_raw`] (or [`free_raw`]). It counts as one allocation in the statistics.
///
/// # Errors
/// As [`alloc_raw`]; also an `Os` error if the function table cannot be mapped.
pub fn arena_create_raw(n: usize) -> Result<NonNull<u8>, Error> {
    run_size(n, sys::page_size())?;
    let arena = arena()?;
    let (idx, _) = arena.alloc(n, false, true)?;
    NonNull::new(arena.addr_of(idx)).ok_or(Error::new(ErrorKind::NotOurs))
}

/// Adds `code` as the next function of the writable code arena at `arena_base`, at the next
/// [`FN_ALIGN`](crate::FN_ALIGN) boundary; gaps are filled with `int3` at seal. `prove` runs
/// first, with the address the function will have (pass it to the validator as `base_ip`),
/// and returns the signature tag to record; its error is passed on and nothing is added.
/// The recorded tag is dropped at seal if the bytes are changed before then. Returns the
/// function's address, callable through [`checked_entry`] once the arena is sealed. Adds to
/// one arena from several threads are serialised (`prove` runs while holding the arena).
///
/// # Errors
/// `Null`, `NotOurs`, `Freed`, `NotAnArena`, `AlreadySealed`, `OwnedByHandle`, `ZeroSize`
/// (empty code), `ArenaFull`, or `prove`'s error.
pub fn arena_add_raw<E: From<Error>>(
    arena_base: *const u8,
    code: &[u8],
    prove: impl FnOnce(u64) -> Result<u32, E>,
) -> Result<NonNull<u8>, E> {
    let (arena, idx) = index(arena_base)?;
    let offset = arena.add(idx, Owner::Raw, code, prove)?;
    // SAFETY: `offset` lies inside the arena's body (checked by `add`).
    let f = unsafe { arena.addr_of(idx).add(offset) };
    Ok(NonNull::new(f).ok_or(Error::new(ErrorKind::NotOurs))?)
}

/// [`seal_raw`] that refuses anything but a code arena (`NotAnArena`): every function in it
/// becomes callable with one protection change.
///
/// # Errors
/// As [`seal_raw`], and `NotAnArena`.
pub fn arena_seal_raw(arena_base: *const u8) -> Result<(), Error> {
    let (arena, idx) = index(arena_base)?;
    arena
        .seal(idx, (Owner::Raw, Want::CodeArena), None)
        .map(|_| ())
}

/// [`free_raw`] that refuses anything but a code arena (`NotAnArena`): no function of it is
/// callable afterwards.
///
/// # Errors
/// As [`free_raw`], and `NotAnArena`.
pub fn arena_free_raw(arena_base: *const u8) -> Result<(), Error> {
    let (arena, idx) = index(arena_base)?;
    arena.free(idx, (Owner::Raw, Want::CodeArena))
}

/// Seals the page at `addr`: hash, `mprotect` read+execute, instruction-cache hook. Keeps the
/// tag recorded by [`install_raw`] (0 if none). Exactly one of several concurrent seals wins.
/// A code arena's base address is accepted too (as [`arena_seal_raw`]).
///
/// # Errors
/// `Null`, `NotOurs`, `Freed`, `AlreadySealed`, `OwnedByHandle`, or an `Os` error (the page
/// then stays writable).
pub fn seal_raw(addr: *const u8) -> Result<(), Error> {
    let (arena, idx) = index(addr)?;
    arena.seal(idx, (Owner::Raw, Want::Any), None).map(|_| ())
}

/// Frees the page at `addr` (writable or sealed). It is never executable afterwards. A code
/// arena's base address is accepted too (as [`arena_free_raw`]).
///
/// # Errors
/// `Null`, `NotOurs`, `Freed` (also for a stale pointer within the quarantine window),
/// `OwnedByHandle`.
pub fn free_raw(addr: *const u8) -> Result<(), Error> {
    let (arena, idx) = index(addr)?;
    arena.free(idx, (Owner::Raw, Want::Any))
}

/// Copies `code` to the start of the writable page at `addr` and records signature `tag`.
///
/// # Errors
/// `Null`, `NotOurs`, `Freed`, `AlreadySealed` (not writable), `OwnedByHandle`, `TooLong`,
/// `IsArena` (add to a code arena with [`arena_add_raw`]).
pub fn install_raw(addr: *const u8, code: &[u8], tag: u32) -> Result<(), Error> {
    let (arena, idx) = index(addr)?;
    arena.install(idx, Owner::Raw, code, tag)
}

/// Finds the executable page at `addr` (raw or handle-owned), or the function of a sealed
/// code arena that starts at `addr`, without any policy check. Lock-free.
///
/// # Errors
/// `Null`, `NotOurs`, `Freed`, `NotSealed` (for a function: of its arena).
#[inline]
pub fn lookup(addr: *const u8) -> Result<Entry, Error> {
    if addr.is_null() {
        return Err(Error::new(ErrorKind::Null));
    }
    let arena = existing().ok_or(Error::new(ErrorKind::NotOurs))?;
    let ptr = NonNull::new(addr.cast_mut()).ok_or(Error::new(ErrorKind::Null))?;
    if let Ok(idx) = arena.index_of(addr as usize) {
        let w = Word(arena.slot(idx).word.load(Ordering::Acquire));
        if w.state() != UNUSED && !w.arena() {
            if w.state() != EXECUTABLE {
                return Err(state_error(w));
            }
            return Ok(Entry { ptr, tag: w.tag() });
        }
    }
    let tag = arena.function_at(addr as usize)?;
    Ok(Entry { ptr, tag })
}

/// [`lookup`] plus the call policy: the page's tag must equal `expected_tag` (a page sealed
/// without a tag passes unless `NPK_JIT_STRICT=1`); with `NPK_WILDX_VERIFY=1` the contents
/// must still hash to the value recorded at seal; with `NPK_WILDX_AUDIT=1` one audit line is
/// written. Lock-free.
///
/// The common case (options read, no verify/audit, page executable with exactly this tag) is
/// a range check and one compare of the slot word; everything else takes the cold path.
///
/// # Errors
/// Those of [`lookup`], `SignatureMismatch`, `Unsigned`, `Tampered`.
#[inline(always)]
pub fn checked_entry(addr: *const u8, expected_tag: u32) -> Result<Entry, Error> {
    match quick_entry(addr, expected_tag) {
        Some(entry) => Ok(entry),
        None => checked_entry_slow(addr, expected_tag),
    }
}

/// The fast path of [`checked_entry`]: `Some` only in the common case (options read, no
/// verify or audit, page executable with exactly `expected_tag`); `None` means "ask
/// [`checked_entry`]", which decides and explains. A range check and one compare of the
/// slot word; keeping the fallback in a separate cold function lets callers' hot paths
/// need no stack frame.
#[inline(always)]
#[must_use]
pub fn quick_entry(addr: *const u8, expected_tag: u32) -> Option<Entry> {
    let off = (addr as usize).wrapping_sub(FAST.base.load(Ordering::Relaxed));
    if off >= FAST.len.load(Ordering::Acquire) || off & ((1 << FAST_PAGE_SHIFT) - 1) != 0 {
        return None;
    }
    // SAFETY: `off < len` and `len` is published (Release) after `table`, which maps one
    // initialised `Slot` per arena page and is never unmapped; `len` is nonzero only when the
    // page size is `1 << FAST_PAGE_SHIFT`, so `off >> FAST_PAGE_SHIFT` indexes an arena page.
    let slot = unsafe {
        &*FAST
            .table
            .load(Ordering::Relaxed)
            .add(off >> FAST_PAGE_SHIFT)
    };
    let word = slot.word.load(Ordering::Acquire);
    if word & STATE_AND_TAG != executable_with(expected_tag) {
        return None;
    }
    // SAFETY: `addr == base + off` with `off < len`: inside the arena mapping, so not null.
    let ptr = unsafe { NonNull::new_unchecked(addr.cast_mut()) };
    Some(Entry {
        ptr,
        tag: expected_tag,
    })
}

/// The fast path for a function of a code arena: `Some` only when the options allow the
/// fast path, its arena is sealed and live, and the function was recorded with exactly
/// `expected_tag`. Lock-free: the page's head field, the head word, the function's entry.
#[inline]
fn quick_fn_entry(addr: *const u8, expected_tag: u32) -> Option<Entry> {
    let off = (addr as usize).wrapping_sub(FAST.base.load(Ordering::Relaxed));
    if off >= FAST.len.load(Ordering::Acquire) || off & (FN_ALIGN - 1) != 0 {
        return None;
    }
    let fns = FAST_FNS.load(Ordering::Acquire);
    if fns.is_null() {
        return None;
    }
    let table = FAST.table.load(Ordering::Relaxed);
    let page = off >> FAST_PAGE_SHIFT;
    // SAFETY: `off < len` (published after `table`, nonzero only for 4 KiB pages), so `page`
    // indexes one of the arena's initialised slots, which are never unmapped.
    let d = unsafe { &*table.add(page) }.head.load(Ordering::Relaxed) as usize;
    if d == 0 || d > page + 1 {
        return None;
    }
    // SAFETY: `page + 1 - d <= page`, an index of the same table.
    let word = unsafe { &*table.add(page + 1 - d) }
        .word
        .load(Ordering::Acquire);
    if word & STATE_AND_TAG != ARENA_EXECUTABLE {
        return None;
    }
    // SAFETY: the function table holds one entry per 64-byte granule of the arena range
    // (sized when mapped), `off >> FN_SHIFT` is one of them, and it is never unmapped.
    let entry = unsafe { &*fns.add(off >> FN_SHIFT) }.load(Ordering::Acquire);
    if entry != entry_value(expected_tag, Word(word).generation()) {
        return None;
    }
    // SAFETY: `addr == base + off` with `off < len`: inside the arena mapping, so not null.
    let ptr = unsafe { NonNull::new_unchecked(addr.cast_mut()) };
    Some(Entry {
        ptr,
        tag: expected_tag,
    })
}

#[cold]
#[inline(never)]
fn checked_entry_slow(addr: *const u8, expected_tag: u32) -> Result<Entry, Error> {
    if let Some(entry) = quick_fn_entry(addr, expected_tag) {
        return Ok(entry);
    }
    let opts = options();
    let entry = lookup(addr)?;
    let tag = entry.tag;
    if tag != expected_tag {
        if tag != 0 {
            return Err(Error::new(ErrorKind::SignatureMismatch {
                expected: expected_tag,
                found: tag,
            }));
        }
        if opts.strict {
            return Err(Error::new(ErrorKind::Unsigned));
        }
    }
    if opts.verify || opts.audit {
        verify_and_audit(entry)?;
    }
    Ok(entry)
}

#[cold]
fn verify_and_audit(entry: Entry) -> Result<(), Error> {
    if options().verify {
        verify(entry.ptr())?;
    }
    report::audit(format_args!(
        "call({:p}) tag=0x{:x}",
        entry.ptr(),
        entry.tag
    ));
    Ok(())
}

/// Re-hashes the page, or the arena function, at `addr` against the hash recorded at seal.
fn verify(addr: *const u8) -> Result<(), Error> {
    let arena = existing().ok_or(Error::new(ErrorKind::NotOurs))?;
    let page = arena.index_of(addr as usize).ok().filter(|&idx| {
        let w = Word(arena.slot(idx).word.load(Ordering::Acquire));
        w.state() != UNUSED && !w.arena()
    });
    let Some(idx) = page else {
        return arena.verify_function(addr as usize);
    };
    let recorded = arena.slot(idx).hash.load(Ordering::Relaxed);
    // SAFETY: the page was EXECUTABLE (read+execute) when looked up just before; a free
    // racing this call is a use-after-free by the caller, and even then the run stays
    // mapped read+write (runs are never unmapped), so the read cannot fault.
    let now = code_hash(unsafe { arena.body(idx) });
    if now == recorded {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Tampered))
    }
}

/// The state of the page at `addr` (at a code arena's base address: the arena's state; a
/// function address inside an arena is `NotOurs` here, see [`lookup`]). Lock-free.
#[must_use]
pub fn page_state(addr: *const u8) -> PageState {
    let Ok((arena, idx)) = index(addr) else {
        return PageState::NotOurs;
    };
    match Word(arena.slot(idx).word.load(Ordering::Acquire)).state() {
        WRITABLE | SEALING | INSTALLING => PageState::Writable,
        EXECUTABLE => PageState::Executable,
        FREE | FREEING => PageState::Freed,
        _ => PageState::NotOurs,
    }
}
