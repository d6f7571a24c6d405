//! Expression evaluation and `NULL` refinement for the flow analysis.
//!
//! `eval` walks an expression in evaluation order, consuming operands as it
//! goes (uses, releases, leaks of temporaries), and returns the [`Value`]
//! the parent consumes. `refine` narrows a state to the paths on which a
//! condition has a given outcome (`p == NULL` true: `p` owns nothing).

use crate::ast::{BinOp, UnOp};
use crate::hir::{
    Builtin, Expr, ExprKind, FuncId, LocalId, PlaceKind, ResultField, TemplatePart, Ty,
};
use crate::source::Span;

use super::super::error::{OwnershipError, ScopeExit, TempSink};
use super::super::state::{Origin, ParamFate, ResourceKind, State};
use super::{Analysis, Value};

impl<'a> Analysis<'a> {
    // ----- expressions ------------------------------------------------

    pub(super) fn eval(&mut self, e: &'a Expr, st: &mut State) -> Value {
        if !st.reachable {
            return Value::Other;
        }
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) => Value::Other,
            ExprKind::Null => Value::Null,
            ExprKind::Template(parts) => {
                for p in parts {
                    if let TemplatePart::Expr(x) = p {
                        let v = self.eval(x, st);
                        self.use_value(v, st, TempSink::Operand);
                    }
                }
                Value::Other
            }
            ExprKind::Local(l) | ExprKind::Take(l) => Value::Local {
                id: *l,
                span: e.span,
            },
            ExprKind::Load(place) => {
                match &place.kind {
                    PlaceKind::Local(l) => self.use_local(*l, place.span, st),
                    PlaceKind::Index { base, index } => {
                        let b = self.eval(base, st);
                        self.use_value(b, st, TempSink::Operand);
                        let i = self.eval(index, st);
                        self.use_value(i, st, TempSink::Operand);
                    }
                    PlaceKind::Deref(x) => {
                        let b = self.eval(x, st);
                        self.use_value(b, st, TempSink::Operand);
                    }
                }
                Value::Other
            }
            ExprKind::AddrOf(l) => {
                self.use_local(*l, e.span, st);
                Value::Other
            }
            ExprKind::Unary { expr, .. } => {
                let v = self.eval(expr, st);
                self.use_value(v, st, TempSink::Operand);
                Value::Other
            }
            ExprKind::Binary {
                op: op @ (BinOp::And | BinOp::Or),
                lhs,
                rhs,
            } => {
                let v = self.eval(lhs, st);
                self.use_value(v, st, TempSink::Operand);
                // `rhs` runs only when `lhs` is true (`&&`) or false (`||`).
                let runs_rhs = *op == BinOp::And;
                let mut rhs_st = self.refine(st, lhs, runs_rhs);
                let skip_st = self.refine(st, lhs, !runs_rhs);
                let v = self.eval(rhs, &mut rhs_st);
                self.use_value(v, &mut rhs_st, TempSink::Operand);
                rhs_st.join(&skip_st);
                *st = rhs_st;
                Value::Other
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                for x in [lhs, rhs] {
                    let v = self.eval(x, st);
                    self.use_value(v, st, TempSink::Operand);
                }
                Value::Other
            }
            ExprKind::Cond {
                cond,
                then_expr,
                else_expr,
            } => self.eval_cond(cond, then_expr, else_expr, st),
            ExprKind::Call { func, args } => self.eval_call(*func, args, e.span, st),
            ExprKind::CallExtern { ext, args } => {
                for a in args {
                    let v = self.eval(a, st);
                    let name = self
                        .program
                        .externs
                        .get(ext.0 as usize)
                        .map_or_else(String::new, |x| x.name.clone());
                    self.use_value(v, st, TempSink::Argument(name));
                }
                if e.ty.is_pointer() {
                    Value::ExternPointer { span: e.span }
                } else {
                    Value::Other
                }
            }
            ExprKind::Builtin { builtin, args } => self.eval_builtin(*builtin, args, e.span, st),
            // The page and the arguments are only read: a borrow, like an extern's.
            ExprKind::JitCall { page, args, .. } => {
                for a in std::iter::once(&**page).chain(args) {
                    let v = self.eval(a, st);
                    self.use_value(v, st, TempSink::Argument("Jit.call".to_string()));
                }
                Value::Other
            }
            ExprKind::Raw(x) => self.eval(x, st),
            ExprKind::Cast(x) if e.ty.is_pointer() => self.eval_address(x, e.span, st),
            ExprKind::Cast(x) => {
                let v = self.eval(x, st);
                if matches!(e.ty, Ty::Int(_) | Ty::Bool) {
                    // An integer cannot own: an allocation converted to one is lost.
                    for a in self.alternatives(v) {
                        if let Value::Fresh { kind, .. } = a {
                            self.report(
                                None,
                                OwnershipError::LeakTemporary {
                                    at: e.span,
                                    sink: TempSink::CastToInteger,
                                    kind,
                                },
                            );
                        }
                    }
                    if matches!(v, Value::Fresh { .. }) {
                        return Value::Other;
                    }
                }
                v
            }
            ExprKind::OrElse { expr, default } => {
                // The default is evaluated only on the error path, where the
                // result is the default (an error result holds no pointer).
                let v = self.eval(expr, st);
                let mut err = st.clone();
                let d = self.eval(default, &mut err);
                st.join(&err);
                self.join_values(v, d)
            }
            ExprKind::Drop(x) => {
                let v = self.eval(x, st);
                self.discard(v, st);
                Value::Other
            }
            ExprKind::ResultField { expr, field } => {
                let v = self.eval(expr, st);
                match (field, v) {
                    (ResultField::Value, v) => v,
                    // Reading the status of a bound result does not touch its pointer.
                    (ResultField::IsError | ResultField::Error, Value::Local { .. }) => {
                        Value::Other
                    }
                    (ResultField::IsError | ResultField::Error, v) => {
                        self.discard(v, st);
                        Value::Other
                    }
                }
            }
        }
    }

    /// `x => T->`. An address computed from a pointer, `(p => int64) + k`
    /// (or `- k`), points inside `p`'s allocation: [`Value::Inside`], a
    /// borrow of `p`'s owner (how `Jit.arena_add` hands out a function that
    /// lives in its arena). Any other conversion keeps `x`'s value.
    fn eval_address(&mut self, x: &'a Expr, span: Span, st: &mut State) -> Value {
        let ExprKind::Binary {
            op: BinOp::Add | BinOp::Sub,
            lhs,
            rhs,
        } = &x.kind
        else {
            return self.eval(x, st);
        };
        let base = self.eval(lhs, st);
        self.use_value(base, st, TempSink::Operand);
        let offset = self.eval(rhs, st);
        self.use_value(offset, st, TempSink::Operand);
        match base {
            Value::Local { id, .. } | Value::Inside { id, .. } => Value::Inside { id, span },
            _ => Value::Other,
        }
    }

    fn eval_cond(
        &mut self,
        cond: &'a Expr,
        then_expr: &'a Expr,
        else_expr: &'a Expr,
        st: &mut State,
    ) -> Value {
        let v = self.eval(cond, st);
        self.use_value(v, st, TempSink::Operand);
        let mut t = self.refine(st, cond, true);
        let tv = self.eval(then_expr, &mut t);
        let mut f = self.refine(st, cond, false);
        let fv = self.eval(else_expr, &mut f);
        // The result is `tv` on some paths and `fv` on the others: whoever
        // consumes it moves (or borrows) each alternative on its paths.
        t.join(&f);
        *st = t;
        self.join_values(tv, fv)
    }

    fn eval_call(&mut self, func: FuncId, args: &'a [Expr], span: Span, st: &mut State) -> Value {
        let summary = self.summaries.get(func);
        let name = self
            .program
            .funcs
            .get(func.0 as usize)
            .map_or_else(String::new, |f| f.name.clone());
        let values: Vec<Value> = args.iter().map(|a| self.eval(a, st)).collect();
        // Borrowed arguments are read first; releases happen as the call runs.
        for (i, v) in values.iter().enumerate() {
            if summary.releases_param(i).is_none() {
                self.use_value(*v, st, TempSink::Argument(name.clone()));
            }
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(kind) = summary.releases_param(i) {
                self.release(*v, span, &name, kind, st);
            }
        }
        if summary.opaque {
            // Nothing is known of the callee (it exceeded a budget, reported
            // there): its arguments escape, and no verdict depends on them.
            for v in &values {
                for a in self.alternatives(*v) {
                    if let Value::Local { id, .. } = a {
                        self.escape(id, span, st);
                    }
                }
            }
            return Value::Other;
        }
        // A callee that releases an argument on some paths only is blamed
        // there (`NPK-402`); here the argument's fate is unknown, quietly: a
        // caller passing its parameter on is "partial through that call"
        // (not blamed itself), and the caller's own binding is not reported
        // (no knock-on leak or fault).
        for (i, v) in values.iter().enumerate() {
            if !summary.partially_releases(i) {
                continue;
            }
            for a in self.alternatives(*v) {
                if let Value::Local { id, .. } = a {
                    self.escape(id, span, st);
                }
            }
        }
        if !summary.may_return {
            // No path of the callee returns (so far in the fixpoint; in the
            // end, it never does): like `exit`, the call ends this path.
            if self.scope_floor == 0 {
                self.leave_scopes(0, st, ScopeExit::NoReturn, span, true);
            }
            st.reachable = false;
            return Value::Other;
        }
        let mut result = summary
            .returns_owned
            .map(|kind| Value::Fresh { span, kind });
        // A callee that returns an address inside one of its parameters
        // hands out a borrow of the argument's owner.
        for (i, v) in values.iter().enumerate() {
            if !summary.returns_borrow_of(i) {
                continue;
            }
            for a in self.alternatives(*v) {
                if let Value::Local { id, .. } | Value::Inside { id, .. } = a {
                    let inside = Value::Inside { id, span };
                    result = Some(match result {
                        Some(r) => self.join_values(r, inside),
                        None => inside,
                    });
                }
            }
        }
        // A callee that returns one of its parameters hands the argument back.
        for (i, v) in values.iter().enumerate() {
            if summary.returns_param(i) && summary.releases_param(i).is_none() {
                result = Some(match result {
                    Some(r) => self.join_values(r, *v),
                    None => *v,
                });
            }
        }
        result.unwrap_or(Value::Other)
    }

    /// Local `id` is passed (at `call`) to a callee that may or may not
    /// release it: its fate is unknown here, and is not reported here (the
    /// callee carries the blame). A parameter in it becomes "partial
    /// through this call" for the summary.
    fn escape(&mut self, id: LocalId, call: Span, st: &mut State) {
        let owned = st
            .slots
            .update(id.0 as usize, |s| {
                s.reported = true;
                s.owned.clone()
            })
            .unwrap_or_default();
        for o in owned {
            if let Origin::Param(j) = o
                && let Some(fate) = st.params.get_mut(j as usize)
            {
                *fate = ParamFate {
                    released: None,
                    kept: false,
                    via_partial: Some(call),
                };
            }
        }
    }

    fn eval_builtin(
        &mut self,
        builtin: Builtin,
        args: &'a [Expr],
        span: Span,
        st: &mut State,
    ) -> Value {
        let values: Vec<Value> = args.iter().map(|a| self.eval(a, st)).collect();
        let (name, release) = match builtin {
            Builtin::Alloc
            | Builtin::WildxAlloc
            | Builtin::WildxSeal
            | Builtin::Print
            | Builtin::Println
            | Builtin::GcInts
            | Builtin::GcRefs
            | Builtin::Len => (builtin.name(), None),
            Builtin::Free => ("free", Some(ResourceKind::Heap)),
            Builtin::WildxFree => ("wildx_free", Some(ResourceKind::Page)),
        };
        for v in values {
            match release {
                Some(kind) => self.release(v, span, name, kind, st),
                None => self.use_value(v, st, TempSink::Argument(name.to_string())),
            }
        }
        match builtin {
            Builtin::Alloc => Value::Fresh {
                span,
                kind: ResourceKind::Heap,
            },
            Builtin::WildxAlloc => Value::Fresh {
                span,
                kind: ResourceKind::Page,
            },
            _ => Value::Other,
        }
    }

    // ----- null refinement --------------------------------------------

    /// The state on the paths where `cond` evaluated to `branch`.
    pub(super) fn refine(&self, st: &State, cond: &Expr, branch: bool) -> State {
        let mut s = st.clone();
        refine_in(&mut s, cond, branch);
        s
    }
}

