//! Every C export of the runtime (`include/npk_runtime.h` declares exactly these).
//!
//! Rules kept by each export: check the arguments, call safe Rust (`wildx`, `jit`, `print`),
//! return a status code, and never let a panic unwind into C (`guard` turns one into the
//! documented failure value). All exports are thread-safe unless stated otherwise.
//! Ownership: pages from `npk_wildx_alloc` belong to the registry until `npk_wildx_free`;
//! code arenas from `npk_wildx_arena_create` until `npk_wildx_arena_free`, and the functions
//! `npk_jit_arena_add` returns belong to their arena (never freed on their own); memory from
//! `npk_alloc` belongs to the caller until `npk_free`.

use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::jit::{self, TAG_I32_I32};
use crate::jit_compile::{code_and_sig, report_compile_refusal, set_last_error};
use crate::print;

/// Runs `f`; if it panics, returns `fallback` instead of unwinding into C.
#[inline(always)]
pub(crate) fn guard<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// `wildx_alloc`: a zero-filled, read+write, never executable page run of at least `n` bytes,
/// rounded up to whole pages.
///
/// Returns NULL (and prints a rejection line) for `n == 0`, sizes that overflow when rounded,
/// an exceeded quota, or an OS failure. The caller owns the page until `npk_wildx_free`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_alloc(n: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || match wildx::alloc_raw(n) {
        Ok(p) => {
            crate::pages::allocated(p.as_ptr().cast(), n);
            p.as_ptr().cast()
        }
        Err(e) => {
            jit::refused("alloc", &n, &e);
            std::ptr::null_mut()
        }
    })
}

/// `wildx_seal`: makes the page read+execute (never writable again) and records its hash.
/// Returns 0, or -1 if `p` is NULL, foreign, freed, already sealed, or `mprotect` failed.
///
/// # Safety
/// `p` may be any value, including NULL or a dangling pointer: it is looked up in the
/// registry before use. Thread-safe: of concurrent seals of one page exactly one returns 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_wildx_seal(p: *mut c_void) -> i32 {
    guard(-1, || match wildx::seal_raw(p.cast()) {
        Ok(()) => {
            crate::pages::sealed(p);
            0
        }
        Err(e) => {
            jit::rejected("seal", p, e);
            -1
        }
    })
}

/// `wildx_free`: releases the page; it is never executable again. Returns 0, or -1 if `p` is
/// NULL, foreign or already freed (also for a stale pointer whose address was not yet reused).
///
/// # Safety
/// `p` may be any value; it is looked up in the registry before use. The caller must not use
/// the page (or function pointers into it) afterwards. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_wildx_free(p: *mut c_void) -> i32 {
    guard(-1, || match wildx::free_raw(p.cast()) {
        Ok(()) => {
            crate::pages::freed(p);
            0
        }
        Err(e) => {
            jit::rejected("free", p, e);
            -1
        }
    })
}

/// Writes `89 f8 01 f0 c3` (`mov eax, edi; add eax, esi; ret`) at the start of the WRITABLE
/// page `p` and records the signature `int32(int32,int32)` (tag 0x1121). Returns 0, or -1
/// unless `p` is a writable page of ours.
///
/// # Safety
/// `p` may be any value; nothing is written unless it is a writable registry page. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_install_add_i32(p: *mut c_void) -> i32 {
    guard(-1, || {
        if jit::install_add_i32(p).is_ok() {
            0
        } else {
            -1
        }
    })
}

/// Calls `p` as `int32(int32, int32)`. Refuses (stderr line, returns 0) a page that is not
/// sealed, freed, not ours, or whose recorded signature differs from `int32(int32,int32)`
/// (with `NPK_JIT_STRICT=1` also an unsigned page, with `NPK_WILDX_VERIFY=1` also code whose
/// hash changed since seal). The check is lock-free.
///
/// # Safety
/// `p` may be any value; it is checked before the call. A page sealed by hand without a
/// signature is called on the caller's word that it implements `int32(int32,int32)`. Calling
/// concurrently with a free of the same page is a use-after-free by the caller.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_call_i32_i32(p: *mut c_void, a: i32, b: i32) -> i32 {
    match wildx::quick_entry(p.cast(), TAG_I32_I32) {
        Some(entry) => jit::call_entry(entry, a, b),
        None => jit::call_i32_i32_or_zero(p, a, b),
    }
}

