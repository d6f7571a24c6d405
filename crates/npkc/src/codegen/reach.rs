//! Which functions the executable needs: those reachable through calls from
//! `main` and `failsafe`. Unreachable functions (most of an imported stdlib
//! module, typically) are not compiled, so neither they nor the externs only
//! they call cost compile time, object size or link-time symbols.
//!
//! [`bottom_up`] orders the reachable functions callees first, so a small
//! callee is built (and can be inlined) before its callers.

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

/// The reachable functions in post-order over the call graph from `main` and
/// `failsafe`: every function comes after the functions it calls, except
/// along a cycle (recursion), where the order is that of the depth-first walk.
/// Iterative, so a deep call chain cannot overflow the compiler's stack.
pub(super) fn bottom_up(program: &Program) -> Vec<FuncId> {
    let n = program.funcs.len();
    let mut seen = vec![false; n];
    let mut order = Vec::new();
    // (function, its direct callees, how many of them were visited)
    let mut stack: Vec<(FuncId, Vec<FuncId>, usize)> = Vec::new();
    let roots: Vec<FuncId> = program.main.into_iter().chain(program.failsafe).collect();
    for root in roots {
        push_unseen(program, root, &mut seen, &mut stack);
        while let Some((id, callees, next)) = stack.last_mut() {
            if let Some(&c) = callees.get(*next) {
                *next += 1;
                push_unseen(program, c, &mut seen, &mut stack);
            } else {
                order.push(*id);
                stack.pop();
            }
        }
    }
    order
}

fn push_unseen(
    program: &Program,
    id: FuncId,
    seen: &mut [bool],
    stack: &mut Vec<(FuncId, Vec<FuncId>, usize)>,
) {
    let Some(slot) = seen.get_mut(id.0 as usize) else {
        return;
    };
    if *slot {
        return;
    }
    *slot = true;
    let mut callees = Vec::new();
    block(&program.func(id).body, &mut callees);
    stack.push((id, callees, 0));
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
