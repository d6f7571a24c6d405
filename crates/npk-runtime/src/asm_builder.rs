//! The text behind `stdlib/asm.npk`'s `Asm` builder, and its C exports.
//!
//! An `Asm` value is a small heap block from `npk_alloc` that the program owns
//! (so the ownership checker tracks it like any allocation: `Asm.new` allocates
//! it, `Asm.free` releases it). The text lives here, in a process-wide registry
//! keyed by the block's address; the block's bytes are never read, so a stale
//! or foreign pointer is refused, never dereferenced. `npk_asm_begin` (re)starts
//! the entry for a fresh block, which also drops text left behind by a block
//! released with a bare `free` whose address `npk_alloc` handed out again.

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_void};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::jit_compile::set_last_error;

/// Builder text by block address. Each text ends in one NUL byte, so a pointer
/// to it is a C string.
static TEXTS: Mutex<Option<HashMap<usize, Vec<u8>>>> = Mutex::new(None);

fn texts() -> MutexGuard<'static, Option<HashMap<usize, Vec<u8>>>> {
    TEXTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts (or restarts) an empty text for the block `a`. Returns 0, or -1 for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn npk_asm_begin(a: *mut c_void) -> i32 {
    if a.is_null() {
        return -1;
    }
    texts()
        .get_or_insert_with(HashMap::new)
        .insert(a as usize, vec![0]);
    0
}

/// Appends `line` and a newline to the text of builder `a`. Returns 0, or -1 (reason in
/// `npk_jit_last_error`) if `a` is not a live builder or `line` is NULL, not UTF-8, or holds
/// a NUL byte.
///
/// # Safety
/// `line` is NULL or a NUL-terminated string owned by the caller; `a` may be any value (it
/// is looked up, never dereferenced). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_asm_emit(a: *mut c_void, line: *const c_char) -> i32 {
    if line.is_null() {
        set_last_error("Asm.emit: the line is NULL");
        return -1;
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(line) }.to_bytes();
    if std::str::from_utf8(bytes).is_err() {
        set_last_error("Asm.emit: the line is not UTF-8");
        return -1;
    }
    let mut guard = texts();
    let Some(text) = guard.as_mut().and_then(|m| m.get_mut(&(a as usize))) else {
        set_last_error(&format!("Asm.emit: {a:p} is not a live Asm builder"));
        return -1;
    };
    text.pop();
    text.extend_from_slice(bytes);
    text.extend_from_slice(b"\n\0");
    0
}

/// The text of builder `a` so far (a NUL-terminated string), or NULL (reason in
/// `npk_jit_last_error`) if `a` is not a live builder. The pointer stays valid until the
/// next `npk_asm_emit`, `npk_asm_begin` or `npk_asm_end` of `a`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_asm_text(a: *mut c_void) -> *const c_char {
    let guard = texts();
    match guard.as_ref().and_then(|m| m.get(&(a as usize))) {
        // The heap buffer does not move while the entry is unchanged.
        Some(text) => text.as_ptr().cast(),
        None => {
            set_last_error(&format!("Asm.finish: {a:p} is not a live Asm builder"));
            std::ptr::null()
        }
    }
}

/// Drops the text of builder `a` (before its block is released). Returns 0, or -1 if `a`
/// was not a live builder. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn npk_asm_end(a: *mut c_void) -> i32 {
    let mut guard = texts();
    let removed = guard.as_mut().and_then(|m| m.remove(&(a as usize)));
    // The last builder gone: drop the map too, so a program that released every builder
    // leaves no runtime heap block behind (valgrind-clean).
    if guard.as_ref().is_some_and(HashMap::is_empty) {
        *guard = None;
    }
    match removed {
        Some(_) => 0,
        None => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emitted_lines_accumulate_until_the_builder_ends() {
        let mut block = [0u8; 8];
        let a: *mut c_void = block.as_mut_ptr().cast();
        assert_eq!(npk_asm_begin(a), 0);
        // SAFETY: literal C strings.
        unsafe {
            assert_eq!(npk_asm_emit(a, c"mov eax, edi".as_ptr()), 0);
            assert_eq!(npk_asm_emit(a, c"ret".as_ptr()), 0);
        }
        // SAFETY: a live builder's text is a C string until the next change.
        let text = unsafe { CStr::from_ptr(npk_asm_text(a)) };
        assert_eq!(text.to_str(), Ok("mov eax, edi\nret\n"));
        assert_eq!(npk_asm_end(a), 0);
        assert!(npk_asm_text(a).is_null());
        // SAFETY: literal C string; `a` is no longer a builder.
        assert_eq!(unsafe { npk_asm_emit(a, c"ret".as_ptr()) }, -1);
        assert_eq!(npk_asm_end(a), -1);
    }
}
