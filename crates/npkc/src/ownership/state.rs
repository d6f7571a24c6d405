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

use std::collections::BTreeSet;
use std::rc::Rc;

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

    fn join(&mut self, other: &Slot) {
        self.owned.extend(other.owned.iter().copied());
        self.released.extend(other.released.iter().copied());
        self.moved.extend(other.moved.iter().copied());
        self.clear |= other.clear;
        self.reported |= other.reported;
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
}

impl ParamFate {
    fn join(&mut self, other: &ParamFate) {
        self.released = match (self.released, other.released) {
            (Some((s1, k1)), Some((s2, k2))) => Some((s1.min(s2), k1.join(k2))),
            (a, b) => a.or(b),
        };
        self.kept |= other.kept;
    }
}

/// The slots of the locals that can hold a pointer, by `LocalId` index.
///
/// Integer and `bool` locals (loop counters, temporaries...) never own
/// anything and get no slot, so the size of a state — copied at every branch
/// and loop — does not grow with them ([`Slots::get`] is `None` for them).
/// Otherwise a function with n loops (n counters) and n statements took time
/// quadratic in n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slots {
    /// For each local, the index of its slot in `slots`, if it has one.
    index: Rc<[Option<u32>]>,
    slots: Vec<Slot>,
}

impl Slots {
    /// The slot of local number `local`, if it is tracked.
    pub fn get(&self, local: usize) -> Option<&Slot> {
        let i = (*self.index.get(local)?)?;
        self.slots.get(i as usize)
    }

    pub fn get_mut(&mut self, local: usize) -> Option<&mut Slot> {
        let i = (*self.index.get(local)?)?;
        self.slots.get_mut(i as usize)
    }

    /// Replaces the slot of `local` (nothing happens for an untracked local).
    pub fn set(&mut self, local: usize, slot: Slot) {
        if let Some(s) = self.get_mut(local) {
            *s = slot;
        }
    }

    /// The same locals, every slot `fill`.
    fn filled(&self, fill: &Slot) -> Slots {
        Slots {
            index: Rc::clone(&self.index),
            slots: vec![fill.clone(); self.slots.len()],
        }
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
    /// The state at function entry: a clear slot for each local for which
    /// `tracked` is true, and every parameter kept.
    pub fn entry(tracked: impl Iterator<Item = bool>, nparams: usize) -> State {
        let mut n = 0u32;
        let index = tracked
            .map(|t| {
                t.then(|| {
                    n += 1;
                    n - 1
                })
            })
            .collect();
        State {
            reachable: true,
            slots: Slots {
                index,
                slots: vec![Slot::clear(); n as usize],
            },
            params: vec![
                ParamFate {
                    released: None,
                    kept: true,
                };
                nparams
            ],
        }
    }

    /// The same shape, but reached by no path.
    pub fn unreachable_like(&self) -> State {
        State {
            reachable: false,
            slots: self.slots.filled(&Slot::default()),
            params: self
                .params
                .iter()
                .map(|_| ParamFate {
                    released: None,
                    kept: false,
                })
                .collect(),
        }
    }

    /// Merges the paths of `other` into `self`.
    pub fn join(&mut self, other: &State) {
        if !other.reachable {
            return;
        }
        if !self.reachable {
            *self = other.clone();
            return;
        }
        for (a, b) in self.slots.slots.iter_mut().zip(&other.slots.slots) {
            a.join(b);
        }
        for (a, b) in self.params.iter_mut().zip(&other.params) {
            a.join(b);
        }
    }
}
