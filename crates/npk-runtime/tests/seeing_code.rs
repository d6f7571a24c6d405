//! Seeing JIT code through the C ABI: `npk_jit_disasm` listings, `npk_jit_name`, and the
//! `perf` map (`NPK_PERF_MAP=1`, checked in a child process whose map file is read back).

// Only `run_with_pid` of the shared child helpers is used here.
#[allow(dead_code)]
#[path = "common/child.rs"]
mod child;

use std::ffi::{CStr, c_void};

use npk_runtime::*;

/// lea rax, [rdi+rsi]; add rax, rsi; ret
const POLY: [u8; 8] = [0x48, 0x8d, 0x04, 0x37, 0x48, 0x01, 0xf0, 0xc3];

fn compile(code: &[u8]) -> *mut c_void {
    // SAFETY: code is readable for its length; the signature is NUL-terminated.
    let p = unsafe {
        npk_jit_compile(
            code.as_ptr().cast(),
            code.len() as i64,
            c"int64(int64,int64)".as_ptr(),
        )
    };
    assert!(!p.is_null());
    p
}

fn disasm(p: *mut c_void) -> (i32, String) {
    let mut status = -1;
    // SAFETY: the runtime checks p; status is a valid i32; the text is copied at once.
    let text = unsafe { CStr::from_ptr(npk_jit_disasm(p, &mut status)) };
    (status, text.to_string_lossy().into_owned())
}

fn name(p: *mut c_void, name: &CStr) -> i32 {
    // SAFETY: the runtime checks p; name is NUL-terminated.
    unsafe { npk_jit_name(p, name.as_ptr()) }
}

fn free(p: *mut c_void) {
    // SAFETY: test code; the runtime checks the pointer.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
}

#[test]
fn disasm_lists_installed_code_and_hand_filled_bytes() {
    let poly = compile(&POLY);
    assert_eq!(
        disasm(poly),
        (
            0,
            "   0:  48 8d 04 37  lea rax, [rdi+rsi]\n   4:  48 01 f0     add rax, rsi\n   7:  c3           ret\n"
                .to_string()
        )
    );
    // Filled by hand: the bytes asked for, without the page's trailing zeros.
    let hand = npk_wildx_alloc(16);
    // SAFETY: a fresh writable page of at least 16 bytes.
    unsafe { std::ptr::copy_nonoverlapping([0x31u8, 0xc0, 0xc3].as_ptr(), hand.cast(), 3) };
    assert_eq!(
        disasm(hand).1,
        "   0:  31 c0  xor eax, eax\n   2:  c3     ret\n"
    );
    free(hand);
    free(poly);
    // Freed, foreign and NULL pages are refused with their codes and an empty text.
    assert_eq!(disasm(poly), (4, String::new()));
    let mut local = 0u8;
    assert_eq!(disasm((&raw mut local).cast()).0, 2);
    assert_eq!(disasm(std::ptr::null_mut()).0, 1);
}

#[test]
fn disasm_lists_exactly_the_assembled_code() {
    let text = c"lea rax, [rdi+rsi]\nret";
    let sig = c"int64(int64,int64)";
    // SAFETY: both strings are NUL-terminated.
    let n = unsafe { npk_jit_assemble_size(text.as_ptr(), sig.as_ptr()) };
    assert_eq!(n, 5);
    let page = npk_wildx_alloc(n as usize);
    // SAFETY: the runtime checks the page; the strings are NUL-terminated.
    unsafe {
        assert_eq!(
            npk_jit_assemble_install(page, text.as_ptr(), sig.as_ptr()),
            0
        );
        assert_eq!(npk_wildx_seal(page), 0);
    }
    assert_eq!(
        disasm(page),
        (
            0,
            "   0:  48 8d 04 37  lea rax, [rdi+rsi]\n   4:  c3           ret\n".to_string()
        )
    );
    free(page);
}

#[test]
fn name_refuses_bad_names_and_dead_pages() {
    let p = compile(&POLY);
    assert_eq!(name(p, c"poly"), 0);
    assert_eq!(name(p, c""), 9);
    assert_eq!(name(p, c"two words"), 9);
    assert_eq!(name(p, c"line\nbreak"), 9);
    free(p);
    assert_eq!(name(p, c"late"), 4);
    assert_eq!(name(std::ptr::null_mut(), c"x"), 1);
}

#[test]
fn perf_map_lists_every_sealed_page_by_name() {
    const NAME: &str = "perf_map_lists_every_sealed_page_by_name";
    if child::is_child(NAME) {
        // Unnamed, installed by the runtime, sealed by hand.
        let a = npk_wildx_alloc(5);
        // SAFETY: the runtime checks the pointers.
        unsafe {
            assert_eq!(npk_jit_install_add_i32(a), 0);
            assert_eq!(npk_wildx_seal(a), 0);
        }
        // Named before its seal.
        let b = npk_wildx_alloc(5);
        // SAFETY: as above.
        unsafe { assert_eq!(npk_jit_install_add_i32(b), 0) };
        assert_eq!(name(b, c"before_seal"), 0);
        // SAFETY: as above.
        unsafe { assert_eq!(npk_wildx_seal(b), 0) };
        // Compiled (sealed inside), named afterwards: its line is rewritten.
        let c = compile(&POLY);
        assert_eq!(name(c, c"poly"), 0);
        println!("pages {:x} {:x} {:x}", a as usize, b as usize, c as usize);
        for p in [a, b, c] {
            free(p);
        }
        return;
    }
    let (pid, out) = child::run_with_pid(NAME, &[("NPK_PERF_MAP", "1")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages: Vec<&str> = stdout
        .lines()
        .find_map(|l| l.split_once("pages ").map(|(_, rest)| rest))
        .expect("the child prints its pages")
        .split(' ')
        .collect();
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).expect("the perf map exists");
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        map,
        format!(
            "{} 5 npk_jit_1\n{} 5 before_seal\n{} 8 poly\n",
            pages[0], pages[1], pages[2]
        )
    );
}

#[test]
fn without_perf_map_no_file_is_written() {
    const NAME: &str = "without_perf_map_no_file_is_written";
    if child::is_child(NAME) {
        free(compile(&POLY));
        return;
    }
    let (pid, out) = child::run_with_pid(NAME, &[]);
    assert!(out.status.success());
    assert!(!std::path::Path::new(&format!("/tmp/perf-{pid}.map")).exists());
}
