//! Page identities: one `u32` per signature, exact for every signature.
//!
//! In: a [`Signature`]. Out: the `u32` a `wildx` page (or arena function)
//! records as "proven for this signature", and back. A signature without a
//! buffer parameter is its [`Signature::tag`] (bit 31 always clear: type codes
//! are at most 5, so no nibble of a tag reaches bit 31). A signature with a
//! buffer is `BUFFER_BIT | k`, where `k` indexes a process-wide, append-only
//! table of the buffer signatures seen so far: equal signatures (equal
//! canonical texts, [`Signature::canonical`]) get equal identities, different
//! ones different identities, for the life of the process. Identities are not
//! stable across processes; only the canonical text is.
//!
//! The table holds at most [`MAX_BUFFER_SIGNATURES`] (16,384) signatures; a
//! signature is 152 bytes, kept in a list and as a hash-map key, so a full
//! table is at most about 8 MiB. Interning one more fails with
//! [`IdentityError`] and nothing is recorded. Lookups take a shared read lock
//! (uncontended: one atomic operation to take it, one to release); only a
//! signature seen for the first time takes the write lock. A lookup that only
//! asks ([`Signature::known_identity`]) never grows the table, so callers
//! that merely check a page against a signature cannot fill it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use crate::Signature;

/// The bit that marks an identity as an index into the buffer-signature table.
pub const BUFFER_BIT: u32 = 0x8000_0000;

/// Most buffer signatures one process can intern (2^14).
pub const MAX_BUFFER_SIGNATURES: usize = 1 << 14;

/// Why a signature got no identity: the process has interned
/// [`MAX_BUFFER_SIGNATURES`] distinct buffer signatures already.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityError {
    signature: String,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no page identity for `{}`: this process already uses {MAX_BUFFER_SIGNATURES} distinct buffer signatures (the limit)",
            self.signature
        )
    }
}

impl std::error::Error for IdentityError {}

/// The interned buffer signatures: `list[k]` has identity `BUFFER_BIT | k`.
#[derive(Default)]
struct Table {
    index: HashMap<Signature, u32>,
    list: Vec<Signature>,
}

static TABLE: RwLock<Option<Table>> = RwLock::new(None);

impl Signature {
    /// The page identity of this signature (see the module docs of
    /// `identity.rs`): its [`tag`](Signature::tag) without buffers, else an
    /// index into the process's table of buffer signatures, interned now if
    /// it is new.
    ///
    /// ```
    /// use npk_jit::Signature;
    /// let add: Signature = "int32(int32,int32)".parse().expect("valid");
    /// assert_eq!(add.identity(), Ok(add.tag()));
    /// let sum: Signature = "int64(int64* xs[n], int64 n)".parse().expect("valid");
    /// let id = sum.identity().expect("room in the table");
    /// assert_ne!(id & 0x8000_0000, 0);
    /// assert_eq!(Signature::from_identity(id), Some(sum));
    /// ```
    ///
    /// # Errors
    /// [`IdentityError`] when the table is full ([`MAX_BUFFER_SIGNATURES`]).
    pub fn identity(&self) -> Result<u32, IdentityError> {
        if !self.needs_table() {
            return Ok(self.tag());
        }
        if let Some(id) = lookup(self) {
            return Ok(id);
        }
        let mut guard = TABLE.write().unwrap_or_else(PoisonError::into_inner);
        let table = guard.get_or_insert_with(Table::default);
        if let Some(&id) = table.index.get(self) {
            return Ok(id);
        }
        if table.list.len() >= MAX_BUFFER_SIGNATURES {
            return Err(IdentityError {
                signature: self.canonical(),
            });
        }
        let id = BUFFER_BIT | table.list.len() as u32;
        table.list.push(*self);
        table.index.insert(*self, id);
        Ok(id)
    }

    /// The identity of this signature if it already has one (a scalar
    /// signature always does); never grows the table. `None` means no page
    /// can have been proven for it in this process.
    #[must_use]
    pub fn known_identity(&self) -> Option<u32> {
        if self.needs_table() {
            lookup(self)
        } else {
            Some(self.tag())
        }
    }

    /// The signature whose identity is `id`: a scalar tag is decoded, a
    /// buffer identity looked up in the table. `None` for 0 (no signature)
    /// and for any value no signature of this process has.
    #[must_use]
    pub fn from_identity(id: u32) -> Option<Signature> {
        if id & BUFFER_BIT != 0 {
            let k = (id & !BUFFER_BIT) as usize;
            let guard = TABLE.read().unwrap_or_else(PoisonError::into_inner);
            return guard.as_ref()?.list.get(k).copied();
        }
        Signature::from_tag(id)
    }
}

impl Signature {
    /// Whether the tag cannot say it all: buffers or imports.
    fn needs_table(&self) -> bool {
        self.has_buffer() || self.has_uses()
    }
}

/// The interned identity of a buffer signature, under the read lock.
fn lookup(sig: &Signature) -> Option<u32> {
    let guard = TABLE.read().unwrap_or_else(PoisonError::into_inner);
    guard.as_ref()?.index.get(sig).copied()
}