/// Strips conversions that keep the pointer value, and `.value` of a
/// result (`r.value == NULL` tests the pointer `r` holds).
fn strip_casts(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Cast(inner)
        | ExprKind::ResultField {
            expr: inner,
            field: ResultField::Value,
        } => strip_casts(inner),
        _ => e,
    }
}

/// Whether `e` is `NULL`, or the integer `0` (after casts): `(p => int64) == 0`.
fn is_null(e: &Expr) -> bool {
    matches!(strip_casts(e).kind, ExprKind::Null | ExprKind::Int(0))
}

/// `(local, cond-true-means-null)` for `p == NULL`, `NULL == p`, `p != NULL`,
/// `NULL != p`, and `r.is_error` (an error result holds no pointer).
fn null_test(cond: &Expr) -> Option<(LocalId, bool)> {
    if let ExprKind::ResultField {
        expr,
        field: ResultField::IsError,
    } = &cond.kind
        && let ExprKind::Local(l) = &strip_casts(expr).kind
    {
        return Some((*l, true));
    }
    let ExprKind::Binary { op, lhs, rhs } = &cond.kind else {
        return None;
    };
    let eq = match op {
        BinOp::Eq => true,
        BinOp::Ne => false,
        _ => return None,
    };
    match (&strip_casts(lhs).kind, &strip_casts(rhs).kind) {
        (ExprKind::Local(l), _) if is_null(rhs) => Some((*l, eq)),
        (_, ExprKind::Local(l)) if is_null(lhs) => Some((*l, eq)),
        _ => None,
    }
}

