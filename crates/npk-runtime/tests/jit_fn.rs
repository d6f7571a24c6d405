//! `npk_jit_fn` / `npk_jit_fn_tag` through the C ABI: an entry point only for a page proven
//! for exactly the asked signature; every other case is NULL with a reason and a code.

use std::ffi::{CStr, CString, c_char, c_void};

use npk_runtime::*;

fn last_error() -> String {
    // SAFETY: always safe; returns a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(npk_jit_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A sealed page of `text` assembled for `sig`, as `Jit.assemble` makes it.
fn page(text: &str, sig: &str) -> *mut c_void {
    let (t, s) = (
        CString::new(text).expect("text"),
        CString::new(sig).expect("sig"),
    );
    // SAFETY: NUL-terminated strings that outlive the calls; the page is checked by the runtime.
    unsafe {
        let n = npk_jit_assemble_size(t.as_ptr(), s.as_ptr());
        assert!(n > 0, "{}", last_error());
        let p = npk_wildx_alloc(n as usize);
        assert!(!p.is_null());
        assert_eq!(npk_jit_assemble_install(p, t.as_ptr(), s.as_ptr()), 0);
        assert_eq!(npk_wildx_seal(p), 0);
        p
    }
}

fn entry(p: *mut c_void, sig: &str) -> *const c_void {
    let s = CString::new(sig).expect("sig");
    // SAFETY: `s` is NUL-terminated and outlives the call; `p` is checked.
    unsafe { npk_jit_fn(p, s.as_ptr()) }
}

#[test]
fn a_page_proven_for_the_signature_is_callable_through_the_entry() {
    let p = page("lea rax, [rdi+rsi*2]\nret", "int64(int64,int64)");
    let f = entry(p, "int64(int64,int64)");
    assert_eq!(f, p.cast_const());
    // SAFETY: the runtime proved the page for exactly this SysV signature and it is live.
    let f: extern "C" fn(i64, i64) -> i64 = unsafe { std::mem::transmute(f) };
    assert_eq!(f(2, 20), 42);
    let sig: npk_jit::Signature = "int64(int64,int64)".parse().expect("signature");
    assert_eq!(npk_jit_fn_tag(p, sig.tag()), p.cast_const());
    // SAFETY: our page, freed once.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
}

#[test]
fn every_refusal_has_a_null_entry_a_code_and_a_reason() {
    let p = page("mov eax, edi\nret", "int32(int32)");
    assert!(entry(p, "int64(int64)").is_null());
    assert_eq!(npk_jit_fn_refusal(), 5);
    assert!(
        last_error().contains("proven for `int32(int32)`, the caller wants `int64(int64)`"),
        "{}",
        last_error()
    );
    assert!(entry(p, "int32(int32").is_null());
    assert_eq!(npk_jit_fn_refusal(), 9);
    assert!(last_error().contains("missing closing"), "{}", last_error());
    // SAFETY: NULL is allowed for the signature.
    assert!(unsafe { npk_jit_fn(p, std::ptr::null::<c_char>()) }.is_null());
    assert!(entry(std::ptr::null_mut(), "int32(int32)").is_null());
    assert_eq!(npk_jit_fn_refusal(), 1);
    // SAFETY: our page, freed once.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
    assert!(entry(p, "int32(int32)").is_null());
    assert_eq!(npk_jit_fn_refusal(), 4);
}

#[test]
fn a_page_sealed_without_a_signature_is_refused_even_when_not_strict() {
    let p = npk_wildx_alloc(16);
    assert!(!p.is_null());
    // SAFETY: a writable page of ours, 16 bytes; `ret` then sealed.
    unsafe {
        p.cast::<u8>().write(0xc3);
        assert_eq!(npk_wildx_seal(p), 0);
    }
    assert!(entry(p, "int32()").is_null());
    assert_eq!(npk_jit_fn_refusal(), 6);
    assert!(
        last_error().contains("no proven signature"),
        "{}",
        last_error()
    );
    // SAFETY: our page, freed once.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
}

#[test]
fn a_writable_page_is_not_callable() {
    let p = npk_wildx_alloc(16);
    assert!(entry(p, "int32()").is_null());
    assert_eq!(npk_jit_fn_refusal(), 3);
    // SAFETY: our page, freed once.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
}
