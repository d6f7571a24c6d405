//! Registered gc roots as resources (SPEC §11): a slot binding passed to
//! `npk_shadow_stack_add_root` must reach `npk_shadow_stack_remove_root` on
//! every path (`NPK-407`), is not read through after the removal (`NPK-408`;
//! until a plain store to `slot[0]` / `<-slot`, the word the root covered,
//! gives it a fresh value),
//! not freed while registered (`NPK-409`), and is not registered twice or
//! removed unregistered (`NPK-410`).
//!
//! In: one function of a typed program. Out: [`RootError`]s. The two calls
//! are the runtime's exports, recognised by their C symbol (declared by
//! `gc.npk`, or by the program itself); the slot is the binding named by
//! the argument (through casts). The walk is the ownership analysis in
//! small: a per-binding set of possibilities (registered at these calls,
//! removed at these calls, never registered) carried through the structured
//! HIR, joined at branches, iterated to a fixpoint at loops, with `defer`
//! bodies run at every exit of their block. Not followed: a slot reached
//! through another binding or computed address, and registrations handed
//! to another function (a parameter registered here must be removed here).

mod error;

use std::collections::BTreeSet;

pub use error::EXPLANATIONS;
pub(crate) use error::RootError;
use error::RootExit;

use crate::hir::{
    Block, Builtin, Expr, ExprKind, ExternId, Func, LocalId, LocalKind, Place, PlaceKind, Program,
    StmtKind,
};
use crate::source::Span;

/// The runtime export that registers a root slot.
pub(crate) const ADD_ROOT: &str = "npk_shadow_stack_add_root";
/// The runtime export that unregisters it.
pub(crate) const REMOVE_ROOT: &str = "npk_shadow_stack_remove_root";

/// What one slot binding may be at a program point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Reg {
    /// Registered by these calls.
    added: BTreeSet<Span>,
    /// Removed by these calls.
    removed: BTreeSet<Span>,
    /// Of `removed`, those after which the rooted word (`slot[0]`,
    /// `<-slot`) was not written again: reading it may see a stale address.
    stale: BTreeSet<Span>,
    /// Never registered here.
    clear: bool,
}

impl Reg {
    fn join(&mut self, other: &Reg) {
        self.added.extend(other.added.iter().copied());
        self.removed.extend(other.removed.iter().copied());
        self.stale.extend(other.stale.iter().copied());
        self.clear |= other.clear;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    regs: Vec<Reg>,
    reachable: bool,
}

impl State {
    fn unreachable(n: usize) -> State {
        State {
            regs: vec![Reg::default(); n],
            reachable: false,
        }
    }

    fn join(&mut self, other: &State) {
        if !other.reachable {
            return;
        }
        if !self.reachable {
            *self = other.clone();
            return;
        }
        for (a, b) in self.regs.iter_mut().zip(&other.regs) {
            a.join(b);
        }
    }
}

struct Scope<'a> {
    locals: Vec<LocalId>,
    defers: Vec<&'a Block>,
}

struct LoopFrame {
    depth: usize,
    breaks: State,
    continues: State,
}

struct Walk<'a> {
    func: &'a Func,
    add: Option<ExternId>,
    remove: Option<ExternId>,
    scopes: Vec<Scope<'a>>,
    loops: Vec<LoopFrame>,
    errors: Vec<RootError>,
    seen: BTreeSet<(&'static str, Span)>,
    /// Status locals: `rc` bound to `npk_shadow_stack_add_root(slot)` at
    /// this call (`rc != 0` then means the slot was not registered).
    statuses: Vec<(LocalId, LocalId, Span)>,
}

/// The externs of `program` that are the runtime's root exports.
fn root_externs(program: &Program) -> (Option<ExternId>, Option<ExternId>) {
    let find = |name: &str| {
        program
            .externs
            .iter()
            .position(|x| x.name == name)
            .and_then(|i| u32::try_from(i).ok())
            .map(ExternId)
    };
    (find(ADD_ROOT), find(REMOVE_ROOT))
}