fn refine_in(s: &mut State, cond: &Expr, branch: bool) {
    if !s.reachable {
        return;
    }
    match &cond.kind {
        ExprKind::Bool(b) => {
            if *b != branch {
                s.reachable = false;
            }
        }
        ExprKind::Unary {
            op: UnOp::Not,
            expr,
        } => refine_in(s, expr, !branch),
        ExprKind::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } if branch => {
            refine_in(s, lhs, true);
            refine_in(s, rhs, true);
        }
        ExprKind::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
        } if !branch => {
            refine_in(s, lhs, false);
            refine_in(s, rhs, false);
        }
        _ => {
            let Some((l, true_means_null)) = null_test(cond) else {
                return;
            };
            if s.slots.get(l.0 as usize).is_none_or(|x| x.owned.is_empty()) {
                return;
            }
            if true_means_null == branch {
                // Known NULL here: owns nothing. A NULL parameter counts as
                // released on this path (there is nothing to release).
                let owned = s
                    .slots
                    .update(l.0 as usize, |slot| {
                        slot.clear = true;
                        std::mem::take(&mut slot.owned)
                    })
                    .unwrap_or_default();
                for o in owned {
                    let Origin::Param(i) = o else { continue };
                    if let Some(fate) = s.params.get_mut(i as usize) {
                        fate.kept = false;
                    }
                }
            } else {
                s.slots.update(l.0 as usize, |slot| slot.clear = false);
            }
        }
    }
}
