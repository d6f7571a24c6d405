//! `Jit.call`'s check: a callable pointer only for a page proven for exactly
//! the caller's signature (SPEC issue 11, item 5).
//!
//! `npk_jit_fn(page, sig)` is the C form (the signature as text, parsed by
//! `npk-jit`); `npk_jit_fn_tag(page, identity)` is what `npkc` emits before
//! every `Jit.call` that its inline check did not settle, with the signature's
//! page identity (`npk_jit::Signature::identity`; the name predates buffer
//! signatures): a scalar signature's identity is its tag, known at compile
//! time; a buffer signature's comes from `npk_jit_sig_identity(sig)`, once per
//! signature and program run. Both hand out the entry point only if the page
//! (or arena function) is sealed, live, ours, and carries exactly that
//! signature: unlike the fixed-shape `npk_jit_call_*` helpers, a page sealed
//! without a signature is refused even without `NPK_JIT_STRICT`. A refusal
//! returns NULL, records the reason (`npk_jit_last_error`, naming both
//! signatures in canonical form) and its `NPK_JIT_ERR_*` code
//! (`npk_jit_fn_refusal`), and prints the usual stderr line unless
//! `NPK_WILDX_QUIET=1`.
//!
//! The pointer is valid only until the page is freed: callers check again for
//! every call (the check is lock-free, a range test and one compare), never
//! cache it across a possible free.

use std::cell::Cell;
use std::ffi::{CStr, c_char, c_void};

use npk_jit::Signature;

/// `NPK_JIT_ERR_MISMATCH`: the page is proven for another signature.
const ERR_MISMATCH: i32 = 5;
/// `NPK_JIT_ERR_UNSIGNED`: the page carries no proven signature.
const ERR_UNSIGNED: i32 = 6;
/// `NPK_JIT_ERR_OTHER`: a bad signature text, or one without an identity.
const ERR_OTHER: i32 = 9;

/// `NPK_JIT_NO_IDENTITY`: what [`npk_jit_sig_identity`] returns for a signature that has
/// no identity. No page ever records it (the buffer-signature table is far smaller), so a
/// check against it always fails, on the inline fast path too.
pub const NO_IDENTITY: u32 = u32::MAX;

thread_local! {
    /// The `NPK_JIT_ERR_*` code of this thread's last refused `npk_jit_fn*`.
    static REFUSAL: Cell<i32> = const { Cell::new(0) };
}

/// The entry of `p` if it is proven for exactly `identity`; else the refusal code
/// (reported). Identity 0 (no signature) is never proven: it would match unsigned pages.
#[inline(always)]
fn entry_for(p: *mut c_void, identity: u32) -> Result<*const c_void, i32> {
    if identity != 0
        && let Some(entry) = wildx::quick_entry(p.cast(), identity)
    {
        return Ok(entry.ptr().cast());
    }
    slow_entry(p, identity, None)
}

/// Records and reports a refused call of `p` with `code` and `reason`.
fn refuse(p: *mut c_void, code: i32, reason: &str) -> Result<*const c_void, i32> {
    let _ = std::panic::catch_unwind(|| {
        crate::jit::refused_because("call", &format_args!("{p:p}"), reason);
    });
    REFUSAL.with(|r| r.set(code));
    Err(code)
}

/// The checked (slow) path of [`entry_for`]; `wanted` is the caller's signature when it has
/// no identity yet (then no page can be proven for it), so messages can still name it.
#[cold]
#[inline(never)]
fn slow_entry(
    p: *mut c_void,
    identity: u32,
    wanted: Option<&Signature>,
) -> Result<*const c_void, i32> {
    let wanted_text = || {
        wanted.map_or_else(
            || crate::jit::signature_text(identity),
            Signature::canonical,
        )
    };
    if identity == 0 {
        return refuse(
            p,
            ERR_OTHER,
            "0 is no signature's identity (a page sealed without a signature is never callable by `Jit.call`)",
        );
    }
    match wildx::checked_entry(p.cast(), identity) {
        Ok(entry) if entry.tag() == identity => Ok(entry.ptr().cast()),
        Ok(_) => refuse(
            p,
            ERR_UNSIGNED,
            &format!(
                "the page carries no proven signature; `Jit.call` needs one proven for `{}`",
                wanted_text()
            ),
        ),
        Err(e) => match e.kind() {
            wildx::ErrorKind::SignatureMismatch { found, .. } => refuse(
                p,
                ERR_MISMATCH,
                &format!(
                    "signature mismatch: the page is proven for `{}`, the caller wants `{}`",
                    crate::jit::signature_text(found),
                    wanted_text()
                ),
            ),
            _ => {
                let code = e.code();
                let _ = std::panic::catch_unwind(|| crate::jit::rejected("call", p, e));
                REFUSAL.with(|r| r.set(code));
                Err(code)
            }
        },
    }
}

