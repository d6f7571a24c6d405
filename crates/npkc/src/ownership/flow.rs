//! Flow-sensitive ownership analysis of one function body.
//!
//! The HIR is structured (blocks, `if`, loops, `break`/`continue`, `pass`,
//! `fail`, `exit`, `defer`), so the control-flow graph is walked directly
//! in its structured form: an abstract interpreter carries a [`State`]
//! through each statement, forks it at branches and joins the results, and
//! iterates loops until their head state stops changing. This is the same
//! fixpoint a CFG worklist would compute, without building the graph, and it
//! makes "run the pending defers of every block being left" a walk up the
//! scope stack. Paths that end (`pass`, `fail`, `exit`, `break`, `continue`)
//! leave an unreachable state behind, so they never reach later joins.
//!
//! A loop re-entered (on an enclosing loop's next iteration) starts from
//! its previous fixpoint joined with the new entry, so nested loops cost
//! about their size, not 2^depth; every budget ([`Limits`]) exceeded stops
//! the analysis with `NPK-405` and an opaque summary, never a guess.
//!
//! In: a function, the program, the current [`Summaries`]. Out: the
//! problems found and the function's own [`Summary`]. Naming: `eval_*`
//! (in `eval`) computes an expression's [`Value`]; `use_*`, `release_*`,
//! `bind`, `discard`, `returned` (in `consume`) consume one.

use std::collections::{BTreeSet, HashMap};

use crate::ast::Region;
use crate::hir::{Block, Expr, Func, FuncId, LocalId, PlaceKind, Program, StmtKind, Ty};
use crate::source::Span;

use super::Limits;
use super::error::{Budget, Carried, OwnershipError, ScopeExit, TempSink};
use super::state::{Origin, ResourceKind, Slot, State};
use super::summary::{Summaries, Summary};

mod consume;
mod eval;

/// The result of analysing one function.
#[derive(Debug)]
pub(crate) struct FuncResult {
    pub errors: Vec<OwnershipError>,
    pub summary: Summary,
    /// `drop.npk`: the `wildx` bindings that own an allocation on some path,
    /// released at every scope end (see `drop_lower`).
    pub scope_released: Vec<LocalId>,
}

/// Analyses `func` with the callee summaries `summaries`.
pub(crate) fn analyze(
    program: &Program,
    func: FuncId,
    summaries: &Summaries,
    limits: &Limits,
) -> FuncResult {
    let Some(f) = program.funcs.get(func.0 as usize) else {
        return FuncResult {
            errors: Vec::new(),
            summary: Summary::default(),
            scope_released: Vec::new(),
        };
    };
    let mut a = Analysis {
        program,
        func: f,
        auto_release: program.auto_releases(f),
        scope_released: BTreeSet::new(),
        summaries,
        errors: Vec::new(),
        seen: BTreeSet::new(),
        joins: Vec::new(),
        decl_scope: vec![usize::MAX; f.locals.len()],
        defer_spans: {
            let mut v = Vec::new();
            collect_defers(&f.body, &mut v);
            v
        },
        blamed: BTreeSet::new(),
        scopes: Vec::new(),
        loops: Vec::new(),
        scope_floor: 0,
        loop_floor: 0,
        fuel: limits.fuel_base.saturating_add(
            limits
                .fuel_per_byte
                .saturating_mul(u64::from(f.span.end.saturating_sub(f.span.start))),
        ),
        loop_iterations: limits.loop_iterations,
        exhausted: None,
        loop_heads: HashMap::new(),
        defer_epoch: 0,
        ret: ReturnAcc {
            owned: None,
            borrowed: None,
            returns: vec![false; f.params.len()],
            returns_borrow: vec![false; f.params.len()],
            released: vec![None; f.params.len()],
            kept: vec![None; f.params.len()],
            via_partial: vec![None; f.params.len()],
            any: false,
        },
    };
    a.run();
    a.finish()
}

/// What an expression evaluates to, as far as ownership is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// A resource allocated by this expression and not yet bound.
    Fresh {
        span: Span,
        kind: ResourceKind,
    },
    /// The current content of a local, read at `span`.
    Local {
        id: LocalId,
        span: Span,
    },
    /// A pointer returned by an extern (the checker cannot see its origin).
    ExternPointer {
        span: Span,
    },
    /// An address computed inside the allocation of local `id` (read at
    /// `span`): `(p => int64) + k => T->`, or a call returning a borrow of
    /// its argument `id`. Binding it makes a borrow of `id`'s owner, in any
    /// binding: it is never owned, never released, never leaked.
    Inside {
        id: LocalId,
        span: Span,
    },
    Null,
    Other,
    /// One of two values, depending on the path (index into `Analysis::joins`).
    Join(u32),
}

