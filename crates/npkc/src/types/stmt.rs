//! Statements: `ast::Stmt` to `hir::Stmt`, plus the reachability rule for
//! the end of a function ([`block_ends`]).
//!
//! Lowering: `else if` becomes an `else` block holding the inner `if`;
//! `for (init; cond; step) body` becomes `Block { init; While { cond, body,
//! step } }` (an absent condition is `true`); `till(limit, step)` becomes a
//! `Loop` starting at 0 with the counter's type. A statement whose parts
//! failed to check is left out (the program is discarded anyway).
//!
//! Control rules: `break`/`continue` only inside a loop; nothing may leave a
//! `defer` block (`break`/`continue` there only target loops inside it);
//! `exit` only in `main`/`failsafe`; no `pass`/`fail` in `main`.

use crate::ast::{self, BinOp, IntTy};
use crate::hir::{self, ExprKind, LocalKind, Place, PlaceKind, StmtKind, Ty};
use crate::source::Span;

use super::error::{Error, Keyword, TypePlace};
use super::{FnCx, FnKind};

/// Whether control can never reach the end of `b` (every path ends in
/// `pass`/`fail`/`exit`/`break`/`continue`, or loops forever).
pub(super) fn block_ends(b: &ast::Block) -> bool {
    b.stmts.iter().any(stmt_ends)
}

fn stmt_ends(s: &ast::Stmt) -> bool {
    match &s.kind {
        ast::StmtKind::Pass(_)
        | ast::StmtKind::Fail(_)
        | ast::StmtKind::Exit(_)
        | ast::StmtKind::Break
        | ast::StmtKind::Continue => true,
        ast::StmtKind::Block(b) => block_ends(b),
        ast::StmtKind::If {
            then_block,
            else_branch: Some(e),
            ..
        } => {
            block_ends(then_block)
                && match &**e {
                    ast::ElseBranch::If(s) => stmt_ends(s),
                    ast::ElseBranch::Block(b) => block_ends(b),
                }
        }
        ast::StmtKind::While { cond, body } => {
            matches!(cond.kind, ast::ExprKind::Bool(true)) && !breaks(body)
        }
        ast::StmtKind::For {
            cond: None, body, ..
        } => !breaks(body),
        _ => false,
    }
}

/// Whether `b` contains a `break` that leaves the loop whose body it is.
fn breaks(b: &ast::Block) -> bool {
    b.stmts.iter().any(|s| match &s.kind {
        ast::StmtKind::Break => true,
        ast::StmtKind::Block(b) => breaks(b),
        ast::StmtKind::If {
            then_block,
            else_branch,
            ..
        } => {
            breaks(then_block)
                || else_branch.as_deref().is_some_and(|e| match e {
                    ast::ElseBranch::If(s) => breaks(&ast::Block {
                        stmts: vec![s.clone()],
                        span: s.span,
                    }),
                    ast::ElseBranch::Block(b) => breaks(b),
                })
        }
        _ => false,
    })
}

impl FnCx<'_, '_> {
    /// Checks a block in a new scope.
    pub(super) fn block(&mut self, b: &ast::Block) -> hir::Block {
        self.scopes.push(Default::default());
        let mut stmts = Vec::new();
        for s in &b.stmts {
            self.stmt(s, &mut stmts);
        }
        self.scopes.pop();
        hir::Block {
            stmts,
            span: b.span,
        }
    }