/// The entry point of `p` if it is sealed, live, ours and proven for exactly the signature
/// whose page identity is `identity` (`npk_jit::Signature::identity`: a scalar signature's
/// tag, or what `npk_jit_sig_identity` returned); else NULL (see `npk_jit_fn_refusal`).
/// Identity 0 and `NPK_JIT_NO_IDENTITY` are always refused. Lock-free on success.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_jit_fn_tag(p: *mut c_void, identity: u32) -> *const c_void {
    entry_for(p, identity).unwrap_or(std::ptr::null())
}

/// The signature text `sig` parsed, or why not.
///
/// # Safety
/// `sig` is NULL or a NUL-terminated string.
unsafe fn parse_sig(sig: *const c_char) -> Result<Signature, String> {
    if sig.is_null() {
        return Err("the signature is NULL".to_string());
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let text = unsafe { CStr::from_ptr(sig) }.to_str();
    text.map_err(|_| "the signature is not UTF-8".to_string())
        .and_then(|t| t.parse::<Signature>().map_err(|e| e.to_string()))
}

/// The entry point of `p` if it is sealed, live, ours and proven for exactly `sig`
/// (`"int32(int32,int32)"`, `"int64(int64* xs[n], int64 n)"`; parameter names do not
/// matter); else NULL, with the reason in `npk_jit_last_error` and the code in
/// `npk_jit_fn_refusal`. Call it through a function pointer of that SysV signature only
/// (a buffer is a pointer to its first element), and only while the page is live.
///
/// # Safety
/// `sig` is NULL or a NUL-terminated string owned by the caller; `p` may be any value (it is
/// looked up in the registry before use). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_fn(p: *mut c_void, sig: *const c_char) -> *const c_void {
    // SAFETY: the caller's contract on `sig` is the one `parse_sig` needs.
    let entry = match unsafe { parse_sig(sig) } {
        Ok(sig) => match sig.known_identity() {
            Some(identity) => entry_for(p, identity),
            // Never interned: no page is proven for it. Ask anyway, for the page's own
            // problem (not ours, freed, ...) or its signature.
            None => slow_entry(p, NO_IDENTITY, Some(&sig)),
        },
        Err(reason) => refuse(p, ERR_OTHER, &reason),
    };
    entry.unwrap_or(std::ptr::null())
}

/// The page identity of the signature `sig` (`npk_jit::Signature::identity`), interned for
/// the rest of the process if it has buffers; what `npkc` asks once per buffer signature
/// before its inline check of a `Jit.call`. On failure (NULL, not UTF-8, malformed, or the
/// process's table of buffer signatures is full) returns `NPK_JIT_NO_IDENTITY`, which no page
/// has, with the reason in `npk_jit_last_error` and `NPK_JIT_ERR_OTHER` in
/// `npk_jit_fn_refusal`.
///
/// # Safety
/// `sig` is NULL or a NUL-terminated string owned by the caller. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_sig_identity(sig: *const c_char) -> u32 {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: the caller's contract on `sig` is the one `parse_sig` needs.
        let sig = unsafe { parse_sig(sig) }?;
        sig.identity().map_err(|e| e.to_string())
    });
    match result {
        Ok(Ok(identity)) => identity,
        Ok(Err(reason)) => {
            let _ = std::panic::catch_unwind(|| {
                crate::jit::refused_because("signature", &format_args!("{sig:p}"), &reason);
            });
            REFUSAL.with(|r| r.set(ERR_OTHER));
            NO_IDENTITY
        }
        Err(_) => NO_IDENTITY,
    }
}

/// The `NPK_JIT_ERR_*` code of this thread's last refused `npk_jit_fn`/`npk_jit_fn_tag`/
/// `npk_jit_sig_identity` (0 if none yet). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_jit_fn_refusal() -> i32 {
    REFUSAL.with(Cell::get)
}