/// Like [`npk_jit_call_i32_i32`], and writes 0 to `*status` on success or the refusal code
/// (`NPK_JIT_ERR_*`) otherwise.
///
/// # Safety
/// As [`npk_jit_call_i32_i32`]; `status` is NULL or valid for one `int32_t` write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_try_call_i32_i32(
    p: *mut c_void,
    a: i32,
    b: i32,
    status: *mut i32,
) -> i32 {
    let write = |code: i32| {
        if !status.is_null() {
            // SAFETY: non-null, and the caller guarantees it is valid for one write.
            unsafe { status.write(code) };
        }
    };
    match wildx::quick_entry(p.cast(), TAG_I32_I32) {
        Some(entry) => {
            write(0);
            jit::call_entry(entry, a, b)
        }
        None => match jit::call_i32_i32_slow(p, a, b) {
            Ok(v) => {
                write(0);
                v
            }
            Err(code) => {
                write(code);
                0
            }
        },
    }
}

/// Creates a code arena of at least `n` bytes (rounded up to whole pages): read+write, never
/// executable, holding many functions at 64-byte granularity. Returns its base address, or
/// NULL (and a rejection line) for `n == 0`, sizes that overflow when rounded, an exceeded
/// quota, or an OS failure. It counts as one allocation of its whole size in the quota and
/// statistics.
///
/// Ownership: the caller owns the arena until `npk_wildx_arena_free`; functions added to it
/// die with it. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_arena_create(n: usize) -> *mut c_void {
    guard(std::ptr::null_mut(), || match wildx::arena_create_raw(n) {
        Ok(p) => p.as_ptr().cast(),
        Err(e) => {
            jit::refused("arena_create", &n, &e);
            std::ptr::null_mut()
        }
    })
}

/// Validates `len` bytes at `code` as a function of signature `sig` (e.g.
/// `"int64(int64,int64)"`) at the address it will have in `arena`, copies them there (at the
/// next 64-byte boundary) and records the signature. Returns the function's address, or
/// NULL with the reason in `npk_jit_last_error` (and one stderr line) if the arguments are
/// bad, the validator refuses the code, or `arena` is not a writable code arena of ours with
/// room for it. The function is callable (through the checked `npk_jit_[try_]call_*`
/// helpers of its signature) once the arena is sealed; if the arena's bytes are changed
/// before the seal, it loses its signature.
///
/// # Safety
/// `code` is NULL or readable for `len` bytes and `sig` is NULL or a NUL-terminated string;
/// both stay owned by the caller and are not kept. `arena` may be any value (it is checked).
/// The returned pointer is owned by the arena: never free it; it dangles once the arena is
/// freed (calls through it are refused from then on). Thread-safe: adds to one arena from
/// several threads are serialised.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_arena_add(
    arena: *mut c_void,
    code: *const c_void,
    len: i64,
    sig: *const c_char,
) -> *mut c_void {
    let result = catch_unwind(|| {
        // SAFETY: the caller's contract is the one `code_and_sig` requires.
        let (bytes, sig) = unsafe { code_and_sig(code, len, sig) }?;
        crate::jit_arena::arena_add(arena.cast(), bytes, sig).map_err(|e| e.to_string())
    });
    match result {
        Ok(Ok(f)) => {
            set_last_error("");
            f.as_ptr().cast()
        }
        Ok(Err(msg)) => {
            guard((), || {
                report_compile_refusal("arena_add", &format_args!("{arena:p}"), &msg);
            });
            std::ptr::null_mut()
        }
        Err(_) => {
            set_last_error("internal error");
            std::ptr::null_mut()
        }
    }
}

/// Seals the code arena: fills every byte outside its functions with `int3`, records a hash
/// per function and makes the whole arena read+execute with one protection change; every
/// function in it becomes callable. Returns 0, or -1 (and a rejection line) if `arena` is
/// NULL, foreign, not a code arena, freed, already sealed, or `mprotect` failed.
///
/// # Safety
/// `arena` may be any value, including NULL or a dangling pointer: it is looked up in the
/// registry before use. Thread-safe: of concurrent seals of one arena exactly one returns 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_wildx_arena_seal(arena: *mut c_void) -> i32 {
    guard(-1, || match wildx::arena_seal_raw(arena.cast()) {
        Ok(()) => 0,
        Err(e) => {
            jit::rejected("arena_seal", arena, e);
            -1
        }
    })
}