/// Whether `b` calls extern `ext` anywhere.
fn calls(b: &Block, ext: ExternId) -> bool {
    fn expr(e: &Expr, ext: ExternId) -> bool {
        let mut found = matches!(e.kind, ExprKind::CallExtern { ext: x, .. } if x == ext);
        e.for_each_child(&mut |c| found = found || expr(c, ext));
        found
    }
    b.stmts.iter().any(|s| {
        let mut found = false;
        s.for_each_expr(&mut |e| found = found || expr(e, ext));
        s.for_each_block(&mut |b| found = found || calls(b, ext));
        found
    })
}

/// Checks the root registrations of every function of `program`.
pub(crate) fn check(program: &Program) -> Vec<RootError> {
    let (add, remove) = root_externs(program);
    let Some(add_id) = add else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for func in &program.funcs {
        if !calls(&func.body, add_id) && !remove.is_some_and(|r| calls(&func.body, r)) {
            continue;
        }
        let mut w = Walk {
            func,
            add,
            remove,
            scopes: Vec::new(),
            loops: Vec::new(),
            errors: Vec::new(),
            seen: BTreeSet::new(),
            statuses: Vec::new(),
        };
        let mut st = State {
            regs: func
                .locals
                .iter()
                .map(|l| Reg {
                    // A parameter's registration is the caller's business.
                    clear: l.kind != LocalKind::Param,
                    ..Reg::default()
                })
                .collect(),
            reachable: true,
        };
        w.scopes.push(Scope {
            locals: func.params.clone(),
            defers: Vec::new(),
        });
        w.block_in_scope(&func.body, &mut st);
        if st.reachable {
            let end = closing_brace(func.body.span);
            w.leave(0, &mut st, end, RootExit::BlockEnd);
        }
        errors.append(&mut w.errors);
    }
    errors
}

fn closing_brace(span: Span) -> Span {
    if span.end > span.start {
        Span::new(span.file, span.end - 1, span.end)
    } else {
        span
    }
}

/// The local an argument names, through conversions.
fn slot_local(e: &Expr) -> Option<LocalId> {
    match &e.kind {
        ExprKind::Local(id) | ExprKind::Take(id) => Some(*id),
        ExprKind::Cast(inner) => slot_local(inner),
        _ => None,
    }
}

/// The slot binding whose rooted word (the 8 bytes at the slot's address,
/// all a registration covers) `place` is: `slot[0]` or `<-slot`.
fn rooted_word(place: &Place) -> Option<LocalId> {
    fn zero(e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Int(0) => true,
            ExprKind::Cast(inner) => zero(inner),
            _ => false,
        }
    }
    match &place.kind {
        PlaceKind::Deref(base) => slot_local(base),
        PlaceKind::Index { base, index } if zero(index) => slot_local(base),
        PlaceKind::Index { .. } | PlaceKind::Local(_) => None,
    }
}

impl<'a> Walk<'a> {
    fn report(&mut self, e: RootError) {
        if self.seen.insert((e.code(), e.span())) {
            self.errors.push(e);
        }
    }

    fn name(&self, id: LocalId) -> String {
        self.func.local(id).name.clone()
    }

    fn reg(st: &mut State, id: LocalId) -> Option<&mut Reg> {
        st.regs.get_mut(id.0 as usize)
    }

