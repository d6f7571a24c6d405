//! The abstract state the ownership analysis tracks at each program point.
//!
//! A [`State`] holds one [`Slot`] per local of the function (indexed by
//! `LocalId`) and one [`ParamFate`] per parameter. A slot is a *set of
//! possibilities*: the binding may own (from these origins), may be released
//! (at these spans), may be moved (at these spans), may own nothing. Joining
//! two states is the union of their possibilities, so "maybe released" is a
//! slot with both `owned` (or `clear`) and `released`. `reported` marks a
//! binding already diagnosed on this path: it silences later reports for it
//! and survives joins, so one fault yields one diagnostic.

pub(super) mod pvec;

use std::collections::BTreeSet;

use pvec::{Flagged, PVec};

use crate::source::Span;

/// Origins of one kind, and release/move sites, a slot remembers; only the
/// earliest are kept. Emptiness and kinds, which decide every diagnostic,
/// are unaffected; only the secondary labels are bounded. Without a bound a
/// binding reassigned on one branch of each of n statements accumulates n
/// origins, and the analysis of a long function becomes quadratic.
const MAX_SPANS: usize = 4;

/// Which deallocator a resource needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// From `alloc`; released by `free`.
    Heap,
    /// A `wildx` page; released by `wildx_free`.
    Page,
    /// Different kinds on different paths: either deallocator is accepted.
    Mixed,
}

impl ResourceKind {
    /// The kind covering both `self` and `other`.
    #[must_use]
    pub fn join(self, other: ResourceKind) -> ResourceKind {
        if self == other {
            self
        } else {
            ResourceKind::Mixed
        }
    }

    /// Whether releasing a resource of kind `self` with a deallocator for
    /// `dealloc` is a mismatch (only when both kinds are known).
    #[must_use]
    pub fn mismatches(self, dealloc: ResourceKind) -> bool {
        self != ResourceKind::Mixed && dealloc != ResourceKind::Mixed && self != dealloc
    }

    /// The builtin that releases this kind, for help texts.
    #[must_use]
    pub fn builtin_name(self) -> Option<&'static str> {
        match self {
            ResourceKind::Heap => Some("free"),
            ResourceKind::Page => Some("wildx_free"),
            ResourceKind::Mixed => None,
        }
    }
}

/// Where an owned resource came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Origin {
    /// Allocated by the expression at `span` (`alloc`, `wildx_alloc`, or a
    /// call of a function returning an owned pointer).
    Alloc { span: Span, kind: ResourceKind },
    /// The caller's resource, received as parameter number `index`. Never a
    /// leak here: the caller owns it unless this function releases it.
    Param(u32),
}

/// What one binding may hold at a program point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Slot {
    /// May own a resource from these origins.
    pub owned: BTreeSet<Origin>,
    /// May have been released at these spans.
    pub released: BTreeSet<Span>,
    /// May have been moved away at these spans.
    pub moved: BTreeSet<Span>,
    /// May own nothing (never owned, or known `NULL`).
    pub clear: bool,
    /// Already diagnosed on some path reaching here: report nothing more.
    pub reported: bool,
    /// A non-owning copy (a borrow) of these owner locals, by `LocalId`
    /// index: it may not release, and may not be used once an owner is released.
    pub borrows: BTreeSet<u32>,
    /// Where the borrow was first taken (for the secondary label).
    pub borrowed_at: Option<Span>,
    /// The borrow is an address inside its owners' allocation (a function
    /// of a code arena), not a copy of the owner's pointer: returning it
    /// returns a borrow, never the owner itself.
    pub inside: bool,
}

impl Slot {
    /// A binding that owns nothing.
    pub fn clear() -> Slot {
        Slot {
            clear: true,
            ..Slot::default()
        }
    }

    /// A binding owning exactly `origin`.
    pub fn owning(origin: Origin) -> Slot {
        Slot {
            owned: BTreeSet::from([origin]),
            ..Slot::default()
        }
    }

    /// A binding released at `span`.
    pub fn released_at(span: Span) -> Slot {
        Slot {
            released: BTreeSet::from([span]),
            ..Slot::default()
        }
    }

    /// Whether any path may still own a resource the current function must release.
    pub fn may_own_allocation(&self) -> bool {
        self.owned.iter().any(|o| matches!(o, Origin::Alloc { .. }))
    }

    /// The allocation sites this binding may own.
    pub fn alloc_spans(&self) -> Vec<Span> {
        self.owned
            .iter()
            .filter_map(|o| match o {
                Origin::Alloc { span, .. } => Some(*span),
                Origin::Param(_) => None,
            })
            .collect()
    }

