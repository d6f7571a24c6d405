//! Roots: the shadow stack of compiled frames and the registry of arbitrary root slots.
//!
//! Shadow stack: compiled code keeps its live `gc` values in a contiguous array of `n`
//! pointer slots inside its own stack frame and pushes `(slots, n)` on entry, pops it on
//! every exit. The runtime stores the pair in one growable vector, so a push is a bounds
//! check and two stores, never an allocation (beyond amortised growth), and the collector
//! never follows a link kept in user memory. A pop names the frame it pops, so an
//! unbalanced pop is refused instead of silently dropping someone else's roots.
//!
//! Registry: `add_root(slot)` / `remove_root(slot)` for single slots anywhere (wild memory,
//! JIT data); registering twice and removing an unregistered slot are refused.

use crate::error::{Error, ErrorKind, Result};
use crate::old::AddrMap;

/// The most slots one frame may have.
pub const MAX_FRAME_SLOTS: usize = 1 << 20;
/// The most frames the shadow stack may hold.
pub const MAX_FRAMES: usize = 1 << 20;

/// Shadow-stack frames and registered slots (addresses of 8-byte pointer slots).
#[derive(Debug)]
pub(crate) struct Roots {
    frames: Vec<(usize, usize)>,
    slots: AddrMap<()>,
}

fn check_slot(slot: usize) -> Result<()> {
    if slot == 0 {
        return Err(Error::new(ErrorKind::Null));
    }
    if !slot.is_multiple_of(8) {
        return Err(Error::new(ErrorKind::Misaligned));
    }
    Ok(())
}

impl Roots {
    pub(crate) fn new() -> Roots {
        Roots {
            frames: Vec::with_capacity(256),
            slots: AddrMap::default(),
        }
    }

    pub(crate) fn push_frame(&mut self, slots: usize, n: i64) -> Result<()> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_FRAME_SLOTS)
            .ok_or(Error::new(ErrorKind::BadSize))?;
        if n > 0 {
            check_slot(slots)?;
        }
        if self.frames.len() >= MAX_FRAMES {
            return Err(Error::new(ErrorKind::FramesPushed));
        }
        self.frames.push((slots, n));
        Ok(())
    }

    pub(crate) fn pop_frame(&mut self, slots: usize) -> Result<()> {
        match self.frames.last() {
            Some(&(top, _)) if top == slots => {
                self.frames.pop();
                Ok(())
            }
            _ => Err(Error::new(ErrorKind::FrameMismatch)),
        }
    }

    pub(crate) fn depth(&self) -> usize {
        self.frames.len()
    }

    pub(crate) fn add(&mut self, slot: usize) -> Result<()> {
        check_slot(slot)?;
        if self.slots.insert(slot, ()).is_some() {
            return Err(Error::new(ErrorKind::AlreadyRooted));
        }
        Ok(())
    }

    pub(crate) fn remove(&mut self, slot: usize) -> Result<()> {
        check_slot(slot)?;
        self.slots
            .remove(&slot)
            .ok_or(Error::new(ErrorKind::NotRooted))
    }

    pub(crate) fn registered(&self) -> usize {
        self.slots.len()
    }

    /// Calls `f` with the address of every root slot (frames first, then registered).
    pub(crate) fn for_each_slot(&self, mut f: impl FnMut(usize)) {
        for &(base, n) in &self.frames {
            for i in 0..n {
                f(base + 8 * i);
            }
        }
        for &slot in self.slots.keys() {
            f(slot);
        }
    }
}
