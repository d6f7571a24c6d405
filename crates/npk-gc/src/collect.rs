//! Collections: the nursery collection (Cheney copy with ageing and promotion) and the full
//! collection (a nursery collection that promotes everything, then mark-sweep of the old
//! space).
//!
//! Roots are the shadow-stack frames, the registered slots and, for a nursery collection,
//! the remembered set (old objects a barrier saw receive a nursery pointer). A root or field
//! value is followed only if the nursery's object-start bitmap or the old space's object set
//! says it is an object start; anything else (wild, wildx, interior, stale) is left as is
//! and never dereferenced. Moves rewrite every root slot and field that named the object.

use std::time::Instant;

use crate::heap::Heap;
use crate::nursery::Nursery;
use crate::object::{Header, Kind, element_addr};
use crate::old::OldSpace;
use crate::raw;

/// The copying state of one nursery collection (disjoint borrows of the heap's fields).
struct Evacuation<'a> {
    nursery: &'a mut Nursery,
    old: &'a mut OldSpace,
    promoted: &'a mut Vec<usize>,
    promote_all: bool,
    promote_age: u32,
    promoted_count: u64,
}

impl Evacuation<'_> {
    /// The new address of the nursery object `v` (copying it on first visit).
    fn forward(&mut self, v: usize) -> usize {
        // SAFETY: callers pass only object starts of the from-space (bitmap-checked).
        let h = Header(unsafe { raw::load(v) });
        if let Some(to) = h.forwarded_to() {
            return to;
        }
        let bytes = h.bytes();
        let (to, header) = if self.promote_all || h.age() >= self.promote_age {
            let Some(to) = self.old.alloc(bytes) else {
                // The system allocator refused memory mid-collection: like any Rust
                // allocation failure, this ends the process (the heap cannot be left
                // half-copied).
                std::alloc::handle_alloc_error(
                    std::alloc::Layout::from_size_align(bytes, 8).expect("valid layout"),
                )
            };
            self.promoted.push(to);
            self.promoted_count += 1;
            (to, h.with_age(0))
        } else {
            // Survivors of the from-space always fit: the reserve is as large as it.
            let to = self
                .nursery
                .reserve_mut()
                .bump(bytes)
                .expect("reserve semispace holds every survivor");
            (to, h.with_age(h.age() + 1))
        };
        // SAFETY: `v` is a from-space object of `bytes` bytes; `to` was just reserved with
        // `bytes` bytes in another block; the forwarding word replaces the old header.
        unsafe {
            raw::copy(v, to, bytes);
            raw::store(to, header.0);
            raw::store(v, to as u64);
        }
        to
    }

    /// Rewrites the word at `slot` if it names a from-space object; returns the new value.
    fn fix(&mut self, slot: usize) -> usize {
        // SAFETY: `slot` is a registered root slot, a frame slot or an element of a live
        // object; each is valid for reads and writes during a collection.
        let v = unsafe { raw::load(slot) } as usize;
        if self.nursery.active().is_object(v) {
            let to = self.forward(v);
            // SAFETY: as above.
            unsafe { raw::store(slot, to as u64) };
            to
        } else {
            v
        }
    }

    /// Fixes every field of the reference array `obj`; returns whether one still names a
    /// nursery object afterwards.
    fn scan(&mut self, obj: usize) -> bool {
        // SAFETY: `obj` is a live object (a survivor copy, a promoted copy or an old object).
        let h = Header(unsafe { raw::load(obj) });
        if h.kind() != Kind::Refs {
            return false;
        }
        let mut young = false;
        for i in 0..h.len() {
            let v = self.fix(element_addr(obj, i));
            young |= self.nursery.reserve().in_use(v);
        }
        young
    }

    /// Scans survivors and promoted objects until no copy is left unscanned; promoted
    /// objects that still point into the nursery join `remembered`.
    fn drain(&mut self, remembered: &mut Vec<usize>) {
        let mut next = self.nursery.reserve().base();
        loop {
            while next < self.nursery.reserve().top() {
                // SAFETY: `next` walks survivor copies, each starting with its header.
                let h = Header(unsafe { raw::load(next) });
                self.scan(next);
                next += h.bytes();
            }
            let Some(obj) = self.promoted.pop() else {
                break;
            };
            if self.scan(obj) {
                // SAFETY: `obj` is a promoted copy, a live old object.
                unsafe { raw::store(obj, Header(raw::load(obj)).with_remembered(true).0) };
                remembered.push(obj);
            }
        }
    }
}

