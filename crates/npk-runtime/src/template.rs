//! Storage of template strings built at run time (`` `x = &{x}` `` used as a `string` value).
//!
//! The compiler owns these strings; programs never release them. Each string is tagged with a
//! *region*: a per-thread id from [`npk_str_scope`], increasing monotonically. Compiled code
//! opens a region for each statement, block or function that can create strings, and
//! [`npk_str_release`]`(r)` frees every string of this thread tagged `r` or later — every
//! region opened after `r` is nested in it or already over, so this never frees a string of
//! an enclosing region. [`npk_str_retag`] moves a string to an older region (lower tag) so it
//! outlives the region that made it (a `string` binding declared in an outer block, a value
//! passed to the caller). `npk_exit` releases everything. Build a string with
//! [`npk_str_begin`], the `npk_str_push_*` exports and [`npk_str_finish`].
//!
//! The exports live here rather than in `abi.rs`, like `jit_compile.rs`'s, so the string
//! storage and its C ABI stay in one file.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};

/// The strings of one thread: `(string, region)`, and the last region id handed out.
#[derive(Default)]
struct Store {
    live: Vec<(*mut c_char, u64)>,
    last_region: u64,
}

impl Drop for Store {
    fn drop(&mut self) {
        release_from(&mut self.live, 0);
    }
}

thread_local! {
    static STORE: RefCell<Store> = RefCell::new(Store::default());
}

/// Frees every string tagged `region` or later.
fn release_from(live: &mut Vec<(*mut c_char, u64)>, region: u64) {
    live.retain(|&(p, tag)| {
        if tag >= region {
            // SAFETY: `p` came from `CString::into_raw` in `npk_str_finish` and is in the
            // store exactly once; it is removed from the store as it is freed.
            drop(unsafe { CString::from_raw(p) });
            false
        } else {
            true
        }
    });
}

/// Frees every template string of this thread (called by `npk_exit`).
pub(crate) fn release_all() {
    let _ = STORE.try_with(|s| release_from(&mut s.borrow_mut().live, 0));
}

/// A string being built: the bytes so far (no NUL).
#[derive(Debug, Default)]
pub struct Builder(Vec<u8>);

fn push(b: *mut Builder, bytes: &[u8]) {
    // SAFETY: `b` is NULL or the live builder from `npk_str_begin` (caller's contract),
    // used by one thread at a time.
    if let Some(b) = unsafe { b.as_mut() } {
        b.0.extend(bytes.iter().filter(|&&c| c != 0));
    }
}

/// Opens a new region on this thread and returns its id (never 0). Thread-local, no lock.
#[unsafe(no_mangle)]
pub extern "C" fn npk_str_scope() -> u64 {
    STORE
        .try_with(|s| {
            let mut s = s.borrow_mut();
            s.last_region += 1;
            s.last_region
        })
        .unwrap_or(u64::MAX)
}

/// Frees every template string of this thread tagged `region` or later (the region and
/// every region opened after it). Pointers to them dangle afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn npk_str_release(region: u64) {
    let _ = STORE.try_with(|s| release_from(&mut s.borrow_mut().live, region));
}

/// If `p` is a live template string of this thread tagged later than `region`, tags it
/// `region`, so it lives as long as that region. Any other pointer (a literal, NULL, a
/// string from C) is left alone.
#[unsafe(no_mangle)]
pub extern "C" fn npk_str_retag(p: *const c_char, region: u64) {
    if p.is_null() {
        return;
    }
    let _ = STORE.try_with(|s| {
        let mut s = s.borrow_mut();
        if let Some(entry) = s.live.iter_mut().rev().find(|(q, _)| q.cast_const() == p)
            && entry.1 > region
        {
            entry.1 = region;
        }
    });
}

/// Live template strings of this thread (for leak tests: compiled code releases every one
/// it makes, so this returns to its earlier value when the regions that made them end).
#[unsafe(no_mangle)]
pub extern "C" fn npk_str_live() -> u64 {
    STORE
        .try_with(|s| s.borrow().live.len() as u64)
        .unwrap_or(0)
}

/// Starts building a string. Finish it with [`npk_str_finish`], which frees the builder.
#[unsafe(no_mangle)]
pub extern "C" fn npk_str_begin() -> *mut Builder {
    Box::into_raw(Box::default())
}

/// Appends a NUL-terminated string (`(null)` for NULL).
///
/// # Safety
/// `b` is NULL or a builder from [`npk_str_begin`] not yet finished; `s` is NULL or a
/// NUL-terminated string valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_str_push_cstr(b: *mut Builder, s: *const c_char) {
    if s.is_null() {
        push(b, b"(null)");
    } else {
        // SAFETY: non-null and NUL-terminated by the caller's contract.
        push(b, unsafe { CStr::from_ptr(s) }.to_bytes());
    }
}

/// Appends a signed integer in decimal.
///
/// # Safety
/// `b` is NULL or a builder from [`npk_str_begin`] not yet finished.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_str_push_i64(b: *mut Builder, v: i64) {
    push(b, v.to_string().as_bytes());
}

/// Appends an unsigned integer in decimal.
///
/// # Safety
/// `b` is NULL or a builder from [`npk_str_begin`] not yet finished.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_str_push_u64(b: *mut Builder, v: u64) {
    push(b, v.to_string().as_bytes());
}

/// Appends `true` (nonzero) or `false` (zero).
///
/// # Safety
/// `b` is NULL or a builder from [`npk_str_begin`] not yet finished.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_str_push_bool(b: *mut Builder, v: i32) {
    push(b, crate::print::bool_text(v).as_bytes());
}

/// Ends building: frees the builder and returns the NUL-terminated string, owned by this
/// thread's store and tagged `region` (see the module docs). NULL only if `b` is NULL.
///
/// # Safety
/// `b` is NULL or a builder from [`npk_str_begin`] not yet finished; it is consumed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_str_finish(b: *mut Builder, region: u64) -> *const c_char {
    if b.is_null() {
        return std::ptr::null();
    }
    // SAFETY: from `Box::into_raw` in `npk_str_begin`, not yet finished (caller's contract).
    let bytes = unsafe { Box::from_raw(b) }.0;
    // `push` drops NUL bytes, so this cannot fail; an empty string is the fallback anyway.
    let p = CString::new(bytes).unwrap_or_default().into_raw();
    let stored = STORE.try_with(|s| s.borrow_mut().live.push((p, region)));
    if stored.is_err() {
        // The thread is exiting: nothing would ever release it.
        // SAFETY: just made by `into_raw`, not shared.
        drop(unsafe { CString::from_raw(p) });
        return c"".as_ptr();
    }
    p
}
