//! `Jit.assemble` through the C ABI (`npk_jit_assemble_size`, `npk_jit_assemble_install`) and
//! the Rust `assemble`, and from a C program linking the static library.

use std::ffi::{CStr, CString, c_void};
use std::process::Command;

use npk_runtime::*;

#[path = "common/cprog.rs"]
mod cprog;

fn last_error() -> String {
    // SAFETY: always safe; returns a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(npk_jit_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn size(text: &str, sig: &str) -> i64 {
    let (t, s) = (
        CString::new(text).expect("text"),
        CString::new(sig).expect("sig"),
    );
    // SAFETY: both are NUL-terminated strings that outlive the call.
    unsafe { npk_jit_assemble_size(t.as_ptr(), s.as_ptr()) }
}

fn install(page: *mut c_void, text: &str, sig: &str) -> i32 {
    let (t, s) = (
        CString::new(text).expect("text"),
        CString::new(sig).expect("sig"),
    );
    // SAFETY: both are NUL-terminated strings that outlive the call; page is checked.
    unsafe { npk_jit_assemble_install(page, t.as_ptr(), s.as_ptr()) }
}

/// size, alloc, install, seal: what `Jit.assemble` in the stdlib does. The page, or the error.
fn assemble_page(text: &str, sig: &str) -> Result<*mut c_void, String> {
    let n = size(text, sig);
    if n < 0 {
        return Err(last_error());
    }
    let page = npk_wildx_alloc(n as usize);
    assert!(!page.is_null());
    if install(page, text, sig) != 0 {
        let e = last_error();
        // SAFETY: a page of ours, freed once.
        assert_eq!(unsafe { npk_wildx_free(page) }, 0);
        return Err(e);
    }
    // SAFETY: a writable page of ours.
    assert_eq!(unsafe { npk_wildx_seal(page) }, 0);
    Ok(page)
}

fn free(page: *mut c_void) {
    // SAFETY: a page of ours, freed once.
    assert_eq!(unsafe { npk_wildx_free(page) }, 0);
}

#[test]
fn assembled_text_runs_with_its_proven_signature() {
    let page = assemble_page("lea rax, [rdi+rsi]\nret", "int64(int64,int64)").expect("assembles");
    assert_eq!(last_error(), "");
    // SAFETY: a sealed page of ours; the helper checks its signature.
    assert_eq!(unsafe { npk_jit_call_i64_i64_i64(page, 40, 2) }, 42);
    let mut status = -1;
    // SAFETY: as above; the page was proven for another signature, so the call is refused.
    assert_eq!(unsafe { npk_jit_try_call_i64_i64(page, 1, &mut status) }, 0);
    assert_eq!(status, 5, "signature mismatch");
    free(page);
}

#[test]
fn a_loop_with_labels_assembles_validates_and_runs() {
    let text =
        "xor eax, eax\ntest rdi, rdi\njle done\ntop: add rax, rdi\ndec rdi\njnz top\ndone: ret";
    let page = assemble_page(text, "int64(int64)").expect("assembles");
    // SAFETY: a sealed page of ours proven for int64(int64).
    unsafe {
        assert_eq!(npk_jit_call_i64_i64(page, 100), 5050);
        assert_eq!(npk_jit_call_i64_i64(page, -3), 0);
    }
    free(page);
}

#[test]
fn the_size_is_the_code_length() {
    assert_eq!(
        size("mov eax, edi; add eax, esi; ret", "int32(int32,int32)"),
        5
    );
}

#[test]
fn a_syntax_error_names_line_column_and_what_was_expected() {
    assert_eq!(size("ret\nmov rax,", "int64(int64)"), -1);
    assert_eq!(
        last_error(),
        "line 2, column 9: expected an operand, found the end of the statement"
    );
    assert_eq!(size("ret\n  frob rax", "int64(int64)"), -1);
    assert_eq!(last_error(), "line 2, column 3: unknown instruction `frob`");
}

#[test]
fn a_validator_rejection_names_the_source_line() {
    let e =
        assemble_page("mov rax, rdi\nadd rax, [rdi]\nret", "int64(int64)").expect_err("rejected");
    assert!(e.starts_with("line 2: `add rax, [rdi]`: "), "{e}");
    let e = assemble_page("mov eax, edi\n\n  # no ret\n  add eax, 1", "int32(int32)")
        .expect_err("rejected");
    assert!(e.starts_with("line 4: `add eax, 1`: "), "{e}");
}