/// One lexical block being executed.
#[derive(Debug)]
struct Scope<'a> {
    /// The smallest local id declared in this scope so far (`usize::MAX`: none).
    first_local: usize,
    defers: Vec<&'a Block>,
}

/// The innermost loops: where `break`/`continue` send their states.
#[derive(Debug)]
struct LoopFrame {
    /// Number of scopes outside the loop body.
    depth: usize,
    breaks: State,
    continues: State,
}

/// What the function's returning paths did, for its summary.
#[derive(Debug)]
struct ReturnAcc {
    /// Some `pass` returns an owned pointer: where, and which kind.
    owned: Option<(Span, ResourceKind)>,
    /// Some `pass` returns a parameter the caller owns.
    borrowed: Option<Span>,
    /// Per parameter: some `pass` returns it.
    returns: Vec<bool>,
    /// Per parameter: some `pass` returns an address inside it (a borrow).
    returns_borrow: Vec<bool>,
    /// Per parameter: released on some returning path.
    released: Vec<Option<(Span, ResourceKind)>>,
    /// Per parameter: some returning path (at this span) did not release it.
    kept: Vec<Option<Span>>,
    /// Per parameter: some returning path passed it to a callee that
    /// releases it on some paths only (at this call).
    via_partial: Vec<Option<Span>>,
    /// Some path returns at all.
    any: bool,
}

struct Analysis<'a> {
    program: &'a Program,
    func: &'a Func,
    /// The function's module uses `drop.npk`: owned `wildx` bindings are
    /// released at every scope end instead of leaking there.
    auto_release: bool,
    /// The `wildx` bindings seen owning an allocation (when `auto_release`).
    scope_released: BTreeSet<u32>,
    summaries: &'a Summaries,
    errors: Vec<OwnershipError>,
    /// (code, primary span, local) of every report, so that a defer body
    /// run at several exits, or a loop body run several times, reports once.
    seen: BTreeSet<(&'static str, Span, u32)>,
    /// The alternatives of every [`Value::Join`] made so far.
    joins: Vec<(Value, Value)>,
    /// Per local: the depth of the scope that declared it (`usize::MAX`
    /// for parameters, which the caller owns).
    decl_scope: Vec<usize>,
    /// Every `defer` body of the function, with the block it is in.
    defer_spans: Vec<(Span, Span)>,
    /// (local, release or move span) of every fault reported: a release
    /// reaching several later uses or releases (on different paths) is one
    /// fault, reported once.
    blamed: BTreeSet<(u32, Span)>,
    scopes: Vec<Scope<'a>>,
    loops: Vec<LoopFrame>,
    /// While a defer body runs at a scope exit, jumps may not leave it:
    /// scopes below `scope_floor` and loops below `loop_floor` are out of reach.
    scope_floor: usize,
    loop_floor: usize,
    /// Statements left to interpret ([`Limits::fuel_base`]). A loop
    /// re-entered from an enclosing loop's next iteration starts from its
    /// previous fixpoint ([`Analysis::loop_heads`]), so nesting does not
    /// multiply the work in real code.
    fuel: u64,
    /// See [`Limits::loop_iterations`].
    loop_iterations: usize,
    /// The budget this analysis exceeded: it stops, reports nothing more,
    /// and the function gets `NPK-405` and an opaque summary.
    exhausted: Option<Budget>,
    /// The last fixpoint head of each loop (by the address of its body, and
    /// the defer run it is in): when an enclosing loop's next iteration
    /// enters the loop again, the iteration starts from that head joined
    /// with the new entry state. The analysis is monotone, so the fixpoint
    /// is the same, reached in one or two iterations instead of a fresh
    /// climb (which made n nested loops cost 2^n).
    loop_heads: HashMap<(usize, u64), State>,
    /// Which run of a defer body is being interpreted (0: none); a defer
    /// body runs once per exit, each with its own state.
    defer_epoch: u64,
    ret: ReturnAcc,
}

/// The closing `}` of a block span (the span itself when it is empty).
fn closing_brace(span: Span) -> Span {
    if span.end > span.start {
        Span::new(span.file, span.end - 1, span.end)
    } else {
        span
    }
}

