//! Seeing JIT code: what the runtime knows about each live C-ABI page (size asked for, length
//! of the installed code, name), the `perf` map, and disassembly.
//!
//! * `npk_jit_name(p, name)` names a page. `npk_jit_disasm(p, &status)` lists its code in
//!   Intel syntax (`npk-disasm`): the installed code (`npk_jit_install`, `npk_jit_compile`,
//!   `npk_jit_install_add_i32`), or for a page filled by hand the bytes asked for at
//!   `npk_wildx_alloc` without trailing zero bytes.
//! * With `NPK_PERF_MAP=1`, each seal appends `START SIZE name` (hex, no `0x`) to
//!   `/tmp/perf-<pid>.map`, the file `perf report` reads for JIT symbols. An unnamed page is
//!   `npk_jit_<n>`, `n` counting seals in this process from 1 (stable from run to run of a
//!   deterministic program). Naming a page after its seal (the only way for `Jit.compile`,
//!   which seals before returning) rewrites that line: the file is written anew beside and
//!   renamed over the old one, so a reader never sees half of it. Lines of freed pages stay:
//!   samples taken while they lived still resolve.
//!
//! The exports live here rather than in `abi.rs` (like `jit_compile.rs`'s); `abi.rs` calls
//! the `allocated`/`freed`/`sealed` hooks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_void};
use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// What the runtime knows about one live page, by address.
#[derive(Debug, Default)]
struct PageInfo {
    /// Bytes asked for at `npk_wildx_alloc`.
    requested: usize,
    /// Length of the code installed by the runtime, if any.
    code_len: Option<usize>,
    /// The name given by `npk_jit_name`.
    name: Option<String>,
}

fn pages() -> MutexGuard<'static, HashMap<usize, PageInfo>> {
    static PAGES: OnceLock<Mutex<HashMap<usize, PageInfo>>> = OnceLock::new();
    PAGES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records a page handed out for `requested` bytes.
pub(crate) fn allocated(p: *const c_void, requested: usize) {
    pages().insert(
        p as usize,
        PageInfo {
            requested,
            ..PageInfo::default()
        },
    );
}

/// Records that `len` bytes of code were installed at the start of `p`.
pub(crate) fn installed(p: *const c_void, len: usize) {
    let mut pages = pages();
    let info = pages.entry(p as usize).or_default();
    info.code_len = Some(len);
    info.requested = info.requested.max(len);
}

/// Forgets a freed page.
pub(crate) fn freed(p: *const c_void) {
    pages().remove(&(p as usize));
}

/// The bytes of code at `p`, by what is known about it.
fn code_len(p: *const c_void) -> usize {
    let (requested, installed) = pages()
        .get(&(p as usize))
        .map_or((PAGE, None), |i| (i.requested.max(1), i.code_len));
    if let Some(n) = installed {
        return n;
    }
    // SAFETY: the caller checked that `p` is a live page of ours; its run is at least
    // `requested` bytes (or one page) and readable in both states (RW or RX).
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), requested) };
    bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// The smallest run: one x86-64 page.
const PAGE: usize = 4096;

/// `NPK_PERF_MAP=1`, read once.
fn perf_map_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NPK_PERF_MAP").is_some_and(|v| v == "1"))
}

/// The perf map's lines so far and the count of sealed pages.
#[derive(Debug, Default)]
struct PerfMap {
    lines: Vec<(usize, usize, String)>,
    seals: u64,
}

fn perf_map() -> MutexGuard<'static, PerfMap> {
    static MAP: OnceLock<Mutex<PerfMap>> = OnceLock::new();
    MAP.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn perf_map_path() -> String {
    format!("/tmp/perf-{}.map", std::process::id())
}

fn perf_line(start: usize, size: usize, name: &str) -> String {
    format!("{start:x} {size:x} {name}\n")
}

/// Writes a perf-map problem once; the operation itself never fails for it.
fn perf_map_warning(e: &std::io::Error) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::io::stderr().write_all(
            format!("wildx: warning: cannot write {}: {e}\n", perf_map_path()).as_bytes(),
        );
    });
}

/// A page was sealed: with `NPK_PERF_MAP=1`, appends its line to the perf map.
pub(crate) fn sealed(p: *const c_void) {
    if !perf_map_enabled() {
        return;
    }
    let size = code_len(p).max(1);
    let name = pages().get(&(p as usize)).and_then(|i| i.name.clone());
    let mut map = perf_map();
    map.seals += 1;
    let name = name.unwrap_or_else(|| format!("npk_jit_{}", map.seals));
    let line = perf_line(p as usize, size, &name);
    map.lines.push((p as usize, size, name));
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(perf_map_path())
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = appended {
        perf_map_warning(&e);
    }
}

