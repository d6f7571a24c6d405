//! `npk_jit_compile`, `npk_jit_last_error`, the typed i64 call helpers and the
//! Rust `compile` / `JitFn` API; how refusals reach a program (`last_error` after
//! every kind of refusal, signature mismatches worded with signatures,
//! `NPK_WILDX_QUIET=1`, the warning for an unparsable `NPK_WILDX_QUOTA`), each of
//! those in a child process because options and the quota are process-wide.

#[path = "common/child.rs"]
mod child;

use std::ffi::{CStr, c_void};

use npk_runtime::*;

/// lea rax, [rdi+rsi]; ret
const ADD_I64: [u8; 5] = [0x48, 0x8d, 0x04, 0x37, 0xc3];
/// lea rax, [rdi+rsi]; add rax, rdx; ret
const ADD3_I64: [u8; 8] = [0x48, 0x8d, 0x04, 0x37, 0x48, 0x01, 0xd0, 0xc3];
/// xor eax, eax; syscall; ret
const SYSCALL: [u8; 5] = [0x31, 0xc0, 0x0f, 0x05, 0xc3];
/// mov rax, rdi; neg rax; ret
const NEG_I64: [u8; 7] = [0x48, 0x89, 0xf8, 0x48, 0xf7, 0xd8, 0xc3];

fn c_compile(code: &[u8], sig: &CStr) -> *mut c_void {
    // SAFETY: code is readable for its length; sig is NUL-terminated.
    unsafe { npk_jit_compile(code.as_ptr().cast(), code.len() as i64, sig.as_ptr()) }
}

fn last_error() -> String {
    // SAFETY: always safe; returns a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(npk_jit_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn helper_tags_match_the_signature_encoding() {
    use npk_jit::Signature;
    let tag = |s: &str| s.parse::<Signature>().expect("sig").tag();
    assert_eq!(tag("int64(int64)"), 0x212);
    assert_eq!(tag("int64(int64,int64)"), 0x2222);
    assert_eq!(tag("int64(int64,int64,int64)"), 0x2_2232);
    assert_eq!(tag("int32(int32,int32)"), TAG_I32_I32);
}

#[test]
fn compiled_pages_are_callable_through_their_own_helper() {
    let add = c_compile(&ADD_I64, c"int64(int64,int64)");
    let add3 = c_compile(&ADD3_I64, c"int64(int64, int64, int64)");
    let neg = c_compile(&NEG_I64, c"int64(int64)");
    assert!(
        !add.is_null() && !add3.is_null() && !neg.is_null(),
        "{}",
        last_error()
    );
    assert_eq!(last_error(), "");
    let mut status = -1;
    // SAFETY: pages from npk_jit_compile, checked by the helpers; status is a valid i32.
    unsafe {
        assert_eq!(npk_jit_call_i64_i64_i64(add, 40, 2), 42);
        assert_eq!(
            npk_jit_try_call_i64_i64_i64(add, 1 << 40, 5, &mut status),
            (1 << 40) + 5
        );
        assert_eq!(status, 0);
        assert_eq!(npk_jit_call_i64_i64_i64_i64(add3, 1, 2, 3), 6);
        assert_eq!(npk_jit_try_call_i64_i64(neg, 7, &mut status), -7);
        assert_eq!(status, 0);
        for p in [add, add3, neg] {
            assert_eq!(npk_wildx_free(p), 0);
        }
    }
}

#[test]
fn a_helper_refuses_a_page_proven_for_another_signature() {
    let add = c_compile(&ADD_I64, c"int64(int64,int64)");
    assert!(!add.is_null());
    let mut status = 0;
    // SAFETY: the helpers check p; status is a valid i32.
    unsafe {
        assert_eq!(npk_jit_try_call_i64_i64(add, 1, &mut status), 0);
        assert_eq!(status, 5, "NPK_JIT_ERR_SIGNATURE");
        assert_eq!(npk_jit_call_i64_i64_i64_i64(add, 1, 2, 3), 0);
        assert_eq!(npk_jit_try_call_i32_i32(add, 1, 2, &mut status), 0);
        assert_eq!(status, 5);
        assert_eq!(npk_wildx_free(add), 0);
        // A freed page is refused too.
        assert_eq!(npk_jit_try_call_i64_i64_i64(add, 1, 2, &mut status), 0);
        assert_ne!(status, 0);
        // NULL and foreign pointers are refused.
        assert_eq!(
            npk_jit_try_call_i64_i64(std::ptr::null_mut(), 1, &mut status),
            0
        );
        assert_eq!(status, 1);
        let mut local = 0u8;
        assert_eq!(
            npk_jit_try_call_i64_i64((&raw mut local).cast(), 1, &mut status),
            0
        );
        assert_eq!(status, 2);
    }
}