    fn expr(&mut self, e: &'a Expr, st: &mut State) {
        e.for_each_child(&mut |c| self.expr(c, st));
        match &e.kind {
            ExprKind::CallExtern { ext, args } if Some(*ext) == self.add => {
                if let Some(id) = args.first().and_then(slot_local) {
                    self.add_root(id, e.span, st);
                }
            }
            ExprKind::CallExtern { ext, args } if Some(*ext) == self.remove => {
                if let Some(id) = args.first().and_then(slot_local) {
                    self.remove_root(id, e.span, st);
                }
            }
            ExprKind::Builtin {
                builtin: Builtin::Free,
                args,
            } => {
                if let Some(id) = args.first().and_then(slot_local)
                    && let Some(&added) = Self::reg(st, id).and_then(|r| r.added.first())
                {
                    let name = self.name(id);
                    self.report(RootError::FreedWhileRooted {
                        name,
                        at: e.span,
                        added,
                    });
                }
            }
            ExprKind::Load(place) => self.read_through(place, e.span, st),
            _ => {}
        }
    }

    /// A read through `place` at `at`: NPK-408 if it reads through a slot
    /// whose root may have been removed with the slot not written since.
    fn read_through(&mut self, place: &Place, at: Span, st: &mut State) {
        let base = match &place.kind {
            PlaceKind::Index { base, .. } | PlaceKind::Deref(base) => slot_local(base),
            PlaceKind::Local(_) => None,
        };
        if let Some(id) = base
            && let Some(&removed) = Self::reg(st, id).and_then(|r| r.stale.first())
        {
            let name = self.name(id);
            self.report(RootError::UseAfterRemove { name, at, removed });
        }
    }

    fn add_root(&mut self, id: LocalId, span: Span, st: &mut State) {
        let Some(reg) = Self::reg(st, id) else {
            return;
        };
        if let Some(&added) = reg.added.first() {
            let name = self.name(id);
            self.report(RootError::AddedTwice {
                name,
                at: span,
                added,
            });
        }
        if let Some(reg) = Self::reg(st, id) {
            *reg = Reg {
                added: BTreeSet::from([span]),
                ..Reg::default()
            };
        }
    }

    fn remove_root(&mut self, id: LocalId, span: Span, st: &mut State) {
        let Some(reg) = Self::reg(st, id) else {
            return;
        };
        if reg.clear || !reg.removed.is_empty() {
            let removed = reg.removed.first().copied();
            let name = self.name(id);
            self.report(RootError::RemovedUnregistered {
                name,
                at: span,
                removed,
            });
        }
        if let Some(reg) = Self::reg(st, id) {
            *reg = Reg {
                removed: BTreeSet::from([span]),
                stale: BTreeSet::from([span]),
                ..Reg::default()
            };
        }
    }

    /// `local` now holds `value`: the status of a registration if `value`
    /// is a call of `npk_shadow_stack_add_root` on a slot binding.
    fn bind_status(&mut self, local: LocalId, value: &Expr) {
        self.statuses.retain(|(rc, _, _)| *rc != local);
        if let Some((slot, at)) = self.add_call(value) {
            self.statuses.push((local, slot, at));
        }
    }

    /// `(slot, call span)` if `e` is `npk_shadow_stack_add_root(slot)`.
    fn add_call(&self, e: &Expr) -> Option<(LocalId, Span)> {
        match &e.kind {
            ExprKind::CallExtern { ext, args } if Some(*ext) == self.add => {
                Some((args.first().and_then(slot_local)?, e.span))
            }
            _ => None,
        }
    }

    /// A failed registration registers nothing: where `cond` says the
    /// status of the registration that is still current is nonzero
    /// (`rc != 0`, `rc == 0` on its else path, or the call itself compared
    /// with 0), the slot is as unregistered.
    fn refine(&self, cond: &Expr, then_st: &mut State, else_st: &mut State) {
        let ExprKind::Binary { op, lhs, rhs } = &cond.kind else {
            return;
        };
        let failed_on_then = match op {
            crate::ast::BinOp::Ne => true,
            crate::ast::BinOp::Eq => false,
            _ => return,
        };
        let (status, zero) = match (&lhs.kind, &rhs.kind) {
            (_, ExprKind::Int(0)) => (lhs, true),
            (ExprKind::Int(0), _) => (rhs, true),
            _ => return,
        };
        let found = match &status.kind {
            ExprKind::Local(rc) => self
                .statuses
                .iter()
                .find(|(r, _, _)| r == rc)
                .map(|(_, slot, at)| (*slot, *at)),
            _ => self.add_call(status),
        };
        let (true, Some((slot, at))) = (zero, found) else {
            return;
        };
        let failed = if failed_on_then { then_st } else { else_st };
        if let Some(r) = Self::reg(failed, slot)
            && r.added.len() == 1
            && r.added.contains(&at)
        {
            *r = Reg {
                clear: true,
                ..Reg::default()
            };
        }
    }

