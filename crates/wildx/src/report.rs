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

/// Writes `wildx: warning: <text>` to stderr (configuration problems; never silenced).
pub(crate) fn warning(args: fmt::Arguments<'_>) {
    line(format_args!("warning: {args}"));
}

/// Writes `wildx: <op>(<arg>) rejected: <reason>` to stderr, e.g.
/// `wildx: seal(0x7f3a2c001000) rejected: page already sealed`, unless
/// `NPK_WILDX_QUIET=1`.
///
/// `arg` is the pointer (formatted `{:p}`) or, for `alloc`, the size. The C ABI calls this for
/// every refused operation; Rust callers get the [`Error`] and may report it the same way.
pub fn report_rejection(op: &str, arg: &dyn fmt::Display, err: &Error) {
    report_reason(op, arg, err);
}

/// [`report_rejection`] with a reason worded by the caller (the runtime prints a signature
/// mismatch with the signatures, which this crate only knows as tags).
pub fn report_reason(op: &str, arg: &dyn fmt::Display, reason: &dyn fmt::Display) {
    if !crate::options::options().quiet {
        line(format_args!("{op}({arg}) rejected: {reason}"));
    }
}