    /// Checks one statement, appending its lowering to `out`.
    #[allow(clippy::too_many_lines)]
    pub(super) fn stmt(&mut self, s: &ast::Stmt, out: &mut Vec<hir::Stmt>) {
        let span = s.span;
        let mut push = |kind| out.push(hir::Stmt { kind, span });
        match &s.kind {
            ast::StmtKind::Let {
                quals,
                ty: te,
                name,
                init,
            } => {
                let mut errors = Vec::new();
                let t = super::lower_qualified(*quals, te, TypePlace::Binding, false, &mut errors);
                for e in errors {
                    self.err(e);
                }
                let init = match &t {
                    Some(t) => self.coerce(init, t, false),
                    None => self.orphan(init),
                };
                let local = self.declare(name, t, *quals);
                if let Some(init) = init {
                    push(StmtKind::Let { local, init });
                }
            }
            ast::StmtKind::Assign { target, op, value } => {
                let place = self.place(target);
                let value = match &place {
                    Some(p) => {
                        let ok = match op {
                            None => true,
                            Some(op) => self.compound_ok(*op, &p.ty, target.span),
                        };
                        let v = self.coerce(value, &p.ty.clone(), false);
                        if ok { v } else { None }
                    }
                    None => self.orphan(value),
                };
                if let (Some(place), Some(value)) = (place, value) {
                    push(StmtKind::Assign {
                        place,
                        op: *op,
                        value,
                    });
                }
            }
            ast::StmtKind::Expr(e) => {
                if let Some(x) = self.orphan(e) {
                    if matches!(x.ty, Ty::Result(_)) {
                        self.err(Error::UnconsumedResult {
                            ty: x.ty,
                            span: e.span,
                        });
                    } else {
                        push(StmtKind::Expr(x));
                    }
                }
            }
            ast::StmtKind::If { .. } => {
                if let Some(st) = self.if_stmt(s) {
                    out.push(st);
                }
            }
            ast::StmtKind::While { cond, body } => {
                let c = self.condition(cond);
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                if let Some(cond) = c {
                    push(StmtKind::While {
                        cond,
                        body,
                        step: None,
                    });
                }
            }
            ast::StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                self.scopes.push(Default::default());
                let mut stmts = Vec::new();
                if let Some(init) = init {
                    self.stmt(init, &mut stmts);
                }
                let c = match cond {
                    Some(c) => self.condition(c),
                    None => Some(hir::Expr {
                        kind: ExprKind::Bool(true),
                        ty: Ty::Bool,
                        span: span.end_point(),
                    }),
                };
                let step = step.as_ref().map(|st| {
                    let mut v = Vec::new();
                    self.stmt(st, &mut v);
                    hir::Block {
                        stmts: v,
                        span: st.span,
                    }
                });
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                self.scopes.pop();
                if let Some(cond) = c {
                    stmts.push(hir::Stmt {
                        kind: StmtKind::While { cond, body, step },
                        span,
                    });
                }
                push(StmtKind::Block(hir::Block { stmts, span }));
            }
            ast::StmtKind::Loop {
                start,
                limit,
                step,
                body,
            } => {
                let xs = self.operands(&[start, limit, step], None);
                let bounds = self.counter_bounds(xs, &[start, limit, step]);
                if let Some(st) = self.counted_loop(bounds, body, span) {
                    out.push(st);
                }
            }
            ast::StmtKind::Till { limit, step, body } => {
                let xs = self.operands(&[limit, step], None);
                let bounds = self.counter_bounds(xs, &[limit, step]).map(|mut v| {
                    let t = v[0].ty.clone();
                    v.insert(
                        0,
                        hir::Expr {
                            kind: ExprKind::Int(0),
                            ty: t,
                            span: limit.span.end_point(),
                        },
                    );
                    v
                });
                if let Some(st) = self.counted_loop(bounds, body, span) {
                    out.push(st);
                }
            }
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let kw = if matches!(s.kind, ast::StmtKind::Break) {
                    Keyword::Break
                } else {
                    Keyword::Continue
                };
                if self.loops == 0 {
                    let reason = if self.in_defer {
                        "cannot leave a `defer` block"
                    } else {
                        "outside of a loop"
                    };
                    self.err(Error::MisplacedKeyword { kw, span, reason });
                } else {
                    push(if kw == Keyword::Break {
                        StmtKind::Break
                    } else {
                        StmtKind::Continue
                    });
                }
            }
            ast::StmtKind::Block(b) => {
                let b = self.block(b);
                push(StmtKind::Block(b));
            }
            ast::StmtKind::Defer(b) => {
                let saved = (self.loops, self.in_defer);
                self.loops = 0;
                self.in_defer = true;
                let b = self.block(b);
                (self.loops, self.in_defer) = saved;
                push(StmtKind::Defer(b));
            }
            ast::StmtKind::Pass(e) => {
                let ok = self.exit_allowed(Keyword::Pass, span);
                let x = match (self.ret.clone(), e) {
                    (None, Some(e)) => {
                        self.orphan(e);
                        None
                    }
                    (None, None) => None,
                    (Some(Ty::Nil), None) => Some(None),
                    (Some(ret @ Ty::Nil), Some(e)) => {
                        self.orphan(e);
                        self.err(Error::PassValue {
                            ret,
                            span,
                            has_value: true,
                        });
                        None
                    }
                    (Some(ret), None) => {
                        self.err(Error::PassValue {
                            ret,
                            span,
                            has_value: false,
                        });
                        None
                    }
                    (Some(ret), Some(e)) => self.coerce(e, &ret, false).map(Some),
                };
                if let (true, Some(x)) = (ok, x) {
                    push(StmtKind::Pass(x));
                }
            }
            ast::StmtKind::Fail(e) | ast::StmtKind::Exit(e) => {
                let is_exit = matches!(s.kind, ast::StmtKind::Exit(_));
                let ok = self.exit_allowed(
                    if is_exit {
                        Keyword::Exit
                    } else {
                        Keyword::Fail
                    },
                    span,
                );
                let x = self.coerce(e, &Ty::Int(IntTy::I32), false);
                if let (true, Some(x)) = (ok, x) {
                    push(if is_exit {
                        StmtKind::Exit(x)
                    } else {
                        StmtKind::Fail(x)
                    });
                }
            }
        }
    }

    /// `NPK-311` checks for `pass`/`fail`/`exit`.
    fn exit_allowed(&mut self, kw: Keyword, span: Span) -> bool {
        let reason = if self.in_defer {
            Some("cannot leave a `defer` block")
        } else {
            match (kw, self.kind) {
                (Keyword::Exit, FnKind::Normal) => Some("is only allowed in `main` and `failsafe`"),
                (Keyword::Pass | Keyword::Fail, FnKind::Main) => {
                    Some("is not allowed in `main`; end it with `exit code;`")
                }
                _ => None,
            }
        };
        match reason {
            Some(reason) => {
                self.err(Error::MisplacedKeyword { kw, span, reason });
                false
            }
            None => true,
        }
    }

    fn if_stmt(&mut self, s: &ast::Stmt) -> Option<hir::Stmt> {
        let ast::StmtKind::If {
            cond,
            then_block,
            else_branch,
        } = &s.kind
        else {
            let mut v = Vec::new();
            self.stmt(s, &mut v);
            return v.pop();
        };
        let c = self.condition(cond);
        let then_block = self.block(then_block);
        let else_block = else_branch.as_deref().map(|e| match e {
            ast::ElseBranch::If(inner) => hir::Block {
                stmts: self.if_stmt(inner).into_iter().collect(),
                span: inner.span,
            },
            ast::ElseBranch::Block(b) => self.block(b),
        });
        Some(hir::Stmt {
            kind: StmtKind::If {
                cond: c?,
                then_block,
                else_block,
            },
            span: s.span,
        })
    }

    /// The checked `start, limit, step` of a counted loop, all of one
    /// integer type (`NPK-302`/`NPK-315` otherwise).
    fn counter_bounds(
        &mut self,
        xs: Vec<Option<hir::Expr>>,
        es: &[&ast::Expr],
    ) -> Option<Vec<hir::Expr>> {
        let xs: Vec<hir::Expr> = xs.into_iter().collect::<Option<_>>()?;
        let first = xs.first()?.ty.clone();
        if !matches!(first, Ty::Int(_)) {
            self.err(Error::InvalidOperand {
                op: "a loop counter",
                ty: first,
                span: es[0].span,
            });
            return None;
        }
        let mut ok = true;
        for (x, e) in xs.iter().zip(es).skip(1) {
            if x.ty != first {
                self.err(Error::MismatchedTypes {
                    expected: first.clone(),
                    found: x.ty.clone(),
                    span: e.span,
                    found_name: None,
                });
                ok = false;
            }
        }
        ok.then_some(xs)
    }

    /// Declares the counter `$` and checks the body of `loop`/`till`.
    fn counted_loop(
        &mut self,
        bounds: Option<Vec<hir::Expr>>,
        body: &ast::Block,
        span: Span,
    ) -> Option<hir::Stmt> {
        let ty = bounds
            .as_ref()
            .and_then(|b| b.first())
            .map(|x| x.ty.clone());
        let counter = self.new_local("$", ty, None, true, LocalKind::LoopCounter, span);
        self.counters.push(counter);
        self.loops += 1;
        let body = self.block(body);
        self.loops -= 1;
        self.counters.pop();
        let [start, limit, step] = <[hir::Expr; 3]>::try_from(bounds?).ok()?;
        Some(hir::Stmt {
            kind: StmtKind::Loop {
                counter,
                start,
                limit,
                step,
                body,
            },
            span,
        })
    }

    /// Whether `op=` applies to a place of type `ty` (`NPK-315`).
    fn compound_ok(&mut self, op: BinOp, ty: &Ty, span: Span) -> bool {
        let ok = matches!(ty, Ty::Int(_)) && !matches!(op, BinOp::And | BinOp::Or);
        if !ok {
            self.err(Error::InvalidOperand {
                op: op.symbol(),
                ty: ty.clone(),
                span,
            });
        }
        ok
    }

    /// The place an assignment writes (`NPK-322` if not assignable,
    /// `NPK-310` if `fixed`).
    fn place(&mut self, target: &ast::Expr) -> Option<Place> {
        let span = target.span;
        match &target.kind {
            ast::ExprKind::Name(id) => {
                let Some(l) = self.lookup_local(&id.name) else {
                    // Reports the unknown name or "not a value".
                    self.name_value(id);
                    return None;
                };
                let local = &self.locals[l.0 as usize];
                if local.fixed {
                    let decl = local.span;
                    self.err(Error::AssignToFixed {
                        name: id.name.clone(),
                        span,
                        decl,
                    });
                    return None;
                }
                if self.poisoned[l.0 as usize] {
                    return None;
                }
                Some(Place {
                    kind: PlaceKind::Local(l),
                    ty: local.ty.clone(),
                    span,
                })
            }
            ast::ExprKind::Dollar => {
                match self.counters.last() {
                    Some(&c) => {
                        let decl = self.locals[c.0 as usize].span;
                        self.err(Error::AssignToFixed {
                            name: "$".to_string(),
                            span,
                            decl,
                        });
                    }
                    None => self.err(Error::DollarOutsideLoop { span }),
                }
                None
            }
            ast::ExprKind::Index { base, index } => self.index_place(base, index, span),
            ast::ExprKind::Deref(inner) => self.deref_place(inner, span),
            _ => {
                self.err(Error::NotAssignable { span });
                None
            }
        }
    }
}
