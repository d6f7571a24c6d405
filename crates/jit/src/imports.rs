//! Helper imports: the `uses` clause of a signature and the names it holds.
//!
//! A signature `int64(int64 x) uses print_i64` may call the helpers it
//! names (SPEC §8.3). Names are interned in a process-wide, append-only
//! table (at most [`MAX_HELPER_NAMES`]), so a [`Signature`]
//! stays a small `Copy` value holding their indices; the names take part in
//! its identity, in `uses` order (the order of the import table). What each
//! name means — its signature — is the [`Policy`](crate::Policy)'s
//! [`Helper`] list, filled by the runtime (or a Rust embedder).

use std::sync::{PoisonError, RwLock};

use crate::Signature;

/// Most helpers one signature may import.
pub const MAX_USES: usize = 8;

/// Most distinct helper names one process may intern.
pub const MAX_HELPER_NAMES: usize = 4096;

static NAMES: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// The index of `name`, interned now if new; `None` when the table is full.
pub(crate) fn intern(name: &str) -> Option<u16> {
    {
        let names = NAMES.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = names.iter().position(|n| n == name) {
            return Some(i as u16);
        }
    }
    let mut names = NAMES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = names.iter().position(|n| n == name) {
        return Some(i as u16);
    }
    if names.len() >= MAX_HELPER_NAMES {
        return None;
    }
    names.push(name.to_string());
    Some((names.len() - 1) as u16)
}

/// The name interned as `i`.
pub(crate) fn name(i: u16) -> String {
    NAMES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(usize::from(i))
        .cloned()
        .unwrap_or_default()
}

/// A function JIT code may call through the import table: its name and
/// the signature its arguments must satisfy (buffers allowed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helper {
    /// The name a `uses` clause names it by.
    pub name: String,
    /// What it takes and returns.
    pub signature: Signature,
}

/// Byte offset of the import table of `code_len` bytes of code: the next
/// 8-byte boundary. Slot `k` (the `k`-th name of `uses`) is at
/// `import_table_offset(code_len) + 8 * k` and holds the helper's absolute
/// address, sealed with the code.
#[must_use]
pub const fn import_table_offset(code_len: usize) -> usize {
    code_len.next_multiple_of(8)
}

/// The helpers the Nitpick runtime provides (name, signature), the table
/// `npkc jit-check` and `Jit.assemble` validate `uses` against; the runtime
/// supplies an address for each (its tests check every name has one).
pub const RUNTIME_HELPERS: &[(&str, &str)] = &[
    ("print_i64", "NIL(int64 v)"),
    (
        "copy_bytes",
        "NIL(mut uint8* dst[n], uint8* src[n], int64 n)",
    ),
    ("gc_collect", "int64()"),
    ("exit_with", "NIL(int64 code)"),
];

/// [`RUNTIME_HELPERS`] as the validator's [`Helper`] list.
#[must_use]
pub fn runtime_helpers() -> Vec<Helper> {
    RUNTIME_HELPERS
        .iter()
        .filter_map(|(name, sig)| {
            Some(Helper {
                name: (*name).to_string(),
                signature: sig.parse().ok()?,
            })
        })
        .collect()
}