#[test]
fn the_last_error_is_cleared_by_a_success() {
    assert_eq!(size("frob", "int64()"), -1);
    assert!(!last_error().is_empty());
    assert_eq!(size("xor eax, eax; ret", "int64()"), 3);
    assert_eq!(last_error(), "");
}

#[test]
fn bad_signatures_pointers_and_texts_are_refused_with_a_reason() {
    assert_eq!(size("ret", "int64(int65)"), -1);
    assert!(
        last_error().contains("unknown type `int65`"),
        "{}",
        last_error()
    );
    assert_eq!(size("# nothing", "int64()"), -1);
    assert_eq!(last_error(), "the text has no instructions");
    // A helper the runtime has: the code (7 bytes), padding, one slot.
    assert_eq!(
        size("call print_i64; ret", "int64(int64) uses print_i64"),
        16
    );
    assert_eq!(size("call nope; ret", "int64(int64) uses nope"), -1);
    assert!(
        last_error().contains("no JIT helper named `nope`"),
        "{}",
        last_error()
    );
    let mut local = 0u64;
    assert_eq!(
        install((&raw mut local).cast(), "xor eax, eax; ret", "int64()"),
        -1
    );
    assert!(last_error().starts_with("wildx page: "), "{}", last_error());
    let sig = c"int64()";
    // SAFETY: NULL text is checked; sig is NUL-terminated.
    let rc = unsafe { npk_jit_assemble_size(std::ptr::null(), sig.as_ptr()) };
    assert_eq!(rc, -1);
    assert_eq!(last_error(), "text is NULL");
    let page = npk_wildx_alloc(16);
    // SAFETY: NULL signature is checked; the text is NUL-terminated.
    let rc = unsafe { npk_jit_assemble_install(page, c"ret".as_ptr(), std::ptr::null()) };
    assert_eq!(rc, -1);
    assert_eq!(last_error(), "signature is NULL");
    let bad_utf8 = [0xffu8, 0];
    // SAFETY: a NUL-terminated byte string.
    let rc = unsafe { npk_jit_assemble_install(page, bad_utf8.as_ptr().cast(), sig.as_ptr()) };
    assert_eq!(rc, -1);
    assert_eq!(last_error(), "text is not UTF-8");
    free(page);
}

#[test]
fn code_larger_than_the_page_is_refused_and_nothing_is_written() {
    let text = format!("{}xor eax, eax\nret", "nop\n".repeat(5000));
    assert_eq!(size(&text, "int64()"), 5003);
    let page = npk_wildx_alloc(4096);
    assert_eq!(install(page, &text, "int64()"), -1);
    assert!(last_error().starts_with("wildx page: "), "{}", last_error());
    // SAFETY: the page is writable and 4096 bytes long.
    let first = unsafe { *page.cast::<u8>() };
    assert_eq!(first, 0);
    free(page);
}

#[test]
fn install_assembles_its_own_text_even_after_sizing_another() {
    assert_eq!(size("xor eax, eax; ret", "int64()"), 3);
    let page = npk_wildx_alloc(64);
    assert_eq!(
        install(page, "mov eax, 7; ret", "int64()"),
        0,
        "{}",
        last_error()
    );
    // SAFETY: a writable page of ours.
    assert_eq!(unsafe { npk_wildx_seal(page) }, 0);
    // SAFETY: a sealed page of ours stays readable (PROT_READ|PROT_EXEC) until freed.
    let code = unsafe { std::slice::from_raw_parts(page.cast::<u8>(), 6) };
    assert_eq!(code, [0xb8, 7, 0, 0, 0, 0xc3]);
    free(page);
    // The same text with another signature is assembled and validated for that one.
    assert_eq!(size("mov eax, edi; ret", "int32(int32)"), 3);
    let page = npk_wildx_alloc(64);
    assert_eq!(install(page, "mov eax, edi; ret", "int32()"), -1);
    assert!(
        last_error().contains("line 1: `mov eax, edi`"),
        "{}",
        last_error()
    );
    free(page);
}

#[test]
fn installing_into_a_sealed_page_is_refused() {
    let page = assemble_page("xor eax, eax; ret", "int64()").expect("assembles");
    assert_eq!(install(page, "xor eax, eax; ret", "int64()"), -1);
    free(page);
}

