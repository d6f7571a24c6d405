//! The C exports of the garbage collector (`npk_gc_*`, `npk_shadow_stack_*`), thin
//! wrappers over `npk_gc::global`: each checks its arguments, runs on the process heap and
//! returns a status (`NPK_GC_OK` = 0 or an `NPK_GC_ERR_*` code from `npk_gc::ErrorKind`),
//! never letting a panic into C. No export dereferences an object pointer the heap has not
//! proven to be a live object start; `out` pointers are written only on success.
//! Thread model (docs/gc.md): the first thread to call any of these (except the statistics
//! and `npk_gc_request_collect`) is the heap's only mutator until `npk_gc_detach_thread`;
//! other threads get `NPK_GC_ERR_WRONG_THREAD`.

use std::cell::Cell;
use std::ffi::c_void;

use npk_gc::{ErrorKind, Kind, global};

use crate::abi::guard;

thread_local! {
    static LAST_ALLOC: Cell<i32> = const { Cell::new(0) };
}

/// Status code of a heap result; a panic inside the heap poisons it (`Busy`).
fn status(r: npk_gc::Result<npk_gc::Result<()>>) -> i32 {
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(e)) | Err(e) => e.code(),
    }
}

fn run(f: impl FnOnce(&mut npk_gc::Heap) -> npk_gc::Result<()>) -> i32 {
    guard(ErrorKind::Busy.code(), || status(global::with_heap(f)))
}

fn alloc(kind: Kind, n: i64) -> *mut c_void {
    let r = guard(Err(ErrorKind::Busy.code()), || {
        match global::with_heap(|h| match kind {
            Kind::Ints => h.alloc_ints(n),
            Kind::Refs => h.alloc_refs(n),
        }) {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(e)) | Err(e) => Err(e.code()),
        }
    });
    LAST_ALLOC.with(|c| c.set(r.err().unwrap_or(0)));
    r.map_or(std::ptr::null_mut(), |p| p as *mut c_void)
}

/// A zero-filled array of `n` int64 elements on the gc heap; NULL on failure (the reason
/// from [`npk_gc_last_status`]). May collect first: unrooted object pointers held by the
/// caller are stale afterwards. Mutator thread only.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_alloc_ints(n: i64) -> *mut c_void {
    alloc(Kind::Ints, n)
}

/// An array of `n` NULL gc references; otherwise as [`npk_gc_alloc_ints`].
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_alloc_refs(n: i64) -> *mut c_void {
    alloc(Kind::Refs, n)
}

/// Status of this thread's last `npk_gc_alloc_*` call (0 if it succeeded). Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_last_status() -> i32 {
    LAST_ALLOC.with(Cell::get)
}

/// 1 if `p` is the start of a live object of the heap, else 0 (also from a thread that is
/// not the mutator). Never reads `*p`.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_is_heap_pointer_i32(p: *const c_void) -> i32 {
    guard(0, || {
        global::with_heap(|h| i32::from(h.is_object(p as usize))).unwrap_or(0)
    })
}

/// The element count of `obj`, or -1 if it is not a live object (or wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_length(obj: *const c_void) -> i64 {
    guard(-1, || match global::with_heap(|h| h.len(obj as usize)) {
        Ok(Ok(n)) => n as i64,
        _ => -1,
    })
}

/// `NPK_GC_KIND_INTS` (1), `NPK_GC_KIND_REFS` (2), or 0 if `obj` is not a live object.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_kind(obj: *const c_void) -> i32 {
    guard(0, || match global::with_heap(|h| h.kind(obj as usize)) {
        Ok(Ok(Kind::Ints)) => 1,
        Ok(Ok(Kind::Refs)) => 2,
        _ => 0,
    })
}

/// Reads element `i` of the int array `obj` into `*out`. Returns 0 or
/// `NPK_GC_ERR_NOT_OBJECT` / `_WRONG_KIND` / `_BOUNDS` / `_NULL` (out) / `_WRONG_THREAD`.
///
/// # Safety
/// `out` is NULL (refused) or valid for one `int64_t` write. `obj` may be anything.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_gc_get_int(obj: *const c_void, i: i64, out: *mut i64) -> i32 {
    if out.is_null() {
        return ErrorKind::Null.code();
    }
    run(|h| {
        let v = h.get_int(obj as usize, i)?;
        // SAFETY: non-null, and the caller guarantees it is valid for one write.
        unsafe { out.write(v) };
        Ok(())
    })
}

/// Sets element `i` of the int array `obj`. Returns 0 or an `NPK_GC_ERR_*` code.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_set_int(obj: *mut c_void, i: i64, v: i64) -> i32 {
    run(|h| h.set_int(obj as usize, i, v))
}

/// Reads element `i` of the reference array `obj` (NULL or an object) into `*out`.
/// Returns 0 or an `NPK_GC_ERR_*` code.
///
/// # Safety
/// `out` is NULL (refused) or valid for one pointer write. `obj` may be anything.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_gc_get_ref(obj: *const c_void, i: i64, out: *mut *mut c_void) -> i32 {
    if out.is_null() {
        return ErrorKind::Null.code();
    }
    run(|h| {
        let v = h.get_ref(obj as usize, i)?;
        // SAFETY: non-null, and the caller guarantees it is valid for one write.
        unsafe { out.write(v as *mut c_void) };
        Ok(())
    })
}

