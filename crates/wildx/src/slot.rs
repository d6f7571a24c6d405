//! The side table: one `Slot` of atomics per arena page, and the packed state `Word`.
//!
//! Only the slot of a run's first body page (its "head") is used; all others stay zero
//! (`UNUSED`). Runs never move, merge or split, so a page is a head of runs of one size or
//! never. A `Word` packs everything a checked call needs into one `u64`, read with a single
//! acquire load: bits 0-31 the signature tag, 32-34 the state, 35 the handle-owned flag, 36 the
//! code-arena flag, 37-63 a generation bumped at every free (so Rust handles never act on a
//! newer page, and functions of a freed arena are told from those of a newer one).
//! `head` is the only field also used on non-head pages: for every body page of a run that was
//! ever a code arena it is 1 + the page distance back to the run's head (run geometry never
//! changes, so it stays right forever); 0 elsewhere.

use std::sync::atomic::{AtomicU32, AtomicU64};

/// Never allocated (or not a run head).
pub(crate) const UNUSED: u64 = 0;
/// Freed; the run is quarantined or reused later.
pub(crate) const FREE: u64 = 1;
/// Allocated, read+write.
pub(crate) const WRITABLE: u64 = 2;
/// A seal is in progress (transient; exactly one thread got here).
pub(crate) const SEALING: u64 = 3;
/// Sealed, read+execute.
pub(crate) const EXECUTABLE: u64 = 4;
/// A free is in progress (transient).
pub(crate) const FREEING: u64 = 5;
/// An install is writing bytes (transient).
pub(crate) const INSTALLING: u64 = 6;

const STATE_SHIFT: u32 = 32;
const HANDLE_BIT: u64 = 1 << 35;
const ARENA_BIT: u64 = 1 << 36;
const GEN_SHIFT: u32 = 37;
/// Bits of a generation.
pub(crate) const GEN_BITS: u32 = 64 - GEN_SHIFT;

/// Mask of the state, arena flag and tag bits of a word: a code arena's head never matches
/// [`executable_with`], so the page fast path never calls an arena as a page.
pub(crate) const STATE_AND_TAG: u64 = ARENA_BIT | (7 << STATE_SHIFT) | 0xffff_ffff;

/// The state-and-tag bits of an `EXECUTABLE` page with `tag`.
#[inline(always)]
pub(crate) const fn executable_with(tag: u32) -> u64 {
    (EXECUTABLE << STATE_SHIFT) | tag as u64
}

/// The state-and-tag bits of a sealed code arena's head word (its own tag is always 0).
pub(crate) const ARENA_EXECUTABLE: u64 = ARENA_BIT | (EXECUTABLE << STATE_SHIFT);

/// The packed per-slot state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    pub(crate) fn new(generation: u64, state: u64, handle: bool, tag: u32) -> Self {
        Word(
            (generation << GEN_SHIFT)
                | (u64::from(handle) * HANDLE_BIT)
                | (state << STATE_SHIFT)
                | u64::from(tag),
        )
    }
    /// This word with the code-arena flag set.
    pub(crate) fn as_arena(self) -> Self {
        Word(self.0 | ARENA_BIT)
    }
    /// Whether the run is a code arena (many functions) rather than a page.
    pub(crate) fn arena(self) -> bool {
        self.0 & ARENA_BIT != 0
    }
    pub(crate) fn tag(self) -> u32 {
        self.0 as u32
    }
    pub(crate) fn state(self) -> u64 {
        (self.0 >> STATE_SHIFT) & 7
    }
    pub(crate) fn handle(self) -> bool {
        self.0 & HANDLE_BIT != 0
    }
    pub(crate) fn generation(self) -> u64 {
        self.0 >> GEN_SHIFT
    }
    pub(crate) fn with_state(self, state: u64) -> Self {
        Word((self.0 & !(7 << STATE_SHIFT)) | (state << STATE_SHIFT))
    }
    pub(crate) fn with_tag(self, tag: u32) -> Self {
        Word((self.0 & !0xffff_ffff) | u64::from(tag))
    }
    pub(crate) fn without_handle(self) -> Self {
        Word(self.0 & !HANDLE_BIT)
    }
    /// The word of this slot after a free: `FREE`, next generation, no tag, no owner, no
    /// arena flag.
    pub(crate) fn freed(self) -> Self {
        let next = (self.generation() + 1) & ((1 << GEN_BITS) - 1);
        Word::new(next, FREE, false, 0)
    }
}

/// Metadata of one run head. All-zero bytes are a valid `UNUSED` slot.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct Slot {
    /// The packed [`Word`].
    pub(crate) word: AtomicU64,
    /// Hash of the body: recorded at seal (while `EXECUTABLE`), or by `install`
    /// for the installed bytes its tag vouches for (while `WRITABLE`).
    pub(crate) hash: AtomicU64,
    /// Body pages (written before the word turns `WRITABLE`).
    pub(crate) body_pages: AtomicU32,
    /// Guard pages before the body (0 or 1).
    pub(crate) lead: AtomicU32,
    /// Pages of the whole run, guards included.
    pub(crate) run_pages: AtomicU32,
    /// On every body page of a run ever used as a code arena: 1 + distance to its head page.
    pub(crate) head: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32, "slots stay 32 bytes");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_fields_round_trip() {
        let w = Word::new(0xABCDEF, EXECUTABLE, true, 0x1121);
        assert_eq!(
            (w.generation(), w.state(), w.handle(), w.tag()),
            (0xABCDEF, EXECUTABLE, true, 0x1121)
        );
        let f = w.freed();
        assert_eq!(
            (f.generation(), f.state(), f.handle(), f.tag()),
            (0xABCDF0, FREE, false, 0)
        );
        let a = Word::new(5, WRITABLE, false, 0).as_arena();
        assert!(a.arena() && a.with_state(EXECUTABLE).arena() && !a.freed().arena());
        assert_eq!(a.generation(), 5);
        assert_ne!(
            a.with_state(EXECUTABLE).0 & STATE_AND_TAG,
            executable_with(0),
            "an arena head never passes as a page"
        );
        let max = Word::new((1 << GEN_BITS) - 1, WRITABLE, false, u32::MAX);
        assert_eq!(max.freed().generation(), 0);
        assert_eq!(max.with_state(SEALING).tag(), u32::MAX);
        assert_eq!(max.with_tag(7).state(), WRITABLE);
    }
}