/// Frees the code arena (writable or sealed) as a whole: no function of it is executable
/// afterwards, and calls through its functions are refused (also long after, see
/// `docs/runtime.md`). Returns 0, or -1 (and a rejection line) if `arena` is NULL, foreign,
/// not a code arena, or already freed.
///
/// # Safety
/// `arena` may be any value; it is looked up in the registry before use. The caller must
/// not use the arena or its function pointers afterwards; a call racing the free is a
/// use-after-free by the caller (it may fault, never runs writable memory). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_wildx_arena_free(arena: *mut c_void) -> i32 {
    guard(-1, || match wildx::arena_free_raw(arena.cast()) {
        Ok(()) => 0,
        Err(e) => {
            jit::rejected("arena_free", arena, e);
            -1
        }
    })
}

/// Sets the process-wide quota (bytes mapped by live pages, guard pages included). Default
/// 64 MiB or `NPK_WILDX_QUOTA`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_set_quota(bytes: usize) {
    wildx::set_quota(bytes);
}

/// The quota in force. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_get_quota() -> usize {
    wildx::quota()
}

/// Bytes mapped by live pages now (guard pages included).
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_stat_mapped_bytes() -> u64 {
    wildx::stats().mapped_bytes
}

/// The highest number of bytes mapped at once.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_stat_peak_bytes() -> u64 {
    wildx::stats().peak_bytes
}

/// Live (allocated, not yet freed) pages now.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_stat_live_allocations() -> u64 {
    wildx::stats().live_allocations
}

/// Allocations ever made.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_stat_total_allocations() -> u64 {
    wildx::stats().total_allocations
}

/// Frees ever made.
#[unsafe(no_mangle)]
pub extern "C" fn npk_wildx_stat_total_frees() -> u64 {
    wildx::stats().total_frees
}

/// Prints a NUL-terminated string to stdout (`(null)` for NULL). No newline is added.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string that stays valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_print_cstr(s: *const c_char) {
    if s.is_null() {
        return guard((), || print::write(b"(null)"));
    }
    // SAFETY: non-null, and the caller guarantees a valid NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    guard((), || print::write(bytes));
}

/// Prints a signed integer in decimal.
#[unsafe(no_mangle)]
pub extern "C" fn npk_print_i64(v: i64) {
    guard((), || print::write(v.to_string().as_bytes()));
}

/// Prints an unsigned integer in decimal.
#[unsafe(no_mangle)]
pub extern "C" fn npk_print_u64(v: u64) {
    guard((), || print::write(v.to_string().as_bytes()));
}

/// Prints `true` (nonzero) or `false` (zero).
#[unsafe(no_mangle)]
pub extern "C" fn npk_print_bool(v: i32) {
    guard((), || print::write(print::bool_text(v).as_bytes()));
}

/// The `alloc` builtin: `n` zero-filled heap bytes, or NULL for `n == 0` or failure. The
/// caller owns the memory and releases it with [`npk_free`]. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_alloc(n: usize) -> *mut c_void {
    if n == 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: calloc has no preconditions; a NULL result is passed on.
    unsafe { libc::calloc(1, n) }
}

/// The `free` builtin: releases memory from [`npk_alloc`]; NULL is ignored.
///
/// # Safety
/// `p` is NULL or a pointer from `npk_alloc` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_free(p: *mut c_void) {
    // SAFETY: per the contract, `p` came from calloc (via npk_alloc) or is NULL.
    unsafe { libc::free(p) }
}

/// Flushes stdout, releases this thread's template strings and ends the process with status
/// `code & 0xff`.
#[unsafe(no_mangle)]
pub extern "C" fn npk_exit(code: i32) -> ! {
    guard((), print::flush);
    guard((), crate::template::release_all);
    std::process::exit(code & 0xff)
}

/// Reads a NUL-terminated UTF-8 argument, or says which one is unusable.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that outlives the result.
unsafe fn text_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, String> {
    if p.is_null() {
        return Err(format!("{what} is NULL"));
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| format!("{what} is not UTF-8"))
}

