//! Which functions the executable needs: those reachable through calls from
//! `main` and `failsafe`. Unreachable functions (most of an imported stdlib
//! module, typically) are not compiled, so neither they nor the externs only
//! they call cost compile time, object size or link-time symbols.

use crate::hir::{Block, Expr, ExprKind, FuncId, PlaceKind, Program, StmtKind, TemplatePart};

/// `reachable[i]` says whether `program.funcs[i]` must be compiled.
pub(super) fn reachable(program: &Program) -> Vec<bool> {
    let mut seen = vec![false; program.funcs.len()];
    let mut work: Vec<FuncId> = program.main.into_iter().chain(program.failsafe).collect();
    while let Some(id) = work.pop() {
        let Some(slot) = seen.get_mut(id.0 as usize) else {
            continue;
        };
        if *slot {
            continue;
        }
        *slot = true;
        block(&program.func(id).body, &mut work);
    }
    seen
}

fn block(b: &Block, out: &mut Vec<FuncId>) {
    for st in &b.stmts {
        match &st.kind {
            StmtKind::Let { init, .. } => expr(init, out),
            StmtKind::Assign { place, value, .. } => {
                match &place.kind {
                    PlaceKind::Local(_) => {}
                    PlaceKind::Index { base, index } => {
                        expr(base, out);
                        expr(index, out);
                    }
                    PlaceKind::Deref(p) => expr(p, out),
                }
                expr(value, out);
            }
            StmtKind::Expr(e) | StmtKind::Fail(e) | StmtKind::Exit(e) => expr(e, out),
            StmtKind::Pass(e) => {
                if let Some(e) = e {
                    expr(e, out);
                }
            }
            StmtKind::If {
                cond,
                then_block,
                else_block,
            } => {
                expr(cond, out);
                block(then_block, out);
                if let Some(b) = else_block {
                    block(b, out);
                }
            }
            StmtKind::While { cond, body, step } => {
                expr(cond, out);
                block(body, out);
                if let Some(s) = step {
                    block(s, out);
                }
            }
            StmtKind::Loop {
                start,
                limit,
                step,
                body,
                ..
            } => {
                expr(start, out);
                expr(limit, out);
                expr(step, out);
                block(body, out);
            }
            StmtKind::Block(b) | StmtKind::Defer(b) => block(b, out),
            StmtKind::Break | StmtKind::Continue => {}
        }
    }
}

fn expr(e: &Expr, out: &mut Vec<FuncId>) {
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Str(_)
        | ExprKind::Local(_)
        | ExprKind::AddrOf(_) => {}
        ExprKind::Template(parts) => {
            for p in parts {
                if let TemplatePart::Expr(x) = p {
                    expr(x, out);
                }
            }
        }
        ExprKind::Load(place) => match &place.kind {
            PlaceKind::Local(_) => {}
            PlaceKind::Index { base, index } => {
                expr(base, out);
                expr(index, out);
            }
            PlaceKind::Deref(p) => expr(p, out),
        },
        ExprKind::Unary { expr: x, .. }
        | ExprKind::Raw(x)
        | ExprKind::Drop(x)
        | ExprKind::ResultField { expr: x, .. }
        | ExprKind::Cast(x) => expr(x, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            expr(lhs, out);
            expr(rhs, out);
        }
        ExprKind::Cond {
            cond,
            then_expr,
            else_expr,
        } => {
            expr(cond, out);
            expr(then_expr, out);
            expr(else_expr, out);
        }
        ExprKind::Call { func, args } => {
            out.push(*func);
            args.iter().for_each(|a| expr(a, out));
        }
        ExprKind::CallExtern { args, .. } | ExprKind::Builtin { args, .. } => {
            args.iter().for_each(|a| expr(a, out));
        }
        ExprKind::OrElse { expr: x, default } => {
            expr(x, out);
            expr(default, out);
        }
    }
}
