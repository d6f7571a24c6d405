//! Stderr lines: audit lines (`NPK_WILDX_AUDIT=1`) and rejection lines.
//!
//! Each line is formatted first and written with one `write_all`, so lines from different
//! threads never interleave. Write errors are ignored: reporting must never fail an operation.

use std::fmt;
use std::io::Write;

use crate::error::Error;

fn line(args: fmt::Arguments<'_>) {
    let text = format!("wildx: {args}\n");
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Writes an audit line if `NPK_WILDX_AUDIT=1`.
pub(crate) fn audit(args: fmt::Arguments<'_>) {
    if crate::options::options().audit {
        line(args);
    }
}

/// Writes `wildx: <op>(<addr>) rejected: <reason>` to stderr.
///
/// The C ABI calls this for every refused operation; Rust callers get the [`Error`] instead
/// and may call this to report it the same way.
pub fn report_rejection(op: &str, addr: *const u8, err: &Error) {
    line(format_args!("{op}({addr:p}) rejected: {err}"));
}
