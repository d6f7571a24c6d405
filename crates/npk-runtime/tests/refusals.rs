//! How refusals reach a program: `npk_jit_last_error` after every kind of refusal
//! (allocation, call, compile), signature mismatches worded with signatures,
//! `NPK_WILDX_QUIET=1`, and the warning for an unparsable `NPK_WILDX_QUOTA`.
//! Each test runs in a child process because options and the quota are process-wide.

#[path = "common/child.rs"]
mod child;

use std::ffi::{CStr, c_void};

use npk_runtime::*;

/// lea rax, [rdi+rsi]; ret
const ADD_I64: [u8; 5] = [0x48, 0x8d, 0x04, 0x37, 0xc3];
/// xor eax, eax; syscall; ret
const SYSCALL: [u8; 5] = [0x31, 0xc0, 0x0f, 0x05, 0xc3];

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