/// Pushes (defer body span, enclosing block span) for every `defer` in `b`.
fn collect_defers(b: &Block, out: &mut Vec<(Span, Span)>) {
    for st in &b.stmts {
        match &st.kind {
            StmtKind::Defer(d) => {
                out.push((d.span, b.span));
                collect_defers(d, out);
            }
            StmtKind::If {
                then_block,
                else_block,
                ..
            } => {
                collect_defers(then_block, out);
                if let Some(e) = else_block {
                    collect_defers(e, out);
                }
            }
            StmtKind::While { body, step, .. } => {
                collect_defers(body, out);
                if let Some(s) = step {
                    collect_defers(s, out);
                }
            }
            StmtKind::Loop { body, .. } | StmtKind::Block(body) => collect_defers(body, out),
            _ => {}
        }
    }
}

/// Whether moving a value of type `ty` moves ownership (pointers, and
/// results that may carry one).
fn carries_pointer(ty: &Ty) -> bool {
    match ty {
        Ty::Ptr(_) | Ty::Erased | Ty::Null => true,
        Ty::Result(inner) => carries_pointer(inner),
        _ => false,
    }
}

impl<'a> Analysis<'a> {
    fn run(&mut self) {
        let func = self.func;
        let mut st = State::entry(func.locals.len(), func.params.len());
        for (i, p) in func.params.iter().enumerate() {
            let is_ptr = func
                .locals
                .get(p.0 as usize)
                .is_some_and(|l| carries_pointer(&l.ty));
            if let (true, Ok(i)) = (is_ptr, u32::try_from(i)) {
                st.slots.set(p.0 as usize, Slot::owning(Origin::Param(i)));
            }
        }
        self.run_block(&func.body, &mut st);
        if st.reachable {
            self.record_return(&st, closing_brace(func.body.span));
        }
    }

    fn finish(mut self) -> FuncResult {
        if let Some(what) = self.exhausted {
            // No verdict for the function: the budget error (beside what was
            // reported before the budget ran out, each fault real on the
            // paths seen), and a summary that says nothing is known
            // (callers let their arguments escape).
            let mut errors: Vec<OwnershipError> = std::mem::take(&mut self.errors);
            errors.push(OwnershipError::BudgetExceeded {
                func: self.func.name.clone(),
                at: self.func.name_span,
                what,
            });
            return FuncResult {
                errors,
                summary: Summary {
                    opaque: true,
                    ..Summary::default()
                },
                scope_released: Vec::new(),
            };
        }
        // Per parameter, over the returning paths: released (directly, or
        // by a callee that always releases it), kept (directly), or passed
        // to a callee that releases it on some paths only. Partial when
        // mixed; blamed (`NPK-402`) only where a path of this function
        // itself keeps it: a function that merely passes the pointer to a
        // partial callee is not the one at fault.
        let mut releases = Vec::with_capacity(self.func.params.len());
        let mut partial = vec![false; self.func.params.len()];
        for (i, p) in self.func.params.iter().enumerate() {
            let released = self.ret.released[i];
            let kept = self.ret.kept[i];
            let via = self.ret.via_partial[i];
            partial[i] = via.is_some() || (released.is_some() && kept.is_some());
            let released_at = released.map(|(s, _)| s).or(via);
            if let (Some(released_at), Some(kept_at)) = (released_at, kept) {
                let (param, param_span) = self.local_name_span(*p);
                self.errors.push(OwnershipError::PartialRelease {
                    func: self.func.name.clone(),
                    param,
                    param_span,
                    released_at,
                    kept_at,
                });
            }
            releases.push(if partial[i] {
                None
            } else {
                released.map(|(_, k)| k)
            });
        }
        if let (Some((owned_at, _)), Some(borrowed_at)) = (self.ret.owned, self.ret.borrowed) {
            self.errors.push(OwnershipError::MixedReturn {
                func: self.func.name.clone(),
                owned_at,
                borrowed_at,
            });
        }
        FuncResult {
            scope_released: self.scope_released.iter().map(|&l| LocalId(l)).collect(),
            errors: self.errors,
            summary: Summary {
                returns_owned: self.ret.owned.map(|(_, k)| k),
                releases,
                returns: self.ret.returns,
                returns_borrow: self.ret.returns_borrow,
                partial,
                may_return: self.ret.any,
                opaque: false,
            },
        }
    }

