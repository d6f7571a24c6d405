//! Buffer signatures through the C ABI: every way of making a page (`npk_jit_compile`,
//! `npk_jit_install` + seal, `npk_jit_assemble_*`, `npk_jit_arena_add`) records the
//! signature's exact page identity, and `npk_jit_fn(page, sig)` hands out an entry only
//! for exactly that signature (element type, extent, `mut`; not parameter names); refusals
//! name both signatures in canonical form. Most functions here do not dereference their
//! buffers (they test the signature plumbing, not the validator); `a_summing_loop_...` does.

#[path = "common/cprog.rs"]
mod cprog;

use std::ffi::{CStr, CString, c_void};

use npk_runtime::*;

/// `mov rax, rsi; ret`: returns the extent, never touches the buffer.
const RETURN_N: [u8; 4] = [0x48, 0x89, 0xf0, 0xc3];
const SUM_SIG: &str = "int64(int64* xs[n], int64 n)";

fn last_error() -> String {
    // SAFETY: always safe; returns a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(npk_jit_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

fn compiled(code: &[u8], sig: &str) -> *mut c_void {
    let s = c(sig);
    // SAFETY: `code` is readable for its length, `s` NUL-terminated; both outlive the call.
    let p = unsafe { npk_jit_compile(code.as_ptr().cast(), code.len() as i64, s.as_ptr()) };
    assert!(!p.is_null(), "{}", last_error());
    p
}

fn entry(p: *mut c_void, sig: &str) -> *const c_void {
    let s = c(sig);
    // SAFETY: `s` is NUL-terminated and outlives the call; `p` is checked.
    unsafe { npk_jit_fn(p, s.as_ptr()) }
}

fn identity(sig: &str) -> u32 {
    let s = c(sig);
    // SAFETY: `s` is NUL-terminated and outlives the call.
    unsafe { npk_jit_sig_identity(s.as_ptr()) }
}

fn free(p: *mut c_void) {
    // SAFETY: a page of ours, freed once.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
}

/// Calls `f` as `int64(int64* xs[n], int64 n)` on `xs`.
fn call_sum(f: *const c_void, xs: &[i64]) -> i64 {
    assert!(!f.is_null(), "{}", last_error());
    // SAFETY: `npk_jit_fn` returned `f` for a live page proven for exactly
    // int64(int64* xs[n], int64 n); `xs` holds `n` elements.
    let f: extern "C" fn(*const i64, i64) -> i64 = unsafe { std::mem::transmute(f) };
    f(xs.as_ptr(), xs.len() as i64)
}

#[test]
fn a_compiled_buffer_function_is_callable_for_exactly_its_signature() {
    let p = compiled(&RETURN_N, SUM_SIG);
    let xs = [5i64, 6, 7];
    assert_eq!(call_sum(entry(p, SUM_SIG), &xs), 3);
    // Names are not part of the signature.
    assert_eq!(
        entry(p, "int64(int64 *data[len], int64 len)"),
        p.cast_const()
    );
    assert_eq!(entry(p, "int64(int64*[#1],int64)"), p.cast_const());
    free(p);
}

#[test]
fn a_buffer_signature_that_differs_in_anything_but_names_is_refused_with_both_signatures() {
    let p = compiled(&RETURN_N, SUM_SIG);
    let wrong = [
        ("int64(uint64* xs[n], int64 n)", "int64(uint64*[#1],int64)"),
        ("int64(int32* xs[n], int64 n)", "int64(int32*[#1],int64)"),
        (
            "int64(mut int64* xs[n], int64 n)",
            "int64(mut int64*[#1],int64)",
        ),
        ("int64(int64* xs[4], int64 n)", "int64(int64*[4],int64)"),
        ("int64(int64* xs[n], uint64 n)", "int64(int64*[#1],uint64)"),
        ("uint64(int64* xs[n], int64 n)", "uint64(int64*[#1],int64)"),
        // Same 32-bit tag as the page's signature: the identity tells them apart.
        ("int64(ptr, int64)", "int64(ptr,int64)"),
    ];
    for (sig, canonical) in wrong {
        assert!(entry(p, sig).is_null(), "{sig}");
        assert_eq!(npk_jit_fn_refusal(), 5, "{sig}");
        let expected = format!(
            "signature mismatch: the page is proven for `int64(int64*[#1],int64)`, the caller wants `{canonical}`"
        );
        assert!(last_error().contains(&expected), "{sig}: {}", last_error());
    }
    free(p);
}

#[test]
fn a_scalar_page_asked_for_a_buffer_signature_names_both() {
    let p = compiled(&RETURN_N, "int64(int64,int64)");
    assert!(entry(p, SUM_SIG).is_null());
    assert_eq!(npk_jit_fn_refusal(), 5);
    assert!(
        last_error().contains(
            "the page is proven for `int64(int64,int64)`, the caller wants `int64(int64*[#1],int64)`"
        ),
        "{}",
        last_error()
    );
    free(p);
}

#[test]
fn the_identity_from_npk_jit_sig_identity_opens_the_page_and_nothing_else_does() {
    let p = compiled(&RETURN_N, SUM_SIG);
    let id = identity("int64(int64* values[count], int64 count)");
    assert_ne!(id & npk_jit::BUFFER_BIT, 0);
    let sig: npk_jit::Signature = SUM_SIG.parse().expect("valid");
    assert_eq!(sig.identity(), Ok(id));
    assert_eq!(call_sum(npk_jit_fn_tag(p, id), &[1, 2]), 2);
    // Its tag is not its identity; neither are 0 and NPK_JIT_NO_IDENTITY.
    assert!(npk_jit_fn_tag(p, sig.tag()).is_null());
    assert_eq!(npk_jit_fn_refusal(), 5);
    assert!(npk_jit_fn_tag(p, 0).is_null());
    assert_eq!(npk_jit_fn_refusal(), 9);
    assert!(npk_jit_fn_tag(p, NO_IDENTITY).is_null());
    assert_eq!(npk_jit_fn_refusal(), 5);
    assert!(
        last_error().contains("an unknown signature (identity 0xffffffff)"),
        "{}",
        last_error()
    );
    free(p);
}

#[test]
fn a_page_sealed_without_a_signature_is_not_callable_with_identity_0() {
    let p = npk_wildx_alloc(16);
    assert!(!p.is_null());
    // SAFETY: a writable page of ours, 16 bytes: `ret`, then sealed without a signature.
    unsafe {
        p.cast::<u8>().write(0xc3);
        assert_eq!(npk_wildx_seal(p), 0);
    }
    assert!(npk_jit_fn_tag(p, 0).is_null());
    assert_eq!(npk_jit_fn_refusal(), 9);
    assert!(entry(p, SUM_SIG).is_null());
    assert_eq!(npk_jit_fn_refusal(), 6);
    assert!(
        last_error().contains("needs one proven for `int64(int64*[#1],int64)`"),
        "{}",
        last_error()
    );
    free(p);
}

#[test]
fn a_bad_signature_has_no_identity() {
    assert_eq!(identity("int64(int64* xs[m], int64 n)"), NO_IDENTITY);
    assert_eq!(npk_jit_fn_refusal(), 9);
    assert!(
        last_error().contains("not a parameter name"),
        "{}",
        last_error()
    );
    // SAFETY: NULL is allowed.
    let null = unsafe { npk_jit_sig_identity(std::ptr::null()) };
    assert_eq!(null, NO_IDENTITY);
    assert_eq!(
        identity("int32(int32,int32)"),
        0x1121,
        "a scalar identity is its tag"
    );
}

#[test]
fn install_then_seal_records_the_buffer_identity() {
    let p = npk_wildx_alloc(64);
    assert!(!p.is_null());
    let s = c("int64(uint8* s[len], int64 len, int32 c)");
    // SAFETY: our writable page; code and signature outlive the call.
    let rc = unsafe { npk_jit_install(p, RETURN_N.as_ptr().cast(), 4, s.as_ptr()) };
    assert_eq!(rc, 0, "{}", last_error());
    // SAFETY: our page.
    assert_eq!(unsafe { npk_wildx_seal(p) }, 0);
    let f = entry(p, "int64(uint8* bytes[n], int64 n, int32 c)");
    assert_eq!(f, p.cast_const(), "{}", last_error());
    // SAFETY: proven for exactly int64(uint8* s[len], int64 len, int32 c).
    let f: extern "C" fn(*const u8, i64, i32) -> i64 = unsafe { std::mem::transmute(f) };
    assert_eq!(f(b"hello".as_ptr(), 5, 0), 5);
    assert!(entry(p, "int64(int8* s[len], int64 len, int32 c)").is_null());
    free(p);
}

#[test]
fn assembled_pages_and_arena_functions_record_the_buffer_identity() {
    let sig = c("int64(mut int64* out[8], int64 x)");
    let text = c("mov rax, rsi\nret");
    // SAFETY: NUL-terminated strings outliving the calls; pages checked by the runtime.
    unsafe {
        let n = npk_jit_assemble_size(text.as_ptr(), sig.as_ptr());
        assert!(n > 0, "{}", last_error());
        let p = npk_wildx_alloc(n as usize);
        assert_eq!(
            npk_jit_assemble_install(p, text.as_ptr(), sig.as_ptr()),
            0,
            "{}",
            last_error()
        );
        assert_eq!(npk_wildx_seal(p), 0);
        let f = entry(p, "int64(mut int64* o[8], int64 y)");
        assert_eq!(f, p.cast_const(), "{}", last_error());
        let f: extern "C" fn(*mut i64, i64) -> i64 = std::mem::transmute(f);
        let mut out = [0i64; 8];
        assert_eq!(f(out.as_mut_ptr(), 42), 42);
        assert!(entry(p, "int64(int64* o[8], int64 y)").is_null(), "not mut");
        free(p);

        let arena = npk_wildx_arena_create(4096);
        assert!(!arena.is_null());
        let added = npk_jit_arena_add(arena, RETURN_N.as_ptr().cast(), 4, c(SUM_SIG).as_ptr());
        assert!(!added.is_null(), "{}", last_error());
        let text_fn = npk_jit_arena_assemble(arena, text.as_ptr(), sig.as_ptr());
        assert!(!text_fn.is_null(), "{}", last_error());
        assert_eq!(npk_wildx_arena_seal(arena), 0);
        assert_eq!(call_sum(entry(added, SUM_SIG), &[9, 9, 9, 9]), 4);
        assert!(entry(added, "int64(int64* xs[n], uint64 n)").is_null());
        assert_eq!(npk_jit_fn_refusal(), 5);
        assert_eq!(
            entry(text_fn, "int64(mut int64* out[8], int64 x)"),
            text_fn.cast_const()
        );
        assert_eq!(npk_wildx_arena_free(arena), 0);
    }
}

#[test]
fn a_c_program_compiles_and_calls_a_buffer_function() {
    let run = std::process::Command::new(cprog::build("buffer_fn"))
        .env("NPK_WILDX_QUIET", "1")
        .output()
        .expect("run the C program");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        stdout,
        "n=4\nrefused=5 [call refused: signature mismatch: the page is proven for `int64(int64*[#1],int64)`, the caller wants `int64(int32*[#1],int64)`]\nsum=5050 empty=0\noff by one refused: yes\nfailures=0\n"
    );
}

/// The summing loop of issue 11, called with a real array through `npk_jit_fn`.
#[test]
fn a_summing_loop_is_called_with_a_real_array() {
    let text = "xor eax, eax\nxor ecx, ecx\ntest rsi, rsi\njle done\nL: add rax, [rdi+rcx*8]\ninc rcx\ncmp rcx, rsi\njl L\ndone: ret";
    let f = assemble(text, SUM_SIG).expect("the validator proves the loop");
    let p = f.into_raw();
    let xs: Vec<i64> = (1..=100).collect();
    assert_eq!(call_sum(entry(p, SUM_SIG), &xs), 5050);
    assert_eq!(call_sum(entry(p, SUM_SIG), &[]), 0);
    free(p);
}