    /// The kind of the allocations this binding may own (`None` if it owns
    /// none, or only caller resources).
    pub fn alloc_kind(&self) -> Option<ResourceKind> {
        self.owned
            .iter()
            .filter_map(|o| match o {
                Origin::Alloc { kind, .. } => Some(*kind),
                Origin::Param(_) => None,
            })
            .reduce(ResourceKind::join)
    }

    pub fn join(&mut self, other: &Slot) {
        self.owned.extend(other.owned.iter().copied());
        self.released.extend(other.released.iter().copied());
        self.moved.extend(other.moved.iter().copied());
        self.clear |= other.clear;
        self.reported |= other.reported;
        self.borrows.extend(other.borrows.iter().copied());
        self.inside |= other.inside;
        self.borrowed_at = match (self.borrowed_at, other.borrowed_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.trim();
    }

    /// Keeps the earliest [`MAX_SPANS`] allocation origins of each kind, every
    /// parameter origin, and the earliest [`MAX_SPANS`] release and move sites.
    fn trim(&mut self) {
        let mut per_kind = [0usize; 3];
        self.owned.retain(|o| match o {
            Origin::Alloc { kind, .. } => {
                let n = &mut per_kind[*kind as usize];
                *n += 1;
                *n <= MAX_SPANS
            }
            Origin::Param(_) => true,
        });
        for set in [&mut self.released, &mut self.moved] {
            while set.len() > MAX_SPANS {
                set.pop_last();
            }
        }
    }
}

/// What has happened to a parameter's resource on the paths reaching a point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamFate {
    /// Released on some path: the first release seen and the deallocator kind.
    pub released: Option<(Span, ResourceKind)>,
    /// Not released on some path.
    pub kept: bool,
    /// Passed on some path to a callee that releases it on some paths only
    /// (the call's span): the blame is the callee's.
    pub via_partial: Option<Span>,
}

impl ParamFate {
    /// A parameter nothing has happened to yet.
    pub fn kept() -> ParamFate {
        ParamFate {
            released: None,
            kept: true,
            via_partial: None,
        }
    }

    fn join(&mut self, other: &ParamFate) {
        self.released = match (self.released, other.released) {
            (Some((s1, k1)), Some((s2, k2))) => Some((s1.min(s2), k1.join(k2))),
            (a, b) => a.or(b),
        };
        self.kept |= other.kept;
        self.via_partial = match (self.via_partial, other.via_partial) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The slots of the locals, by `LocalId` index, in a persistent vector:
/// forking a state at a branch is O(1), and joining two forks costs what
/// they changed (see [`pvec`]). Slots that may own an allocation are
/// flagged, so the leak check at a scope exit visits only those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slots {
    slots: PVec<Slot>,
}

impl Flagged for Slot {
    fn flagged(&self) -> bool {
        self.may_own_allocation()
    }
}

impl Slots {
    /// The slot of local number `local`.
    pub fn get(&self, local: usize) -> Option<&Slot> {
        self.slots.get(local)
    }

    /// Applies `f` to the slot of `local` (nothing when out of range).
    pub fn update<R>(&mut self, local: usize, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
        self.slots.update(local, f)
    }

    /// Replaces the slot of `local`.
    pub fn set(&mut self, local: usize, slot: Slot) {
        self.slots.update(local, |s| *s = slot);
    }

    /// The locals numbered `from` or more that may own an allocation.
    pub fn may_own_from(&self, from: usize) -> Vec<usize> {
        self.slots.flagged_from(from)
    }
}

/// The state of every binding at one program point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    /// `false` once every path to this point has ended (pass, break, ...).
    pub reachable: bool,
    pub slots: Slots,
    pub params: Vec<ParamFate>,
}

impl State {
    /// The state at function entry: a clear slot for each of `nlocals`
    /// locals, and every parameter kept.
    pub fn entry(nlocals: usize, nparams: usize) -> State {
        State {
            reachable: true,
            slots: Slots {
                slots: PVec::filled(nlocals, &Slot::clear()),
            },
            params: vec![ParamFate::kept(); nparams],
        }
    }

    /// The same shape, but reached by no path (O(1): the slots are shared,
    /// and an unreachable state's slots are never read).
    pub fn unreachable_like(&self) -> State {
        State {
            reachable: false,
            slots: self.slots.clone(),
            params: self
                .params
                .iter()
                .map(|_| ParamFate {
                    kept: false,
                    ..ParamFate::kept()
                })
                .collect(),
        }
    }

    /// Merges the paths of `other` into `self`; whether `self` changed.
    pub fn join(&mut self, other: &State) -> bool {
        if !other.reachable {
            return false;
        }
        if !self.reachable {
            *self = other.clone();
            return true;
        }
        let mut changed = self.slots.slots.join_with(&other.slots.slots, Slot::join);
        for (a, b) in self.params.iter_mut().zip(&other.params) {
            let before = a.clone();
            a.join(b);
            changed |= *a != before;
        }
        changed
    }
}