impl Heap {
    /// A nursery collection: survivors are copied (and aged) or promoted, roots rewritten.
    /// Starts a full collection afterwards if the old space grew past its threshold.
    pub fn collect_nursery(&mut self) {
        let start = Instant::now();
        self.minor(false);
        let major =
            self.old.bytes() > self.next_major_at || self.footprint() > self.config.max_heap_bytes;
        if major {
            self.mark_sweep();
        }
        self.finish(start);
    }

    /// A full collection: every nursery survivor is promoted, then the old space is
    /// marked from the roots and swept. Afterwards `live_bytes` is exactly the live set.
    pub fn collect(&mut self) {
        let start = Instant::now();
        self.minor(true);
        self.mark_sweep();
        self.finish(start);
    }

    fn finish(&mut self, start: Instant) {
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.stats.last_pause_ns = ns;
        self.stats.max_pause_ns = self.stats.max_pause_ns.max(ns);
        self.stats.live_bytes = self.used() as u64;
        self.note_footprint();
    }

    fn minor(&mut self, promote_all: bool) {
        self.stats.minor_collections += 1;
        self.nursery.begin_collection();
        let mut ev = Evacuation {
            nursery: &mut self.nursery,
            old: &mut self.old,
            promoted: &mut self.promoted,
            promote_all,
            promote_age: self.config.promote_age,
            promoted_count: 0,
        };
        self.roots.for_each_slot(|slot| {
            ev.fix(slot);
        });
        let mut remembered = std::mem::take(&mut self.remembered);
        let mut still = Vec::with_capacity(remembered.len());
        for obj in remembered.drain(..) {
            let young = ev.scan(obj);
            // SAFETY: remembered objects are live old objects.
            let h = Header(unsafe { raw::load(obj) });
            // SAFETY: as above.
            unsafe { raw::store(obj, h.with_remembered(young).0) };
            if young {
                still.push(obj);
            }
        }
        ev.drain(&mut still);
        self.stats.promoted_objects += ev.promoted_count;
        self.remembered = still;
        self.nursery.flip();
        self.note_footprint();
    }

    /// Marks old objects reachable from the roots and frees the rest. Expects an empty
    /// nursery (it runs right after a promote-everything nursery collection) or, when called
    /// after an ordinary one, treats nursery survivors' referents as reachable through the
    /// remembered set.
    fn mark_sweep(&mut self) {
        self.stats.major_collections += 1;
        let old = &self.old;
        let stack = &mut self.mark_stack;
        let visit = |v: usize, stack: &mut Vec<usize>| {
            if old.contains(v) {
                // SAFETY: `v` is a live old object (checked above).
                let h = Header(unsafe { raw::load(v) });
                if !h.marked() {
                    // SAFETY: as above.
                    unsafe { raw::store(v, h.with_mark(true).0) };
                    stack.push(v);
                }
            }
        };
        self.roots.for_each_slot(|slot| {
            // SAFETY: root slots are valid for reads while registered.
            visit(unsafe { raw::load(slot) } as usize, stack);
        });
        // Nursery survivors (after an ordinary nursery collection) are roots of the old space.
        let young = self.nursery.active();
        let mut at = young.base();
        while at < young.top() {
            // SAFETY: `at` walks the objects of the active semispace from its start.
            let h = Header(unsafe { raw::load(at) });
            if h.kind() == Kind::Refs {
                for i in 0..h.len() {
                    // SAFETY: an element of a live nursery object.
                    visit(unsafe { raw::load(element_addr(at, i)) } as usize, stack);
                }
            }
            at += h.bytes();
        }
        while let Some(obj) = stack.pop() {
            // SAFETY: only marked live old objects are pushed.
            let h = Header(unsafe { raw::load(obj) });
            if h.kind() == Kind::Refs {
                for i in 0..h.len() {
                    // SAFETY: an element of a live old object.
                    visit(unsafe { raw::load(element_addr(obj, i)) } as usize, stack);
                }
            }
        }
        let remembered = &mut self.remembered;
        self.old.sweep(|obj| {
            // SAFETY: the sweep hands out live old objects before freeing them.
            let h = Header(unsafe { raw::load(obj) });
            if h.marked() {
                // SAFETY: as above.
                unsafe { raw::store(obj, h.with_mark(false).0) };
                true
            } else {
                false
            }
        });
        // A remembered object may have been freed: keep only the survivors.
        let old = &self.old;
        remembered.retain(|&obj| old.contains(obj));
        self.next_major_at = self
            .config
            .min_major_bytes
            .max(self.old.bytes().saturating_mul(2));
    }
}