    fn local_name_span(&self, l: LocalId) -> (String, Span) {
        self.func.locals.get(l.0 as usize).map_or_else(
            || (format!("#{}", l.0), self.func.span),
            |x| (x.name.clone(), x.span),
        )
    }

    fn local_name(&self, l: LocalId) -> String {
        self.local_name_span(l).0
    }

    fn local_is_movable(&self, l: LocalId) -> bool {
        self.func
            .locals
            .get(l.0 as usize)
            .is_some_and(|x| carries_pointer(&x.ty))
    }

    /// Whether `l` can take ownership by a move: a `wild`/`wildx` pointer
    /// binding, or a `Result` that may carry one. Copying a pointer into an
    /// integer (`int64:a = p => int64;`) or an unqualified pointer binding is
    /// a use of the source, not a move.
    /// Whether `l` is released at its scope end (`drop.npk`): a `wildx`
    /// binding (not a parameter) of a function whose module uses it.
    fn released_at_scope_end(&self, l: LocalId) -> bool {
        self.auto_release
            && self.func.locals.get(l.0 as usize).is_some_and(|x| {
                x.region == Some(Region::Wildx)
                    && x.kind != crate::hir::LocalKind::Param
                    && carries_pointer(&x.ty)
                    && !matches!(x.ty, Ty::Result(_))
            })
    }

    fn local_can_own(&self, l: LocalId) -> bool {
        self.func.locals.get(l.0 as usize).is_some_and(|x| {
            carries_pointer(&x.ty)
                && (matches!(x.ty, Ty::Result(_))
                    || matches!(x.region, Some(Region::Wild | Region::Wildx)))
        })
    }

