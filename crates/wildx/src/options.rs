//! Process-wide options, read from the environment once (on first use) and cached.
//!
//! | variable | effect |
//! |---|---|
//! | `NPK_WILDX_AUDIT=1` | one stderr line per alloc, install, seal, free and checked call |
//! | `NPK_WILDX_GUARD_PAGES=1` | a `PROT_NONE` page before and after every allocation (counted in the quota) |
//! | `NPK_WILDX_VERIFY=1` | every checked call re-hashes the page and refuses code changed since seal |
//! | `NPK_WILDX_QUOTA=<bytes>` | initial quota (default 64 MiB); `npk_wildx_set_quota` overrides it |
//! | `NPK_WILDX_QUIET=1` | no `rejected:` stderr lines (the reason is still returned / recorded) |
//! | `NPK_JIT_STRICT=1` | checked calls also refuse pages sealed without a signature tag |
//!
//! A flag is on when its value is exactly `1`. A quota that is not a decimal byte count
//! (`NPK_WILDX_QUOTA=abc`) keeps the default and prints one warning line to stderr when
//! the options are first read, so a typo is never silently ignored.

use std::sync::OnceLock;

/// Default quota: 64 MiB.
pub const DEFAULT_QUOTA: usize = 64 << 20;

/// The cached options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// `NPK_WILDX_AUDIT=1`.
    pub audit: bool,
    /// `NPK_WILDX_GUARD_PAGES=1`.
    pub guard_pages: bool,
    /// `NPK_WILDX_VERIFY=1`.
    pub verify: bool,
    /// `NPK_JIT_STRICT=1`.
    pub strict: bool,
    /// `NPK_WILDX_QUIET=1`: rejection lines are not printed.
    pub quiet: bool,
    /// `NPK_WILDX_QUOTA`, or [`DEFAULT_QUOTA`].
    pub initial_quota: usize,
}

static OPTIONS: OnceLock<Options> = OnceLock::new();

fn flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "1")
}

fn read_env() -> Options {
    Options {
        audit: flag("NPK_WILDX_AUDIT"),
        guard_pages: flag("NPK_WILDX_GUARD_PAGES"),
        verify: flag("NPK_WILDX_VERIFY"),
        strict: flag("NPK_JIT_STRICT"),
        quiet: flag("NPK_WILDX_QUIET"),
        initial_quota: quota_from_env(),
    }
}

/// `NPK_WILDX_QUOTA` as a byte count; the default (with one warning line) when it is set
/// but is not a decimal number of bytes.
fn quota_from_env() -> usize {
    let Some(raw) = std::env::var_os("NPK_WILDX_QUOTA") else {
        return DEFAULT_QUOTA;
    };
    match raw.to_str().and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(bytes) => bytes,
        None => {
            crate::report::warning(format_args!(
                "NPK_WILDX_QUOTA={} is not a byte count (e.g. 1048576); using the default quota of {DEFAULT_QUOTA} bytes",
                raw.to_string_lossy()
            ));
            DEFAULT_QUOTA
        }
    }
}

/// The options of this process (read from the environment on the first call only).
#[must_use]
#[inline]
pub fn options() -> &'static Options {
    OPTIONS.get_or_init(read_env)
}
