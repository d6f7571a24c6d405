//! Program output for `npk_print_*` and `npk_exit`: stdout, flushed at every `\n` and at exit.
//!
//! Rust's `stdout()` is line-buffered; because a C `main` does not run Rust's exit cleanup,
//! the first print registers an `atexit` hook that flushes it. Write errors (closed pipe) are
//! ignored: printing never aborts the program.

use std::io::Write;
use std::sync::Once;

static AT_EXIT: Once = Once::new();

extern "C" fn flush_at_exit() {
    flush();
}

/// Flushes buffered program output.
pub(crate) fn flush() {
    let _ = std::io::stdout().lock().flush();
}

/// Writes `bytes` to the program's stdout.
pub(crate) fn write(bytes: &[u8]) {
    AT_EXIT.call_once(|| {
        // SAFETY: registering a plain `extern "C" fn()` with no captured state; the hook only
        // flushes Rust's stdout, which is valid for the whole life of the process.
        let _ = unsafe { libc::atexit(flush_at_exit) };
    });
    let _ = std::io::stdout().lock().write_all(bytes);
}

/// Formats a bool the Nitpick way.
pub(crate) fn bool_text(b: i32) -> &'static str {
    if b != 0 { "true" } else { "false" }
}