/// Renames the line of the sealed page at `start` and rewrites the perf map.
fn rename_in_perf_map(start: usize, name: &str) {
    let mut map = perf_map();
    let Some(line) = map.lines.iter_mut().rev().find(|l| l.0 == start) else {
        return;
    };
    line.2 = name.to_string();
    let text: String = map
        .lines
        .iter()
        .map(|(s, n, name)| perf_line(*s, *n, name))
        .collect();
    let path = perf_map_path();
    let tmp = format!("{path}.tmp");
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        perf_map_warning(&e);
    }
}

/// `Ok` for a live page of ours (writable or sealed), else the refusal's code (reported).
fn live_page(op: &str, p: *mut c_void) -> Result<(), i32> {
    match wildx::page_state(p.cast()) {
        wildx::PageState::Writable | wildx::PageState::Executable => Ok(()),
        _ => match wildx::lookup(p.cast()) {
            Err(e) => Err(crate::jit::rejected(op, p, e).code()),
            Ok(_) => Ok(()), // sealed in between
        },
    }
}

/// Why `name` cannot name a page, if it cannot.
fn bad_name(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 200 {
        Some("a name has 1 to 200 bytes")
    } else if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Some("a name has no spaces or control characters (it is one word of the perf map)")
    } else {
        None
    }
}

/// Names the page `p` (for `Jit.disasm` users and the perf map, see the module docs).
/// Returns 0, or the refusal code (`NPK_JIT_ERR_*`: 1 null, 2 not ours, 4 freed; 9 a bad
/// name), with the reason in `npk_jit_last_error` and one stderr line.
///
/// # Safety
/// `p` may be any value (it is checked); `name` is NULL or a NUL-terminated string valid
/// during the call (it is copied). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_name(p: *mut c_void, name: *const c_char) -> i32 {
    let name = if name.is_null() {
        Err("the name is NULL")
    } else {
        // SAFETY: non-null and NUL-terminated by the caller's contract.
        unsafe { CStr::from_ptr(name) }
            .to_str()
            .map_err(|_| "the name is not UTF-8")
    };
    let result = std::panic::catch_unwind(|| {
        live_page("name", p)?;
        let name = name.and_then(|n| bad_name(n).map_or(Ok(n), Err));
        let name = name.map_err(|why| {
            crate::jit::refused_because("name", &format_args!("{p:p}"), why);
            9
        })?;
        let sealed = wildx::page_state(p.cast()) == wildx::PageState::Executable;
        pages().entry(p as usize).or_default().name = Some(name.to_string());
        if sealed && perf_map_enabled() {
            rename_in_perf_map(p as usize, name);
        }
        Ok(())
    });
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(code)) => code,
        Err(_) => 9,
    }
}

thread_local! {
    static LISTING: RefCell<CString> = RefCell::new(CString::default());
}

/// The Intel-syntax listing of the code in page `p` (writable or sealed; see the module
/// docs for how much is listed), one instruction per line: `OFFSET:  BYTES  INSTRUCTION`,
/// offsets (and branch targets) counted from the start of the page.
/// Writes 0 to `*status` and returns the text, or writes the refusal code (`NPK_JIT_ERR_*`)
/// and returns "" (never NULL). The text is this thread's buffer, valid until the next
/// `npk_jit_disasm` on this thread: copy it to keep it (`Jit.disasm` returns a template
/// string, which the compiler owns).
///
/// # Safety
/// `p` may be any value (it is checked); `status` is NULL or valid for one `int32_t` write.
/// Writing the page from another thread meanwhile is a data race of the caller's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_disasm(p: *mut c_void, status: *mut i32) -> *const c_char {
    let result = std::panic::catch_unwind(|| {
        live_page("disasm", p)?;
        let len = code_len(p);
        // SAFETY: a live page of ours, readable for at least `len` bytes (`code_len`).
        let code = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
        Ok(npk_disasm::listing(code, 0))
    });
    let (code, text) = match result {
        Ok(Ok(text)) => (0, text),
        Ok(Err(code)) => (code, String::new()),
        Err(_) => (9, String::new()),
    };
    if !status.is_null() {
        // SAFETY: non-null, and the caller guarantees it is valid for one write.
        unsafe { status.write(code) };
    }
    LISTING
        .try_with(|l| {
            *l.borrow_mut() = CString::new(text).unwrap_or_default();
            l.borrow().as_ptr()
        })
        .unwrap_or(c"".as_ptr())
}