#[test]
fn rejected_code_gives_null_and_the_reason() {
    // xor eax, eax; syscall; ret
    let p = c_compile(&[0x31, 0xc0, 0x0f, 0x05, 0xc3], c"int64()");
    assert!(p.is_null());
    let err = last_error();
    assert!(
        err.contains("offset 0x2") && err.contains("syscall") && err.contains("system call"),
        "{err}"
    );
    // Wrong width: int32 parameters read as 64-bit.
    assert!(c_compile(&ADD_I64, c"int64(int32,int32)").is_null());
    assert!(last_error().contains("rdi"), "{}", last_error());
    assert!(c_compile(&ADD_I64, c"int64(int64").is_null());
    assert!(last_error().contains("bad signature"), "{}", last_error());
    // SAFETY: NULL arguments are checked.
    unsafe {
        assert!(npk_jit_compile(std::ptr::null(), 5, c"int64()".as_ptr()).is_null());
        assert!(npk_jit_compile(ADD_I64.as_ptr().cast(), 5, std::ptr::null()).is_null());
        assert!(npk_jit_compile(ADD_I64.as_ptr().cast(), 0, c"int64()".as_ptr()).is_null());
        assert!(npk_jit_compile(ADD_I64.as_ptr().cast(), -1, c"int64()".as_ptr()).is_null());
    }
    assert!(last_error().contains("length"), "{}", last_error());
}

#[test]
fn an_untagged_hand_sealed_page_is_called_on_the_callers_word() {
    // SAFETY: the wildx exports check their arguments; the page is written while writable.
    unsafe {
        let p = npk_wildx_alloc(16);
        assert!(!p.is_null());
        std::ptr::copy_nonoverlapping(NEG_I64.as_ptr(), p.cast::<u8>(), NEG_I64.len());
        assert_eq!(npk_wildx_seal(p), 0);
        let mut status = -1;
        let strict = std::env::var("NPK_JIT_STRICT").is_ok_and(|v| v == "1");
        let r = npk_jit_try_call_i64_i64(p, 5, &mut status);
        if strict {
            assert_eq!((r, status), (0, 6));
        } else {
            assert_eq!((r, status), (-5, 0));
        }
        assert_eq!(npk_wildx_free(p), 0);
    }
}

#[test]
fn rust_api_hands_out_a_typed_handle_only_for_the_proven_signature() {
    let f = compile(&ADD_I64, "int64(int64,int64)").expect("valid add");
    assert_eq!(f.signature().to_string(), "int64(int64,int64)");
    assert!(f.typed::<extern "C" fn(i64) -> i64>().is_none());
    assert!(f.typed::<extern "C" fn(i32, i32) -> i32>().is_none());
    let add = f
        .typed::<extern "C" fn(i64, i64) -> i64>()
        .expect("proven signature");
    assert_eq!(add.call(40, 2), 42);
    let add32 = compile(&[0x89, 0xf8, 0x01, 0xf0, 0xc3], "int32(int32,int32)").expect("add i32");
    let h = add32
        .typed::<extern "C" fn(i32, i32) -> i32>()
        .expect("proven");
    assert_eq!(h.call(7, 35), 42);
    let err = compile(&[0xcc], "int64()").expect_err("int3");
    assert!(matches!(err, CompileError::Rejected(_)), "{err}");
    assert!(matches!(
        compile(&[], "int64()"),
        Err(CompileError::Length(0))
    ));
}

fn c_install(page: *mut c_void, code: &[u8], sig: &CStr) -> i32 {
    // SAFETY: code is readable for its length; sig is NUL-terminated; page is checked.
    unsafe { npk_jit_install(page, code.as_ptr().cast(), code.len() as i64, sig.as_ptr()) }
}

#[test]
fn install_then_seal_records_the_proven_signature() {
    let page = npk_wildx_alloc(ADD_I64.len());
    assert!(!page.is_null());
    assert_eq!(c_install(page, &ADD_I64, c"int64(int64,int64)"), 0);
    assert_eq!(last_error(), "");
    // SAFETY: test code; the page is ours and writable, then sealed.
    unsafe {
        assert_eq!(npk_wildx_seal(page), 0);
        let mut status = -1;
        assert_eq!(npk_jit_try_call_i64_i64_i64(page, 40, 2, &mut status), 42);
        assert_eq!(status, 0);
        // Proven for int64(int64,int64): the int64(int64) helper refuses it.
        assert_eq!(npk_jit_try_call_i64_i64(page, 1, &mut status), 0);
        assert_ne!(status, 0);
        assert_eq!(npk_wildx_free(page), 0);
    }
}

