//! `use "drop.npk".*;`: scope-end release of owned `wildx` bindings, lowered
//! into ordinary HIR after the ownership check, before code generation.
//!
//! In: a checked [`hir::Program`] and the [`Summaries`] whose
//! `scope_released` lists, per function of a module that uses `drop.npk`,
//! the `wildx` bindings the checker saw owning an allocation. Out: the same
//! program where, for each such binding `p`,
//! - right after its declaration a `defer { if (p != NULL) { wildx_free(p); } }`
//!   is registered, so every way out of the block (fall-through, `pass`,
//!   `fail`, `break`, `continue`, `exit`) releases it, in reverse declaration
//!   order, through the existing defer machinery;
//! - every explicit release or move of `p` (an argument of `wildx_free` or of
//!   a parameter the callee releases, `pass p`, `q = p` into an owning binding,
//!   an argument a callee hands back into an owning binding) reads it with
//!   [`ExprKind::Take`], which sets `p` to `NULL`: the binding is its own run-time
//!   flag, so the scope end releases only what is still owned.
//!
//! The checker already proved every explicit use correct (ARIA-015/022 as
//! usual); this pass adds no diagnostics.

use crate::ast::{BinOp, Region};
use crate::hir::{
    Block, Builtin, Expr, ExprKind, FuncId, LocalId, PlaceKind, Program, Stmt, StmtKind, Ty,
};
use crate::ownership::Summaries;

/// Lowers scope-end releases into every function that has some.
pub fn lower(program: &mut Program, summaries: &Summaries) {
    let callee_info: Vec<(Vec<bool>, Vec<bool>)> = (0..program.funcs.len())
        .map(|f| {
            let id = FuncId(u32::try_from(f).unwrap_or(u32::MAX));
            let s = summaries.get(id);
            let n = program.funcs[f].params.len();
            (
                (0..n)
                    .map(|i| s.releases_param(i).is_some() || s.partially_releases(i))
                    .collect(),
                (0..n).map(|i| s.returns_param(i)).collect(),
            )
        })
        .collect();
    for f in 0..program.funcs.len() {
        let id = FuncId(u32::try_from(f).unwrap_or(u32::MAX));
        let managed = summaries.scope_released(id);
        if managed.is_empty() {
            continue;
        }
        let func = &mut program.funcs[f];
        let mut lower = Lower {
            managed,
            callees: &callee_info,
            owning: func.locals.iter().map(can_own).collect(),
            local_tys: func.locals.iter().map(|l| l.ty.clone()).collect(),
        };
        lower.block(&mut func.body);
    }
}

fn can_own(l: &crate::hir::Local) -> bool {
    matches!(l.region, Some(Region::Wild | Region::Wildx)) || matches!(l.ty, Ty::Result(_))
}

struct Lower<'s> {
    managed: &'s [LocalId],
    /// Per function: (releases parameter i, returns parameter i).
    callees: &'s [(Vec<bool>, Vec<bool>)],
    /// Per local of the function: whether it can take ownership by a move.
    owning: Vec<bool>,
    local_tys: Vec<Ty>,
}

