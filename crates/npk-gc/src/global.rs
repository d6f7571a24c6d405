//! The process heap behind the C ABI, and its thread model: one mutator thread at a time.
//!
//! The first thread that calls [`with_heap`] becomes the heap's mutator; a call from any
//! other thread is refused with `WrongThread` (no lock is taken on the fast path: one
//! thread-local read and one atomic load). [`detach`] hands the heap back (refused while
//! shadow-stack frames are pushed, since they live in the mutator's stack), after which the
//! next caller becomes the mutator. [`request_collection`] and [`stats`] work from any
//! thread: the request is an atomic flag the mutator honours at its next safepoint or the
//! next collection an allocation starts, and the counters are published atomically after
//! every collection.
//! A nested [`with_heap`] (or one after a panic inside the heap) is refused with `Busy`.

use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::heap::{Config, Heap, Stats};

/// The process heap; only the owner thread (see module docs) ever touches it.
struct Slot {
    heap: UnsafeCell<Option<Heap>>,
    busy: Cell<bool>,
}

// SAFETY: `heap` and `busy` are accessed only by the thread whose id is in `OWNER` (claimed
// by compare-and-swap with Acquire, released with Release in `detach`), so there is never
// concurrent access, and every hand-over is ordered by those atomics. `Heap` is `!Send` only
// to keep an embedder's heap on its thread; it holds no thread-bound state (no
// thread-locals, only memory blocks and addresses), so the ordered hand-over is sound.
unsafe impl Sync for Slot {}

static SLOT: Slot = Slot {
    heap: UnsafeCell::new(None),
    busy: Cell::new(false),
};
static OWNER: AtomicU64 = AtomicU64::new(0);
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Published counters, readable from any thread.
static PUBLISHED: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

thread_local! {
    static ME: Cell<u64> = const { Cell::new(0) };
}

/// This thread's id (never 0), or `None` while its thread-locals are being destroyed.
fn me() -> Option<u64> {
    ME.try_with(|c| {
        if c.get() == 0 {
            c.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        c.get()
    })
    .ok()
}

/// Makes this thread the mutator if the heap has none; `WrongThread` if another has it
/// (or if the thread is exiting and has no id any more).
fn claim() -> Result<()> {
    let me = me().ok_or(Error::new(ErrorKind::WrongThread))?;
    let owner = OWNER.load(Ordering::Acquire);
    if owner == me {
        return Ok(());
    }
    if owner == 0
        && OWNER
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Acquire)
            .is_ok()
    {
        return Ok(());
    }
    Err(Error::new(ErrorKind::WrongThread))
}

/// Runs `f` on the process heap (created on first use with [`Config::from_env`]).
///
/// # Errors
/// `WrongThread` from a thread that is not the mutator, `Busy` when nested or after a panic
/// inside an earlier call, `OutOfMemory` if the heap cannot be created.
#[inline]
pub fn with_heap<R>(f: impl FnOnce(&mut Heap) -> R) -> Result<R> {
    claim()?;
    if SLOT.busy.replace(true) {
        return Err(Error::new(ErrorKind::Busy));
    }
    // SAFETY: this thread owns the heap (`claim`) and `busy` rules out a second `&mut`
    // alive at the same time on this thread.
    let slot = unsafe { &mut *SLOT.heap.get() };
    let heap = match slot {
        Some(h) => h,
        None => match Heap::new(Config::from_env()) {
            Ok(h) => slot.insert(h),
            Err(e) => {
                SLOT.busy.set(false);
                return Err(e);
            }
        },
    };
    if REQUESTED.load(Ordering::Relaxed) && REQUESTED.swap(false, Ordering::Relaxed) {
        heap.request_collection();
    }
    let before = heap.stats.minor_collections;
    let r = f(heap);
    if heap.stats.minor_collections != before {
        publish(&heap.stats());
    }
    // Left set if `f` panicked: the heap may be inconsistent, so later calls get `Busy`.
    SLOT.busy.set(false);
    Ok(r)
}

fn publish(s: &Stats) {
    let values = [
        s.minor_collections,
        s.major_collections,
        s.live_bytes,
        s.used_bytes,
        s.peak_bytes,
        s.allocated_bytes,
    ];
    for (a, v) in PUBLISHED.iter().zip(values) {
        a.store(v, Ordering::Relaxed);
    }
}

/// Asks the mutator for a full collection at its next safepoint (any thread).
pub fn request_collection() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Counters: exact (and republished) on the mutator thread; elsewhere the values published
/// at the end of the last collection or the mutator's last `stats` call. Never makes the
/// calling thread the mutator.
#[must_use]
pub fn stats() -> Stats {
    let mine = me().is_some_and(|me| OWNER.load(Ordering::Acquire) == me);
    if mine && let Ok(s) = with_heap(|h| h.stats()) {
        publish(&s);
        return s;
    }
    let v: Vec<u64> = PUBLISHED
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .collect();
    Stats {
        minor_collections: v[0],
        major_collections: v[1],
        live_bytes: v[2],
        used_bytes: v[3],
        peak_bytes: v[4],
        allocated_bytes: v[5],
        ..Stats::default()
    }
}

/// Whether the calling thread is (or may become) the heap's mutator.
#[must_use]
pub fn is_mutator() -> bool {
    let owner = OWNER.load(Ordering::Acquire);
    owner == 0 || Some(owner) == me()
}

/// Gives up the heap so another thread may become its mutator. The heap, its objects and
/// registered roots stay; a thread that is not the mutator is refused.
///
/// # Errors
/// `WrongThread` from another thread; `FramesPushed` while shadow-stack frames are pushed;
/// `Busy` when nested.
pub fn detach() -> Result<()> {
    let depth = with_heap(|h| h.frame_depth())?;
    if depth != 0 {
        return Err(Error::new(ErrorKind::FramesPushed));
    }
    OWNER.store(0, Ordering::Release);
    Ok(())
}