#[test]
fn install_refuses_unproven_code_and_non_writable_pages() {
    let page = npk_wildx_alloc(16);
    assert!(!page.is_null());
    // `syscall; ret` is never accepted.
    assert_eq!(c_install(page, &[0x0f, 0x05, 0xc3], c"int64(int64)"), -1);
    assert!(last_error().contains("syscall"), "{}", last_error());
    // A foreign pointer is refused after validation succeeded.
    let mut local = [0u8; 16];
    assert_eq!(
        c_install(local.as_mut_ptr().cast(), &NEG_I64, c"int64(int64)"),
        -1
    );
    // SAFETY: test code; the page is ours.
    unsafe {
        assert_eq!(npk_wildx_seal(page), 0);
        // A sealed page is not writable any more.
        assert_eq!(c_install(page, &NEG_I64, c"int64(int64)"), -1);
        assert_eq!(npk_wildx_free(page), 0);
    }
}

#[test]
fn a_page_changed_after_install_is_sealed_without_the_signature() {
    let page = npk_wildx_alloc(NEG_I64.len());
    assert!(!page.is_null());
    assert_eq!(c_install(page, &NEG_I64, c"int64(int64)"), 0);
    // SAFETY: test code; the page is still writable: overwrite `neg rax` with `syscall`.
    unsafe {
        *page.cast::<u8>().add(3) = 0x0f;
        *page.cast::<u8>().add(4) = 0x05;
        assert_eq!(npk_wildx_seal(page), 0);
    }
    assert_eq!(wildx::lookup(page.cast::<u8>()).expect("sealed").tag(), 0);
    // SAFETY: test code; the page is ours.
    unsafe { assert_eq!(npk_wildx_free(page), 0) };
}

/// What the child does in the tests below: a validator refusal, then an allocation
/// refused by the quota, then a call through the wrong helper.
fn refuse_three_ways() {
    assert!(c_compile(&SYSCALL, c"int64()").is_null());
    assert!(last_error().contains("syscall"), "{}", last_error());

    npk_wildx_set_quota(4096);
    let first = npk_wildx_alloc(4096);
    assert!(!first.is_null());
    assert!(npk_wildx_alloc(5).is_null());
    let err = last_error();
    assert!(
        err.starts_with("allocation of 5 bytes failed: quota exceeded"),
        "the allocation failure replaces the compile's reason: {err}"
    );
    // SAFETY: test code; our page.
    assert_eq!(unsafe { npk_wildx_free(first) }, 0);
    npk_wildx_set_quota(1 << 20);

    let add = c_compile(&ADD_I64, c"int64(int64,int64)");
    assert!(!add.is_null(), "{}", last_error());
    assert_eq!(last_error(), "", "a successful compile resets it");
    let mut status = 0;
    // SAFETY: the helper checks the page; status is a valid i32.
    assert_eq!(unsafe { npk_jit_try_call_i64_i64(add, 1, &mut status) }, 0);
    assert_eq!(status, 5);
    assert_eq!(
        last_error(),
        "call refused: signature mismatch: the page is proven for `int64(int64,int64)`, \
         the caller wants `int64(int64)`"
    );
    // SAFETY: test code; our page.
    assert_eq!(unsafe { npk_wildx_free(add) }, 0);
}

#[test]
fn every_refusal_is_recorded_and_printed_with_signatures_not_tags() {
    const NAME: &str = "every_refusal_is_recorded_and_printed_with_signatures_not_tags";
    if child::is_child(NAME) {
        refuse_three_ways();
        return;
    }
    let out = child::run(NAME, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("jit: compile(5) rejected:"), "{stderr}");
    assert!(
        stderr.contains(") rejected: quota exceeded (4096 bytes requested"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "rejected: signature mismatch: the page is proven for `int64(int64,int64)`, the caller wants `int64(int64)`"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("0x212"), "no internal tags: {stderr}");
}

#[test]
fn quiet_silences_rejection_lines_but_not_last_error() {
    const NAME: &str = "quiet_silences_rejection_lines_but_not_last_error";
    if child::is_child(NAME) {
        refuse_three_ways();
        return;
    }
    let out = child::run(NAME, &[("NPK_WILDX_QUIET", "1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("rejected"), "{stderr}");
}

#[test]
fn an_unparsable_quota_warns_and_keeps_the_default() {
    const NAME: &str = "an_unparsable_quota_warns_and_keeps_the_default";
    if child::is_child(NAME) {
        assert_eq!(npk_wildx_get_quota(), 64 << 20);
        return;
    }
    let out = child::run(NAME, &[("NPK_WILDX_QUOTA", "abc")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "wildx: warning: NPK_WILDX_QUOTA=abc is not a byte count (e.g. 1048576); using the default quota of 67108864 bytes"
        ),
        "{stderr}"
    );
    let out = child::run(
        NAME,
        &[("NPK_WILDX_QUOTA", "abc"), ("NPK_WILDX_QUIET", "1")],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: NPK_WILDX_QUOTA=abc"),
        "configuration warnings are not silenced by NPK_WILDX_QUIET"
    );
}
