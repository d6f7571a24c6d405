//! The function table of code arenas: one atomic entry per 64-byte granule of the reserved
//! code range, plus each live arena's function list.
//!
//! Entry of a granule where a function starts: bits 0-31 its signature tag, bit 32 `START`,
//! bits 33-59 the generation of the arena incarnation that added it; other granules are 0
//! (or hold a stale entry of an older incarnation, told apart by the generation). A checked
//! call of a function address is then lock-free: the page's `head` field names the run head,
//! one acquire load of the head word (state, arena flag, generation), one of the entry.
//! Entries are written while the arena is WRITABLE or SEALING and never while it is
//! EXECUTABLE, so a reader that saw the head word EXECUTABLE reads the final entry.
//!
//! The table is mapped (read+write, `MAP_NORESERVE`, never executable) on the first arena
//! only; it reserves one eighth of the code range's size and only the pages holding entries
//! of used granules ever become resident. Function lists (offset, length, tag, hash) sit
//! behind a mutex and are needed only by add, seal, free and `NPK_WILDX_VERIFY`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Error;
use crate::region::Region;
use crate::slot::GEN_BITS;

/// Functions in a code arena start at multiples of this many bytes.
pub const FN_ALIGN: usize = 64;
/// log2 of [`FN_ALIGN`].
pub(crate) const FN_SHIFT: u32 = 6;

const START: u64 = 1 << 32;
const GEN_SHIFT: u32 = 33;
const _: () = assert!(GEN_SHIFT + GEN_BITS <= 64, "generation fits an entry");

/// The entry of a function start with `tag` added by the arena incarnation `generation`.
#[inline(always)]
pub(crate) const fn entry_value(tag: u32, generation: u64) -> u64 {
    START | (generation << GEN_SHIFT) | tag as u64
}

/// One function of an arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FnMeta {
    /// Byte offset in the arena body (a multiple of [`FN_ALIGN`]).
    pub(crate) offset: usize,
    /// Length of its code in bytes.
    pub(crate) len: usize,
    /// Its signature tag (0: none; dropped to 0 at seal if the bytes changed since add).
    pub(crate) tag: u32,
    /// wxh64 of its bytes: at add, then as sealed.
    pub(crate) hash: u64,
}

/// The function list of one live arena.
#[derive(Debug, Default)]
pub(crate) struct ArenaFns {
    /// Bytes of the body in use (a multiple of [`FN_ALIGN`]): the next function goes here.
    pub(crate) used: usize,
    /// Functions in offset order.
    pub(crate) fns: Vec<FnMeta>,
    /// Set at seal: the final list, shared with typed handles.
    pub(crate) sealed: Option<Arc<[FnMeta]>>,
}

/// A decoded entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FnEntry {
    pub(crate) tag: u32,
    pub(crate) generation: u64,
}

/// The granule entries and function lists.
#[derive(Debug)]
pub(crate) struct FnTable {
    entries: Region,
    granules: usize,
    lists: Mutex<HashMap<usize, ArenaFns>>,
}

impl FnTable {
    /// Maps entries for a code range of `code_len` bytes.
    pub(crate) fn new(code_len: usize, page: usize) -> Result<Self, Error> {
        let granules = code_len >> FN_SHIFT;
        let bytes = granules * std::mem::size_of::<AtomicU64>();
        Ok(Self {
            entries: Region::map_rw(bytes.div_ceil(page), page)?,
            granules,
            lists: Mutex::new(HashMap::new()),
        })
    }

    fn entry(&self, granule: usize) -> &AtomicU64 {
        assert!(
            granule < self.granules,
            "granule {granule} outside the table"
        );
        // SAFETY: the region maps `granules` zero-initialised `AtomicU64`s (sized in `new`;
        // all-zero bytes are a valid atomic) for as long as `self` lives; `granule` is in
        // bounds (asserted above).
        unsafe { &*self.entries.base().cast::<AtomicU64>().add(granule) }
    }

    /// The first entry (for the call fast path; the table is never unmapped).
    pub(crate) fn base(&self) -> *mut AtomicU64 {
        self.entries.base().cast()
    }

    /// Records a function start at `granule` (Release: the code bytes written before it are
    /// visible to whoever sees the entry).
    pub(crate) fn set(&self, granule: usize, tag: u32, generation: u64) {
        self.entry(granule)
            .store(entry_value(tag, generation), Ordering::Release);
    }

    /// The function start at `granule`, if an entry was ever written there.
    #[inline]
    pub(crate) fn get(&self, granule: usize) -> Option<FnEntry> {
        if granule >= self.granules {
            return None;
        }
        let e = self.entry(granule).load(Ordering::Acquire);
        (e & START != 0).then_some(FnEntry {
            tag: e as u32,
            generation: (e >> GEN_SHIFT) & ((1 << GEN_BITS) - 1),
        })
    }

    /// Returns the entry pages covering only granules of the code pages `first..first+pages`
    /// to the OS (they read as 0, "no function", afterwards). For freed arenas whose body is
    /// discarded too, so table memory stays bounded like freed code.
    pub(crate) fn discard(&self, first: usize, pages: usize) {
        // Code pages whose entries fill one entry page (independent of the page size).
        let per_page = FN_ALIGN / std::mem::size_of::<AtomicU64>();
        let lo = first.div_ceil(per_page);
        let hi = (first + pages) / per_page;
        if hi > lo {
            let _ = self.entries.discard(lo, hi - lo);
        }
    }

    /// The function lists, locked.
    pub(crate) fn lists(&self) -> MutexGuard<'_, HashMap<usize, ArenaFns>> {
        // No code panics while holding the lock; if one ever did, the map is still valid.
        self.lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
