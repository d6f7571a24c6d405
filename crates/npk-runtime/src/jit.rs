//! Safe Rust behind the JIT exports: the pinned `add(i32, i32)` code, the checked call, and
//! the shared refusal reporting.
//!
//! Every refused operation records its reason as the thread's `npk_jit_last_error`, prints
//! `wildx: <op>(<ptr>) rejected: <reason>` once (unless `NPK_WILDX_QUIET=1`) and returns the
//! `wildx::Error`, whose `code()` is the `*status` of the `npk_jit_try_call_*` exports.

use std::ffi::c_void;
use std::fmt;

use npk_jit::Signature;

/// `mov eax, edi; add eax, esi; ret`: the SysV `int32(int32, int32)` adder.
pub const ADD_I32_CODE: [u8; 5] = [0x89, 0xf8, 0x01, 0xf0, 0xc3];
/// Signature tag (and page identity) of `int32(int32, int32)` (see `npk-jit`'s
/// `Signature::tag()` and `Signature::identity()`).
pub const TAG_I32_I32: u32 = 0x1121;

/// Reports a refused `op` on `p` (see [`refused`]) and passes the error on.
pub(crate) fn rejected(op: &str, p: *const c_void, err: wildx::Error) -> wildx::Error {
    refused(op, &format_args!("{p:p}"), &err);
    err
}

/// Reports a refused `op` (`arg`: the pointer, or the size for `alloc`): records
/// `<op> failed: <reason>` as this thread's `npk_jit_last_error` and prints
/// `wildx: <op>(<arg>) rejected: <reason>` unless `NPK_WILDX_QUIET=1`. A signature
/// mismatch names both signatures, never the internal tags.
pub(crate) fn refused(op: &str, arg: &dyn fmt::Display, err: &wildx::Error) {
    refused_because(op, arg, &reason(err));
}

/// [`refused`] with the reason already worded.
pub(crate) fn refused_because(op: &str, arg: &dyn fmt::Display, reason: &str) {
    let what = match op {
        "alloc" => format!("allocation of {arg} bytes failed"),
        "call" => "call refused".to_string(),
        _ => format!("{op} failed"),
    };
    crate::jit_compile::set_last_error(&format!("{what}: {reason}"));
    wildx::report_reason(op, arg, &reason);
}

/// The user-facing reason for `err`.
fn reason(err: &wildx::Error) -> String {
    match err.kind() {
        wildx::ErrorKind::SignatureMismatch { expected, found } => format!(
            "signature mismatch: the page is proven for `{}`, the caller wants `{}`",
            signature_text(found),
            signature_text(expected)
        ),
        _ => err.to_string(),
    }
}

/// The canonical signature a page identity stands for (`npk_jit::Signature::identity`), e.g.
/// `int64(int64*[#1],int64)`; a value that is no signature's identity is shown as such.
#[must_use]
pub(crate) fn signature_text(identity: u32) -> String {
    match Signature::from_identity(identity) {
        Some(sig) => sig.canonical(),
        None => format!("an unknown signature (identity {identity:#x})"),
    }
}

/// Writes the add code into the writable page `p` and records `int32(int32, int32)`.
pub(crate) fn install_add_i32(p: *const c_void) -> Result<(), wildx::Error> {
    wildx::install_raw(p.cast(), &ADD_I32_CODE, TAG_I32_I32)
        .map(|()| {
            crate::jit_compile::set_last_error("");
            crate::pages::installed(p, ADD_I32_CODE.len());
        })
        .map_err(|e| rejected("install", p, e))
}

/// Calls `p` as `int32(int32, int32)` if the lock-free registry check passes, else reports
/// the refusal. Returns the result, or `Err(status)`.
///
/// Exports call [`wildx::quick_entry`] first and [`call_entry`] in tail position, so their
/// hot path needs no stack frame, no `catch_unwind` (nothing on it can panic: no indexing,
/// no unwrapping) and ends in a jump into the page; this cold function handles the rest.
#[cold]
#[inline(never)]
pub(crate) fn call_i32_i32_slow(p: *const c_void, a: i32, b: i32) -> Result<i32, i32> {
    match wildx::checked_entry(p.cast(), TAG_I32_I32) {
        Ok(entry) => Ok(call_entry(entry, a, b)),
        Err(e) => Err(refused_call(p, e)),
    }
}

/// [`call_i32_i32_slow`] with a refusal mapped to 0 (the `npk_jit_call_i32_i32` result).
#[cold]
#[inline(never)]
pub(crate) fn call_i32_i32_or_zero(p: *const c_void, a: i32, b: i32) -> i32 {
    call_i32_i32_slow(p, a, b).unwrap_or(0)
}

/// Calls a checked `int32(int32, int32)` entry.
#[inline(always)]
pub(crate) fn call_entry(entry: wildx::Entry, a: i32, b: i32) -> i32 {
    // SAFETY: `entry` comes from `quick_entry`/`checked_entry` for TAG_I32_I32: the start of
    // a sealed (read+execute) page of ours whose recorded signature is int32(int32, int32),
    // or that carries no signature and the caller accepted that (not NPK_JIT_STRICT), as in
    // the seed.
    let f: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(entry.ptr()) };
    f(a, b)
}

/// Reports a refused call and returns its status code.
#[cold]
#[inline(never)]
fn refused_call(p: *const c_void, e: wildx::Error) -> i32 {
    let code = e.code();
    let reported = std::panic::catch_unwind(|| rejected("call", p, e));
    if reported.is_err() { code.max(1) } else { code }
}
