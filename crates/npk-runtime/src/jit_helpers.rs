//! The runtime's table of JIT helpers: functions JIT code may call through
//! its import table (`uses NAME, ...`, SPEC §8.3).
//!
//! In: the names of a signature's `uses` clause. Out: the validator's
//! [`Helper`] list (name and signature, for `Policy::helpers`) and the
//! import table's bytes: each helper's absolute address, in `uses` order,
//! placed after the code at the next 8-byte boundary and sealed with it.
//! Every helper here is an ordinary `extern "C"` function that never
//! unwinds; its signature is what the validator proves each call against.
//! The table: `print_i64(int64)`, `copy_bytes(mut uint8* dst[n], uint8*
//! src[n], int64 n)` and `gc_collect() -> int64` (`npk_gc_collect_helper`,
//! a full collection: JIT code roots the `gc` values it holds across it,
//! `docs/gc.md`) and `exit_with(int64 code)` (ends the program, an
//! abort with a code).

use npk_jit::Helper;

/// `print_i64(int64)`: prints the number and a newline on the program's
/// stdout (the same stream as `print`).
extern "C" fn print_i64(v: i64) {
    crate::abi::npk_print_i64(v);
    // SAFETY: a static NUL-terminated string.
    unsafe { crate::abi::npk_print_cstr(c"\n".as_ptr()) };
}

/// `copy_bytes(mut uint8* dst[n], uint8* src[n], int64 n)`: copies `n`
/// bytes (none for `n <= 0`). The validator proved both buffers hold `n`
/// bytes; they may overlap.
extern "C" fn copy_bytes(dst: *mut u8, src: *const u8, n: i64) {
    if let Ok(n) = usize::try_from(n)
        && n > 0
    {
        // SAFETY: the validator proved `[dst, dst+n)` and `[src, src+n)` inside
        // the caller's buffers, whose extents the caller promised.
        unsafe { std::ptr::copy(src, dst, n) };
    }
}

/// `exit_with(int64 code)`: flushes the program's output and ends the
/// process with `code` (its low 8 bits, as `exit` does); never returns.
extern "C" fn exit_with(code: i64) {
    crate::abi::npk_exit(code as i32);
}

/// The address of each runtime helper named in `npk_jit::RUNTIME_HELPERS`.
fn address(name: &str) -> Option<usize> {
    Some(match name {
        "print_i64" => print_i64 as extern "C" fn(i64) as usize,
        "copy_bytes" => copy_bytes as extern "C" fn(*mut u8, *const u8, i64) as usize,
        "gc_collect" => crate::npk_gc_collect_helper as extern "C" fn() -> i64 as usize,
        "exit_with" => exit_with as extern "C" fn(i64) as usize,
        _ => return None,
    })
}

/// Every runtime helper, for the validator's policy.
#[must_use]
pub fn helpers() -> Vec<Helper> {
    npk_jit::runtime_helpers()
}

/// The import table for `uses` (helper addresses, little-endian, in order),
/// or the first name the runtime has no helper for.
///
/// # Errors
/// The unknown name.
pub fn import_table(uses: &[String]) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(8 * uses.len());
    for name in uses {
        let known = npk_jit::RUNTIME_HELPERS.iter().any(|(n, _)| n == name);
        let address = address(name)
            .filter(|_| known)
            .ok_or_else(|| name.clone())?;
        bytes.extend_from_slice(&(address as u64).to_le_bytes());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_helper_signature_parses_and_has_an_address() {
        assert_eq!(
            helpers().len(),
            npk_jit::RUNTIME_HELPERS.len(),
            "every signature parses"
        );
        let names: Vec<String> = helpers().into_iter().map(|h| h.name).collect();
        let t = import_table(&names).expect("all known");
        assert_eq!(t.len(), 8 * names.len());
        assert!(t.chunks(8).all(|c| c.iter().any(|&b| b != 0)));
        assert_eq!(import_table(&["nope".to_string()]), Err("nope".to_string()));
    }
}
