//! The only module that touches memory by address: word loads and stores, copies, and the
//! aligned blocks the spaces are made of. Everything above it passes addresses that it
//! proved are inside a block it owns (or a slot its caller registered under a `# Safety`
//! contract); the asserts here catch a violation of that in debug builds.

use std::alloc::{Layout, alloc_zeroed, dealloc};

/// An owned, zero-filled, `align`-aligned block of memory from the global allocator.
#[derive(Debug)]
pub(crate) struct Block {
    base: usize,
    layout: Layout,
}

impl Block {
    /// A zeroed block of `bytes` (> 0), or `None` if the allocator refuses.
    pub(crate) fn new(bytes: usize, align: usize) -> Option<Block> {
        let layout = Layout::from_size_align(bytes.max(1), align).ok()?;
        // SAFETY: the layout has a non-zero size (`max(1)` above).
        let p = unsafe { alloc_zeroed(layout) };
        (!p.is_null()).then(|| Block {
            base: p as usize,
            layout,
        })
    }

    pub(crate) fn base(&self) -> usize {
        self.base
    }

    pub(crate) fn bytes(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: `base` came from `alloc_zeroed` with exactly this layout and is freed once.
        unsafe { dealloc(self.base as *mut u8, self.layout) }
    }
}

/// Reads the word at `addr`.
///
/// # Safety
/// `addr` is 8-aligned and valid for an 8-byte read (inside a live object of a space, or a
/// registered root slot whose owner promised it stays valid while registered).
#[inline(always)]
pub(crate) unsafe fn load(addr: usize) -> u64 {
    debug_assert!(addr.is_multiple_of(8) && addr != 0);
    // SAFETY: the caller's contract above.
    unsafe { (addr as *const u64).read() }
}

/// Writes the word at `addr`.
///
/// # Safety
/// As [`load`], for an 8-byte write.
#[inline(always)]
pub(crate) unsafe fn store(addr: usize, value: u64) {
    debug_assert!(addr.is_multiple_of(8) && addr != 0);
    // SAFETY: the caller's contract above.
    unsafe { (addr as *mut u64).write(value) }
}

/// Copies `bytes` from `from` to `to` (non-overlapping).
///
/// # Safety
/// Both ranges are valid, 8-aligned and disjoint.
#[inline(always)]
pub(crate) unsafe fn copy(from: usize, to: usize, bytes: usize) {
    // SAFETY: the caller's contract above.
    unsafe { std::ptr::copy_nonoverlapping(from as *const u8, to as *mut u8, bytes) }
}

/// Zero-fills `bytes` at `addr`.
///
/// # Safety
/// The range is valid for writes.
#[inline(always)]
pub(crate) unsafe fn zero(addr: usize, bytes: usize) {
    // SAFETY: the caller's contract above.
    unsafe { std::ptr::write_bytes(addr as *mut u8, 0, bytes) }
}
