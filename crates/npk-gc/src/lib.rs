//! `npk-gc`: the precise, generational, moving collector behind the runtime's `gc` C ABI.
//!
//! * `heap` — [`Heap`]: allocation of integer and reference arrays, checked element access
//!   with the write barrier, root registration, the shadow stack, statistics.
//! * `collect` — nursery (Cheney copy, ageing, promotion) and full (mark-sweep) collections.
//! * `nursery`, `old`, `roots` — the spaces and root sets; `object` — the header layout;
//!   `raw` — the only module that reads or writes memory by address.
//! * `global` — the process heap used by `npk-runtime`'s C exports and its one-mutator
//!   thread model.
//!
//! Addresses are `usize`. Nothing but an address proven to be an object start (or a
//! registered slot) is ever dereferenced. Design and ABI for code generation: `docs/gc.md`.

#![warn(missing_docs)]

mod collect;
mod error;
pub mod global;
mod heap;
mod nursery;
mod object;
mod old;
mod raw;
mod roots;

pub use error::{Error, ErrorKind, Result};
pub use heap::{Config, Heap, Stats};
pub use object::{ELEMENT_BYTES, HEADER_BYTES, Kind, MAX_LEN};
pub use roots::{MAX_FRAME_SLOTS, MAX_FRAMES};

#[cfg(test)]
mod tests;
