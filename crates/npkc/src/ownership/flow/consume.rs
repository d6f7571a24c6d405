//! Consuming [`Value`]s: binding (move or borrow), assignment, uses,
//! releases, stores, and the value a `pass` returns.
//!
//! A [`Value::Join`] (from `is (c) : a : b`, `e ? d`, or a call that may
//! return one of its arguments) is consumed alternative by alternative; the
//! effect on a source binding is "on some paths": a maybe-moved or
//! maybe-released slot (its old possibilities plus the new one), which is
//! sound because the paths were already joined when the value was computed.
//!
//! Borrows: copying an owned pointer into a binding that cannot own (an
//! unqualified pointer, an integer through a cast) makes the copy a borrow
//! of its owner ([`Slot::borrows`]). A borrow may not release (`NPK-404` at
//! the release) and may not be used once its owner is released (`ARIA-015`).

use std::collections::BTreeSet;

use crate::ast::Region;
use crate::hir::LocalId;
use crate::source::Span;

use super::super::error::{OwnershipError, ScopeExit, TempSink};
use super::super::state::{Origin, ParamFate, ResourceKind, Slot, State};
use super::{Analysis, Value};

/// Owners a borrow remembers; beyond this the earliest are kept.
const MAX_OWNERS: usize = 8;

impl Analysis<'_> {
    /// The alternatives of `v` (itself, unless it is a [`Value::Join`]).
    pub(super) fn alternatives(&self, v: Value) -> Vec<Value> {
        let mut out = Vec::new();
        let mut todo = vec![v];
        while let Some(v) = todo.pop() {
            match v {
                Value::Join(i) => {
                    if let Some(&(a, b)) = self.joins.get(i as usize) {
                        todo.push(b);
                        todo.push(a);
                    }
                }
                v => out.push(v),
            }
        }
        out
    }

    /// The value that is `a` on some paths and `b` on the others.
    pub(super) fn join_values(&mut self, a: Value, b: Value) -> Value {
        match (a, b) {
            (Value::Fresh { span, kind: k1 }, Value::Fresh { kind: k2, .. }) => Value::Fresh {
                span,
                kind: k1.join(k2),
            },
            (f @ Value::Fresh { .. }, Value::Null | Value::Other)
            | (Value::Null | Value::Other, f @ Value::Fresh { .. }) => f,
            (Value::Null, Value::Null) => Value::Null,
            (Value::Null | Value::Other, Value::Null | Value::Other) => Value::Other,
            (a, b) => match u32::try_from(self.joins.len()) {
                Ok(i) => {
                    self.joins.push((a, b));
                    Value::Join(i)
                }
                Err(_) => Value::Other,
            },
        }
    }

    /// The value of `pass v` leaves the function: an owned local moves to the caller.
    pub(super) fn returned(&mut self, v: Value, at: Span, st: &mut State) {
        for v in self.alternatives(v) {
            match v {
                Value::Fresh { kind, .. } => self.ret_owned(kind, at),
                Value::Local { id, span } => self.returned_local(id, span, at, st),
                Value::Inside { id, span } => self.returned_inside(id, span, at, st),
                Value::ExternPointer { .. } | Value::Null | Value::Other | Value::Join(_) => {}
            }
        }
    }

    fn ret_owned(&mut self, kind: ResourceKind, at: Span) {
        let acc = &mut self.ret.owned;
        *acc = Some(match *acc {
            Some((s, k)) => (s, k.join(kind)),
            None => (at, kind),
        });
    }

    fn ret_param(&mut self, i: u32, at: Span) {
        if let Some(r) = self.ret.returns.get_mut(i as usize) {
            *r = true;
        }
        if self.ret.borrowed.is_none() {
            self.ret.borrowed = Some(at);
        }
    }

    /// `pass` of an address inside local `id`: a borrow of the parameters
    /// `id` owns or borrows (the summary's `returns_borrow`).
    fn returned_inside(&mut self, id: LocalId, span: Span, at: Span, st: &mut State) {
        self.use_local(id, span, st);
        let Some(slot) = st.slots.get(id.0 as usize).cloned() else {
            return;
        };
        let mut origins: Vec<Origin> = slot.owned.iter().copied().collect();
        for o in &slot.borrows {
            if let Some(owner) = st.slots.get(*o as usize) {
                origins.extend(owner.owned.iter().copied());
            }
        }
        for origin in origins {
            if let Origin::Param(i) = origin
                && let Some(r) = self.ret.returns_borrow.get_mut(i as usize)
            {
                *r = true;
                if self.ret.borrowed.is_none() {
                    self.ret.borrowed = Some(at);
                }
            }
        }
    }

    fn returned_local(&mut self, id: LocalId, span: Span, at: Span, st: &mut State) {
        let Some(slot) = st.slots.get(id.0 as usize).cloned() else {
            return;
        };
        if slot.reported {
            return;
        }
        if slot.inside {
            self.returned_inside(id, span, at, st);
            return;
        }
        if !slot.released.is_empty() || !slot.moved.is_empty() || !slot.borrows.is_empty() {
            self.use_local(id, span, st);
        }
        // A borrow of a parameter returns the caller's own pointer.
        for o in &slot.borrows {
            let owner = st.slots.get(*o as usize).map(|s| s.owned.clone());
            for origin in owner.into_iter().flatten() {
                if let Origin::Param(i) = origin {
                    self.ret_param(i, at);
                }
            }
        }
        if !self.local_is_movable(id) || !slot.released.is_empty() || !slot.moved.is_empty() {
            return;
        }
        if let Some(kind) = slot.alloc_kind() {
            // Point at the allocation: the `pass` may also return a parameter.
            let from = slot.alloc_spans().first().copied().unwrap_or(at);
            self.ret_owned(kind, from);
        }
        let mut any = slot.may_own_allocation();
        for o in &slot.owned {
            if let Origin::Param(i) = o {
                self.ret_param(*i, at);
                any = true;
            }
        }
        if any {
            // The pointer now belongs to the caller: a `defer` that still
            // releases it would hand back a dangling pointer.
            st.slots.set(
                id.0 as usize,
                Slot {
                    moved: BTreeSet::from([span]),
                    ..Slot::default()
                },
            );
        }
    }

    /// Gives `l` the value `v` (declaration or assignment after the leak check).
    pub(super) fn bind(&mut self, l: LocalId, v: Value, st: &mut State) {
        let idx = l.0 as usize;
        if idx >= self.func.locals.len() {
            return;
        }
        let alts = self.alternatives(v);
        let maybe = alts.len() > 1;
        let mut new: Option<Slot> = None;
        for a in alts {
            let Some(s) = self.bound_slot(l, a, maybe, st) else {
                return;
            };
            match &mut new {
                Some(n) => n.join(&s),
                None => new = Some(s),
            }
        }
        let mut new = new.unwrap_or_else(Slot::clear);
        if new.may_own_allocation() && self.released_at_scope_end(l) {
            self.scope_released.insert(l.0);
        }
        if self.scope_released.contains(&l.0) {
            // A borrow in a binding released at scope end would be freed there.
            let (name, at) = self.local_name_span(l);
            if !new.reported && self.scope_release_of_borrow(l, &new, name, at) {
                new.reported = true;
            }
        }
        st.slots.set(idx, new);
    }

    /// The slot `l` gets from the single value `v`, updating the source of a
    /// move (on some paths only when `maybe`). `None`: leave `l` as it is.
    fn bound_slot(&mut self, l: LocalId, v: Value, maybe: bool, st: &mut State) -> Option<Slot> {
        Some(match v {
            Value::Fresh { span, kind } => Slot::owning(Origin::Alloc { span, kind }),
            Value::Local { id, span } if id == l => {
                self.use_local(id, span, st);
                return if maybe {
                    st.slots.get(l.0 as usize).cloned()
                } else {
                    None
                };
            }
            Value::Local { id, span } => {
                let src = st.slots.get(id.0 as usize)?.clone();
                if src.reported || !src.released.is_empty() || !src.moved.is_empty() {
                    // A use of a released/moved binding (reported once).
                    self.use_local(id, span, st);
                    Slot::clear()
                } else if !src.borrows.is_empty() {
                    // A copy of a borrow is a borrow of the same owners, even
                    // in a binding that could own: a borrow has nothing to give.
                    self.use_local(id, span, st);
                    Slot {
                        borrows: src.borrows.clone(),
                        borrowed_at: src.borrowed_at,
                        inside: src.inside,
                        clear: true,
                        ..Slot::default()
                    }
                } else if src.owned.is_empty() || !self.local_is_movable(id) {
                    Slot::clear()
                } else if self.local_can_own(l) {
                    // A move: the new binding owns what `id` owned.
                    let moved = Slot {
                        moved: BTreeSet::from([span]),
                        ..Slot::default()
                    };
                    let left = if maybe {
                        let mut s = src.clone();
                        s.join(&moved);
                        s
                    } else {
                        moved
                    };
                    st.slots.set(id.0 as usize, left);
                    Slot {
                        owned: src.owned,
                        clear: src.clear,
                        ..Slot::default()
                    }
                } else {
                    // A copy into a binding that cannot own: a borrow.
                    Slot {
                        borrows: BTreeSet::from([id.0]),
                        borrowed_at: Some(span),
                        clear: true,
                        ..Slot::default()
                    }
                }
            }
            Value::Inside { id, span } => {
                // A borrow of what `id` owns (or of `id`'s owners), in any
                // binding: an address inside an allocation is never its owner.
                self.use_local(id, span, st);
                let src = st.slots.get(id.0 as usize)?.clone();
                let owners = if !src.borrows.is_empty() {
                    src.borrows.clone()
                } else if src.owned.is_empty() || src.reported {
                    return Some(Slot::clear());
                } else {
                    BTreeSet::from([id.0])
                };
                Slot {
                    borrows: owners,
                    borrowed_at: Some(span),
                    inside: true,
                    clear: true,
                    ..Slot::default()
                }
            }
            Value::ExternPointer { span } => {
                // Only the `wildx` allocator makes `wildx` pages, so an
                // extern handing one to a `wildx` binding hands over a page.
                let wildx = self
                    .func
                    .locals
                    .get(l.0 as usize)
                    .is_some_and(|x| x.region == Some(Region::Wildx));
                if wildx {
                    Slot::owning(Origin::Alloc {
                        span,
                        kind: ResourceKind::Page,
                    })
                } else {
                    Slot::clear()
                }
            }
            Value::Null | Value::Other | Value::Join(_) => Slot::clear(),
        })
    }

    /// `drop.npk`: NPK-406 if `slot` (of binding `l`, released at scope end)
    /// may hold a borrow; whether it was reported.
    pub(super) fn scope_release_of_borrow(
        &mut self,
        l: LocalId,
        slot: &Slot,
        name: String,
        at: Span,
    ) -> bool {
        let Some(&owner) = slot.borrows.first() else {
            return false;
        };
        let err = OwnershipError::ScopeReleaseOfBorrow {
            name,
            at,
            owner: self.local_name(LocalId(owner)),
        };
        self.report(Some(l), err);
        true
    }

    /// `l = v;`: overwriting an owned allocation leaks it.
    pub(super) fn assign(&mut self, l: LocalId, v: Value, st: &mut State, at: Span) {
        if let Some(slot) = st.slots.get(l.0 as usize) {
            let self_assign = matches!(v, Value::Local { id, .. } if id == l);
            if !self_assign && !slot.reported && slot.may_own_allocation() {
                let err = self.leak(l, slot, at, ScopeExit::Overwrite);
                self.report(Some(l), err);
            }
        }
        self.bind(l, v, st);
    }

    /// The leak of local `l` (whose slot is `slot`) at `at`.
    pub(super) fn leak(
        &self,
        l: LocalId,
        slot: &Slot,
        at: Span,
        exit: ScopeExit,
    ) -> OwnershipError {
        let is_result = self
            .func
            .locals
            .get(l.0 as usize)
            .is_some_and(|x| matches!(x.ty, crate::hir::Ty::Result(_)));
        OwnershipError::Leak {
            name: self.local_name(l),
            at,
            exit,
            allocated: slot.alloc_spans(),
            kind: slot.alloc_kind(),
            is_result,
        }
    }

    /// A value read as an operand (or passed where it is only borrowed).
    pub(super) fn use_value(&mut self, v: Value, st: &mut State, sink: TempSink) {
        for v in self.alternatives(v) {
            match v {
                Value::Fresh { span, kind } => self.report(
                    None,
                    OwnershipError::LeakTemporary {
                        at: span,
                        sink: sink.clone(),
                        kind,
                    },
                ),
                Value::Local { id, span } | Value::Inside { id, span } => {
                    self.use_local(id, span, st);
                }
                Value::ExternPointer { .. } | Value::Null | Value::Other | Value::Join(_) => {}
            }
        }
    }

    /// A value whose result is thrown away (expression statement, `drop`).
    pub(super) fn discard(&mut self, v: Value, st: &mut State) {
        self.use_value(v, st, TempSink::Discarded);
    }

    /// A value stored through a pointer: memory the checker cannot follow.
    /// A fresh allocation is lost there; a local is only read.
    pub(super) fn store(&mut self, v: Value, st: &mut State) {
        self.use_value(v, st, TempSink::Stored);
    }

    pub(super) fn use_local(&mut self, l: LocalId, at: Span, st: &mut State) {
        let Some(slot) = st.slots.get(l.0 as usize) else {
            return;
        };
        if slot.reported {
            return;
        }
        let mut err = None;
        if !slot.released.is_empty() || !slot.moved.is_empty() {
            err = Some(OwnershipError::UseAfterRelease {
                name: self.local_name(l),
                at,
                released: slot.released.iter().copied().collect(),
                moved: slot.moved.iter().copied().collect(),
                maybe: !slot.owned.is_empty() || slot.clear,
                owner: None,
                in_loop: self.carried(slot.released.iter().chain(&slot.moved), at),
            });
        } else {
            // A borrow whose owner is (maybe) released dangles.
            for o in &slot.borrows {
                let Some(os) = st.slots.get(*o as usize) else {
                    continue;
                };
                if os.released.is_empty() {
                    continue;
                }
                err = Some(OwnershipError::UseAfterRelease {
                    name: self.local_name(l),
                    at,
                    released: os.released.iter().copied().collect(),
                    moved: Vec::new(),
                    maybe: !os.owned.is_empty() || os.clear,
                    owner: Some((self.local_name(LocalId(*o)), slot.borrowed_at)),
                    in_loop: self.carried(os.released.iter(), at),
                });
                break;
            }
        }
        let Some(err) = err else {
            return;
        };
        st.slots.update(l.0 as usize, |s| s.reported = true);
        if let OwnershipError::UseAfterRelease {
            released,
            moved,
            owner: None,
            ..
        } = &err
            && self.already_blamed(l, released.iter().chain(moved))
        {
            return;
        }
        self.report(Some(l), err);
    }

    /// Whether every release/move in `causes` of `l` was already blamed
    /// for a fault (then this is the same fault, seen on another path);
    /// records them otherwise.
    fn already_blamed<'s>(&mut self, l: LocalId, causes: impl Iterator<Item = &'s Span>) -> bool {
        let causes: Vec<(u32, Span)> = causes.map(|s| (l.0, *s)).collect();
        if !causes.is_empty() && causes.iter().all(|c| self.blamed.contains(c)) {
            return true;
        }
        self.blamed.extend(causes);
        false
    }

    /// `v` is released by `call_span` (`free`, `wildx_free`, or a function
    /// named `dealloc` releasing its parameter) with a deallocator for `dk`.
    pub(super) fn release(
        &mut self,
        v: Value,
        call_span: Span,
        dealloc: &str,
        dk: ResourceKind,
        st: &mut State,
    ) {
        let alts = self.alternatives(v);
        let maybe = alts.len() > 1;
        for v in alts {
            match v {
                Value::Fresh { span, kind } => {
                    if kind.mismatches(dk) {
                        self.report(
                            None,
                            OwnershipError::MismatchedDeallocator {
                                name: "the allocation".to_string(),
                                at: call_span,
                                dealloc: dealloc.to_string(),
                                dealloc_kind: dk,
                                allocated: vec![span],
                                alloc_kind: kind,
                            },
                        );
                    }
                }
                Value::Local { id, .. } => {
                    let before = st.slots.get(id.0 as usize).cloned();
                    self.release_local(id, call_span, dealloc, dk, st);
                    if let (true, Some(before)) = (maybe, before) {
                        // Released on the paths that chose this alternative only.
                        st.slots.update(id.0 as usize, |s| s.join(&before));
                    }
                }
                // Releasing an address inside an allocation (a function of an
                // arena passed straight on): a use of its owner.
                Value::Inside { id, span } => self.use_local(id, span, st),
                Value::ExternPointer { .. } | Value::Null | Value::Other | Value::Join(_) => {}
            }
        }
    }

    fn release_local(
        &mut self,
        l: LocalId,
        at: Span,
        dealloc: &str,
        dk: ResourceKind,
        st: &mut State,
    ) {
        let idx = l.0 as usize;
        let Some(slot) = st.slots.get(idx).cloned() else {
            return;
        };
        if slot.reported {
            return;
        }
        let maybe = !slot.owned.is_empty() || slot.clear;
        if !slot.released.is_empty() {
            let err = OwnershipError::DoubleFree {
                name: self.local_name(l),
                at,
                first: slot.released.iter().copied().collect(),
                maybe,
                in_loop: self.carried(slot.released.iter(), at),
            };
            st.slots.update(idx, |s| s.reported = true);
            if !self.already_blamed(l, slot.released.iter()) {
                self.report(Some(l), err);
            }
            return;
        }
        if !slot.moved.is_empty() {
            self.use_local(l, at, st);
            return;
        }
        if !slot.borrows.is_empty() {
            // A borrow cannot release: the owner still believes it owns the
            // memory. Reported here; the owner is silenced (one report).
            let owners: Vec<u32> = slot.borrows.iter().copied().take(MAX_OWNERS).collect();
            let err = OwnershipError::ReleaseOfBorrow {
                name: self.local_name(l),
                at,
                owner: owners
                    .first()
                    .map(|o| self.local_name(LocalId(*o)))
                    .unwrap_or_default(),
                borrowed_at: slot.borrowed_at,
            };
            for o in owners {
                st.slots.update(o as usize, |s| s.reported = true);
            }
            st.slots.update(idx, |s| s.reported = true);
            self.report(Some(l), err);
            return;
        }
        let mut released = Slot::released_at(at);
        if let Some(kind) = slot.alloc_kind().filter(|k| k.mismatches(dk)) {
            let err = OwnershipError::MismatchedDeallocator {
                name: self.local_name(l),
                at,
                dealloc: dealloc.to_string(),
                dealloc_kind: dk,
                allocated: slot.alloc_spans(),
                alloc_kind: kind,
            };
            self.report(Some(l), err);
            released.reported = true;
        }
        for o in &slot.owned {
            let Origin::Param(i) = o else { continue };
            if let Some(fate) = st.params.get_mut(*i as usize) {
                *fate = ParamFate {
                    released: Some((at, dk)),
                    kept: false,
                    via_partial: None,
                };
            }
        }
        st.slots.set(idx, released);
    }
}
