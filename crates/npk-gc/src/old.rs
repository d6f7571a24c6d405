//! The old space: objects promoted out of the nursery (and arrays too large for it), each in
//! its own block from the global allocator, found through a hash set of their addresses,
//! reclaimed by mark-sweep during a full collection. Old objects never move, so the only
//! costs of a promotion are one allocation and one set insertion.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::raw::Block;

/// A multiplicative hash for 8-aligned addresses (std's SipHash costs more than the work).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = ((n as u64) >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 ^= self.0 >> 29;
    }
}

/// Address-keyed map with [`AddrHasher`].
pub(crate) type AddrMap<V> = HashMap<usize, V, BuildHasherDefault<AddrHasher>>;

/// Every old object, keyed by address, owning its block.
#[derive(Debug, Default)]
pub(crate) struct OldSpace {
    objects: AddrMap<Block>,
    bytes: usize,
}

impl OldSpace {
    /// A zeroed block of `bytes` for a new old object; `None` if the allocator refuses.
    pub(crate) fn alloc(&mut self, bytes: usize) -> Option<usize> {
        let block = Block::new(bytes, 8)?;
        let at = block.base();
        self.objects.insert(at, block);
        self.bytes += bytes;
        Some(at)
    }

    #[inline]
    pub(crate) fn contains(&self, addr: usize) -> bool {
        !self.objects.is_empty() && self.objects.contains_key(&addr)
    }

    /// Bytes of all old objects (dead ones included until the next full collection).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.objects.len()
    }

    /// Frees every object for which `keep` is false.
    pub(crate) fn sweep(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut freed = 0;
        self.objects.retain(|&addr, block| {
            let k = keep(addr);
            if !k {
                freed += block.bytes();
            }
            k
        });
        self.bytes -= freed;
    }
}