/// Runs an assemble export: sets the thread's last error ("" on success, the reason on
/// failure, "internal error" after a panic) and returns `ok(value)` or `failed`. Nothing is
/// printed: the reason is for the caller to read with `npk_jit_last_error`.
fn assemble_export<T, R>(
    failed: R,
    ok: impl FnOnce(T) -> R,
    f: impl FnOnce() -> Result<T, String>,
) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => {
            crate::jit_compile::set_last_error("");
            ok(v)
        }
        Ok(Err(msg)) => {
            crate::jit_compile::set_last_error(&msg);
            failed
        }
        Err(_) => {
            crate::jit_compile::set_last_error("internal error");
            failed
        }
    }
}

/// Assembles `text` (Intel syntax, as `objdump -M intel` prints it) for signature `sig` and
/// returns the number of bytes a page needs for it, or -1 with the reason in
/// `npk_jit_last_error` ("line 2, column 9: expected an operand, ..."). Nothing is allocated:
/// allocate with `npk_wildx_alloc(size)`, then `npk_jit_assemble_install`.
///
/// # Safety
/// `text` and `sig` are NULL or NUL-terminated strings, owned by the caller. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_assemble_size(text: *const c_char, sig: *const c_char) -> i64 {
    assemble_export(
        -1,
        |n: usize| n as i64,
        || {
            // SAFETY: the caller's contract is the one `text_arg` requires.
            let (text, sig) = unsafe { (text_arg(text, "text")?, text_arg(sig, "signature")?) };
            crate::jit_assemble::assemble_size(text, sig).map_err(|e| e.to_string())
        },
    )
}

/// Assembles `text` again, validates the code for `sig` as it will run at `page`, and copies it
/// into the writable page `page` of ours (from `npk_wildx_alloc`, at least
/// `npk_jit_assemble_size` bytes), recording the signature; seal it with `npk_wildx_seal`, which
/// keeps the signature only if the page is unchanged since. Returns 0, or -1 with the reason in
/// `npk_jit_last_error`; a validator rejection names the source line
/// ("line 3: `add rax, [rdi]`: ..."). Nothing is printed.
///
/// # Safety
/// `text` and `sig` are NULL or NUL-terminated strings, owned by the caller; `page` may be any
/// value (it is looked up in the registry before anything is written). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_assemble_install(
    page: *mut c_void,
    text: *const c_char,
    sig: *const c_char,
) -> i32 {
    assemble_export(
        -1,
        |()| 0,
        || {
            // SAFETY: the caller's contract is the one `text_arg` requires.
            let (text, sig) = unsafe { (text_arg(text, "text")?, text_arg(sig, "signature")?) };
            crate::jit_assemble::assemble_install(page.cast(), text, sig).map_err(|e| e.to_string())
        },
    )
}

/// Assembles `text` for `sig` (as `npk_jit_assemble_size`), validates the code at the address
/// it will have in the writable code arena `arena` (from `npk_wildx_arena_create`) and adds it
/// there at the next 64-byte boundary, recording the signature. Returns the function's address
/// (owned by the arena: never free it; callable once the arena is sealed), or NULL with the
/// reason in `npk_jit_last_error` (syntax error with line and column, validator rejection
/// naming the source line, or an arena that is not a writable arena of ours with room).
/// Nothing is printed.
///
/// # Safety
/// `text` and `sig` are NULL or NUL-terminated strings, owned by the caller and not kept;
/// `arena` may be any value (it is looked up in the registry before anything is written).
/// Thread-safe: adds to one arena from several threads are serialised.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_arena_assemble(
    arena: *mut c_void,
    text: *const c_char,
    sig: *const c_char,
) -> *mut c_void {
    assemble_export(
        std::ptr::null_mut(),
        |f: std::ptr::NonNull<u8>| f.as_ptr().cast(),
        || {
            // SAFETY: the caller's contract is the one `text_arg` requires.
            let (text, sig) = unsafe { (text_arg(text, "text")?, text_arg(sig, "signature")?) };
            crate::jit_assemble::arena_assemble(arena.cast(), text, sig).map_err(|e| e.to_string())
        },
    )
}
