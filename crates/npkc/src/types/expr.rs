//! Expressions: `ast::Expr` to typed `hir::Expr`.
//!
//! `expr(e, expected)` checks `e` and may yield a `Result` or `NIL`;
//! `value` additionally requires a plain value (`NPK-305`, `NPK-321`);
//! `coerce` checks against a known target type, applying the implicit
//! conversions: `NULL` to any pointer; a fresh untyped pointer (the result of
//! `alloc`/`wildx_alloc`, or of an extern returning `?*`) to any pointer;
//! any pointer or string to `?->`; in extern arguments also a string to
//! `int8*`/`uint8*`. `expected` is only a hint for unsuffixed
//! literals, which take their type from context and default to `int32`:
//! operands are checked "anchored" on the first operand that is not made of
//! unsuffixed literals alone (see [`flexible`]). `None` means an error was
//! reported; callers stay silent about it.

use crate::ast::{self, BinOp, IntSuffix, IntTy, UnOp};
use crate::hir::{self, Builtin, ExprKind, GcKind, Place, PlaceKind, ResultField, Ty};
use crate::resolve::{self, BUILTINS, ItemRef, Lookup, suggest};
use crate::source::Span;

use super::error::{Error, TypePlace};
use super::{FnCx, ty};

/// Whether `e` is built from unsuffixed literals only, so that its type
/// comes from context.
pub(super) fn flexible(e: &ast::Expr) -> bool {
    match &e.kind {
        ast::ExprKind::Int { suffix: None, .. } | ast::ExprKind::Char(_) => true,
        ast::ExprKind::Unary {
            op: UnOp::Neg | UnOp::BitNot,
            expr,
        } => flexible(expr),
        ast::ExprKind::Binary { op, lhs, rhs } => arithmetic(*op) && flexible(lhs) && flexible(rhs),
        ast::ExprKind::Cond {
            then_expr,
            else_expr,
            ..
        } => flexible(then_expr) && flexible(else_expr),
        _ => false,
    }
}

/// `e` as a plain literal: (magnitude, negated).
fn simple_literal(e: &ast::Expr) -> Option<(u64, bool)> {
    match &e.kind {
        ast::ExprKind::Int {
            value,
            suffix: None,
        } => Some((*value, false)),
        ast::ExprKind::Char(c) => Some((u64::from(*c), false)),
        ast::ExprKind::Unary {
            op: UnOp::Neg,
            expr,
        } => simple_literal(expr).and_then(|(v, neg)| (!neg).then_some((v, true))),
        _ => None,
    }
}

/// The name of `e` if it is a bare name (for help texts).
pub(super) fn bare_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ast::ExprKind::Name(id) => Some(id.name.clone()),
        _ => None,
    }
}

/// Operators whose result has the operands' (integer) type.
fn arithmetic(op: BinOp) -> bool {
    use BinOp::{Add, BitAnd, BitOr, BitXor, Div, Mul, Rem, Shl, Shr, Sub};
    matches!(
        op,
        Add | Sub | Mul | Div | Rem | BitAnd | BitOr | BitXor | Shl | Shr
    )
}

pub(super) fn builtin(name: &str) -> Option<Builtin> {
    Builtin::ALL.into_iter().find(|b| b.name() == name)
}

pub(super) fn is_pointer(t: &Ty) -> bool {
    matches!(t, Ty::Ptr(_) | Ty::Erased | Ty::Null)
}

/// Two compared `gc` references (or one and `NULL`): `NULL` takes the other
/// side's type; references of different kinds compare by address.
fn unify_gc(l: &mut hir::Expr, r: &mut hir::Expr) -> bool {
    match (&l.ty, &r.ty) {
        (Ty::Gc(_), Ty::Gc(_)) => true,
        (Ty::Gc(_), Ty::Null) => {
            r.ty = l.ty.clone();
            true
        }
        (Ty::Null, Ty::Gc(_)) => {
            l.ty = r.ty.clone();
            true
        }
        _ => false,
    }
}

pub(super) fn mk(kind: ExprKind, ty: Ty, span: Span) -> Option<hir::Expr> {
    Some(hir::Expr { kind, ty, span })
}

