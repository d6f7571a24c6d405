//! The crate's error type: `Error { kind }` with a `#[non_exhaustive]` `ErrorKind`.
//!
//! Every refusal of the registry (bad size, quota, wrong state, foreign pointer,
//! signature mismatch, tampered code) and every OS failure is one `ErrorKind`.
//! `Display` gives the short lowercase reason used in the stderr line
//! `wildx: <op>(<ptr>) rejected: <reason>`; [`Error::code`] gives the stable
//! nonzero status code that `npk_jit_try_call_*` writes to `*status`.

use std::fmt;

/// An error of the W^X allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A size of zero bytes was requested.
    ZeroSize,
    /// The size overflows when rounded up to whole pages (plus guard pages).
    SizeOverflow,
    /// The allocation would push the mapped bytes over the quota.
    QuotaExceeded {
        /// Bytes the allocation would map, guard pages included.
        requested: usize,
        /// Bytes mapped by live allocations before this one.
        mapped: usize,
        /// The quota in force.
        quota: usize,
    },
    /// The reserved address range has no room left for a run of this size.
    ArenaExhausted,
    /// The pointer is null.
    Null,
    /// The pointer is not the start of a page run this registry handed out.
    NotOurs,
    /// The page was freed.
    Freed,
    /// The page is already sealed (or being sealed by another thread).
    AlreadySealed,
    /// The page is not sealed, so it cannot be called.
    NotSealed,
    /// The bytes do not fit in the page.
    TooLong,
    /// The page is owned by a Rust handle; the raw (C) API may not change its state.
    OwnedByHandle,
    /// The operation is for pages, and this is a code arena.
    IsArena,
    /// The operation is for code arenas, and this is a page.
    NotAnArena,
    /// The code arena has no room left for the function.
    ArenaFull {
        /// Bytes of the function.
        needed: usize,
        /// Bytes left in the arena.
        available: usize,
    },
    /// The page's recorded signature tag differs from the caller's.
    SignatureMismatch {
        /// The tag the caller asked for.
        expected: u32,
        /// The tag recorded at seal.
        found: u32,
    },
    /// The page carries no signature tag and `NPK_JIT_STRICT=1` is set.
    Unsigned,
    /// The page contents no longer match the hash recorded at seal (`NPK_WILDX_VERIFY=1`).
    Tampered,
    /// An OS call failed.
    Os {
        /// `mmap`, `mprotect RW`, `mprotect RX`, `madvise` or `munmap`.
        op: &'static str,
        /// Start address of the range.
        addr: usize,
        /// Length of the range in bytes.
        len: usize,
        /// The `errno` value.
        errno: i32,
    },
}

impl Error {
    pub(crate) const fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    pub(crate) const fn os(op: &'static str, addr: usize, len: usize, errno: i32) -> Self {
        Self::new(ErrorKind::Os {
            op,
            addr,
            len,
            errno,
        })
    }

    /// What went wrong.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable nonzero status code for this refusal (see `NPK_JIT_ERR_*` in `npk_runtime.h`).
    ///
    /// 1 null, 2 not ours, 3 not sealed, 4 freed, 5 signature mismatch, 6 unsigned page under
    /// `NPK_JIT_STRICT`, 7 tampered code, 8 owned by a Rust handle, 9 anything else.
    #[must_use]
    pub const fn code(&self) -> i32 {
        match self.kind {
            ErrorKind::Null => 1,
            ErrorKind::NotOurs => 2,
            ErrorKind::NotSealed => 3,
            ErrorKind::Freed => 4,
            ErrorKind::SignatureMismatch { .. } => 5,
            ErrorKind::Unsigned => 6,
            ErrorKind::Tampered => 7,
            ErrorKind::OwnedByHandle => 8,
            _ => 9,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::ZeroSize => f.write_str("zero size"),
            ErrorKind::SizeOverflow => f.write_str("size overflows when rounded to pages"),
            ErrorKind::QuotaExceeded {
                requested,
                mapped,
                quota,
            } => write!(
                f,
                "quota exceeded ({requested} bytes requested, {mapped} mapped, quota {quota})"
            ),
            ErrorKind::ArenaExhausted => f.write_str("reserved address range exhausted"),
            ErrorKind::Null => f.write_str("null pointer"),
            ErrorKind::NotOurs => f.write_str("not a wildx page"),
            ErrorKind::Freed => f.write_str("page was freed"),
            ErrorKind::AlreadySealed => f.write_str("page already sealed"),
            ErrorKind::NotSealed => f.write_str("page is not sealed"),
            ErrorKind::TooLong => f.write_str("code does not fit in the page"),
            ErrorKind::OwnedByHandle => f.write_str("page is owned by a rust handle"),
            ErrorKind::IsArena => f.write_str("this is a code arena, not a page"),
            ErrorKind::NotAnArena => f.write_str("not a code arena"),
            ErrorKind::ArenaFull { needed, available } => write!(
                f,
                "code arena full ({needed} bytes needed, {available} left)"
            ),
            ErrorKind::SignatureMismatch { expected, found } => {
                write!(
                    f,
                    "signature mismatch (page has 0x{found:x}, caller wants 0x{expected:x})"
                )
            }
            ErrorKind::Unsigned => f.write_str("page has no signature (NPK_JIT_STRICT=1)"),
            ErrorKind::Tampered => f.write_str("code hash differs from the one recorded at seal"),
            ErrorKind::Os {
                op,
                addr,
                len,
                errno,
            } => write!(
                f,
                "{op} 0x{len:x} bytes at 0x{addr:x} failed: {}",
                std::io::Error::from_raw_os_error(errno)
            ),
        }
    }
}

impl std::error::Error for Error {}
