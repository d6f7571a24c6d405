//! When the process's table of buffer signatures is full, making a page for a new buffer
//! signature is refused with a clear reason, and everything already interned keeps working.
//! (Its own test binary: it fills the process-wide table.)

use std::ffi::{CStr, CString};

use npk_runtime::*;

fn last_error() -> String {
    // SAFETY: always safe; returns a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(npk_jit_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// `mov rax, rsi; ret`
const RETURN_N: [u8; 4] = [0x48, 0x89, 0xf0, 0xc3];

#[test]
fn a_full_table_refuses_new_buffer_signatures_cleanly() {
    let sig = |k: usize| CString::new(format!("int64(uint8* s[{k}], int64 n)")).expect("no NUL");
    for k in 0..npk_jit::MAX_BUFFER_SIGNATURES {
        let s = sig(k);
        // SAFETY: NUL-terminated, outlives the call.
        let id = unsafe { npk_jit_sig_identity(s.as_ptr()) };
        assert_ne!(id, NO_IDENTITY, "{k}: {}", last_error());
    }
    let new = sig(npk_jit::MAX_BUFFER_SIGNATURES);
    // SAFETY: NUL-terminated, outlives the call.
    assert_eq!(unsafe { npk_jit_sig_identity(new.as_ptr()) }, NO_IDENTITY);
    assert_eq!(npk_jit_fn_refusal(), 9);
    assert!(
        last_error().contains("distinct buffer signatures (the limit)"),
        "{}",
        last_error()
    );

    // SAFETY: code readable for 4 bytes, signature NUL-terminated.
    let refused = unsafe { npk_jit_compile(RETURN_N.as_ptr().cast(), 4, new.as_ptr()) };
    assert!(refused.is_null());
    assert!(
        last_error().contains("no page identity for `int64(uint8*[16384],int64)`"),
        "{}",
        last_error()
    );
    // An interned signature and a scalar one still make pages.
    let old = sig(7);
    // SAFETY: as above.
    let p = unsafe { npk_jit_compile(RETURN_N.as_ptr().cast(), 4, old.as_ptr()) };
    assert!(!p.is_null(), "{}", last_error());
    // SAFETY: NUL-terminated strings; `p` is checked.
    unsafe {
        assert_eq!(npk_jit_fn(p, old.as_ptr()), p.cast_const());
        assert!(npk_jit_fn(p, new.as_ptr()).is_null());
        assert_eq!(npk_jit_fn_refusal(), 5);
        assert!(
            last_error().contains("the caller wants `int64(uint8*[16384],int64)`"),
            "{}",
            last_error()
        );
        assert_eq!(npk_wildx_free(p), 0);
    }
    let f = assemble("lea rax, [rdi+rsi]\nret", "int64(int64,int64)").expect("scalar");
    assert!(f.typed::<extern "C" fn(i64, i64) -> i64>().is_some());
}