impl FnCx<'_, '_> {
    /// Checks `e`; the result may be a `Result` or `NIL`.
    pub(super) fn expr(&mut self, e: &ast::Expr, expected: Option<&Ty>) -> Option<hir::Expr> {
        let span = e.span;
        match &e.kind {
            ast::ExprKind::Int { value, suffix } => {
                self.int_lit(*value, *suffix, false, expected, span)
            }
            ast::ExprKind::Char(c) => self.int_lit(u64::from(*c), None, false, expected, span),
            ast::ExprKind::Bool(b) => mk(ExprKind::Bool(*b), Ty::Bool, span),
            ast::ExprKind::Null => mk(ExprKind::Null, Ty::Null, span),
            ast::ExprKind::Str(s) => mk(ExprKind::Str(s.clone()), Ty::Str, span),
            ast::ExprKind::Template(parts) => {
                let parts = self.template_parts(parts)?;
                mk(ExprKind::Template(parts), Ty::Str, span)
            }
            ast::ExprKind::Name(id) => self.name_value(id),
            ast::ExprKind::Dollar => match self.counters.last() {
                Some(&c) => self.local_expr(c, span),
                None => {
                    self.err(Error::DollarOutsideLoop { span });
                    None
                }
            },
            ast::ExprKind::Unary { op, expr } => self.unary(*op, expr, expected, span),
            ast::ExprKind::AddrOf(inner) => self.addr_of(inner, span),
            ast::ExprKind::Deref(inner) => {
                let place = self.deref_place(inner, span)?;
                let ty = place.ty.clone();
                mk(ExprKind::Load(Box::new(place)), ty, span)
            }
            ast::ExprKind::Index { base, index } => {
                let place = self.index_place(base, index, span)?;
                let ty = place.ty.clone();
                mk(ExprKind::Load(Box::new(place)), ty, span)
            }
            ast::ExprKind::Raw(inner) => {
                let r = self.expr(inner, None)?;
                let t = self.result_inner(&r.ty, "raw", inner.span)?;
                mk(ExprKind::Raw(Box::new(r)), t, span)
            }
            ast::ExprKind::Drop(inner) => {
                let r = self.expr(inner, None)?;
                self.result_inner(&r.ty, "drop", inner.span)?;
                mk(ExprKind::Drop(Box::new(r)), Ty::Nil, span)
            }
            ast::ExprKind::OrElse { expr, default } => {
                let r = self.expr(expr, None);
                let t = r
                    .as_ref()
                    .and_then(|r| self.result_inner(&r.ty, "?", expr.span));
                let d = match &t {
                    Some(t) if *t != Ty::Nil => self.coerce(default, t, false),
                    Some(_) => {
                        self.err(Error::NotAValue {
                            what: "the value of a `Result<NIL>`".to_string(),
                            span: expr.span,
                        });
                        None
                    }
                    None => self.orphan(default),
                };
                let (r, t, d) = (r?, t?, d?);
                mk(
                    ExprKind::OrElse {
                        expr: Box::new(r),
                        default: Box::new(d),
                    },
                    t,
                    span,
                )
            }
            ast::ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, expected, span),
            ast::ExprKind::Cond {
                cond,
                then_expr,
                else_expr,
            } => {
                let c = self.condition(cond);
                let arms = self.operands(&[then_expr, else_expr], expected);
                let [Some(mut a), Some(mut b)] = <[Option<hir::Expr>; 2]>::try_from(arms).ok()?
                else {
                    return None;
                };
                let c = c?;
                if a.ty != b.ty
                    && !self.convert(&mut b, &a.ty.clone(), false)
                    && !self.convert(&mut a, &b.ty.clone(), false)
                {
                    self.err(Error::MismatchedTypes {
                        expected: a.ty.clone(),
                        found: b.ty.clone(),
                        span: else_expr.span,
                        found_name: None,
                    });
                    return None;
                }
                let ty = a.ty.clone();
                mk(
                    ExprKind::Cond {
                        cond: Box::new(c),
                        then_expr: Box::new(a),
                        else_expr: Box::new(b),
                    },
                    ty,
                    span,
                )
            }
            ast::ExprKind::Call { callee, args } => self.call(callee, args, span),
            ast::ExprKind::Field { base, name } => self.field(base, name, span),
            ast::ExprKind::Arrow { base, name } => {
                let b = self.value(base, None)?;
                self.err(Error::UnknownField {
                    ty: b.ty,
                    name: name.name.clone(),
                    span: name.span,
                    suggestion: None,
                });
                None
            }
            ast::ExprKind::Cast { ty, expr } => self.cast(ty, expr, span),
        }
    }

    /// Checks `e` as a plain value: not a `Result` (`NPK-305`), not `NIL` (`NPK-321`).
    pub(super) fn value(&mut self, e: &ast::Expr, expected: Option<&Ty>) -> Option<hir::Expr> {
        let x = self.expr(e, expected)?;
        self.plain(x)
    }

    fn plain(&mut self, x: hir::Expr) -> Option<hir::Expr> {
        match &x.ty {
            Ty::Result(_) => {
                self.err(Error::UnconsumedResult {
                    ty: x.ty.clone(),
                    span: x.span,
                });
                None
            }
            Ty::Nil => {
                self.err(Error::NotAValue {
                    what: "an expression of type `NIL`".to_string(),
                    span: x.span,
                });
                None
            }
            _ => Some(x),
        }
    }

    /// Checks `e` against `target` (`NPK-302` on mismatch). `extern_arg`
    /// also lets a `string` pass as `int8*`/`uint8*`.
    pub(super) fn coerce(
        &mut self,
        e: &ast::Expr,
        target: &Ty,
        extern_arg: bool,
    ) -> Option<hir::Expr> {
        let x = self.expr(e, Some(target))?;
        let mut x = if matches!(target, Ty::Result(_)) && matches!(x.ty, Ty::Result(_)) {
            x
        } else {
            self.plain(x)?
        };
        if self.convert(&mut x, target, extern_arg) {
            Some(x)
        } else {
            self.err(Error::MismatchedTypes {
                expected: target.clone(),
                found: x.ty.clone(),
                span: e.span,
                found_name: bare_name(e),
            });
            None
        }
    }

    /// Applies an implicit conversion of `x` to `target` if one exists.
    pub(super) fn convert(&mut self, x: &mut hir::Expr, target: &Ty, extern_arg: bool) -> bool {
        let target_ptr = matches!(target, Ty::Ptr(_) | Ty::Erased);
        let fresh = matches!(
            x.kind,
            ExprKind::Builtin {
                builtin: Builtin::Alloc | Builtin::WildxAlloc,
                ..
            }
        ) || (matches!(x.kind, ExprKind::CallExtern { .. }) && x.ty == Ty::Erased);
        if x.ty == *target {
            true
        } else if let Ty::Gc(kind) = target {
            // `NULL` is every gc type; either array kind is a `gc ?->`.
            if x.ty == Ty::Null {
                x.ty = target.clone();
                true
            } else {
                *kind == GcKind::Any && matches!(x.ty, Ty::Gc(_))
            }
        } else if target_ptr && (x.ty == Ty::Null || fresh) {
            x.ty = target.clone();
            true
        } else if *target == Ty::Erased && matches!(x.ty, Ty::Ptr(_) | Ty::Str) {
            true
        } else {
            extern_arg
                && x.ty == Ty::Str
                && matches!(target, Ty::Ptr(p) if matches!(**p, Ty::Int(IntTy::I8 | IntTy::U8)))
        }
    }

    /// Checks an argument whose expected type is unknown (unknown callee,
    /// surplus argument): reports its own errors only.
    pub(super) fn orphan(&mut self, e: &ast::Expr) -> Option<hir::Expr> {
        self.expr(e, None)
    }

    /// Checks a condition: a `bool` value (`NPK-304`).
    pub(super) fn condition(&mut self, e: &ast::Expr) -> Option<hir::Expr> {
        let x = self.value(e, Some(&Ty::Bool))?;
        if x.ty == Ty::Bool {
            Some(x)
        } else {
            self.err(Error::NonBoolCondition {
                found: x.ty,
                span: e.span,
            });
            None
        }
    }

    /// Checks operands that must share a type: those not made of unsuffixed
    /// literals first (the first of them is the anchor), then the literal
    /// ones with the anchor's type (or `hint`, or `int32`). Types are not
    /// compared here.
    pub(super) fn operands(
        &mut self,
        es: &[&ast::Expr],
        hint: Option<&Ty>,
    ) -> Vec<Option<hir::Expr>> {
        let mut out: Vec<Option<hir::Expr>> = vec![None; es.len()];
        let mut anchor: Option<Ty> = None;
        let mut anchor_failed = false;
        for (i, e) in es.iter().enumerate() {
            if !flexible(e) {
                out[i] = self.value(e, anchor.as_ref().or(hint));
                match &out[i] {
                    Some(x) if anchor.is_none() => anchor = Some(x.ty.clone()),
                    None if anchor.is_none() => anchor_failed = true,
                    _ => {}
                }
            }
        }
        if anchor_failed {
            // The literals' type would have come from the failed operand:
            // checking them against a guess could only report follow-on errors.
            return vec![None; es.len()];
        }
        let lit_ty = match &anchor {
            Some(t @ Ty::Int(_)) => Some(t.clone()),
            Some(_) => None,
            None => hint.cloned(),
        };
        for (i, e) in es.iter().enumerate() {
            if flexible(e) {
                out[i] = self.value(e, lit_ty.as_ref());
            }
        }
        out
    }

    fn int_lit(
        &mut self,
        value: u64,
        suffix: Option<IntSuffix>,
        neg: bool,
        expected: Option<&Ty>,
        span: Span,
    ) -> Option<hir::Expr> {
        let it = match (suffix, expected) {
            (Some(IntSuffix::Int(t)), _) => t,
            (Some(IntSuffix::Tbb32), _) => IntTy::I32,
            (None, Some(Ty::Int(t))) => *t,
            (None, _) => IntTy::I32,
        };
        if !ty::fits(value, neg, it) {
            let v = i128::from(value);
            self.err(Error::LiteralOutOfRange {
                value: if neg { -v } else { v },
                ty: Ty::Int(it),
                span,
            });
            return None;
        }
        mk(
            ExprKind::Int(ty::literal_bits(value, neg, it)),
            Ty::Int(it),
            span,
        )
    }

    pub(super) fn local_expr(&mut self, l: hir::LocalId, span: Span) -> Option<hir::Expr> {
        if self.poisoned[l.0 as usize] {
            return None;
        }
        let ty = self.locals[l.0 as usize].ty.clone();
        mk(ExprKind::Local(l), ty, span)
    }

    /// A bare name used as a value.
    pub(super) fn name_value(&mut self, id: &ast::Ident) -> Option<hir::Expr> {
        if let Some(l) = self.lookup_local(&id.name) {
            return self.local_expr(l, id.span);
        }
        let what = if builtin(&id.name).is_some() {
            format!("builtin function `{}`", id.name)
        } else {
            match self.g.items.lookup(self.module, self.ns, &id.name) {
                Lookup::Found(ItemRef::Func(_)) => format!("function `{}`", id.name),
                Lookup::Found(ItemRef::Extern(_)) => format!("extern function `{}`", id.name),
                Lookup::Found(ItemRef::Namespace(_)) => format!("namespace `{}`", id.name),
                other => {
                    self.unresolved(id, &other);
                    return None;
                }
            }
        };
        self.err(Error::NotAValue {
            what,
            span: id.span,
        });
        None
    }

    /// Reports a failed item lookup (`NPK-202`/`NPK-204`).
    pub(super) fn unresolved(&mut self, id: &ast::Ident, lookup: &Lookup) {
        match lookup {
            Lookup::Ambiguous(candidates) => self.err(resolve::Error::AmbiguousName {
                name: id.name.clone(),
                span: id.span,
                candidates: candidates.clone(),
            }),
            _ => {
                let mut names = self.local_names();
                names.extend(self.g.items.visible_names(self.module, self.ns));
                names.extend(BUILTINS.iter().copied());
                let suggestion = suggest(&id.name, names);
                self.err(resolve::Error::UnknownName {
                    name: id.name.clone(),
                    span: id.span,
                    suggestion,
                });
            }
        }
    }

    fn unary(
        &mut self,
        op: UnOp,
        inner: &ast::Expr,
        expected: Option<&Ty>,
        span: Span,
    ) -> Option<hir::Expr> {
        if op == UnOp::Neg {
            // `-128i8`: the literal is negated before its range is checked.
            match &inner.kind {
                ast::ExprKind::Int { value, suffix } => {
                    return self.int_lit(*value, *suffix, true, expected, span);
                }
                ast::ExprKind::Char(c) => {
                    return self.int_lit(u64::from(*c), None, true, expected, span);
                }
                _ => {}
            }
        }
        let x = if op == UnOp::Not {
            self.value(inner, Some(&Ty::Bool))?
        } else {
            self.value(inner, expected)?
        };
        let ok = match op {
            UnOp::Not => x.ty == Ty::Bool,
            UnOp::Neg | UnOp::BitNot => matches!(x.ty, Ty::Int(_)),
        };
        if !ok {
            let sym = match op {
                UnOp::Neg => "-",
                UnOp::Not => "!",
                UnOp::BitNot => "~",
            };
            self.err(Error::InvalidOperand {
                op: sym,
                ty: x.ty,
                span,
            });
            return None;
        }
        let ty = x.ty.clone();
        mk(
            ExprKind::Unary {
                op,
                expr: Box::new(x),
            },
            ty,
            span,
        )
    }

    fn binary(
        &mut self,
        op: BinOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        expected: Option<&Ty>,
        span: Span,
    ) -> Option<hir::Expr> {
        if matches!(op, BinOp::And | BinOp::Or) {
            let (l, r) = (self.condition(lhs), self.condition(rhs));
            return mk(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(l?),
                    rhs: Box::new(r?),
                },
                Ty::Bool,
                span,
            );
        }
        let hint = if arithmetic(op) {
            expected.filter(|t| matches!(t, Ty::Int(_)))
        } else {
            None
        };
        let xs = self.operands(&[lhs, rhs], hint);
        let [Some(mut l), Some(mut r)] = <[Option<hir::Expr>; 2]>::try_from(xs).ok()? else {
            return None;
        };
        let mismatch = |l: &hir::Expr, r: &hir::Expr| Error::MismatchedOperands {
            op,
            lhs: l.ty.clone(),
            rhs: r.ty.clone(),
            span,
            lhs_span: lhs.span,
            rhs_span: rhs.span,
            rhs_name: bare_name(rhs),
        };
        let ty = match op {
            BinOp::Eq | BinOp::Ne => {
                let comparable =
                    |t: &Ty| matches!(t, Ty::Int(_) | Ty::Bool | Ty::Gc(_)) || is_pointer(t);
                if !comparable(&l.ty) || !comparable(&r.ty) {
                    let bad = if comparable(&l.ty) { r.ty } else { l.ty };
                    self.err(Error::InvalidOperand {
                        op: op.symbol(),
                        ty: bad,
                        span,
                    });
                    return None;
                }
                if l.ty != r.ty && !unify_gc(&mut l, &mut r) && !self.unify_pointers(&mut l, &mut r)
                {
                    self.err(mismatch(&l, &r));
                    return None;
                }
                Ty::Bool
            }
            _ => {
                let (Ty::Int(_), Ty::Int(_)) = (&l.ty, &r.ty) else {
                    let bad = if matches!(l.ty, Ty::Int(_)) {
                        r.ty
                    } else {
                        l.ty
                    };
                    self.err(Error::InvalidOperand {
                        op: op.symbol(),
                        ty: bad,
                        span,
                    });
                    return None;
                };
                if l.ty != r.ty {
                    self.err(mismatch(&l, &r));
                    return None;
                }
                if arithmetic(op) {
                    l.ty.clone()
                } else {
                    Ty::Bool
                }
            }
        };
        mk(
            ExprKind::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
            },
            ty,
            span,
        )
    }

    /// Gives two compared pointers one type: `NULL` takes the other side's
    /// type, a typed pointer compared with `?->` is cast to `?->`.
    fn unify_pointers(&mut self, l: &mut hir::Expr, r: &mut hir::Expr) -> bool {
        if !is_pointer(&l.ty) || !is_pointer(&r.ty) {
            return false;
        }
        if l.ty == Ty::Null {
            l.ty = r.ty.clone();
            return true;
        }
        if r.ty == Ty::Null {
            r.ty = l.ty.clone();
            return true;
        }
        let erase = |x: &mut hir::Expr| {
            let inner = std::mem::replace(
                x,
                hir::Expr {
                    kind: ExprKind::Null,
                    ty: Ty::Null,
                    span: x.span,
                },
            );
            *x = hir::Expr {
                span: inner.span,
                kind: ExprKind::Cast(Box::new(inner)),
                ty: Ty::Erased,
            };
        };
        match (&l.ty, &r.ty) {
            (Ty::Erased, Ty::Ptr(_)) => erase(r),
            (Ty::Ptr(_), Ty::Erased) => erase(l),
            _ => return false,
        }
        true
    }

    fn addr_of(&mut self, inner: &ast::Expr, span: Span) -> Option<hir::Expr> {
        let ast::ExprKind::Name(id) = &inner.kind else {
            self.err(Error::AddrOfNonLocal { span });
            return None;
        };
        let Some(l) = self.lookup_local(&id.name) else {
            // Report an unknown name as such; anything else is not a local.
            if builtin(&id.name).is_none()
                && let lookup @ (Lookup::NotFound | Lookup::Ambiguous(_)) =
                    self.g.items.lookup(self.module, self.ns, &id.name)
            {
                self.unresolved(id, &lookup);
            } else {
                self.err(Error::AddrOfNonLocal { span });
            }
            return None;
        };
        if self.poisoned[l.0 as usize] {
            return None;
        }
        let local = &mut self.locals[l.0 as usize];
        if matches!(local.ty, Ty::Gc(_)) {
            self.err(Error::GcUnsupported {
                what: super::error::GcRefusal::AddressOf,
                span,
            });
            return None;
        }
        if !ty::sized(&local.ty) {
            let ty = local.ty.clone();
            self.err(Error::InvalidOperand { op: "@", ty, span });
            return None;
        }
        local.address_taken = true;
        let ty = Ty::Ptr(Box::new(local.ty.clone()));
        mk(ExprKind::AddrOf(l), ty, span)
    }

    /// The pointee of `ty` for `p[i]`/`<-p` (`NPK-317` unless a sized `T->`).
    fn pointee(&mut self, ty: &Ty, span: Span, deref: bool) -> Option<Ty> {
        match ty {
            Ty::Ptr(t) if ty::sized(t) => Some((**t).clone()),
            Ty::Gc(GcKind::Ints) if !deref => Some(Ty::Int(IntTy::I64)),
            Ty::Gc(GcKind::Refs) if !deref => Some(Ty::Gc(GcKind::Any)),
            _ => {
                self.err(Error::NotIndexable {
                    ty: ty.clone(),
                    span,
                    deref,
                });
                None
            }
        }
    }

    pub(super) fn deref_place(&mut self, inner: &ast::Expr, span: Span) -> Option<Place> {
        let p = self.value(inner, None)?;
        let ty = self.pointee(&p.ty, inner.span, true)?;
        Some(Place {
            kind: PlaceKind::Deref(Box::new(p)),
            ty,
            span,
        })
    }

    pub(super) fn index_place(
        &mut self,
        base: &ast::Expr,
        index: &ast::Expr,
        span: Span,
    ) -> Option<Place> {
        let b = self.value(base, None);
        let i = self.value(index, Some(&Ty::Int(IntTy::I64)));
        let ty = match &b {
            Some(b) => self.pointee(&b.ty, base.span, false),
            None => None,
        };
        let i = i?;
        if !matches!(i.ty, Ty::Int(_)) {
            self.err(Error::MismatchedTypes {
                expected: Ty::Int(IntTy::I64),
                found: i.ty,
                span: index.span,
                found_name: None,
            });
            return None;
        }
        Some(Place {
            kind: PlaceKind::Index {
                base: Box::new(b?),
                index: Box::new(i),
            },
            ty: ty?,
            span,
        })
    }

    fn field(&mut self, base: &ast::Expr, name: &ast::Ident, span: Span) -> Option<hir::Expr> {
        if let ast::ExprKind::Name(id) = &base.kind
            && self.lookup_local(&id.name).is_none()
            && let Lookup::Found(ItemRef::Namespace(ns)) =
                self.g.items.lookup(self.module, None, &id.name)
        {
            let n = self.g.items.namespace(ns);
            if n.members.contains_key(&name.name) {
                self.err(Error::NotAValue {
                    what: format!("function `{}.{}`", id.name, name.name),
                    span,
                });
            } else {
                self.unknown_member(&n.name.clone(), ns, name);
            }
            return None;
        }
        let b = self.expr(base, None)?;
        let field = match (&b.ty, name.name.as_str()) {
            (Ty::Result(_), "is_error") => ResultField::IsError,
            (Ty::Result(_), "value") => ResultField::Value,
            (Ty::Result(_), "error") => ResultField::Error,
            (ty, _) => {
                let suggestion = if matches!(ty, Ty::Result(_)) {
                    suggest(&name.name, ["is_error", "value", "error"])
                } else {
                    None
                };
                self.err(Error::UnknownField {
                    ty: ty.clone(),
                    name: name.name.clone(),
                    span: name.span,
                    suggestion,
                });
                return None;
            }
        };
        let ty = match (&b.ty, field) {
            (_, ResultField::IsError) => Ty::Bool,
            (_, ResultField::Error) => Ty::Int(IntTy::I32),
            (Ty::Result(t), ResultField::Value) => (**t).clone(),
            _ => return None,
        };
        mk(
            ExprKind::ResultField {
                expr: Box::new(b),
                field,
            },
            ty,
            span,
        )
    }

    pub(super) fn unknown_member(&mut self, ns_name: &str, ns: resolve::NsId, name: &ast::Ident) {
        let members = self
            .g
            .items
            .namespace(ns)
            .members
            .keys()
            .map(String::as_str);
        let suggestion = suggest(&name.name, members);
        self.err(resolve::Error::UnknownMember {
            namespace: ns_name.to_string(),
            name: name.name.clone(),
            span: name.span,
            suggestion,
        });
    }

    /// The `T` of a `Result<T>` (`NPK-325` otherwise).
    fn result_inner(&mut self, ty: &Ty, op: &'static str, span: Span) -> Option<Ty> {
        if let Ty::Result(t) = ty {
            Some((**t).clone())
        } else {
            self.err(Error::ExpectedResult {
                op,
                found: ty.clone(),
                span,
            });
            None
        }
    }

    fn cast(&mut self, te: &ast::TypeExpr, inner: &ast::Expr, span: Span) -> Option<hir::Expr> {
        let mut errors = Vec::new();
        let to = ty::lower(te, TypePlace::Cast, false, &mut errors);
        for e in errors {
            self.err(e);
        }
        let hint = match (&to, simple_literal(inner)) {
            // A literal keeps its value: it takes the target type if it
            // fits, else the 64-bit type it fits in, and is then converted.
            (Some(Ty::Int(t)), Some((v, neg))) if !ty::fits(v, neg, *t) => {
                Some(Ty::Int(if ty::fits(v, neg, IntTy::I64) {
                    IntTy::I64
                } else {
                    IntTy::U64
                }))
            }
            (Some(t @ Ty::Int(_)), _) => Some(t.clone()),
            // `0x1000 => int8->`: an address literal is 64 bits wide.
            (Some(Ty::Ptr(_) | Ty::Erased), _) if flexible(inner) => Some(Ty::Int(IntTy::I64)),
            _ => None,
        };
        let x = self.value(inner, hint.as_ref())?;
        let to = to?;
        if let Ty::Gc(_) = x.ty {
            // A gc reference stays one (a checked change of kind), or
            // becomes its address as a plain (unrooted) integer.
            let to = match to {
                Ty::Ptr(p) if *p == Ty::Int(IntTy::I64) => Ty::Gc(GcKind::Ints),
                Ty::Ptr(p) if *p == Ty::Erased => Ty::Gc(GcKind::Refs),
                Ty::Erased => Ty::Gc(GcKind::Any),
                Ty::Int(IntTy::I64 | IntTy::U64) => to,
                to => {
                    self.err(Error::InvalidCast {
                        from: x.ty,
                        to,
                        span,
                    });
                    return None;
                }
            };
            return mk(ExprKind::Cast(Box::new(x)), to, span);
        }
        if !ty::castable(&x.ty, &to) {
            self.err(Error::InvalidCast {
                from: x.ty,
                to,
                span,
            });
            return None;
        }
        mk(ExprKind::Cast(Box::new(x)), to, span)
    }

    pub(super) fn template_parts(
        &mut self,
        parts: &[ast::TemplatePart],
    ) -> Option<Vec<hir::TemplatePart>> {
        let mut out = Some(Vec::new());
        for p in parts {
            let part = match p {
                ast::TemplatePart::Text(t) => Some(hir::TemplatePart::Text(t.clone())),
                ast::TemplatePart::Expr(e) => self.printable(e).map(hir::TemplatePart::Expr),
            };
            match (&mut out, part) {
                (Some(v), Some(part)) => v.push(part),
                _ => out = None,
            }
        }
        out
    }

    pub(super) fn printable(&mut self, e: &ast::Expr) -> Option<hir::Expr> {
        let x = self.value(e, None)?;
        if matches!(x.ty, Ty::Int(_) | Ty::Bool | Ty::Str) {
            Some(x)
        } else {
            self.err(Error::NotPrintable {
                ty: x.ty,
                span: e.span,
            });
            None
        }
    }
}