#[test]
fn the_rust_api_assembles_into_a_sealed_page() {
    let f = npk_runtime::assemble("mov rax, rdi\nimul rax, rax\nret", "int64(int64)").expect("ok");
    let sq = f.typed::<extern "C" fn(i64) -> i64>().expect("signature");
    assert_eq!(sq.call(-9), 81);
    let e = npk_runtime::assemble("mov rax, rdi\nmov rax, [rdi]\nret", "int64(int64)")
        .expect_err("rejected");
    assert!(
        matches!(&e, AssembleError::Rejected { line: 2, text, .. } if text == "mov rax, [rdi]"),
        "{e}"
    );
}

#[test]
fn a_c_program_assembles_and_calls_through_the_static_library() {
    let exe = cprog::build("assemble");
    let run = Command::new(&exe).output().expect("run the C program");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "size=16 install=0 seal=0 sum=5050 status=0 error=[]"
    );
    assert_eq!(
        lines[1],
        "size=-1 error=[line 2, column 9: expected an operand, found the end of the statement]"
    );
    assert!(
        lines[2].starts_with("install=-1 error=[line 2: `add rax, [rdi]`: "),
        "{stdout}"
    );
    assert!(
        lines[3].starts_with("install=-1 error=[wildx page: "),
        "{stdout}"
    );
    assert_eq!(run.stderr, b"", "the assemble calls print nothing");
}

fn arena_assemble(arena: *mut c_void, text: &str, sig: &str) -> *mut c_void {
    let (t, s) = (
        CString::new(text).expect("text"),
        CString::new(sig).expect("sig"),
    );
    // SAFETY: both are NUL-terminated strings that outlive the call; arena is checked.
    unsafe { npk_jit_arena_assemble(arena, t.as_ptr(), s.as_ptr()) }
}

#[test]
fn text_assembled_into_an_arena_runs_at_its_final_address_once_sealed() {
    let ar = npk_wildx_arena_create(4096);
    assert!(!ar.is_null());
    let add = arena_assemble(ar, "lea rax, [rdi+rsi]\nret", "int64(int64,int64)");
    assert!(!add.is_null(), "{}", last_error());
    // A relative branch: only correct if validated where it will run.
    let sum = arena_assemble(
        ar,
        "xor eax, eax\ntest rdi, rdi\njle done\ntop: add rax, rdi\ndec rdi\njnz top\ndone: ret",
        "int64(int64)",
    );
    assert!(!sum.is_null(), "{}", last_error());
    assert_eq!((sum as usize - add as usize) % 64, 0, "64-byte granularity");
    let mut status = -1;
    // SAFETY: a function of our arena; the helper refuses it while the arena is writable.
    assert_eq!(unsafe { npk_jit_try_call_i64_i64(sum, 4, &mut status) }, 0);
    assert_eq!(status, 3, "not sealed");
    // SAFETY: our writable arena.
    assert_eq!(unsafe { npk_wildx_arena_seal(ar) }, 0);
    // SAFETY: functions of our sealed arena, proven for these signatures.
    unsafe {
        assert_eq!(npk_jit_call_i64_i64_i64(add, 40, 2), 42);
        assert_eq!(npk_jit_call_i64_i64(sum, 4), 10);
    }
    // SAFETY: our arena, freed once.
    assert_eq!(unsafe { npk_wildx_arena_free(ar) }, 0);
    // SAFETY: a function of a freed arena: looked up, refused.
    assert_eq!(unsafe { npk_jit_try_call_i64_i64(sum, 4, &mut status) }, 0);
    assert_eq!(status, 4, "freed");
}

#[test]
fn arena_assemble_reports_syntax_rejection_and_a_bad_arena() {
    let ar = npk_wildx_arena_create(64);
    assert!(arena_assemble(ar, "mov rax, \nret", "int64()").is_null());
    assert!(last_error().contains("line 1"), "{}", last_error());
    assert!(arena_assemble(ar, "mov rax, [rdi]\nsyscall\nret", "int64(int64)").is_null());
    assert!(last_error().contains("line 2"), "{}", last_error());
    let page = npk_wildx_alloc(64);
    assert!(arena_assemble(page, "ret", "int64()").is_null());
    assert!(
        last_error().contains("not a code arena"),
        "{}",
        last_error()
    );
    free(page);
    assert!(arena_assemble(std::ptr::null_mut(), "ret", "int64()").is_null());
    // SAFETY: our arena, freed once.
    assert_eq!(unsafe { npk_wildx_arena_free(ar) }, 0);
    assert!(arena_assemble(ar, "xor eax, eax\nret", "int64()").is_null());
    assert!(!last_error().is_empty());
}
