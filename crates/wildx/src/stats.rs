//! Statistics and the quota: process-wide counters updated under the allocator lock and
//! readable at any time without it.
//!
//! "Mapped bytes" are the bytes of live allocations, guard pages included; freed runs kept
//! for reuse and the untouched reservation are not counted. All arithmetic is checked or
//! saturating, so no quota value (including `usize::MAX`) can overflow it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::options::options;

/// A snapshot of the allocator statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Stats {
    /// Bytes mapped by live allocations now (guard pages included).
    pub mapped_bytes: u64,
    /// The highest `mapped_bytes` seen.
    pub peak_bytes: u64,
    /// Live allocations now.
    pub live_allocations: u64,
    /// Allocations ever made.
    pub total_allocations: u64,
    /// Frees ever made.
    pub total_frees: u64,
}

pub(crate) static MAPPED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static FREES: AtomicU64 = AtomicU64::new(0);
static QUOTA: AtomicUsize = AtomicUsize::new(0);
static QUOTA_SET: AtomicBool = AtomicBool::new(false);

/// The statistics now.
#[must_use]
pub fn stats() -> Stats {
    Stats {
        mapped_bytes: MAPPED.load(Ordering::Relaxed) as u64,
        peak_bytes: PEAK.load(Ordering::Relaxed) as u64,
        live_allocations: LIVE.load(Ordering::Relaxed),
        total_allocations: ALLOCS.load(Ordering::Relaxed),
        total_frees: FREES.load(Ordering::Relaxed),
    }
}

/// Sets the process-wide quota in bytes (mapped bytes of live allocations, guard pages
/// included). Lowering it below what is mapped now frees nothing; later allocations fail.
pub fn set_quota(bytes: usize) {
    QUOTA.store(bytes, Ordering::Relaxed);
    QUOTA_SET.store(true, Ordering::Release);
}

/// The quota in force: the last [`set_quota`], else `NPK_WILDX_QUOTA`, else 64 MiB.
#[must_use]
pub fn quota() -> usize {
    if QUOTA_SET.load(Ordering::Acquire) {
        QUOTA.load(Ordering::Relaxed)
    } else {
        options().initial_quota
    }
}

/// Reserves `bytes` against the quota. Must be called with the allocator lock held.
/// Returns `(mapped_before, quota)` on refusal.
pub(crate) fn charge(bytes: usize) -> Result<(), (usize, usize)> {
    let mapped = MAPPED.load(Ordering::Relaxed);
    let limit = quota();
    match mapped.checked_add(bytes) {
        Some(total) if total <= limit => {
            MAPPED.store(total, Ordering::Relaxed);
            PEAK.fetch_max(total, Ordering::Relaxed);
            LIVE.fetch_add(1, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        _ => Err((mapped, limit)),
    }
}

/// Gives `bytes` back after a failed allocation. Must be called with the allocator lock held.
pub(crate) fn uncharge(bytes: usize) {
    MAPPED.store(
        MAPPED.load(Ordering::Relaxed).saturating_sub(bytes),
        Ordering::Relaxed,
    );
    LIVE.fetch_sub(1, Ordering::Relaxed);
    ALLOCS.fetch_sub(1, Ordering::Relaxed);
}

/// Records a free of `bytes`. Must be called with the allocator lock held.
pub(crate) fn release(bytes: usize) {
    MAPPED.store(
        MAPPED.load(Ordering::Relaxed).saturating_sub(bytes),
        Ordering::Relaxed,
    );
    LIVE.fetch_sub(1, Ordering::Relaxed);
    FREES.fetch_add(1, Ordering::Relaxed);
}