    /// Reports every binding of `ids` that may still be registered.
    fn check_registered(&mut self, ids: &[LocalId], st: &State, at: Span, exit: RootExit) {
        for &id in ids {
            if let Some(&added) = st.regs.get(id.0 as usize).and_then(|r| r.added.first()) {
                let name = self.name(id);
                self.report(RootError::NeverRemoved {
                    name,
                    at,
                    exit,
                    added,
                });
            }
        }
    }

    /// Leaves scopes `level..` (innermost first): runs their defers, then
    /// checks the bindings they declared.
    fn leave(&mut self, level: usize, st: &mut State, at: Span, exit: RootExit) {
        let mut s = self.scopes.len();
        let mut ids = Vec::new();
        while s > level {
            s -= 1;
            let mut k = self.scopes[s].defers.len();
            while k > 0 && st.reachable {
                k -= 1;
                let body = self.scopes[s].defers[k];
                // The body runs with only the defers registered before it pending.
                let saved: Vec<(usize, Vec<&'a Block>)> = self
                    .scopes
                    .iter()
                    .enumerate()
                    .skip(s)
                    .map(|(i, sc)| (i, sc.defers.clone()))
                    .collect();
                let tail = self.scopes.split_off(s + 1);
                self.scopes[s].defers.truncate(k);
                let loops = std::mem::take(&mut self.loops);
                self.block(body, st);
                self.loops = loops;
                self.scopes.extend(tail);
                for (i, d) in saved {
                    self.scopes[i].defers = d;
                }
            }
            ids.extend(self.scopes[s].locals.iter().copied());
        }
        if st.reachable {
            self.check_registered(&ids, st, at, exit);
        }
    }

    fn block(&mut self, b: &'a Block, st: &mut State) {
        self.scopes.push(Scope {
            locals: Vec::new(),
            defers: Vec::new(),
        });
        self.block_in_scope(b, st);
        if st.reachable {
            let level = self.scopes.len() - 1;
            self.leave(level, st, closing_brace(b.span), RootExit::BlockEnd);
        }
        self.scopes.pop();
    }

    /// The statements of `b` in the innermost scope (already pushed).
    fn block_in_scope(&mut self, b: &'a Block, st: &mut State) {
        for s in &b.stmts {
            if !st.reachable {
                break;
            }
            self.stmt(s, st);
        }
    }

    fn stmt(&mut self, s: &'a crate::hir::Stmt, st: &mut State) {
        match &s.kind {
            StmtKind::Let { local, init } => {
                self.expr(init, st);
                self.bind_status(*local, init);
                if let Some(r) = Self::reg(st, *local) {
                    *r = Reg {
                        clear: true,
                        ..Reg::default()
                    };
                }
                if let Some(scope) = self.scopes.last_mut() {
                    scope.locals.push(*local);
                }
            }
            StmtKind::Assign { place, op, value } => {
                self.expr(value, st);
                place.for_each_operand(&mut |e| self.expr(e, st));
                if op.is_some() {
                    // `slot[0] += v` reads the old value first.
                    self.read_through(place, place.span, st);
                } else if let Some(id) = rooted_word(place)
                    && let Some(r) = Self::reg(st, id)
                {
                    // A fresh value in the word the root covered: reading
                    // it back reads what was written, not a stale address.
                    r.stale.clear();
                }
                if let PlaceKind::Local(id) = place.kind {
                    self.bind_status(id, value);
                    self.check_registered(&[id], st, s.span, RootExit::Overwrite);
                    if let Some(r) = Self::reg(st, id) {
                        *r = Reg {
                            clear: true,
                            ..Reg::default()
                        };
                    }
                }
            }
            StmtKind::Expr(e) => self.expr(e, st),
            StmtKind::If {
                cond,
                then_block,
                else_block,
            } => {
                self.expr(cond, st);
                let mut other = st.clone();
                self.refine(cond, st, &mut other);
                self.block(then_block, st);
                if let Some(e) = else_block {
                    self.block(e, &mut other);
                }
                st.join(&other);
            }
            StmtKind::While { cond, body, step } => {
                self.expr(cond, st);
                self.iterate(st, |w, s| {
                    w.block(body, s);
                    (s.clone(), step.as_ref(), Some(cond))
                });
            }
            StmtKind::Loop {
                start,
                limit,
                step,
                body,
                ..
            } => {
                for e in [start, limit, step] {
                    self.expr(e, st);
                }
                self.iterate(st, |w, s| {
                    w.block(body, s);
                    (s.clone(), None, None)
                });
            }
            StmtKind::Break | StmtKind::Continue => {
                let brk = matches!(s.kind, StmtKind::Break);
                let Some(depth) = self.loops.last().map(|l| l.depth) else {
                    return;
                };
                let exit = if brk {
                    RootExit::Break
                } else {
                    RootExit::Continue
                };
                self.leave(depth, st, s.span, exit);
                if let Some(frame) = self.loops.last_mut() {
                    if brk {
                        frame.breaks.join(st);
                    } else {
                        frame.continues.join(st);
                    }
                }
                st.reachable = false;
            }
            StmtKind::Block(b) => self.block(b, st),
            StmtKind::Defer(b) => {
                if let Some(scope) = self.scopes.last_mut() {
                    scope.defers.push(b);
                }
            }
            StmtKind::Pass(e) => {
                if let Some(e) = e {
                    self.expr(e, st);
                }
                self.leave(0, st, s.span, RootExit::Pass);
                st.reachable = false;
            }
            StmtKind::Fail(e) | StmtKind::Exit(e) => {
                self.expr(e, st);
                let exit = if matches!(s.kind, StmtKind::Fail(_)) {
                    RootExit::Fail
                } else {
                    RootExit::Exit
                };
                self.leave(0, st, s.span, exit);
                st.reachable = false;
            }
        }
    }

    /// A loop: `body` runs zero or more times from `st` until the state at
    /// its head is stable; afterwards `st` is the head joined with every
    /// `break`. `body` returns the state at its end, the `for` step and the
    /// condition re-tested before the next iteration.
    fn iterate(
        &mut self,
        st: &mut State,
        body: impl Fn(&mut Self, &mut State) -> (State, Option<&'a Block>, Option<&'a Expr>),
    ) {
        let n = st.regs.len();
        let mut head = st.clone();
        let mut breaks = State::unreachable(n);
        // Monotone over finite sets of call sites: it settles (no budget).
        loop {
            let mut s = head.clone();
            self.loops.push(LoopFrame {
                depth: self.scopes.len(),
                breaks: State::unreachable(n),
                continues: State::unreachable(n),
            });
            let (mut end, step, cond) = body(self, &mut s);
            let Some(frame) = self.loops.pop() else {
                break;
            };
            end.join(&frame.continues);
            if let Some(step) = step {
                self.block(step, &mut end);
            }
            if let Some(cond) = cond {
                self.expr(cond, &mut end);
            }
            breaks.join(&frame.breaks);
            let mut next = head.clone();
            next.join(&end);
            if next == head {
                break;
            }
            head = next;
        }
        head.join(&breaks);
        *st = head;
    }
}
