//! `Jit.call`'s check: a callable pointer only for a page proven for exactly
//! the caller's signature (SPEC issue 11, item 5).
//!
//! `npk_jit_fn(page, sig)` is the C form (the signature as text, parsed by
//! `npk-jit`); `npk_jit_fn_tag(page, tag)` is what `npkc` emits before every
//! `Jit.call`, with the signature already parsed and reduced to its tag
//! (`npk_jit::Signature::tag`) at compile time. Both hand out the entry point
//! only if the page (or arena function) is sealed, live, ours, and carries
//! exactly that signature: unlike the fixed-shape `npk_jit_call_*` helpers, a
//! page sealed without a signature is refused even without `NPK_JIT_STRICT`.
//! A refusal returns NULL, records the reason (`npk_jit_last_error`) and its
//! `NPK_JIT_ERR_*` code (`npk_jit_fn_refusal`), and prints the usual stderr
//! line unless `NPK_WILDX_QUIET=1`.
//!
//! The pointer is valid only until the page is freed: callers check again for
//! every call (the check is lock-free, a range test and one compare), never
//! cache it across a possible free.

use std::cell::Cell;
use std::ffi::{CStr, c_char, c_void};

use npk_jit::Signature;

/// `NPK_JIT_ERR_UNSIGNED`: the page carries no proven signature.
const ERR_UNSIGNED: i32 = 6;
/// `NPK_JIT_ERR_OTHER`: a bad signature text.
const ERR_OTHER: i32 = 9;

thread_local! {
    /// The `NPK_JIT_ERR_*` code of this thread's last refused `npk_jit_fn*`.
    static REFUSAL: Cell<i32> = const { Cell::new(0) };
}

/// The entry of `p` if it is proven for exactly `tag`; else the refusal code (reported).
#[inline(always)]
fn entry_for(p: *mut c_void, tag: u32) -> Result<*const c_void, i32> {
    if let Some(entry) = wildx::quick_entry(p.cast(), tag) {
        return Ok(entry.ptr().cast());
    }
    slow_entry(p, tag)
}

#[cold]
#[inline(never)]
fn slow_entry(p: *mut c_void, tag: u32) -> Result<*const c_void, i32> {
    let refuse = |code: i32, reason: &str| {
        let _ = std::panic::catch_unwind(|| {
            crate::jit::refused_because("call", &format_args!("{p:p}"), reason);
        });
        REFUSAL.with(|r| r.set(code));
        Err(code)
    };
    match wildx::checked_entry(p.cast(), tag) {
        Ok(entry) if entry.tag() == tag => Ok(entry.ptr().cast()),
        Ok(_) => refuse(
            ERR_UNSIGNED,
            &format!(
                "the page carries no proven signature; `Jit.call` needs one proven for `{}`",
                crate::jit::signature_text(tag)
            ),
        ),
        Err(e) => {
            let code = e.code();
            let _ = std::panic::catch_unwind(|| crate::jit::rejected("call", p, e));
            REFUSAL.with(|r| r.set(code));
            Err(code)
        }
    }
}

/// The entry point of `p` if it is sealed, live, ours and proven for exactly the signature
/// whose tag is `tag` (`npk_jit::Signature::tag`); else NULL (see `npk_jit_fn_refusal`).
/// Lock-free on success. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_jit_fn_tag(p: *mut c_void, tag: u32) -> *const c_void {
    entry_for(p, tag).unwrap_or(std::ptr::null())
}

/// The entry point of `p` if it is sealed, live, ours and proven for exactly `sig`
/// (`"int32(int32,int32)"`); else NULL, with the reason in `npk_jit_last_error` and the
/// code in `npk_jit_fn_refusal`. Call it through a function pointer of that SysV signature
/// only, and only while the page is live.
///
/// # Safety
/// `sig` is NULL or a NUL-terminated string owned by the caller; `p` may be any value (it is
/// looked up in the registry before use). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_fn(p: *mut c_void, sig: *const c_char) -> *const c_void {
    let parsed = if sig.is_null() {
        Err("the signature is NULL".to_string())
    } else {
        // SAFETY: non-null and NUL-terminated by the caller's contract.
        let text = unsafe { CStr::from_ptr(sig) }.to_str();
        text.map_err(|_| "the signature is not UTF-8".to_string())
            .and_then(|t| t.parse::<Signature>().map_err(|e| e.to_string()))
    };
    match parsed {
        Ok(sig) => npk_jit_fn_tag(p, sig.tag()),
        Err(reason) => {
            let _ = std::panic::catch_unwind(|| {
                crate::jit::refused_because("call", &format_args!("{p:p}"), &reason);
            });
            REFUSAL.with(|r| r.set(ERR_OTHER));
            std::ptr::null()
        }
    }
}

/// The `NPK_JIT_ERR_*` code of this thread's last refused `npk_jit_fn`/`npk_jit_fn_tag`
/// (0 if none yet). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_jit_fn_refusal() -> i32 {
    REFUSAL.with(Cell::get)
}