impl Lower<'_> {
    fn is_managed(&self, l: LocalId) -> bool {
        self.managed.contains(&l)
    }

    fn block(&mut self, b: &mut Block) {
        let stmts = std::mem::take(&mut b.stmts);
        for mut st in stmts {
            self.stmt(&mut st.kind);
            let declared = match &st.kind {
                StmtKind::Let { local, .. } if self.is_managed(*local) => Some(*local),
                _ => None,
            };
            let span = st.span;
            b.stmts.push(st);
            if let Some(p) = declared {
                b.stmts.push(Stmt {
                    kind: StmtKind::Defer(self.release_block(p, span)),
                    span,
                });
            }
        }
    }

    /// `{ if (p != NULL) { wildx_free(p); } }`
    fn release_block(&self, p: LocalId, span: crate::source::Span) -> Block {
        let ty = self
            .local_tys
            .get(p.0 as usize)
            .cloned()
            .unwrap_or(Ty::Erased);
        let local = |kind| Expr {
            kind,
            ty: ty.clone(),
            span,
        };
        let free = Expr {
            kind: ExprKind::Builtin {
                builtin: Builtin::WildxFree,
                args: vec![local(ExprKind::Local(p))],
            },
            ty: Ty::Int(crate::ast::IntTy::I32),
            span,
        };
        let cond = Expr {
            kind: ExprKind::Binary {
                op: BinOp::Ne,
                lhs: Box::new(local(ExprKind::Local(p))),
                rhs: Box::new(local(ExprKind::Null)),
            },
            ty: Ty::Bool,
            span,
        };
        Block {
            stmts: vec![Stmt {
                kind: StmtKind::If {
                    cond,
                    then_block: Block {
                        stmts: vec![Stmt {
                            kind: StmtKind::Expr(free),
                            span,
                        }],
                        span,
                    },
                    else_block: None,
                },
                span,
            }],
            span,
        }
    }

    fn stmt(&mut self, kind: &mut StmtKind) {
        match kind {
            StmtKind::Let { local, init } => {
                self.expr(init);
                if self.owning.get(local.0 as usize).copied().unwrap_or(false) {
                    self.moved(init);
                }
            }
            StmtKind::Assign { place, value, .. } => {
                self.expr(value);
                match &mut place.kind {
                    PlaceKind::Local(l) => {
                        if self.owning.get(l.0 as usize).copied().unwrap_or(false) {
                            self.moved(value);
                        }
                    }
                    PlaceKind::Index { base, index } => {
                        self.expr(base);
                        self.expr(index);
                    }
                    PlaceKind::Deref(x) => self.expr(x),
                }
            }
            StmtKind::Expr(e) | StmtKind::Fail(e) | StmtKind::Exit(e) => self.expr(e),
            StmtKind::Pass(Some(e)) => {
                self.expr(e);
                self.moved(e);
            }
            StmtKind::Pass(None) | StmtKind::Break | StmtKind::Continue => {}
            StmtKind::If {
                cond,
                then_block,
                else_block,
            } => {
                self.expr(cond);
                self.block(then_block);
                if let Some(b) = else_block {
                    self.block(b);
                }
            }
            StmtKind::While { cond, body, step } => {
                self.expr(cond);
                self.block(body);
                if let Some(s) = step {
                    self.block(s);
                }
            }
            StmtKind::Loop {
                start,
                limit,
                step,
                body,
                ..
            } => {
                self.expr(start);
                self.expr(limit);
                self.expr(step);
                self.block(body);
            }
            StmtKind::Block(b) | StmtKind::Defer(b) => self.block(b),
        }
    }

    /// `e` moves into an owning place: a managed local read there is taken,
    /// also through `is (c) : a : b`, `raw`, casts, and arguments the callee
    /// hands back.
    fn moved(&mut self, e: &mut Expr) {
        match &mut e.kind {
            ExprKind::Local(l) if self.is_managed(*l) => e.kind = ExprKind::Take(*l),
            ExprKind::Cond {
                then_expr,
                else_expr,
                ..
            } => {
                self.moved(then_expr);
                self.moved(else_expr);
            }
            ExprKind::OrElse { expr, default } => {
                self.moved(expr);
                self.moved(default);
            }
            ExprKind::Raw(x) | ExprKind::Cast(x) => self.moved(x),
            ExprKind::Call { func, args } => {
                let Some((_, returns)) = self.callees.get(func.0 as usize) else {
                    return;
                };
                let returns = returns.clone();
                for (a, r) in args.iter_mut().zip(returns) {
                    if r {
                        self.moved(a);
                    }
                }
            }
            _ => {}
        }
    }

    /// Sub-expressions; releases of managed locals become takes.
    fn expr(&mut self, e: &mut Expr) {
        e.for_each_child_mut(&mut |x| self.expr(x));
        let releases: Vec<bool> = match &e.kind {
            ExprKind::Call { func, .. } => self
                .callees
                .get(func.0 as usize)
                .map(|(r, _)| r.clone())
                .unwrap_or_default(),
            ExprKind::Builtin {
                builtin: Builtin::WildxFree | Builtin::Free,
                args,
            } => vec![true; args.len()],
            _ => return,
        };
        if let ExprKind::Call { args, .. } | ExprKind::Builtin { args, .. } = &mut e.kind {
            for (a, r) in args.iter_mut().zip(releases) {
                if r {
                    self.moved(a);
                }
            }
        }
    }
}
