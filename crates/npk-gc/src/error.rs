//! Errors of the collector's API: a data-only `ErrorKind` and its stable C status code.
//!
//! Every refusal of the heap (a pointer that is not an object, an index out of bounds, a
//! slot registered twice, a call from a thread that does not own the heap, ...) is one
//! variant here; `ErrorKind::code` is the `NPK_GC_ERR_*` value the C ABI returns, so the
//! header's table and this enum cannot drift apart (tests/header.rs of npk-runtime checks).

use std::fmt;

/// Why the heap refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The pointer is not the start of a live object of this heap.
    NotAnObject,
    /// An integer access on a reference array, or a reference access on an integer array.
    WrongKind,
    /// The element index is negative or not below the length.
    OutOfBounds,
    /// The calling thread is not the heap's mutator (see `global`).
    WrongThread,
    /// A NULL slot or frame pointer.
    Null,
    /// A slot or frame pointer that is not 8-byte aligned.
    Misaligned,
    /// `add_root` of a slot that is already registered.
    AlreadyRooted,
    /// `remove_root` of a slot that is not registered.
    NotRooted,
    /// Storing into a reference array a value that is neither NULL nor a live object.
    NotAReference,
    /// The heap limit is reached even after a full collection.
    OutOfMemory,
    /// `pop_frame` of a frame that is not the top one, or an empty shadow stack.
    FrameMismatch,
    /// A negative or too large element count (allocation, frame size).
    BadSize,
    /// The heap is in use by an enclosing call, or an earlier call panicked inside it.
    Busy,
    /// The shadow stack is deeper than the limit, or frames are still pushed at detach.
    FramesPushed,
}

impl ErrorKind {
    /// The `NPK_GC_ERR_*` status the C ABI returns for this kind (never 0).
    #[must_use]
    pub const fn code(self) -> i32 {
        match self {
            ErrorKind::NotAnObject => 1,
            ErrorKind::WrongKind => 2,
            ErrorKind::OutOfBounds => 3,
            ErrorKind::WrongThread => 4,
            ErrorKind::Null => 5,
            ErrorKind::Misaligned => 6,
            ErrorKind::AlreadyRooted => 7,
            ErrorKind::NotRooted => 8,
            ErrorKind::NotAReference => 9,
            ErrorKind::OutOfMemory => 10,
            ErrorKind::FrameMismatch => 11,
            ErrorKind::BadSize => 12,
            ErrorKind::Busy => 13,
            ErrorKind::FramesPushed => 14,
        }
    }

    /// Every kind, in code order (for tables and tests).
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::NotAnObject,
        ErrorKind::WrongKind,
        ErrorKind::OutOfBounds,
        ErrorKind::WrongThread,
        ErrorKind::Null,
        ErrorKind::Misaligned,
        ErrorKind::AlreadyRooted,
        ErrorKind::NotRooted,
        ErrorKind::NotAReference,
        ErrorKind::OutOfMemory,
        ErrorKind::FrameMismatch,
        ErrorKind::BadSize,
        ErrorKind::Busy,
        ErrorKind::FramesPushed,
    ];

    fn text(self) -> &'static str {
        match self {
            ErrorKind::NotAnObject => "not the start of a live gc object",
            ErrorKind::WrongKind => "wrong array kind for this access",
            ErrorKind::OutOfBounds => "element index out of bounds",
            ErrorKind::WrongThread => "the heap belongs to another mutator thread",
            ErrorKind::Null => "null slot pointer",
            ErrorKind::Misaligned => "slot pointer not 8-byte aligned",
            ErrorKind::AlreadyRooted => "slot is already a registered root",
            ErrorKind::NotRooted => "slot is not a registered root",
            ErrorKind::NotAReference => "value is neither null nor a live gc object",
            ErrorKind::OutOfMemory => "gc heap limit reached",
            ErrorKind::FrameMismatch => "not the top shadow-stack frame",
            ErrorKind::BadSize => "negative or too large element count",
            ErrorKind::Busy => "heap busy (re-entered, or poisoned by an earlier panic)",
            ErrorKind::FramesPushed => "shadow stack too deep, or frames still pushed",
        }
    }
}

/// An error of the collector's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

impl Error {
    pub(crate) const fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    /// What went wrong.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The C status code (`NPK_GC_ERR_*`).
    #[must_use]
    pub const fn code(&self) -> i32 {
        self.kind.code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.text())
    }
}

impl std::error::Error for Error {}

/// Result of the collector's API.
pub type Result<T> = std::result::Result<T, Error>;