    /// How the releases/moves at `spans` reached a fault at `at`: from a
    /// `defer` body (the release span lies in one), and around a loop (the
    /// release lies at or after `at` in the source, or in a `defer`
    /// registered before `at` in a block that encloses `at`: either way it
    /// ran in a previous iteration).
    fn carried<'s>(&self, spans: impl Iterator<Item = &'s Span>, at: Span) -> Carried {
        let mut c = Carried::default();
        for s in spans {
            let defer = self
                .defer_spans
                .iter()
                .find(|(d, _)| d.file == s.file && d.start <= s.start && s.end <= d.end);
            if let Some((d, parent)) = defer {
                c.by_defer = true;
                if !self.loops.is_empty()
                    && parent.start <= at.start
                    && at.end <= parent.end
                    && d.end <= at.start
                {
                    c.previous_iteration = true;
                }
            }
            if !self.loops.is_empty() && s.file == at.file && s.start >= at.start {
                c.previous_iteration = true;
            }
        }
        c
    }

    /// Spends one step of fuel; false (and the budget marked exceeded) once
    /// it is gone or another budget was exceeded.
    fn step(&mut self) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        if self.fuel == 0 {
            self.exhausted = Some(Budget::Steps);
            return false;
        }
        self.fuel -= 1;
        true
    }

    fn report(&mut self, local: Option<LocalId>, err: OwnershipError) {
        if self.exhausted.is_some() {
            // Past a budget the states are incomplete: no verdict from them.
            return;
        }
        let key = (err.code(), err.span(), local.map_or(u32::MAX, |l| l.0));
        if self.seen.insert(key) {
            self.errors.push(err);
        }
    }

    // ----- statements -------------------------------------------------

    fn run_block(&mut self, block: &'a Block, st: &mut State) {
        self.scopes.push(Scope {
            first_local: usize::MAX,
            defers: Vec::new(),
        });
        for stmt in &block.stmts {
            if !st.reachable {
                break;
            }
            if !self.step() {
                st.reachable = false;
                break;
            }
            self.stmt(&stmt.kind, stmt.span, st);
        }
        if st.reachable {
            let depth = self.scopes.len() - 1;
            self.leave_scopes(
                depth,
                st,
                ScopeExit::BlockEnd,
                closing_brace(block.span),
                true,
            );
        }
        self.scopes.pop();
    }

    fn stmt(&mut self, kind: &'a StmtKind, span: Span, st: &mut State) {
        match kind {
            StmtKind::Let { local, init } => {
                let v = self.eval(init, st);
                self.bind(*local, v, st);
                let depth = self.scopes.len().saturating_sub(1);
                if let Some(scope) = self.scopes.last_mut() {
                    scope.first_local = scope.first_local.min(local.0 as usize);
                }
                if let Some(d) = self.decl_scope.get_mut(local.0 as usize) {
                    *d = depth;
                }
            }
            StmtKind::Assign { place, op, value } => match &place.kind {
                PlaceKind::Local(l) => {
                    let v = self.eval(value, st);
                    if op.is_some() {
                        self.use_value(v, st, TempSink::Operand);
                        self.use_local(*l, place.span, st);
                    } else {
                        self.assign(*l, v, st, span);
                    }
                }
                PlaceKind::Index { base, index } => {
                    let b = self.eval(base, st);
                    self.use_value(b, st, TempSink::Operand);
                    let i = self.eval(index, st);
                    self.use_value(i, st, TempSink::Operand);
                    let v = self.eval(value, st);
                    self.store(v, st);
                }
                PlaceKind::Deref(e) => {
                    let b = self.eval(e, st);
                    self.use_value(b, st, TempSink::Operand);
                    let v = self.eval(value, st);
                    self.store(v, st);
                }
            },
            StmtKind::Expr(e) => {
                let v = self.eval(e, st);
                self.discard(v, st);
            }
            StmtKind::If {
                cond,
                then_block,
                else_block,
            } => {
                let v = self.eval(cond, st);
                self.use_value(v, st, TempSink::Operand);
                let mut then_st = self.refine(st, cond, true);
                self.run_block(then_block, &mut then_st);
                let mut else_st = self.refine(st, cond, false);
                if let Some(b) = else_block {
                    self.run_block(b, &mut else_st);
                }
                then_st.join(&else_st);
                *st = then_st;
            }
            StmtKind::While { cond, body, step } => {
                self.run_loop(Some(cond), body, step.as_ref(), st)
            }
            StmtKind::Loop {
                counter,
                start,
                limit,
                step,
                body,
            } => {
                for e in [start, limit, step] {
                    let v = self.eval(e, st);
                    self.use_value(v, st, TempSink::Operand);
                }
                st.slots.set(counter.0 as usize, Slot::clear());
                self.run_loop(None, body, None, st);
            }
            StmtKind::Break => self.jump(true, span, st),
            StmtKind::Continue => self.jump(false, span, st),
            StmtKind::Block(b) => self.run_block(b, st),
            StmtKind::Defer(b) => {
                // Runs where the scope is left, not here.
                if let Some(scope) = self.scopes.last_mut() {
                    scope.defers.push(b);
                }
            }
            StmtKind::Pass(e) => {
                let v = e.as_ref().map(|e| self.eval(e, st));
                if let Some(v) = v {
                    self.returned(v, span, st);
                }
                self.leave_function(st, ScopeExit::Pass, span);
            }
            StmtKind::Fail(e) => {
                let v = self.eval(e, st);
                self.use_value(v, st, TempSink::Operand);
                self.leave_function(st, ScopeExit::Fail, span);
            }
            StmtKind::Exit(e) => {
                let v = self.eval(e, st);
                self.use_value(v, st, TempSink::Operand);
                // `exit` runs the pending defers, then ends the process. A
                // binding that still owns its allocation there is a leak (the
                // seed's bug248): every page is paired with a release. The
                // path ends here, so nothing after the `exit` sees its state.
                if self.scope_floor == 0 {
                    self.leave_scopes(0, st, ScopeExit::Exit, span, true);
                }
                st.reachable = false;
            }
        }
    }

    /// `while` (with `cond`) or `loop`/`till` (no condition: may run zero
    /// or more times), iterated until the state at the loop head is stable.
    fn run_loop(
        &mut self,
        cond: Option<&'a Expr>,
        body: &'a Block,
        step: Option<&'a Block>,
        st: &mut State,
    ) {
        let key = (std::ptr::from_ref(body) as usize, self.defer_epoch);
        let mut head = st.clone();
        if let Some(prev) = self.loop_heads.get(&key) {
            head.join(prev);
        }
        let mut exits = st.unreachable_like();
        let mut settled = false;
        for _ in 0..self.loop_iterations {
            let mut s = head.clone();
            let mut body_st = match cond {
                Some(c) => {
                    let v = self.eval(c, &mut s);
                    self.use_value(v, &mut s, TempSink::Operand);
                    exits.join(&self.refine(&s, c, false));
                    self.refine(&s, c, true)
                }
                None => {
                    exits.join(&s);
                    s
                }
            };
            self.loops.push(LoopFrame {
                depth: self.scopes.len(),
                breaks: st.unreachable_like(),
                continues: st.unreachable_like(),
            });
            self.run_block(body, &mut body_st);
            let frame = self.loops.pop().expect("the frame pushed above");
            exits.join(&frame.breaks);
            body_st.join(&frame.continues);
            if let (Some(step), true) = (step, body_st.reachable) {
                self.run_block(step, &mut body_st);
            }
            if self.exhausted.is_some() {
                st.reachable = false;
                return;
            }
            if !head.join(&body_st) {
                settled = true;
                break;
            }
        }
        if !settled {
            self.exhausted = Some(Budget::LoopIterations);
            st.reachable = false;
            return;
        }
        self.loop_heads.insert(key, head);
        *st = exits;
    }

    fn jump(&mut self, is_break: bool, span: Span, st: &mut State) {
        if self.loops.len() <= self.loop_floor {
            // No loop to leave (or a jump out of a defer body): the path ends.
            st.reachable = false;
            return;
        }
        let depth = self.loops.last().map_or(0, |f| f.depth);
        let exit = if is_break {
            ScopeExit::Break
        } else {
            ScopeExit::Continue
        };
        self.leave_scopes(depth, st, exit, span, true);
        if let Some(frame) = self.loops.last_mut() {
            if is_break {
                frame.breaks.join(st);
            } else {
                frame.continues.join(st);
            }
        }
        st.reachable = false;
    }

    fn leave_function(&mut self, st: &mut State, exit: ScopeExit, span: Span) {
        if self.scope_floor > 0 {
            // `pass`/`fail` inside a defer body being run: not a real exit.
            st.reachable = false;
            return;
        }
        self.leave_scopes(0, st, exit, span, true);
        if st.reachable {
            self.record_return(st, span);
        }
        st.reachable = false;
    }

    /// Leaves the scopes `to..` innermost first: runs each one's pending
    /// defers (LIFO), then checks its bindings for leaks at `at`.
    fn leave_scopes(
        &mut self,
        to: usize,
        st: &mut State,
        exit: ScopeExit,
        at: Span,
        check_leaks: bool,
    ) {
        for idx in (to..self.scopes.len()).rev() {
            let defers = self.scopes[idx].defers.clone();
            let (saved_scope, saved_loop) = (self.scope_floor, self.loop_floor);
            let saved_epoch = self.defer_epoch;
            self.scope_floor = self.scopes.len();
            self.loop_floor = self.loops.len();
            // The defers of scope `idx` run at this exit: one context.
            self.defer_epoch = (u64::from(at.start) << 20) | (idx as u64 & 0xF_FFFF) | (1 << 63);
            for d in defers.iter().rev() {
                if !st.reachable {
                    break;
                }
                self.run_block(d, st);
            }
            self.scope_floor = saved_scope;
            self.loop_floor = saved_loop;
            self.defer_epoch = saved_epoch;
            if !st.reachable {
                return;
            }
            // Only slots that may own are visited (the state flags them);
            // the others need no check, and are rebound before any reuse.
            let from = self.scopes[idx].first_local;
            for l in st.slots.may_own_from(from) {
                if self.decl_scope.get(l).copied() != Some(idx) {
                    continue;
                }
                let local = LocalId(u32::try_from(l).unwrap_or(u32::MAX));
                let Some(slot) = st.slots.get(l) else {
                    continue;
                };
                if self.released_at_scope_end(local) {
                    // `drop.npk`: released here (run time: only if it still
                    // owns). A borrow of it that outlives the scope dangles.
                    if !slot.reported {
                        let slot = slot.clone();
                        let name = self.local_name(local);
                        self.scope_release_of_borrow(local, &slot, name, at);
                    }
                    let released = Slot::released_at(at);
                    st.slots.set(l, released);
                    continue;
                }
                if check_leaks && !slot.reported {
                    let err = self.leak(local, slot, at, exit);
                    self.report(Some(local), err);
                }
                st.slots.set(l, Slot::clear());
            }
        }
    }

    fn record_return(&mut self, st: &State, at: Span) {
        for (i, fate) in st.params.iter().enumerate() {
            if let Some((span, kind)) = fate.released {
                let acc = &mut self.ret.released[i];
                *acc = Some(match *acc {
                    Some((s, k)) => (s.min(span), k.join(kind)),
                    None => (span, kind),
                });
            }
            if fate.kept && self.ret.kept[i].is_none() {
                self.ret.kept[i] = Some(at);
            }
            if let (Some(s), None) = (fate.via_partial, self.ret.via_partial[i]) {
                self.ret.via_partial[i] = Some(s);
            }
        }
        self.ret.any = true;
    }
}