/// Stores `v` (NULL or a live object) into element `i` of the reference array `obj`, with
/// the write barrier. Returns 0, or `NPK_GC_ERR_NOT_REFERENCE` for any other `v` (wild
/// pointers can never enter a reference array), or another `NPK_GC_ERR_*` code.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_set_ref(obj: *mut c_void, i: i64, v: *mut c_void) -> i32 {
    run(|h| h.set_ref(obj as usize, i, v as usize))
}

/// Registers `slot` (anywhere: stack, `wild` or JIT data memory) as a root: collections
/// read it and rewrite it when its object moves; values that are not live objects are left
/// alone and never followed. Returns 0, `NPK_GC_ERR_NULL`, `_MISALIGNED`,
/// `_ALREADY_ROOTED` or `_WRONG_THREAD`.
///
/// # Safety
/// Until [`npk_shadow_stack_remove_root`], `slot` must stay valid for 8-byte reads and
/// writes on the mutator thread (a slot in freed memory is the caller's use after free).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_shadow_stack_add_root(slot: *mut *mut c_void) -> i32 {
    // SAFETY: the caller's contract above is `add_root`'s.
    run(|h| unsafe { h.add_root(slot.cast()) })
}

/// Unregisters a slot; never reads it. Returns 0, `NPK_GC_ERR_NULL`, `_MISALIGNED`,
/// `_NOT_ROOTED` (never registered, or removed already) or `_WRONG_THREAD`.
#[unsafe(no_mangle)]
pub extern "C" fn npk_shadow_stack_remove_root(slot: *mut *mut c_void) -> i32 {
    run(|h| h.remove_root(slot.cast()))
}

/// Pushes a shadow-stack frame: `n` consecutive pointer slots at `slots` (in the caller's
/// stack frame, zeroed by the caller) are roots until the matching [`npk_gc_pop_frame`].
/// O(1), no allocation per frame. Returns 0, `NPK_GC_ERR_BAD_SIZE`, `_NULL`, `_MISALIGNED`,
/// `_FRAMES` (deeper than 2^20 frames) or `_WRONG_THREAD`.
///
/// # Safety
/// The slots stay valid until the frame is popped and hold NULL or values the collector
/// may ignore (non-objects) or rewrite (objects).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_gc_push_frame(slots: *mut *mut c_void, n: i64) -> i32 {
    // SAFETY: the caller's contract above is `push_frame`'s.
    run(|h| unsafe { h.push_frame(slots.cast(), n) })
}

/// Pops the top frame, which must be the one pushed with `slots`. Returns 0,
/// `NPK_GC_ERR_FRAME` (not the top frame or empty stack; nothing is popped) or
/// `_WRONG_THREAD`.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_pop_frame(slots: *mut *mut c_void) -> i32 {
    run(|h| h.pop_frame(slots.cast()))
}

/// A full collection (every nursery survivor moves). Returns 0 or `NPK_GC_ERR_WRONG_THREAD`.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_collect() -> i32 {
    run(|h| {
        h.collect();
        Ok(())
    })
}

/// A nursery collection. Returns 0 or `NPK_GC_ERR_WRONG_THREAD`.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_collect_nursery() -> i32 {
    run(|h| {
        h.collect_nursery();
        Ok(())
    })
}

/// Runs a collection requested with [`npk_gc_request_collect`], if any. Returns 0 or
/// `NPK_GC_ERR_WRONG_THREAD`.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_safepoint() -> i32 {
    run(|h| {
        h.safepoint();
        Ok(())
    })
}

/// Asks the mutator for a full collection at its next safepoint or allocation. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_request_collect() {
    global::request_collection();
}

/// The JIT helper that collects (`gc_collect`, signature `int64()` in the helper table):
/// a full collection; returns 0 or `NPK_GC_ERR_WRONG_THREAD`. A plain SysV function that
/// clobbers only caller-saved registers, never unwinds, and may be called with any
/// 16-byte-aligned `rsp`. JIT code must root every gc value it holds across this call with
/// `npk_shadow_stack_add_root`: the object moves and only registered slots are rewritten.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_collect_helper() -> i64 {
    i64::from(npk_gc_collect())
}

/// Gives up the heap so another thread may become its mutator. Returns 0,
/// `NPK_GC_ERR_WRONG_THREAD`, or `NPK_GC_ERR_FRAMES` while frames are pushed.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_detach_thread() -> i32 {
    guard(ErrorKind::Busy.code(), || match global::detach() {
        Ok(()) => 0,
        Err(e) => e.code(),
    })
}

/// Nursery collections so far (full ones start with one). Any thread (see docs/gc.md).
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_stat_minor_collections() -> u64 {
    guard(0, || global::stats().minor_collections)
}

/// Full collections so far. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_stat_major_collections() -> u64 {
    guard(0, || global::stats().major_collections)
}

/// Highest footprint: both nursery semispaces plus old-space bytes. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_stat_peak_bytes() -> u64 {
    guard(0, || global::stats().peak_bytes)
}

/// Object bytes right after the last collection (the exact live set after a full one).
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_stat_live_bytes() -> u64 {
    guard(0, || global::stats().live_bytes)
}

/// Object bytes now, garbage not yet collected included.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_stat_used_bytes() -> u64 {
    guard(0, || global::stats().used_bytes)
}

/// Bytes ever allocated.
#[unsafe(no_mangle)]
pub extern "C" fn npk_gc_stat_allocated_bytes() -> u64 {
    guard(0, || global::stats().allocated_bytes)
}
