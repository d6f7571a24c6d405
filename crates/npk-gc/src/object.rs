//! The object layout, shared by the collector and (later) code generation.
//!
//! An object is a header word followed by `len` 8-byte elements; an object pointer is the
//! address of the header (8-byte aligned), element `i` lives at `p + 8 + 8 * i`.
//! Header bits (a `u64`):
//!
//! | bits | meaning |
//! |---|---|
//! | 0 | 1 = header; 0 = the word is a forwarding address (only mid-collection) |
//! | 1 | kind: 0 = integer array, 1 = reference array |
//! | 2 | mark (old space, during a full collection) |
//! | 3 | remembered (old object listed in the remembered set) |
//! | 4..8 | age: nursery collections survived |
//! | 32..64 | length in elements |

/// What an object's elements are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 64-bit integers, never traced.
    Ints,
    /// NULL or gc object pointers, traced and rewritten by the collector.
    Refs,
}

/// Bytes of the header word.
pub const HEADER_BYTES: usize = 8;
/// Bytes of one element.
pub const ELEMENT_BYTES: usize = 8;
/// The largest element count an object can have.
pub const MAX_LEN: usize = u32::MAX as usize;

const LIVE: u64 = 1;
const REFS: u64 = 1 << 1;
const MARK: u64 = 1 << 2;
const REMEMBERED: u64 = 1 << 3;
const AGE_SHIFT: u32 = 4;
const AGE_MASK: u64 = 0xf << AGE_SHIFT;
const LEN_SHIFT: u32 = 32;

/// A decoded header word (a copy; writing it back is the caller's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header(pub(crate) u64);

impl Header {
    pub(crate) fn new(kind: Kind, len: usize) -> Header {
        debug_assert!(len <= MAX_LEN);
        let k = if kind == Kind::Refs { REFS } else { 0 };
        Header(LIVE | k | ((len as u64) << LEN_SHIFT))
    }

    /// A forwarding word, or `None` if this is a real header.
    pub(crate) fn forwarded_to(self) -> Option<usize> {
        (self.0 & LIVE == 0).then_some(self.0 as usize)
    }

    pub(crate) fn kind(self) -> Kind {
        if self.0 & REFS != 0 {
            Kind::Refs
        } else {
            Kind::Ints
        }
    }

    pub(crate) fn len(self) -> usize {
        (self.0 >> LEN_SHIFT) as usize
    }

    /// Total bytes of the object, header included.
    pub(crate) fn bytes(self) -> usize {
        object_bytes(self.len())
    }

    pub(crate) fn marked(self) -> bool {
        self.0 & MARK != 0
    }

    pub(crate) fn with_mark(self, on: bool) -> Header {
        Header(if on { self.0 | MARK } else { self.0 & !MARK })
    }

    pub(crate) fn remembered(self) -> bool {
        self.0 & REMEMBERED != 0
    }

    pub(crate) fn with_remembered(self, on: bool) -> Header {
        Header(if on {
            self.0 | REMEMBERED
        } else {
            self.0 & !REMEMBERED
        })
    }

    pub(crate) fn age(self) -> u32 {
        ((self.0 & AGE_MASK) >> AGE_SHIFT) as u32
    }

    pub(crate) fn with_age(self, age: u32) -> Header {
        Header((self.0 & !AGE_MASK) | (u64::from(age.min(15)) << AGE_SHIFT))
    }
}

/// Bytes of an object of `len` elements, header included.
pub(crate) const fn object_bytes(len: usize) -> usize {
    HEADER_BYTES + len * ELEMENT_BYTES
}

/// Address of element `i` of the object at `obj`.
pub(crate) const fn element_addr(obj: usize, i: usize) -> usize {
    obj + HEADER_BYTES + i * ELEMENT_BYTES
}
