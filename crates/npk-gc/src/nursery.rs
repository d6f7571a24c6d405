//! The nursery: two equal semispaces; the mutator bump-allocates in the active one, a
//! nursery collection copies survivors into the other (or promotes them) and swaps.
//!
//! Each semispace keeps a bitmap with one bit per 8-byte word marking object starts, so
//! "is this address a live object?" is a range check plus one bit test, and no address the
//! mutator hands in is ever dereferenced before that test passes (a wild pointer into the
//! middle of an integer array is not an object). Addresses are plain `usize`.

use crate::raw::Block;

/// One semispace: a block, its bump pointer and its object-start bitmap.
#[derive(Debug)]
pub(crate) struct Semispace {
    block: Block,
    top: usize,
    starts: Vec<u64>,
}

impl Semispace {
    fn new(bytes: usize) -> Option<Semispace> {
        let block = Block::new(bytes, 4096)?;
        let words = bytes / 8;
        Some(Semispace {
            top: block.base(),
            starts: vec![0; words.div_ceil(64)],
            block,
        })
    }

    pub(crate) fn base(&self) -> usize {
        self.block.base()
    }

    pub(crate) fn top(&self) -> usize {
        self.top
    }

    fn end(&self) -> usize {
        self.block.base() + self.block.bytes()
    }

    /// Whether `addr` lies in the allocated part `[base, top)`.
    #[inline(always)]
    pub(crate) fn in_use(&self, addr: usize) -> bool {
        addr >= self.base() && addr < self.top
    }

    /// Whether `addr` is the start of an object allocated here since the last reset.
    #[inline(always)]
    pub(crate) fn is_object(&self, addr: usize) -> bool {
        if !self.in_use(addr) || !addr.is_multiple_of(8) {
            return false;
        }
        let w = (addr - self.base()) / 8;
        self.starts[w / 64] & (1 << (w % 64)) != 0
    }

    /// Reserves `bytes` (a multiple of 8) and marks the start; `None` if it does not fit.
    #[inline(always)]
    pub(crate) fn bump(&mut self, bytes: usize) -> Option<usize> {
        let at = self.top;
        if bytes > self.end() - at {
            return None;
        }
        self.top = at + bytes;
        let w = (at - self.base()) / 8;
        self.starts[w / 64] |= 1 << (w % 64);
        Some(at)
    }

    /// Forgets every object: empty, bitmap clear (only the used part is touched).
    fn reset(&mut self) {
        let used_words = (self.top - self.base()) / 8;
        self.starts[..used_words.div_ceil(64)].fill(0);
        self.top = self.base();
    }

    fn used(&self) -> usize {
        self.top - self.base()
    }
}

/// The two semispaces and which one is active.
#[derive(Debug)]
pub(crate) struct Nursery {
    spaces: [Semispace; 2],
    active: usize,
}

impl Nursery {
    /// Two semispaces of `bytes` each (rounded up to 4 KiB); `None` if memory is refused.
    pub(crate) fn new(bytes: usize) -> Option<Nursery> {
        let bytes = bytes.max(4096).checked_next_multiple_of(4096)?;
        Some(Nursery {
            spaces: [Semispace::new(bytes)?, Semispace::new(bytes)?],
            active: 0,
        })
    }

    pub(crate) fn active(&self) -> &Semispace {
        &self.spaces[self.active]
    }

    pub(crate) fn active_mut(&mut self) -> &mut Semispace {
        &mut self.spaces[self.active]
    }

    /// The semispace survivors are copied into during a collection.
    pub(crate) fn reserve_mut(&mut self) -> &mut Semispace {
        &mut self.spaces[1 - self.active]
    }

    pub(crate) fn reserve(&self) -> &Semispace {
        &self.spaces[1 - self.active]
    }

    /// Bytes of one semispace.
    pub(crate) fn capacity(&self) -> usize {
        self.spaces[0].block.bytes()
    }

    /// Bytes allocated in the active semispace.
    pub(crate) fn used(&self) -> usize {
        self.active().used()
    }

    /// Ends a collection: the old active space is emptied and the reserve becomes active.
    pub(crate) fn flip(&mut self) {
        self.spaces[self.active].reset();
        self.active = 1 - self.active;
    }

    /// Prepares the reserve to receive survivors (it is empty already; made explicit).
    pub(crate) fn begin_collection(&mut self) {
        self.reserve_mut().reset();
    }
}
