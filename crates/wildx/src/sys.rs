//! Operating-system layer: raw page mapping calls and the instruction-cache hook.
//!
//! `unix` makes the `mmap`/`mprotect`/`madvise`/`munmap` calls and nothing else; it is the
//! only module of the crate that touches `libc`. This file counts the calls (for tests and the
//! benchmark) and holds `flush_icache`, the hook `seal` calls after every `mprotect` to
//! read+execute.

mod unix;

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use unix::{Prot, page_size};

static OS_CALLS: AtomicU64 = AtomicU64::new(0);

/// Number of `mmap`/`mprotect`/`madvise`/`munmap` calls this process made through the crate.
#[doc(hidden)]
#[must_use]
pub fn os_calls() -> u64 {
    OS_CALLS.load(Ordering::Relaxed)
}

fn count() {
    OS_CALLS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn reserve(len: usize) -> Result<NonNull<u8>, i32> {
    count();
    unix::reserve(len)
}

pub(crate) fn map_rw(len: usize) -> Result<NonNull<u8>, i32> {
    count();
    unix::map_rw(len)
}

/// # Safety
/// See [`unix::protect`].
pub(crate) unsafe fn protect(addr: *mut u8, len: usize, prot: Prot) -> Result<(), i32> {
    count();
    // SAFETY: forwarded contract.
    unsafe { unix::protect(addr, len, prot) }
}

/// # Safety
/// See [`unix::discard`].
pub(crate) unsafe fn discard(addr: *mut u8, len: usize) -> Result<(), i32> {
    count();
    // SAFETY: forwarded contract.
    unsafe { unix::discard(addr, len) }
}

/// # Safety
/// See [`unix::unmap`].
pub(crate) unsafe fn unmap(addr: *mut u8, len: usize) -> Result<(), i32> {
    count();
    // SAFETY: forwarded contract.
    unsafe { unix::unmap(addr, len) }
}

/// Makes freshly written code visible to instruction fetch for `len` bytes at `addr`.
///
/// On x86-64 the instruction cache is coherent with data writes, so this does nothing; it is
/// still called after every seal so that a port to an architecture with split caches (AArch64)
/// has exactly one place to add the flush.
#[inline]
pub(crate) fn flush_icache(addr: *const u8, len: usize) {
    let _ = (addr, len);
}
